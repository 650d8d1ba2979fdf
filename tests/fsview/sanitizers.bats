#!/usr/bin/env bats
# cellfs under valgrind and under the ASan/UBSan build: serve every file to a
# reader in a child cgroup and in ours, restart the worker once, stop.
load helpers

setup() {
  MNT=$BATS_TEST_TMPDIR/mnt
  CELLFS_PID=
}

teardown() {
  stop_cellfs "$MNT"
  remove_cgs
}

read_everything() {
  local f
  for f in $FILES pressure/cpu pressure/memory pressure/io; do
    cat "$MNT/proc/$f" >/dev/null
    in_cg v cat "$MNT/proc/$f" >/dev/null
  done
  for f in online possible present; do in_cg v cat "$MNT/sys/devices/system/cpu/$f" >/dev/null; done
  ls -R "$MNT" >/dev/null
}

@test "valgrind: no errors, nothing definitely lost (supervisor and workers)" {
  command -v valgrind
  make_cg v $((256 * 1024 * 1024)) 0 50000
  CELLFS_WRAP="valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --log-file=$BATS_TEST_TMPDIR/vg.%p"
  start_cellfs "$MNT"
  read_everything
  w=$(worker_of "$CELLFS_PID")
  kill -9 "$w"           # a restarted worker replays the journal under valgrind too
  sleep 3
  read_everything
  kill -TERM "$CELLFS_PID"
  st=0
  wait "$CELLFS_PID" || st=$?
  CELLFS_PID=
  cat "$BATS_TEST_TMPDIR"/vg.*
  [ "$st" -eq 0 ]
  # one log per process: supervisor, killed worker, second worker
  [ "$(ls "$BATS_TEST_TMPDIR"/vg.* | wc -l)" -ge 3 ]
  for f in "$BATS_TEST_TMPDIR"/vg.*; do
    grep -q "ERROR SUMMARY: 0 errors" "$f" || { [ "$(grep -c 'Process terminating with default action of signal 9' "$f")" -eq 1 ] && ! grep -q "Invalid \(read\|write\)" "$f"; }
  done
  ! grep -q "definitely lost: [1-9]" "$BATS_TEST_TMPDIR"/vg.*
}

@test "ASan/UBSan build: no reports while serving and restarting" {
  [ -x "$TOP/build/asan/cellfs" ]
  make_cg v $((256 * 1024 * 1024)) 0 50000
  CELLFS=$TOP/build/asan/cellfs
  start_cellfs "$MNT"
  read_everything
  "$READBENCH" -j 2 -s 2 "$MNT/proc/meminfo"
  w=$(worker_of "$CELLFS_PID")
  kill -9 "$w"
  read_everything
  in_cg v "$READBENCH" -j 2 -s 2 "$MNT/proc/stat"
  kill -TERM "$CELLFS_PID"
  st=0
  wait "$CELLFS_PID" || st=$?
  CELLFS_PID=
  cat "$MNT.log"
  [ "$st" -eq 0 ]
  ! grep -q "AddressSanitizer\|runtime error\|LeakSanitizer" "$MNT.log"
}
