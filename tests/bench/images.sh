#!/bin/bash
# images.sh - benchmark of image import + unpack (issue 9, item 5), side by side in one run:
#   cellctl      `cellctl image import` of an oci-archive (verifies every blob, unpacks each layer once
#                into its chain-id dir) - the image is then ready for any number of rootfs
#   podman       `podman load` of the same archive (private storage)
#   skopeo+umoci `skopeo copy oci-archive: oci:` + `umoci unpack`
#   tar floor    `tar -x` of the same layers (gzip) into one dir, nothing verified
# and the per-rootfs cost once the image is in the store:
#   overlay      a new rootfs = overlayfs mount of the shared layer dirs + a fresh upper (no copy)
#   unpack       `cellctl image unpack` (the copy fallback)
# The image: a busybox rootfs layer plus two generated layers of BENCH_IMG_MB MiB each (gzip; half random,
# half text).  Env: BENCH_IMG_MB (default 100: ~200 MB unpacked), BENCH_ROUNDS (default 3; the median is
# reported), BENCH_ROOTFS_N (overlay mounts timed, default 50), CELL (cellctl is taken beside it).
# Prints a table and ratios; writes build/bench/images.txt.  No threshold is asserted.
set -u
top=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
cd "$top" || exit 1
CELL=${CELL:-$top/build/cell}
CELLCTL=${CELLCTL:-$(dirname "$CELL")/cellctl}
MB=${BENCH_IMG_MB:-100}
ROUNDS=${BENCH_ROUNDS:-3}
NROOT=${BENCH_ROOTFS_N:-50}
T=$(mktemp -d /tmp/himg-bench.XXXXXX)
out=$top/build/bench/images.txt
mkdir -p "$top/build/bench"
source "$top/tests/images/podman.bash"

cleanup() {
  grep -o " $T/[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  for p in "$T"/podman-*; do [ -d "$p" ] && himg_podman_setup "$p" && himg_podman_teardown "$p"; done
  rm -rf "$T"
}
trap cleanup EXIT

for tool in "$CELLCTL" podman skopeo umoci tar python3; do
  command -v "$tool" >/dev/null || { echo "images bench: $tool missing (make deps)" >&2; exit 1; }
done
"$top/tests/fixtures/mkrootfs.sh" >/dev/null || exit 1

# ---- the image (an oci-archive with gzip layers), built offline
python3 - "$T/img" "$top/build/fixtures/busybox-rootfs.tar" "$MB" <<'EOF' || exit 1
import gzip, hashlib, io, json, os, random, sys, tarfile
out, base, mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
rnd = random.Random(7)
def layer(i):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as tf:
        left, n = mb << 20, 0
        while left > 0:
            size = max(64, min(left, rnd.choice([4 << 10, 64 << 10, 1 << 20])))
            data = os.urandom(size // 2) + (b"cell image benchmark line %08d\n" % n) * (size // 2 // 36)
            t = tarfile.TarInfo("data%d/d%03d/f%06d" % (i, n % 100, n)); t.size = len(data); t.mtime = 1700000000
            tf.addfile(t, io.BytesIO(data)); left -= len(data); n += 1
    return b.getvalue()
raws = [open(base, "rb").read(), layer(1), layer(2)]
blobs, descs = {}, []
sha = lambda b: "sha256:" + hashlib.sha256(b).hexdigest()
for r in raws:
    g = gzip.compress(r, compresslevel=1, mtime=0); blobs[sha(g)] = g
    descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(g), "size": len(g)})
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                  "rootfs": {"type": "layers", "diff_ids": [sha(r) for r in raws]}}).encode()
blobs[sha(cfg)] = cfg
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(cfg), "size": len(cfg)},
                  "layers": descs}).encode()
blobs[sha(man)] = man
os.makedirs(out + "/blobs/sha256")
for d, b in blobs.items():
    open(out + "/blobs/sha256/" + d[7:], "wb").write(b)
