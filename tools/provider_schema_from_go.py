#!/usr/bin/env python3
"""Extract the Terraform schemas the blueprints use from terraform-provider-openstack's Go source.

Reads openstack/provider.go at a git ref (a tag) of a provider checkout or bare mirror, finds the
functions behind the resources and data sources named in blueprints/terraform/*.tf.j2 (plus any
given with --resource/--data-source), parses the `Schema: map[string]*schema.Schema{...}`
composite literals in them, and writes tests/terraform/provider_schema_data.py: for every
attribute its mode (required, optional, or computed: set by the provider only), its type, nested
blocks (Elem: &schema.Resource{...}), and ConflictsWith, ExactlyOneOf, AtLeastOneOf, RequiredWith,
Deprecated, MinItems and MaxItems.

    python3 tools/provider_schema_from_go.py --repo PATH --ref v3.4.0

The parser handles the composite-literal subset those files use (string, raw-string and rune
literals, comments, nested braces); anything it cannot evaluate in a field it needs (a schema built
by a helper function, a []string held in a variable) stops it with an error rather than guessing.
"""

from __future__ import annotations

import argparse
import itertools
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tests" / "terraform" / "provider_schema_data.py"
DEFAULT_REPO = "/work/.mirror/terraform-provider-openstack+terraform-provider-openstack/repo"
REPOSITORY = "https://github.com/terraform-provider-openstack/terraform-provider-openstack"
BLUEPRINTS = ROOT / "blueprints" / "terraform"
# Resources older Chameleon examples use; the generated module records that the tag lacks them.
REMOVED = ("openstack_compute_floatingip_associate_v2", "openstack_compute_floatingip_v2",
           "openstack_compute_secgroup_v2")
# Fields kept from each *schema.Schema literal. The rest (ForceNew, ValidateFunc, Set, ...) do
# not change what a configuration may contain.
_LIST_FIELDS = {"ConflictsWith": "conflicts_with", "ExactlyOneOf": "exactly_one_of",
                "AtLeastOneOf": "at_least_one_of", "RequiredWith": "required_with"}
_INT_FIELDS = {"MinItems": "min_items", "MaxItems": "max_items"}


class GoParseError(Exception):
    pass


# --- reading the source ----------------------------------------------------------------------

def git(repo: str, *args: str) -> str:
    proc = subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed in {repo}: {proc.stderr.strip()}")
    return proc.stdout


def show(repo: str, ref: str, path: str) -> str:
    return git(repo, "show", f"{ref}:{path}")


# --- lexing ----------------------------------------------------------------------------------

def strip_comments(src: str) -> str:
    """The source with // and /* */ comments blanked (newlines kept), strings left intact."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if c in "\"'`":
            j = _skip_literal(src, i)
            out.append(src[i:j])
            i = j
        elif src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            if j < 0:
                raise GoParseError("unterminated /* comment")
            out.append("".join(ch if ch == "\n" else " " for ch in src[i:j + 2]))
            i = j + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _skip_literal(src: str, i: int) -> int:
    """Index just past the string/rune literal starting at src[i]."""
    quote = src[i]
    if quote == "`":
        j = src.find("`", i + 1)
        if j < 0:
            raise GoParseError("unterminated raw string")
        return j + 1
    j = i + 1
    while j < len(src):
        if src[j] == "\\":
            j += 2
            continue
        if src[j] == quote:
            return j + 1
        if src[j] == "\n":
            break
        j += 1
    raise GoParseError(f"unterminated literal at offset {i}")


_OPEN, _CLOSE = "([{", ")]}"


def matching(src: str, i: int) -> int:
    """Index of the bracket closing the one at src[i] (comments already stripped)."""
    stack, j = [], i
    while j < len(src):
        c = src[j]
        if c in "\"'`":
            j = _skip_literal(src, j)
            continue
        if c in _OPEN:
            stack.append(_CLOSE[_OPEN.index(c)])
        elif c in _CLOSE:
            if not stack or stack.pop() != c:
                raise GoParseError(f"unbalanced {c!r} at offset {j}")
            if not stack:
                return j
        j += 1
    raise GoParseError(f"no bracket closes offset {i}")


def _top_level(src: str, sep: str):
    """Indices of each sep in src outside brackets and literals, in order."""
    depth, j = 0, 0
    while j < len(src):
        c = src[j]
        if c in "\"'`":
            j = _skip_literal(src, j)
            continue
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
        elif c == sep and depth == 0:
            yield j
        j += 1


def split_top(src: str, sep: str) -> list[str]:
    """src split on sep where sep is outside brackets and literals; empty pieces dropped."""
    bounds = [-1, *_top_level(src, sep), len(src)]
    parts = (src[a + 1:b].strip() for a, b in itertools.pairwise(bounds))
    return [p for p in parts if p]


def top_index(src: str, sep: str) -> int:
    """Index of the first sep outside brackets and literals, or -1."""
    return next(_top_level(src, sep), -1)


def keyed(element: str) -> tuple[str, str]:
    """(key, value) of one `key: value` element of a keyed composite literal."""
    i = top_index(element, ":")
    if i < 0:
        raise GoParseError(f"not a keyed element: {element[:60]!r}")
    return element[:i].strip(), element[i + 1:].strip()


def fields(body: str) -> dict[str, str]:
    """{key: value text} of a keyed composite literal's contents (`Key: value, ...`)."""
    return dict(keyed(element) for element in split_top(body, ","))


