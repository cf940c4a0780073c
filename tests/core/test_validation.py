"""Bad specs: every problem is named with its line, field and fix; exit code 2; no traceback."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from repro_gen import spec as spec_mod
from repro_gen.cli import main
from repro_gen.errors import SpecError
from repro_gen.loader import parse

BASE = "version: 1\nproject:\n  name: good-name\n"

# (id, spec text, expected field, fragment of the message or hint, expected line or None)
CASES = [
    ("unknown-top-key", BASE + "colour: blue\n", "colour", "keys allowed here: version, project", 4),
    ("unknown-nested-key", BASE + "chameleon:\n  nodes: 2\n", "chameleon.nodes", "node_count", 5),
    ("missing-project", "version: 1\n", "project", "add it", 1),
    ("newer-version", "version: 99\nproject:\n  name: ab-c\n", "version",
     "the spec may be from a newer repro-gen", 1),
    ("version-zero", "version: 0\nproject:\n  name: ab-c\n", "version", "use version: 1", 1),
    ("version-bool", "version: true\nproject:\n  name: ab-c\n", "version", "not a version number", 1),
    ("version-string", "version: '1'\nproject:\n  name: ab-c\n", "version", "(unquoted)", 1),
    ("name-uppercase", "version: 1\nproject:\n  name: MyStudy\n", "project.name", "lowercase", 3),
    ("name-quotes", 'version: 1\nproject:\n  name: "a\\"b"\n', "project.name", "not allowed", 3),
    ("name-dollar-brace", "version: 1\nproject:\n  name: a${x}b\n", "project.name", "not allowed", 3),
    ("name-newline", 'version: 1\nproject:\n  name: "ab\\ncd"\n', "project.name", "not allowed", 3),
    ("name-dotdot", "version: 1\nproject:\n  name: ../evil\n", "project.name", "not allowed", 3),
    ("description-newline", BASE + '  description: "one\\ntwo"\n', "project.description",
     "single line", 4),
    ("repo-url-credentials", BASE + "  repo_url: https://user:tok@github.com/a/b.git\n",
     "project.repo_url", "without credentials", 4),
    ("count-string", BASE + "chameleon:\n  node_count: two\n", "chameleon.node_count",
     "whole number", 5),
    ("count-too-big", BASE + "chameleon:\n  node_count: 50\n", "chameleon.node_count", "1 to 8", 5),
    ("lease-too-long", BASE + "chameleon:\n  lease_hours: 500\n", "chameleon.lease_hours",
     "168", 5),
    ("keep-days-zero", BASE + "tracking:\n  backup_keep_days: 0\n", "tracking.backup_keep_days",
     "1 to 3650", 5),
    ("bad-site", BASE + "chameleon:\n  site: CHI@NU\n", "chameleon.site", "CHI@UC, CHI@TACC", 5),
    ("flavor-on-bare-metal", BASE + "chameleon:\n  flavor: m1.large\n", "chameleon.flavor",
     "node_type", 5),
    ("kvm-without-flavor", BASE + "chameleon:\n  site: KVM@TACC\n  ssh_cidrs: [10.0.0.0/8]\n",
     "chameleon.flavor", "g1.h100.pci.1", 4),
    ("kvm-without-cidrs", BASE + "chameleon:\n  site: KVM@TACC\n  flavor: m1.large\n",
     "chameleon.ssh_cidrs", "ssh_cidrs: [", 4),
    ("cidrs-on-bare-metal", BASE + "chameleon:\n  ssh_cidrs: [10.0.0.0/8]\n",
     "chameleon.ssh_cidrs", "security groups", 5),
    ("cidr-world", BASE + "chameleon:\n  site: KVM@TACC\n  flavor: m1.large\n  ssh_cidrs: [0.0.0.0/0]\n",
     "chameleon.ssh_cidrs", "whole internet", 7),
    ("cidr-host-bits", BASE + "chameleon:\n  site: KVM@TACC\n  flavor: m1.large\n"
     "  ssh_cidrs: [203.0.113.7/24]\n", "chameleon.ssh_cidrs", "write the network, 203.0.113.0/24", 7),
    ("amd-on-kvm", BASE + "chameleon:\n  site: KVM@TACC\n  flavor: m1.large\n"
     "  ssh_cidrs: [10.0.0.0/8]\naccelerator: amd\n", "accelerator",
     "KVM@TACC has no amd hardware (CHI@TACC has it)", 8),
    ("cidr-garbage", BASE + "chameleon:\n  site: KVM@TACC\n  flavor: m1.large\n  ssh_cidrs: [home]\n",
     "chameleon.ssh_cidrs", "not a CIDR", 7),
    ("mi100-at-uc", BASE + "chameleon:\n  node_type: gpu_mi100\n", "chameleon.node_type",
     "only CHI@TACC has it", 5),
    # Node types per site come from Chameleon's hardware data (hardware_data.py).
    ("a100-at-tacc", BASE + "chameleon:\n  site: CHI@TACC\n  node_type: gpu_a100_pcie\n",
     "chameleon.node_type", "not available at CHI@TACC; only CHI@UC has it", 6),
    ("v100-at-tacc", BASE + "chameleon:\n  site: CHI@TACC\n  node_type: gpu_v100\n",
     "chameleon.node_type", "only CHI@UC has it", 6),
    ("h100-at-uc", BASE + "chameleon:\n  node_type: gpu_h100\n", "chameleon.node_type",
     "only CHI@TACC has it", 5),
    ("p100-at-uc-suggests-uc-gpus", BASE + "chameleon:\n  node_type: gpu_p100\n",
     "chameleon.node_type", "gpu_rtx_6000", 5),
    ("k80-refused", BASE + "chameleon:\n  site: CHI@TACC\n  node_type: gpu_k80\n",
     "chameleon.node_type", "compute capability 3.7", 6),
    ("arm-refused", BASE + "chameleon:\n  site: CHI@TACC\n  node_type: compute_arm64\n",
     "chameleon.node_type", "aarch64", 6),
    ("intel-gpu-refused", BASE + "chameleon:\n  site: CHI@TACC\n  node_type: gpu_pontevecchio\n",
     "chameleon.node_type", "Intel GPUs", 6),
    ("amd-at-uc", BASE + "accelerator: amd\n", "accelerator",
     "CHI@UC has no amd GPUs (CHI@TACC has it)", 4),
    ("mi100-with-nvidia",
     BASE + "chameleon:\n  site: CHI@TACC\n  node_type: gpu_mi100\naccelerator: nvidia\n",
     "accelerator", "set accelerator: amd", 7),
    ("gpu-node-no-accel", BASE + "chameleon:\n  node_type: gpu_v100\naccelerator: none\n",
     "accelerator", "set accelerator: nvidia", 6),
    ("cpu-node-nvidia", BASE + "chameleon:\n  node_type: compute_skylake\naccelerator: nvidia\n",
     "accelerator", "change chameleon.node_type", 6),
    ("rocm-image-at-uc", BASE + "chameleon:\n  image: CC-Ubuntu24.04-ROCm\n", "chameleon.image",
     "not offered at CHI@UC", 5),
    ("cuda-image-on-cpu", BASE + "chameleon:\n  node_type: compute_zen3\n  image: CC-Ubuntu22.04-CUDA\n",
     "chameleon.image", "use CC-Ubuntu22.04 instead", 6),
    ("mi100-cuda-image", BASE + "chameleon:\n  site: CHI@TACC\n  node_type: gpu_mi100\n"
     "  image: CC-Ubuntu22.04-CUDA\n", "chameleon.image", "CC-Ubuntu24.04-ROCm", 7),
    ("vgpu-plain-image", BASE + "chameleon:\n  site: KVM@TACC\n  flavor: g1.h100.vgpu.1g.12gb\n"
     "  ssh_cidrs: [10.0.0.0/8]\n  image: CC-Ubuntu24.04-CUDA\n", "chameleon.image", "VGPU", 8),
    ("unknown-node-type", BASE + "chameleon:\n  node_type: gpu_h200\n", "chameleon.node_type",
     "gpu_rtx_6000", 5),
    ("node-type-hostile", BASE + 'chameleon:\n  node_type: "x\\"; rm -rf /"\n', "chameleon.node_type",
     "not allowed", 5),
    ("framework", BASE + "training:\n  framework: jax\n", "training.framework", "pytorch", 5),
    ("tensorflow-on-amd", BASE + "chameleon:\n  site: CHI@TACC\n  node_type: gpu_mi100\n"
     "training:\n  framework: tensorflow\n", "training.framework", "tensorflow on an NVIDIA node type", 8),
    ("unpinned-dep", BASE + "training:\n  extra_dependencies: [pandas>=2]\n",
     "training.extra_dependencies.0", "pin each one", 5),
    ("entry-point-escape", BASE + "training:\n  entry_point: ../../etc/passwd.py\n",
     "training.entry_point", "relative path", 5),
    ("seed-negative", BASE + "training:\n  seed: -1\n", "training.seed", "0 to", 5),
    ("seed-bool", BASE + "training:\n  seed: true\n", "training.seed", "whole number", 5),
    ("store", BASE + "tracking:\n  artifact_store: s3\n", "tracking.artifact_store", "minio", 5),
    ("backups-string", BASE + "tracking:\n  backups: 'yes'\n", "tracking.backups", "true or false", 5),
    ("molecule-string", BASE + "integrations:\n  molecule: 'on'\n", "integrations.molecule",
     "true or false", 5),
    ("experiment-template", BASE + "tracking:\n  experiment: '{{ lookup(\"pipe\", \"id\") }}'\n",
     "tracking.experiment", "not allowed", 5),
    ("duplicate-key", BASE + "project:\n  name: other\n", "project", "duplicate key", 4),
    ("not-a-mapping", "- a\n- b\n", "(top level)", "mapping", 1),
    ("bad-yaml", "version: 1\nproject: [\n", "(yaml)", "not valid YAML", 3),
    # What a spec never needs is refused while composing, before anything is expanded.
    ("tag-int", BASE + "  description: !!int abc\n", "(yaml)", "explicit YAML tag !!int", 4),
    ("tag-float", BASE + "chameleon:\n  node_count: !!float 1\n", "(yaml)", "!!float", 5),
    ("tag-timestamp", BASE + "  description: !!timestamp x\n", "(yaml)", "!!timestamp", 4),
    ("tag-python", BASE + "  description: !!python/object:os.system x\n", "(yaml)",
     "!!python/object:os.system", 4),
    ("tag-unknown", BASE + "  description: !mine x\n", "(yaml)", "explicit YAML tag !mine", 4),
    ("tag-set-section", "version: 1\nproject: !!set {a, b}\n", "(yaml)", "!!set", 2),
    ("alias", "version: 1\nproject:\n  name: &n abc\n  description: *n\n", "(yaml)",
     "no anchors or aliases", 3),
    ("recursive-alias", "a: &a [*a]\n", "(yaml)", "anchor &a is not allowed", 1),
    ("deep", "a: " + "[" * 30 + "]" * 30 + "\n", "(yaml)", "more than 20 levels", 1),
    ("complex-key", BASE + "? [a, b]\n: c\n", "(top level)", "keys are plain names", 4),
    ("impossible-date", "version: 2024-02-30\nproject:\n  name: ab-c\n", "version",
     "quote it", 1),
    ("section-a-list", "version: 1\nproject: [a, b]\n", "project", "mapping", 2),
    # Hints state the rule that failed.
    ("name-trailing-hyphen", "version: 1\nproject:\n  name: ab-\n", "project.name",
     "end with a lowercase letter or digit (not '-')", 3),
    ("name-short", "version: 1\nproject:\n  name: ab\n", "project.name", "3 to 32 characters", 3),
    ("key-pair-hyphen", BASE + "chameleon:\n  key_pair: -ab\n", "chameleon.key_pair",
     "start with a letter or digit (not '-')", 5),
    ("key-pair-long", BASE + "chameleon:\n  key_pair: " + "k" * 65 + "\n", "chameleon.key_pair",
     "1 to 64 characters (this has 65)", 5),
    ("key-pair-space", BASE + "chameleon:\n  key_pair: a b\n", "chameleon.key_pair",
     "not ' '", 5),
    ("description-u2028", BASE + '  description: "a\\u2028b"\n', "project.description",
     "U+2028 (LINE SEPARATOR)", 4),
    ("description-nel", BASE + '  description: "a\\x85b"\n', "project.description", "U+0085", 4),
    ("description-c1", BASE + '  description: "a\\x9bb"\n', "project.description", "U+009B", 4),
    ("description-rlo", BASE + '  description: "a\\u202eb"\n', "project.description",
     "U+202E (RIGHT-TO-LEFT OVERRIDE)", 4),
    ("description-zwsp", BASE + '  description: "a\\u200bb"\n', "project.description",
     "U+200B (ZERO WIDTH SPACE)", 4),
    ("description-private", BASE + '  description: "a\\ue000b"\n', "project.description",
     "U+E000", 4),
    ("cidr-zone-id", BASE + "chameleon:\n  site: KVM@TACC\n  flavor: m1.large\n"
     "  ssh_cidrs: ['fe80::1%eth0/128']\n", "chameleon.ssh_cidrs", "zone id", 7),
    ("cidr-v4-mapped", BASE + "chameleon:\n  site: KVM@TACC\n  flavor: m1.large\n"
     "  ssh_cidrs: ['::ffff:198.51.100.7/128']\n", "chameleon.ssh_cidrs",
     "write 198.51.100.7/32", 7),
    ("cidr-no-prefix", BASE + "chameleon:\n  site: KVM@TACC\n  flavor: m1.large\n"
     "  ssh_cidrs: [10.0.0.1]\n", "chameleon.ssh_cidrs", "prefix length in digits", 7),
    ("cidr-netmask", BASE + "chameleon:\n  site: KVM@TACC\n  flavor: m1.large\n"
     "  ssh_cidrs: [10.0.0.0/255.0.0.0]\n", "chameleon.ssh_cidrs", "prefix length in digits", 7),
    ("dep-bad-extra", BASE + "training:\n  extra_dependencies: ['x[y-]==1']\n",
     "training.extra_dependencies.0", "not a valid requirement", 5),
    ("dep-bad-version", BASE + "training:\n  extra_dependencies: ['a==a']\n",
     "training.extra_dependencies.0", "not a valid requirement", 5),
    ("dep-clash", BASE + "training:\n  extra_dependencies: ['torch==1.0.0']\n",
     "training.extra_dependencies.0", "which pin torch==2.13.0", 5),
    ("dep-clash-spelling", BASE + "training:\n  extra_dependencies: ['PyYAML==5.4']\n",
     "training.extra_dependencies.0", "pyyaml==6.0.3", 5),
    ("dep-twice", BASE + "training:\n  extra_dependencies: ['pandas==2.2.3', 'Pandas==2.2.2']\n",
     "training.extra_dependencies", "pin the same package", 5),
    *[(f"entry-point-{name}", BASE + f"training:\n  entry_point: {name}\n", "training.entry_point",
       "a module repro-gen generates", 5) for name in ("provenance.py", "runtime.py", "__init__.py")],
    # CHI@UC has no AMD node: the derived image is not blamed, no NVIDIA type is suggested.
    ("amd-type-at-uc", BASE + "chameleon:\n  node_type: gpu_p100\naccelerator: amd\n",
     "chameleon.node_type", "CHI@UC has no amd GPU node type (CHI@TACC has it)", 5),
]


@pytest.mark.parametrize(("text", "field", "fragment", "line"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_spec_is_reported_with_field_line_and_fix(tmp_path, text, field, fragment, line):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [ln for ln in result.output.splitlines() if f": {field}: " in ln]
    assert lines, f"no problem reported for {field}:\n{result.output}"
    assert any(fragment in ln for ln in lines), result.output
    where = f"{path}:{line}: " if line else f"{path}: "
    assert any(ln.startswith(where) for ln in lines), result.output
    assert all(" — " in ln for ln in lines), "every problem carries a fix"


def test_every_problem_is_listed_not_just_the_first(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent("""\
        version: 1
        project:
          name: Bad Name
        chameleon:
          node_count: 0
          lease_hours: 0
        training:
          framework: caffe
        """))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    for field in ("project.name", "chameleon.node_count", "chameleon.lease_hours",
                  "training.framework"):
        assert f": {field}: " in result.output


def test_no_traceback_without_debug_and_traceback_with_it(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text("version: 1\nproject:\n  name: X\n")
    plain = subprocess.run([sys.executable, "-m", "repro_gen", "validate", str(path)],
                           capture_output=True, text=True)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    assert f"{path}:3: project.name:" in plain.stderr
    debug = subprocess.run([sys.executable, "-m", "repro_gen", "--debug", "validate", str(path)],
                           capture_output=True, text=True)
    assert "Traceback" in debug.stderr and "SpecError" in debug.stderr


def test_missing_file_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1  # README: 1 other errors (an unreadable file), 2 invalid spec
    assert "does not exist" in result.output and "repro-gen init" in result.output


@pytest.mark.parametrize("command", ["validate", "render"])
def test_unreadable_file_exits_1_and_invalid_spec_exits_2(tmp_path, command):
    folder = tmp_path / "a-folder.yaml"
    folder.mkdir()
    not_utf8 = tmp_path / "latin1.yaml"
    not_utf8.write_bytes(b"project:\n  description: caf\xe9\n")
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("project:\n  name: Bad Name\n")
    for path, code in ((folder, 1), (not_utf8, 1), (invalid, 2)):
        result = CliRunner().invoke(main, [command, str(path), *(
            ["-o", str(tmp_path / "out")] if command == "render" else [])])
        assert result.exit_code == code, (path, result.output)
        assert "Traceback" not in result.output


@pytest.mark.parametrize("args", [["validate"], ["render", "spec.yaml", "--bogus"], ["--bogus"],
                                  ["no-such-command"], ["schema", "--format", "xml"]])
def test_usage_errors_exit_64(args):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 64, result.output
    assert "Usage:" in result.output


def test_problems_are_listed_in_line_order(tmp_path):
    # Field order in the model is project, chameleon, training; the file puts them otherwise.
    path = tmp_path / "spec.yaml"
    path.write_text("training:\n  seed: -1\nchameleon:\n  node_count: 99\n"
                    "project:\n  name: Bad Name\n")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    lines = [int(line.split(":")[1]) for line in result.output.splitlines() if line.startswith(str(path))]
    assert lines == sorted(lines) and len(lines) == 3, result.output


def test_misspelt_key_gets_a_suggestion(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text("project:\n  name: abc\nchameleon:\n  node_tpye: gpu_rtx_6000\n")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert "chameleon.node_tpye: unknown key — did you mean node_type?" in result.output


def test_valid_examples_validate(tmp_path):
    from tests.conftest import EXAMPLES

    for example in EXAMPLES:
        result = CliRunner().invoke(main, ["validate", str(example)])
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("data", "expected"), [
    ({"project": {"name": "ab-c"}}, {"node_type": "gpu_rtx_6000", "image": "CC-Ubuntu22.04-CUDA",
                                     "accelerator": "nvidia", "cloud": "chi_uc"}),
    ({"project": {"name": "ab-c"}, "chameleon": {"site": "CHI@TACC", "node_type": "gpu_mi100"}},
     {"accelerator": "amd", "image": "CC-Ubuntu24.04-ROCm", "cloud": "chi_tacc"}),
    ({"project": {"name": "ab-c"}, "accelerator": "none"},
     {"node_type": "compute_cascadelake_r", "image": "CC-Ubuntu22.04"}),
    # CHI@TACC has no gpu_rtx_6000: its default is its largest NVIDIA fleet.
    ({"project": {"name": "ab-c"}, "chameleon": {"site": "CHI@TACC"}},
     {"node_type": "gpu_p100", "accelerator": "nvidia", "image": "CC-Ubuntu22.04-CUDA"}),
    ({"project": {"name": "ab-c"}, "chameleon": {"site": "CHI@TACC"}, "accelerator": "amd"},
     {"node_type": "gpu_mi100", "image": "CC-Ubuntu24.04-ROCm"}),
    ({"project": {"name": "ab-c"}, "chameleon": {"site": "KVM@TACC", "flavor": "g1.h100.vgpu.1g.12gb",
                                                 "ssh_cidrs": ["10.1.0.0/16"]}},
     {"accelerator": "nvidia", "image": "CC-Ubuntu24.04-CUDA-VGPU", "cloud": "kvm_tacc"}),
])
def test_defaults_follow_the_other_answers(data, expected):
    spec = spec_mod.validate(data)
    got = {"node_type": spec.chameleon.node_type, "image": spec.chameleon.image,
           "accelerator": spec.accelerator, "cloud": spec.chameleon.cloud}
    assert {k: got[k] for k in expected} == expected
    assert spec.tracking.experiment == "ab-c" and spec.chameleon.key_pair == "ab-c"


def test_seed_zero_is_a_seed():
    spec = spec_mod.validate({"project": {"name": "ab-c"}, "training": {"seed": 0}})
    assert spec.training.seed == 0


def test_line_map_points_at_nested_keys():
    _, lines = parse("version: 1\nproject:\n  name: x\nchameleon:\n  site: CHI@UC\n")
    assert lines[("chameleon", "site")] == 5 and lines[("project",)] == 2


def test_spec_error_lists_problems_in_order():
    with pytest.raises(SpecError) as info:
        spec_mod.validate({"project": {"name": "x"}, "training": {"seed": -5}})
    assert [p.field for p in info.value.problems] == ["project.name", "training.seed"]


BILLION_LAUGHS = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{c}: &{c} [{', '.join(['*' + p] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]) + "\n"


@pytest.mark.parametrize("text", [
    BILLION_LAUGHS,
    "a: &a [*a]\n",  # recursive
    "a: " + "[" * 10_000 + "]" * 10_000 + "\n",  # deep flow nesting
    "- " * 10_000 + "x\n",  # deep block nesting, on one line
    "a: " + "{a: " * 10_000 + "}" * 10_000 + "\n",
], ids=["billion-laughs", "recursive-alias", "deep-flow", "deep-block", "deep-flow-mapping"])
def test_hostile_documents_are_refused_fast_with_bounded_memory(text):
    import time
    import tracemalloc

    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(SpecError) as info:
        parse(text)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert info.value.problems[0].field == "(yaml)"
    assert elapsed < 1.0, f"{elapsed:.2f} s"
    assert peak < 20 * 2**20, f"{peak / 2**20:.1f} MiB"


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(BASE + "#" * (2 << 20) + "\n")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2 and "larger than" in result.output
