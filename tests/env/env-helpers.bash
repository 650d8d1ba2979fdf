# env-helpers.bash - shared by the slow environment suites (tests/suites/env.sh).
load ../bats/helpers

cc() { timeout -k 5 180 "$CELLCTL" --root "$ROOT" "$@" </dev/null; }

env_cgroups() {
  find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path "*/cellctl-*/$1" 2>/dev/null
}

# A directory of the cached rootfs tar: extracted once, next to the tar (keyed by its name).
rootfs_dir() { # TAR
  local tar=$1 dir=${1%.tar}.d
  exec 8>"$tar.lock"
  flock 8
  if [ ! -d "$dir" ]; then
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp" && tar -C "$dir.tmp" -xf "$tar" && mv "$dir.tmp" "$dir"
  fi
  exec 8>&-
  echo "$dir"
}

env_setup() {
  ROOT=$(mktemp -d /tmp/henv-slow.XXXXXX)
  chmod 0755 "$ROOT"
}

env_teardown() {
  local n problems=
  if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -n "${output+x}" ]; then
    echo "# last run: status=${status:-} output: $output" >&2
  fi
  for n in $(ls "$ROOT/vps" 2>/dev/null); do
    timeout -k 5 120 "$CELLCTL" --root "$ROOT" destroy --force "$n" >/dev/null 2>&1 </dev/null || problems+="destroy $n failed; "
    [ -z "$(env_cgroups "$n")" ] || problems+="cgroup of $n left; "
  done
  [ -z "$(mounts_under "$ROOT")" ] || problems+="mounts left: $(mounts_under "$ROOT"); "
  [ -n "$problems" ] || rm -rf "$ROOT"
  if [ -n "$problems" ] && [ -n "${BATS_TEST_COMPLETED:-}" ]; then
    echo "teardown: $problems" >&2
    return 1
  fi
}
