"""Wall time of `make up` run twice (first: lease created, node configured; second: nothing changes).

Uses the end-to-end test's local bed (tests/workflow/e2e.py): a systemd container reached over SSH
on 127.0.0.1 as the node, the Keystone/Blazar/Nova stand-in, a Terraform stand-in answering from an
inventory fixture, stand-in images for the pinned upstream ones. Everything `make up` does after
provisioning (lease tool, inventory, site.yml over SSH, the tracking stack) runs for real. Image
builds and node preparation happen before the clock starts.

    PYTHONPATH=generator python benchmarks/make_up.py

Measured on the shared 2-core test machine (another test suite running beside it), 2026-11-28:
first make up 108.1 s, second make up 24.6 s (lease reused, site.yml reports no change).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "generator"))

from tests.conftest import render_data  # noqa: E402
from tests.workflow.e2e import local_bed  # noqa: E402


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="e2e-bench-") as tmp, local_bed(Path(tmp), render_data) as bed:
        for label in ("first", "second"):
            proc = bed.make("up")
            seconds = bed.timings.pop("up")
            print(f"make up ({label}): {seconds:.1f} s, exit {proc.returncode}", flush=True)
            if proc.returncode != 0:
                print((proc.stdout + proc.stderr)[-4000:], file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
