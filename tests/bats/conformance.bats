#!/usr/bin/env bats
# runtime-spec conformance where cell used to differ from runc and crun:
# sysctls of namespaces the container does not own, rootfsPropagation, a
# config without a mount namespace, poststart/poststop hook failures,
# loopback, configs without /proc, and the config read once at create.

load helpers

# ct_run ARGS... - foreground run of the default bundle with ARGS.
ct_run() {
  set_args "$@"
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
}

# Host sysctls a broken runtime might write: restored by teardown, and the
# test fails if one changed.
SYSCTLS="net/ipv4/ip_forward kernel/shmmni kernel/domainname kernel/msgmax vm/overcommit_ratio"

setup() {
  cell_setup
  for k in $SYSCTLS; do cat "/proc/sys/$k" >"$BATS_TEST_TMPDIR/sysctl.${k//\//.}"; done
}

teardown() {
  local k before changed=
  for k in $SYSCTLS; do
    [ -f "$BATS_TEST_TMPDIR/sysctl.${k//\//.}" ] || continue # setup failed before the snapshot
    before=$(cat "$BATS_TEST_TMPDIR/sysctl.${k//\//.}")
    if [ "$(cat "/proc/sys/$k")" != "$before" ]; then
      changed+="$k "
      echo "$before" >"/proc/sys/$k"
    fi
  done
  cell_teardown
  if [ -n "$changed" ]; then
    echo "host sysctls changed (restored): $changed" >&2
    return 1
  fi
}

host_sysctl() { cat "$BATS_TEST_TMPDIR/sysctl.$1"; }
# names_key KEY - the error names the key (cell: as linux.sysctl["KEY"]).
names_key() {
  [[ $output == *"$1"* ]] || return 1
  if is_cell; then [[ $output == *"linux.sysctl[\"$1\"]"* ]]; fi
}
drop_ns() { update_config 'del(.linux.namespaces[] | select(.type == $t))' "$BUNDLE" --arg t "$1"; }

@test "sysctl: net.* without a network namespace is refused naming the key, host unchanged" {
  drop_ns network
  update_config '.linux.sysctl = {"net.ipv4.ip_forward": $v}' "$BUNDLE" --arg v "$((1 - $(host_sysctl net.ipv4.ip_forward)))"
  ct_run true
  [ "$status" -ne 0 ]
  names_key net.ipv4.ip_forward
  [ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$(host_sysctl net.ipv4.ip_forward)" ]
  assert_no_leftovers "$ID" "$BUNDLE"
}

@test "sysctl: a network namespace joined by path that is the host's counts as the host's" {
  update_config '(.linux.namespaces[] | select(.type == "network")) .path = "/proc/self/ns/net"'
  update_config '.linux.sysctl = {"net.ipv4.ip_forward": $v}' "$BUNDLE" --arg v "$((1 - $(host_sysctl net.ipv4.ip_forward)))"
  ct_run true
  [ "$status" -ne 0 ]
  names_key net.ipv4.ip_forward
  [ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$(host_sysctl net.ipv4.ip_forward)" ]
}

@test "sysctl: IPC keys without an ipc namespace are refused naming the key, host unchanged" {
  drop_ns ipc
  update_config '.linux.sysctl = {"kernel.shmmni": "1234"}'
  ct_run true
  [ "$status" -ne 0 ]
  names_key kernel.shmmni
  [ "$(cat /proc/sys/kernel/shmmni)" = "$(host_sysctl kernel.shmmni)" ]
  update_config '.linux.sysctl = {"kernel.msgmax": "4321"}'
  ct_run true
  [ "$status" -ne 0 ]
  names_key kernel.msgmax
  [ "$(cat /proc/sys/kernel/msgmax)" = "$(host_sysctl kernel.msgmax)" ]
}

@test "sysctl: kernel.domainname without a uts namespace is refused, host unchanged" {
  drop_ns uts
  update_config 'del(.hostname) | .linux.sysctl = {"kernel.domainname": "cell-escaped"}'
  ct_run true
  [ "$status" -ne 0 ]
  names_key kernel.domainname
  [ "$(cat /proc/sys/kernel/domainname)" = "$(host_sysctl kernel.domainname)" ]
}

@test "sysctl: a sysctl of no namespace is refused, host unchanged" {
  update_config '.linux.sysctl = {"vm.overcommit_ratio": $v}' "$BUNDLE" --arg v "$(($(host_sysctl vm.overcommit_ratio) + 1))"
  ct_run true
  [ "$status" -ne 0 ]
  names_key vm.overcommit_ratio
  [ "$(cat /proc/sys/vm/overcommit_ratio)" = "$(host_sysctl vm.overcommit_ratio)" ]
  assert_no_leftovers "$ID" "$BUNDLE"
}

@test "sysctl: namespaced keys with their own namespaces are applied inside only" {
  want=$((1 - $(host_sysctl net.ipv4.ip_forward)))
  update_config '.linux.sysctl = {"net.ipv4.ip_forward": $f, "kernel.msgmax": "4321", "kernel.domainname": "cell.test",
      "fs.mqueue.msg_max": "17"}' "$BUNDLE" --arg f "$want"
  ct_run sh -c 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax /proc/sys/kernel/domainname /proc/sys/fs/mqueue/msg_max'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "$want" ]
  [ "${lines[1]}" = 4321 ]
  [ "${lines[2]}" = cell.test ]
  [ "${lines[3]}" = 17 ]
}

@test "hooks: a failing poststart or poststop hook warns and the later hooks still run" {
  cell_only # runc stops the container when a poststart hook fails
  o=$BATS_TEST_TMPDIR/hook
  update_config '.hooks.poststart = [{"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]},
                                     {"path": "/bin/sh", "args": ["sh", "-c", "echo started > \($o).start"]}]
               | .hooks.poststop = [{"path": "/bin/false"},
                                    {"path": "/bin/sh", "args": ["sh", "-c", "echo stopped > \($o).stop"]}]' \
    "$BUNDLE" --arg o "$o"
  set_args sleep 100
  create_ct "$ID"
  run runtime start "$ID"
  [ "$status" -eq 0 ]
  [[ $output == *"hooks.poststart[0]"*"exit status 3"* ]]
  [ "$(cat "$o.start")" = started ]
  [ "$(ct_state "$ID")" = running ]
  runtime kill "$ID" KILL
  wait_state "$ID" stopped
  run runtime delete "$ID"
  [ "$status" -eq 0 ]
  [[ $output == *"hooks.poststop[0]"* ]]
  [ "$(cat "$o.stop")" = stopped ]
  [ ! -e "$ROOT/$ID" ]
}

