#!/usr/bin/env bats
# containerd 1.6 + ctr driving the runtime under test through
# containerd-shim-runc-v2 (`ctr run --runc-binary $CELL`).  The containerd
# daemon is private to this file (root, state, gRPC/ttrpc sockets under
# $ENG_TMP, no CRI plugin); the runtime's state root (--runc-root) and IO
# fifos (--fifo-dir) are private too.  Each container's cgroup is set with
# `ctr run --cgroup $ENG_CGPARENT/<id>` (an absolute path that the runtime
# applies in every hierarchy), so it lands below our own cgroup.

bats_require_minimum_version 1.5.0
load lib

IMG=docker.io/library/cellbusybox:latest
NS=celltest

c() { eng_t ctr --address "$ENG_CTRD_SOCK" -n "$NS" "$@"; }
# task exec with private fifos (ctr's default is /run/containerd/fifo)
c_exec() { c task exec --fifo-dir "$ENG_TMP/fifo" "$@"; }
# c_run [ctr run options...] -- ID CMD...
c_run() {
  local opts=() id
  while [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  id=$1
  shift
  c run "${opts[@]}" --runc-binary "$CELL" --runc-root "$ENG_TMP/runc-root" \
    --fifo-dir "$ENG_TMP/fifo" --cgroup "$ENG_CGPARENT/$id" "$IMG" "$id" "$@"
}
task_status() { c task ls | awk -v id="$1" '$1 == id { print $3 }'; }
task_pid() { c task ls | awk -v id="$1" '$1 == id { print $2 }'; }

# Kill and delete every task and container in our namespace.
remove_all() {
  local id
  for id in $(c task ls -q 2>/dev/null); do
    c task resume "$id" >/dev/null 2>&1
    c task kill -s KILL "$id" >/dev/null 2>&1
  done
  for id in $(c task ls -q 2>/dev/null); do
    eng_wait_for 5 eval "[ \"\$(task_status $id)\" = STOPPED ]"
    c task delete -f "$id" >/dev/null 2>&1
  done
  for id in $(c container ls -q 2>/dev/null); do
    c container delete "$id" >/dev/null 2>&1
  done
}

setup_file() {
  command -v containerd >/dev/null && command -v ctr >/dev/null ||
    { echo "containerd/ctr missing: run make engines-deps" >&2; return 1; }
  eng_init containerd || return 1
  mkdir -p "$ENG_TMP/runc-root" "$ENG_TMP/fifo"
  eng_containerd_start containerd || return 1
  c image import "$ENG_IMAGE_DIR/oci-image.tar" >"$ENG_TMP/logs/import.log" 2>&1 || {
    cat "$ENG_TMP/logs/import.log" >&2
    return 1
  }
}

teardown_file() {
  if [ -n "${ENG_CTRD_SOCK:-}" ] && [ -S "$ENG_CTRD_SOCK" ]; then
    remove_all
    c image rm "$IMG" >/dev/null 2>&1
  fi
  eng_daemon_stop containerd
  # shims of tasks that could not be deleted: their pids are in the bundles
  local f
  for f in "$ENG_TMP"/containerd/state/io.containerd.runtime.v2.task/"$NS"/*/shim.pid; do
    [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
  done
  eng_fini
}

teardown() {
  remove_all
}

@test "ctr run --rm: output and exit status through the shim" {
  run c_run --rm -- r1 sh -c 'echo hello from pid $$'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "hello from pid 1" ]
  run c_run --rm -- r2 sh -c 'exit 5'
  [ "$status" -eq 5 ]
  run c container ls -q
  [ -z "$output" ]
  # the runtime's state for finished containers is gone
  [ -z "$(ls -A "$ENG_TMP/runc-root/$NS" 2>/dev/null)" ]
}

@test "ctr run -t: the process gets a pty" {
  run eng_tty "ctr --address $ENG_CTRD_SOCK -n $NS run --rm -t --runc-binary $CELL --runc-root $ENG_TMP/runc-root --fifo-dir $ENG_TMP/fifo --cgroup $ENG_CGPARENT/t1 $IMG t1 sh -c 'tty; echo run-t-hi; exit 3'"
  echo "$output"
  [ "$status" -eq 3 ]
  [[ "$output" == *"/dev/pts/0"* ]]
  [[ "$output" == *"run-t-hi"* ]]
}

@test "ctr run -d + task exec: output, exit status, cgroup below ours" {
  c_run -d -- d1 /usr/local/bin/sigrec
  [ "$(task_status d1)" = RUNNING ]
  pid=$(task_pid d1)
  grep -qx "[0-9]*:memory:$ENG_CGPARENT/d1" "/proc/$pid/cgroup"
  eng_wait_for 10 c_exec --exec-id w d1 test -f /tmp/ready
  run c_exec --exec-id e1 d1 sh -c 'echo exec-ok; cat /proc/1/cmdline | tr "\0" " "'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = exec-ok ]
  [[ "${lines[1]}" == *"/usr/local/bin/sigrec"* ]]
  run c_exec --exec-id e2 d1 sh -c 'exit 6'
  [ "$status" -eq 6 ]
  run c_exec --exec-id e3 d1 /no/such/binary
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"/no/such/binary"* ]]
}

@test "ctr task exec -t gets a pty; without -t it does not" {
  c_run -d -- x1 /usr/local/bin/sigrec
  run eng_tty "ctr --address $ENG_CTRD_SOCK -n $NS task exec --fifo-dir $ENG_TMP/fifo -t --exec-id et x1 sh -c 'tty; echo exec-t-hi'"
  echo "$output"
  [[ "$output" == *"/dev/pts/"* ]]
  [[ "$output" == *"exec-t-hi"* ]]
  run c_exec --exec-id en x1 tty
  [ "$status" -eq 1 ]
  [[ "$output" == *"not a tty"* ]]
}

@test "ctr task ps lists the container's processes (runtime ps)" {
  c_run -d -- p1 sh -c 'sleep 1000 & sleep 1000 & wait'
  pid=$(task_pid p1)
  cgprocs=$(eng_cg_file pids "$ENG_CGPARENT/p1" cgroup.procs)
  eng_wait_for 5 eval "[ \$(wc -l <$cgprocs) -eq 3 ]"
  run c task ps p1
  echo "$output"
  [ "$status" -eq 0 ]
  listed=$(echo "$output" | awk 'NR > 1 { print $1 }' | sort -n)
  [ "$(echo "$listed" | wc -l)" -eq 3 ]
  echo "$listed" | grep -qx "$pid"
  [ "$listed" = "$(sort -n "$cgprocs")" ]
}

@test "ctr task pause/resume freezes and thaws the cgroup" {
  c_run -d -- f1 /usr/local/bin/sigrec
  run c task pause f1
  [ "$status" -eq 0 ]
  [ "$(task_status f1)" = PAUSED ]
  [ "$(eng_cg_read freezer "$ENG_CGPARENT/f1" freezer.state)" = FROZEN ]
  run c task resume f1
  [ "$status" -eq 0 ]
  [ "$(task_status f1)" = RUNNING ]
  [ "$(eng_cg_read freezer "$ENG_CGPARENT/f1" freezer.state)" = THAWED ]
  run c_exec --exec-id a f1 echo alive
  [ "$output" = alive ]
}

@test "ctr task kill: USR1 reaches the trap, TERM stops it, delete reports the status" {
  c_run -d -- k1 /usr/local/bin/sigrec
  pid=$(task_pid k1)
  eng_wait_for 10 c_exec --exec-id w k1 test -f /tmp/ready
  run c task kill -s USR1 k1
  [ "$status" -eq 0 ]
  eng_wait_for 5 c_exec --exec-id s k1 grep -qx USR1 /tmp/signals
  [ "$(task_status k1)" = RUNNING ]
  run c task kill k1
  [ "$status" -eq 0 ]
  eng_wait_for 10 eval '[ "$(task_status k1)" = STOPPED ]'
  ! kill -0 "$pid" 2>/dev/null
  run c task delete k1
  echo "$output"
  [ "$status" -eq 0 ]
  run c task ls -q
  [ -z "$output" ]
  run c container delete k1
  [ "$status" -eq 0 ]
  [ ! -e "$ENG_TMP/runc-root/$NS/k1" ]
  [ ! -d "$(eng_cg_file memory "$ENG_CGPARENT/k1" .)" ]
}

@test "ctr task kill -s KILL and delete: exit status 137, state and cgroup gone" {
  c_run -d -- k2 sleep 1000
  pid=$(task_pid k2)
  # a running task cannot be deleted without --force
  run c task delete k2
  [ "$status" -ne 0 ]
  run c task kill -s KILL k2
  [ "$status" -eq 0 ]
  eng_wait_for 10 eval '[ "$(task_status k2)" = STOPPED ]'
  ! kill -0 "$pid" 2>/dev/null
  run c task delete k2
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"137"* ]]
  c container delete k2
  [ ! -e "$ENG_TMP/runc-root/$NS/k2" ]
  [ ! -d "$(eng_cg_file memory "$ENG_CGPARENT/k2" .)" ]
}

@test "ctr task delete -f removes a running task" {
  c_run -d -- k3 sleep 1000
  pid=$(task_pid k3)
  run c task delete -f k3
  [ "$status" -eq 0 ]
  eng_wait_for 5 eval '! kill -0 '"$pid"' 2>/dev/null'
  run c task ls -q
  [ -z "$output" ]
  [ ! -e "$ENG_TMP/runc-root/$NS/k3" ]
}
