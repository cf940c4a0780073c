"""Spec in, files out: {relative path: RenderedFile}. Pure: reads blueprints, never writes."""

from __future__ import annotations

import marshal
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import CodeType
from typing import TYPE_CHECKING, Any

import jinja2
import yaml
from jinja2 import BytecodeCache, FileSystemLoader, StrictUndefined, TemplateError, nodes
from jinja2.bccache import Bucket
from jinja2.environment import TemplateExpression
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import cache as user_cache
from . import context, manifest
from .errors import BlueprintError
from .filters import FILTERS
from .state import SPEC_COPY

if TYPE_CHECKING:
    from .spec import Spec
    from .specdata import SpecRecord


@dataclass(frozen=True)
class RenderedFile:
    content: bytes
    mode: int = 0o644


Tree = dict[str, RenderedFile]


class _TemplateCache(BytecodeCache):
    """Compiled templates from the user cache: a render then skips Jinja's compiler entirely.

    Jinja keys each entry by template name and checks the source checksum, so an edited blueprint
    is never served stale. Newly compiled templates only reach the disk with `cache.save()`,
    which the caller runs: rendering itself writes nothing.
    """

    def load_bytecode(self, bucket: Bucket) -> None:
        data = user_cache.read(f"jinja/{bucket.key}.cache")
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: Bucket) -> None:
        user_cache.put(f"jinja/{bucket.key}.cache", bucket.bytecode_to_string())


@cache
def environment(root: Path) -> ImmutableSandboxedEnvironment:
    # Brackets instead of braces: Ansible, Terraform, compose and Make all use {{ }} or ${ }.
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(str(root)),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        block_start_string="[%",
        block_end_string="%]",
        variable_start_string="[[",
        variable_end_string="]]",
        comment_start_string="[#",
        comment_end_string="#]",
        bytecode_cache=_TemplateCache(),
    )
    env.filters.update(FILTERS)
    return env


def _compile_condition(env: ImmutableSandboxedEnvironment, source: str) -> CodeType:
    """What `env.compile_expression` compiles, as a code object that can be cached."""
    parser = Parser(env, source, state="variable")
    expr = parser.parse_expression()
    if not parser.stream.eos:
        raise jinja2.TemplateSyntaxError("chunk after expression", parser.stream.current.lineno,
                                         None, None)
    expr.set_environment(env)
    body = [nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)]
    return env.compile(nodes.Template(body, lineno=1))


def _conditions(env: ImmutableSandboxedEnvironment, entries: tuple[manifest.Entry, ...],
                errors: dict[str, TemplateError]) -> dict[str, TemplateExpression]:
    """Every manifest condition, compiled once and cached (Jinja's lexer and compiler are much of
    a render's cost otherwise). A condition that does not compile is reported by its entry."""
    sources = sorted({e.when for e in entries if e.when})
    name = f"conditions/{user_cache.key(jinja2.__version__, user_cache.code_fingerprint(), *sources)}"
    codes: dict[str, CodeType] = {}
    cached = user_cache.read(name)
    if cached is not None:
        try:
            codes = marshal.loads(cached)
        except (EOFError, ValueError, TypeError):
            codes = {}
    if set(codes) != set(sources):
        codes = {}
        for source in sources:
            try:
                codes[source] = _compile_condition(env, source)
            except TemplateError as exc:
                errors[source] = exc
        if not errors:
            user_cache.put(name, marshal.dumps(codes))
    env_globals = env.make_globals(None)
    return {source: TemplateExpression(env.template_class.from_code(env, code, env_globals), True)
            for source, code in codes.items()}


def spec_yaml(spec: Spec | SpecRecord) -> bytes:
    header = "# Normalized by repro-gen: every default filled in. Edit your own spec, not this copy.\n"
    body = yaml.safe_dump(spec.normalized(), sort_keys=False, allow_unicode=True, width=100)
    return (header + body).encode()


def render(spec: Spec | SpecRecord, root: Path | None = None) -> Tree:
    """Render every manifest entry whose condition holds. Writes nothing: compiled templates and
    conditions it adds to the user cache wait for the caller's `cache.save()`."""
    root = root or manifest.blueprints_root()
    env = environment(root)
    ctx: dict[str, Any] = context.build(spec)
    entries = manifest.load(root)
    broken: dict[str, TemplateError] = {}
    compiled = _conditions(env, entries, broken)
    conditions: dict[str, bool] = {}
    tree: Tree = {SPEC_COPY: RenderedFile(spec_yaml(spec))}
    owner: dict[str, str] = {}
    for entry in entries:
        try:
            if entry.when:
                if entry.when in broken:
                    raise broken[entry.when]
                if entry.when not in conditions:
                    conditions[entry.when] = bool(compiled[entry.when](**ctx))
                if not conditions[entry.when]:
                    continue
            if entry.copy:
                content = (root / entry.template).read_bytes()
            else:
                content = env.get_template(entry.template).render(ctx).encode()
        except TemplateError as exc:
            raise BlueprintError(f"{entry.template}: {exc}") from exc
        if entry.dest in owner:
            raise BlueprintError(
                f"{entry.dest} is rendered by both {owner[entry.dest]} and {entry.template}")
        owner[entry.dest] = entry.template
        if b"\r" in content:
            raise BlueprintError(f"{entry.template}: output must use LF line endings")
        if content and not content.endswith(b"\n") and not entry.copy:
            content += b"\n"
        tree[entry.dest] = RenderedFile(content, entry.mode)
    return dict(sorted(tree.items()))
