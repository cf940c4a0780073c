#!/usr/bin/env bash
# Prepare a machine for the test suite: Debian packages, Docker engine,
# Compose plugin, local base images, the project's Python packages.
# Every step is idempotent; a second run takes seconds.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

t_all=$(now)
timings=()
for step in apt dockerd python compose images; do
    t0=$(now)
    log "== $step =="
    bash "$here/$step.sh"
    timings+=("$step=$(( $(now) - t0 ))s")
done
log "testbed ready in $(( $(now) - t_all )) s (${timings[*]})"
