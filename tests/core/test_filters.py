"""Quoting filters: each target language's own parser is the oracle (HCL's is terraform: see
tests/terraform). Property-based strings include quotes, backslashes, `${`, `{{`, newlines, unicode."""

from __future__ import annotations

import ast
import json
import subprocess

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from repro_gen.errors import BlueprintError
from repro_gen.filters import (
    ansible_scalar,
    hcl_string,
    ident,
    json_value,
    make_word,
    markdown_code,
    markdown_text,
    python_literal,
    shell_word,
    yaml_key,
    yaml_scalar,
)

NASTY = st.one_of(
    st.text(st.characters(codec="utf-8")),
    st.sampled_from(['"', "'", "\\", "${x}", "%{if}", "{{ x }}", "{% x %}", "\n", "\r\n", "\t",
                     "$(id)", "`id`", "a: b", "- x", "# c", "&a *a", "!tag", "\u2028", "é✓😀",
                     "null", "yes", "0x10", "~"]),
)
TEXT = st.lists(NASTY, max_size=6).map("".join)
# The shell cannot carry NUL bytes in arguments.
SHELL_TEXT = TEXT.filter(lambda s: "\x00" not in s)


@given(TEXT)
def test_yaml_scalar_round_trips(value):
    assert yaml.safe_load(f"key: {yaml_scalar(value)}\n") == {"key": value}


@given(TEXT)
def test_ansible_scalar_is_unsafe_tagged_and_round_trips(value):
    text = ansible_scalar(value)
    assert text.startswith("!unsafe ")

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!unsafe", lambda loader, node: ("UNSAFE", loader.construct_scalar(node)))
    assert yaml.load(f"key: {text}\n", Loader=Loader) == {"key": ("UNSAFE", value)}


@settings(max_examples=60, deadline=None)
@given(SHELL_TEXT)
def test_shell_word_round_trips_through_bash(value):
    out = subprocess.run(["bash", "-c", f"printf %s {shell_word(value)}"], capture_output=True)
    assert out.stdout == value.encode("utf-8", "surrogateescape")


@pytest.mark.parametrize("value", ["plain", "a b", "$HOME", "$(id)", "it's", "100%", "a\\b", "é"])
def test_make_word_round_trips_through_make(tmp_path, value):
    (tmp_path / "Makefile").write_text(f"show:\n\t@printf %s {make_word(value)}\n")
    out = subprocess.run(["make", "-s", "-C", str(tmp_path), "show"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == value


@given(st.recursive(st.none() | st.booleans() | st.integers() | TEXT,
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8))
def test_python_literal_and_json_round_trip(value):
    assert ast.literal_eval(python_literal(value)) == value
    assert json.loads(json_value(value)) == value


@given(TEXT)
def test_hcl_string_has_no_live_template_sequences(value):
    quoted = hcl_string(value)
    inner = quoted[1:-1]
    assert quoted.startswith('"') and quoted.endswith('"')
    assert "\n" not in inner and "\r" not in inner
    # Every ${ or %{ is escaped by doubling its sigil.
    stripped = inner.replace("$${", "").replace("%%{", "")
    assert "${" not in stripped and "%{" not in stripped


@given(TEXT)
def test_markdown_text_has_no_raw_html_or_links(value):
    out = markdown_text(value)
    for ch in "<>[]`":
        assert all(out[i - 1] == "\\" for i, c in enumerate(out) if c == ch and i > 0) or ch not in out


@pytest.mark.parametrize("value", ["gpu_rtx_6000", "CHI@UC", "m1.large", "my-study"])
def test_ident_accepts_allow_listed(value):
    assert ident(value) == value


@pytest.mark.parametrize("value", ["", "a b", "a;b", "a\nb", '"x"', "${x}", "-rf", "../x"])
def test_ident_rejects_everything_else(value):
    with pytest.raises(BlueprintError):
        ident(value)


MARKDOWN_HOSTILE = ["~~~", "```", "- x", "* x", "1. x", "1) x", "---", "===", "    indented",
                    "  two", "x  ", " ", "# h", "> q", "&amp;", "&#42;", "<b>x</b>", "<!-- c",
                    "[a](b)", "![i](j)", "a_b_c", "*em*", "__s__", "~~del~~", "a|b", "\\",
                    "\\*", "`", "``a``", "` a `", "$x$", ":smile:", "https://x.y/_a_", "+ x",
                    "<https://x>", "x\\", "é✓😀", "a  b"]


@pytest.mark.parametrize("value", MARKDOWN_HOSTILE)
def test_markdown_text_shows_verbatim_and_keeps_one_paragraph(value):
    from tests.core.oracles import markdown_blocks
    from tests.core.oracles import markdown_text as shown

    doc = f"before\n\n{markdown_text(value)}\n\nafter\n"
    assert markdown_blocks(doc) == ["paragraph_open", "paragraph_close"] * 3
    assert shown(doc) == f"before\n{value}\nafter\n"


@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cf", "Zl", "Zp", "Co",
                                                                 "Cs", "Cn")), min_size=1))
def test_markdown_text_and_code_show_any_printable_line_verbatim(value):
    from tests.core.oracles import markdown_codes
    from tests.core.oracles import markdown_text as shown

    assert shown(f"x\n\n{markdown_text(value)}\n") == f"x\n{value}\n"
    assert markdown_codes(f"x {markdown_code(value)} y\n") == [value]


@pytest.mark.parametrize("value", MARKDOWN_HOSTILE)
def test_markdown_code_shows_verbatim(value):
    from tests.core.oracles import markdown_codes

    assert markdown_codes(f"run {markdown_code(value)} now\n") == [value]


@pytest.mark.parametrize("value", ["chi_uc", "yes", "no", "on", "off", "null", "~", "010", "1.5",
                                   "2024-01-01", "true", "a: b", "#x", "0x10", "1e3", ".inf"])
def test_yaml_key_reads_back_as_the_same_string(value):
    assert yaml.safe_load(f"clouds:\n  {yaml_key(value)}:\n    auth: {{}}\n") == {
        "clouds": {value: {"auth": {}}}}
    assert yaml_key("chi_uc") == "chi_uc"  # plain where plain reads back
