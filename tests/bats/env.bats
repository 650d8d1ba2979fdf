#!/usr/bin/env bats
# cellctl environments (busybox init): create, start, exec, set, stop,
# destroy, hostile input, SIGKILL of cellctl, racing commands, cellfs views.

load helpers

CELLFS=${CELLFS:-$(dirname "$CELL")/cellfs}

# A busybox-static rootfs with busybox init, built once per file.
setup_file() {
  local r=$BATS_FILE_TMPDIR/rfs a
  mkdir -p "$r"/{bin,sbin,etc,proc,sys,dev,tmp,run,root,var}
  cp "$(command -v busybox)" "$r/bin/busybox"
  for a in sh ls cat ps free nproc df mount echo sleep id hostname grep head awk true false; do ln -sf busybox "$r/bin/$a"; done
  for a in init poweroff reboot halt; do ln -sf ../bin/busybox "$r/sbin/$a"; done
  printf '::sysinit:/bin/echo booted\n::respawn:/bin/sleep 100000\n::shutdown:/bin/echo bye\n' >"$r/etc/inittab"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
  echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >>"$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
}

setup() {
  # an unprivileged environment's root must reach its rootfs: a root in a 0755 dir
  ROOT=$(mktemp -d /tmp/henv-bats.XXXXXX)
  chmod 0755 "$ROOT"
  RFS=$BATS_FILE_TMPDIR/rfs
  N=henv$$x$BATS_TEST_NUMBER
}

cc() { timeout -k 5 120 "$CELLCTL" --root "$ROOT" "$@" </dev/null; }

# cgroup dirs of environment NAME left in any hierarchy
env_cgroups() {
  find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path "*/cellctl-*/$1" 2>/dev/null
}

# Nothing of NAME left on the host: directory, runtime state, cgroup, id range, processes, mounts.
assert_gone() {
  local n=$1
  [ ! -e "$ROOT/vps/$n" ] || { echo "left: $ROOT/vps/$n" >&2; return 1; }
  [ ! -e "$ROOT/run/env/$n" ] || { echo "left: runtime state" >&2; return 1; }
  [ ! -e "$ROOT/run/env-run/$n" ] || { echo "left: $ROOT/run/env-run/$n" >&2; return 1; }
  [ -z "$(env_cgroups "$n")" ] || { echo "left cgroups: $(env_cgroups "$n")" >&2; return 1; }
  ! grep -qw "$n" "$ROOT/idranges" 2>/dev/null || { echo "left id range" >&2; return 1; }
  [ -z "$(mounts_under "$ROOT")" ] || { echo "left mounts: $(mounts_under "$ROOT")" >&2; return 1; }
  [ -z "$(procs_using "$ROOT/vps/$n/rootfs")" ] || { echo "left processes" >&2; return 1; }
}

teardown() {
  local n problems=
  if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -n "${output+x}" ]; then
    echo "# last run: status=${status:-} output: $output" >&2
  fi
  local pre=
  [ -s "$BATS_TEST_TMPDIR/netns" ] && pre="nsenter --net=/run/netns/$(cat "$BATS_TEST_TMPDIR/netns")"
  for n in $(ls "$ROOT/vps" 2>/dev/null); do
    $pre timeout -k 5 60 "$CELLCTL" --root "$ROOT" destroy --force "$n" >/dev/null 2>&1 </dev/null || true
  done
  if [ -n "$pre" ]; then
    for n in $($pre "$CELLCTL" --root "$ROOT" --json net ls 2>/dev/null | jq -r '.[].name'); do
      $pre "$CELLCTL" --root "$ROOT" net rm "$n" >/dev/null 2>&1 || true
    done
    for p in $(cat "$ROOT"/net/.run/*/pid 2>/dev/null | cut -d' ' -f1); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$(cat "$BATS_TEST_TMPDIR/netns")" 2>/dev/null || true
  fi
  for n in $(ls "$ROOT/vps" 2>/dev/null); do problems+="environment $n left; "; done
  [ -n "${CFS_PID:-}" ] && { kill "$CFS_PID" 2>/dev/null; wait "$CFS_PID" 2>/dev/null; umount -l "$CFS" 2>/dev/null; } || true
  [ -z "$(mounts_under "$ROOT")" ] && rm -rf "$ROOT"
  for d in $(find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path "*/cellctl-*/henv$$x*" 2>/dev/null); do
    problems+="cgroup $d left; "
    remove_cgroup_dir "$d" || true
  done
  if [ -n "$problems" ] && [ -n "${BATS_TEST_COMPLETED:-}" ]; then
    echo "teardown: $problems" >&2
    return 1
  fi
}

