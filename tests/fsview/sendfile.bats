#!/usr/bin/env bats
# sendfile/splice readers (busybox cat, as in containers): the kernel's FUSE
# splice path reads through the page cache up to the inode's size, so the
# size cellfs reports and stores must cover what each reader is served.
load helpers

setup() {
  MNT=$BATS_TEST_TMPDIR/mnt
  CELLFS_PID=
  SERVED="$FILES pressure/cpu pressure/memory pressure/io"
  CPUFILES="online possible present"
}

teardown() {
  stop_cellfs "$MNT"
  remove_cgs
}

# numbers -> N, runs of blanks -> one: values (and their padding) move
# between two reads, the text around them must not
shape() { sed 's/[0-9][0-9.]*/N/g' | tr -s ' \t'; }

# check_all PREFIX...: every served file read with sendfile (busybox cat) has
# the shape of the same file read with read(2) (dd), is non-empty and has no
# NUL byte; the command runs through PREFIX (e.g. in_cg NAME)
check_all() {
  local f path out bb rd
  out=$BATS_TEST_TMPDIR/out
  for f in $SERVED; do echo "proc/$f"; done >"$BATS_TEST_TMPDIR/list"
  for f in $CPUFILES; do echo "sys/devices/system/cpu/$f"; done >>"$BATS_TEST_TMPDIR/list"
  while read -r path; do
    "$@" busybox cat "$MNT/$path" >"$out.bb"
    "$@" dd if="$MNT/$path" bs=64k status=none >"$out.rd"
    bb=$(wc -c <"$out.bb")
    rd=$(wc -c <"$out.rd")
    echo "$path: sendfile $bb bytes, read(2) $rd bytes"
    [ "$bb" -gt 0 ]
    [ "$(tr -d '\000' <"$out.bb" | wc -c)" -eq "$bb" ]
    [ "$(shape <"$out.bb")" = "$(shape <"$out.rd")" ]
    [ "$(tail -c1 "$out.bb" | od -An -c | tr -d ' ')" = '\n' ]
  done <"$BATS_TEST_TMPDIR/list"
}

@test "sendfile (busybox cat) reads every file like read(2): host reader" {
  start_cellfs "$MNT"
  run strace -f -e trace=sendfile busybox cat "$MNT/proc/meminfo"
  echo "$output"
  [[ "$output" == *"MemTotal:"* ]]
  check_all env
}

@test "sendfile reads every file like read(2): reader in a 256 MiB, one-CPU cgroup" {
  [ "$(nproc --all)" -ge 2 ]
  make_cg s $((256 * 1024 * 1024)) 0 50000
  start_cellfs "$MNT"
  check_all in_cg s
  run in_cg s busybox cat "$MNT/proc/meminfo"
  [[ "$output" == *"MemTotal:         262144 kB"* ]]
  run in_cg s busybox cat "$MNT/sys/devices/system/cpu/online"
  [ "$output" = "0" ]
}

@test "busybox cat in a container (bind mounts over /proc) sees its limits" {
  [ "$(nproc --all)" -ge 2 ]
  make_cg c $((256 * 1024 * 1024)) 0 50000
  start_cellfs "$MNT"
  run in_container c "$MNT" busybox cat /proc/meminfo
  [ "$status" -eq 0 ]
  [[ "$output" == *"MemTotal:         262144 kB"* ]]
  run in_container c "$MNT" sh -c 'busybox cat /proc/cpuinfo | grep -c ^processor'
  [ "$output" = "1" ]
  run in_container c "$MNT" sh -c 'busybox cat /proc/stat | grep -c "^cpu[0-9]"'
  [ "$output" = "1" ]
  run in_container c "$MNT" busybox cat /sys/devices/system/cpu/online
  [ "$output" = "0" ]
}

@test "sendfile after a reader with a longer or shorter view: no truncation, no stale tail" {
  [ "$(nproc --all)" -ge 2 ]
  make_cg t $((256 * 1024 * 1024)) 0 50000
  start_cellfs "$MNT"
  local host_cpus; host_cpus=$(grep -c ^processor /proc/cpuinfo)
  for i in 1 2 3; do
    # the host's cpuinfo/stat are longer than the one-CPU container's
    run in_cg t busybox cat "$MNT/proc/cpuinfo"
    [ "$(grep -c ^processor <<<"$output")" = 1 ]
    [ "$(tr -d '\000' <<<"$output")" = "$output" ]
    run busybox cat "$MNT/proc/cpuinfo"
    [ "$(grep -c ^processor <<<"$output")" = "$host_cpus" ]
    [ "$(printf '%s\n' "$output" | shape)" = "$(shape </proc/cpuinfo)" ]
    run in_cg t busybox cat "$MNT/proc/stat"
    [ "$(grep -c '^cpu[0-9]' <<<"$output")" = 1 ]
    [ "$(tail -1 <<<"$output" | cut -d' ' -f1)" = "$(tail -1 /proc/stat | cut -d' ' -f1)" ]
    run busybox cat "$MNT/proc/stat"
    [ "$(grep -c '^cpu[0-9]' <<<"$output")" = "$host_cpus" ]
    [ "$(tail -1 <<<"$output" | cut -d' ' -f1)" = "$(tail -1 /proc/stat | cut -d' ' -f1)" ]
  done
}

