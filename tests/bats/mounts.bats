#!/usr/bin/env bats
# Mount features beyond the defaults: idmapped mounts, --no-pivot, tmpcopyup,
# recursive read-only.

load helpers

@test "idmapped bind mount: files owned by 0 on disk appear as uid/gid 1000" {
  d=$BATS_TEST_TMPDIR/idm
  mkdir -p "$d" && echo hi >"$d/f" && chown 0:0 "$d/f"
  update_config '.mounts += [{"destination": "/mnt/idm", "type": "bind", "source": $d, "options": ["bind"],
      "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
      "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}]' "$BUNDLE" --arg d "$d"
  set_args stat -c '%u:%g' /mnt/idm/f
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -eq 0 ]
  [ "$output" = 1000:1000 ]
  # the host's view is untouched
  [ "$(stat -c %u:%g "$d/f")" = 0:0 ]
}

@test "idmap mount option with mappings on only one of uid/gid is rejected naming the field" {
  d=$BATS_TEST_TMPDIR/idm
  mkdir -p "$d"
  update_config '.mounts += [{"destination": "/mnt/idm", "type": "bind", "source": $d, "options": ["bind"],
      "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}]' "$BUNDLE" --arg d "$d"
  set_args true
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -ne 0 ]
  [[ $output == *"mounts["*"uidMappings and gidMappings must be given together"* ]]
  [ -z "$(ls "$ROOT")" ]
}

@test "--no-pivot: the container runs chrooted in its rootfs" {
  set_args sh -c 'ls /; head -n1 /proc/self/mountinfo'
  run runtime run --no-pivot --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -eq 0 ]
  [[ $output == *bin* ]]
  [[ ${lines[-1]} == *" / "* ]]
}

@test "tmpcopyup: a tmpfs over a directory starts with that directory's content" {
  mkdir -p "$BUNDLE/rootfs/opt/data" && echo seed >"$BUNDLE/rootfs/opt/data/seed"
  update_config '.mounts += [{"destination": "/opt/data", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup", "mode=755"]}]'
  set_args sh -c 'cat /opt/data/seed; grep " /opt/data " /proc/self/mountinfo | grep -c tmpfs'
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = seed ]
  [ "${lines[1]}" = 1 ]
}

@test "rro makes a bind mount and its submounts read-only" {
  d=$BATS_TEST_TMPDIR/rro
  mkdir -p "$d"
  update_config '.mounts += [{"destination": "/mnt/rro", "type": "bind", "source": $d, "options": ["rbind", "rro"]}]' "$BUNDLE" --arg d "$d"
  set_args sh -c 'touch /mnt/rro/x 2>&1; echo rc=$?'
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  [[ $output == *"Read-only file system"* ]]
  [ ! -e "$d/x" ]
}