def literal_body(value: str, prefix: str) -> str:
    """The contents of a composite literal `prefix{...}` (prefix may be empty: an elided type)."""
    compact = value.strip()
    if not compact.startswith(prefix) or not compact[len(prefix):].lstrip().startswith("{"):
        raise GoParseError(f"expected {prefix or 'a'}{{...}} literal, got {compact[:60]!r}")
    start = compact.index("{", len(prefix))
    end = matching(compact, start)
    if compact[end + 1:].strip():
        raise GoParseError(f"trailing text after literal: {compact[end + 1:][:40]!r}")
    return compact[start + 1:end]


# --- evaluating the few value forms the schema fields use -------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


def go_string(value: str) -> str:
    """A string literal, or a `+` concatenation of literals."""
    pieces = split_top(value, "+")
    out = []
    for piece in pieces:
        if piece.startswith("`") and piece.endswith("`"):
            out.append(piece[1:-1])
        elif piece.startswith('"') and piece.endswith('"') and _skip_literal(piece, 0) == len(piece):
            out.append(re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), piece[1:-1]))
        else:
            raise GoParseError(f"not a string literal: {piece[:60]!r}")
    return "".join(out)


def go_bool(value: str) -> bool:
    if value not in ("true", "false"):
        raise GoParseError(f"not a boolean literal: {value!r}")
    return value == "true"


def go_strings(value: str) -> list[str]:
    return [go_string(v) for v in split_top(literal_body(value, "[]string"), ",")]


# --- schemas ---------------------------------------------------------------------------------

def parse_schema_map(value: str, where: str) -> dict[str, dict[str, Any]]:
    """map[string]*schema.Schema{...} -> {attribute: record}."""
    out = {}
    for element in split_top(literal_body(value, "map[string]*schema.Schema"), ","):
        key_text, rest = keyed(element)
        name = go_string(key_text)
        body = literal_body(rest, "&schema.Schema" if rest.startswith("&") else "")
        out[name] = parse_attribute(fields(body), f"{where}.{name}")
    return dict(sorted(out.items()))


