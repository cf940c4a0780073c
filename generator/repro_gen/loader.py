"""YAML → raw spec data, remembering the line of every key for error messages."""

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


def _construct(node: yaml.Node, path: tuple[str, ...], lines: Lines,
               problems: list[Problem]) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            if key in out:
                problems.append(Problem(".".join(child), "duplicate key",
                                        "keep only one of them", key_node.start_mark.line + 1))
            lines[child] = key_node.start_mark.line + 1
            out[key] = _construct(value_node, child, lines, problems)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, str(i)), lines, problems)
                for i, item in enumerate(node.value)]
    # Scalars: let PyYAML's safe constructor decide the type (int, bool, null, str).
    return yaml.SafeLoader("").construct_object(node, deep=True)


def parse(text: str, source: str = "spec.yaml") -> tuple[Any, Lines]:
    """Parse YAML text into plain data plus a {key path: line} map."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError([Problem("(yaml)", f"not valid YAML: {problem}",
                                 "fix the indentation or quoting on that line", line)],
                        source) from None
    if root is None:
        raise SpecError([Problem("(top level)", "the spec is empty",
                                 "start from `repro-gen init` or examples/minimal.yaml")], source)
    lines: Lines = {}
    problems: list[Problem] = []
    data = _construct(root, (), lines, problems)
    if problems:
        raise SpecError(problems, source)
    if not isinstance(data, dict):
        raise SpecError([Problem("(top level)", "the spec must be a mapping of sections",
                                 "start with `version: 1` and `project:`", 1)], source)
    return data, lines


def load(path: str | Path, use_cache: bool = False) -> Spec | SpecRecord:
    """Read and validate a spec file; raise SpecError listing every problem.

    With `use_cache`, a spec whose exact text validated before (with this very generator) comes
    back from the cache as a SpecRecord, without importing pydantic; a newly valid one is queued
    for the cache (written by `cache.save()`).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
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
