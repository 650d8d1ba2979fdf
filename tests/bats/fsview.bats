#!/usr/bin/env bats
# cell + cellfs: containers see their own limits in /proc and /sys/devices/system/cpu.

load helpers

CELLFS=${CELLFS:-$(dirname "$CELL")/cellfs}

setup() {
  cell_setup
  MNT=$BATS_TEST_TMPDIR/cfs
  mkdir -p "$MNT"
  "$CELLFS" "$MNT" 2>"$BATS_TEST_TMPDIR/cellfs.log" &
  CELLFS_PID=$!
  track_mount "$MNT"
  wait_for -t 10 grep -q " $MNT fuse.cellfs " /proc/self/mounts
}

teardown() {
  kill -TERM "$CELLFS_PID" 2>/dev/null || true
  wait "$CELLFS_PID" 2>/dev/null || true
  cell_teardown
}

limited() { # BUNDLE MEMBYTES CPUS
  update_config '.linux.resources.memory = {"limit": ($m|tonumber)}
    | .linux.resources.cpu = {"cpus": $c, "quota": 50000, "period": 100000}
    | .annotations = {"run.cell.fsview": "true", "run.cell.fsview.path": $mnt}' \
    "$1" --arg m "$2" --arg c "$3" --arg mnt "$MNT"
}

@test "fsview: a limited container sees its memory, cpuset and quota in /proc and /sys" {
  limited "$BUNDLE" 268435456 0
  set_args sh -c 'head -n1 /proc/meminfo; nproc; head -c 64 /sys/devices/system/cpu/online; grep -c ^processor /proc/cpuinfo'
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == MemTotal:*" 262144 kB" ]]
  [ "${lines[1]}" = 1 ]
  [ "${lines[2]}" = 0 ]
  [ "${lines[3]}" = 1 ]
}

@test "fsview: two containers reading at once each see their own limit" {
  b2=$BATS_TEST_TMPDIR/bundle2
  id2=$(new_id two)
  new_bundle "$b2" "$id2" sleep 30
  limited "$BUNDLE" 268435456 0
  limited "$b2" 134217728 0-1
  set_args sleep 30
  run_detached "$ID"
  run_detached "$id2" "$b2"
  run runtime exec "$ID" head -n1 /proc/meminfo
  [[ $output == MemTotal:*" 262144 kB" ]]
  run runtime exec "$id2" head -n1 /proc/meminfo
  [[ $output == MemTotal:*" 131072 kB" ]]
  # one CPU visible, numbered from 0 as lxcfs does (cpuinfo and stat agree)
  run runtime exec "$id2" sh -c 'head -c 16 /sys/devices/system/cpu/online; grep -c ^processor /proc/cpuinfo'
  [ "${lines[0]}" = 0 ]
  [ "${lines[1]}" = 1 ]
  run runtime exec "$ID" sh -c 'head -c 16 /sys/devices/system/cpu/online; grep -c ^processor /proc/cpuinfo'
  [ "${lines[0]}" = 0 ]
  [ "${lines[1]}" = 1 ]
}

@test "fsview: run.cell.fsview=false keeps the kernel's /proc/meminfo" {
  limited "$BUNDLE" 268435456 0
  update_config '.annotations["run.cell.fsview"] = "false"'
  set_args head -n1 /proc/meminfo
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -eq 0 ]
  [ "$output" = "$(head -n1 /proc/meminfo)" ]
}

@test "fsview: run.cell.fsview=true without cellfs is an error that names the annotation, and leaves nothing" {
  limited "$BUNDLE" 268435456 0
  update_config '.annotations["run.cell.fsview.path"] = "/nonexistent/cellfs"'
  set_args true
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -ne 0 ]
  [[ $output == *"annotations.run.cell.fsview"* ]]
  [ -z "$(ls "$ROOT")" ]
}
