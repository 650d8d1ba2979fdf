# helpers for the cellfs bats files: daemon start/stop, child cgroups below
# our own, and "containers" emulated by unshare -m + bind mounts.
TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
CELLFS=${CELLFS:-$TOP/build/cellfs}
READBENCH=$TOP/build/bench/readbench
CGS_FILE=$BATS_RUN_TMPDIR/cellfs-cgroups
FILES="meminfo cpuinfo stat uptime loadavg diskstats swaps"

# start_cellfs MOUNTPOINT [ARGS...]: sets CELLFS_PID, waits for the mount
start_cellfs() {
  local mnt=$1; shift
  mkdir -p "$mnt"
  ${CELLFS_WRAP:-} "$CELLFS" "$@" "$mnt" 2>"$mnt.log" &
  CELLFS_PID=$!
  for _ in $(seq 1 200); do
    if grep -q " $mnt fuse.cellfs " /proc/self/mounts && head -c1 "$mnt/proc/meminfo" >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$CELLFS_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "cellfs did not mount $mnt:"; cat "$mnt.log"
  return 1
}

stop_cellfs() { # MOUNTPOINT
  local mnt=$1
  if [ -n "${CELLFS_PID:-}" ] && kill -0 "$CELLFS_PID" 2>/dev/null; then
    kill -TERM "$CELLFS_PID"
    wait "$CELLFS_PID" || true
  fi
  CELLFS_PID=
  while grep -q " $mnt fuse.cellfs " /proc/self/mounts; do umount -l "$mnt" || break; done
}

worker_of() { cat "/proc/$1/task/$1/children" | awk '{print $1}'; }

own_path() { awk -F: -v c="$1" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' /proc/self/cgroup; }

# make_cg NAME MEMBYTES CPUS QUOTA_US: child cgroups below ours in memory,
# cpuset, cpu and cpuacct; quota with period 100000 (-1 = none)
make_cg() {
  local name=cellfs-bats-$$-$1 c base
  for c in memory cpuset cpu cpuacct; do
    base=/sys/fs/cgroup/$c$(own_path $c)
    base=${base%/}
    mkdir -p "$base/$name"
    echo "$base/$name" >>"$CGS_FILE"
  done
  local mem=/sys/fs/cgroup/memory$(own_path memory); mem=${mem%/}/$name
  local cs=/sys/fs/cgroup/cpuset$(own_path cpuset); cs=${cs%/}/$name
  local cpu=/sys/fs/cgroup/cpu$(own_path cpu); cpu=${cpu%/}/$name
  echo "$2" >"$mem/memory.limit_in_bytes"
  cat "$(dirname "$cs")/cpuset.mems" >"$cs/cpuset.mems"
  echo "$3" >"$cs/cpuset.cpus"
  echo "$4" >"$cpu/cpu.cfs_quota_us"
}

# cg_procs NAME: the cgroup.procs files of the cgroup, one per controller
cg_procs() { grep -- "/cellfs-bats-$$-$1\$" "$CGS_FILE" | sed 's|$|/cgroup.procs|'; }

# in_container NAME MOUNTPOINT CMD: CMD runs in cgroup NAME with the cellfs
# files bind-mounted over /proc and /sys/devices/system/cpu in its own mount ns
# (from MOUNTPOINT/.self-<random>, the tree of the cgroup, as cell binds them)
in_container() {
  local name=$1 mnt=$2; shift 2
  local procs; procs=$(cg_procs "$name" | tr '\n' ' ')
  unshare -m --propagation private sh -c '
    for p in '"$procs"'; do echo $$ > $p; done
    self='"$mnt"'/.self-$(od -An -N8 -tx8 /dev/urandom | tr -d " ")
    for f in '"$FILES"'; do mount --bind $self/proc/$f /proc/$f; done
    for f in online possible present; do mount --bind $self/sys/devices/system/cpu/$f /sys/devices/system/cpu/$f; done
    exec "$@"' sh "$@"
}

# in_cg NAME CMD: CMD runs in cgroup NAME, no bind mounts
in_cg() {
  local name=$1; shift
  local procs; procs=$(cg_procs "$name" | tr '\n' ' ')
  sh -c 'for p in '"$procs"'; do echo $$ > $p; done; exec "$@"' sh "$@"
}

remove_cgs() {
  [ -f "$CGS_FILE" ] || return 0
  local d pid
  for d in $(tac "$CGS_FILE"); do
    [ -d "$d" ] || continue
    for pid in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  done
  sleep 0.1
  for d in $(tac "$CGS_FILE"); do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
  rm -f "$CGS_FILE"
}
