#!/usr/bin/env bats
# Container lifecycle: create/start/state/kill/delete/run/list/ps/pause,
# following runc's command line, outputs and exit codes.

load helpers

# A process that reports "started", then waits for /dev/shm/stop (created
# from the host through /proc/PID/root) and exits 0.
WAITER='echo started; while [ ! -e /dev/shm/stop ]; do usleep 10000; done; echo leaving'

release() { touch "/proc/$1/root/dev/shm/stop"; }

@test "create -> created -> start -> running -> stopped -> delete" {
  set_args sh -c "$WAITER"
  create_ct "$ID"

  run runtime state "$ID"
  [ "$status" -eq 0 ]
  echo "$output" | jq -e --arg id "$ID" --arg b "$BUNDLE" \
    '.id == $id and .status == "created" and (.pid | type) == "number" and .pid > 0
     and .bundle == $b and (.ociVersion | type) == "string" and (.ociVersion | length) > 0'
  pid=$(echo "$output" | jq -r .pid)
  [ -d "/proc/$pid" ]

  # Not exec'd yet: the user program has produced nothing and is not pid's image.
  [ -z "$(ct_out "$ID")" ]
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline")
  [[ $cmd != "sh -c "* ]]

  run runtime start "$ID"
  [ "$status" -eq 0 ]
  wait_out "$ID" started
  [ "$(ct_state "$ID")" = running ]
  [ "$(ct_pid "$ID")" = "$pid" ]
  [ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" = "sh -c $WAITER " ]

  release "$pid"
  wait_state "$ID" stopped
  out_has "$ID" leaving

  run runtime delete "$ID"
  [ "$status" -eq 0 ]
  [ ! -d "/proc/$pid" ] || ! grep -q '^State:.*[RS]' "/proc/$pid/status"
  run runtime state "$ID"
  [ "$status" -ne 0 ]
  [[ $output == *"container does not exist"* ]]
  [ -z "$(leftover_cgroups "$ID")" ]
}

@test "create puts the init process in cgroup cell-tests/ID of every hierarchy" {
  set_args sleep 100
  create_ct "$ID"
  pid=$(ct_pid "$ID")
  local n=0 d
  while read -r d; do
    [ -d "$d" ]
    grep -qx "$pid" "$d/cgroup.procs"
    n=$((n + 1))
  done < <(cgroup_dirs "$ID")
  [ "$n" -gt 0 ]
  run runtime delete --force "$ID"
  [ "$status" -eq 0 ]
  [ -z "$(leftover_cgroups "$ID")" ]
}

@test "run (foreground) returns the container's exit code and output" {
  set_args sh -c 'echo out-line; echo err-line >&2; exit 3'
  run runtime run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 3 ]
  [[ $output == *out-line* ]]
  [[ $output == *err-line* ]]
  # a foreground run removes the container afterwards
  run runtime state "$ID"
  [ "$status" -ne 0 ]
  [[ $output == *"container does not exist"* ]]

  set_args true
  run runtime run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 0 ]
}

@test "run (foreground) reports death by SIGKILL as exit code 137" {
  set_args sh -c 'echo ready; sleep 100'
  runtime run --bundle "$BUNDLE" "$ID" </dev/null >"$BATS_TEST_TMPDIR/$ID.out" 2>&1 &
  rp=$!
  wait_out "$ID" ready
  run runtime kill "$ID" KILL
  [ "$status" -eq 0 ]
  st=0; wait "$rp" || st=$?
  [ "$st" -eq 137 ]
}

@test "run --detach returns while the container runs" {
  set_args sh -c "$WAITER"
  run_detached "$ID"
  wait_out "$ID" started
  [ "$(ct_state "$ID")" = running ]
  pid=$(ct_pid "$ID")
  [ -d "/proc/$pid" ]
  release "$pid"
  wait_state "$ID" stopped
  run runtime delete "$ID"
  [ "$status" -eq 0 ]
}

@test "run uses the current directory as the bundle by default" {
  set_args sh -c 'echo from-cwd-bundle; exit 5'
  cd "$BUNDLE"
  run runtime run "$ID"
  [ "$status" -eq 5 ]
  [[ $output == *from-cwd-bundle* ]]
}

@test "create --pid-file holds the decimal pid before create returns" {
  set_args sleep 100
  create_ct "$ID" "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pidfile"
  [ -f "$BATS_TEST_TMPDIR/pidfile" ]
  pid=$(cat "$BATS_TEST_TMPDIR/pidfile")
  [[ $pid =~ ^[0-9]+$ ]]
  [ "$pid" = "$(ct_pid "$ID")" ]
  [ -d "/proc/$pid" ]
}

