#!/usr/bin/env bats
# Resource limits on pure cgroup v2 (runs inside the test VM: tests/vm/run.sh,
# tests/suites/resources-vm.sh).  The same scenarios as the host's
# tests/bats/resources.bats, from tests/resources-common.bash, with fewer
# processes and cycles because every process costs ~70 ms under TCG.
#
# cgroup2 forbids controllers below a cgroup holding processes, so the
# containers' cgroups go below $CELL_VM_CGROUP (the parent of our own leaf):
# bundles get the absolute cgroupsPath <CELL_VM_CGROUP>/cell-tests/ID.

load ../bats/helpers
load ../resources-common

vm_check() {
  if [ "${CELL_VM:-}" != 1 ] || [ -z "${CELL_VM_CGROUP:-}" ]; then
    echo "not inside the test VM: run through tests/vm/run.sh" >&2
    return 1
  fi
}

# overrides of helpers.bash: where the containers' cgroups are
cgroup_dirs() { echo "$CELL_VM_CGROUP/cell-tests/$1"; }
new_bundle() {
  local dir=$1 id=$2; shift 2
  "$FIXTURES/mkbundle.sh" "$dir" --id "$id" -- "$@" >/dev/null &&
    update_config '.linux.cgroupsPath = $cg' "$dir" --arg cg "${CELL_VM_CGROUP#/sys/fs/cgroup}/cell-tests/$id"
}

setup_file() {
  vm_check
  "$FIXTURES/mkrootfs.sh" >/dev/null
}
teardown_file() { rmdir "$CELL_VM_CGROUP/cell-tests" 2>/dev/null || true; }

setup() {
  vm_check
  cell_setup
}
teardown() { rs_teardown; }

@test "v2: the containers' cgroups are below CELL_VM_CGROUP with every controller" {
  set_args sleep 1000
  run_detached "$ID"
  local d
  d=$(rs_dir "$ID" x)
  [ "$d" = "$CELL_VM_CGROUP/cell-tests/$ID" ]
  grep -qx "$(ct_pid "$ID")" "$d/cgroup.procs"
  for c in cpuset cpu io memory pids; do
    grep -qw "$c" "$d/cgroup.controllers" || { echo "$c missing in $d" >&2; return 1; }
  done
}

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

@test "io: io.max rbps slows direct reads of a loop device to 1 MiB/s" {
  rs_io_throttle
}

@test "devices: null and zero open, c 1:11 does not, block mknod is refused (eBPF)" {
  rs_devices
}

@test "update: memory and pids limits change; a rejected update keeps the old values" {
  rs_update
}

# (20 where the host suite uses 50: under TCG each costs ~20 times more)
@test "pause/resume freeze 20 processes; kill --all KILL reaches them while paused" {
  rs_pause_kill_all 20
}

@test "20 create + delete --force cycles leave no cgroup" {
  rs_cycles 20
}
