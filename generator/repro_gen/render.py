"""Spec in, files out: {relative path: RenderedFile}. Pure: reads blueprints, never writes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from jinja2 import FileSystemBytecodeCache, FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import __version__, context, manifest
from .errors import BlueprintError
from .filters import FILTERS
from .spec import Spec, normalized

STATE_DIR = ".repro-gen"
SPEC_COPY = f"{STATE_DIR}/spec.yaml"


@dataclass(frozen=True)
class RenderedFile:
    content: bytes
    mode: int = 0o644


Tree = dict[str, RenderedFile]


def _bytecode_cache() -> FileSystemBytecodeCache | None:
    """Compiled templates are cached per user: a render then skips Jinja's compiler entirely.

    Jinja keys each entry by template name and source checksum, so an edited blueprint is never
    served stale. REPRO_GEN_NO_CACHE=1 turns it off.
    """
    if os.environ.get("REPRO_GEN_NO_CACHE") == "1":
        return None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    directory = base / "repro-gen" / f"jinja-{__version__}"
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return None
    return FileSystemBytecodeCache(str(directory))


@cache
def environment(root: Path, bytecode_cache: bool = True) -> ImmutableSandboxedEnvironment:
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
        bytecode_cache=_bytecode_cache() if bytecode_cache else None,
    )
    env.filters.update(FILTERS)
    return env


def spec_yaml(spec: Spec) -> bytes:
    header = "# Normalized by repro-gen: every default filled in. Edit your own spec, not this copy.\n"
    body = yaml.safe_dump(normalized(spec), sort_keys=False, allow_unicode=True, width=100)
    return (header + body).encode()


def render(spec: Spec, root: Path | None = None, bytecode_cache: bool = True) -> Tree:
    """Render every manifest entry whose condition holds. With `bytecode_cache=False` nothing at
    all is written (the cache of compiled templates lives under ~/.cache/repro-gen)."""
    root = root or manifest.blueprints_root()
    env = environment(root, bytecode_cache)
    ctx = context.build(spec)
    conditions: dict[str, bool] = {}
    tree: Tree = {SPEC_COPY: RenderedFile(spec_yaml(spec))}
    owner: dict[str, str] = {}
    for entry in manifest.load(root):
        try:
            if entry.when:
                if entry.when not in conditions:
                    conditions[entry.when] = bool(env.compile_expression(entry.when)(**ctx))
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
