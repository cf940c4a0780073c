#!/usr/bin/env bash
# Install the Debian packages the test suite needs. Safe to run twice: when
# everything is already installed it neither updates the lists nor installs.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_root apt.sh
export DEBIAN_FRONTEND=noninteractive

# What the tests use on the host:
#   docker.io        dockerd + containerd + runc (images, compose, molecule)
#   debootstrap      base images are built from Debian packages (no registry)
#   iproute2         `ss` / `ip` in diagnostics
#   openssh-client   the end-to-end test SSHes into a systemd container
#   rsync git make   the generated repository's Makefile and deploy steps
#   xz-utils         docker import / tar helpers
#   ca-certificates  pip inside images gets the host CA bundle
#   procps           `ps`/`pkill -P` used for process-group cleanup diagnostics
#   (optional) shellcheck: lint of generated shell, skipped if unavailable
# openssh-server is not needed on the host: sshd runs inside the container.
packages=(docker.io debootstrap iproute2 openssh-client rsync git make
          xz-utils ca-certificates procps)
optional=(shellcheck)

# PostgreSQL 15 binaries normally ship with the machine image; install the
# server package only when they are missing.
if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
    packages+=(postgresql-15)
fi

# The tests run in a virtual environment (.venv-test): Debian's python3 needs python3-venv for
# it; a Python that has ensurepip already (pyenv, python.org builds) does not.
if ! "${BASE_PYTHON:-python3}" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    packages+=(python3-venv)
fi

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

missing=()
for p in "${packages[@]}" "${optional[@]}"; do
    installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    log "apt: all packages already installed"
    exit 0
fi

log "apt: missing: ${missing[*]}"
# Third-party sources configured on some machines (cloud SDK, node) are not
# reachable; apt-get update then exits non-zero although Debian's own lists
# were refreshed. Keep going and let the install step be the judge.
if ! apt-get update -qq; then
    log "apt: 'apt-get update' reported errors (unreachable extra sources?); continuing"
fi

required_missing=()
for p in "${packages[@]}"; do
    installed "$p" || required_missing+=("$p")
done
if [ ${#required_missing[@]} -gt 0 ]; then
    log "apt: installing ${required_missing[*]}"
    apt-get install -y -qq --no-install-recommends "${required_missing[@]}" >/dev/null
fi
for p in "${optional[@]}"; do
    if ! installed "$p"; then
        if apt-cache show "$p" >/dev/null 2>&1; then
            log "apt: installing optional $p"
            apt-get install -y -qq --no-install-recommends "$p" >/dev/null \
                || log "apt: optional $p failed to install; skipping"
        else
            log "apt: optional $p not available; skipping"
        fi
    fi
done
log "apt: done"
