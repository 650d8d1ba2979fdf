#!/usr/bin/env bats
# A Debian 12 systemd environment under cellctl (slow: tests/suites/env.sh).

load env-helpers

setup_file() {
  local tar
  tar=$("$CELL_TOP/tests/lib/rootfs-cache.sh") || return 1
  export DEB=$(rootfs_dir "$tar")
}

setup() {
  env_setup
  N=henvsd$$x$BATS_TEST_NUMBER
}

teardown() { env_teardown; }

boots_running() { # NAME
  # (right after a reboot the bus may not be up yet: wait until systemctl answers)
  wait_for -t 60 eval "cc exec $1 -- systemctl is-system-running >/dev/null 2>&1 || [ \$? -ne 1 ] && cc exec $1 -- systemctl is-system-running 2>/dev/null | grep -qvx starting" || true
  run cc exec "$1" -- systemctl is-system-running --wait
  [ "$output" = running ] || {
    echo "is-system-running: $output" >&2
    cc exec "$1" -- systemctl --failed --no-pager >&2
    return 1
  }
  run cc exec "$1" -- systemctl --failed --no-legend
  [ -z "$output" ]
  run cc exec "$1" -- systemctl is-active systemd-journald systemd-logind console-getty
  [ "$(echo $output)" = "active active active" ]
}

@test "systemd: unprivileged (default) boots to running, limits inside, stops cleanly within the timeout" {
  run cc create "$N" --rootfs "$DEB" --memory 256M --cpus 1 --pids 500
  [ "$status" -eq 0 ]
  run cc start "$N" --wait --timeout 120
  [ "$status" -eq 0 ]
  boots_running "$N"
  base=$(sed -n 's/^idrange = //p' "$ROOT/vps/$N/config")
  run cc exec "$N" -- cat /proc/self/uid_map
  [ "$(echo $output)" = "0 $base 65536" ]
  run cc exec "$N" -- sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max'
  [ "$output" = 268435456 ]
  # the rootfs is shared, not chowned: a file written inside is owned by 0 on disk
  run cc exec "$N" -- sh -c 'echo hi >/root/written; stat -c %u /root/written'
  [ "$output" = 0 ]
  [ "$(stat -c %u "$ROOT/vps/$N/data/upper/root/written")" = 0 ]
  run cc set "$N" memory=300M
  [ "$status" -eq 0 ]
  run cc exec "$N" -- sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max'
  [ "$output" = $((300 << 20)) ]
  run cc stop "$N" --timeout 60
  [ "$status" -eq 0 ]
  [ "$output" = "$N: halted cleanly" ]
  [ -z "$(env_cgroups "$N")" ]
}

@test "systemd: --privileged boots to running" {
  run cc create "$N" --rootfs "$DEB" --privileged
  [ "$status" -eq 0 ]
  run cc start "$N" --wait --timeout 120
  [ "$status" -eq 0 ]
  boots_running "$N"
  run cc exec "$N" -- cat /proc/self/uid_map
  [ "$(echo $output)" = "0 0 4294967295" ]
  run cc stop "$N" --timeout 60
  [ "$output" = "$N: halted cleanly" ]
}

@test "systemd: the halt signal sent before systemd is ready is sent again; stop right after start halts cleanly" {
  cc create "$N" --rootfs "$DEB"
  cc start "$N"
  run cc stop "$N" --timeout 60
  [ "$status" -eq 0 ]
  [ "$output" = "$N: halted cleanly" ]
}

@test "systemd: reboot inside restarts the environment, poweroff inside stops it" {
  cc create "$N" --rootfs "$DEB"
  cc start "$N" --wait --timeout 120
  pid1=$(cc show --json "$N" | jq .pid)
  cc exec "$N" -- systemctl reboot || true
  wait_for -t 90 eval "p=\$(cc show --json $N | jq .pid); [ \"\$p\" != 0 ] && [ \"\$p\" != $pid1 ]"
  boots_running "$N"
  cc exec "$N" -- systemctl poweroff || true
  wait_for -t 90 eval "[ \"\$(cc show --json $N | jq -r .state)\" = stopped ]"
  wait_for -t 10 eval "[ -z \"\$(env_cgroups $N)\" ] && [ ! -e $ROOT/run/env/$N ]"
}

@test "systemd: enter gives a login shell on a pty, in the environment's namespaces and cgroup" {
  cc create "$N" --rootfs "$DEB" --memory 200M
  cc start "$N" --wait --timeout 120
  out=$BATS_TEST_TMPDIR/enter.out
  { sleep 2; printf 'echo MARK-$((40+2)); tty; hostname; cat /proc/self/cgroup | grep -c %s; exit\n' "$N"; sleep 2; } |
    timeout 30 script -qec "$CELLCTL --root $ROOT enter $N" /dev/null >"$out" 2>&1 || true
  grep -q "MARK-42" "$out"
  grep -q "^/dev/pts/" "$out" || grep -q "/dev/pts/" "$out"
  grep -q "^$N" "$out" || grep -q "$N" "$out"
}

@test "systemd: console shows a getty; root logs in; Ctrl-] detaches" {
  cc create "$N" --rootfs "$DEB"
  cc start "$N" --wait --timeout 120
  boots_running "$N"
  out=$BATS_TEST_TMPDIR/console.out
  { sleep 1; printf '\r'; sleep 1; printf 'root\r'; sleep 3; printf 'echo HELLO-$((2*21)); tty\r'; sleep 2; printf '\035'; } |
    timeout 30 script -qec "$CELLCTL --root $ROOT console $N" /dev/null >"$out" 2>&1 || true
  grep -q "login:" "$out"
  grep -q "HELLO-42" "$out"
  grep -q "/dev/console" "$out"
  grep -q "detached from $N" "$out"
}
