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
