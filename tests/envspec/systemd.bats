#!/usr/bin/env bats
# The Debian 12 systemd environment of env/spec.c boots to
# `systemctl is-system-running` = running under `cell run -d`, unprivileged
# (own user namespace with an allocated range, idmapped lower layer, cgroups
# delegated) and privileged, follows systemd's container interface, tells
# READY=1 through NOTIFY_SOCKET, and halts on SIGRTMIN+3.
load helpers

setup_file() {
  local tar
  tar=$("$CELL_TOP/tests/lib/rootfs-cache.sh")
  envspec_tmp_setup
  export DEBIAN_LOWER=$ENVSPEC_TMP/debian
  extract_lower "$tar" "$DEBIAN_LOWER"
}

teardown_file() { envspec_tmp_teardown; }
teardown() { teardown_envs henv2-sd-u henv2-sd-p henv2-sd-n; }

@test "unprivileged systemd environment boots to running, follows the container interface, halts on SIGRTMIN+3" {
  env_up henv2-sd-u "$DEBIAN_LOWER" --hostname web-u
  wait_running henv2-sd-u
  run cellrt exec henv2-sd-u systemctl --failed --no-legend --no-pager
  [ "$status" -eq 0 ] && [ -z "$output" ]
  # journald, logind and dbus run
  run cellrt exec henv2-sd-u systemctl is-active systemd-journald systemd-logind dbus
  [ "$status" -eq 0 ]
  # uid 0 inside is the range's base on the host, for every process of the environment
  local base pid
  base=$(cat "$ENVSPEC_TMP/henv2-sd-u/base")
  [ "$base" -ge 1000000000 ]
  pid=$(env_pid henv2-sd-u)
  [ "$(stat -c %u /proc/"$pid")" = "$base" ]
  [ "$(awk '{print $2, $3}' /proc/"$pid"/uid_map)" = "$base 65536" ]
  # idmapped, not chowned: the shared lower layer keeps uid 0; a file root writes is base on disk
  [ "$(stat -c %u "$DEBIAN_LOWER/etc/passwd")" = 0 ]
  cellrt exec henv2-sd-u sh -c 'echo x > /root/made-inside'
  [ "$(stat -c %u "$ENVSPEC_TMP/henv2-sd-u/upper/root/made-inside")" = "$base" ]
  run cellrt exec henv2-sd-u stat -c %u /root/made-inside
  [ "$output" = 0 ]
  # container interface
  run cellrt exec henv2-sd-u systemd-detect-virt -c
  [ "$output" != none ]
  run cellrt exec henv2-sd-u cat /run/systemd/container
  [ "$output" = cell ]
  run cellrt exec henv2-sd-u hostname
  [ "$output" = web-u ]
  uuid=$(jq -r '.process.env[] | select(startswith("container_uuid="))' "$ENVSPEC_TMP/henv2-sd-u/config.json")
  run cellrt exec henv2-sd-u cat /etc/machine-id
  [ "$output" = "$(echo "${uuid#container_uuid=}" | tr -d - )" ]
  run cellrt exec henv2-sd-u findmnt -no FSTYPE,OPTIONS /run
  [[ $output == tmpfs* ]]
  run cellrt exec henv2-sd-u findmnt -no FSTYPE /tmp
  [ "$output" = tmpfs ]
  run cellrt exec henv2-sd-u findmnt -no OPTIONS /sys
  [[ $output == ro,* ]]
  run cellrt exec henv2-sd-u sh -c 'echo 1 > /proc/sys/kernel/sysrq'
  [ "$status" -ne 0 ]
  run cellrt exec henv2-sd-u sh -c 'test -c /dev/ptmx || test -L /dev/ptmx && test -d /dev/pts && test -c /dev/null'
  [ "$status" -eq 0 ]
  # the cgroup tree is its own and writable (systemd made its slices in it) ...
  run cellrt exec henv2-sd-u cat /proc/1/cgroup
  [[ $output == *"name=systemd:/init.scope"* ]]
  cellrt exec henv2-sd-u mkdir /sys/fs/cgroup/systemd/henv2-probe
  cellrt exec henv2-sd-u rmdir /sys/fs/cgroup/systemd/henv2-probe
  # ... and nothing above it: on the host the init is below the environment's cgroup
  grep -q "name=systemd:/.*henv2-envspec/henv2-sd-u/init.scope" /proc/"$pid"/cgroup
  # halt: SIGRTMIN+3 stops systemd cleanly (exit, not a kill)
  halt henv2-sd-u RTMIN+3 60
  [ "$(env_status henv2-sd-u)" = stopped ]
}

@test "privileged systemd environment boots to running and halts" {
  env_up henv2-sd-p "$DEBIAN_LOWER" --privileged
  wait_running henv2-sd-p
  run cellrt exec henv2-sd-p systemctl --failed --no-legend --no-pager
  [ "$status" -eq 0 ] && [ -z "$output" ]
  pid=$(env_pid henv2-sd-p)
  [ "$(stat -c %u /proc/"$pid")" = 0 ]
  [ "$(readlink /proc/"$pid"/ns/user)" = "$(readlink /proc/self/ns/user)" ]
  # no host-wide knobs: /proc/sys and /sys are read-only, module loading is denied
  run cellrt exec henv2-sd-p sh -c 'echo 1 > /proc/sys/kernel/sysrq'
  [ "$status" -ne 0 ]
  run cellrt exec henv2-sd-p sh -c 'grep CapBnd /proc/1/status'
  capbnd=$(echo "${output##*:}" | tr -d "[:space:]")
  (( (0x$capbnd >> 16) % 2 == 0 ))   # CAP_SYS_MODULE dropped
  halt henv2-sd-p RTMIN+3 60
  [ "$(env_status henv2-sd-p)" = stopped ]
}

@test "systemd tells READY=1 through NOTIFY_SOCKET (unprivileged)" {
  local sock=$BATS_TEST_TMPDIR/notify.sock out=$BATS_TEST_TMPDIR/notify.out
  "$CELL_TOP/tests/envspec/notify-listen.py" "$sock" "$out" 120 &
  local lp=$!
  while ! grep -q listening "$out" 2>/dev/null; do sleep 0.1; done
  env_up henv2-sd-n "$DEBIAN_LOWER" --netns --notify "$sock"
  wait "$lp"   # exits 0 on READY=1
  grep -qx READY=1 "$out"
  run cellrt exec henv2-sd-n systemctl is-system-running
  [[ $output == running || $output == starting ]]
  wait_running henv2-sd-n
  # with a network namespace of its own, sysfs is the environment's (not a bind of the host's)
  run cellrt exec henv2-sd-n findmnt -no FSTYPE /sys
  [ "$output" = sysfs ]
  # a network namespace of its own: only its loopback
  run cellrt exec henv2-sd-n ip -o link
  [ "$status" -eq 0 ] && [[ $output == *" lo: "* ]] && [ "$(echo "$output" | wc -l)" = 1 ]
  halt henv2-sd-n RTMIN+3 60
}
