#!/usr/bin/env bats
# cell run by an unprivileged user (rootless): a user namespace maps the
# caller to root inside; no cgroup is required when no limits are asked for.

load helpers

setup() {
  cell_setup
  RL=$(mktemp -d /tmp/cell-rootless.XXXXXX)
  chmod 755 "$RL"
  cp -a "$BUNDLE/rootfs" "$RL/rootfs"
  (cd "$RL" && "$CELL" spec --rootless)
  jq '.process.terminal = false | .linux.uidMappings[0].hostID = 65534 | .linux.gidMappings[0].hostID = 65534' \
    "$RL/config.json" >"$RL/c.json" && mv "$RL/c.json" "$RL/config.json"
  chown -R 65534:65534 "$RL"
}

teardown() {
  setpriv --reuid 65534 --regid 65534 --clear-groups env XDG_RUNTIME_DIR= "$CELL" delete --force rl-$$ >/dev/null 2>&1 || true
  rm -rf --one-file-system "$RL" "/tmp/cell-65534"
  cell_teardown
}

as_nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups env XDG_RUNTIME_DIR= "$@"; }

@test "rootless: an unprivileged user runs a container as root of its own user namespace" {
  jq '.process.args = ["sh", "-c", "id -u; cat /proc/self/uid_map; hostname"]' \
    "$RL/config.json" >"$RL/c.json" && mv "$RL/c.json" "$RL/config.json"
  run as_nobody "$CELL" run --bundle "$RL" rl-$$
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 0 ]
  [[ ${lines[1]} =~ ^\ *0\ +65534\ +1$ ]]
  [ "${lines[2]}" = cell ]
  # the state lives below the user's own directory, not in /run/cell
  [ ! -e /run/cell/rl-$$ ]
}

@test "rootless: create/start/state/kill/delete work and clean up" {
  jq '.process.args = ["sleep", "30"]' "$RL/config.json" >"$RL/c.json" && mv "$RL/c.json" "$RL/config.json"
  chown 65534:65534 "$RL/config.json"
  # the container keeps the stdio it is given: not bats' output pipe
  as_nobody "$CELL" create --bundle "$RL" rl-$$ </dev/null >"$BATS_TEST_TMPDIR/ct.out" 2>&1
  run as_nobody "$CELL" start rl-$$
  [ "$status" -eq 0 ]
  run as_nobody "$CELL" state rl-$$
  [[ $output == *'"status": "running"'* ]]
  pid=$(echo "$output" | jq .pid)
  [ "$(stat -c %u /proc/$pid)" = 65534 ]
  run as_nobody "$CELL" kill rl-$$ KILL
  [ "$status" -eq 0 ]
  run as_nobody "$CELL" delete --force rl-$$
  [ "$status" -eq 0 ]
  [ ! -e /tmp/cell-65534/rl-$$ ]
}
