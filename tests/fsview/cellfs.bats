#!/usr/bin/env bats
# cellfs end to end on this host (cgroup v1 / hybrid): readers in child
# cgroups below our own, "containers" emulated with unshare -m + bind mounts.
load helpers

setup() {
  MNT=$BATS_TEST_TMPDIR/mnt
  CELLFS_PID=
}

teardown() {
  stop_cellfs "$MNT"
  [ -z "${MNT2:-}" ] || { CELLFS_PID=${CELLFS_PID2:-}; stop_cellfs "$MNT2"; }
  remove_cgs
}

@test "cellfs --help, --version and bad options" {
  run "$CELLFS" --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"--no-quota-view"* ]]
  run "$CELLFS" --version
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "cellfs version "[0-9]* ]]
  [[ "${lines[1]}" == "commit: "?* ]]
  run "$CELLFS" --threads 0 /tmp/x
  [ "$status" -eq 2 ]
  [[ "$output" == *"--threads"* ]]
  run "$CELLFS" --cache-ms -1 /tmp/x
  [ "$status" -eq 2 ]
  [[ "$output" == *"--cache-ms"* ]]
  run "$CELLFS" relative/path
  [ "$status" -eq 2 ]
  [[ "$output" == *"absolute"* ]]
}

@test "the tree lists every file and cat reads them all" {
  start_cellfs "$MNT"
  run ls "$MNT/proc"
  [ "$output" = "$(printf 'cpuinfo\ndiskstats\nloadavg\nmeminfo\npressure\nstat\nswaps\nuptime')" ]
  run ls "$MNT/proc/pressure"
  [ "$output" = "$(printf 'cpu\nio\nmemory')" ]
  run ls "$MNT/sys/devices/system/cpu"
  [ "$output" = "$(printf 'online\npossible\npresent')" ]
  for f in $FILES pressure/cpu pressure/memory pressure/io; do
    run cat "$MNT/proc/$f"
    [ "$status" -eq 0 ]
  done
  for f in meminfo cpuinfo stat uptime loadavg; do
    [ -n "$(cat "$MNT/proc/$f")" ]
  done
  run sh -c "echo x > $MNT/proc/meminfo"
  [ "$status" -ne 0 ]
}

@test "container with 256 MiB, cpuset 0, 50% quota sees its own limits" {
  [ "$(nproc --all)" -ge 2 ] # the view must shrink from more than one CPU
  make_cg a $((256 * 1024 * 1024)) 0 50000
  start_cellfs "$MNT"
  run in_container a "$MNT" sh -c 'free -m | awk "/^Mem:/{print \$2}"'
  [ "$status" -eq 0 ]
  [ "$output" -ge 255 ] && [ "$output" -le 256 ]
  run in_container a "$MNT" cat /sys/devices/system/cpu/online
  [ "$output" = "0" ]
  run in_container a "$MNT" sh -c 'grep -c "^processor" /proc/cpuinfo'
  [ "$output" = "1" ]
  run in_container a "$MNT" sh -c 'grep -c "^cpu[0-9]" /proc/stat'
  [ "$output" = "1" ]
  run in_container a "$MNT" sh -c 'top -bn1 | grep "Mem :"'
  [ "$status" -eq 0 ]
  [[ "$output" == *"256.0 total"* ]]
  # uptime: the container's init is our pid namespace's, so the host figure
  run in_container a "$MNT" cat /proc/uptime
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^[0-9]+\.[0-9]{2}\ [0-9]+\.[0-9]{2}$ ]]
}

@test "a container in its own pid namespace: uptime counts from its init" {
  make_cg p $((128 * 1024 * 1024)) 0 -1
  start_cellfs "$MNT"
  local procs; procs=$(cg_procs p | tr '\n' ' ')
  sleep 1.5 # host uptime moves on; the container starts now
  run unshare -m -p --fork --mount-proc sh -c '
    for p in '"$procs"'; do echo $$ > $p; done
    sleep 1.2
    cat '"$MNT"'/proc/uptime; cat '"$MNT"'/proc/meminfo'
  [ "$status" -eq 0 ]
  up=$(echo "$output" | head -1 | cut -d' ' -f1)
  awk -v u="$up" 'BEGIN { exit !(u >= 1.0 && u < 5.0) }'
  [[ "$output" == *"MemTotal:         131072 kB"* ]]
}

