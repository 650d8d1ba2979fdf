#!/usr/bin/env bats
# Resource limits on this host's cgroup v1 (hybrid) driver: every test proves
# that a linux.resources limit (or `cell update`) is enforced by the kernel.
# The same scenarios run on pure cgroup v2 in tests/vm/resources.bats; both
# share tests/resources-common.bash.

load helpers
load ../resources-common

setup() { cell_setup; }
teardown() { rs_teardown; }

@test "memory: 32 MiB without swap OOM-kills a 64 MiB allocation, init survives, events report it" {
  rs_memory_oom
}

@test "pids: limit 20 stops a fork bomb; kill --all and delete --force clean up" {
  rs_pids_forkbomb
}

@test "cpu: quota 50000/100000 holds a busy loop at 40-60% of one CPU" {
  rs_cpu_quota
}

@test "cpu: shares 512 vs 2048 on one CPU split it about 1:4" {
  rs_cpu_shares
}

@test "cpuset: cpus \"1\" is the affinity inside" {
  rs_cpuset
}

@test "io: throttleReadBpsDevice slows direct reads of a loop device to 1 MiB/s" {
  rs_io_throttle
}

@test "devices: null and zero open, c 1:11 does not, block mknod is refused" {
  rs_devices
}

@test "update: memory and pids limits change; a rejected update keeps the old values" {
  rs_update
}

@test "pause/resume freeze 50 processes; kill --all KILL reaches them while paused" {
  rs_pause_kill_all 50
}

@test "200 create + delete --force cycles leave no cgroup" {
  rs_cycles 200
}

# ---------------------------------------------------------------- shared parents

# pc_bundles PARENT N - N bundles b-1..b-N sharing one rootfs, with
# cgroupsPath PARENT/ID (ids in $PC_IDS; teardown deletes them and removes
# PARENT: the per-id leftover check of helpers.bash is too slow for 100).
pc_bundles() {
  local parent=$1 n=$2 i id cfg
  cfg=$(jq -c --arg r "$BUNDLE/rootfs" '.root.path = $r | .process.args = ["sleep", "1000"]' "$BUNDLE/config.json")
  PC_IDS=
  for ((i = 1; i <= n; i++)); do
    id="$ID-p$i"
    echo "$id" >>"$BATS_TEST_TMPDIR/pc-ids"
    mkdir -p "$BATS_TEST_TMPDIR/b-$i"
    jq -c --arg p "$parent/$id" '.linux.cgroupsPath = $p' <<<"$cfg" >"$BATS_TEST_TMPDIR/b-$i/config.json"
    PC_IDS+="$id "
  done
}

# pc_dirs PARENT - the directory of cgroup PARENT in every hierarchy.
pc_dirs() {
  local mnt own
  while read -r mnt own; do echo "$mnt${own%/}/$1"; done < <(cgroup_hierarchies)
}

# pc_own PARENT - teardown removes what is left of PARENT (the test's own).
pc_own() { pc_dirs "$1" >>"$BATS_TEST_TMPDIR/own-cgroups"; }

# pc_run VERB N - VERB (create|delete) on containers 1..N, all in parallel.
pc_run() {
  local verb=$1 n=$2 i pids= p rc=0
  for ((i = 1; i <= n; i++)); do
    if [ "$verb" = create ]; then
      runtime create --bundle "$BATS_TEST_TMPDIR/b-$i" "$ID-p$i" </dev/null >/dev/null 2>"$BATS_TEST_TMPDIR/err-$i" &
    else
      runtime delete --force "$ID-p$i" </dev/null >/dev/null 2>"$BATS_TEST_TMPDIR/err-$i" &
    fi
    pids+="$! "
  done
  for p in $pids; do wait "$p" || rc=1; done
  [ "$rc" = 0 ] || { cat "$BATS_TEST_TMPDIR"/err-* >&2; return 1; }
}

pc_left() {
  local d
  for d in $(pc_dirs "$1"); do [ ! -d "$d" ] || echo "$d"; done
}

teardown() {
  local rc=0 d id
  if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -f "$BATS_TEST_TMPDIR/pc-ids" ]; then
    while read -r id; do
      timeout -k 5 30 "$CELL" --root "$ROOT" delete --force "$id" </dev/null >/dev/null 2>&1 || true
    done <"$BATS_TEST_TMPDIR/pc-ids"
  fi
  rs_teardown || rc=$?
  if [ -f "$BATS_TEST_TMPDIR/own-cgroups" ]; then
    for d in $(sort -r "$BATS_TEST_TMPDIR/own-cgroups"); do [ ! -d "$d" ] || remove_cgroup_dir "$d" || rc=1; done
  fi
  return $rc
}

@test "100 parallel creates and deletes under one new cgroupsPath parent leave no parent behind" {
  cell_only
  local parent="cell-tests/h-crash-$$-$RANDOM" i left
  pc_own "$parent"
  pc_bundles "$parent" 100
  local t0=$SECONDS
  pc_run create 100
  echo "# 100 creates: $((SECONDS - t0)) s" >&3
  [ -n "$(pc_left "$parent")" ]
  t0=$SECONDS
  pc_run delete 100
  echo "# 100 deletes: $((SECONDS - t0)) s" >&3
  left=$(pc_left "$parent")
  [ -z "$left" ] || { echo "parents left: $left" >&2; return 1; }
  # creates racing deletes: a parent removed under a create is made again
  t0=$SECONDS
  for ((i = 1; i <= 20; i++)); do
    (for _ in 1 2; do
      runtime create --bundle "$BATS_TEST_TMPDIR/b-$i" "$ID-p$i" </dev/null >/dev/null 2>>"$BATS_TEST_TMPDIR/race.err" || exit 1
      runtime delete --force "$ID-p$i" </dev/null >/dev/null 2>>"$BATS_TEST_TMPDIR/race.err" || exit 1
    done) &
  done
  local rc=0
  for ((i = 1; i <= 20; i++)); do wait -n || rc=1; done
  echo "# race: $((SECONDS - t0)) s" >&3
  [ "$rc" = 0 ] || { cat "$BATS_TEST_TMPDIR/race.err" >&2; return 1; }
  left=$(pc_left "$parent")
  [ -z "$left" ] || { echo "parents left after the race: $left" >&2; return 1; }
  [ -z "$(ls "$ROOT")" ]
}

@test "a cgroupsPath parent made by someone else is kept after its containers are deleted" {
  local parent="cell-tests/h-crash-own-$$-$RANDOM" d
  pc_own "$parent"
  for d in $(pc_dirs "cell-tests") $(pc_dirs "$parent"); do
    [ -d "$d" ] || mkdir "$d"
    # a v1 cpuset starts empty: give it its parent's cpus and mems
    if [ -f "$d/cpuset.cpus" ] && [ -z "$(cat "$d/cpuset.cpus")" ]; then
      cat "$d/../cpuset.cpus" >"$d/cpuset.cpus"
      cat "$d/../cpuset.mems" >"$d/cpuset.mems"
    fi
  done
  pc_bundles "$parent" 5
  pc_run create 5
  pc_run delete 5
  for d in $(pc_dirs "$parent"); do [ -d "$d" ] || { echo "$d was removed" >&2; return 1; }; done
  for d in $(pc_dirs "$parent"); do [ -z "$(find "$d" -mindepth 1 -type d)" ]; done
}
