#!/usr/bin/env bash
# Build the local base images the tests use. No registry is reachable, so each
# image is a Debian bookworm root filesystem made with debootstrap and loaded
# with `docker import`. Root filesystems are cached as tarballs under
# $TESTBED_CACHE; an image whose recipe has not changed is not rebuilt.
#
#   local/debian:bookworm          minbase + python3 + ca-certificates
#   local/debian-systemd:bookworm  systemd as PID 1, sshd, sudo, user `cc`
#   local/python:3.11-slim         python3 + venv + pip, pip trusts the host CAs
#
# Set TESTBED_VERIFY=1 to re-run the boot/build checks on cached images.
# TESTBED_IMAGE_NS (default "local") changes the repository prefix, e.g. to
# time a cold build without touching the images other runs use.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_root images.sh

MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
# Bump when a customize_* function changes in a way the package list does not show.
RECIPE_VERSION=1
DEB_CACHE="$TESTBED_CACHE/debs"
NS="${TESTBED_IMAGE_NS:-local}"
mkdir -p "$TESTBED_CACHE" "$DEB_CACHE"

docker info >/dev/null 2>&1 || die "Docker engine not running; run testbed/dockerd.sh first"
command -v debootstrap >/dev/null || die "debootstrap not found; run testbed/apt.sh first"

# Flags a systemd container needs on these machines (--privileged is refused).
SYSTEMD_RUN_FLAGS=(--cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined
                   --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw
                   --tmpfs /run --tmpfs /run/lock)

CA_ENV=(SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
        PIP_CERT=/etc/ssl/certs/ca-certificates.crt
        REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt)

# Trust the same CAs as the host: outbound HTTPS from these machines goes
# through an inspecting proxy whose CA only the host bundle carries. Local CAs
# are added the Debian way (they survive a later update-ca-certificates) and
# the host bundle is copied over the result, so the image trusts exactly what
# the host trusts.
install_host_cas() {
    local root=$1
    mkdir -p "$root/usr/local/share/ca-certificates"
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    fi
    chroot "$root" update-ca-certificates >/dev/null 2>&1 || true
    if [ -s /etc/ssl/certs/ca-certificates.crt ]; then
        cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    fi
}

