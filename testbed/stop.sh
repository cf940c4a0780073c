#!/usr/bin/env bash
# Stop what the test bed and the tests started and left running (`make testbed-stop`):
#   1. service process groups a test run started (PostgreSQL, SeaweedFS, MLflow servers: listed
#      by tests/support/services.py in $TESTBED_RUN/processes until they are stopped) and that
#      are still alive because the run was killed; their PostgreSQL data directories;
#   2. containers the tests made: named testbed-*, e2e-node-*, training-test-*, ansible-molecule-*,
#      tracking-molecule-*, or from a test-bed image (local/*) or an image built FROM one
#      (molecule instances, the e2e node, training images);
#   3. the Docker engine, if testbed/dockerd.sh started it ($TESTBED_RUN/dockerd.pid).
# Images, the image cache and the test venv stay: the next `make test` reuses them.
# Never while another test run on this machine still needs them. Safe to run twice.
#   --dry-run   say what would be stopped, stop nothing
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dry=0
[ "${1:-}" = --dry-run ] && dry=1
act() {
    if [ "$dry" = 1 ]; then log "stop: would run: $*"; else "$@"; fi
}

# start_time PID: field 22 of /proc/PID/stat (empty if the process is gone).
start_time() {
    awk '{sub(/^.*\) /, ""); print $20}' "/proc/$1/stat" 2>/dev/null || true
}

group_alive() {
    # Any process, not a zombie, in process group $1.
    ps -e -o pgid=,stat= 2>/dev/null | awk -v g="$1" '$1 == g && $2 !~ /^Z/ {found=1} END {exit !found}'
}

stopped=0
# 1. Service process groups.
if [ -d "$TESTBED_RUN/processes" ]; then
    for entry in "$TESTBED_RUN/processes"/*; do
        [ -f "$entry" ] || continue
        pgid=$(basename "$entry")
        { read -r started || true; read -r command || true; mapfile -t cleanup; } <"$entry"
        if [ -n "$started" ] && [ "$(start_time "$pgid")" = "$started" ] && group_alive "$pgid"; then
            log "stop: process group $pgid: $command"
            act kill -TERM -- "-$pgid" 2>/dev/null || true
            if [ "$dry" = 0 ]; then
                for _ in $(seq 1 30); do group_alive "$pgid" || break; sleep 0.2; done
                group_alive "$pgid" && { kill -KILL -- "-$pgid" 2>/dev/null || true; }
            fi
            stopped=$((stopped + 1))
        fi
        for dir in "${cleanup[@]}"; do
            [ -n "$dir" ] && [ -e "$dir" ] && act rm -rf -- "$dir"
        done
        act rm -f -- "$entry"
    done
fi

# 2. Test containers, while an engine answers.
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    filters=()
    for prefix in testbed- e2e-node- training-test- tracking-molecule- ansible-molecule-; do
        filters+=(--filter "name=^/?$prefix")
    done
    ids=$(docker ps -aq "${filters[@]}" 2>/dev/null || true)
    for image in $(docker image ls --format '{{.Repository}}:{{.Tag}}' 'local/*' 2>/dev/null); do
        ids="$ids $(docker ps -aq --filter "ancestor=$image" 2>/dev/null || true)"
    done
    # shellcheck disable=SC2086 # word splitting of the id list is wanted
    ids=$(printf '%s\n' $ids | sort -u)
    if [ -n "$ids" ]; then
        # shellcheck disable=SC2086
        names=$(docker inspect --format '{{.Name}}' $ids 2>/dev/null | tr -d / | tr '\n' ' ')
        log "stop: removing containers: $names"
        # shellcheck disable=SC2086
        act docker rm -f -v $ids >/dev/null
        stopped=$((stopped + $(wc -w <<<"$ids")))
    fi
fi

# 3. The Docker engine, only the one dockerd.sh started.
if [ -f "$TESTBED_RUN/dockerd.pid" ]; then
    read -r pid started <"$TESTBED_RUN/dockerd.pid" || true
    if [ -n "${pid:-}" ] && [ "$(start_time "$pid")" = "${started:-}" ] \
       && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
        log "stop: the Docker engine (dockerd, pid $pid) that testbed/dockerd.sh started"
        act kill -TERM "$pid"
        if [ "$dry" = 0 ]; then
            # dockerd stops its containerd on the way out; give it what it takes.
            for _ in $(seq 1 60); do [ -d "/proc/$pid" ] || break; sleep 0.5; done
            [ -d "/proc/$pid" ] && die "dockerd (pid $pid) still runs 30 s after SIGTERM"
        fi
        stopped=$((stopped + 1))
    else
        log "stop: the engine testbed/dockerd.sh started is gone already"
    fi
    act rm -f -- "$TESTBED_RUN/dockerd.pid"
elif pgrep -x dockerd >/dev/null 2>&1; then
    log "stop: a Docker engine runs that testbed/dockerd.sh did not start: left running"
fi

if [ "$dry" = 1 ]; then
    log "stop: dry run, nothing stopped ($stopped to stop)"
else
    log "stop: stopped $stopped (processes, containers, engine)"
fi
