"""The README's spec reference is the one the model generates."""

from __future__ import annotations

from repro_gen.reference import markdown
from tests.conftest import ROOT


def test_readme_spec_reference_is_current():
    text = (ROOT / "README.md").read_text()
    start = text.index("<!-- spec-reference:start -->\n") + len("<!-- spec-reference:start -->\n")
    end = text.index("<!-- spec-reference:end -->")
    assert text[start:end] == markdown(), "run `repro-gen schema --format markdown` into README"


def test_every_spec_field_is_documented():
    table = markdown()
    for line in table.splitlines()[2:]:
        assert line.rstrip(" |").split("|")[-1].strip(), f"field without description: {line}"
