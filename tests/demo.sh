#!/bin/bash
# make demo: the main job on an embedded default.  Builds a busybox rootfs
# from Debian's busybox-static (no registry), starts cellfs on a private
# mountpoint, and runs a container limited to 256 MiB, CPU 0 and half a CPU
# whose /proc/meminfo, nproc and /sys/devices/system/cpu/online show those
# limits.  Everything it makes is removed on exit.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cell=$top/build/cell
cellfs=$top/build/cellfs
work=$(mktemp -d /tmp/cell-demo.XXXXXX)
root=$work/state
mnt=$work/cellfs
id=demo-$$
cfs_pid=
cleanup() {
  "$cell" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
  if [ -n "$cfs_pid" ]; then kill "$cfs_pid" 2>/dev/null || true; wait "$cfs_pid" 2>/dev/null || true; fi
  while mountpoint -q "$mnt" 2>/dev/null; do umount -l "$mnt" || break; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

"$top/tests/fixtures/mkrootfs.sh" >/dev/null
mkdir -p "$work/bundle" "$mnt"
cp -a "$top/build/fixtures/rootfs" "$work/bundle/rootfs"
"$cell" spec --bundle "$work/bundle"

"$cellfs" "$mnt" 2>"$work/cellfs.log" &
cfs_pid=$!
for _ in $(seq 100); do grep -q " $mnt fuse.cellfs " /proc/self/mounts && break; sleep 0.05; done

jq --arg mnt "$mnt" --arg cg "cell-demo/$id" '
  .process.terminal = false
  | .process.args = ["sh", "-c", "echo \"hostname: $(hostname)\"; head -n 3 /proc/meminfo; echo \"nproc: $(nproc)\"; echo \"cpu/online: $(head -c 16 /sys/devices/system/cpu/online)\"; echo \"processors in cpuinfo: $(grep -c ^processor /proc/cpuinfo)\"; echo \"uptime: $(head -c 32 /proc/uptime)\""]
  | .linux.cgroupsPath = $cg
  | .linux.resources.memory = {"limit": 268435456}
  | .linux.resources.cpu = {"cpus": "0", "quota": 50000, "period": 100000}
  | .annotations = {"run.cell.fsview": "true", "run.cell.fsview.path": $mnt}' \
  "$work/bundle/config.json" >"$work/bundle/config.json.new"
mv "$work/bundle/config.json.new" "$work/bundle/config.json"

echo "== host:      $(head -n1 /proc/meminfo), nproc $(nproc)"
echo "== container: memory.limit 256 MiB, cpuset 0, cpu quota 50%"
"$cell" --root "$root" run --bundle "$work/bundle" "$id"
