#!/usr/bin/env bats
# crash.bats - a runtime killed (SIGKILL) at a random point of create, run -d,
# delete or exec leaves nothing that `delete --force` cannot clean, and the id
# can be created again.  Each verb is one test looping over $CRASH_TRIALS
# trials (default 200) with a kill after a random 0-10 ms; the figures
# (trials, half-made leftovers seen before the cleanup, failures) go to fd 3.
# After every delete --force: no state dir, cgroup or process of the
# container; every 5th trial also checks that the leftover answers state,
# shows in list and blocks a create of its id, and that no mount is left.

load helpers

: "${CRASH_TRIALS:=200}"

# procs_left ID - processes of the container still alive: its init and exec
# processes (sleep 86401/86402) and clones of the runtime naming ID.  Waits
# up to 2 s for ones already dying (a killed runtime's children exit on
# their own).
procs_left() {
  local left i
  for i in $(seq 100); do
    left=$(grep -lsE -- "[8]6401|[8]6402|[${1:0:1}]${1:1}" /proc/[0-9]*/cmdline)
    [ -z "$left" ] && return 0
    sleep 0.02
  done
  echo "$left"
}

# check_clean ID - after delete --force: nothing of ID left (the cgroup
# dirs to look at are listed once per test in $CG_DIRS).
check_clean() {
  local id=$1 left= d
  [ -e "$ROOT/$id" ] && { echo "state dir $ROOT/$id left"; return 1; }
  for d in $CG_DIRS; do [ -d "$d" ] && left+="$d "; done
  [ -n "$left" ] && { echo "cgroups left: $left"; return 1; }
  left=$(procs_left "$id")
  [ -n "$left" ] && { echo "processes left: $left"; return 1; }
  [ "${2:-}" = quick ] && return 0
  left=$(mounts_under "$BATS_TEST_TMPDIR")
  [ -n "$left" ] && { echo "mounts left: $left"; return 1; }
  return 0
}

# The kill comes after a random 0-10 ms (0-60 ms under the sanitizer build,
# which starts that much slower), or 0-$CRASH_MAX_MS ms.
: "${CRASH_MAX_MS:=$([ -n "${CELL_ASAN:-}" ] && echo 60 || echo 10)}"

# kill_after CMD... - start the runtime, SIGKILL it after the random delay.
kill_after() {
  "$CELL" --root "$ROOT" "$@" </dev/null >/dev/null 2>&1 &
  local pid=$!
  sleep "$(printf '0.%03d' $((RANDOM * CRASH_MAX_MS / 32768)))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# crash_trials VERB - the trial loop; prints figures to fd 3.
crash_trials() {
  local verb=$1 id=$ID n half=0 failed=0 msg= start=$SECONDS first= full
  for n in $(seq "$CRASH_TRIALS"); do
    case $verb in
      create) kill_after create --bundle "$BUNDLE" "$id" ;;
      run) kill_after run -d --bundle "$BUNDLE" "$id" ;;
      delete)
        runtime create --bundle "$BUNDLE" "$id" </dev/null >"$BATS_TEST_TMPDIR/rt.out" 2>&1 ||
          { msg="create failed: $(cat "$BATS_TEST_TMPDIR/rt.out")"; break; }
        [ $((n % 2)) = 0 ] && runtime start "$id"
        kill_after delete --force "$id" ;;
      exec)
        runtime run -d --bundle "$BUNDLE" "$id" </dev/null >"$BATS_TEST_TMPDIR/rt.out" 2>&1 ||
          { msg="run -d failed: $(cat "$BATS_TEST_TMPDIR/rt.out")"; break; }
        kill_after exec "$id" sleep 86402 ;;
    esac
    # every 5th trial also: state, list, create over it, mounts
    full=$((n % 5 == 0))
    [ -d "$ROOT/$id" ] && half=$((half + 1))
    if [ -d "$ROOT/$id" ] && [ "$full" = 1 ]; then
      # a half-made or half-deleted container is visible and answers state
      runtime state "$id" >/dev/null 2>&1 || msg="state fails on a leftover"
      runtime list -q 2>/dev/null | grep -qx -- "$id" || msg="list hides a leftover"
      if [ "$verb" = create ] && ! runtime state "$id" 2>/dev/null | grep -q '"status":"created"'; then
        # a dead half-made one keeps its id until deleted, as runc
        runtime create --bundle "$BUNDLE" "$id" </dev/null 2>&1 | grep -q "already exists" ||
          msg="create over a leftover does not say already exists"
      fi
    fi
    runtime delete --force "$id" >/dev/null 2>&1 || msg="delete --force failed"
    [ -n "$msg" ] || msg=$(check_clean "$id" "$([ "$full" = 1 ] || echo quick)") || true
    if [ -n "$msg" ]; then
      failed=$((failed + 1))
      [ -z "$first" ] && first="trial $n: $msg"
      msg=
      # clean by hand so that later trials still mean something
      for d in $CG_DIRS; do [ ! -d "$d" ] || remove_cgroup_dir "$d" || true; done
      rm -rf "${ROOT:?}/$id"
    fi
  done
  echo "# $verb: $CRASH_TRIALS trials, $half left a container to clean, $failed failed, $((SECONDS - start)) s${first:+; first: $first}" >&3
  [ -z "$msg" ] && [ "$failed" = 0 ] || { echo "$verb: $failed failures; $first $msg" >&2; return 1; }
  # the id is usable again
  create_ct "$id"
  runtime delete --force "$id"
  check_clean "$id"
  [ -z "$(procs_using "$BUNDLE" "$id")" ]
}

setup() {
  cell_setup
  cell_only
  set_args sleep 86401
  CG_DIRS=$(cgroup_dirs "$ID")
}

