#!/usr/bin/env bats
# Failures: clear messages naming what failed, runc's exit codes, JSON logs,
# and nothing left behind (state, cgroups, processes, mounts) after a failed
# create/run.

load helpers

# try_run [create|run] - a failing create/run of the default bundle with
# the container's stdio on a file; sets $status and $output.
try() {
  rt_bg "$BATS_TEST_TMPDIR/try.out" "$1" --bundle "$BUNDLE" "$ID"
}

expect_failure_clean() { # create|run
  try "$1"
  echo "$1 -> $status: $output"
  [ "$status" -ne 0 ]
  assert_no_leftovers "$ID" "$BUNDLE"
}

@test "missing binary in PATH: create and run fail with 'executable file not found in \$PATH'" {
  set_args nosuchbinary-xyz
  for cmd in create run; do
    expect_failure_clean "$cmd"
    [[ $output == *'executable file not found in $PATH'* ]]
    [[ $output == *nosuchbinary-xyz* ]]
  done
}

@test "absolute missing path: 'no such file or directory'" {
  set_args /nosuch/dir/binary
  for cmd in create run; do
    expect_failure_clean "$cmd"
    echo "$output" | grep -qi 'no such file or directory'
    [[ $output == */nosuch/dir/binary* ]]
  done
}

@test "non-executable file: 'permission denied'" {
  set_args /etc/passwd
  expect_failure_clean run
  echo "$output" | grep -qi 'permission denied'
  [[ $output == */etc/passwd* ]]
}

@test "a directory as the program fails" {
  set_args /usr/bin
  expect_failure_clean run
}

# log_objects FILE - check every line is a JSON log object; print the count
# of level "error" objects.
log_errors() {
  local f=$1
  [ -s "$f" ] || { echo "empty log $f" >&2; return 1; }
  jq -e 'type == "object" and (.level | type) == "string" and (.msg | type) == "string"
         and (.time | type) == "string"' "$f" >/dev/null || { cat "$f" >&2; return 1; }
  jq -s '[.[] | select(.level == "error")] | length' "$f"
}

@test "--log FILE --log-format json: one JSON error object per failed invocation" {
  set_args nosuchbinary-xyz
  log=$BATS_TEST_TMPDIR/log.json
  rt_bg "$BATS_TEST_TMPDIR/o" --log "$log" --log-format json run --bundle "$BUNDLE" "$ID"
  [ "$status" -ne 0 ]
  [ "$(log_errors "$log")" -eq 1 ]
  jq -e 'select(.level == "error") | .msg | contains("executable file not found in $PATH")' "$log"
  # the time is RFC 3339
  jq -e -r 'select(.level == "error") | .time' "$log" | grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}'

  # the log is appended to: a second failure adds exactly one more error object
  run runtime --log "$log" --log-format=json state no-such-ct
  [ "$status" -ne 0 ]
  [ "$(log_errors "$log")" -eq 2 ]
  jq -e -s 'map(select(.level == "error"))[1].msg | contains("container does not exist")' "$log"

  # a config error too
  echo '{bad json' >"$BUNDLE/config.json"
  run runtime --log "$log" --log-format=json create --bundle "$BUNDLE" "$ID"
  [ "$status" -ne 0 ]
  [ "$(log_errors "$log")" -eq 3 ]
}

@test "both --log-format json and --log-format=json are accepted; a bad format is rejected" {
  run runtime --log-format json list -q
  [ "$status" -eq 0 ]
  run runtime --log-format=json list -q
  [ "$status" -eq 0 ]
  run runtime --log-format=text list -q
  [ "$status" -eq 0 ]
  run runtime --log-format=bogus list -q
  [ "$status" -ne 0 ]
  [[ $output == *bogus* ]]
}

@test "cell: every failure writes exactly one JSON error object, and nothing else on success" {
  cell_only
  log=$BATS_TEST_TMPDIR/log.json
  n=0
  set_args nosuchbinary-xyz
  for args in "state no-such" "start no-such" "kill no-such" "delete no-such" "run --bundle $BUNDLE $ID" \
              "create --bundle $BATS_TEST_TMPDIR/nobundle $ID" "exec no-such true"; do
    rt_bg "$BATS_TEST_TMPDIR/o" --log "$log" --log-format json $args
    [ "$status" -ne 0 ]
    n=$((n + 1))
    [ "$(log_errors "$log")" -eq "$n" ]
    [ "$(wc -l <"$log")" -eq "$n" ]
  done
  run runtime --log "$log" --log-format json list
  [ "$status" -eq 0 ]
  [ "$(wc -l <"$log")" -eq "$n" ]
}