@test "two containers read at the same time and each sees its own limit" {
  make_cg a $((256 * 1024 * 1024)) 0 -1
  make_cg b $((512 * 1024 * 1024)) 0 -1
  start_cellfs "$MNT"
  loop='for i in $(seq 300); do grep MemTotal /proc/meminfo; done | sort -u'
  in_container a "$MNT" sh -c "$loop" >"$BATS_TEST_TMPDIR/a" &
  pa=$!
  in_container b "$MNT" sh -c "$loop" >"$BATS_TEST_TMPDIR/b" &
  pb=$!
  wait $pa
  wait $pb
  [ "$(cat "$BATS_TEST_TMPDIR/a")" = "MemTotal:         262144 kB" ]
  [ "$(cat "$BATS_TEST_TMPDIR/b")" = "MemTotal:         524288 kB" ]
}

@test "render cache: a limit change shows after the cache period, at once with --cache-ms 0" {
  make_cg m $((256 * 1024 * 1024)) 0 -1
  local mem; mem=$(grep -- "/memory/.*/cellfs-bats-$$-m\$" "$CGS_FILE")
  start_cellfs "$MNT" --cache-ms 1500
  run in_cg m grep MemTotal "$MNT/proc/meminfo"
  [ "$output" = "MemTotal:         262144 kB" ]
  # a cgroup first seen less than 1 s ago is not cached (a runtime may not
  # have written its limits yet): a change right away shows at once
  echo $((192 * 1024 * 1024)) >"$mem/memory.limit_in_bytes"
  run in_cg m grep MemTotal "$MNT/proc/meminfo"
  [ "$output" = "MemTotal:         196608 kB" ]
  sleep 1.1
  run in_cg m grep MemTotal "$MNT/proc/meminfo"
  [ "$output" = "MemTotal:         196608 kB" ]
  echo $((128 * 1024 * 1024)) >"$mem/memory.limit_in_bytes"
  # another reader (new pid) of the same cgroup within the period: the shared text
  run in_cg m grep MemTotal "$MNT/proc/meminfo"
  [ "$output" = "MemTotal:         196608 kB" ]
  sleep 1.6
  run in_cg m grep MemTotal "$MNT/proc/meminfo"
  [ "$output" = "MemTotal:         131072 kB" ]
  stop_cellfs "$MNT"
  # the default period is 100 ms
  start_cellfs "$MNT"
  run in_cg m grep MemTotal "$MNT/proc/meminfo"
  [ "$output" = "MemTotal:         131072 kB" ]
  echo $((64 * 1024 * 1024)) >"$mem/memory.limit_in_bytes"
  sleep 0.2
  run in_cg m grep MemTotal "$MNT/proc/meminfo"
  [ "$output" = "MemTotal:          65536 kB" ]
  stop_cellfs "$MNT"
  start_cellfs "$MNT" --cache-ms 0
  run in_cg m grep MemTotal "$MNT/proc/meminfo"
  [ "$output" = "MemTotal:          65536 kB" ]
  echo $((32 * 1024 * 1024)) >"$mem/memory.limit_in_bytes"
  run in_cg m grep MemTotal "$MNT/proc/meminfo"
  [ "$output" = "MemTotal:          32768 kB" ]
}

@test "a host process in the root cgroups sees the host's values" {
  start_cellfs "$MNT"
  # pid 1's cgroups: the root of every hierarchy here
  [ "$(awk -F: '{print $3}' /proc/1/cgroup | sort -u)" = "/" ]
  procs=""
  for c in memory cpuset cpu cpuacct blkio; do procs="$procs /sys/fs/cgroup/$c/cgroup.procs"; done
  run sh -c 'for p in '"$procs"'; do echo $$ > $p; done
    a=$(grep MemTotal '"$MNT"'/proc/meminfo); b=$(grep MemTotal /proc/meminfo); [ "$a" = "$b" ] || exit 1
    [ "$(cat '"$MNT"'/sys/devices/system/cpu/online)" = "$(cat /sys/devices/system/cpu/online)" ] || exit 2
    [ "$(grep -c ^processor '"$MNT"'/proc/cpuinfo)" = "$(grep -c ^processor /proc/cpuinfo)" ] || exit 3'
  [ "$status" -eq 0 ]
}