@test "network namespace: lo is up" {
  set_args cat /sys/class/net/lo/flags
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -eq 0 ]
  # IFF_UP is bit 0
  [ $((output & 1)) -eq 1 ]
}

@test "process.cwd that does not exist is created before root.readonly makes / read-only" {
  [ "$(jq .root.readonly "$BUNDLE/config.json")" = true ]
  update_config '.process.cwd = "/new/work/dir"'
  set_args pwd
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -eq 0 ]
  [ "$output" = /new/work/dir ]
}

@test "config.json edited between create and start does not change the container" {
  o=$BATS_TEST_TMPDIR/hookran
  set_args sh -c 'echo original'
  create_ct "$ID"
  set_args sh -c 'echo edited'
  update_config '.hooks.poststart = [{"path": "/bin/sh", "args": ["sh", "-c", "touch \($o)"]}]' "$BUNDLE" --arg o "$o"
  runtime start "$ID"
  wait_state "$ID" stopped
  [ "$(ct_out "$ID")" = original ]
  [ ! -e "$o" ]
}

# root_prop - the propagation fields of / in the container's mountinfo.
root_prop() {
  set_args sh -c 'awk '\''$5 == "/" { for (i = 7; $i != "-"; i++) printf "%s ", $i; print "." }'\'' /proc/self/mountinfo'
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
}

@test "linux.rootfsPropagation: every value starts and shows on / in mountinfo" {
  cell_only # runc shows no shared:N on / for "shared" (it makes the rootfs mount private)
  # the rootfs on a shared mount of its own, so that a slave has a master
  mount --bind "$BUNDLE/rootfs" "$BUNDLE/rootfs"
  track_mount "$BUNDLE/rootfs"
  mount --make-shared "$BUNDLE/rootfs"
  for p in private rprivate slave rslave shared rshared unbindable runbindable; do
    update_config '.linux.rootfsPropagation = $p' "$BUNDLE" --arg p "$p"
    root_prop
    echo "$p: $status $output"
    [ "$status" -eq 0 ]
    case $p in
      *private) [[ $output != *shared:* && $output != *master:* && $output != *unbindable* ]] ;;
      *slave)
        [[ $output == *master:* && $output != *shared:* ]] ;;
      *shared) [[ $output == *shared:* ]] ;;
      *unbindable) [[ $output == *unbindable* ]] ;;
    esac
  done
}

