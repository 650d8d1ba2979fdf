# resources-common.bash - the resource-limit scenarios shared by
# tests/bats/resources.bats (host, cgroup v1/hybrid) and
# tests/vm/resources.bats (pure cgroup2 in the test VM).
#
# Each rs_* function is one scenario; it proves that a limit from
# linux.resources (or `cell update`) is really enforced by the kernel, by
# observing an effect that would not happen without it.  Load after
# helpers.bash.  Both drivers are handled here: rs_v2 tells which one runs.

# ---------------------------------------------------------------- cgroup files

rs_v2() { [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; }

# rs_dir ID CONTROLLER - the container's cgroup directory holding that
# controller's files (the single directory on cgroup v2).
rs_dir() {
  local id=$1 c=$2 d
  if rs_v2; then
    cgroup_dirs "$id" | head -n1
    return 0
  fi
  while read -r d; do
    case $d in /sys/fs/cgroup/"$c"/*) echo "$d"; return 0 ;; esac
  done < <(cgroup_dirs "$id")
  echo "no $c hierarchy for $id" >&2
  return 1
}

# rs_file ID FILE - path of a cgroup file of the container (controller from
# the file name's prefix).
rs_file() {
  local d
  d=$(rs_dir "$1" "${2%%.*}") || return 1
  echo "$d/$2"
}

rs_read() { cat "$(rs_file "$1" "$2")"; }

# rs_nprocs ID - number of processes in the container's cgroup.
rs_nprocs() {
  local c=pids
  rs_v2 && c=
  wc -l <"$(rs_dir "$1" "${c:-x}")/cgroup.procs"
}

# rs_cpu_ns ID - CPU time used by the container's cgroup so far, in ns.
rs_cpu_ns() {
  if rs_v2; then
    local usec
    usec=$(awk '$1 == "usage_usec" { print $2 }' "$(rs_dir "$1" x)/cpu.stat")
    echo $((usec * 1000))
  else
    rs_read "$1" cpuacct.usage
  fi
}

now_ns() { date +%s%N; }

# rs_resources JSON [BUNDLE] - merge JSON into linux.resources.
rs_resources() {
  update_config '.linux.resources += $r' "${2:-$BUNDLE}" --argjson r "$1"
}

# ---------------------------------------------------------------- background

# rs_bg CMD... - start a background command (its pid goes to $BG and is
# killed in teardown; fd 3 closed so bats does not wait for it).
rs_bg() {
  "$@" 3>&- &
  BG=$!
  echo "$BG" >>"$BATS_TEST_TMPDIR/bg-pids"
}

rs_teardown() {
  local p l
  if [ -f "$BATS_TEST_TMPDIR/bg-pids" ]; then
    for p in $(cat "$BATS_TEST_TMPDIR/bg-pids"); do kill "$p" 2>/dev/null || true; done
  fi
  # containers first: they may hold the loop devices
  cell_teardown
  local rc=$?
  if [ -f "$BATS_TEST_TMPDIR/loops" ]; then
    for l in $(cat "$BATS_TEST_TMPDIR/loops"); do losetup -d "$l" 2>/dev/null || true; done
  fi
  return $rc
}

# ---------------------------------------------------------------- memory

MiB=1048576

# A 32 MiB memory limit without swap: a 64 MiB allocation inside is
# OOM-killed, the init survives, `events` reports the OOM and the usage.
rs_memory_oom() {
  set_args sleep 1000
  rs_resources "{\"memory\": {\"limit\": $((32 * MiB)), \"swap\": $((32 * MiB))}}"
  run_detached "$ID"
  local init
  init=$(ct_pid "$ID")
  if rs_v2; then
    [ "$(rs_read "$ID" memory.max)" = $((32 * MiB)) ]
    [ "$(rs_read "$ID" memory.swap.max)" = 0 ]
  else
    [ "$(rs_read "$ID" memory.limit_in_bytes)" = $((32 * MiB)) ]
    if [ -f "$(rs_file "$ID" memory.memsw.limit_in_bytes)" ]; then
      [ "$(rs_read "$ID" memory.memsw.limit_in_bytes)" = $((32 * MiB)) ]
    fi
  fi

  local ev=$BATS_TEST_TMPDIR/events
  rs_bg runtime events --interval 100ms "$ID" >"$ev" 2>&1
  wait_for grep -q '"type":"stats"' "$ev"

  # busybox dd allocates its whole block and fills it from /dev/zero
  run runtime exec "$ID" dd if=/dev/zero of=/dev/null bs=64M count=1
  echo "64 MiB dd: status $status, output: $output"
  [ "$status" -eq 137 ]
  # below the limit the same program works
  run runtime exec "$ID" dd if=/dev/zero of=/dev/null bs=8M count=1
  [ "$status" -eq 0 ]

  # the init and the container survive
  kill -0 "$init"
  [ "$(ct_state "$ID")" = running ]
  [ "$(ct_pid "$ID")" = "$init" ]

  wait_for -t 10 grep -q '"type":"oom"' "$ev"
  grep '"type":"oom"' "$ev" | head -n1 | jq -e --arg id "$ID" '.id == $id'

  run runtime events --stats "$ID"
  [ "$status" -eq 0 ]
  echo "$output"
  echo "$output" | jq -e --arg id "$ID" --argjson lim $((32 * MiB)) \
    '.type == "stats" and .id == $id and .data.memory.usage.limit == $lim
     and .data.memory.usage.usage > 0 and .data.memory.usage.usage <= $lim'
}

# ---------------------------------------------------------------- pids

rs_pids_forkbomb() {
  set_args sleep 1000
  rs_resources '{"pids": {"limit": 20}}'
  run_detached "$ID"
  [ "$(rs_read "$ID" pids.max)" = 20 ]
  # the shell stops at its first failed fork; what it started stays
  run runtime exec "$ID" sh -c 'for i in $(seq 100); do sleep 30 >/dev/null 2>&1 & done; echo forked all'
  echo "fork bomb: status $status, output: $output"
  [[ $output != *"forked all"* ]]
  local n
  n=$(rs_nprocs "$ID")
  echo "processes in the cgroup: $n"
  [ "$n" -le 20 ]
  [ "$n" -ge 15 ]
  [ "$(rs_read "$ID" pids.current)" -le 20 ]
  # the kernel counted the refused forks
  [ "$(awk '$1 == "max" { print $2 }' "$(rs_file "$ID" pids.events)")" -ge 1 ]

  # still killable, and delete --force leaves no cgroup
  run runtime kill --all "$ID" KILL
  [ "$status" -eq 0 ]
  wait_for [ "$(rs_nprocs "$ID")" -eq 0 ]
  wait_state "$ID" stopped
  run runtime delete --force "$ID"
  [ "$status" -eq 0 ]
  [ -z "$(leftover_cgroups "$ID")" ]
}

# ---------------------------------------------------------------- cpu

# rs_cpu_percent ID SECONDS - percent of one CPU the cgroup used.
rs_cpu_percent() {
  local u0 u1 t0 t1
  u0=$(rs_cpu_ns "$1"); t0=$(now_ns)
  sleep "$2"
  u1=$(rs_cpu_ns "$1"); t1=$(now_ns)
  echo $(((u1 - u0) * 100 / (t1 - t0)))
}

BUSY='while :; do :; done'

rs_cpu_quota() {
  set_args sh -c "$BUSY"
  rs_resources '{"cpu": {"quota": 50000, "period": 100000}}'
  run_detached "$ID"
  if rs_v2; then
    [ "$(rs_read "$ID" cpu.max)" = "50000 100000" ]
  else
    [ "$(rs_read "$ID" cpu.cfs_quota_us)" = 50000 ]
    [ "$(rs_read "$ID" cpu.cfs_period_us)" = 100000 ]
  fi
  sleep 0.3
  local pct
  pct=$(rs_cpu_percent "$ID" 2)
  echo "busy loop with quota 50000/100000: ${pct}% of one CPU"
  [ "$pct" -ge 40 ]
  [ "$pct" -le 60 ]
}

rs_cpu_shares() {
  [ "$(nproc)" -ge 2 ] || { echo "needs 2 CPUs" >&2; return 1; }
  local lo=$ID hi b2=$BATS_TEST_TMPDIR/bundle2
  hi=$(new_id hi)
  new_bundle "$b2" "$hi" sh -c "$BUSY"
  set_args sh -c "$BUSY"
  rs_resources '{"cpu": {"shares": 512, "cpus": "0"}}'
  rs_resources '{"cpu": {"shares": 2048, "cpus": "0"}}' "$b2"
  run_detached "$lo"
  run_detached "$hi" "$b2"
  if rs_v2; then
    [ "$(rs_read "$lo" cpu.weight)" -lt "$(rs_read "$hi" cpu.weight)" ]
    [ "$(rs_read "$lo" cpuset.cpus)" = 0 ]
  else
    [ "$(rs_read "$lo" cpu.shares)" = 512 ]
    [ "$(rs_read "$hi" cpu.shares)" = 2048 ]
    [ "$(rs_read "$hi" cpuset.cpus)" = 0 ]
  fi
  sleep 0.3
  local u0l u0h u1l u1h t0 t1
  t0=$(now_ns); u0l=$(rs_cpu_ns "$lo"); u0h=$(rs_cpu_ns "$hi")
  sleep 2
  u1l=$(rs_cpu_ns "$lo"); u1h=$(rs_cpu_ns "$hi"); t1=$(now_ns)
  local dl=$((u1l - u0l)) dh=$((u1h - u0h))
  echo "cpu time over $(((t1 - t0) / 1000000)) ms: shares 512 ${dl} ns, shares 2048 ${dh} ns"
  [ "$dl" -gt 0 ]
  local ratio=$((dh * 100 / dl))
  echo "ratio x100: $ratio"
  [ "$ratio" -ge 250 ]
  [ "$ratio" -le 600 ]
  # both on one CPU: together at most one CPU's worth (plus 5% slack)
  [ $((dl + dh)) -le $(((t1 - t0) * 105 / 100)) ]

  # deleting one container leaves its sibling's cgroups alone (lo was made
  # first, so it may have made the shared parent cell-tests/)
  local before
  before=$(leftover_cgroups "$hi")
  [ -n "$before" ]
  t0=$(now_ns)
  run runtime delete --force "$lo"
  [ "$status" -eq 0 ]
  t1=$(now_ns)
  echo "delete --force beside a busy sibling: $(((t1 - t0) / 1000000)) ms"
  [ $(((t1 - t0) / 1000000)) -lt 3000 ]
  [ -z "$(leftover_cgroups "$lo")" ]
  [ "$(leftover_cgroups "$hi")" = "$before" ]
  [ "$(ct_state "$hi")" = running ]
}

# ---------------------------------------------------------------- cpuset

rs_cpuset() {
  [ "$(nproc)" -ge 2 ] || { echo "needs 2 CPUs" >&2; return 1; }
  # without a cpuset the container could run on every CPU
  [ "$(grep Cpus_allowed_list /proc/self/status | cut -f2)" != 1 ]
  set_args sleep 1000
  rs_resources '{"cpu": {"cpus": "1"}}'
  run_detached "$ID"
  [ "$(rs_read "$ID" cpuset.cpus)" = 1 ]
  run runtime exec "$ID" grep Cpus_allowed_list /proc/self/status
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'Cpus_allowed_list:\t1')" ]
  run runtime exec "$ID" taskset -p 1
  echo "$output"
  [[ $output == *"current affinity mask: 2" ]]
}

# ---------------------------------------------------------------- io

# Read bandwidth of a loop device throttled to 1 MiB/s: 3 MiB of direct
# reads take about 3 s inside, well under 1 s outside.
rs_io_throttle() {
  [ -e /dev/loop-control ] || modprobe loop 2>/dev/null || busybox modprobe loop
  local img=$BATS_TEST_TMPDIR/disk.img loop maj min
  dd if=/dev/urandom of="$img" bs=1M count=8 status=none
  loop=$(losetup --find --show "$img")
  echo "$loop" >>"$BATS_TEST_TMPDIR/loops"
  maj=$((16#$(stat -c %t "$loop")))
  min=$((16#$(stat -c %T "$loop")))
  # unthrottled, 3 MiB of direct reads are fast
  local t0 t1 free_ms
  t0=$(now_ns)
  dd if="$loop" of=/dev/null bs=64k count=48 iflag=direct status=none
  t1=$(now_ns)
  free_ms=$(((t1 - t0) / 1000000))
  echo "unthrottled 3 MiB: $free_ms ms"

  set_args sleep 1000
  update_config '.linux.devices += [{"path": "/dev/blk", "type": "b", "major": $maj, "minor": $min, "fileMode": 384}]' \
    "$BUNDLE" --argjson maj "$maj" --argjson min "$min"
  rs_resources "{\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": $maj, \"minor\": $min, \"rate\": $MiB}]}}"
  run_detached "$ID"
  if rs_v2; then
    grep -q "^$maj:$min rbps=$MiB " "$(rs_file "$ID" io.max)"
  else
    grep -qx "$maj:$min $MiB" "$(rs_file "$ID" blkio.throttle.read_bps_device)"
  fi
  t0=$(now_ns)
  run runtime exec "$ID" dd if=/dev/blk of=/dev/null bs=64k count=48 iflag=direct
  t1=$(now_ns)
  echo "throttled 3 MiB: status $status, $(((t1 - t0) / 1000000)) ms: $output"
  [ "$status" -eq 0 ]
  # 3 MiB at 1 MiB/s: at least 1.8 s, and at least 1.2 s more than the same
  # reads unthrottled (a relative bound: under TCG on a loaded host the
  # unthrottled reads alone took 1.1 s)
  [ $(((t1 - t0) / 1000000)) -ge 1800 ]
  [ $(((t1 - t0) / 1000000 - free_ms)) -ge 1200 ]
}

# ---------------------------------------------------------------- devices

rs_devices() {
  set_args sleep 1000
  # CAP_MKNOD, so that only the device cgroup can refuse a mknod
  update_config '.process.capabilities |= with_entries(if .key == "ambient" then . else .value += ["CAP_MKNOD"] end)'
  run_detached "$ID"
  # the allowed ones open
  run runtime exec "$ID" sh -c 'head -c 5 /dev/zero | wc -c; echo x >/dev/null && echo null-ok'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 5 ]
  [ "${lines[1]}" = null-ok ]
  # mknod of a character device is allowed ("c *:* m"), opening kmsg is not
  run runtime exec "$ID" mknod /dev/kmsg11 c 1 11
  [ "$status" -eq 0 ]
  run runtime exec "$ID" sh -c 'echo cell-resources-test >/dev/kmsg11'
  echo "open c 1:11: status $status: $output"
  [ "$status" -ne 0 ]
  [[ $output == *"Operation not permitted"* ]]
  # a node of an allowed device made the same way opens
  run runtime exec "$ID" sh -c 'mknod /dev/zero2 c 1 5 && head -c 3 /dev/zero2 | wc -c'
  [ "$status" -eq 0 ]
  [ "$output" = 3 ]
  # block devices: no mknod at all
  run runtime exec "$ID" mknod /dev/blk0 b 7 0
  echo "mknod b 7:0: status $status: $output"
  [ "$status" -ne 0 ]
  [[ $output == *"Operation not permitted"* ]]
}

# ---------------------------------------------------------------- update

rs_update() {
  set_args sleep 1000
  rs_resources "{\"memory\": {\"limit\": $((32 * MiB))}, \"pids\": {\"limit\": 20}}"
  run_detached "$ID"
  local memf=memory.limit_in_bytes
  rs_v2 && memf=memory.max
  [ "$(rs_read "$ID" $memf)" = $((32 * MiB)) ]

  run runtime update --memory 64m "$ID"
  [ "$status" -eq 0 ]
  [ "$(rs_read "$ID" $memf)" = $((64 * MiB)) ]

  run runtime update --pids-limit 10 "$ID"
  [ "$status" -eq 0 ]
  [ "$(rs_read "$ID" pids.max)" = 10 ]
  # the lowered limit holds: 10 processes at most
  run runtime exec "$ID" sh -c 'for i in $(seq 30); do sleep 30 >/dev/null 2>&1 & done; echo forked all'
  [[ $output != *"forked all"* ]]
  [ "$(rs_nprocs "$ID")" -le 10 ]
  run runtime update --pids-limit 30 "$ID"
  [ "$status" -eq 0 ]
  [ "$(rs_read "$ID" pids.max)" = 30 ]
  run runtime exec "$ID" sh -c 'for i in $(seq 12); do sleep 30 >/dev/null 2>&1 & done; echo forked all'
  [[ $output == *"forked all"* ]]
  [ "$(rs_nprocs "$ID")" -gt 10 ]

  # a rejected update changes nothing, the memory part included
  local cpus_before
  cpus_before=$(rs_read "$ID" cpuset.cpus)
  run runtime update --memory 128m --cpuset-cpus 0-1000 "$ID"
  echo "rejected update: status $status: $output"
  [ "$status" -ne 0 ]
  [[ $output == *"linux.resources.cpu.cpus"* ]]
  [[ $output == *"cpuset.cpus"* ]]
  [[ $output == *"0-1000"* ]]
  [ "$(rs_read "$ID" $memf)" = $((64 * MiB)) ]
  [ "$(rs_read "$ID" cpuset.cpus)" = "$cpus_before" ]
  [ "$(rs_read "$ID" pids.max)" = 30 ]
  [ "$(ct_state "$ID")" = running ]
}

# ---------------------------------------------------------------- pause, kill --all

# (the counter is renamed into place: a freeze never finds it empty)
rs_count() { cat "/proc/$1/root/dev/shm/count" 2>/dev/null; }

rs_pause_kill_all() {
  local n=${1:-50}
  set_args sh -c "for i in \$(seq $n); do sleep 1000 & done
    c=0; while :; do c=\$((c + 1)); echo \$c >/dev/shm/count.t; mv /dev/shm/count.t /dev/shm/count; usleep 20000; done"
  run_detached "$ID"
  local init
  init=$(ct_pid "$ID")
  wait_for -t 30 eval '[ "$(rs_nprocs "$ID")" -ge $((n + 1)) ]'
  wait_for [ -s "/proc/$init/root/dev/shm/count" ]

  run runtime pause "$ID"
  [ "$status" -eq 0 ]
  [ "$(ct_state "$ID")" = paused ]
  if rs_v2; then
    grep -qx 'frozen 1' "$(rs_dir "$ID" x)/cgroup.events"
  else
    [ "$(rs_read "$ID" freezer.state)" = FROZEN ]
  fi
  local c1 c2
  c1=$(rs_count "$init")
  sleep 0.5
  c2=$(rs_count "$init")
  echo "counter while paused: $c1 -> $c2"
  [ "$c1" = "$c2" ]

  run runtime resume "$ID"
  [ "$status" -eq 0 ]
  [ "$(ct_state "$ID")" = running ]
  [ -n "$c2" ]
  wait_for eval '[ "$(rs_count "$init")" -gt "$c2" ]'

  # kill --all reaches every process, even in a paused container
  run runtime pause "$ID"
  [ "$status" -eq 0 ]
  [ "$(rs_nprocs "$ID")" -ge $((n + 1)) ]
  run runtime kill --all "$ID" KILL
  [ "$status" -eq 0 ]
  wait_for eval '[ "$(rs_nprocs "$ID")" -eq 0 ]'
  wait_state "$ID" stopped
  run runtime delete "$ID"
  [ "$status" -eq 0 ]
  [ -z "$(leftover_cgroups "$ID")" ]
}

# ---------------------------------------------------------------- create/delete cycles

# N create + delete --force cycles of a never-started container with a full
# set of resources: every cycle makes the cgroup, none is left.
rs_cycles() {
  local n=$1 i id left
  set_args true
  rs_resources "{\"memory\": {\"limit\": $((64 * MiB))}, \"pids\": {\"limit\": 50},
    \"cpu\": {\"shares\": 512, \"quota\": 50000, \"period\": 100000}}"
  for ((i = 1; i <= n; i++)); do
    id=$ID
    runtime create --bundle "$BUNDLE" "$id" </dev/null >/dev/null 2>"$BATS_TEST_TMPDIR/create.err" ||
      { echo "cycle $i: create failed: $(cat "$BATS_TEST_TMPDIR/create.err")" >&2; return 1; }
    if ((i % 25 == 1)); then
      # the cgroup exists while the container does
      left=$(leftover_cgroups "$id")
      [ -n "$left" ] || { echo "cycle $i: no cgroup after create" >&2; return 1; }
      [ "$(rs_read "$id" pids.max)" = 50 ] || { echo "cycle $i: pids.max not applied" >&2; return 1; }
    fi
    runtime delete --force "$id" </dev/null >/dev/null 2>"$BATS_TEST_TMPDIR/delete.err" ||
      { echo "cycle $i: delete failed: $(cat "$BATS_TEST_TMPDIR/delete.err")" >&2; return 1; }
    left=$(leftover_cgroups "$id")
    [ -z "$left" ] || { echo "cycle $i: cgroups left: $left" >&2; return 1; }
  done
  [ -z "$(ls "$ROOT")" ]
  [ -z "$(procs_using "$BUNDLE" "$ID")" ]
}
