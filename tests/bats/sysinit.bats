#!/usr/bin/env bats
# systemd mode (runtime/sysinit.h): a container whose init is systemd gets
# tmpfs /run, /run/lock and /tmp, container=cell, a cgroup namespace with
# writable name=systemd/cgroup2 hierarchies (controllers read-only), and
# SIGRTMIN+3 for SIGTERM.  Chosen by run.cell.init=systemd or by args[0].

load helpers

# The probe: what systemd would look at, one fact a line.
PROBE='for d in /run /run/lock /tmp; do awk -v d=$d '"'"'$2 == d { print d, $3 }'"'"' /proc/self/mounts; done
echo "container=$container"
awk -F: '"'"'$2 == "memory" { m = $3 } $1 == 0 { u = $3 } END { print "cgroup=" (m != "" ? m : u) }'"'"' /proc/self/cgroup
mkdir /sys/fs/cgroup/systemd/probe 2>/dev/null && rmdir /sys/fs/cgroup/systemd/probe && echo systemd-rw
mkdir /sys/fs/cgroup/memory/probe 2>/dev/null || echo memory-ro'

@test "sysinit: run.cell.init=systemd gives tmpfs /run /run/lock /tmp, container=cell, a cgroup ns, a writable systemd hierarchy only" {
  cell_only
  [ -d /sys/fs/cgroup/systemd ] || [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]
  update_config '.annotations = {"run.cell.init": "systemd"}'
  set_args sh -c "$PROBE"
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "/run tmpfs" ]
  [ "${lines[1]}" = "/run/lock tmpfs" ]
  [ "${lines[2]}" = "/tmp tmpfs" ]
  [ "${lines[3]}" = "container=cell" ]
  [ "${lines[4]}" = "cgroup=/" ]
  if [ -d /sys/fs/cgroup/systemd ]; then
    [ "${lines[5]}" = systemd-rw ]
    [ "${lines[6]}" = memory-ro ]
  fi
}

@test "sysinit: args[0] /sbin/init resolving to systemd chooses systemd mode; the config's own container= and /tmp mount win" {
  cell_only
  # as Debian: /sbin/init -> /lib/systemd/systemd
  mkdir -p "$BUNDLE/rootfs/lib/systemd"
  printf '#!/bin/sh\n%s\n' "$PROBE" >"$BUNDLE/rootfs/lib/systemd/systemd"
  chmod 755 "$BUNDLE/rootfs/lib/systemd/systemd"
  ln -sfn /lib/systemd/systemd "$BUNDLE/rootfs/sbin/init"
  update_config '.process.env += ["container=mine"]
    | .mounts += [{"destination": "/tmp", "type": "bind", "source": $d, "options": ["rbind", "rw"]}]' \
    "$BUNDLE" --arg d "$BATS_TEST_TMPDIR"
  set_args /sbin/init
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "/run tmpfs" ]
  [ "${lines[1]}" = "/run/lock tmpfs" ]
  [[ ${lines[2]} == "/tmp "* && ${lines[2]} != "/tmp tmpfs" ]]
  [ "${lines[3]}" = "container=mine" ]
}

@test "sysinit: args[0] /sbin/init that is busybox's init is an ordinary process" {
  cell_only
  [ "$(readlink "$BUNDLE/rootfs/sbin/init")" = /bin/busybox ]
  set_args /sbin/init
  create_ct "$ID"
  run runtime state "$ID"
  [ "$status" -eq 0 ]
  [ "$(jq -r '.annotations["run.cell.init"] // "unset"' <<<"$output")" = unset ]
  pid=$(jq -r .pid <<<"$output")
  ! grep -q ' /run tmpfs ' "/proc/$pid/mounts"
}

@test "sysinit: run.cell.init=none keeps /sbin/init an ordinary process; a bad value names the annotation" {
  cell_only
  update_config '.annotations = {"run.cell.init": "none"}'
  set_args /sbin/init --version-probe
  printf '#!/bin/sh\nawk '"'"'$2 == "/run" { print "run-mounted" }'"'"' /proc/self/mounts; echo "container=$container"\n' \
    >"$BUNDLE/rootfs/sbin/init.probe"
  chmod 755 "$BUNDLE/rootfs/sbin/init.probe"
  rm -f "$BUNDLE/rootfs/sbin/init"
  mv "$BUNDLE/rootfs/sbin/init.probe" "$BUNDLE/rootfs/sbin/init"
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -eq 0 ]
  [ "$output" = "container=" ]

  update_config '.annotations = {"run.cell.init": "upstart"}'
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -ne 0 ]
  [[ $output == *'annotations.run.cell.init: "upstart" must be "systemd" or "none"'* ]]
  [ -z "$(ls "$ROOT")" ]
}

@test "sysinit: kill TERM reaches a systemd-mode init as SIGRTMIN+3, other signals unchanged" {
  cell_only
  update_config '.annotations = {"run.cell.init": "systemd"}'
  # SIGRTMIN+3 is 37 with glibc (SIGRTMIN 34)
  set_args sh -c 'trap "echo got-rtmin3; exit 0" 37; trap "echo got-usr1" USR1; trap "echo got-term; exit 0" TERM; echo ready; while :; do sleep 0.05; done'
  run_detached "$ID"
  wait_out "$ID" ready
  runtime kill "$ID" USR1
  wait_out "$ID" got-usr1
  runtime kill "$ID" TERM
  wait_state "$ID" stopped
  out_has "$ID" got-rtmin3
  ! out_has "$ID" got-term
  [ "$(runtime state "$ID" | jq -r '.annotations["run.cell.init"]')" = systemd ]
}

@test "sysinit: no cgroup namespace is added when the config mounts below /sys/fs/cgroup (podman --systemd binds the host's systemd hierarchy)" {
  cell_only
  if [ -d /sys/fs/cgroup/systemd ]; then
    m='{"destination": "/sys/fs/cgroup/systemd", "type": "bind", "source": "/sys/fs/cgroup/systemd",
        "options": ["bind", "nodev", "noexec", "nosuid", "rprivate"]}'
  else # cgroup2 host: any mount below /sys/fs/cgroup
    : >"$BATS_TEST_TMPDIR/procs"
    m='{"destination": "/sys/fs/cgroup/cgroup.procs", "type": "bind", "source": "'$BATS_TEST_TMPDIR/procs'",
        "options": ["bind", "ro"]}'
  fi
  update_config '.annotations = {"run.cell.init": "systemd"} | .mounts += [$m]' "$BUNDLE" --argjson m "$m"
  set_args sh -c 'readlink /proc/self/ns/cgroup; awk -F: '"'"'$2 == "memory" { m = $3 } $1 == 0 { u = $3 } END { print "cgroup=" (m != "" ? m : u) }'"'"' /proc/self/cgroup'
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "$(readlink /proc/self/ns/cgroup)" ]
  [[ ${lines[1]} == cgroup=/?* ]]
}
