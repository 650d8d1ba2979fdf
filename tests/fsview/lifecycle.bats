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
