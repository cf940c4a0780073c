#!/usr/bin/env bash
# Install the project and its test extra (`pip install -e '.[test]'`) into the test virtual
# environment, $TESTBED_VENV (default: .venv-test in the repository; created here with
# $BASE_PYTHON, default python3). TESTBED_VENV= (empty) installs into $PYTHON instead.
# The training packages that rendered repositories pin (generator/repro_gen/pins.py) are
# installed at exactly those versions, as constraints: the tests check that what they ran is
# what a rendered repository installs. Skipped when this environment was already installed from
# the same pyproject.toml and pins.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
repo=$TESTBED_REPO
cd "$repo"

if [ -n "$TESTBED_VENV" ] && [ ! -x "$PYTHON" ]; then
    base=${BASE_PYTHON:-python3}
    log "python: creating the virtual environment $TESTBED_VENV with $("$base" --version 2>&1)"
    "$base" -m venv "$TESTBED_VENV" || die "'$base -m venv' failed (apt-get install python3-venv?)"
fi
log "python: $("$PYTHON" --version 2>&1) at $PYTHON"

mkdir -p "$TESTBED_CACHE" 2>/dev/null || TESTBED_CACHE=$repo/.testbed-cache
mkdir -p "$TESTBED_CACHE"

pins=generator/repro_gen/pins.py
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
if [ -f pyproject.toml ]; then
    spec=pyproject.toml
    install=(-e '.[test]')
    # pins.py needs nothing beyond the standard library.
    "$PYTHON" - "$pins" >"$constraints" <<'PY'
import runpy, sys
for name, pin in runpy.run_path(sys.argv[1])["PINS"].items():
    print(f"{name}=={pin.version}")
PY
else
    # Until the project's pyproject.toml exists: the verified service pins.
    log "python: no pyproject.toml in $repo; using testbed/requirements-test.txt"
    spec=testbed/requirements-test.txt
    install=(-r testbed/requirements-test.txt)
fi

# An editable install points at this checkout: the stamp is per checkout and environment.
key=$( { echo "$repo"; "$PYTHON" -c 'import sys; print(sys.prefix, sys.version)'; sha256sum "$spec";
         cat "$constraints"; } | sha256sum | cut -c1-16)
stamp="$TESTBED_CACHE/python-$key.stamp"
if [ -f "$stamp" ] && "$PYTHON" -m pip check >/dev/null 2>&1; then
    log "python: already installed from this $spec"
    exit 0
fi
log "python: pip install ${install[*]} (pip's log: $TESTBED_CACHE/pip-$key.log; several minutes the first time)"
# Local find-links directories configured on these machines may be missing; pip warns about
# each one, which says nothing about this install: the log keeps everything, the terminal the rest.
if ! "$PYTHON" -m pip install -q "${install[@]}" -c "$constraints" >"$TESTBED_CACHE/pip-$key.log" 2>&1; then
    grep -v "is ignored: it is neither a file nor a directory" "$TESTBED_CACHE/pip-$key.log" | tail -n 40 >&2
    die "pip install failed (full log: $TESTBED_CACHE/pip-$key.log)"
fi
touch "$stamp"
log "python: done"