# Leave a rootfs small and free of host-specific state.
tidy_rootfs() {
    local root=$1
    # mktemp made the folder 0700, and the tarball's "./" entry carries that mode: on a vfs
    # engine (Docker nested in the test node) the image's / would then be closed to every user
    # but root, and a non-root container with `init: true` fails to stat /sbin/docker-init.
    chmod 0755 "$root"
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb \
           "$root"/var/cache/apt/*.bin "$root"/tmp/* "$root"/var/tmp/*
    # The resolver of the build host must not leak into the image; docker
    # bind-mounts its own resolv.conf and hosts at run time.
    : >"$root/etc/resolv.conf"
    # Documentation and translations are of no use in a test image.
    rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
           "$root"/usr/share/locale/*
    printf 'localhost\n' >"$root/etc/hostname"
}

customize_debian() {
    local root=$1
    install_host_cas "$root"
}

customize_systemd() {
    local root=$1
    install_host_cas "$root"
    # Empty machine-id: systemd generates one per container at boot.
    : >"$root/etc/machine-id"
    rm -f "$root/var/lib/dbus/machine-id"
    # Units that have nothing to do (or fail) inside a container.
    local unit
    for unit in getty@tty1.service console-getty.service serial-getty@.service \
                systemd-remount-fs.service dev-hugepages.mount sys-fs-fuse-connections.mount \
                systemd-logind.service systemd-udevd.service systemd-udev-trigger.service \
                systemd-firstboot.service; do
        ln -sf /dev/null "$root/etc/systemd/system/$unit"
    done
    # sshd for the end-to-end test; pam_loginuid cannot always set the audit
    # uid in a container, make it non-fatal.
    sed -i 's/^session\s\+required\s\+pam_loginuid.so/session optional pam_loginuid.so/' \
        "$root/etc/pam.d/sshd"
    mkdir -p "$root/etc/ssh/sshd_config.d"
    cat >"$root/etc/ssh/sshd_config.d/testbed.conf" <<'CONF'
PasswordAuthentication no
PermitRootLogin prohibit-password
UseDNS no
CONF
    chroot "$root" systemctl enable ssh.service >/dev/null 2>&1 || true
    # The SSH user of a Chameleon node.
    if ! chroot "$root" id cc >/dev/null 2>&1; then
        chroot "$root" useradd --create-home --shell /bin/bash --groups sudo cc
    fi
    chroot "$root" passwd -d cc >/dev/null
    echo 'cc ALL=(ALL) NOPASSWD:ALL' >"$root/etc/sudoers.d/cc"
    chmod 0440 "$root/etc/sudoers.d/cc"
    install -d -m 0700 -o 1000 -g 1000 "$root/home/cc/.ssh"
}

customize_python() {
    local root=$1
    install_host_cas "$root"
    # Behave like the official python image: `python`/`pip` on PATH and
    # `pip install` allowed without a venv (Debian marks its Python as
    # externally managed).
    rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
    ln -sf /usr/bin/pip3 "$root/usr/local/bin/pip"
    ln -sf /usr/bin/python3 "$root/usr/local/bin/python"
}

# build_image TAG CUSTOMIZE INCLUDES [docker import --change ...]
build_image() {
    local tag=$1 customize=$2 includes=$3
    shift 3
    local changes=("$@")
    # The rootfs depends on the package list, the customization code and the
    # host CAs; the image additionally on its metadata.
    local rootfs_hash hash
    rootfs_hash=$( { echo "$RECIPE_VERSION $SUITE $MIRROR $includes"; declare -f "$customize" install_host_cas tidy_rootfs;
                     sha256sum /etc/ssl/certs/ca-certificates.crt; } | sha256sum | cut -c1-16)
    hash=$( { echo "$rootfs_hash"; printf '%s\n' "${changes[@]}"; } | sha256sum | cut -c1-16)
    local current
    current=$(docker image inspect --format '{{ index .Config.Labels "org.repro-gen.testbed.recipe" }}' "$tag" 2>/dev/null || true)
    if [ "$current" = "$hash" ]; then
        log "images: $tag up to date (recipe $hash)"
        return 1
    fi
    local old_id
    old_id=$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
    local tarball="$TESTBED_CACHE/rootfs-${tag//[\/:]/_}-$rootfs_hash.tar"
    if [ ! -s "$tarball" ]; then
        local t0 root
        t0=$(now)
        root=$(mktemp -d "$TESTBED_CACHE/rootfs.XXXXXX")
        log "images: debootstrap $SUITE for $tag (+ $includes)"
        if ! debootstrap --variant=minbase --include="$includes" --cache-dir="$DEB_CACHE" \
                "$SUITE" "$root" "$MIRROR" >"$root.log" 2>&1; then
            tail -n 20 "$root.log" >&2
            rm -rf "$root"
            die "debootstrap failed for $tag (log: $root.log)"
        fi
        "$customize" "$root"
        tidy_rootfs "$root"
        tar --numeric-owner -C "$root" -cf "$tarball.part" .
        mv "$tarball.part" "$tarball"
        rm -rf "$root" "$root.log"
        # Older tarballs of the same image are dead weight.
        find "$TESTBED_CACHE" -maxdepth 1 -name "rootfs-${tag//[\/:]/_}-*.tar" ! -name "$(basename "$tarball")" -delete
        log "images: rootfs for $tag built in $(( $(now) - t0 )) s ($(du -h "$tarball" | cut -f1))"
    else
        log "images: using cached rootfs $tarball"
    fi
    # `docker import` accepts only some instructions (no STOPSIGNAL); import
    # the bare rootfs, then add the metadata with a build that has no RUN step.
    local ctx
    ctx=$(mktemp -d)
    docker import "$tarball" "$tag-rootfs" >/dev/null || die "docker import of $tarball failed"
    {
        echo "FROM $tag-rootfs"
        printf '%s\n' "${changes[@]}"
        echo "LABEL org.repro-gen.testbed.recipe=$hash"
    } >"$ctx/Dockerfile"
    DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" >"$ctx/build.log" 2>&1 \
        || { cat "$ctx/build.log" >&2; die "tagging $tag failed"; }
    rm -rf "$ctx"
    docker rmi "$tag-rootfs" >/dev/null 2>&1 || true
    # The image this one replaces would linger untagged; drop it unless a
    # container still uses it.
    if [ -n "$old_id" ] && [ "$old_id" != "$(docker image inspect --format '{{.Id}}' "$tag")" ]; then
        docker rmi "$old_id" >/dev/null 2>&1 || true
    fi
    log "images: imported $tag"
    return 0
}

verify_systemd() {
    local tag=$1 name="testbed-verify-systemd-$$" state=""
    log "images: verifying that $tag boots systemd"
    docker rm -f "$name" >/dev/null 2>&1 || true
    docker run -d --name "$name" "${SYSTEMD_RUN_FLAGS[@]}" "$tag" >/dev/null
    for _ in $(seq 1 60); do
        state=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
        case "$state" in running|degraded) break ;; esac
        sleep 1
    done
    if [ "$state" != running ] && [ "$state" != degraded ]; then
        docker logs "$name" 2>&1 | tail -n 30 >&2
        docker rm -f "$name" >/dev/null 2>&1 || true
        die "systemd in $tag did not come up (state: '${state:-none}')"
    fi
    if [ "$state" = degraded ]; then
        log "images: systemd is degraded; failed units: $(docker exec "$name" systemctl --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' ')"
    fi
    docker exec "$name" systemctl is-active --quiet ssh.service \
        || { docker rm -f "$name" >/dev/null; die "sshd not active in $tag"; }
    docker exec "$name" sudo -n -u cc sudo -n true \
        || { docker rm -f "$name" >/dev/null; die "user cc lacks passwordless sudo in $tag"; }
    docker rm -f "$name" >/dev/null
    log "images: $tag boots systemd (state: $state), sshd active, cc has sudo"
}

verify_python() {
    local tag=$1 ctx
    log "images: verifying a docker build FROM $tag with pip install"
    ctx=$(mktemp -d)
    cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $tag
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir six \\
 && pip install --no-cache-dir six && python -c 'import six'
DOCKERFILE
    if ! DOCKER_BUILDKIT=0 docker build -q --rm --force-rm -t testbed-verify-python:latest "$ctx" >"$ctx/build.log" 2>&1; then
        cat "$ctx/build.log" >&2
        rm -rf "$ctx"
        die "docker build FROM $tag with pip install failed"
    fi
    docker rmi testbed-verify-python:latest >/dev/null 2>&1 || true
    rm -rf "$ctx"
    log "images: docker build FROM $tag with pip install works"
}

t_start=$(now)
ENV_CHANGES=()
for e in "${CA_ENV[@]}"; do ENV_CHANGES+=("ENV $e"); done

build_image "$NS"/debian:bookworm customize_debian \
    python3,ca-certificates \
    "ENV LANG=C.UTF-8" "${ENV_CHANGES[@]}" 'CMD ["/bin/bash"]' || true

if build_image "$NS"/debian-systemd:bookworm customize_systemd \
    systemd,systemd-sysv,dbus,python3,sudo,openssh-server,iproute2,procps,ca-certificates \
    "ENV LANG=C.UTF-8" "ENV container=docker" "${ENV_CHANGES[@]}" \
    "STOPSIGNAL SIGRTMIN+3" "EXPOSE 22" 'CMD ["/lib/systemd/systemd"]' \
   || [ "${TESTBED_VERIFY:-0}" = 1 ]; then
    verify_systemd "$NS"/debian-systemd:bookworm
fi

if build_image "$NS"/python:3.11-slim customize_python \
    python3,python3-venv,python3-pip,ca-certificates \
    "ENV LANG=C.UTF-8" "${ENV_CHANGES[@]}" "ENV PIP_DISABLE_PIP_VERSION_CHECK=1" \
    'CMD ["python3"]' \
   || [ "${TESTBED_VERIFY:-0}" = 1 ]; then
    verify_python "$NS"/python:3.11-slim
fi

log "images: done in $(( $(now) - t_start )) s"
