#!/usr/bin/env bats
# process.terminal with --console-socket: exactly one pty master fd and the
# pty name reach the socket; the container's stdio is that pty.

load helpers

RECVTTY=$CELL_TOP/build/tools/recvtty

@test "console socket: one fd and the pty name; the container runs on the pty" {
  sock=$BATS_TEST_TMPDIR/console.sock
  out=$BATS_TEST_TMPDIR/console.out
  "$RECVTTY" "$sock" "$out" &
  rt=$!
  wait_for -t 10 test -S "$sock"
  update_config '.process.terminal = true | .process.consoleSize = {"height": 30, "width": 100}'
  set_args sh -c 'tty; stty size; echo done'
  run runtime create --bundle "$BUNDLE" --console-socket "$sock" "$ID"
  [ "$status" -eq 0 ]
  run runtime start "$ID"
  [ "$status" -eq 0 ]
  wait_for -t 10 grep -q done "$out"
  wait "$rt" || true
  cat "$out"
  grep -q '^fds: 1$' "$out"
  grep -q '^name: /dev/pts/' "$out"
  grep -q '^/dev/pts/0' "$out"
  grep -q '^30 100' "$out"
}

@test "terminal without a console socket on create is refused with runc's message" {
  update_config '.process.terminal = true'
  run runtime create --bundle "$BUNDLE" "$ID"
  [ "$status" -ne 0 ]
  [[ $output == *"cannot allocate tty if "*" will detach without setting console socket"* ]]
  [ -z "$(ls "$ROOT")" ]
}

@test "a console socket without a terminal is refused" {
  run runtime create --bundle "$BUNDLE" --console-socket "$BATS_TEST_TMPDIR/none.sock" "$ID"
  echo "$output"
  [ "$status" -ne 0 ]
  [[ $output == *"console socket"* ]]
}
