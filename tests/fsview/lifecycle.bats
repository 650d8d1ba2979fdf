#!/usr/bin/env bats
# cellfs over the life of containers and of cellfs itself: cgroups removed
# and made again, thousands of cgroups under a low fd limit, the whole
# daemon killed and started again, an upgrade in place.
load helpers

setup() {
  MNT=$BATS_TEST_TMPDIR/mnt
  CELLFS_PID=
  MANY=
  BG=
}

teardown() {
  local p
  for p in $BG; do kill -9 "$p" 2>/dev/null || true; done
  stop_cellfs "$MNT"
  # CELLFS=build/asan/cellfs: no sanitizer report from any cellfs process
  if grep -E "AddressSanitizer|LeakSanitizer|runtime error" "$MNT.log" 2>/dev/null; then
    remove_cgs
    return 1
  fi
  remove_cgs
  if [ -n "$MANY" ] && [ -d "$MANY" ]; then
    for p in $(cat "$MANY"/*/cgroup.procs 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    find "$MANY" -mindepth 1 -maxdepth 1 -type d -exec rmdir {} + 2>/dev/null || true
    rmdir "$MANY" || true
  fi
}

# memory limit in kB seen by a reader in cgroup NAME through bind mounts
memtotal_in() { in_container "$1" "$MNT" awk '/^MemTotal:/ { print $2 }' /proc/meminfo; }

@test "a container deleted and made again 20 times under a reading loop: every read shows the current limit" {
  start_cellfs "$MNT"
  local i want bad=0 got
  for i in $(seq 1 20); do
    want=$(( (64 + 8 * i) * 1024 ))
    make_cg re $((want * 1024)) 0 -1
    # the reading loop: the container reads five times, the host in between
    got=$(in_container re "$MNT" sh -c 'for k in 1 2 3 4 5; do awk "/^MemTotal:/ { print \$2 }" /proc/meminfo || echo failed; done')
    cat "$MNT/proc/meminfo" >/dev/null
    for g in $got; do [ "$g" = "$want" ] || { echo "round $i: read $g, want $want"; bad=$((bad + 1)); }; done
    [ "$(echo "$got" | wc -l)" -eq 5 ]
    remove_cgs
  done
  [ "$bad" -eq 0 ]
}

# N memory cgroups below our own: $MANY/c1..cN, limit (100 + i % 100) MiB
make_many() {
  local n=$1 i
  MANY=/sys/fs/cgroup/memory$(own_path memory); MANY=${MANY%/}/cellfs-lifecycle-$$
  mkdir "$MANY"
  (cd "$MANY" && seq -f 'c%.0f' 1 "$n" | xargs mkdir)
  for i in $(seq 1 "$n"); do echo $(( (100 + i % 100) * 1048576 )) >"$MANY/c$i/memory.limit_in_bytes"; done
}

@test "5,000 cgroups read in turn under an fd limit of 1,024: every read is right, fds stay bounded" {
  make_many 5000
  CELLFS_WRAP="prlimit --nofile=1024:1024" start_cellfs "$MNT" --pid-cache-ms 1
  local worker; worker=$(worker_of "$CELLFS_PID")
  # a reader (a forked subshell, so a new pid) in each cgroup in turn
  run bash -c '
    bad=0 maxfd=0
    for i in $(seq 1 5000); do
      want=$(( (100 + i % 100) * 1024 ))
      line=$(echo $BASHPID >"$1/c$i/cgroup.procs" && read -r l <"$2/proc/meminfo" && echo "$l")
      got=${line//[!0-9]/}
      if [ "$got" != "$want" ]; then bad=$((bad + 1)); [ $bad -le 5 ] && echo "c$i: \"$line\", want $want kB"; fi
      if [ $((i % 500)) -eq 0 ]; then n=$(ls /proc/$3/fd | wc -l); [ $n -gt $maxfd ] && maxfd=$n; fi
    done
    echo "bad=$bad maxfd=$maxfd"' sh "$MANY" "$MNT" "$worker"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"bad=0 "* ]]
  local maxfd=${output##*maxfd=}
  [ "$maxfd" -gt 0 ] && [ "$maxfd" -lt 1024 ]
}

@test "cellfs raises its soft fd limit to the hard limit at start" {
  CELLFS_WRAP="prlimit --nofile=1024:4096" start_cellfs "$MNT"
  local worker; worker=$(worker_of "$CELLFS_PID")
  grep -E '^Max open files +4096 +4096 ' "/proc/$worker/limits"
  grep -E '^Max open files +4096 +4096 ' "/proc/$CELLFS_PID/limits"
}

# reading_container NAME LOG [PAUSE]: a container reads /proc/meminfo every
# PAUSE s (0.01; bash builtins), logging "TIME ok KB" or "TIME fail"
reading_container() {
  in_container "$1" "$MNT" bash -c 'while :; do
    if read -r l </proc/meminfo 2>/dev/null; then echo "$EPOCHREALTIME ok ${l//[!0-9]/}"; else echo "$EPOCHREALTIME fail"; fi
    sleep $0; done' "${3:-0.01}" >"$2" 2>/dev/null &
  BG="$BG $!"
  local i
  for i in $(seq 1 100); do grep -q " ok " "$2" 2>/dev/null && return 0; sleep 0.05; done
  echo "the container never read"; cat "$2"; return 1
}

@test "supervisor and worker SIGKILLed, cellfs started again: running containers read again within 1 s" {
  make_cg k $((192 * 1024 * 1024)) 0 -1
  start_cellfs "$MNT"
  local log=$BATS_TEST_TMPDIR/reads
  reading_container k "$log"
  local worker; worker=$(worker_of "$CELLFS_PID")
  kill -9 "$CELLFS_PID" "$worker"
  wait "$CELLFS_PID" 2>/dev/null || true
  local killed=$EPOCHREALTIME
  sleep 0.3
  grep -q " fail" "$log" # the dead binds answer ENOTCONN meanwhile
  start_cellfs "$MNT"
  local up=$EPOCHREALTIME
  sleep 1.5
  # one cellfs mount at the mountpoint: the dead one was detached, not stacked over
  [ "$(awk -v m="$MNT" '$5 == m' /proc/self/mountinfo | wc -l)" -eq 1 ]
  # the first good read after the restart, the failed reads since the kill
  run awk -v k="$killed" -v u="$up" '$1 > k && $2 == "fail" { f++ } $1 > u && $2 == "ok" && !t { t = $1 }
    END { printf "%d %.3f\n", f, t ? t - u : 99 }' "$log"
  echo "failed reads after the kill: ${output% *}, first good read ${output#* } s after the new mount"
  [ "${output#* }" != "99.000" ]
  awk -v d="${output#* }" 'BEGIN { exit !(d <= 1.0) }'
  # every good read shows the container's limit, never the host's
  [ "$(awk '$2 == "ok" && $3 != 196608' "$log" | wc -l)" -eq 0 ]
  tail -1 "$log" | grep -q " ok 196608$"
  # the new binds have the container's own inodes (the ones a fresh bind
  # made from its cgroup gets), not those of cellfs's or the host's readers
  local pid; pid=$(cat $(cg_procs k | head -1) | head -1)
  local ino; ino=$(stat -c %i "/proc/$pid/root/proc/meminfo")
  [ "$ino" = "$(in_container k "$MNT" stat -c %i /proc/meminfo)" ]
  [ "$ino" != "$(stat -c %i "$MNT/proc/meminfo")" ]
}

@test "SIGHUP upgrades cellfs in place to the binary now at its path: same pid and mount, no failed read" {
  make_cg u $((160 * 1024 * 1024)) 0 -1
  mkdir -p "$BATS_TEST_TMPDIR/bin"
  cp "$CELLFS" "$BATS_TEST_TMPDIR/bin/cellfs"
  CELLFS=$BATS_TEST_TMPDIR/bin/cellfs start_cellfs "$MNT"
  local log=$BATS_TEST_TMPDIR/reads mntid worker0 r i
  mntid=$(awk -v m="$MNT" '$5 == m { print $1 }' /proc/self/mountinfo)
  worker0=$(worker_of "$CELLFS_PID")
  reading_container u "$log" 0.002
  for r in 1 2 3; do
    cp "$CELLFS" "$BATS_TEST_TMPDIR/bin/cellfs.new"
    mv -f "$BATS_TEST_TMPDIR/bin/cellfs.new" "$BATS_TEST_TMPDIR/bin/cellfs"
    [[ "$(readlink "/proc/$CELLFS_PID/exe")" == *"(deleted)" ]]
    kill -HUP "$CELLFS_PID"
    for i in $(seq 1 100); do
      [[ "$(readlink "/proc/$CELLFS_PID/exe")" != *"(deleted)" ]] && break
      sleep 0.02
    done
    [[ "$(readlink "/proc/$CELLFS_PID/exe")" != *"(deleted)" ]] # runs the new file
    sleep 0.3
  done
  kill -9 $BG; BG=
  [ "$(awk -v m="$MNT" '$5 == m { print $1 }' /proc/self/mountinfo)" = "$mntid" ]
  [ "$(worker_of "$CELLFS_PID")" != "$worker0" ]
  echo "reads: $(grep -c ' ok ' "$log") ok, $(grep -c ' fail' "$log") failed"
  [ "$(grep -c ' fail' "$log")" -eq 0 ]
  [ "$(grep -c ' ok ' "$log")" -ge 100 ]
  [ "$(awk '$2 == "ok" && $3 != 163840' "$log" | wc -l)" -eq 0 ]
}