@test "run -d --pid-file with a relative path is relative to the cwd" {
  set_args sleep 100
  cd "$BATS_TEST_TMPDIR"
  run_detached "$ID" "$BUNDLE" --pid-file rel.pid
  [ "$(cat "$BATS_TEST_TMPDIR/rel.pid")" = "$(ct_pid "$ID")" ]
}

@test "kill delivers the default TERM and signals given by name or number" {
  # pid 1 of a pid namespace gets only signals it has handlers for
  set_args sh -c 'for s in TERM USR1 USR2 HUP; do trap "echo got-$s" $s; done
                  echo ready; while :; do sleep 1 & wait $!; done'
  run_detached "$ID"
  wait_out "$ID" ready

  run runtime kill "$ID"
  [ "$status" -eq 0 ]
  wait_out "$ID" got-TERM

  run runtime kill "$ID" USR1
  [ "$status" -eq 0 ]
  wait_out "$ID" got-USR1

  run runtime kill "$ID" SIGUSR2
  [ "$status" -eq 0 ]
  wait_out "$ID" got-USR2

  run runtime kill "$ID" 1
  [ "$status" -eq 0 ]
  wait_out "$ID" got-HUP

  [ "$(ct_state "$ID")" = running ]
  # only the requested signals arrived
  [ "$(grep -c '^got-' "$BATS_TEST_TMPDIR/$ID.out")" -eq 4 ]
}

@test "kill with KILL, SIGKILL and 9 stops the container" {
  local sig id
  for sig in KILL SIGKILL 9; do
    id=$(new_id "$sig")
    new_bundle "$BATS_TEST_TMPDIR/b-$sig" "$id" sleep 100
    run_detached "$id" "$BATS_TEST_TMPDIR/b-$sig"
    pid=$(ct_pid "$id")
    run runtime kill "$id" "$sig"
    [ "$status" -eq 0 ]
    wait_state "$id" stopped
    wait_for eval '[ ! -e "/proc/$pid/cmdline" ] || [ -z "$(cat "/proc/$pid/cmdline" 2>/dev/null)" ]'
  done
}

@test "kill of an unknown signal fails" {
  set_args sleep 100
  run_detached "$ID"
  run runtime kill "$ID" NOSUCHSIG
  [ "$status" -ne 0 ]
  [ "$(ct_state "$ID")" = running ]
}

@test "kill of a stopped container fails with 'container not running'; kill --all exits 0" {
  set_args true
  create_ct "$ID"
  run runtime start "$ID"
  [ "$status" -eq 0 ]
  wait_state "$ID" stopped
  run runtime kill "$ID" KILL
  [ "$status" -ne 0 ]
  [[ $output == *"container not running"* ]]
  run runtime kill --all "$ID" KILL
  [ "$status" -eq 0 ]
}

@test "kill --all signals every process of the container" {
  set_args sh -c 'sleep 100 & sleep 101 & echo ready; wait'
  run_detached "$ID"
  wait_out "$ID" ready
  wait_for eval '[ "$(runtime ps --format json "$ID" | jq length)" -ge 3 ]'
  pids=$(runtime ps --format json "$ID" | jq -r '.[]')
  run runtime kill --all "$ID" KILL
  [ "$status" -eq 0 ]
  wait_state "$ID" stopped
  for p in $pids; do
    wait_for test ! -d "/proc/$p"
  done
}

@test "delete of a running container without --force fails and leaves it running" {
  set_args sleep 100
  run_detached "$ID"
  run runtime delete "$ID"
  [ "$status" -ne 0 ]
  [[ $output == *"running"* ]]
  [ "$(ct_state "$ID")" = running ]
}

@test "delete of a created container kills its init" {
  set_args sleep 100
  create_ct "$ID"
  pid=$(ct_pid "$ID")
  run runtime delete "$ID"
  [ "$status" -eq 0 ]
  wait_for test ! -d "/proc/$pid"
  run runtime state "$ID"
  [[ $output == *"container does not exist"* ]]
}

