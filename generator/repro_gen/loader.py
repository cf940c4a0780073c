"""YAML → raw spec data, remembering the line of every key for error messages.

A spec is a small tree of plain mappings, lists and scalars, so the loader refuses what a spec
never needs and what makes YAML costly or surprising to read: anchors and aliases (an alias bomb
expands a few hundred bytes into gigabytes), explicit tags (`!!float`, `!!set`, `!!python/...`),
keys that are not scalars, nesting deeper than `MAX_DEPTH` and files larger than `MAX_BYTES`.
Each refusal is a Problem, found while composing, before anything is expanded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import cache
from .errors import InputError, Problem, SpecError
from .specdata import SpecRecord

if TYPE_CHECKING:
    from .spec import Spec

Lines = dict[tuple[str, ...], int]

# The spec is four levels deep (sections, keys, lists, items); a little room beyond that.
MAX_DEPTH = 20
# A spec is a few hundred bytes; the largest valid one is well under this.
MAX_BYTES = 1 << 20
_YAML_TAGS = "tag:yaml.org,2002:"


class _Refused(Exception):
    def __init__(self, mark: yaml.Mark | None, message: str, hint: str) -> None:
        super().__init__(message)
        self.line = mark.line + 1 if mark else None
        self.message = message
        self.hint = hint


class _SpecLoader(yaml.SafeLoader):
    """SafeLoader's composer, refusing aliases, anchors, explicit tags and deep nesting as it
    meets them (PyYAML's composer would otherwise expand every alias in full)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def fetch_flow_collection_start(self, token_class: type) -> None:
        # The scanner re-checks every open bracket on each token: refuse deep flow nesting here,
        # before it costs quadratic time.
        if self.flow_level >= MAX_DEPTH:
            raise _Refused(self.get_mark(), f"nested more than {MAX_DEPTH} levels deep",
                           "a spec is a few levels of sections, keys and lists")
        super().fetch_flow_collection_start(token_class)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(event.start_mark, f"alias *{event.anchor} is not allowed",
                           "write the value out in full; a spec needs no anchors or aliases")
        if getattr(event, "anchor", None) is not None:
            raise _Refused(event.start_mark, f"anchor &{event.anchor} is not allowed",
                           "remove it; a spec needs no anchors or aliases")
        tag = getattr(event, "tag", None)
        if tag is not None:
            shown = "!!" + tag.removeprefix(_YAML_TAGS) if tag.startswith(_YAML_TAGS) else tag
            raise _Refused(event.start_mark, f"explicit YAML tag {shown} is not allowed",
                           "remove the tag; quote the value if it should be text")
        nested = isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent)
        if nested:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _Refused(event.start_mark, f"nested more than {MAX_DEPTH} levels deep",
                               "a spec is a few levels of sections, keys and lists")
        try:
            return super().compose_node(parent, index)
        finally:
            if nested:
                self._depth -= 1


def _construct(loader: _SpecLoader, node: yaml.Node, path: tuple[str, ...], lines: Lines,
               problems: list[Problem]) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(Problem(".".join(path) or "(top level)",
                                        "a key is a list or mapping",
                                        "keys are plain names, like `name:`", line))
                continue
            key = str(key_node.value)
            child = (*path, key)
            if key in out:
                problems.append(Problem(".".join(child), "duplicate key",
                                        "keep only one of them", line))
            lines[child] = line
            out[key] = _construct(loader, value_node, child, lines, problems)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item, (*path, str(i)), lines, problems)
                for i, item in enumerate(node.value)]
    # Scalars: let PyYAML's safe constructor decide the type (int, bool, null, str, date).
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, OverflowError, yaml.YAMLError) as exc:
        # e.g. 2024-02-30 (read as a date), or an integer with more than 4300 digits.
        problems.append(Problem(".".join(path) or "(top level)",
                                f"{node.value[:40]!r} cannot be read ({exc})",
                                "quote it to make it text", node.start_mark.line + 1))
        return None


def _compose(text: str, source: str, field: str = "(yaml)") -> tuple[_SpecLoader, yaml.Node | None]:
    if len(text) > MAX_BYTES:
        raise SpecError([Problem("(top level)", f"the spec is larger than {MAX_BYTES} bytes",
                                 "a spec is a short file; start from examples/minimal.yaml")],
                        source)
    loader = _SpecLoader(text)
    try:
        return loader, loader.get_single_node()
    except _Refused as exc:
        raise SpecError([Problem(field, exc.message, exc.hint, exc.line)], source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError([Problem(field, f"not valid YAML: {problem}",
                                 "fix the indentation or quoting on that line", line)],
                        source) from None
    finally:
        loader.dispose()


def parse(text: str, source: str = "spec.yaml") -> tuple[Any, Lines]:
    """Parse YAML text into plain data plus a {key path: line} map."""
    loader, root = _compose(text, source)
    if root is None:
        raise SpecError([Problem("(top level)", "the spec is empty",
                                 "start from `repro-gen init` or examples/minimal.yaml")], source)
    lines: Lines = {}
    problems: list[Problem] = []
    data = _construct(loader, root, (), lines, problems)
    if problems:
        raise SpecError(problems, source)
    if not isinstance(data, dict):
        raise SpecError([Problem("(top level)", "the spec must be a mapping of sections",
                                 "start with `version: 1` and `project:`", 1)], source)
    return data, lines


def parse_value(text: str, field: str, source: str = "--set") -> Any:
    """One value written in YAML (an `init --set` answer), read under the spec file's rules;
    problems name `field`."""
    try:
        loader, root = _compose(text, source, field)
    except SpecError as exc:  # a one-line value: its line number says nothing
        raise SpecError([Problem(p.field, p.message, p.hint) for p in exc.problems],
                        source) from None
    if root is None:
        return None
    problems: list[Problem] = []
    value = _construct(loader, root, tuple(field.split(".")), {}, problems)
    if problems:
        raise SpecError([Problem(field, p.message, p.hint) for p in problems], source)
    return value


def load(path: str | Path, use_cache: bool = False) -> Spec | SpecRecord:
    """Read and validate a spec file; raise SpecError listing every problem.

    With `use_cache`, a spec whose exact text validated before (with this very generator) comes
    back from the cache as a SpecRecord, without importing pydantic; a newly valid one is queued
    for the cache (written by `cache.save()`).
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise SpecError([Problem("(top level)", f"the spec is larger than {MAX_BYTES} bytes",
                                     "a spec is a short file; start from examples/minimal.yaml")],
                            str(path))
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"{path} does not exist; create one with `repro-gen init`") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a directory, not a spec file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    entry = f"specs/{cache.key(cache.code_fingerprint(), text)}.json" if use_cache else ""
    if entry:
        cached = cache.read(entry)
        if cached is not None:
            try:
                return SpecRecord(json.loads(cached))
            except (ValueError, TypeError, AttributeError):
                pass  # a damaged entry: validate again, and replace it
    data, lines = parse(text, str(path))
    from .spec import validate

    spec = validate(data, lines, str(path))
    if entry:
        cache.put(entry, json.dumps(spec.normalized()).encode())
    return spec