@test "a config without a /proc mount runs, and its /proc stays empty" {
  cell_only # runc fails too: it closes fds through /proc/self/fd
  update_config 'del(.mounts[] | select(.destination == "/proc"))
                 | .linux.sysctl = {"kernel.shmmni": "1234"}'
  set_args sh -c 'echo ran; ls -A /proc | wc -l'
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = ran ]
  [ "${lines[1]}" = 0 ]
  [ "$(cat /proc/sys/kernel/shmmni)" = "$(host_sysctl kernel.shmmni)" ]
  # in a user namespace too (a new proc needs one visible: made before pivot_root)
  with_userns
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = ran ]
}

# in_private_mntns ARGS... - the runtime in a mount namespace of its own, which
# the test drops with everything mounted in it; prints that namespace first.
in_private_mntns() {
  run unshare -m -- sh -c 'readlink /proc/self/ns/mnt; exec timeout -k 5 "$0" "$@" </dev/null' \
    "$CELL_TIMEOUT" "$CELL" --root "$ROOT" "$@"
}

@test "a config without a mount namespace runs chrooted in the runtime's mount namespace" {
  update_config 'del(.linux.namespaces[] | select(.type == "mount")) | del(.linux.maskedPaths, .linux.readonlyPaths)'
  echo inside >"$BUNDLE/rootfs/marker"
  set_args sh -c 'cat /marker; readlink /proc/self/ns/mnt; touch /x && echo rw'
  in_private_mntns run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 0 ]
  [ "${lines[-3]}" = inside ] # (cell warns first that root.readonly is ignored)
  [ "${lines[-2]}" = "${lines[0]}" ]
  # root.readonly is not applied: it would stay on the host's rootfs (runc and crun)
  [ "${lines[-1]}" = rw ]
  [ -e "$BUNDLE/rootfs/x" ]
}

@test "a config without a mount namespace: exec runs chrooted in the container's root" {
  cell_only # runc exec does not chroot there
  update_config 'del(.linux.namespaces[] | select(.type == "mount")) | del(.linux.maskedPaths, .linux.readonlyPaths)'
  echo inside >"$BUNDLE/rootfs/marker"
  set_args sleep 100
  run unshare -m -- sh -c '"$0" --root "$1" run -d --bundle "$2" "$3" </dev/null >/dev/null 2>&1 || exit 1
    "$0" --root "$1" exec "$3" cat /marker; rc=$?
    "$0" --root "$1" delete --force "$3"; exit $rc' "$CELL" "$ROOT" "$BUNDLE" "$ID"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = inside ]
}

@test "a config without a mount namespace refuses maskedPaths (they would be the host's)" {
  update_config 'del(.linux.namespaces[] | select(.type == "mount"))'
  in_private_mntns run --bundle "$BUNDLE" "$ID"
  [ "$status" -ne 0 ]
  if is_cell; then [[ $output == *"linux.maskedPaths: needs a mount namespace"* ]]; fi
  assert_no_leftovers "$ID" "$BUNDLE"
}

@test "process.scheduler SCHED_RR/SCHED_FIFO: applied with realtime runtime; without it on cgroup v1 the error says so" {
  cell_only # runc 1.1 and crun 1.8 ignore process.scheduler
  set_args sh -c 'exec cut -d" " -f40,41 /proc/self/stat'
  # a cgroup right below ours: a v1 child gets realtime runtime only from its parent's
  update_config '.process.scheduler = {"policy": "SCHED_RR", "priority": 7}
                 | .linux.resources.cpu = {"realtimeRuntime": 10000, "realtimePeriod": 1000000}
                 | .linux.cgroupsPath = $cg' "$BUNDLE" --arg cg "$(sed -n 's/^[0-9]*:cpu:\(.*\)$/\1/p;s/^[0-9]*:cpu,cpuacct:\(.*\)$/\1/p' /proc/self/cgroup | sed 's|/$||')/cell-rt-$ID"
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -eq 0 ]
  [ "$output" = "7 2" ]
  update_config '.process.scheduler = {"policy": "SCHED_FIFO", "priority": 3} | del(.linux.resources.cpu)'
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  if [ -f /sys/fs/cgroup/cpu/cpu.rt_runtime_us ]; then
    # v1 RT group scheduling: the new cgroup has no realtime budget
    [ "$status" -ne 0 ]
    [[ $output == *"process.scheduler"*"linux.resources.cpu.realtimeRuntime"* ]]
  else
    [ "$status" -eq 0 ]
    [ "$output" = "3 1" ]
  fi
}

