#!/usr/bin/env bats
# dockerd 20.10 (Debian docker.io) driving the runtime under test, added as
# runtime "cell" (--add-runtime cell=$CELL, also the default runtime).
# Everything is private to this file: a containerd of our own (dockerd would
# otherwise reuse /run/containerd/containerd.sock if one were running),
# --data-root, --exec-root, the API socket, --pidfile and a daemon.json that
# moves the trust key away from /etc/docker.  No networking: --bridge=none,
# --iptables=false, containers run with --network none.  Container cgroups
# go below our own cgroup: dockerd --cgroup-parent $ENG_CGPARENT with the
# cgroupfs driver gives cgroupsPath <parent>/<container id>.

bats_require_minimum_version 1.5.0
load lib

IMG=cellbusybox:latest

d() { eng_docker "$@"; }
run_d() { d run -d --network none "$@"; }

setup_file() {
  command -v dockerd >/dev/null && [ -x "$ENG_DOCKER" ] ||
    { echo "dockerd or $ENG_DOCKER missing: run make engines-deps" >&2; return 1; }
  eng_init docker || return 1
  eng_dockerd_start cell "$CELL" "$IMG"
}

teardown_file() {
  if [ -n "${ENG_TMP:-}" ] && [ -S "$ENG_TMP/docker/docker.sock" ]; then
    d rm -f $(d ps -aq) >/dev/null 2>&1
  fi
  eng_dockerd_stop
  eng_fini
}

teardown() {
  local ids
  ids=$(d ps -aq 2>/dev/null)
  [ -z "$ids" ] || d rm -f $ids >/dev/null 2>&1
  true
}

state_of() { d inspect --format '{{.State.Status}}' "$1"; }

@test "docker: runtime 'cell' is \$CELL and the default" {
  run d info --format '{{.DefaultRuntime}} {{(index .Runtimes "cell").Path}} {{.CgroupDriver}}'
  [ "$status" -eq 0 ]
  [ "$output" = "cell $CELL cgroupfs" ]
}

@test "docker run --rm: output and exit status" {
  run d run --rm --network none "$IMG" sh -c 'echo hello from pid $$'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "hello from pid 1" ]
  run d run --rm --network none "$IMG" sh -c 'exit 9'
  [ "$status" -eq 9 ]
  [ -z "$(d ps -aq)" ]
}

@test "docker run -it: the process gets a pty, exit status passes through" {
  run eng_tty "$ENG_DOCKER -H unix://$ENG_TMP/docker/docker.sock run --rm -it --network none $IMG sh -c 'tty; echo run-it-hi; exit 3'"
  echo "$output"
  [ "$status" -eq 3 ]
  [[ "$output" == *"/dev/pts/0"* ]]
  [[ "$output" == *"run-it-hi"* ]]
}

@test "docker run -d + exec (plain and -it) + top; cgroup below ours" {
  id=$(run_d "$IMG" /usr/local/bin/sigrec)
  [ "$(state_of "$id")" = running ]
  [ "$(d inspect --format '{{.HostConfig.Runtime}}' "$id")" = cell ]
  pid=$(d inspect --format '{{.State.Pid}}' "$id")
  grep -qx "[0-9]*:memory:$ENG_CGPARENT/$id" "/proc/$pid/cgroup"

  run d exec "$id" sh -c 'echo exec-ok; cat /proc/1/cmdline | tr "\0" " "'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = exec-ok ]
  [[ "${lines[1]}" == *"/usr/local/bin/sigrec"* ]]
  run d exec "$id" sh -c 'exit 4'
  [ "$status" -eq 4 ]
  run d exec "$id" tty
  [ "$status" -eq 1 ]
  run eng_tty "$ENG_DOCKER -H unix://$ENG_TMP/docker/docker.sock exec -it $id sh -c 'tty; echo exec-it-hi'"
  echo "$output"
  [[ "$output" == *"/dev/pts/"* ]]
  [[ "$output" == *"exec-it-hi"* ]]

  # top goes through the runtime's `ps --format json`: it must list the init
  run d top "$id" -o pid,args
  echo "$output"
  [ "$status" -eq 0 ]
  echo "$output" | awk 'NR > 1 { print $1 }' | grep -qx "$pid"
  [[ "$output" == *"/usr/local/bin/sigrec"* ]]
}

