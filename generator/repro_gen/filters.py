"""Per-language quoting, so that no spec value can break out of the file it lands in.

Every spec string reaches a template through one of these filters. Identifiers (names that end up
unquoted: resource names, hostnames, tags) are checked against an allow-list instead of escaped.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from typing import Any

from .errors import BlueprintError

_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")

_HCL_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def hcl_string(value: Any) -> str:
    """A quoted HCL string literal whose decoded value is exactly `value`."""
    text = str(value)
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in ("$", "%") and text[i + 1 : i + 2] == "{":
            # Template introducers are escaped by doubling the sigil: $${ and %%{.
            out.append(ch + ch + "{")
            i += 2
            continue
        if ch in _HCL_ESCAPES:
            out.append(_HCL_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F or 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(f"\\u{ord(ch):04x}")
        elif not ch.isprintable():
            out.append(f"\\U{ord(ch):08x}" if ord(ch) > 0xFFFF else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
        i += 1
    return '"' + "".join(out) + '"'


def hcl_list(values: Any) -> str:
    return "[" + ", ".join(hcl_string(v) for v in values) + "]"


def _escape_unprintable(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\U{code:08x}" if code > 0xFFFF else f"\\u{code:04x}"


def yaml_scalar(value: Any) -> str:
    """A YAML scalar: JSON's double-quoted form is valid YAML; non-printables are escaped too."""
    if isinstance(value, bool) or value is None or isinstance(value, int | float):
        return json.dumps(value)
    quoted = json.dumps(str(value), ensure_ascii=False)
    return re.sub(r"[^\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029]",
                  _escape_unprintable, quoted)


def ansible_scalar(value: Any) -> str:
    """A YAML scalar that Ansible will never template (`{{ }}` in a spec value stays text)."""
    if isinstance(value, bool) or value is None or isinstance(value, int | float):
        return json.dumps(value)
    return "!unsafe " + yaml_scalar(str(value))


def shell_word(value: Any) -> str:
    return shlex.quote(str(value))


def make_word(value: Any) -> str:
    """A shell word inside a Makefile recipe or variable: make expands `$`, so double it."""
    return shlex.quote(str(value)).replace("$", "$$")


def python_literal(value: Any) -> str:
    """A Python literal (str, int, bool, None, lists and dicts of those)."""
    return repr(value)


def json_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def json_document(value: Any) -> str:
    """A whole JSON file: indented, keys sorted, so that a re-render diffs line by line."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2)


def markdown_text(value: Any) -> str:
    """Text inside a Markdown paragraph or table cell that shows exactly as written.

    Every ASCII punctuation character is backslash-escaped (CommonMark lets any of them be, and
    then none starts markup: emphasis, links, HTML, entities, fences, lists, headings, GitHub's
    tables, math and emoji). Leading and trailing whitespace becomes character references, which
    Markdown neither strips nor reads as an indented code block. Line breaks and other
    non-printables are refused by validation before a value gets here.
    """
    text = re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", str(value))
    body = text.strip()
    if not body:
        return "".join(f"&#{ord(c)};" for c in text)
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()):]
    return ("".join(f"&#{ord(c)};" for c in lead) + body
            + "".join(f"&#{ord(c)};" for c in trail))


def markdown_code(value: Any) -> str:
    """A Markdown code span showing `value` verbatim (backticks, backslashes, `<`, `&` and all).

    The fence is one backtick longer than the longest run inside; a space pads each side when
    the value starts or ends with a backtick, or starts and ends with a space (CommonMark strips
    one such space from each side). Not for table cells, where `|` ends the cell even here.
    """
    text = str(value)
    if not text:
        raise BlueprintError("an empty code span cannot be written in Markdown")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = (text[0] == "`" or text[-1] == "`"
           or (text[0] == " " and text[-1] == " " and text.strip(" ") != ""))
    inner = f" {text} " if pad else text
    return fence + inner + fence


def yaml_key(value: Any) -> str:
    """A YAML mapping key or scalar, plain when it reads back as the same string (`chi_uc`),
    double-quoted otherwise (`yes`, `null`, `010`, `1.5`, a date)."""
    text = str(value)
    if _IDENT.match(text) and not text[0].isdigit() and _reads_back(text):
        return text
    return yaml_scalar(text)


def _reads_back(text: str) -> bool:
    import yaml

    try:
        return yaml.safe_load(f"{text}: 1") == {text: 1}
    except yaml.YAMLError:
        return False


def ident(value: Any) -> str:
    """An identifier that lands unquoted; it must already match the allow-list."""
    text = str(value)
    if not _IDENT.match(text):
        raise BlueprintError(f"{text!r} is not a safe identifier (validated spec values always are)")
    return text


FILTERS: dict[str, Callable[..., str]] = {
    "hcl": hcl_string,
    "hcl_list": hcl_list,
    "yaml": yaml_scalar,
    "ansible": ansible_scalar,
    "sh": shell_word,
    "make": make_word,
    "py": python_literal,
    "json": json_value,
    "json_document": json_document,
    "md": markdown_text,
    "md_code": markdown_code,
    "yaml_key": yaml_key,
    "ident": ident,
}