@test "bad JSON in config.json fails cleanly" {
  echo '{"ociVersion": "1.0.2", "process": {' >"$BUNDLE/config.json"
  expect_failure_clean run
  is_cell || return 0 # runc says only "unexpected EOF"
  [[ $output == *config.json* ]]
}

@test "missing config.json fails naming it" {
  rm "$BUNDLE/config.json"
  expect_failure_clean create
  [[ $output == *config.json* ]]
}

@test "wrong type: process.args as a string names the field" {
  update_config '.process.args = "notarray"'
  expect_failure_clean run
  [[ $output == *args* ]]
}

@test "wrong type: process.user.uid as a string names the field" {
  update_config '.process.user.uid = "zero"'
  expect_failure_clean run
  [[ $output == *uid* ]]
}

@test "missing process fails" {
  update_config 'del(.process)'
  expect_failure_clean run
  [[ $output == *process* ]]
}

@test "relative process.cwd fails naming cwd" {
  set_args true
  update_config '.process.cwd = "relative/dir"'
  expect_failure_clean run
  echo "$output" | grep -qi cwd
}

@test "unknown capability: named in the message" {
  set_args true
  update_config '.process.capabilities.bounding[1] = "CAP_NOPE"'
  try run
  [[ $output == *CAP_NOPE* ]]
}

@test "cell: unknown capability is an error naming the field" {
  cell_only
  set_args true
  update_config '.process.capabilities.bounding[1] = "CAP_NOPE"'
  expect_failure_clean run
  [[ $output == *CAP_NOPE* ]]
  [[ $output == *capabilities.bounding* ]]
}

@test "bad rlimit type names the value" {
  set_args true
  update_config '.process.rlimits[0].type = "RLIMIT_NOPE"'
  expect_failure_clean run
  [[ $output == *RLIMIT_NOPE* ]]
  is_cell || return 0
  [[ $output == *rlimits* ]]
}

@test "unknown namespace type names the value" {
  set_args true
  update_config '.linux.namespaces += [{"type": "bogusns"}]'
  expect_failure_clean run
  [[ $output == *bogusns* ]]
  is_cell || return 0
  [[ $output == *namespaces* ]]
}

@test "bad mount option fails during init and leaves nothing behind" {
  set_args true
  update_config '.mounts += [{"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["bogusopt=1"]}]'
  for cmd in create run; do
    expect_failure_clean "$cmd"
    [[ $output == */mnt* ]]
  done
}

@test "missing rootfs fails naming it" {
  set_args true
  update_config '.root.path = "no-such-rootfs"'
  expect_failure_clean run
  [[ $output == *no-such-rootfs* ]]
}

@test "a failing createRuntime / prestart hook fails create and cleans up" {
  set_args true
  update_config '.hooks.createRuntime = [{"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}]'
  expect_failure_clean create
  echo "$output" | grep -qi hook
  update_config 'del(.hooks) | .hooks.prestart = [{"path": "/bin/false"}]'
  expect_failure_clean run
  echo "$output" | grep -qi hook
}

@test "hooks run with the state on stdin" {
  set_args true
  out=$BATS_TEST_TMPDIR/hook-state.json
  update_config '.hooks.createRuntime = [{"path": "/bin/sh", "args": ["sh", "-c", "cat > \($o)"]}]
                 | .hooks.poststop = [{"path": "/bin/sh", "args": ["sh", "-c", "echo poststop > \($o).stop"]}]' \
    "$BUNDLE" --arg o "$out"
  run runtime run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 0 ]
  jq -e --arg id "$ID" --arg b "$BUNDLE" '.id == $id and .bundle == $b and (.pid > 0)' "$out"
  [ "$(cat "$out.stop")" = poststop ]
}

@test "invalid container ids are rejected and create nothing outside --root" {
  set_args true
  for bad in ../escape-id a/b .. ""; do
    run runtime create --bundle "$BUNDLE" "$bad" </dev/null
    [ "$status" -ne 0 ]
  done
  [ ! -e "$BATS_TEST_TMPDIR/escape-id" ]
  [ -z "$(ls -A "$ROOT")" ]
}