@test "docker update --memory --cpu-shares --pids-limit reaches the cgroup files" {
  id=$(run_d "$IMG" /usr/local/bin/sigrec)
  cg=$ENG_CGPARENT/$id
  run d update --memory 64m --memory-swap 128m --cpu-shares 512 --pids-limit 100 "$id"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(eng_cg_read memory "$cg" memory.limit_in_bytes)" = 67108864 ]
  [ "$(eng_cg_read memory "$cg" memory.memsw.limit_in_bytes)" = 134217728 ]
  [ "$(eng_cg_read cpu "$cg" cpu.shares)" = 512 ]
  [ "$(eng_cg_read pids "$cg" pids.max)" = 100 ]
  run d update --memory 96m --pids-limit 200 "$id"
  [ "$status" -eq 0 ]
  [ "$(eng_cg_read memory "$cg" memory.limit_in_bytes)" = 100663296 ]
  [ "$(eng_cg_read pids "$cg" pids.max)" = 200 ]
  [ "$(eng_cg_read cpu "$cg" cpu.shares)" = 512 ]
  [ "$(state_of "$id")" = running ]
}

@test "docker pause/unpause freezes and thaws the cgroup" {
  id=$(run_d "$IMG" /usr/local/bin/sigrec)
  run d pause "$id"
  [ "$status" -eq 0 ]
  [ "$(state_of "$id")" = paused ]
  [ "$(eng_cg_read freezer "$ENG_CGPARENT/$id" freezer.state)" = FROZEN ]
  run d unpause "$id"
  [ "$status" -eq 0 ]
  [ "$(state_of "$id")" = running ]
  [ "$(eng_cg_read freezer "$ENG_CGPARENT/$id" freezer.state)" = THAWED ]
}

@test "docker kill -s USR1 reaches the trap; stop ends it with status 0" {
  id=$(run_d "$IMG" /usr/local/bin/sigrec)
  pid=$(d inspect --format '{{.State.Pid}}' "$id")
  eng_wait_for 10 d exec "$id" test -f /tmp/ready
  run d kill -s USR1 "$id"
  [ "$status" -eq 0 ]
  eng_wait_for 5 d exec "$id" grep -qx USR1 /tmp/signals
  run d stop -t 10 "$id"
  [ "$status" -eq 0 ]
  [ "$(state_of "$id")" = exited ]
  [ "$(d inspect --format '{{.State.ExitCode}}' "$id")" = 0 ]
  ! kill -0 "$pid" 2>/dev/null
}

@test "docker stop escalates to SIGKILL for a process ignoring SIGTERM" {
  id=$(run_d "$IMG" sleep 1000)
  run d stop -t 1 "$id"
  [ "$status" -eq 0 ]
  [ "$(state_of "$id")" = exited ]
  [ "$(d inspect --format '{{.State.ExitCode}}' "$id")" = 137 ]
}

@test "docker rm -f removes a running container, its process and cgroup" {
  id=$(run_d "$IMG" sleep 1000)
  pid=$(d inspect --format '{{.State.Pid}}' "$id")
  run d rm -f "$id"
  [ "$status" -eq 0 ]
  run d inspect "$id"
  [ "$status" -ne 0 ]
  eng_wait_for 5 eval '! kill -0 '"$pid"' 2>/dev/null'
  [ ! -d "$(eng_cg_file memory "$ENG_CGPARENT/$id" .)" ]
}

@test "docker run exit codes: 127 missing binary, 126 not executable" {
  run -127 d run --rm --network none "$IMG" /no/such/binary
  echo "$output"
  [[ "$output" == *"/no/such/binary"* ]]
  run -126 d run --rm --network none "$IMG" /usr/local/bin/noexec
  echo "$output"
  [[ "$output" != *should-not-run* ]]
}
