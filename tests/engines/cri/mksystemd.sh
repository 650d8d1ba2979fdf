#!/bin/bash
# mksystemd.sh - a Debian 12 image whose init is systemd, for the systemd pod
# scenario of tests/engines/cri.bats.
#
#   tests/engines/cri/mksystemd.sh OUTDIR
#
# mmdebstrap (variant minbase + systemd, systemd-sysv) from the host's
# Debian mirror into a tarball cached in OUTDIR (build/cache), keyed by this
# script's sha256, then packed as an OCI image layout archive,
# OUTDIR/hcri-systemd-<hash>.oci.tar, image name
# docker.io/library/hcri-systemd:1 with Cmd ["/sbin/init"] and
# StopSignal SIGRTMIN+3 left out on purpose (cell provides it).
# Prints the archive's path.
set -euo pipefail
out=$1
mkdir -p "$out"
out=$(cd "$out" && pwd)
hash=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
arch=$out/hcri-systemd-$hash.oci.tar
exec 9>"$out/.hcri-systemd.lock"
flock 9
if [ -f "$arch" ]; then
  echo "$arch"
  exit 0
fi
tmp=$(mktemp -d "$out/.hcri-systemd.XXXXXX")
trap 'rm -rf --one-file-system "$tmp"' EXIT
# units that make no sense in a container are masked in the image
# apt retries a dropped download itself; a failed run (the mirror away for
# a moment) is retried twice more after a pause.  mmdebstrap gets no fd of
# ours beyond stdio and the lock (fd 9): apt's `cat >&11` plumbing fails on
# fds that bats leaves open.
for attempt in 1 2 3; do
  if mmdebstrap --quiet --variant=minbase --include=systemd,systemd-sysv,dbus \
    --aptopt='Acquire::Retries "5"' \
    --customize-hook='for u in systemd-remount-fs.service systemd-firstboot.service getty@tty1.service \
        console-getty.service systemd-udevd.service systemd-udev-trigger.service \
        systemd-modules-load.service sys-kernel-config.mount sys-kernel-debug.mount \
        sys-kernel-tracing.mount systemd-journald-audit.socket; do
        ln -sf /dev/null "$1/etc/systemd/system/$u"; done' \
    --customize-hook='echo hcri-systemd >"$1/etc/hostname"; : >"$1/etc/machine-id"' \
    bookworm "$tmp/rootfs.tar" </dev/null >"$tmp/mmdebstrap.log" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 10>&- 11>&- 12>&- 13>&- 14>&- 15>&-; then
    break
  fi
  rm -f "$tmp/rootfs.tar"
  if [ "$attempt" = 3 ]; then
    tail -n 30 "$tmp/mmdebstrap.log" >&2
    exit 1
  fi
  sleep $((attempt * 15))
done
lay=$tmp/oci
mkdir -p "$lay/blobs/sha256"
blob() {
  local d
  d=$(sha256sum "$1" | cut -d' ' -f1)
  mv "$1" "$lay/blobs/sha256/$d"
  echo "$d $(stat -c %s "$lay/blobs/sha256/$d")"
}
read -r ldig lsize < <(blob "$tmp/rootfs.tar")
cat >"$tmp/config.json" <<C
{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/sbin/init"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:$ldig"]},"history":[{"created_by":"tests/engines/cri/mksystemd.sh"}]}
C
read -r cdig csize < <(blob "$tmp/config.json")
cat >"$tmp/manifest.json" <<M
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$cdig","size":$csize},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:$ldig","size":$lsize}]}
M
read -r mdig msize < <(blob "$tmp/manifest.json")
echo '{"imageLayoutVersion":"1.0.0"}' >"$lay/oci-layout"
cat >"$lay/index.json" <<I
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$mdig","size":$msize,"annotations":{"io.containerd.image.name":"docker.io/library/hcri-systemd:1","org.opencontainers.image.ref.name":"1"},"platform":{"architecture":"amd64","os":"linux"}}]}
I
tar --numeric-owner --sort=name --mtime=@0 -C "$lay" -cf "$tmp/image.tar" oci-layout index.json blobs
rm -f "$out"/hcri-systemd-*.oci.tar
mv "$tmp/image.tar" "$arch"
echo "$arch"