@test "delete --force of a running container kills it and removes it" {
  set_args sh -c 'sleep 100 & sleep 100'
  run_detached "$ID"
  wait_for eval '[ "$(runtime ps --format json "$ID" | jq length)" -ge 2 ]'
  pids=$(runtime ps --format json "$ID" | jq -r '.[]')
  run runtime delete --force "$ID"
  [ "$status" -eq 0 ]
  for p in $pids; do
    wait_for test ! -d "/proc/$p"
  done
  run runtime state "$ID"
  [ "$status" -ne 0 ]
  [[ $output == *"container does not exist"* ]]
  [ -z "$(leftover_cgroups "$ID")" ]
}

@test "delete of an unknown id fails; with --force it exits 0, also when already deleted" {
  run runtime delete no-such-container
  [ "$status" -ne 0 ]
  [[ $output == *"container does not exist"* ]]
  run runtime delete --force no-such-container
  [ "$status" -eq 0 ]

  set_args true
  create_ct "$ID"
  run runtime delete --force "$ID"
  [ "$status" -eq 0 ]
  run runtime delete --force "$ID"
  [ "$status" -eq 0 ]
  run runtime delete "$ID"
  [ "$status" -ne 0 ]
}

@test "list: table header, json and -q" {
  run runtime list
  [ "$status" -eq 0 ]
  [[ ${lines[0]} =~ ^ID\ +PID\ +STATUS\ +BUNDLE\ +CREATED\ +OWNER ]]
  [ "${#lines[@]}" -eq 1 ]

  set_args sleep 100
  a=$(new_id a)
  new_bundle "$BATS_TEST_TMPDIR/b-a" "$a" sleep 100
  create_ct "$ID"
  run_detached "$a" "$BATS_TEST_TMPDIR/b-a"

  run runtime list
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 3 ]
  line=$(printf '%s\n' "${lines[@]}" | grep "^$ID ")
  [[ $line =~ ^$ID\ +$(ct_pid "$ID")\ +created\ +$BUNDLE\  ]]
  line=$(printf '%s\n' "${lines[@]}" | grep "^$a ")
  [[ $line =~ ^$a\ +$(ct_pid "$a")\ +running\ +$BATS_TEST_TMPDIR/b-a\  ]]

  run runtime list -q
  [ "$status" -eq 0 ]
  [ "$(printf '%s\n' "${lines[@]}" | sort)" = "$(printf '%s\n' "$ID" "$a" | sort)" ]

  run runtime list --format json
  [ "$status" -eq 0 ]
  echo "$output" | jq -e --arg a "$a" --arg b "$ID" \
    'length == 2 and (map(select(.id == $a))[0].status == "running")
     and (map(select(.id == $b))[0].status == "created")
     and all(.[]; (.pid | type) == "number" and (.bundle | type) == "string")'
}

@test "ps --format json lists the host pids as a JSON array" {
  set_args sh -c 'sleep 100 & echo ready; wait'
  run_detached "$ID"
  wait_out "$ID" ready
  pid=$(ct_pid "$ID")
  wait_for eval '[ "$(runtime ps --format json "$ID" | jq length)" -eq 2 ]'
  run runtime ps --format json "$ID"
  [ "$status" -eq 0 ]
  echo "$output" | jq -e --argjson p "$pid" 'type == "array" and all(.[]; type == "number") and index($p) != null'
  child=$(echo "$output" | jq -r --argjson p "$pid" '.[] | select(. != $p)')
  [ "$(awk '/^PPid:/ { print $2 }' "/proc/$child/status")" = "$pid" ]
  [ "$(tr '\0' ' ' <"/proc/$child/cmdline")" = "sleep 100 " ]

  run runtime ps "$ID"
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == *PID* ]]
  [[ $output == *"sleep 100"* ]]
}

@test "pause freezes the container, resume thaws it" {
  set_args sh -c 'i=0; while :; do i=$((i+1)); echo $i; usleep 5000; done'
  run_detached "$ID"
  f=$BATS_TEST_TMPDIR/$ID.out
  wait_for test -s "$f"

  run runtime pause "$ID"
  [ "$status" -eq 0 ]
  [ "$(ct_state "$ID")" = paused ]
  n1=$(wc -l <"$f")
  sleep 0.3
  n2=$(wc -l <"$f")
  [ "$n1" -eq "$n2" ]

  run runtime resume "$ID"
  [ "$status" -eq 0 ]
  [ "$(ct_state "$ID")" = running ]
  wait_for eval '[ "$(wc -l <"$f")" -gt "$n2" ]'
}

