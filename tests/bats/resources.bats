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
