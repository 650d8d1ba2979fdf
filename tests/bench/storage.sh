#!/bin/bash
# storage benchmark, side by side in one run (one round; timing is reported,
# never judged):
#   clone     `cellctl clone` of an environment whose lower layer (its
#             --rootfs, standing in for its image) holds SIZE_MB of files and
#             whose upper holds UPPER_MB, vs `cp -a` of the whole rootfs
#             (lower + upper), vs `lxc-copy -s` (overlay snapshot clone) when
#             lxc is installed;
#   snapshot  `cellctl snapshot create` of an environment with SIZE_MB in its
#             upper dir (its own files), vs `cp -a` of that upper dir;
#   export    `cellctl export` of an image environment with SIZE_MB in its
#             upper, vs `podman save` of the same image (loaded into a
#             private podman), in MB/s of archive written.
# Env: SIZE_MB (default 1024), UPPER_MB (default 16), OUT (table file).
# Everything lives under one temporary dir named hstore-bench-*; removed at exit.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
SIZE_MB=${SIZE_MB:-1024}
UPPER_MB=${UPPER_MB:-16}
CELLCTL=${CELLCTL:-$top/build/cellctl}
make -s all >&2
source "$top/tests/images/podman.bash"

tmp=$(mktemp -d /var/tmp/hstore-bench-XXXXXX)
chmod 0755 "$tmp"
R=$tmp/root
PODMAN_DIR=$tmp/podman
cleanup() {
  set +e
  local n
  for n in $(ls "$R/vps" 2>/dev/null); do "$CELLCTL" --root "$R" destroy --force "$n" >/dev/null 2>&1 || true; done
  [ -d "$PODMAN_DIR" ] && himg_podman_teardown "$PODMAN_DIR"
  rm -rf "$tmp"
}
trap cleanup EXIT
cc() { "$CELLCTL" --root "$R" "$@" </dev/null; }
now() { date +%s%N; }
ms_since() { echo $(( ($(now) - $1) / 1000000 )); }

# fill DIR MB: MB of 1 MiB files (random, so nothing dedups or compresses)
fill() {
  mkdir -p "$1"
  local i
  for ((i = 0; i < $2; i++)); do head -c 1048576 /dev/urandom >"$1/blob$i"; done
}

# a busybox rootfs of SIZE_MB (the "1 GB image")
rfs=$tmp/rfs
mkdir -p "$rfs"
tar -C "$rfs" -xf "$("$top/tests/fixtures/mkrootfs.sh" >/dev/null; echo "$top/build/fixtures/busybox-rootfs.tar")"
fill "$rfs/var/data" "$SIZE_MB"
sync

rows=()
row() { rows+=("$(printf '%-10s %-30s %10s %10s %10s' "$@")"); }

# ---- clone -----------------------------------------------------------
cc create hstore-src --rootfs "$rfs" --init busybox >/dev/null
fill "$R/vps/hstore-src/data/upper/root" "$UPPER_MB"
sync
t=$(now); clone_out=$(cc clone hstore-src hstore-dst); clone_ms=$(ms_since "$t")
# cellctl's own split: "(create X ms, upper copy Y ms)"
clone_create=$(echo "$clone_out" | sed -n 's/.*(create \([0-9.]*\) ms, upper copy \([0-9.]*\) ms).*/\1/p')
clone_copy=$(echo "$clone_out" | sed -n 's/.*(create \([0-9.]*\) ms, upper copy \([0-9.]*\) ms).*/\2/p')
t=$(now); cp -a "$rfs" "$tmp/cp-rootfs"; cp -a "$R/vps/hstore-src/data/upper/." "$tmp/cp-rootfs/"; sync; cp_ms=$(ms_since "$t")
rm -rf "$tmp/cp-rootfs"
row clone "cellctl clone" "$clone_ms" $((SIZE_MB + UPPER_MB)) "1.00"
row clone "  of which: create (no copy)" "$clone_create" "$SIZE_MB" "-"
row clone "  of which: upper copy" "$clone_copy" "$UPPER_MB" "-"
row clone "cp -a rootfs+upper" "$cp_ms" $((SIZE_MB + UPPER_MB)) "$(awk -v a="$cp_ms" -v b="$clone_ms" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
if command -v lxc-copy >/dev/null; then
  lxcp=$tmp/lxc
  # lxc wants the container's name in its rootfs path: $tmp is /var/tmp/hstore-bench-XXXXXX
  mkdir -p "$lxcp/hstore-bench"
  printf 'lxc.rootfs.path = dir:%s\nlxc.uts.name = hstore-bench\n' "$rfs" >"$lxcp/hstore-bench/config"
  t=$(now)
  if lxc-copy -P "$lxcp" -n hstore-bench -N hstore-bench2 -s -B overlay -o "$tmp/lxc.log" -l DEBUG >/dev/null 2>&1; then
    lxc_ms=$(ms_since "$t")
    row clone "lxc-copy -s (overlay)" "$lxc_ms" $((SIZE_MB + UPPER_MB)) "$(awk -v a="$lxc_ms" -v b="$clone_ms" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
  else
    row clone "lxc-copy -s (overlay)" failed - -
    echo "# lxc-copy failed: $(grep -vE "INFO" "$tmp/lxc.log" | tail -n 8)" >&2
  fi
