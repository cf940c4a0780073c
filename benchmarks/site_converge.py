"""Wall time of converging the node-configuration plays of the generated site.yml twice on a local test node.

Renders each spec, starts a systemd container reached over SSH on 127.0.0.1 (see
tests/ansible/testnode.py for how it differs from a Chameleon node), writes the inventory with the
generated from_terraform.py, runs `ansible-playbook site.yml --check` on the fresh node, then
`ansible-playbook site.yml` twice. The second run must report zero changes.

    PYTHONPATH=generator python benchmarks/site_converge.py [SPEC ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "generator"))

from tests.ansible.testnode import converge_twice  # noqa: E402

from repro_gen.loader import load  # noqa: E402
from repro_gen.project import render_into  # noqa: E402

DEFAULT_SPECS = [ROOT / "examples" / "cpu-sklearn-kvm.yaml", ROOT / "examples" / "minimal.yaml"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("specs", nargs="*", type=Path, default=DEFAULT_SPECS)
    args = parser.parse_args()
    status = 0
    print(f"{'spec':<24} {'accelerator':<11} {'--check (s)':>11} {'run 1 (s)':>9} {'changed':>7}"
          f" {'run 2 (s)':>9} {'changed':>7}")
    for spec_path in args.specs:
        with tempfile.TemporaryDirectory(prefix="site-converge-") as tmp:
            tree = Path(tmp) / "repo"
            render_into(load(spec_path), tree)
            first, second, info = converge_twice(tree)
        check = info["check"]
        print(f"{spec_path.stem:<24} {info['accelerator']:<11} {check.seconds:>11.1f} {first.seconds:>9.1f}"
              f" {first.changed:>7} {second.seconds:>9.1f} {second.changed:>7}")
        if info["standins"]:
            print(f"  stand-ins on the test node (no GPU here): {', '.join(info['standins'])}")
        if not check.ok or check.changed_node:
            print(f"check mode failed or modified the node:\n{check.output[-4000:]}", file=sys.stderr)
            status = 1
        if not (first.ok and second.ok) or second.changed:
            print((second if first.ok else first).output[-4000:], file=sys.stderr)
            status = 1
    print("overrides on every test node: " + ", ".join(info["overrides"]))
    return status


if __name__ == "__main__":
    sys.exit(main())