def parse_attribute(f: dict[str, str], where: str) -> dict[str, Any]:
    try:
        required = go_bool(f["Required"]) if "Required" in f else False
        optional = go_bool(f["Optional"]) if "Optional" in f else False
        computed = go_bool(f["Computed"]) if "Computed" in f else False
        if required + optional != 1 and not (computed and not required and not optional):
            raise GoParseError(f"Required={required} Optional={optional} Computed={computed}")
        record: dict[str, Any] = {
            "mode": "required" if required else "optional" if optional else "computed",
            "type": f["Type"].removeprefix("schema.") if "Type" in f else None,
        }
        if computed and optional:
            record["computed"] = True  # Optional+Computed: the provider fills it in when unset
        for go_name, key in _LIST_FIELDS.items():
            if go_name in f:
                record[key] = sorted(go_strings(f[go_name]))
        for go_name, key in _INT_FIELDS.items():
            if go_name in f:
                record[key] = int(f[go_name])
        if "Deprecated" in f:
            record["deprecated"] = go_string(f["Deprecated"])
        if "ConfigMode" in f:
            record["config_mode"] = f["ConfigMode"].removeprefix("schema.")
        if "Elem" in f:
            elem = f["Elem"]
            if elem.startswith("&schema.Resource"):
                nested = fields(literal_body(elem, "&schema.Resource"))
                if "Schema" not in nested:
                    raise GoParseError("Elem resource without a Schema")
                # A list/set of resources is a nested block, unless ConfigMode makes it an
                # attribute (then it is written `x = [{...}]`).
                record["block"] = parse_schema_map(nested["Schema"], where)
            elif elem.startswith("&schema.Schema"):
                inner = fields(literal_body(elem, "&schema.Schema"))
                record["elem"] = inner.get("Type", "").removeprefix("schema.") or None
            else:
                raise GoParseError(f"Elem is neither &schema.Resource nor &schema.Schema: {elem[:60]!r}")
        return record
    except (GoParseError, KeyError, ValueError) as exc:
        raise GoParseError(f"{where}: {exc}") from exc


def registry(provider_go: str, map_name: str) -> dict[str, str]:
    """{terraform type: Go function} from provider.go's ResourcesMap or DataSourcesMap."""
    m = re.search(rf"\b{map_name}:\s*map\[string\]\*schema\.Resource\{{", provider_go)
    if not m:
        raise GoParseError(f"provider.go has no {map_name}")
    body = provider_go[m.end():matching(provider_go, m.end() - 1)]
    out = {}
    for element in split_top(body, ","):
        key, value = keyed(element)
        call = re.fullmatch(r"([A-Za-z_]\w*)\(\)", value)
        if not call:
            raise GoParseError(f"{map_name}: unexpected entry {element[:60]!r}")
        out[go_string(key)] = call.group(1)
    return out


def find_function(repo: str, ref: str, func: str) -> tuple[str, str]:
    """(path, comment-stripped source) of the non-test Go file defining func() *schema.Resource."""
    hits = git(repo, "grep", "-l", "-E", rf"^func {func}\(\) \*schema\.Resource \{{", ref,
               "--", "openstack/*.go")
    paths = sorted(h.split(":", 1)[1] for h in hits.split() if not h.endswith("_test.go"))
    if len(paths) != 1:
        raise GoParseError(f"{func}: defined in {paths or 'no file'}")
    return paths[0], strip_comments(show(repo, ref, paths[0]))


def resource_schema(repo: str, ref: str, func: str) -> tuple[str, dict[str, Any]]:
    path, src = find_function(repo, ref, func)
    m = re.search(rf"^func {func}\(\) \*schema\.Resource \{{", src, re.M)
    assert m
    body = src[m.end():matching(src, m.end() - 1)]
    ret = re.search(r"\breturn\s+&schema\.Resource\{", body)
    if not ret:
        raise GoParseError(f"{path}: {func} does not return a &schema.Resource{{...}} literal")
    start = ret.end() - 1
    resource = fields(body[start + 1:matching(body, start)])
    if "Schema" not in resource:
        raise GoParseError(f"{path}: {func} has no Schema field")
    return path, parse_schema_map(resource["Schema"], func)


def blueprint_types() -> tuple[set[str], set[str]]:
    resources, data = set(), set()
    for path in sorted(BLUEPRINTS.glob("*.tf.j2")):
        for kind, type_ in re.findall(r'^(resource|data)\s+"([a-z0-9_]+)"', path.read_text(), re.M):
            (resources if kind == "resource" else data).add(type_)
    return resources, data


# --- output ----------------------------------------------------------------------------------

