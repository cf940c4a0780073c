"""The spec reference as a Markdown table, generated from the model (the README embeds it)."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .spec import HINTS, Spec


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        names = [_type_name(a) for a in args if a is not type(None)]
        return " \\| ".join(names)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    return getattr(annotation, "__name__", str(annotation))


def _rule(path: str, info: FieldInfo) -> str:
    if path in HINTS:
        return HINTS[path]
    parts = []
    for meta in info.metadata:
        for attr, word in (("ge", "≥"), ("le", "≤"), ("max_length", "at most")):
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{word} {value}")
    return ", ".join(parts)


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = info.get_default()
    if value is None:
        return "derived" if "Default:" in (info.description or "") else "none"
    if isinstance(value, BaseModel):
        return ""
    if value in ([], ""):
        return f"`{value!r}`".replace("''", '""')
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def rows(model: type[BaseModel] = Spec, prefix: str = "") -> list[tuple[str, ...]]:
    out = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out.extend(rows(annotation, f"{path}."))
            continue
        out.append((f"`{path}`", _type_name(annotation), _default(info), _rule(path, info),
                    (info.description or "").replace("|", "\\|")))
    return out


def markdown() -> str:
    header = ("| field | type | default | limits | meaning |\n"
              "|---|---|---|---|---|\n")
    return header + "".join("| " + " | ".join(row) + " |\n" for row in rows())
