#!/bin/bash
# rootfs-cache.sh - a Debian 12 (bookworm) systemd rootfs for the environment
# tests, built once and cached.
#
#   tests/lib/rootfs-cache.sh [--print-key]
#
# Prints the path of build/cache/debian-bookworm-systemd-<KEY>.tar, building
# it first when it is missing.  KEY is the first 16 hex digits of this
# script's sha256 (the recipe), so a changed recipe builds a new tar.  The
# build runs `mmdebstrap --variant=minbase` (root mode) into a temp file next
# to the cache and renames it into place, under an flock on
# build/cache/.debian-bookworm.lock, so concurrent callers build it once and
# a killed build leaves no half tar.  Older keys are removed after a build
# (with the TAR%.tar.d trees that tests extract next to them).
# Env: CELL_CACHE (default build/cache), CELL_DEBIAN_MIRROR (default
# http://deb.debian.org/debian).  Needs root and mmdebstrap (installed if missing).
#
# The rootfs boots systemd in a container to `running` (not `degraded`):
#  - systemd-sysv, dbus (logind needs it), libpam-systemd, iproute2, procps,
#    ifupdown-less networking (the container manager configures the network);
#  - /etc/hostname and /etc/resolv.conf removed: the container manager's
#    hostname stays (systemd keeps a preset one when the file is missing);
#  - root has no password: `login` on the console and `cellctl enter` work;
#  - units that fail in any container are masked: none are known for minbase
#    with these packages beyond what systemd's own conditions skip, and the
#    boot test asserts `systemctl --failed` is empty.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
self="${BASH_SOURCE[0]}"
key=$(sha256sum "$self" | cut -c1-16)
[ "${1:-}" = --print-key ] && { echo "$key"; exit 0; }
cache=${CELL_CACHE:-$top/build/cache}
out="$cache/debian-bookworm-systemd-$key.tar"
mirror=${CELL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
PACKAGES=systemd-sysv,dbus,libpam-systemd,iproute2,procps,less

if [ -s "$out" ]; then echo "$out"; exit 0; fi
[ "$(id -u)" = 0 ] || { echo "rootfs-cache: needs root (mmdebstrap root mode)" >&2; exit 1; }
if ! command -v mmdebstrap >/dev/null; then
  echo "rootfs-cache: installing mmdebstrap" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
fi
mkdir -p "$cache"
exec 9>"$cache/.debian-bookworm.lock"
flock 9
if [ -s "$out" ]; then echo "$out"; exit 0; fi
tmp="$cache/.tmp-$$-debian-bookworm-systemd-$key.tar"  # mmdebstrap picks the format from the .tar suffix
trap 'rm -f "$tmp"' EXIT
echo "rootfs-cache: building $out (mmdebstrap bookworm, $PACKAGES)" >&2
# apt retries a dropped download itself; a failed run (the mirror away for
# a moment) is retried twice more after a pause.  mmdebstrap gets no fd of
# ours beyond stdio and the lock: apt's `cat >&11` plumbing fails (exit 2) on
# fds that bats leaves open.
for attempt in 1 2 3; do
  if mmdebstrap --quiet --format=tar --variant=minbase --include="$PACKAGES" \
    --aptopt='Acquire::Retries "5"' \
    --customize-hook='rm -f "$1/etc/hostname" "$1/etc/resolv.conf"' \
    --customize-hook='chroot "$1" passwd -d root >/dev/null' \
    --customize-hook='printf "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" >"$1/etc/hosts"' \
    --customize-hook='rm -f "$1"/var/cache/apt/*.bin "$1"/var/lib/apt/lists/*_Packages' \
    bookworm "$tmp" "$mirror" </dev/null >&2 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 10>&- 11>&- 12>&- 13>&- 14>&- 15>&-; then
    break
  fi
  rm -f "$tmp"
  [ "$attempt" = 3 ] && { echo "rootfs-cache: mmdebstrap failed 3 times" >&2; exit 1; }
  echo "rootfs-cache: mmdebstrap failed (attempt $attempt), retrying in $((attempt * 15)) s" >&2
  sleep $((attempt * 15))
done
mv "$tmp" "$out"
trap - EXIT
# older recipes' tars, and the trees tests extracted next to them (TAR%.tar.d)
for old in "$cache"/debian-bookworm-systemd-*.tar; do
  [ "$old" = "$out" ] && continue
  rm -f "$old" "$old.lock"
  [ -d "${old%.tar}.d" ] && rm -rf --one-file-system "${old%.tar}.d"
done
echo "$out"
