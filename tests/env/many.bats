#!/usr/bin/env bats
# 50 busybox environments started at once (slow: tests/suites/env.sh).

load env-helpers

setup_file() {
  local tar
  tar=$("$CELL_TOP/tests/lib/busybox-rootfs.sh") || return 1
  export BB=$(rootfs_dir "$tar")
}

setup() { env_setup; }
teardown() { env_teardown; }

@test "many: 50 busybox environments start at once, all run, all stop and are destroyed" {
  local i pids=() fails=0
  for i in $(seq 50); do cc create "henvm$$-$i" --rootfs "$BB" --init busybox --memory 32M >/dev/null; done
  for i in $(seq 50); do
    cc start "henvm$$-$i" --wait --timeout 120 >"$BATS_TEST_TMPDIR/start.$i" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || { fails=$((fails + 1)); cat "$BATS_TEST_TMPDIR/start.$((i + 1))" >&2; }; done
  [ "$fails" -eq 0 ]
  run cc list --json
  [ "$(echo "$output" | jq '[.[] | select(.state == "running")] | length')" -eq 50 ]
  for i in 1 25 50; do
    run cc exec "henvm$$-$i" -- hostname
    [ "$output" = "henvm$$-$i" ]
  done
  pids=()
  for i in $(seq 50); do cc stop "henvm$$-$i" --timeout 30 >/dev/null & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done
  run cc list --json
  [ "$(echo "$output" | jq '[.[] | select(.state == "stopped")] | length')" -eq 50 ]
}
