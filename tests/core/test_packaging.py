"""`pip install .` (a real wheel, not an editable install) gives a working repro-gen that renders
from the blueprints inside the wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import venv

import pytest

from tests.conftest import ROOT
from tests.golden import sha256, stored


@pytest.mark.slow
def test_wheel_install_renders_the_golden_tree(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w",
                    str(wheels)], check=True, capture_output=True, text=True)
    [wheel] = wheels.glob("repro_gen-*.whl")
    # The venv reuses this interpreter's packages for the dependencies; the wheel itself is
    # installed into the venv and shadows any editable install of the checkout. PYTHONPATH
    # (the top Makefile points it at the checkout) would put the checkout first: drop it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall",
                    str(wheel)], check=True, capture_output=True, text=True, env=env)
    where = subprocess.run([python, "-c", "import repro_gen.manifest as m; print(m.blueprints_root())"],
                           check=True, capture_output=True, text=True, cwd=tmp_path, env=env).stdout.strip()
    assert where.startswith(str(env_dir)), where
    out = tmp_path / "out"
    subprocess.run([env_dir / "bin" / "repro-gen", "render", str(ROOT / "examples/minimal.yaml"),
                    "-o", str(out)], check=True, capture_output=True, text=True, cwd=tmp_path, env=env)
    files, verbatim = stored("minimal")
    for rel, content in files.items():
        assert (out / rel).read_bytes() == content, rel
    for rel, copy in verbatim.items():
        assert sha256((out / rel).read_bytes()) == copy.sha256, rel
        assert (out / rel).stat().st_mode & 0o777 == copy.mode, rel
