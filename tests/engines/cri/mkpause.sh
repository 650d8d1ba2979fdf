#!/bin/bash
# mkpause.sh - build the CRI sandbox ("pause") image for tests/engines/cri.bats.
#
#   tests/engines/cri/mkpause.sh OUTDIR
#
# Compiles pause.c statically and packs it as an OCI image layout archive,
# OUTDIR/pause-image.tar, image name docker.io/library/hcri-pause:1
# (`ctr -n k8s.io images import`), entrypoint ["/pause"].  Cached until this
# script or pause.c changes.  Prints the archive's path.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$1
mkdir -p "$out"
out=$(cd "$out" && pwd)
exec 9>"$out/.mkpause.lock"
flock 9
stamp=$(cat "${BASH_SOURCE[0]}" "$here/pause.c" | sha256sum | cut -d' ' -f1)
if [ -f "$out/pause.stamp" ] && [ "$(cat "$out/pause.stamp")" = "$stamp" ] && [ -f "$out/pause-image.tar" ]; then
  echo "$out/pause-image.tar"
  exit 0
fi
tmp=$(mktemp -d "$out/.pause.XXXXXX")
trap 'rm -rf --one-file-system "$tmp"' EXIT

mkdir -p "$tmp/rootfs"
gcc -static -O2 -s -Wall -Wextra -Werror -o "$tmp/rootfs/pause" "$here/pause.c"
tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$tmp/rootfs" -cf "$tmp/layer.tar" pause

lay=$tmp/oci
mkdir -p "$lay/blobs/sha256"
blob() { # FILE -> "digest size", stores the blob
  local d
  d=$(sha256sum "$1" | cut -d' ' -f1)
  cp "$1" "$lay/blobs/sha256/$d"
  echo "$d $(stat -c %s "$1")"
}
read -r ldig lsize < <(blob "$tmp/layer.tar")
cat >"$tmp/config.json" <<C
{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:$ldig"]},"history":[{"created_by":"tests/engines/cri/mkpause.sh"}]}
C
read -r cdig csize < <(blob "$tmp/config.json")
cat >"$tmp/manifest.json" <<M
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$cdig","size":$csize},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:$ldig","size":$lsize}]}
M
read -r mdig msize < <(blob "$tmp/manifest.json")
echo '{"imageLayoutVersion":"1.0.0"}' >"$lay/oci-layout"
cat >"$lay/index.json" <<I
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$mdig","size":$msize,"annotations":{"io.containerd.image.name":"docker.io/library/hcri-pause:1","org.opencontainers.image.ref.name":"1"},"platform":{"architecture":"amd64","os":"linux"}}]}
I
tar --numeric-owner --sort=name --mtime=@0 -C "$lay" -cf "$tmp/pause-image.tar" oci-layout index.json blobs
mv -f "$tmp/pause-image.tar" "$out/pause-image.tar"
echo "$stamp" >"$out/pause.stamp"
echo "$out/pause-image.tar"