@test "env: create, start --wait, exec keeps the exit code, stop halts cleanly, destroy leaves nothing" {
  run cc create "$N" --rootfs "$RFS" --init busybox --memory 64M --cpus 0.5 --pids 100
  [ "$status" -eq 0 ]
  grep -qx 'memory = 64M' "$ROOT/vps/$N/config"
  grep -qx 'idrange = [0-9]*' "$ROOT/vps/$N/config"
  run cc start "$N" --wait --timeout 30
  [ "$status" -eq 0 ]
  grep -q booted "$ROOT/vps/$N/console.log"
  run cc exec "$N" -- sh -c 'id -u; cat /proc/self/uid_map; exit 7'
  [ "$status" -eq 7 ]
  base=$(sed -n 's/^idrange = //p' "$ROOT/vps/$N/config")
  [ "${lines[0]}" = 0 ]
  [ "$(echo "${lines[1]}" | awk '{print $1, $2, $3}')" = "0 $base 65536" ]
  # uid 0 inside is the range's first id on the host
  pid=$(cc list --json | jq -r ".[] | select(.name == \"$N\") | .pid")
  [ "$(stat -c %u /proc/$pid)" = "$base" ]
  # the limits are in the environment's cgroup
  [ "$(cat /proc/$pid/cgroup | grep -c "cellctl-.*/$N")" -gt 0 ]
  run cc exec -u 65534 -e FOO=bar "$N" -- sh -c 'echo $(id -u) $FOO'
  [ "$output" = "65534 bar" ]
  # the overlay root is writable unprivileged; in the upper dir (seen through the idmapped mount
  # inside) root's files are stored as host 0: nothing is chowned into the range
  run cc exec "$N" -- sh -c 'echo w >/x && mkdir -p /root/d && echo v >/root/d/f && cat /x /root/d/f'
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'w\nv')" ]
  [ "$(stat -c %u:%g "$ROOT/vps/$N/data/upper/x")" = 0:0 ]
  run cc stop "$N" --timeout 20
  [ "$status" -eq 0 ]
  [ "$output" = "$N: halted cleanly" ]
  grep -q bye "$ROOT/vps/$N/console.log"
  run cc list -o name,state
  [[ "$output" == *"$N"*stopped* ]]
  run cc destroy "$N"
  [ "$status" -eq 0 ]
  assert_gone "$N"
}

@test "env: --privileged has no user namespace; restart; destroy --force of a running one" {
  run cc create "$N" --rootfs "$RFS" --init busybox --privileged
  [ "$status" -eq 0 ]
  ! grep -q '^idrange' "$ROOT/vps/$N/config"
  run cc start "$N" --wait --timeout 30
  [ "$status" -eq 0 ]
  run cc exec "$N" -- cat /proc/self/uid_map
  [ "$(echo $output)" = "0 0 4294967295" ]
  pid1=$(cc show --json "$N" | jq .pid)
  run cc restart "$N" --wait --timeout 30
  [ "$status" -eq 0 ]
  pid2=$(cc show --json "$N" | jq .pid)
  [ "$pid1" != "$pid2" ] && [ "$(cc show --json "$N" | jq -r .state)" = running ]
  run cc destroy "$N"
  [ "$status" -eq 1 ]
  [[ "$output" == *"is running"* ]]
  run cc destroy --force "$N"
  [ "$status" -eq 0 ]
  assert_gone "$N"
}

