#!/bin/bash
# make demo: a VPS-style environment with cellctl.  Builds a busybox rootfs
# (busybox init) from Debian's busybox-static (no registry), starts cellfs on
# a private mountpoint, creates an environment limited to 128 MiB and one
# CPU, shows free, nproc and df inside (cellfs views: the limits, not the
# host), raises the limits live with `cellctl set`, shows them again, and
# destroys it.  Everything it makes is removed on exit.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cellctl=$top/build/cellctl
cellfs=$top/build/cellfs
work=$(mktemp -d /tmp/cell-demo.XXXXXX)
chmod 0755 "$work" # the environment's root (an unprivileged id) walks down to its rootfs
root=$work/root
mnt=$work/cellfs
name=demo-$$
cfs_pid=
cleanup() {
  "$cellctl" --root "$root" destroy --force "$name" >/dev/null 2>&1 || true
  if [ -n "$cfs_pid" ]; then kill "$cfs_pid" 2>/dev/null || true; wait "$cfs_pid" 2>/dev/null || true; fi
  while mountpoint -q "$mnt" 2>/dev/null; do umount -l "$mnt" || break; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# a busybox rootfs with busybox init
rfs=$work/rootfs
mkdir -p "$rfs"/{bin,sbin,etc,proc,sys,dev,tmp,run,root}
cp "$(command -v busybox)" "$rfs/bin/busybox"
for a in sh ls cat ps free nproc df top uptime echo sleep id hostname grep head; do ln -s busybox "$rfs/bin/$a"; done
for a in init poweroff reboot; do ln -s ../bin/busybox "$rfs/sbin/$a"; done
printf '::sysinit:/bin/echo booted\n::respawn:/bin/sleep 1000000\n' >"$rfs/etc/inittab"
echo 'root:x:0:0:root:/root:/bin/sh' >"$rfs/etc/passwd"

mkdir -p "$mnt"
"$cellfs" "$mnt" 2>"$work/cellfs.log" &
cfs_pid=$!
for _ in $(seq 100); do grep -q " $mnt fuse.cellfs " /proc/self/mounts && break; sleep 0.05; done

run() { echo "\$ $*"; "$@"; }
inside() { echo "[$name]# $*"; "$cellctl" --root "$root" exec "$name" -- sh -c "$*"; }

run "$cellctl" --root "$root" create "$name" --rootfs "$rfs" --init busybox --memory 128M --cpus 1 --cellfs "$mnt"
run "$cellctl" --root "$root" start "$name" --wait
run "$cellctl" --root "$root" list
echo "== host: $(free -m | awk '/Mem:/ {print $2 " MiB"}'), nproc $(nproc)"
# (busybox free takes its totals from sysinfo(2), which no view changes; /proc/meminfo is the view)
inside 'free -m; head -n 3 /proc/meminfo; echo "nproc: $(grep -c ^processor /proc/cpuinfo)"; df -h / | tail -n 1; id'
run "$cellctl" --root "$root" set "$name" memory=256M cpus=2
inside 'head -n 3 /proc/meminfo; echo "nproc: $(grep -c ^processor /proc/cpuinfo)"'
run cat "$root/vps/$name/config"
run "$cellctl" --root "$root" stop "$name"
run "$cellctl" --root "$root" destroy "$name"
