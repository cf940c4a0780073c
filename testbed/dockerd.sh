#!/usr/bin/env bash
# Start the Docker engine in the background when it is not answering.
# There is no init system on the test machines, so dockerd is started by hand
# and keeps running after this script exits. Safe to run twice.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DOCKERD_LOG="${DOCKERD_LOG:-/var/log/repro-gen-dockerd.log}"
DOCKERD_WAIT="${DOCKERD_WAIT:-60}"

if docker info >/dev/null 2>&1; then
    log "dockerd: engine already running"
    exit 0
fi

need_root dockerd.sh
command -v dockerd >/dev/null || die "dockerd not found; run testbed/apt.sh first"

if pid=$(pgrep -x dockerd 2>/dev/null); then
    log "dockerd: process $pid exists but does not answer yet; waiting for it"
else
    # A stale pid file from a previous (killed) engine blocks the start.
    if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
        rm -f /var/run/docker.pid
    fi
    log "dockerd: starting (log: $DOCKERD_LOG)"
    mkdir -p "$(dirname "$DOCKERD_LOG")"
    # setsid + nohup: the engine must outlive this shell and CI's step.
    setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
fi

for _ in $(seq 1 "$DOCKERD_WAIT"); do
    if docker info >/dev/null 2>&1; then
        log "dockerd: engine is up ($(docker version --format '{{.Server.Version}}' 2>/dev/null), storage $(docker info --format '{{.Driver}}' 2>/dev/null))"
        exit 0
    fi
    sleep 1
done
log "dockerd: no answer after ${DOCKERD_WAIT}s; last lines of $DOCKERD_LOG:"
tail -n 30 "$DOCKERD_LOG" >&2 || true
exit 1