@test "--no-quota-view shows the whole cpuset; the default shows ceil(quota)" {
  [ "$(nproc --all)" -ge 2 ]
  make_cg q $((256 * 1024 * 1024)) 0-1 50000
  start_cellfs "$MNT"
  run in_cg q cat "$MNT/sys/devices/system/cpu/online"
  [ "$output" = "0" ]
  CELLFS_PID1=$CELLFS_PID
  MNT2=$BATS_TEST_TMPDIR/mnt2
  start_cellfs "$MNT2" --no-quota-view
  CELLFS_PID2=$CELLFS_PID
  CELLFS_PID=$CELLFS_PID1
  run in_cg q cat "$MNT2/sys/devices/system/cpu/online"
  [ "$output" = "0-1" ]
  run in_cg q sh -c "grep -c ^processor $MNT2/proc/cpuinfo"
  [ "$output" = "2" ]
}

@test "loadavg is the cgroup's own: one busy task shows up, the host's does not" {
  make_cg l $((256 * 1024 * 1024)) 0 -1
  start_cellfs "$MNT"
  in_cg l sh -c 'while :; do :; done' &
  busy=$!
  sleep 0.3
  in_cg l cat "$MNT/proc/loadavg" >/dev/null # first read: cgroup known to cellfs
  sleep 11 # two 5 s samples
  run in_cg l cat "$MNT/proc/loadavg"
  kill $busy
  echo "$output"
  load1=$(echo "$output" | cut -d' ' -f1)
  tasks=$(echo "$output" | cut -d' ' -f4)
  awk -v l="$load1" 'BEGIN { exit !(l >= 0.10 && l <= 0.60) }'
  [ "${tasks#*/}" -le 3 ] # the busy loop and cat, not the host's hundreds
}

@test "stat shows the cgroup's CPU time, processes and the host's btime" {
  make_cg s $((256 * 1024 * 1024)) 0 -1
  start_cellfs "$MNT"
  run in_cg s sh -c "cat $MNT/proc/stat"
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | grep ^btime)" = "$(grep ^btime /proc/stat)" ]
  agg_user=$(echo "$output" | awk '$1=="cpu"{print $2}')
  host_user=$(awk '$1=="cpu"{print $2}' /proc/stat)
  [ "$agg_user" -lt "$host_user" ]
  procs=$(echo "$output" | awk '$1=="processes"{print $2}')
  [ "$procs" -ge 1 ] && [ "$procs" -le 5 ]
}

@test "SIGKILL of the worker five times under a reading container: zero failed reads" {
  make_cg r $((256 * 1024 * 1024)) 0 -1
  start_cellfs "$MNT" -v
  sup=$CELLFS_PID
  in_container r "$MNT" "$READBENCH" -j 2 -s 8 /proc/meminfo >"$BATS_TEST_TMPDIR/rb" &
  rb=$!
  for i in 1 2 3 4 5; do
    sleep 1.2
    w=$(worker_of "$sup")
    [ -n "$w" ]
    kill -9 "$w"
  done
  wait $rb || true
  cat "$BATS_TEST_TMPDIR/rb"
  grep -q 'errors=0 empty=0' "$BATS_TEST_TMPDIR/rb"
  reads=$(sed 's/.*reads=\([0-9]*\).*/\1/' "$BATS_TEST_TMPDIR/rb")
  [ "$reads" -gt 1000 ]
  [ "$(grep -c 'died (signal 9)' "$MNT.log")" -eq 5 ]
  kill -0 "$sup" # the supervisor (and the mount) survived
  run in_container r "$MNT" grep MemTotal /proc/meminfo
  [ "$output" = "MemTotal:         262144 kB" ]
}
