#!/bin/bash
# busybox-rootfs.sh - a busybox rootfs that boots busybox init, built once
# and cached.
#
#   tests/lib/busybox-rootfs.sh
#
# Prints the path of build/cache/busybox-init-<KEY>.tar (KEY: the sha256 of
# this script and of /bin/busybox), building it first from the fixture rootfs
# (tests/fixtures/mkrootfs.sh) plus /sbin/init (busybox) and this inittab:
#   sysinit   writes /run/init-ready (the "runlevel reached" mark) after
#             mounting nothing (the environment's spec mounts /proc, /run...)
#   shutdown  writes "halting" to /run/init-ready's neighbour /run/init-halt
# Busybox init halts on SIGUSR2 (poweroff), reboots on SIGTERM, and waits
# otherwise: an idle environment is one process.  Locked against concurrent
# builders (flock on build/cache/.busybox-init.lock); the tar is renamed into
# place, so a killed build leaves none.  Env: CELL_CACHE (default build/cache).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
self="${BASH_SOURCE[0]}"
cache=${CELL_CACHE:-$top/build/cache}
fixture=$("$top/tests/fixtures/mkrootfs.sh")
key=$(cat "$self" /bin/busybox | sha256sum | cut -c1-16)
out="$cache/busybox-init-$key.tar"
if [ -s "$out" ]; then echo "$out"; exit 0; fi
mkdir -p "$cache"
exec 9>"$cache/.busybox-init.lock"
flock 9
if [ -s "$out" ]; then echo "$out"; exit 0; fi
tmp=$(mktemp -d "$cache/.busybox-init.XXXXXX")
trap 'rm -rf --one-file-system "$tmp"' EXIT
cp -a "$fixture" "$tmp/rootfs"
ln -sf /bin/busybox "$tmp/rootfs/sbin/init"
cat >"$tmp/rootfs/etc/inittab" <<'TAB'
::sysinit:/bin/sh -c 'echo $(cat /proc/uptime) >/run/init-ready'
::shutdown:/bin/sh -c 'echo halting >/run/init-halt'
TAB
tar --numeric-owner -C "$tmp/rootfs" -cf "$tmp/rootfs.tar" .
mv "$tmp/rootfs.tar" "$out"
for old in "$cache"/busybox-init-*.tar; do
  [ "$old" = "$out" ] || rm -f "$old"
done
echo "$out"
