#!/usr/bin/env bats
# nproc shows a container's CPU quota: with cellfs's views bound, a quota
# smaller than the cpuset narrows the CPU affinity of the init, of exec'd
# processes, and of every task again on `update` (runtime/affinity.h).
# cell-only: runc leaves the affinity alone.

load helpers

CELLFS=${CELLFS:-$(dirname "$CELL")/cellfs}

setup() {
  cell_only
  cell_setup
  ID=$(new_id hk8s)
  BUNDLE=$BATS_TEST_TMPDIR/bundle-hk8s
  new_bundle "$BUNDLE" "$ID" sh
  HOSTN=$(nproc)
  MNT=$BATS_TEST_TMPDIR/cfs
  mkdir -p "$MNT"
  "$CELLFS" "$MNT" 2>"$BATS_TEST_TMPDIR/cellfs.log" &
  CELLFS_PID=$!
  track_mount "$MNT"
  wait_for -t 10 grep -q " $MNT fuse.cellfs " /proc/self/mounts
}

teardown() {
  if [ -n "${EROOT:-}" ]; then
    timeout -k 5 60 "$CELLCTL" --root "$EROOT" destroy --force "$N" >/dev/null 2>&1 </dev/null || true
    kill -TERM "$ECFS_PID" 2>/dev/null || true
    wait "$ECFS_PID" 2>/dev/null || true
    umount -l "$EROOT/cfs" 2>/dev/null || true
    [ -z "$(mounts_under "$EROOT")" ] && rm -rf "$EROOT"
    for d in $(find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path "*/cellctl-*/$N" 2>/dev/null); do
      remove_cgroup_dir "$d" || true
    done
  fi
  kill -TERM "$CELLFS_PID" 2>/dev/null || true
  wait "$CELLFS_PID" 2>/dev/null || true
  cell_teardown
}

quota() { # QUOTA [BUNDLE]: a CPU quota per 100 ms period, views from our cellfs
  update_config '.linux.resources.cpu = {"quota": ($q|tonumber), "period": 100000}
    | .annotations = {"run.cell.fsview": "true", "run.cell.fsview.path": $mnt}' \
    "${2:-$BUNDLE}" --arg q "$1" --arg mnt "$MNT"
}

# cpus_of PID: how many CPUs /proc/PID/status's Cpus_allowed_list names
cpus_of() {
  local list n=0 a b part
  list=$(awk '/^Cpus_allowed_list:/ {print $2}' "/proc/$1/status")
  IFS=, read -ra parts <<<"$list"
  for part in "${parts[@]}"; do
    a=${part%-*} b=${part#*-}
    n=$((n + b - a + 1))
  done
  echo "$n"
}

min() { [ "$1" -lt "$2" ] && echo "$1" || echo "$2"; }

@test "affinity: quota 50000/100000 -> nproc 1" {
  quota 50000
  set_args nproc
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -eq 0 ]
  [ "$output" = 1 ]
}

@test "affinity: quota 150000/100000 -> nproc 2 (or the host's count when smaller)" {
  quota 150000
  set_args nproc
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -eq 0 ]
  [ "$output" = "$(min 2 "$HOSTN")" ]
}

@test "affinity: no quota -> the host's count" {
  update_config '.annotations = {"run.cell.fsview": "true", "run.cell.fsview.path": $mnt}' "$BUNDLE" --arg mnt "$MNT"
  set_args nproc
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -eq 0 ]
  [ "$output" = "$HOSTN" ]
}

@test "affinity: exec'd processes get the same CPUs as the init" {
  quota 50000
  set_args sleep 60
  run_detached "$ID"
  pid=$(ct_pid "$ID")
  [ "$(cpus_of "$pid")" = 1 ]
  run runtime exec "$ID" sh -c 'nproc; grep ^Cpus_allowed_list: /proc/self/status'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 1 ]
  [ "${lines[1]}" = "$(grep ^Cpus_allowed_list: "/proc/$pid/status")" ]
}

