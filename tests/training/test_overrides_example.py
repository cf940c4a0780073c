"""The `make train ARGS=...` example that `make summary` prints (ops/status.py) is accepted by
the rendered training script's own command line and configuration, for every framework."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest

from tests import matrix

# Each check starts a Python that imports runtime.py, and so mlflow: not in the fast tier.
pytestmark = pytest.mark.heavy

CHECK = """
import sys
import runtime
args = runtime.parse_args(sys.argv[1:])
config = runtime.load_config(args.config, args.overrides)
print(len(args.overrides))
"""


def test_printed_train_args_parse_with_the_rendered_script(matrix_trees):
    files = ["ops/status.py", "training/runtime.py", "training/config.yaml"]
    for group in matrix.groups(matrix_trees, files):
        status = (group.root / "ops/status.py").read_text()
        found = re.findall(r"make train ARGS='([^']*)'", status)
        assert found, f"{group.ids}: no ARGS example printed"
        for example in found:
            argv = shlex.split(example)
            done = subprocess.run([sys.executable, "-c", CHECK, *argv], cwd=group.root / "training",
                                  capture_output=True, text=True, timeout=120,
                                  env={"PATH": "/usr/bin:/bin", "MLFLOW_DISABLE_TELEMETRY": "true",
                                       "PYTHONPATH": str(group.root / "training")})
            assert done.returncode == 0, f"{group.ids}: ARGS={example!r}:\n{done.stderr[-2000:]}"
            assert done.stdout.split()[-1] != "0", f"{group.ids}: {example!r} overrides nothing"
