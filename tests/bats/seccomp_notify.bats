#!/usr/bin/env bats
# SCMP_ACT_NOTIFY: the runtime hands the listener fd to linux.seccomp.listenerPath
# with the container process state, and the agent's answers reach the container.

load helpers

LISTENER=${LISTENER:-$(dirname "$CELL")/tools/seccomp_listener}
[ -x "$LISTENER" ] || LISTENER=$CELL_TOP/build/tools/seccomp_listener

@test "seccomp notify: the agent gets the state and the fd, and answers mkdir with EXDEV" {
  sock=$BATS_TEST_TMPDIR/agent.sock
  "$LISTENER" "$sock" "$BATS_TEST_TMPDIR/state.json" >"$BATS_TEST_TMPDIR/agent.out" 2>&1 &
  agent=$!
  wait_for -t 10 test -S "$sock"
  update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": $s,
      "listenerMetadata": "meta-42",
      "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}' "$BUNDLE" --arg s "$sock"
  set_args sh -c 'mkdir /dev/shm/x 2>&1; echo rc=$?; [ -d /dev/shm/x ] && echo exists || echo absent'
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  kill "$agent" 2>/dev/null || true
  wait "$agent" 2>/dev/null || true
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output == *"cross-device"* ]]
  [[ $output == *"rc=1"* ]]
  [[ $output == *absent* ]]
  state=$BATS_TEST_TMPDIR/state.json
  [ "$(jq -r '.fds[0]' "$state")" = seccompFd ]
  [ "$(jq -r .metadata "$state")" = meta-42 ]
  [ "$(jq -r .state.id "$state")" = "$ID" ]
  [ "$(jq -r .pid "$state")" -gt 0 ]
}

@test "seccomp notify without listenerPath is rejected naming the field" {
  update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}'
  set_args true
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -ne 0 ]
  [[ $output == *"linux.seccomp"*"listenerPath"* ]]
  [ -z "$(ls "$ROOT")" ]
}