@test "pause and resume of a stopped container fail" {
  set_args true
  create_ct "$ID"
  runtime start "$ID"
  wait_state "$ID" stopped
  run runtime pause "$ID"
  [ "$status" -ne 0 ]
  [[ $output == *"not running"* ]]
  run runtime resume "$ID"
  [ "$status" -ne 0 ]
  [ "$(ct_state "$ID")" = stopped ]
}

@test "two parallel creates of one id: exactly one succeeds, the other says it exists" {
  # runc 1.1.5 races here: the loser can fail with "exec fifo ... already
  # exists" and remove the winner's state and cgroups.
  cell_only
  set_args sleep 100
  b2=$BATS_TEST_TMPDIR/b-second
  new_bundle "$b2" "$ID" sleep 100
  runtime create --bundle "$BUNDLE" "$ID" </dev/null >"$BATS_TEST_TMPDIR/c1" 2>&1 &
  p1=$!
  runtime create --bundle "$b2" "$ID" </dev/null >"$BATS_TEST_TMPDIR/c2" 2>&1 &
  p2=$!
  s1=0; wait "$p1" || s1=$?
  s2=0; wait "$p2" || s2=$?
  echo "create 1: $s1 $(cat "$BATS_TEST_TMPDIR/c1")"
  echo "create 2: $s2 $(cat "$BATS_TEST_TMPDIR/c2")"
  if [ "$s1" -eq 0 ]; then
    [ "$s2" -ne 0 ]; loser=$BATS_TEST_TMPDIR/c2; winner=$BUNDLE
  else
    [ "$s2" -eq 0 ]; loser=$BATS_TEST_TMPDIR/c1; winner=$b2
  fi
  grep -q 'exists' "$loser"
  run runtime state "$ID"
  [ "$status" -eq 0 ]
  echo "$output" | jq -e --arg b "$winner" '.status == "created" and .bundle == $b'
  run runtime list -q
  [ "$output" = "$ID" ]
}

@test "create of an existing id fails and leaves the first container alone" {
  set_args sleep 100
  create_ct "$ID"
  pid=$(ct_pid "$ID")
  rt_bg "$BATS_TEST_TMPDIR/second.out" create --bundle "$BUNDLE" "$ID"
  [ "$status" -ne 0 ]
  [[ $output == *"already exists"* ]]
  [ "$(ct_state "$ID")" = created ]
  [ "$(ct_pid "$ID")" = "$pid" ]
}

@test "start twice fails; start of a stopped container fails" {
  set_args sh -c "$WAITER"
  create_ct "$ID"
  run runtime start "$ID"
  [ "$status" -eq 0 ]
  run runtime start "$ID"
  [ "$status" -ne 0 ]
  [[ $output == *"running"* ]]
  release "$(ct_pid "$ID")"
  wait_state "$ID" stopped
  run runtime start "$ID"
  [ "$status" -ne 0 ]
  [[ $output == *"stopped"* ]]
}

@test "spec writes a default config.json and refuses to overwrite it" {
  d=$BATS_TEST_TMPDIR/specdir
  mkdir -p "$d"
  run "$CELL" spec --bundle "$d"
  [ "$status" -eq 0 ]
  jq -e '(.ociVersion | startswith("1.")) and .process.args == ["sh"] and .root.path == "rootfs"
         and ([.linux.namespaces[].type] | index("pid") != null and index("mount") != null)
         and ([.mounts[].destination] | index("/proc") != null)' "$d/config.json"
  echo '{"sentinel":1}' >"$d/config.json"
  run "$CELL" spec --bundle "$d"
  [ "$status" -ne 0 ]
  [[ $output == *"exists"* ]]
  [ "$(cat "$d/config.json")" = '{"sentinel":1}' ]
}

@test "the default spec runs as a container (args replaced)" {
  d=$BATS_TEST_TMPDIR/bundle-spec
  mkdir -p "$d"
  cp -a "$CELL_TOP/build/fixtures/rootfs" "$d/rootfs"
  (cd "$d" && "$CELL" spec)
  jq --arg cg "cell-tests/$ID" '.process.terminal = false | .process.args = ["sh", "-c", "echo spec-ok"]
      | .linux.cgroupsPath = $cg' "$d/config.json" >"$d/c.json"
  mv "$d/c.json" "$d/config.json"
  run runtime run --bundle "$d" "$ID"
  [ "$status" -eq 0 ]
  [ "$output" = spec-ok ]
}

@test "state, start and kill of an unknown id say 'container does not exist'" {
  for cmd in state start kill pause resume ps; do
    run runtime $cmd no-such-ct
    [ "$status" -ne 0 ]
    [[ $output == *"container does not exist"* ]]
  done
}