@test "unknown command and unknown global flag fail" {
  run runtime no-such-command
  [ "$status" -ne 0 ]
  run "$CELL" --no-such-flag list
  [ "$status" -ne 0 ]
  [[ $output == *no-such-flag* ]]
}

# uid/gid mappings: N entries, entry i maps ID(i) to ID(i), size SIZE.
idmaps_json() { # N FIRST STEP SIZE
  jq -n --argjson n "$1" --argjson f "$2" --argjson s "$3" --argjson z "$4" \
    '[range($n) | {containerID: ($f + . * $s), hostID: ($f + . * $s), size: $z}]'
}

@test "340 uid/gid mappings (the kernel's maximum) work" {
  m=$(idmaps_json 340 0 1 1)
  update_config '.linux.namespaces += [{"type": "user"}] | .linux.uidMappings = $m | .linux.gidMappings = $m' \
    "$BUNDLE" --argjson m "$m"
  set_args sh -c 'wc -l </proc/self/uid_map; wc -l </proc/self/gid_map; tail -n1 /proc/self/uid_map'
  run runtime run --bundle "$BUNDLE" "$ID"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(echo ${lines[0]})" = 340 ]
  [ "$(echo ${lines[1]})" = 340 ]
  [ "$(echo ${lines[2]})" = "339 339 1" ]
}

@test "340 long uid mappings (more than one write can hold) are refused naming linux.uidMappings, no crash" {
  # 30 bytes a line: over 8 KiB of text, which overflowed a fixed buffer before
  m=$(idmaps_json 340 1000000000 1000000 1000000)
  update_config '.linux.namespaces += [{"type": "user"}] | .linux.uidMappings = $m
                 | .linux.gidMappings = [{containerID: 0, hostID: 0, size: 1}]' "$BUNDLE" --argjson m "$m"
  set_args true
  expect_failure_clean run
  [ "$status" -eq 1 ]
  [[ $output == *"linux.uidMappings: 340 mappings do not fit in one write"* ]]
}

@test "root.path that resolves to / (directly or through a symlink) is refused naming root.path" {
  set_args true
  update_config '.root.path = "/"'
  expect_failure_clean run
  [[ $output == *root.path* ]]
  ln -s / "$BUNDLE/hostroot"
  update_config '.root.path = "hostroot"'
  expect_failure_clean run
  [[ $output == *root.path* ]]
  update_config '.root.path = "rootfs/../../../../../../../../.."'
  expect_failure_clean create
  [[ $output == *root.path* ]]
}

@test "a NUL byte (\\u0000) in process.args or process.env is refused naming the field" {
  cell_only # runc's Go strings keep the NUL; the execve then fails later
  update_config '.process.args = ["sh", "-c", "echo one\u0000two"]'
  expect_failure_clean run
  [[ $output == *"process.args[2]"*NUL* ]]
  set_args true
  update_config '.process.env += ["SAFE=1\u0000LD_PRELOAD=/tmp/x.so"]'
  expect_failure_clean run
  [[ $output == *"process.env["*NUL* ]]
}

@test "a literal backslash-u0000 text (\"\\\\u0000\") in process.args is kept, not refused" {
  set_args printf '%s\n' 'a\u0000b'
  run runtime run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 0 ]
  [ "$output" = 'a\u0000b' ]
}

@test "trailing data after the JSON document in config.json is refused" {
  cell_only # runc's decoder reads the first document only
  set_args true
  echo '{"garbage": 1}' >>"$BUNDLE/config.json"
  expect_failure_clean run
  [[ $output == *config.json*"after the JSON document"* ]]
  set_args true
  echo 'trailing words' >>"$BUNDLE/config.json"
  expect_failure_clean create
  [[ $output == *config.json*"after the JSON document"* ]]
}

