#!/bin/bash
# Prepares what the test VM boots, under build/vm/ (cached between runs):
#   build/vm/kernel/          Debian's linux-image (apt-get download + dpkg-deb -x,
#                             never installed), with a busybox-made modules.dep
#   build/vm/initramfs.gz     busybox-static + the modules needed to mount the
#                             host root over 9p + tests/vm/init
# On success prints two lines: the kernel image path and the initramfs path.
# Usage: tests/vm/image.sh [--force]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
vmdir=${CELL_VM_DIR:-$top/build/vm}
force=0
[ "${1:-}" = --force ] && force=1

# Modules the guest loads from the initramfs, in this order (their
# dependencies from modules.dep are loaded first).  virtio + 9p mount the
# host root; overlay puts a tmpfs upper on it; the rest are for the suites.
MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
netfs fscache 9pnet 9pnet_virtio 9p overlay fuse llc stp bridge veth"

die() { echo "tests/vm/image.sh: $*" >&2; exit 1; }

mkdir -p "$vmdir"
# Several engineers may start the harness at once in the same tree.
exec 9>"$vmdir/.image.lock"
flock 9

fetch_kernel() {
  local dl="$vmdir/dl" pkg deb
  if [ "$force" = 0 ] && compgen -G "$vmdir/kernel/boot/vmlinuz-*" >/dev/null &&
     compgen -G "$vmdir/kernel/lib/modules/*/modules.dep" >/dev/null; then
    return 0
  fi
  # linux-image-amd64 is a metapackage: the image is its dependency.
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  if [ -z "$pkg" ]; then
    apt-get update -qq >&2 || die "apt-get update failed"
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  fi
  [ -n "$pkg" ] || die "cannot resolve the image package of linux-image-amd64 (apt-cache depends)"
  rm -rf "$dl" "$vmdir/kernel.tmp"
  mkdir -p "$dl"
  # apt's sandbox user cannot write under build/: that warning is harmless.
  (cd "$dl" && apt-get download -qq "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) || true
  deb=$(compgen -G "$dl/${pkg}_*.deb" | head -n1 || true)
  [ -n "$deb" ] || die "apt-get download $pkg produced no .deb in $dl"
  mkdir -p "$vmdir/kernel.tmp"
  dpkg-deb -x "$deb" "$vmdir/kernel.tmp" || die "dpkg-deb -x $deb failed"
  local kver
  kver=$(ls "$vmdir/kernel.tmp/lib/modules")
  [ -n "$kver" ] || die "$deb has no lib/modules/<version>"
  # Compressed modules (newer kernels) are unpacked so busybox insmod takes them.
  find "$vmdir/kernel.tmp/lib/modules" -name '*.ko.xz' -exec xz -d {} + 2>/dev/null || true
  find "$vmdir/kernel.tmp/lib/modules" -name '*.ko.zst' -exec zstd -q -d --rm {} + 2>/dev/null || true
  busybox depmod -b "$vmdir/kernel.tmp" "$kver" || die "busybox depmod for $kver failed"
  rm -rf "$vmdir/kernel"
  mv "$vmdir/kernel.tmp" "$vmdir/kernel"
  rm -rf "$dl"
  rm -f "$vmdir/initramfs.gz"
}

# Prints the modules to insmod, dependencies first, each once, as paths
# relative to lib/modules/<kver>.  Built-in ones are skipped.
module_order() {
  local mdir=$1 m path deps d seen=" "
  for m in $MODULES; do
    if grep -qE "/$m\.ko$" "$mdir/modules.builtin"; then
      continue
    fi
    path=$(awk -F: -v m="$m" '{n=$1; sub(/.*\//, "", n); sub(/\.ko$/, "", n); gsub(/-/, "_", n)} n == m {print $1; exit}' "$mdir/modules.dep")
    [ -n "$path" ] || die "module $m is neither in modules.dep nor modules.builtin of $mdir"
    deps=$(awk -F: -v p="$path" '$1 == p {print $2; exit}' "$mdir/modules.dep")
    # modules.dep lists the dependency closure, the deepest last
    for d in $(echo $deps | tr ' ' '\n' | tac) "$path"; do
      case "$seen" in *" $d "*) ;; *) seen="$seen$d "; echo "$d" ;; esac
    done
  done
}

build_initramfs() {
  local out="$vmdir/initramfs.gz" kdir kver mdir stage bb m
  kdir="$vmdir/kernel"
  kver=$(ls "$kdir/lib/modules")
  mdir="$kdir/lib/modules/$kver"
  bb=$(command -v busybox) || die "busybox not found (make vm-deps)"
  if ldd "$bb" >/dev/null 2>&1; then die "$bb is dynamically linked: install busybox-static"; fi
  if [ "$force" = 0 ] && [ -s "$out" ] && [ "$out" -nt "$here/init" ] &&
     [ "$out" -nt "$here/image.sh" ] && [ "$out" -nt "$bb" ]; then
    return 0
  fi
  stage="$vmdir/initramfs.d"
  rm -rf "$stage"
  mkdir -p "$stage"/{bin,dev,proc,sys,newroot,lower,rw,lib/modules/"$kver"}
  cp "$bb" "$stage/bin/busybox"
  ln -s busybox "$stage/bin/sh"
  cp "$here/init" "$stage/init"
  chmod 755 "$stage/init"
  module_order "$mdir" > "$stage/modules.load"
  while read -r m; do
    mkdir -p "$stage/lib/modules/$kver/$(dirname "$m")"
    cp "$mdir/$m" "$stage/lib/modules/$kver/$m"
  done < "$stage/modules.load"
  cp "$mdir/modules.dep" "$mdir/modules.builtin" "$stage/lib/modules/$kver/"
  (cd "$stage" && find . -mindepth 1 | sort | busybox cpio -o -H newc 2>/dev/null) |
    gzip -1 > "$out.tmp" || die "cannot write $out"
  mv "$out.tmp" "$out"
  rm -rf "$stage"
}

fetch_kernel
build_initramfs
ls "$vmdir"/kernel/boot/vmlinuz-* | head -n1
echo "$vmdir/initramfs.gz"