@test "env: stop kills an init that does not halt after --timeout, and says so; an init that exits stops the environment" {
  run cc create "$N" --rootfs "$RFS" --init /sbin/stubborn
  [ "$status" -eq 0 ]
  # an init that catches SIGTERM (its halt signal: no SIGPWR handler) and keeps running
  mkdir -p "$ROOT/vps/$N/data/upper/sbin"
  printf '#!/bin/sh\ntrap "echo got TERM" TERM\nwhile :; do sleep 1; done\n' >"$ROOT/vps/$N/data/upper/sbin/stubborn"
  chmod 755 "$ROOT/vps/$N/data/upper/sbin/stubborn"
  run cc start "$N" --wait --timeout 20
  [ "$status" -eq 0 ]
  run cc stop "$N" --timeout 2
  [ "$status" -eq 0 ]
  [ "$output" = "$N: killed" ]
  grep -q "got TERM" "$ROOT/vps/$N/console.log"
  [ -z "$(env_cgroups "$N")" ]
  # an init that exits by itself: the environment is stopped, and stop says it halted
  sed -i 's|^init = .*|init = /bin/true|' "$ROOT/vps/$N/config"
  run cc start "$N"
  wait_for -t 10 eval "[ \"\$(cc show --json $N | jq -r .state)\" = stopped ]"
  run cc stop "$N"
  [ "$status" -eq 0 ]
  [[ "$output" == *"halted cleanly"* ]]
  [ -z "$(env_cgroups "$N")" ]
}

@test "env: stop --force kills at once; stop of a stopped environment is fine" {
  cc create "$N" --rootfs "$RFS" --init busybox
  cc start "$N" --wait --timeout 30
  run cc stop --force "$N"
  [ "$status" -eq 0 ]
  [ "$output" = "$N: killed" ]
  [ -z "$(env_cgroups "$N")" ]
  run cc stop "$N"
  [ "$status" -eq 0 ]
  run cc start "$N" --wait --timeout 30
  [ "$status" -eq 0 ]
  run cc start "$N"
  [ "$status" -eq 1 ]
  [[ "$output" == *"already running"* ]]
}

@test "env: set changes limits live and saves them with comments kept; --no-save; non-live keys say so" {
  cc create "$N" --rootfs "$RFS" --init busybox --memory 64M
  sed -i '1a # a comment the user wrote' "$ROOT/vps/$N/config"
  cc start "$N" --wait --timeout 30
  pid=$(cc show --json "$N" | jq .pid)
  memcg=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/$pid/cgroup)
  if [ -n "$memcg" ]; then lim=/sys/fs/cgroup/memory$memcg/memory.limit_in_bytes
  else lim=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/$pid/cgroup)/memory.max; fi
  [ "$(cat $lim)" = $((64 << 20)) ]
  run cc set "$N" memory=96M pids=50
  [ "$status" -eq 0 ]
  [ "$(cat $lim)" = $((96 << 20)) ]
  grep -qx 'memory = 96M' "$ROOT/vps/$N/config"
  grep -qx 'pids = 50' "$ROOT/vps/$N/config"
  grep -qx '# a comment the user wrote' "$ROOT/vps/$N/config"
  run cc set "$N" memory=80M --no-save
  [ "$(cat $lim)" = $((80 << 20)) ]
  grep -qx 'memory = 96M' "$ROOT/vps/$N/config"
  run cc set "$N" hostname=other
  [ "$status" -eq 0 ]
  [[ "$output" == *"hostname: cannot change in a running environment; saved for the next start"* ]]
  grep -qx 'hostname = other' "$ROOT/vps/$N/config"
}

@test "env: bad keys and values name the key and the file; nothing changes" {
  cc create "$N" --rootfs "$RFS" --init busybox --memory 64M
  before=$(cat "$ROOT/vps/$N/config")
  run cc set "$N" colour=red
  [ "$status" -eq 1 ]
  [[ "$output" == *'unknown key "colour"'* ]]
  run cc set "$N" memory=lots
  [ "$status" -eq 1 ]
  [[ "$output" == *memory*lots* ]]
  [[ "$output" == *"$ROOT/vps/$N/config"* ]]
  run cc set "$N" cpus=1 pids=-5
  [ "$status" -eq 1 ]
  [[ "$output" == *pids* ]]
  run cc set "$N" idrange=5
  [ "$status" -eq 1 ]
  [ "$(cat "$ROOT/vps/$N/config")" = "$before" ]
  run cc create "${N}b" --rootfs "$RFS" --cpus fast
  [ "$status" -eq 2 ]
  [[ "$output" == *"--cpus"* ]]
  [ ! -e "$ROOT/vps/${N}b" ]
  # a hand-edited file with a bad value: every command names key, file and line
  echo 'cpuset = 0-' >>"$ROOT/vps/$N/config"
  run cc start "$N"
  [ "$status" -eq 1 ]
  [[ "$output" == *"$ROOT/vps/$N/config:"*cpuset* ]]
}

