#!/bin/bash
# cellfs benchmark: reads/s of proc/{meminfo,cpuinfo,stat} with 1 and 8
# concurrent readers (open, read to EOF with 64 KiB, close), cellfs vs lxcfs
# vs a constant-returning FUSE file (the floor), all in one run, readers in
# the same child cgroup; daemon CPU time per read; cellfs RSS while 1,000
# cgroups are read.  Env: SECS (default 3), NCG (default 1000).
# floor: libfuse's multithreaded loop (what lxcfs uses); floor1: the same
# file served by one thread (fuse_session_loop), the lowest round trip.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
SECS=${SECS:-3}
NCG=${NCG:-1000}
make -s cellfs build/bench/readbench build/bench/fusefloor >&2
RB=$top/build/bench/readbench
tmp=$(mktemp -d /tmp/cellfs-bench.XXXXXX)
pids=()
mem=/sys/fs/cgroup/memory$(awk -F: '$2=="memory"{print $3}' /proc/self/cgroup)
mem=${mem%/}
cg=$mem/cellfs-bench-$$
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for m in "$tmp"/cellfs "$tmp"/lxcfs "$tmp"/floor "$tmp"/floor1; do
    grep -q " $m " /proc/self/mounts && umount -l "$m" || true
  done
  for d in "$cg" "$mem"/cellfs-bench-$$-*; do [ -d "$d" ] && rmdir "$d" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$cg" "$tmp"/cellfs "$tmp"/lxcfs "$tmp"/floor "$tmp"/floor1
echo $((512 * 1024 * 1024)) >"$cg/memory.limit_in_bytes"

wait_mount() { for _ in $(seq 100); do grep -q " $1 " /proc/self/mounts && return 0; sleep 0.05; done; echo "no mount at $1" >&2; return 1; }
build/cellfs "$tmp"/cellfs 2>"$tmp"/cellfs.log & pids+=($!); cellfs_sup=$!
lxcfs -f -p "$tmp"/lxcfs.pid "$tmp"/lxcfs >"$tmp"/lxcfs.log 2>&1 & pids+=($!); lxcfs_pid=$!
build/bench/fusefloor "$tmp"/floor 2>"$tmp"/floor.log & pids+=($!); floor_pid=$!
build/bench/fusefloor -1 "$tmp"/floor1 2>"$tmp"/floor1.log & pids+=($!); floor1_pid=$!
wait_mount "$tmp"/cellfs; wait_mount "$tmp"/lxcfs; wait_mount "$tmp"/floor; wait_mount "$tmp"/floor1
sleep 0.5
cellfs_pid=$(awk '{print $1}' /proc/$cellfs_sup/task/$cellfs_sup/children)

ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
hz=$(getconf CLK_TCK)
# run NAME DAEMONPID FILE JOBS -> "rate cpu_us_per_read"
run() {
  local pid=$2 file=$3 jobs=$4 t0 t1 out rate reads
  t0=$(ticks "$pid")
  out=$(sh -c 'echo $$ > '"$cg"'/cgroup.procs; exec '"$RB"' -j '"$jobs"' -s '"$SECS"' '"$file")
  t1=$(ticks "$pid")
  rate=$(sed 's/.*rate=\([0-9]*\).*/\1/' <<<"$out")
  reads=$(sed 's/.*reads=\([0-9]*\).*/\1/' <<<"$out")
  grep -q 'errors=0 empty=0' <<<"$out" || echo "# $1 $file: $out" >&2
  awk -v r="$rate" -v n="$reads" -v d=$((t1 - t0)) -v hz="$hz" 'BEGIN { printf "%d %.1f\n", r, n ? d / hz * 1e6 / n : 0 }'
}

echo "# cellfs benchmark: ${SECS}s per run, readers in a 512 MiB child memory cgroup"
printf '%-9s %4s | %9s %7s | %9s %7s | %9s %9s | %8s %8s %8s\n' file jobs cellfs/s "cpu-us" lxcfs/s "cpu-us" floor/s floor1/s "x lxcfs" "x floor" "x floor1"
declare -A floor floor1
for j in 1 8; do
  floor[$j]=$(run floor $floor_pid "$tmp"/floor/floor $j | cut -d' ' -f1)
  floor1[$j]=$(run floor1 $floor1_pid "$tmp"/floor1/floor $j | cut -d' ' -f1)
done
for f in meminfo cpuinfo stat; do
  for j in 1 8; do
    read -r c cc < <(run cellfs "$cellfs_pid" "$tmp/cellfs/proc/$f" $j)
    read -r l lc < <(run lxcfs "$lxcfs_pid" "$tmp/lxcfs/proc/$f" $j)
    fl=${floor[$j]} f1=${floor1[$j]}
    printf '%-9s %4s | %9s %7s | %9s %7s | %9s %9s | %8s %8s %8s\n' "$f" "$j" "$c" "$cc" "$l" "$lc" "$fl" "$f1" \
      "$(awk -v a="$c" -v b="$l" 'BEGIN{printf "%.2f", b ? a/b : 0}')" \
      "$(awk -v a="$c" -v b="$fl" 'BEGIN{printf "%.2f", b ? a/b : 0}')" \
      "$(awk -v a="$c" -v b="$f1" 'BEGIN{printf "%.2f", b ? a/b : 0}')"
  done
done

# RSS with many cgroups: one reader moves itself through NCG child cgroups
for i in $(seq "$NCG"); do mkdir "$mem/cellfs-bench-$$-$i"; done
rss0=$(awk '/VmRSS/{print $2}' /proc/$cellfs_pid/status)
fds0=$(ls /proc/$cellfs_pid/fd | wc -l)
sh -c 'for i in $(seq '"$NCG"'); do echo $$ > '"$mem"'/cellfs-bench-'"$$"'-$i/cgroup.procs; head -1 '"$tmp"'/cellfs/proc/meminfo >/dev/null; done; echo $$ > '"$mem"'/cgroup.procs'
rss1=$(awk '/VmRSS/{print $2}' /proc/$cellfs_pid/status)
hwm=$(awk '/VmHWM/{print $2}' /proc/$cellfs_pid/status)
fds1=$(ls /proc/$cellfs_pid/fd | wc -l)
echo "# cellfs worker RSS: ${rss0} kB before, ${rss1} kB after reading from $NCG cgroups (peak ${hwm} kB); fds ${fds0} -> ${fds1}"
echo "# lxcfs RSS: $(awk '/VmRSS/{print $2}' /proc/$lxcfs_pid/status) kB"
