#!/usr/bin/env bats
# The environment spec of env/spec.c on pure cgroup v2 (runs inside the test
# VM: tests/vm/run.sh; tests/suites/vm.sh picks it up): the cached Debian 12
# systemd rootfs boots to `systemctl is-system-running` = running,
# unprivileged (allocated id range, idmapped lower layer, cgroups delegated),
# and halts on SIGRTMIN+3.  One boot only: under TCG a systemd boot costs
# minutes (the privileged mode with its own netns also reached running on v2
# when it was tried; on the host both modes run in tests/envspec/).
#
# The guest's root (9p) and tmpfs (kernel 6.1) cannot be idmapped, so the
# lower layer is extracted into an ext4 image on a loop device.  The tar must
# have been built on the host (tests/lib/rootfs-cache.sh; the envspec suite
# runs before the vm suite): the guest has no network.  The environments'
# cgroups go below $CELL_VM_CGROUP (cgroup2 forbids them below our own leaf).
# Commands run in the environment through `cell exec`: on v2 the environment's
# top cgroup is a non-leaf with controllers enabled once systemd runs, so the
# kernel refuses new processes there (EBUSY, "no internal processes"); exec
# then joins the init's cgroup, as runc and crun do.

load ../envspec/helpers

vm_check() {
  if [ "${CELL_VM:-}" != 1 ] || [ -z "${CELL_VM_CGROUP:-}" ]; then
    echo "not inside the test VM: run through tests/vm/run.sh" >&2
    return 1
  fi
}

setup_file() {
  vm_check
  local tar
  tar=$(ls "$CELL_TOP"/build/cache/debian-bookworm-systemd-"$("$CELL_TOP/tests/lib/rootfs-cache.sh" --print-key)".tar 2>/dev/null) || {
    echo "no cached Debian rootfs: run tests/lib/rootfs-cache.sh on the host first" >&2
    return 1
  }
  envspec_tmp_setup
  export ENVSPEC_CGROUP_PARENT=${CELL_VM_CGROUP#/sys/fs/cgroup}/henv2-envspec
  busybox modprobe loop 2>/dev/null || modprobe loop
  busybox modprobe ext4 2>/dev/null || modprobe ext4
  truncate -s 800M "$ENVSPEC_TMP/lower.img"
  mkfs.ext4 -q -F "$ENVSPEC_TMP/lower.img"
  mkdir -p "$ENVSPEC_TMP/ext"
  mount -o loop "$ENVSPEC_TMP/lower.img" "$ENVSPEC_TMP/ext"
  export DEBIAN_LOWER=$ENVSPEC_TMP/ext/debian
  extract_lower "$tar" "$DEBIAN_LOWER"
}

teardown_file() {
  local dev
  dev=$(findmnt -no SOURCE "$ENVSPEC_TMP/ext" 2>/dev/null)
  envspec_tmp_teardown
  [ -z "$dev" ] || losetup -d "$dev" 2>/dev/null || true
  rmdir "$CELL_VM_CGROUP/henv2-envspec" 2>/dev/null || true
}

setup() { vm_check; }
teardown() { teardown_envs henv2-vm-u; }

@test "v2: unprivileged systemd environment boots to running with its own delegated cgroup2 subtree, halts" {
  env_up henv2-vm-u "$DEBIAN_LOWER"
  wait_running henv2-vm-u 400
  run envexec henv2-vm-u systemctl --failed --no-legend --no-pager
  [ "$status" -eq 0 ] && [ -z "$output" ]
  pid=$(env_pid henv2-vm-u)
  base=$(cat "$ENVSPEC_TMP/henv2-vm-u/base")
  [ "$(stat -c %u /proc/"$pid")" = "$base" ]
  # pure cgroup v2 inside: one cgroup2 mount, systemd's slices below the environment's cgroup
  run envexec henv2-vm-u stat -f -c %T /sys/fs/cgroup
  [ "$output" = cgroup2fs ]
  grep -q "^0::${ENVSPEC_CGROUP_PARENT}/henv2-vm-u/init.scope$" /proc/"$pid"/cgroup
  [ -d "/sys/fs/cgroup${ENVSPEC_CGROUP_PARENT}/henv2-vm-u/system.slice" ]
  [ "$(stat -c %u "/sys/fs/cgroup${ENVSPEC_CGROUP_PARENT}/henv2-vm-u/system.slice")" = "$base" ]
  halt henv2-vm-u RTMIN+3 120
  [ "$(env_status henv2-vm-u)" = stopped ]
}
