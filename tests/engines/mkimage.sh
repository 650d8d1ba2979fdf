#!/bin/bash
# mkimage.sh - build the busybox images the engine scenarios import.
#
#   tests/engines/mkimage.sh [OUTDIR]        (OUTDIR defaults to build/engines)
#
# Produces, cached until the busybox rootfs changes:
#   OUTDIR/rootfs.tar     plain rootfs tarball (`podman import`, `docker import`)
#   OUTDIR/oci-image.tar  OCI image layout archive (`ctr image import`), image
#                         name docker.io/library/cellbusybox:latest
# The rootfs comes from tests/fixtures/mkrootfs.sh (busybox-static applets,
# /etc/passwd ...).  Added on top for the scenarios:
#   /usr/local/bin/noexec   a shell script WITHOUT the exec bit (exit code 126)
#   /usr/local/bin/sigrec   a trap script recording the signals it receives
# Prints OUTDIR on stdout.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$top/build/engines}
mkdir -p "$out"
out=$(cd "$out" && pwd)

fixdir=$top/build/fixtures
rootfs=$("$top/tests/fixtures/mkrootfs.sh" "$fixdir" | tail -n1)
[ -x "$rootfs/bin/busybox" ] || { echo "mkimage: no busybox in $rootfs" >&2; exit 1; }

exec 9>"$out/.mkimage.lock"
flock 9
stamp=$( (cat "$fixdir/rootfs.stamp"; sha256sum "${BASH_SOURCE[0]}") | sha256sum | cut -d' ' -f1)
if [ -f "$out/image.stamp" ] && [ "$(cat "$out/image.stamp")" = "$stamp" ] &&
   [ -f "$out/rootfs.tar" ] && [ -f "$out/oci-image.tar" ]; then
  echo "$out"
  exit 0
fi

tmp=$(mktemp -d "$out/.image.XXXXXX")
trap 'rm -rf --one-file-system "$tmp"' EXIT

# rootfs + scenario extras
cp -a "$rootfs" "$tmp/rootfs"
mkdir -p "$tmp/rootfs/usr/local/bin"
printf '#!/bin/sh\necho should-not-run\n' >"$tmp/rootfs/usr/local/bin/noexec"
chmod 0644 "$tmp/rootfs/usr/local/bin/noexec"
cat >"$tmp/rootfs/usr/local/bin/sigrec" <<'S'
#!/bin/sh
# Record USR1/USR2/HUP in /tmp/signals, then keep running until TERM.
: >/tmp/signals
trap 'echo USR1 >>/tmp/signals' USR1
trap 'echo USR2 >>/tmp/signals' USR2
trap 'echo HUP >>/tmp/signals' HUP
trap 'echo TERM >>/tmp/signals; exit 0' TERM
echo ready >/tmp/ready
while :; do sleep 0.2; done
S
chmod 0755 "$tmp/rootfs/usr/local/bin/sigrec"
tar --numeric-owner --sort=name --mtime=@0 -C "$tmp/rootfs" -cf "$tmp/rootfs.tar" .

# OCI image layout: oci-layout, index.json, blobs/sha256/{layer,config,manifest}
lay=$tmp/oci
mkdir -p "$lay/blobs/sha256"
blob() { # file -> prints "digest size", stores the blob
  local d s
  d=$(sha256sum "$1" | cut -d' ' -f1)
  s=$(stat -c %s "$1")
  cp "$1" "$lay/blobs/sha256/$d"
  echo "$d $s"
}
read -r ldig lsize < <(blob "$tmp/rootfs.tar")
cat >"$tmp/config.json" <<C
{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:$ldig"]},"history":[{"created_by":"tests/engines/mkimage.sh"}]}
C
read -r cdig csize < <(blob "$tmp/config.json")
cat >"$tmp/manifest.json" <<M
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$cdig","size":$csize},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:$ldig","size":$lsize}]}
M
read -r mdig msize < <(blob "$tmp/manifest.json")
echo '{"imageLayoutVersion":"1.0.0"}' >"$lay/oci-layout"
cat >"$lay/index.json" <<I
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$mdig","size":$msize,"annotations":{"io.containerd.image.name":"docker.io/library/cellbusybox:latest","org.opencontainers.image.ref.name":"latest"},"platform":{"architecture":"amd64","os":"linux"}}]}
I
tar --numeric-owner --sort=name --mtime=@0 -C "$lay" -cf "$tmp/oci-image.tar" oci-layout index.json blobs

mv -f "$tmp/rootfs.tar" "$out/rootfs.tar"
mv -f "$tmp/oci-image.tar" "$out/oci-image.tar"
echo "$stamp" >"$out/image.stamp"
echo "$out"
