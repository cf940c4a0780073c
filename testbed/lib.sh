# Shared helpers for the testbed scripts. Source it; do not run it.
# shellcheck shell=bash

TESTBED_CACHE="${TESTBED_CACHE:-/var/cache/repro-gen-testbed}"

log() {
    printf '[testbed %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

die() {
    log "ERROR: $*"
    exit 1
}

need_root() {
    [ "$(id -u)" -eq 0 ] || die "$1 must run as root"
}

# Seconds since the epoch, for the "took N s" lines.
now() {
    date +%s
}

# The repository these scripts belong to.
TESTBED_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
# The tests' Python: a virtual environment (the Makefile's .venv-test), never the system's.
# TESTBED_VENV= (empty) installs into $PYTHON instead.
TESTBED_VENV="${TESTBED_VENV-$TESTBED_REPO/.venv-test}"
if [ -n "$TESTBED_VENV" ]; then
    PYTHON="$TESTBED_VENV/bin/python"
else
    PYTHON="${PYTHON:-python3}"
fi
# What the testbed started and must stop again (testbed/stop.sh): pid files, one per thing.
TESTBED_RUN="${TESTBED_RUN:-/tmp/repro-gen-testbed-$(id -u)}"