@test "affinity: update changes the CPUs of every running task live" {
  quota 50000
  set_args sh -c 'sleep 60 & exec sleep 60'
  run_detached "$ID"
  pid=$(ct_pid "$ID")
  wait_for -t 10 pgrep -P "$pid"
  child=$(pgrep -P "$pid")
  [ "$(cpus_of "$pid")" = 1 ]
  [ "$(cpus_of "$child")" = 1 ]
  run runtime update --cpu-quota 400000 "$ID"
  [ "$status" -eq 0 ]
  [ "$(cpus_of "$pid")" = "$(min 4 "$HOSTN")" ]
  [ "$(cpus_of "$child")" = "$(min 4 "$HOSTN")" ]
  run runtime update --cpu-quota 50000 "$ID"
  [ "$status" -eq 0 ]
  [ "$(cpus_of "$pid")" = 1 ]
  [ "$(cpus_of "$child")" = 1 ]
  run runtime update --cpu-quota -1 "$ID"
  [ "$status" -eq 0 ]
  [ "$(cpus_of "$pid")" = "$HOSTN" ]
  run runtime exec "$ID" nproc
  [ "$output" = "$HOSTN" ]
}

@test "affinity: run.cell.cpu-affinity=none keeps every CPU" {
  quota 50000
  update_config '.annotations["run.cell.cpu-affinity"] = "none"'
  set_args sleep 60
  run_detached "$ID"
  [ "$(cpus_of "$(ct_pid "$ID")")" = "$HOSTN" ]
  run runtime exec "$ID" nproc
  [ "$output" = "$HOSTN" ]
  run runtime update --cpu-quota 30000 "$ID"
  [ "$status" -eq 0 ]
  [ "$(cpus_of "$(ct_pid "$ID")")" = "$HOSTN" ]
}

@test "affinity: without cellfs's views the affinity is left alone" {
  quota 50000
  update_config '.annotations = {"run.cell.fsview": "false"}'
  set_args nproc
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -eq 0 ]
  [ "$output" = "$HOSTN" ]
}

@test "affinity: an unknown run.cell.cpu-affinity is an error that names it, and leaves nothing" {
  quota 50000
  update_config '.annotations["run.cell.cpu-affinity"] = "half"'
  set_args true
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -ne 0 ]
  [[ $output == *"annotations.run.cell.cpu-affinity"* ]]
  [ -z "$(ls "$ROOT")" ]
}

@test "affinity: a cellctl environment's nproc shows --cpus and follows set live" {
  # an unprivileged environment's root must reach its rootfs and cellfs: a 0755 dir
  EROOT=$(mktemp -d /tmp/hk8s-bats.XXXXXX)
  chmod 0755 "$EROOT"
  N=hk8s$$x$BATS_TEST_NUMBER
  local r=$EROOT/rfs a
  mkdir -p "$r"/{bin,sbin,etc,proc,sys,dev,tmp,run,root} "$EROOT/cfs"
  cp "$(command -v busybox)" "$r/bin/busybox"
  for a in sh nproc sleep echo; do ln -sf busybox "$r/bin/$a"; done
  for a in init poweroff halt; do ln -sf ../bin/busybox "$r/sbin/$a"; done
  printf '::respawn:/bin/sleep 100000\n' >"$r/etc/inittab"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
  "$CELLFS" "$EROOT/cfs" 2>"$BATS_TEST_TMPDIR/ecellfs.log" &
  ECFS_PID=$!
  wait_for -t 10 grep -q " $EROOT/cfs fuse.cellfs " /proc/self/mounts
  ecc() { timeout -k 5 120 "$CELLCTL" --root "$EROOT" "$@" </dev/null; }
  ecc create "$N" --rootfs "$r" --init busybox --memory 64M --cpus 1 --cellfs "$EROOT/cfs"
  ecc start "$N" --wait --timeout 30
  run ecc exec "$N" -- nproc
  [ "$status" -eq 0 ]
  [ "$output" = 1 ]
  run ecc set "$N" cpus=2
  [ "$status" -eq 0 ]
  run ecc exec "$N" -- nproc
  [ "$output" = "$(min 2 "$HOSTN")" ]
  run ecc set "$N" cpus=0.5
  [ "$status" -eq 0 ]
  run ecc exec "$N" -- nproc
  [ "$output" = 1 ]
  ecc stop "$N"
}
