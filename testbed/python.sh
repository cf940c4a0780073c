#!/usr/bin/env bash
# Install the project and its test extra into the current Python
# (`pip install -e '.[test]'` from the repository root). Skipped when the same
# checkout was already installed from the same pyproject.toml.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PYTHON="${PYTHON:-python3}"
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$repo"
log "python: $("$PYTHON" --version 2>&1) at $(command -v "$PYTHON")"

mkdir -p "$TESTBED_CACHE" 2>/dev/null || TESTBED_CACHE=$repo/.testbed-cache
mkdir -p "$TESTBED_CACHE"

if [ -f pyproject.toml ]; then
    # The editable install points at this checkout, so the stamp is per path.
    key=$( { echo "$repo"; "$PYTHON" -c 'import sys; print(sys.version)';
             sha256sum pyproject.toml; } | sha256sum | cut -c1-16)
    stamp="$TESTBED_CACHE/python-$key.stamp"
    if [ -f "$stamp" ] && "$PYTHON" -m pip check >/dev/null 2>&1; then
        log "python: project already installed from this pyproject.toml"
        exit 0
    fi
    log "python: pip install -e '.[test]'"
    "$PYTHON" -m pip install -q --disable-pip-version-check -e '.[test]'
    touch "$stamp"
else
    log "python: no pyproject.toml in $repo; installing testbed/requirements-test.txt only"
    "$PYTHON" -m pip install -q --disable-pip-version-check -r testbed/requirements-test.txt
fi
log "python: done"