@test "cell --version prints version, commit and spec lines" {
  cell_only
  run "$CELL" --version
  [ "$status" -eq 0 ]
  [[ ${lines[0]} =~ ^cell\ version\ [0-9]+\.[0-9]+ ]]
  printf '%s\n' "${lines[@]}" | grep -qE '^commit: .+'
  printf '%s\n' "${lines[@]}" | grep -qE '^spec: 1\.2\.[0-9]+'
}

@test "cell features prints the OCI features document" {
  cell_only
  run "$CELL" features
  [ "$status" -eq 0 ]
  echo "$output" | jq -e '
    (.ociVersionMin | startswith("1.")) and (.ociVersionMax | startswith("1.2"))
    and (.linux.namespaces | index("pid") != null and index("user") != null and index("time") != null)
    and (.linux.capabilities | index("CAP_SYS_ADMIN") != null)
    and (.mountOptions | index("rbind") != null)
    and (.hooks | index("createRuntime") != null)
    and (.linux.seccomp.enabled == true)'
}

@test "cell uses /run/cell as the default root" {
  cell_only
  set_args sleep 100
  rm -rf "/run/cell/$ID"
  "$CELL" create --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1 || {
    "$CELL" delete --force "$ID" >/dev/null 2>&1; false; }
  st=0; [ -d "/run/cell/$ID" ] || st=1
  run "$CELL" state "$ID"
  "$CELL" delete --force "$ID" >/dev/null 2>&1
  [ "$st" -eq 0 ]
  echo "$output" | jq -e '.status == "created"'
  [ ! -e "/run/cell/$ID" ]
}

@test "cell --cgroup-manager=cgroupfs and =disabled" {
  cell_only
  set_args sleep 100
  rt_bg "$BATS_TEST_TMPDIR/cgfs.out" --cgroup-manager=cgroupfs run -d --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 0 ]
  [ -n "$(leftover_cgroups "$ID")" ]
  runtime delete --force "$ID"
  [ -z "$(leftover_cgroups "$ID")" ]

  id2=$(new_id disabled)
  update_config '.linux.cgroupsPath = $cg' "$BUNDLE" --arg cg "cell-tests/$id2"
  rt_bg "$BATS_TEST_TMPDIR/dis.out" --cgroup-manager=disabled run -d --bundle "$BUNDLE" "$id2"
  [ "$status" -eq 0 ]
  [ "$(ct_state "$id2")" = running ]
  [ -z "$(leftover_cgroups "$id2")" ]
  # the container stays in our own cgroups
  pid=$(ct_pid "$id2")
  [ "$(cat "/proc/$pid/cgroup")" = "$(cat /proc/self/cgroup)" ]

  run runtime --cgroup-manager=bogus run --bundle "$BUNDLE" "$(new_id)"
  [ "$status" -ne 0 ]
  [[ $output == *"cgroup-manager"* ]]
}

@test "cell --systemd-cgroup fails clearly without systemd" {
  cell_only
  set_args true
  run runtime --systemd-cgroup run --bundle "$BUNDLE" "$ID"
  [ "$status" -ne 0 ]
  [[ $output == *systemd* ]]
  assert_no_leftovers "$ID" "$BUNDLE"
}

@test "an init killed from the host is reported stopped and deletes cleanly" {
  set_args sleep 100
  run_detached "$ID"
  pid=$(ct_pid "$ID")
  kill -9 "$pid"
  wait_state "$ID" stopped
  run runtime delete "$ID"
  [ "$status" -eq 0 ]
  [ -z "$(leftover_cgroups "$ID")" ]
}

@test "delete --force of a paused container thaws and removes it; exec into it fails first" {
  set_args sh -c 'sleep 100 & echo ready; wait'
  run_detached "$ID"
  wait_out "$ID" ready
  run runtime pause "$ID"
  [ "$status" -eq 0 ]
  run runtime exec "$ID" true
  [ "$status" -ne 0 ]
  [[ $output == *paused* ]]
  pids=$(runtime ps --format json "$ID" | jq -r '.[]')
  [ -n "$pids" ]
  run runtime delete --force "$ID"
  [ "$status" -eq 0 ]
  for p in $pids; do
    wait_for test ! -d "/proc/$p"
  done
  run runtime state "$ID"
  [[ $output == *"container does not exist"* ]]
  [ -z "$(leftover_cgroups "$ID")" ]
}
