#!/usr/bin/env bash
# Makes the Debian 12 (bookworm) base image that the Dockerfile's BASE_IMAGE
# names when no registry is reachable: `debootstrap --variant=minbase` from
# the Debian mirror this machine's apt uses, imported into podman. Skipped
# when the image exists already (CI reuses it between runs on one machine).
#
#   tools/make_base_image.sh [IMAGE]     default localhost/switchyard-base:bookworm
#
# DEBIAN_MIRROR and DEBIAN_SECURITY_MIRROR override the mirrors read from
# /etc/apt/sources.list{,.d/*}. Needs root (debootstrap, rootful podman).
set -euo pipefail
IMAGE=${1:-localhost/switchyard-base:bookworm}
SUITE=bookworm

if podman image exists "$IMAGE"; then
  echo "make_base_image: $IMAGE exists, reused"
  exit 0
fi

# The first archive (and security archive) URI that apt is configured with,
# in either the deb822 (*.sources) or the one-line (*.list) format.
apt_uris() {
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{for (i = 2; i <= NF; i++) print $i}'
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
      sed -E 's/\[[^]]*\]//' | awk '{print $2}'
  } || true
}
uris=$(apt_uris)  # captured first: grep stopping early must not fail a pipe under pipefail
MIRROR=${DEBIAN_MIRROR:-$(grep -m1 -E '/debian/?$' <<<"$uris" || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY_MIRROR:-$(grep -m1 -E '/debian-security/?$' <<<"$uris" || true)}
SECURITY=${SECURITY:-http://deb.debian.org/debian-security}

ROOTFS=$(mktemp -d)
trap 'rm -rf "$ROOTFS"' EXIT
echo "make_base_image: debootstrap $SUITE from $MIRROR"
debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 ||
  { tail -n 30 "$ROOTFS.log" >&2; rm -f "$ROOTFS.log"; exit 1; }
rm -f "$ROOTFS.log"

# The same archives inside the image, with updates and security fixes, so
# that the Dockerfile's apt-get works in the build exactly as it does here.
cat > "$ROOTFS/etc/apt/sources.list" <<LIST
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY $SUITE-security main
LIST

# Like Debian's official -slim images: packages installed later leave out
# documentation, manual pages and translations (the copyright files stay).
cat > "$ROOTFS/etc/dpkg/dpkg.cfg.d/slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CFG
# The same for the packages debootstrap installed, and what it left behind:
# its package cache and lists.
find "$ROOTFS/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$ROOTFS/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
rm -rf "$ROOTFS"/usr/share/{man,groff,info,lintian}/* "$ROOTFS"/var/cache/apt/archives/*.deb \
  "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/debootstrap

tar --numeric-owner -C "$ROOTFS" -c . |
  podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' \
    - "$IMAGE" >/dev/null
echo "make_base_image: made $IMAGE ($(podman image inspect --format '{{.Size}}' "$IMAGE") bytes)"