@test "exec --process: a NUL byte in args or env, or trailing data, is refused naming the field" {
  cell_only
  set_args sleep 100
  run_detached "$ID"
  p=$BATS_TEST_TMPDIR/p.json
  jq -n '{args: ["sh", "-c", "echo one\u0000two"], cwd: "/", env: ["PATH=/bin:/usr/bin"]}' >"$p"
  run runtime exec --process "$p" "$ID"
  [ "$status" -ne 0 ]
  [[ $output == *"process.args[2]"*NUL* ]]
  jq -n '{args: ["true"], cwd: "/", env: ["PATH=/bin:/usr/bin", "A=1\u0000B=2"]}' >"$p"
  run runtime exec --process "$p" "$ID"
  [ "$status" -ne 0 ]
  [[ $output == *"process.env[1]"*NUL* ]]
  { jq -n '{args: ["true"], cwd: "/"}'; echo '{}'; } >"$p"
  run runtime exec --process "$p" "$ID"
  [ "$status" -ne 0 ]
  [[ $output == *--process*"after the JSON document"* ]]
  jq -n '{args: ["true"], cwd: "/", env: ["PATH=/bin:/usr/bin"]}' >"$p"
  run runtime exec --process "$p" "$ID"
  [ "$status" -eq 0 ]
}

@test "hooks get the whole state as valid JSON when the annotations are large (> 8 KiB)" {
  # the process shows what startContainer (in the container, after pivot_root) got
  set_args sh -c 'wc -c </dev/hook-state; tail -c 30 /dev/hook-state; echo'
  out=$BATS_TEST_TMPDIR/hook-state
  big=$(head -c 20000 /dev/zero | tr '\0' x)
  # createContainer runs in the init (in the container's namespaces, before
  # pivot_root); createRuntime in the runtime: both must see all 20000 bytes
  update_config '.annotations.big = $big
    | .hooks.createRuntime = [{"path": "/bin/sh", "args": ["sh", "-c", "cat > \($o).runtime"]}]
    | .hooks.createContainer = [{"path": "/bin/sh", "args": ["sh", "-c", "cat > \($o).container"]}]
    | .hooks.startContainer = [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /dev/hook-state"]}]' \
    "$BUNDLE" --arg o "$out" --arg big "$big"
  run runtime run --bundle "$BUNDLE" "$ID"
  echo "$output"
  [ "$status" -eq 0 ]
  for k in runtime container; do
    jq -e --arg id "$ID" '.id == $id and (.pid > 0) and (.annotations.big | length) == 20000' "$out.$k"
  done
  [ "$(jq .pid "$out.runtime")" = "$(jq .pid "$out.container")" ]
  # the same document reached startContainer, whole
  [ "$(echo ${lines[0]})" = "$(wc -c <"$out.container")" ]
  [ "${lines[1]}" = "$(tail -c 30 "$out.container")" ]
}

@test "a memory limit too low for the container to start names linux.resources.memory.limit" {
  set_args true
  update_config '.linux.resources.memory = {"limit": 65536}'
  expect_failure_clean run
  [[ $output == *"OOM-killed during setup"*"linux.resources.memory.limit 65536 is too low"* ]]
}

# ---- warnings go through the logger (h-cgdrv) ----

@test "cell: a warning (ignored linux.resources.memory.kernel) is a JSON log line, not stderr, with --log-format json" {
  cell_only
  set_args true
  update_config '.linux.resources.memory.kernel = 67108864' "$BUNDLE"
  log=$BATS_TEST_TMPDIR/log.json
  # json mode writes more than the error object only with --debug (the
  # failure log must stay one object for engines that parse it whole)
  status=0
  runtime --log "$log" --log-format json --debug run --bundle "$BUNDLE" "$ID" </dev/null \
    >"$BATS_TEST_TMPDIR/stdout" 2>"$BATS_TEST_TMPDIR/stderr" || status=$?
  cat "$BATS_TEST_TMPDIR/stderr"
  [ "$status" -eq 0 ]
  [ ! -s "$BATS_TEST_TMPDIR/stderr" ]
  jq -e -s 'map(select(.level == "warning" and (.msg | contains("linux.resources.memory.kernel is ignored"))))
            | length == 1' "$log"

  # text mode without --log: the same warning on stderr, as before
  status=0
  runtime run --bundle "$BUNDLE" "$ID" </dev/null >"$BATS_TEST_TMPDIR/stdout" 2>"$BATS_TEST_TMPDIR/stderr" || status=$?
  [ "$status" -eq 0 ]
  grep -q '^cell: warning: linux.resources.memory.kernel is ignored' "$BATS_TEST_TMPDIR/stderr"
}
