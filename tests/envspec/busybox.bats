#!/usr/bin/env bats
# The busybox-init environment of env/spec.c (--init busybox, the rootfs of
# tests/lib/busybox-rootfs.sh) boots under `cell run -d`, unprivileged and
# privileged, runs its inittab's sysinit, and halts on SIGUSR2 running its
# shutdown actions.
load helpers

setup_file() {
  local tar
  tar=$("$CELL_TOP/tests/lib/busybox-rootfs.sh")
  envspec_tmp_setup
  export BB_LOWER=$ENVSPEC_TMP/busybox
  extract_lower "$tar" "$BB_LOWER"
}
teardown_file() { envspec_tmp_teardown; }
teardown() { teardown_envs henv2-bb-u henv2-bb-p; }

# waits for the inittab's sysinit mark
wait_ready() {
  local i
  for i in $(seq 100); do
    cellrt exec "$1" test -s /run/init-ready 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

@test "busybox init boots unprivileged and halts on SIGUSR2" {
  env_up henv2-bb-u "$BB_LOWER" --init busybox
  wait_ready henv2-bb-u
  run cellrt exec henv2-bb-u readlink /proc/1/exe
  [ "$output" = /bin/busybox ]
  run cellrt exec henv2-bb-u cat /proc/1/comm
  [ "$output" = init ]
  # an idle environment is its init only
  run cellrt exec henv2-bb-u ps -o pid,comm
  [ "$(echo "$output" | awk 'NR > 1 && $2 != "ps" {print $1, $2}')" = "1 init" ]
  pid=$(env_pid henv2-bb-u)
  base=$(cat "$ENVSPEC_TMP/henv2-bb-u/base")
  [ "$(stat -c %u /proc/"$pid")" = "$base" ]
  run cellrt exec henv2-bb-u env
  [[ $output == *container=cell* ]]
  halt henv2-bb-u USR2 30
  [ "$(env_status henv2-bb-u)" = stopped ]
  # its shutdown action ran: the init's output says it powered off
  grep -q "Requesting system poweroff" "$ENVSPEC_TMP/henv2-bb-u/console.log"
}

@test "busybox init boots privileged and halts on SIGUSR2" {
  env_up henv2-bb-p "$BB_LOWER" --init busybox --privileged
  wait_ready henv2-bb-p
  halt henv2-bb-p USR2 30
  [ "$(env_status henv2-bb-p)" = stopped ]
}