@test "crash: create killed at random points leaves nothing delete --force cannot clean" {
  crash_trials create
}

@test "crash: run -d killed at random points leaves nothing delete --force cannot clean" {
  crash_trials run
}

@test "crash: delete killed at random points is finished by delete --force" {
  crash_trials delete
}

@test "crash: exec killed at random points leaves nothing after delete --force" {
  crash_trials exec
}

@test "crash: a state dir without state.json (create killed after mkdir) is listed, stopped, and deleted" {
  mkdir -p "$ROOT/$ID"
  run runtime state "$ID"
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | jq -r .status)" = stopped ]
  run runtime list -q
  [[ "$output" == *"$ID"* ]]
  run runtime create --bundle "$BUNDLE" "$ID"
  [ "$status" -ne 0 ]
  [[ "$output" == *"already exists"* ]]
  runtime delete --force "$ID"
  [ ! -e "$ROOT/$ID" ]
  create_ct "$ID"
}

@test "crash: a create killed while its init waits is stopped, cannot start, and delete --force kills the init" {
  create_ct "$ID"
  pid=$(ct_pid "$ID")
  # what a create killed just before it finished leaves
  : >"$ROOT/$ID/.creating"
  [ "$(ct_state "$ID")" = stopped ]
  run runtime start "$ID"
  [ "$status" -ne 0 ]
  kill -0 "$pid"
  runtime delete "$ID"
  wait_for eval '! kill -0 '"$pid"
  check_clean "$ID"
}

# frozen_elsewhere PID - move PID into a freezer cgroup of the test's own and
# freeze it there; prints that cgroup's directory (teardown removes it).
frozen_elsewhere() {
  local pid=$1 fz
  if [ "$(stat -fc %T /sys/fs/cgroup/freezer 2>/dev/null)" = cgroupfs ]; then
    fz=/sys/fs/cgroup/freezer/h-crash-frozen-$$-$RANDOM
    echo "$fz" >>"$BATS_TEST_TMPDIR/own-cgroups"
    mkdir "$fz"
    echo "$pid" >"$fz/cgroup.procs"
    echo FROZEN >"$fz/freezer.state"
    wait_for grep -qx FROZEN "$fz/freezer.state"
  else
    fz=/sys/fs/cgroup/h-crash-frozen-$$-$RANDOM
    echo "$fz" >>"$BATS_TEST_TMPDIR/own-cgroups"
    mkdir "$fz"
    echo "$pid" >"$fz/cgroup.procs"
    echo 1 >"$fz/cgroup.freeze"
    wait_for grep -qx "frozen 1" "$fz/cgroup.events"
  fi
  echo "$fz"
}

teardown() {
  local rc=0 d own=$BATS_TEST_TMPDIR/own-cgroups
  # thaw the test's own freezer cgroups first, so that the containers' deletes can finish
  for d in $(cat "$own" 2>/dev/null); do
    [ ! -f "$d/cgroup.freeze" ] || echo 0 >"$d/cgroup.freeze" || true
    [ ! -f "$d/freezer.state" ] || echo THAWED >"$d/freezer.state" || true
  done
  cell_teardown || rc=$?
  for d in $(cat "$own" 2>/dev/null); do
    [ ! -d "$d" ] || remove_cgroup_dir "$d" || rc=1
  done
  return $rc
}

@test "delete --force of a container whose init is frozen in another freezer cgroup finishes" {
  run_detached "$ID"
  pid=$(ct_pid "$ID")
  fz=$(frozen_elsewhere "$pid")
  start=$SECONDS
  run timeout -k 5 60 "$CELL" --root "$ROOT" delete --force "$ID"
  echo "# delete --force took $((SECONDS - start)) s" >&3
  [ "$status" -eq 0 ]
  [ $((SECONDS - start)) -lt 15 ]
  wait_for eval '[ -z "$(cat '"$fz"'/cgroup.procs)" ]'
  check_clean "$ID"
}

@test "list shows a create in progress as creating, and its id is taken" {
  update_config '.hooks = {"prestart": [{"path": "/bin/sleep", "args": ["sleep", "2"]}]}'
  "$CELL" --root "$ROOT" create --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1 &
  cpid=$!
  wait_for eval 'runtime list | grep -q "^$ID .* creating "'
  run runtime create --bundle "$BUNDLE" "$ID"
  [ "$status" -ne 0 ]
  [[ "$output" == *"already exists"* ]]
  wait "$cpid"
  [ "$(ct_state "$ID")" = created ]
}

@test "crash: a cell-made v1 cpuset parent left without cpus (its create killed) is filled by the next create" {
  local mnt own par
  # (on a host without v1 cpuset: any hierarchy, a marked parent still works)
  read -r mnt own < <(cgroup_hierarchies | awk '$1 ~ /\/cpuset$/')
  [ -n "$mnt" ] || read -r mnt own < <(cgroup_hierarchies | head -n1)
  par="$mnt${own%/}/cell-crash-cpuset-$$"
  mkdir "$par"
  # what a create killed right after its mkdir leaves: marked, cpus/mems empty
  setfattr -n trusted.cell.made -v 1 "$par" 2>/dev/null || python3 -c \
    'import os,sys; os.setxattr(sys.argv[1], "trusted.cell.made", b"1")' "$par"
  [ ! -e "$par/cpuset.cpus" ] || [ -z "$(tr -d ' \n' <"$par/cpuset.cpus")" ]
  update_config ".linux.cgroupsPath = \"cell-crash-cpuset-$$/$ID\""
  set_args true
  run runtime run --bundle "$BUNDLE" "$ID"
  cat_out=$output
  rmdir "$par"/* 2>/dev/null || true
  rmdir "$par" 2>/dev/null || true
  echo "$cat_out"
  [ "$status" -eq 0 ]
}
