"""The `hcl` quoting filter, with real terraform as the oracle.

Strings go through the same sandboxed environment the blueprints use (`[[ s | hcl ]]`) into
`output` blocks of a provider-free configuration; `terraform apply` then `terraform output -json`
must give every string back exactly. Terraform normalizes string literals to Unicode NFC, so
that is the exact value expected.
"""

from __future__ import annotations

import json
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repro_gen import manifest
from repro_gen.render import environment

from .tf import init, run_tf

TRICKY = [
    "", '"', "\\", "\\\\n", "${var.x}", "$${", "$$${x}", "%{ if true }x%{ endif }", "%%{", "$", "%",
    "{", "}", "a\nb", "\r\n", "\t", "\x00", "\x1b[0m", "\x7f", "é", "e\u0301", "日本語", "🚀",
    "\u2028\u2029", "\ufeff", "$\n{", "${}", "<<EOF\nEOF", "#", "//", "/*", "*/", "${\"}\"}",
]

_TEMPLATE = ('[% for s in strings %]\noutput "v[[ loop.index0 ]]" {\n  value = [[ s | hcl ]]\n}\n'
             '[% endfor %]')


def roundtrip(strings: list[str], workdir) -> list[str]:
    workdir.mkdir(parents=True, exist_ok=True)
    for leftover in workdir.glob("*.tf*"):
        leftover.unlink()
    env = environment(manifest.blueprints_root())
    (workdir / "main.tf").write_text(env.from_string(_TEMPLATE).render(strings=strings),
                                     encoding="utf-8")
    init(workdir)
    run_tf(["apply", "-auto-approve", "-input=false", "-lock=false"], workdir)
    out = json.loads(run_tf(["output", "-json"], workdir).stdout)
    return [out[f"v{i}"]["value"] for i in range(len(strings))]


def expected(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def test_tricky_strings_round_trip(tmp_path):
    assert roundtrip(TRICKY, tmp_path / "tricky") == [expected(s) for s in TRICKY]


_chars = st.one_of(
    st.sampled_from([*'"\\$%{}\n\r\t ', "${", "%{", "$${", "%%{"]),
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(_chars, max_size=24).map("".join), min_size=1, max_size=40))
def test_generated_strings_round_trip(tmp_path, strings):
    # One terraform run per batch of strings keeps this fast enough to run on every commit.
    assert roundtrip(strings, tmp_path / "prop") == [expected(s) for s in strings]