else
  row clone "lxc-copy -s (overlay)" "n/a" - "(lxc not installed)"
fi

# ---- snapshot of SIZE_MB of the environment's own files ----------------
fill "$R/vps/hstore-src/data/upper/srv" "$SIZE_MB"
sync
t=$(now); cc snapshot create hstore-src s1 >/dev/null; snap_ms=$(ms_since "$t")
t=$(now); cp -a "$R/vps/hstore-src/data/upper" "$tmp/cp-upper"; sync; cpu_ms=$(ms_since "$t")
rm -rf "$tmp/cp-upper"
row snapshot "cellctl snapshot create" "$snap_ms" $((SIZE_MB + UPPER_MB)) "1.00"
row snapshot "cp -a upper" "$cpu_ms" $((SIZE_MB + UPPER_MB)) "$(awk -v a="$cpu_ms" -v b="$snap_ms" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
cc snapshot rm hstore-src s1 >/dev/null

# ---- export vs podman save ------------------------------------------------
cc import "$top/build/fixtures/busybox-rootfs.tar" hstore-img --init busybox >/dev/null
fill "$R/vps/hstore-img/data/upper/srv" "$SIZE_MB"
sync
t=$(now); cc export hstore-img "$tmp/env.tar" >/dev/null; exp_ms=$(ms_since "$t")
exp_mb=$(( $(stat -c %s "$tmp/env.tar") / 1048576 ))
himg_podman_setup "$PODMAN_DIR"
himg_podman load -q -i "$tmp/env.tar" >/dev/null
rm -f "$tmp/env.tar"
img=$(himg_podman images --format '{{.ID}}' | head -n 1)
t=$(now); himg_podman save -q -o "$tmp/podman.tar" "$img" >/dev/null; save_ms=$(ms_since "$t")
save_mb=$(( $(stat -c %s "$tmp/podman.tar") / 1048576 ))
rm -f "$tmp/podman.tar"
mbps() { awk -v m="$1" -v t="$2" 'BEGIN { printf "%.0f", t ? m * 1000 / t : 0 }'; }
row export "cellctl export (MB/s)" "$exp_ms" "$exp_mb" "$(mbps "$exp_mb" "$exp_ms")"
row export "podman save (MB/s)" "$save_ms" "$save_mb" "$(mbps "$save_mb" "$save_ms")"

{
  echo "# storage benchmark: SIZE_MB=$SIZE_MB UPPER_MB=$UPPER_MB, one round (ratios: peer time / cellctl time; export: MB/s)"
  printf '%-10s %-30s %10s %10s %10s\n' what tool ms MB "ratio|MB/s"
  printf '%s\n' "${rows[@]}"
  echo "# export/podman-save throughput ratio: $(awk -v a="$(mbps "$exp_mb" "$exp_ms")" -v b="$(mbps "$save_mb" "$save_ms")" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
} | tee "${OUT:-/dev/null}"
