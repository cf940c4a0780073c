"""YAML → raw spec data, remembering the line of every key for error messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import Problem, SpecError
from .spec import Spec, validate

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


def load(path: str | Path) -> Spec:
    """Read and validate a spec file; raise SpecError listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([Problem("(file)", f"{path} does not exist",
                                 "create one with `repro-gen init`")], str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([Problem("(file)", f"cannot read {path}: {exc}", "")], str(path)) from None
    data, lines = parse(text, str(path))
    return validate(data, lines, str(path))