open(out + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
open(out + "/index.json", "w").write(json.dumps({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": sha(man), "size": len(man), "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}))
open(out + ".layers", "w").write("\n".join(d["digest"][7:] for d in descs) + "\n")
EOF
tar -C "$T/img" -cf "$T/img.tar" . || exit 1
unpacked=$(du -sm --apparent-size "$top/build/fixtures/busybox-rootfs.tar" | cut -f1)
unpacked=$((unpacked + 2 * MB))
archive_mb=$(du -sm --apparent-size "$T/img.tar" | cut -f1)

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
drop() { sync; }

declare -A res
time_tool() { # name: runs round_NAME ROUNDS times, records the median ns
  local name=$1 r t0 t1 ts=()
  for r in $(seq "$ROUNDS"); do
    prep_"$name" "$r" || { echo "images bench: $name failed (prep, round $r)" >&2; return 1; }
    drop
    t0=$(now)
    round_"$name" "$r" >"$T/$name.log" 2>&1 || { echo "images bench: $name failed:" >&2; tail -5 "$T/$name.log" >&2; return 1; }
    t1=$(now)
    ts+=($((t1 - t0)))
    post_"$name" "$r"
  done
  res[$name]=$(printf '%s\n' "${ts[@]}" | median)
}

prep_cellctl() { rm -rf "$T/store"; }
round_cellctl() { "$CELLCTL" --root "$T/store" image import --name bench:1 "$T/img.tar"; }
post_cellctl() { :; }

prep_podman() { himg_podman_setup "$T/podman-$1"; }
round_podman() { himg_podman load -q -i "$T/img.tar"; }
post_podman() { himg_podman_teardown "$T/podman-$1"; }

prep_skopeo_umoci() { rm -rf "$T/oci-$1" "$T/bundle-$1"; }
round_skopeo_umoci() {
  skopeo copy --quiet "oci-archive:$T/img.tar" "oci:$T/oci-$1:bench" && umoci unpack --image "$T/oci-$1:bench" "$T/bundle-$1"
}
post_skopeo_umoci() { rm -rf "$T/oci-$1" "$T/bundle-$1"; }

prep_tar_floor() { rm -rf "$T/floor"; mkdir -p "$T/floor"; }
round_tar_floor() {
  local d
  while read -r d; do tar -C "$T/floor" -xzf "$T/img/blobs/sha256/$d" || return 1; done <"$T/img.layers"
}
post_tar_floor() { rm -rf "$T/floor"; }

status=0
for t in tar_floor cellctl podman skopeo_umoci; do time_tool "$t" || status=1; done

# ---- per-rootfs cost from the cached image (the store of the last cellctl round)
rootfs_overlay_ns=0 rootfs_unpack_ns=0
if [ -n "${res[cellctl]:-}" ]; then
  lower=$("$CELLCTL" --root "$T/store" --json image inspect bench:1 |
    python3 -c 'import json,sys; s=sys.argv[1]; print(":".join(s + l["chain_id"][7:] for l in reversed(json.load(sys.stdin)["layer_list"])))' \
    "$T/store/images/layers/")
  t0=$(now)
  for i in $(seq "$NROOT"); do
    mkdir -p "$T/r$i/upper" "$T/r$i/work" "$T/r$i/merged"
    mount -t overlay himg-bench -o "lowerdir=$lower,upperdir=$T/r$i/upper,workdir=$T/r$i/work" "$T/r$i/merged" || { status=1; break; }
  done
  t1=$(now)
  rootfs_overlay_ns=$(((t1 - t0) / NROOT))
  [ -x "$T/r1/merged/bin/busybox" ] || { echo "images bench: the overlay rootfs lacks /bin/busybox" >&2; status=1; }
  for i in $(seq "$NROOT"); do umount "$T/r$i/merged" 2>/dev/null; done
  t0=$(now)
  "$CELLCTL" --root "$T/store" image unpack bench:1 "$T/flat" || status=1
  t1=$(now)
  rootfs_unpack_ns=$((t1 - t0))
fi

{
  echo "# image import + unpack: busybox + 2 x ${MB} MiB layers (gzip), ~${unpacked} MB unpacked, ${archive_mb} MB archive; median of $ROUNDS"
  printf '%-14s %10s %10s %12s %12s\n' tool seconds "MB/s" "x cellctl" "x tar floor"
  for t in cellctl podman skopeo_umoci tar_floor; do
    ns=${res[$t]:-}
    if [ -z "$ns" ]; then printf '%-14s %10s\n' "$t" failed; continue; fi
    awk -v t="$t" -v ns="$ns" -v mb="$unpacked" -v c="${res[cellctl]:-0}" -v f="${res[tar_floor]:-0}" 'BEGIN {
      s = ns / 1e9; rc = "-"; rf = "-"
      if (c > 0) rc = sprintf("%.2f", ns / c)
      if (f > 0) rf = sprintf("%.2f", ns / f)
      printf "%-14s %10.3f %10.1f %12s %12s\n", t, s, mb / s, rc, rf }'
  done
  echo "# a new rootfs from the cached image"
  awk -v o="$rootfs_overlay_ns" -v u="$rootfs_unpack_ns" -v n="$NROOT" 'BEGIN {
    printf "%-30s %10.3f ms (mean of %d)\n", "overlayfs mount (no copy)", o / 1e6, n
    printf "%-30s %10.3f ms\n", "cellctl image unpack (copy)", u / 1e6 }'
  if [ -n "${res[cellctl]:-}" ] && [ -n "${res[podman]:-}" ] && [ -n "${res[tar_floor]:-}" ]; then
    awk -v c="${res[cellctl]}" -v p="${res[podman]}" -v f="${res[tar_floor]}" 'BEGIN {
      printf "# ratios: podman/cellctl throughput %.2fx (target >= 2); cellctl/tar floor time %.2fx (target <= 1.2)\n", p / c, c / f }'
  fi
} | tee "$out"
exit "$status"