def render_value(value: Any, indent: int = 0, lead: int = 0) -> str:
    """Python source for value: a dict on one line when it has no dict inside and fits in 100
    columns (lead: columns already used on the line), else one item a line."""
    pad = "    " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        flat = "{" + ", ".join(f"{k!r}: {render_value(v)}" for k, v in value.items()) + "}"
        if lead + len(flat) + 1 <= 100 and not any(isinstance(v, dict) for v in value.values()):
            return flat
        inner = ""
        for k, v in value.items():
            head = f"{pad}    {k!r}: "
            inner += f"{head}{render_value(v, indent + 1, len(head))},\n"
        return "{\n" + inner + pad + "}"
    if isinstance(value, list):
        flat = "[" + ", ".join(render_value(v) for v in value) + "]"
        if lead + len(flat) + 1 <= 100:
            return flat
        return "[\n" + "".join(f"{pad}    {render_value(v)},\n" for v in value) + pad + "]"
    return repr(value)


def generate(repo: str, ref: str, extra_resources: list[str], extra_data: list[str]) -> str:
    commit = git(repo, "rev-parse", f"{ref}^{{commit}}").strip()
    provider_go = strip_comments(show(repo, ref, "openstack/provider.go"))
    resource_funcs = registry(provider_go, "ResourcesMap")
    data_funcs = registry(provider_go, "DataSourcesMap")
    used_resources, used_data = blueprint_types()
    used_resources |= set(extra_resources)
    used_data |= set(extra_data)

    def collect(types: set[str], funcs: dict[str, str], kind: str) -> dict[str, Any]:
        out = {}
        for type_ in sorted(types):
            if type_ not in funcs:
                raise SystemExit(f"{kind} {type_} is not registered in provider.go at {ref}")
            path, attributes = resource_schema(repo, ref, funcs[type_])
            out[type_] = {"source": path, "attributes": attributes}
        return out

    files = set(git(repo, "ls-tree", "-r", "--name-only", ref, "--", "openstack/").split())
    for type_ in REMOVED:
        file = f"openstack/resource_{type_}.go"
        if type_ in resource_funcs or type_ in data_funcs or file in files:
            raise SystemExit(f"{type_} is still in the provider at {ref}; drop it from REMOVED")

    command = f"python3 tools/provider_schema_from_go.py --repo <provider checkout> --ref {ref}"
    extras = "".join(f" --resource {t}" for t in sorted(extra_resources))
    extras += "".join(f" --data-source {t}" for t in sorted(extra_data))
    lines = [
        f'"""Provider schemas extracted from terraform-provider-openstack {ref}. GENERATED: do not edit.',
        "",
        f"Repository: {REPOSITORY}",
        f"Tag: {ref}",
        f"Commit: {commit}",
        f"Regenerate: {command}{extras}",
        "",
        "mode: 'required' or 'optional' (a configuration may set it) or 'computed' (only the",
        "provider sets it; a configuration that sets it is rejected); 'computed': True on an optional",
        "attribute means the provider fills it in when unset. 'block': a nested block's",
        "attributes (Elem: &schema.Resource); 'elem': the element type of a list/set/map argument.",
        "Attribute names in conflicts_with, exactly_one_of, at_least_one_of and required_with are",
        "absolute paths from the resource (nested ones look like 'block.0.attribute').",
        '"""',
        "",
        f"REPOSITORY = {REPOSITORY!r}",
        f"TAG = {ref!r}",
        f"COMMIT = {commit!r}",
        "",
        "# Resource types the tag no longer has (checked against provider.go and openstack/*.go).",
        f"REMOVED = {render_value(sorted(REMOVED), 0, len('REMOVED = '))}",
        "",
        f"RESOURCES = {render_value(collect(used_resources, resource_funcs, 'resource'), 0)}",
        "",
        f"DATA_SOURCES = {render_value(collect(used_data, data_funcs, 'data source'), 0)}",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", default=DEFAULT_REPO,
                        help="terraform-provider-openstack checkout or bare mirror (default: %(default)s)")
    parser.add_argument("--ref", required=True, help="tag to read, e.g. v3.4.0")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: %(default)s")
    parser.add_argument("--resource", action="append", default=[],
                        help="also extract this resource type (blueprints' types always are)")
    parser.add_argument("--data-source", action="append", default=[],
                        help="also extract this data source type")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if --out differs from what would be written")
    args = parser.parse_args(argv)
    try:
        text = generate(args.repo, args.ref, args.resource, args.data_source)
    except GoParseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        current = args.out.read_text() if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date; rerun without --check", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