@test "env: bad names (../x, 300 characters, a/b) and a missing rootfs or image leave nothing" {
  for bad in ../x "$(printf 'a%.0s' $(seq 300))" a/b "" .x; do
    run cc create "$bad" --rootfs "$RFS"
    [ "$status" -eq 2 ]
    [[ "$output" == *"environment name"* ]]
  done
  run cc start ../x
  [ "$status" -eq 1 ]
  [[ "$output" == *"environment name"* ]]
  run cc create "$N" --rootfs "$BATS_TEST_TMPDIR/nonexistent"
  [ "$status" -eq 1 ]
  [[ "$output" == *nonexistent* ]]
  run cc create "$N" --image debian:nonexistent
  [ "$status" -ne 0 ]
  [[ "$output" == *"debian:nonexistent"* ]] || [[ "$output" == *image* ]]
  run cc show "$N"
  [ "$status" -eq 1 ]
  [[ "$output" == *"does not exist"* ]]
  [ -z "$(ls -A "$ROOT/vps" 2>/dev/null)" ]
}

@test "env: list and show report state, pid, uptime, memory and CPU use (--json and -o)" {
  cc create "$N" --rootfs "$RFS" --init busybox --memory 64M
  cc create "${N}s" --rootfs "$RFS" --init busybox
  cc start "$N" --wait --timeout 30
  run cc list --json
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | jq -r ".[] | select(.name == \"$N\") | .state")" = running ]
  [ "$(echo "$output" | jq -r ".[] | select(.name == \"${N}s\") | .state")" = stopped ]
  [ "$(echo "$output" | jq ".[] | select(.name == \"$N\") | .memory_bytes > 0")" = true ]
  [ "$(echo "$output" | jq ".[] | select(.name == \"$N\") | .cpu_seconds >= 0")" = true ]
  [ "$(echo "$output" | jq ".[] | select(.name == \"$N\") | .uptime >= 0")" = true ]
  run cc list -o name,state,pid
  [ "${lines[0]}" = "$(printf '%-16s %-16s %s' NAME STATE PID)" ]
  run cc list -o name,colour
  [ "$status" -eq 2 ]
  run cc show "$N"
  [[ "$output" == *"memory       64M"* ]]
}

@test "env: SIGKILL of cellctl at random points of start and stop; list is truthful, start and destroy repair" {
  cc create "$N" --rootfs "$RFS" --init busybox
  for i in $(seq 8); do
    "$CELLCTL" --root "$ROOT" start "$N" --wait --timeout 30 </dev/null >/dev/null 2>&1 &
    p=$!
    sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    # list answers and says running or stopped, never fails
    run cc list --json
    [ "$status" -eq 0 ]
    st=$(echo "$output" | jq -r ".[] | select(.name == \"$N\") | .state")
    [[ "$st" == running || "$st" == stopped || "$st" == starting ]]
    if [ "$st" = running ]; then
      pid=$(echo "$output" | jq -r ".[] | select(.name == \"$N\") | .pid")
      # alive, or halting from a killed stop's signal and stopped by now
      kill -0 "$pid" 2>/dev/null || [ "$(cc show --json "$N" | jq -r .state)" = stopped ]
    fi
    "$CELLCTL" --root "$ROOT" stop "$N" --timeout 10 </dev/null >/dev/null 2>&1 &
    p=$!
    sleep "0.0$((RANDOM % 10))"
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  # a halt a killed stop began may still run: stop finishes it, start repairs what is left
  run cc stop "$N" --timeout 10
  [ "$status" -eq 0 ]
  run cc start "$N" --wait --timeout 30
  [ "$status" -eq 0 ]
  run cc exec "$N" -- true
  [ "$status" -eq 0 ]
  run cc destroy --force "$N"
  [ "$status" -eq 0 ]
  assert_gone "$N"
}

@test "env: SIGKILL of cellctl during create leaves no half environment" {
  for i in $(seq 6); do
    "$CELLCTL" --root "$ROOT" create "$N" --rootfs "$RFS" --init busybox </dev/null >/dev/null 2>&1 &
    p=$!
    sleep "0.00$((RANDOM % 10))"
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    if [ -e "$ROOT/vps/$N" ]; then
      # a created environment is whole
      run cc show "$N"
      [ "$status" -eq 0 ]
      cc destroy "$N"
    fi
  done
  run cc create "$N" --rootfs "$RFS" --init busybox
  [ "$status" -eq 0 ]
  [ -z "$(ls -A "$ROOT/vps" | grep -v "^$N\$")" ]
  cc destroy "$N"
  assert_gone "$N"
}

@test "env: two cellctl racing on one environment serialize" {
  cc create "$N" --rootfs "$RFS" --init busybox
  "$CELLCTL" --root "$ROOT" start "$N" --wait --timeout 30 </dev/null >"$BATS_TEST_TMPDIR/a" 2>&1 &
  a=$!
  "$CELLCTL" --root "$ROOT" start "$N" --wait --timeout 30 </dev/null >"$BATS_TEST_TMPDIR/b" 2>&1 &
  b=$!
  sa=0; sb=0
  wait $a || sa=$?
  wait $b || sb=$?
  # exactly one started it, the other found it running
  [ $((sa + sb)) -eq 1 ]
  grep -q "already running" "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
  pid=$(cc show --json "$N" | jq .pid)
  [ "$(pgrep -c -P "$(ps -o ppid= -p "$pid")" -x init 2>/dev/null || echo 1)" -ge 1 ]
  # a command waits for the lock rather than failing
  "$CELLCTL" --root "$ROOT" stop "$N" </dev/null >"$BATS_TEST_TMPDIR/c" 2>&1 &
  c=$!
  run cc set "$N" pids=77
  [ "$status" -eq 0 ]
  wait $c
  grep -q "halted cleanly" "$BATS_TEST_TMPDIR/c"
}

@test "env: limits are seen inside through cellfs and follow set live" {
  CFS=$ROOT/cfs
  mkdir -p "$CFS"
  "$CELLFS" "$CFS" 2>"$BATS_TEST_TMPDIR/cellfs.log" &
  CFS_PID=$!
  wait_for -t 10 grep -q " $CFS fuse.cellfs " /proc/self/mounts
  cc create "$N" --rootfs "$RFS" --init busybox --memory 64M --cpus 1 --cellfs "$CFS"
  cc start "$N" --wait --timeout 30
  run cc exec "$N" -- awk '/MemTotal/ {print $2}' /proc/meminfo
  [ "$output" = 65536 ]
  run cc exec "$N" -- grep -c ^processor /proc/cpuinfo
  [ "$output" = 1 ]
  run cc set "$N" memory=128M cpus=2
  [ "$status" -eq 0 ]
  run cc exec "$N" -- awk '/MemTotal/ {print $2}' /proc/meminfo
  [ "$output" = 131072 ]
  run cc exec "$N" -- grep -c ^processor /proc/cpuinfo
  [ "$output" = 2 ]
  cc stop "$N"
}

@test "env: reboot inside restarts the environment, poweroff inside stops it (reboot = restart); reboot = stop keeps no host process" {
  cc create "$N" --rootfs "$RFS" --init busybox
  cc start "$N" --wait --timeout 30
  pid1=$(cc show --json "$N" | jq .pid)
  run cc exec "$N" -- reboot
  wait_for -t 30 eval "p=\$(cc show --json $N | jq .pid); [ \"\$p\" != 0 ] && [ \"\$p\" != $pid1 ] && [ \"\$(cc show --json $N | jq -r .state)\" = running ]"
  pid2=$(cc show --json "$N" | jq .pid)
  run cc exec "$N" -- true
  [ "$status" -eq 0 ]
  run cc exec "$N" -- poweroff
  wait_for -t 30 eval "[ \"\$(cc show --json $N | jq -r .state)\" = stopped ]"
  # the waiter removed the runtime state and the cgroup
  wait_for -t 10 eval "[ ! -e $ROOT/run/env/$N ] && [ -z \"\$(env_cgroups $N)\" ]"
  ! kill -0 "$pid2" 2>/dev/null
  # reboot = stop: no process but the environment's own; a reboot inside stops it
  run cc set "$N" reboot=stop
  [ "$status" -eq 0 ]
  cc start "$N" --wait --timeout 30
  pid=$(cc show --json "$N" | jq .pid)
  ppid=$(ps -o ppid= -p "$pid" | tr -d ' ')
  [ "$(cat /proc/$ppid/comm)" != cellctl-reboot ]
  run cc exec "$N" -- reboot
  wait_for -t 30 eval "[ \"\$(cc show --json $N | jq -r .state)\" = stopped ]"
  run cc start "$N" --wait --timeout 30
  [ "$status" -eq 0 ]
}

@test "env: boot starts the onboot environments in boot-order, shutdown stops them all" {
  cc create "${N}a" --rootfs "$RFS" --init busybox --onboot
  cc create "${N}b" --rootfs "$RFS" --init busybox
  cc create "${N}c" --rootfs "$RFS" --init busybox --onboot
  cc set "${N}a" boot-order=20
  cc set "${N}c" boot-order=10
  run cc boot
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "started ${N}c" ]
  [ "${lines[1]}" = "started ${N}a" ]
  run cc list --json
  [ "$(echo "$output" | jq -r "[.[] | select(.state == \"running\") | .name] | join(\",\")")" = "${N}a,${N}c" ]
  run cc shutdown --timeout 20
  [ "$status" -eq 0 ]
  [[ "$output" == *"${N}a: halted cleanly"* ]]
  [[ "$output" == *"${N}c: halted cleanly"* ]]
  run cc list --json
  [ "$(echo "$output" | jq '[.[] | select(.state == "stopped")] | length')" -eq 3 ]
  # the unit make install writes
  make -C "$CELL_TOP" -s install-env DESTDIR="$BATS_TEST_TMPDIR/inst" PREFIX=/usr >/dev/null
  grep -qx 'ExecStart=/usr/bin/cellctl boot' "$BATS_TEST_TMPDIR/inst/usr/lib/systemd/system/cellctl.service"
}

@test "env: --rootfs TAR is imported as an image the environment uses; destroy releases it" {
  tar -C "$RFS" -cf "$BATS_TEST_TMPDIR/rfs.tar" .
  run cc create "$N" --rootfs "$BATS_TEST_TMPDIR/rfs.tar" --init busybox
  [ "$status" -eq 0 ]
  id=$(sed -n 's/^image = //p' "$ROOT/vps/$N/config")
  [[ "$id" == sha256:* ]]
  run cc image ls --json
  [ "$(echo "$output" | jq -r ".[] | select(.id == \"$id\") | .users | join(\",\")")" = "$N" ]
  # a second environment of the same image shares its layers
  run cc create "${N}b" --image "$id" --init busybox
  [ "$status" -eq 0 ]
  run cc start "$N" --wait --timeout 30
  [ "$status" -eq 0 ]
  run cc start "${N}b" --wait --timeout 30
  [ "$status" -eq 0 ]
  cc exec "$N" -- sh -c 'echo mine >/root/f'
  run cc exec "${N}b" -- cat /root/f
  [ "$status" -ne 0 ]
  run cc destroy --force "$N"
  [ "$status" -eq 0 ]
  run cc destroy --force "${N}b"
  [ "$status" -eq 0 ]
  run cc image ls --json
  [ "$(echo "$output" | jq -r ".[] | select(.id == \"$id\") | .users | length")" = 0 ]
  assert_gone "$N"
  assert_gone "${N}b"
}

@test "env: two environments on one bridge network reach each other by name; a port forward; stop and destroy leave no link or lease" {
  H=henv$$h$BATS_TEST_NUMBER
  ip netns add "$H"
  echo "$H" >"$BATS_TEST_TMPDIR/netns"
  # nsenter, not `ip netns exec`: that one remounts /sys (no cgroup mounts under it)
  hx() { nsenter --net=/run/netns/"$H" "$@"; }
  hcc() { nsenter --net=/run/netns/"$H" timeout -k 5 60 "$CELLCTL" --root "$ROOT" "$@" </dev/null; }
  hx ip link set lo up
  run hcc net create henvnet --type bridge --subnet 10.89.0.0/24
  [ "$status" -eq 0 ]
  run hcc create "${N}a" --rootfs "$RFS" --init busybox --net henvnet,ip=10.89.0.10 --forward 18080:8080
  [ "$status" -eq 0 ]
  run hcc create "${N}b" --rootfs "$RFS" --init busybox --net henvnet
  [ "$status" -eq 0 ]
  run hcc start "${N}a" --wait --timeout 30
  [ "$status" -eq 0 ]
  run hcc start "${N}b" --wait --timeout 30
  [ "$status" -eq 0 ]
  run hcc list --json
  [ "$(echo "$output" | jq -r ".[] | select(.name == \"${N}a\") | .addresses[0]")" = 10.89.0.10 ]
  addr_b=$(echo "$output" | jq -r ".[] | select(.name == \"${N}b\") | .addresses[0]")
  [[ "$addr_b" == 10.89.0.* ]]
  # the hostname and the peers by name (/etc/hosts, the network's resolver)
  run hcc exec "${N}a" -- hostname
  [ "$output" = "${N}a" ]
  run hcc exec "${N}a" -- busybox ping -c 1 -W 5 "$addr_b"
  [ "$status" -eq 0 ]
  run hcc exec "${N}b" -- sh -c "busybox nslookup ${N}a 2>&1 || cat /etc/resolv.conf"
  [[ "$output" == *10.89.0.10* ]]
  run hcc exec "${N}b" -- busybox ping -c 1 -W 5 "${N}a"
  [ "$status" -eq 0 ]
  # a port forward from the host side to a server inside
  hcc exec "${N}a" -- sh -c 'mkdir -p /tmp/www && echo hello-henv >/tmp/www/index.html && busybox httpd -p 8080 -h /tmp/www'
  run hx curl -s -m 5 http://10.89.0.1:18080/index.html
  [ "$output" = hello-henv ]
  run hcc stop "${N}a"
  [ "$status" -eq 0 ]
  run hcc destroy --force "${N}a"
  [ "$status" -eq 0 ]
  run hcc destroy --force "${N}b"
  [ "$status" -eq 0 ]
  # no veth left, no lease, no forward: the network can go
  [ -z "$(hx ip -o link show type veth)" ]
  run hx nft list ruleset
  [[ "$output" != *18080* ]]
  run hcc net rm henvnet
  [ "$status" -eq 0 ]
}

@test "env: a network removed since create is treated as detached: stop, repair and destroy still complete" {
  H=henv$$h$BATS_TEST_NUMBER
  ip netns add "$H"
  echo "$H" >"$BATS_TEST_TMPDIR/netns"
  hcc() { nsenter --net=/run/netns/"$H" timeout -k 5 60 "$CELLCTL" --root "$ROOT" "$@" </dev/null; }
  run hcc net create henvgone --type bridge --subnet 10.88.0.0/24
  [ "$status" -eq 0 ]
  run hcc create "$N" --rootfs "$RFS" --init busybox --net henvgone --forward 18081:8080
  [ "$status" -eq 0 ]
  # no endpoint yet: the network can go while the environment still names it
  run hcc net rm henvgone
  [ "$status" -eq 0 ]
  # start needs it and says which one
  run hcc start "$N" --wait --timeout 30
  [ "$status" -ne 0 ]
  [[ "$output" == *henvgone* ]]
  run hcc list -o name,state
  [[ "$output" == *"$N"*stopped* ]]
  # stop (a repair here) and destroy warn and complete
  run hcc stop "$N"
  [ "$status" -eq 0 ]
  run hcc destroy "$N"
  [ "$status" -eq 0 ]
  [[ "$output" == *"network henvgone no longer exists"* ]]
  [[ "$output" == *"destroyed $N"* ]]
  assert_gone "$N"
}

@test "env: console attaches to the init's console (a shell there), Ctrl-] detaches, the console is logged" {
  cc create "$N" --rootfs "$RFS" --init busybox
  mkdir -p "$ROOT/vps/$N/data/upper/etc"
  printf '::sysinit:/bin/echo booted\n::respawn:/bin/sh\n' >"$ROOT/vps/$N/data/upper/etc/inittab"
  cc start "$N" --wait --timeout 30
  out=$BATS_TEST_TMPDIR/console.out
  { sleep 1; printf 'echo CONSOLE-$((6*7)); tty\r'; sleep 1; printf '\035'; } |
    timeout 20 script -qec "$CELLCTL --root $ROOT console $N" /dev/null >"$out" 2>&1 || true
  grep -q "CONSOLE-42" "$out"
  grep -q "detached from $N" "$out"
  grep -q "CONSOLE-42" "$ROOT/vps/$N/console.log"
  [ "$(cc show --json "$N" | jq -r .state)" = running ]
  run cc set "$N" reboot=stop
  cc restart "$N" --wait --timeout 30
  run cc console "$N"
  [ "$status" -eq 1 ]
  [[ "$output" == *"no console"* ]]
}