@test "stat reports the reader's own size; sendfile values are fresh on every open" {
  [ "$(nproc --all)" -ge 2 ]
  make_cg z $((256 * 1024 * 1024)) 0 50000
  start_cellfs "$MNT"
  [ "$(stat -c %s "$MNT/proc/cpuinfo")" -eq "$(cat "$MNT/proc/cpuinfo" | wc -c)" ]
  [ "$(in_cg z stat -c %s "$MNT/proc/cpuinfo")" -eq "$(in_cg z cat "$MNT/proc/cpuinfo" | wc -c)" ]
  [ "$(in_cg z stat -c %s "$MNT/proc/cpuinfo")" -lt "$(stat -c %s "$MNT/proc/cpuinfo")" ]
  a=$(busybox cat "$MNT/proc/uptime")
  sleep 0.3
  b=$(busybox cat "$MNT/proc/uptime")
  echo "$a / $b"
  [ "$a" != "$b" ]
  # tail seeks by the size it is told
  [ "$(tail -n1 "$MNT/proc/meminfo" | cut -d: -f1)" = "$(tail -n1 /proc/meminfo | cut -d: -f1)" ]
}

@test "sendfile readers of two views at once, with read(2) readers: no reader hangs" {
  # A store at open waits for the page a concurrent sendfile reader holds
  # locked while its READ waits to be served: the serving thread must hand
  # the reading of requests over before it stores, or every reader hangs.
  # (Only completion is checked here; that each gets its own view is the
  # next test.)
  [ "$(nproc --all)" -ge 2 ]
  make_cg w $((256 * 1024 * 1024)) 0 50000
  start_cellfs "$MNT"
  local d=$BATS_TEST_TMPDIR
  loop() { # NAME PREFIX...: 150 sendfile reads of cpuinfo, byte counts
    local name=$1; shift
    for _ in $(seq 150); do "$@" busybox cat "$MNT/proc/cpuinfo" | wc -c; done >"$d/$name"
  }
  timeout 60 "$READBENCH" -j 3 -s 4 "$MNT/proc/cpuinfo" >"$d/rb" &
  local rb=$!
  loop host env &
  local a=$!
  loop ctr in_cg w &
  local b=$!
  local st=0
  timeout 60 sh -c "while kill -0 $a 2>/dev/null || kill -0 $b 2>/dev/null; do sleep 0.2; done" || st=$?
  kill $a $b 2>/dev/null || true
  [ "$st" -eq 0 ] # hung readers end when teardown stops cellfs
  wait $rb || true
  cat "$d/rb"
  [ "$(grep -c '^[1-9][0-9]*$' "$d/host")" -eq 150 ]
  [ "$(grep -c '^[1-9][0-9]*$' "$d/ctr")" -eq 150 ]
  grep -q 'errors=0 empty=0' "$d/rb"
}

@test "sendfile readers of two containers and the host at once: each reads its own view, never another's pages" {
  # One inode per (cgroup, file): the page cache that sendfile/splice read
  # through is never shared between cgroups (one inode for all readers
  # showed another cgroup's processor count in up to 132 of 600 reads).
  [ "$(nproc --all)" -ge 2 ]
  make_cg one $((256 * 1024 * 1024)) 0 -1
  make_cg two $((256 * 1024 * 1024)) 0-1 -1
  start_cellfs "$MNT"
  local d=$BATS_TEST_TMPDIR a b
  local loop='for i in $(seq 200); do busybox cat /proc/cpuinfo | grep -c ^processor; done'
  in_container one "$MNT" sh -c "$loop" >"$d/one" & a=$!
  in_container two "$MNT" sh -c "$loop" >"$d/two" & b=$!
  for _ in $(seq 200); do busybox cat "$MNT/proc/cpuinfo" | grep -c ^processor; done >"$d/host"
  wait $a $b
  local host; host=$(grep -c ^processor /proc/cpuinfo)
  echo "one: $(sort "$d/one" | uniq -c | tr '\n' ' ') two: $(sort "$d/two" | uniq -c | tr '\n' ' ') host: $(sort "$d/host" | uniq -c | tr '\n' ' ')"
  [ "$(grep -cx 1 "$d/one")" -eq 200 ]
  [ "$(grep -cx 2 "$d/two")" -eq 200 ]
  [ "$(grep -cx "$host" "$d/host")" -eq 200 ]
  # the files have one inode per cgroup, directories one for all
  local i1 i2; i1=$(in_container one "$MNT" stat -c %i /proc/cpuinfo); i2=$(in_container two "$MNT" stat -c %i /proc/cpuinfo)
  [ "$i1" != "$i2" ] && [ "$i1" != "$(stat -c %i "$MNT/proc/cpuinfo")" ]
}

@test "containers of two cgroups bound at the same time: every bind succeeds (per-cgroup trees never invalidate each other)" {
  make_cg p $((256 * 1024 * 1024)) 0 -1
  make_cg q $((512 * 1024 * 1024)) 0 -1
  start_cellfs "$MNT"
  local d=$BATS_TEST_TMPDIR a b
  for _ in $(seq 25); do in_container p "$MNT" true 2>>"$d/ep" || echo failed >>"$d/ep"; done & a=$!
  for _ in $(seq 25); do in_container q "$MNT" true 2>>"$d/eq" || echo failed >>"$d/eq"; done & b=$!
  wait $a $b
  cat "$d/ep" "$d/eq" 2>/dev/null | head -5
  [ ! -s "$d/ep" ] && [ ! -s "$d/eq" ]
}