# with_userns - the container in a user namespace mapping 0-65535 to 200000.
with_userns() {
  local d=$BUNDLE
  # the mapped root must be able to reach the rootfs through the bats dirs
  while [ "$d" != / ] && [ "$d" != "$BATS_TMPDIR" ]; do chmod o+x "$d"; d=$(dirname "$d"); done
  update_config '.linux.namespaces += [{"type": "user"}]
    | .linux.uidMappings = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    | .linux.gidMappings = [{"containerID": 0, "hostID": 200000, "size": 65536}]'
}

@test "idmapped bind mount with a mapping other than the container's user namespace" {
  with_userns
  d=$BATS_TEST_TMPDIR/idm
  mkdir -p "$d" "$BUNDLE/rootfs/mnt/idm" && echo hi >"$d/f" && chown 0:0 "$d/f"
  # on-disk 0 becomes host 200007, which is 7 in the container
  update_config '.mounts += [{"destination": "/mnt/idm", "type": "bind", "source": $d, "options": ["bind"],
      "uidMappings": [{"containerID": 0, "hostID": 200007, "size": 1}],
      "gidMappings": [{"containerID": 0, "hostID": 200009, "size": 1}]}]' "$BUNDLE" --arg d "$d"
  set_args stat -c '%u:%g' /mnt/idm/f
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -eq 0 ]
  [ "$output" = 7:9 ]
  [ "$(stat -c %u:%g "$d/f")" = 0:0 ]
}

@test "user namespace: a bind source below a directory only the host's root may search" {
  with_userns
  p=$BATS_TEST_TMPDIR/private
  mkdir -p "$p/data" "$BUNDLE/rootfs/mnt/data" && echo secret-ok >"$p/data/f" && chmod 0700 "$p" && chmod 0755 "$p/data" && chmod 0644 "$p/data/f"
  update_config '.mounts += [{"destination": "/mnt/data", "type": "bind", "source": $d, "options": ["rbind", "ro"]}]' \
    "$BUNDLE" --arg d "$p/data"
  set_args sh -c 'cat /mnt/data/f; touch /mnt/data/x 2>/dev/null || echo ro'
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = secret-ok ]
  [ "${lines[1]}" = ro ]
}

@test "user namespace: a device missing on the host becomes an empty file" {
  with_userns
  [ ! -e /dev/cell-conf-nodev ]
  update_config '.linux.devices = [{"path": "/dev/cell-conf-nodev", "type": "c", "major": 1, "minor": 3}]'
  set_args sh -c 'test -f /dev/cell-conf-nodev && echo file; wc -c </dev/cell-conf-nodev'
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = file ]
  [ "${lines[1]}" = 0 ]
  [ ! -e /dev/cell-conf-nodev ]
}

@test "linux.devices: fileMode, uid and gid are honoured, an absent uid or gid is 0" {
  update_config '.linux.devices = [
      {"path": "/dev/cell-a", "type": "c", "major": 1, "minor": 3, "fileMode": 384, "uid": 1000, "gid": 1001},
      {"path": "/dev/cell-b", "type": "c", "major": 1, "minor": 3, "fileMode": 416, "uid": 5},
      {"path": "/dev/cell-c", "type": "c", "major": 1, "minor": 5, "fileMode": 432, "gid": 7}]'
  set_args stat -c '%a %u %g %t:%T' /dev/cell-a /dev/cell-b /dev/cell-c
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "600 1000 1001 1:3" ]
  [ "${lines[1]}" = "640 5 0 1:3" ]
  [ "${lines[2]}" = "660 0 7 1:5" ]
}

@test "user namespace: no runtime copy of an unreachable source on a read-only host mount (its flags would be unlocked)" {
  cell_only
  with_userns
  p=$BATS_TEST_TMPDIR/private
  mkdir -p "$p/data" "$BUNDLE/rootfs/mnt/data" && chmod 0700 "$p"
  mount --bind "$p/data" "$p/data"
  track_mount "$p/data"
  mount -o remount,bind,ro "$p/data"
  update_config '.mounts += [{"destination": "/mnt/data", "type": "bind", "source": $d, "options": ["rbind"]}]' \
    "$BUNDLE" --arg d "$p/data"
  set_args true
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -ne 0 ]
  [[ $output == *"].source: stat $p/data: Permission denied"* ]]
}
