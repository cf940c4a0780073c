#!/usr/bin/env bash
# Start the Docker engine in the background when it is not answering.
# There is no init system on the test machines, so dockerd is started by hand
# and keeps running after this script exits; its pid and start time go to
# $TESTBED_RUN/dockerd.pid, so that testbed/stop.sh stops it (and only an engine
# started here). Safe to run twice.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DOCKERD_LOG="${DOCKERD_LOG:-/var/log/repro-gen-dockerd.log}"
DOCKERD_WAIT="${DOCKERD_WAIT:-60}"

# remove_stale_pidfile FILE NAME: delete FILE unless it names a live NAME process.
remove_stale_pidfile() {
    local file=$1 name=$2 pid state comm
    [ -f "$file" ] || return 0
    pid=$(cat "$file" 2>/dev/null || true)
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
    comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
    if [ -z "$pid" ] || [ -z "$state" ] || [ "$state" = Z ] || [ "$comm" != "$name" ]; then
        log "dockerd: removing stale $file (pid ${pid:-none})"
        rm -f "$file"
    fi
}

if docker info >/dev/null 2>&1; then
    log "dockerd: engine already running"
    exit 0
fi

need_root dockerd.sh
command -v dockerd >/dev/null || die "dockerd not found; run testbed/apt.sh first"

if pid=$(pgrep -x dockerd 2>/dev/null); then
    log "dockerd: process $pid exists but does not answer yet; waiting for it"
else
    # Pid files left by an engine that was killed (CI ends everything a
    # session left running) block the start: dockerd refuses to run, or waits
    # for a containerd that is gone or a zombie, then times out.
    remove_stale_pidfile /var/run/docker.pid dockerd
    remove_stale_pidfile /var/run/docker/containerd/containerd.pid containerd
    log "dockerd: starting (log: $DOCKERD_LOG)"
    mkdir -p "$(dirname "$DOCKERD_LOG")"
    # setsid + nohup: the engine must outlive this shell and CI's step.
    setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
    started=1
fi

for _ in $(seq 1 "$DOCKERD_WAIT"); do
    if docker info >/dev/null 2>&1; then
        pid=$(cat /var/run/docker.pid 2>/dev/null || pgrep -xo dockerd || true)
        if [ "${started:-0}" = 1 ] && [ -n "$pid" ]; then
            mkdir -p "$TESTBED_RUN"
            echo "$pid $(awk '{print $22}' "/proc/$pid/stat")" >"$TESTBED_RUN/dockerd.pid"
            log "dockerd: started as pid $pid (make testbed-stop stops it)"
        fi
        log "dockerd: engine is up ($(docker version --format '{{.Server.Version}}' 2>/dev/null), storage $(docker info --format '{{.Driver}}' 2>/dev/null))"
        exit 0
    fi
    sleep 1
done
log "dockerd: no answer after ${DOCKERD_WAIT}s; last lines of $DOCKERD_LOG:"
tail -n 30 "$DOCKERD_LOG" >&2 || true
exit 1
