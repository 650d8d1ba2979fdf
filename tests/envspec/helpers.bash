# helpers.bash - boot an environment's spec (env/spec.c, through the test
# tool build/tools/envspec) with `cell run -d`, before and besides cellctl.
#
# Layout per test ($ENVSPEC_TMP/NAME/, a 0755 directory: an unprivileged
# environment's root must be able to reach its rootfs, and bats' own
# temporary directories are 0700): the shared lower layer (the
# cached Debian or busybox tar, extracted once per file in setup_file), for an
# unprivileged environment an idmapped copy of it (lower/), an upper/ owned by
# the environment's range (a new empty directory: nothing is chowned), the
# overlay at rootfs/, and config.json.  Teardown deletes the containers,
# unmounts, and fails the test if a cgroup named henv2 is left anywhere.

CELL_TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
CELL=${CELL:-$CELL_TOP/build/cell}
ENVSPEC=${ENVSPEC:-$(dirname "$CELL")/tools/envspec}
[ -x "$ENVSPEC" ] || ENVSPEC=$CELL_TOP/build/tools/envspec
: "${ENVSPEC_ROOT:=/run/henv2-envspec}"
: "${ENVSPEC_RANGES:=/run/henv2-envspec-ranges}"  # the id-range allocator's root (not a cell --root)
: "${CELL_TIMEOUT:=120}"
# the parent of the environments' cgroups (cgroupsPath PARENT/NAME; relative:
# below our own cgroup; the VM test gives an absolute one below CELL_VM_CGROUP)
: "${ENVSPEC_CGROUP_PARENT:=henv2-envspec}"

cellrt() { timeout -k 5 "$CELL_TIMEOUT" "$CELL" --root "$ENVSPEC_ROOT" "$@"; }

# extract_lower TAR DIR - the shared lower layer, once per bats file.
extract_lower() {
  mkdir -p "$2"
  tar --numeric-owner -C "$2" -xf "$1"
}

# env_up NAME LOWER [--privileged] [envspec spec options...]
# Prepares $ENVSPEC_TMP/NAME and runs it detached.  Unprivileged: the id
# range comes from the allocator (ENVSPEC_ROOT/ranges), the lower layer is
# idmapped, and the createRuntime hook delegates the cgroups.
env_up() {
  local name=$1 lower=$2; shift 2
  local d=$ENVSPEC_TMP/$name priv=0 base=0 a
  for a in "$@"; do [ "$a" = --privileged ] && priv=1; done
  mkdir -p "$d/upper" "$d/work" "$d/rootfs"
  if [ $priv = 0 ]; then
    mkdir -p "$ENVSPEC_RANGES"
    base=$("$ENVSPEC" alloc "$ENVSPEC_RANGES" "$name")
    mkdir -p "$d/lower"
    "$ENVSPEC" idmap "$lower" "$d/lower" "$base"
    chown "$base:$base" "$d/upper"
    lower=$d/lower
    set -- "$@" --base "$base" --idmapped --delegate-hook "$ENVSPEC"
  fi
  mount -t overlay overlay -o "lowerdir=$lower,upperdir=$d/upper,workdir=$d/work" "$d/rootfs"
  "$ENVSPEC" spec --name "$name" --rootfs "$d/rootfs" --cgroup "$ENVSPEC_CGROUP_PARENT/$name" \
    --uuid "$(cat /proc/sys/kernel/random/uuid)" "$@" >"$d/config.json"
  echo "$base" >"$d/base"
  if ! cellrt run -d --bundle "$d" "$name" </dev/null >"$d/console.log" 2>&1 3>&-; then
    echo "cell run -d $name failed:" >&2
    cat "$d/console.log" >&2
    return 1
  fi
}

env_pid() { cellrt state "$1" | jq -r .pid; }

# envexec NAME CMD... - a command in the environment: `cell exec`, or with
# ENVSPEC_NSENTER=1 nsenter into the init's namespaces (cgroup v2: `cell exec`
# cannot join a cgroup that systemd made a non-leaf, see tests/vm/envspec.bats)
envexec() {
  local name=$1; shift
  if [ "${ENVSPEC_NSENTER:-0}" = 1 ]; then
    timeout -k 5 "$CELL_TIMEOUT" nsenter -t "$(env_pid "$name")" -a "$@"
  else
    cellrt exec "$name" "$@"
  fi
}
env_status() { cellrt state "$1" 2>/dev/null | jq -r .status; }

# wait_running NAME [SECONDS] - until `systemctl is-system-running` says
# running (fails on degraded/maintenance/stopping or the timeout, printing
# the failed units and the journal's errors).
wait_running() {
  local name=$1 t=${2:-90} s=
  local end=$((SECONDS + t))
  while [ $SECONDS -lt $end ]; do
    s=$(envexec "$name" systemctl is-system-running 2>/dev/null) || true
    case $s in
      running) return 0 ;;
      degraded | maintenance | stopping | offline) break ;;
    esac
    sleep 0.5
  done
  echo "systemctl is-system-running: '$s' after $t s" >&2
  envexec "$name" systemctl --failed --no-pager >&2 || true
  envexec "$name" journalctl -p warning -b --no-pager >&2 || true
  return 1
}

# halt NAME SIGNAL [SECONDS] - sends the halt signal, waits for the init to exit.
halt() {
  local name=$1 sig=$2 t=${3:-60} pid
  pid=$(env_pid "$name")
  kill -s "$sig" "$pid"
  local end=$((SECONDS + t))
  while alive "$pid" && [ $SECONDS -lt $end ]; do sleep 0.1; done
  ! alive "$pid"
}
# a running process (not gone, not a zombie waiting for pid 1 to reap it)
alive() { local st; st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) && [ -n "$st" ] && [ "$st" != Z ]; }

env_down() {
  local name=$1 d=$ENVSPEC_TMP/$1
  cellrt delete --force "$name" >/dev/null 2>&1 || true
  mountpoint -q "$d/rootfs" 2>/dev/null && umount "$d/rootfs"
  mountpoint -q "$d/lower" 2>/dev/null && umount "$d/lower"
  "$ENVSPEC" free "$ENVSPEC_RANGES" "$name" 2>/dev/null || true
}

# No cgroup named henv2-envspec left in any hierarchy.
no_cgroups_left() {
  local left
  left=$(find /sys/fs/cgroup -maxdepth 6 -type d -name 'henv2-envspec*' 2>/dev/null)
  [ -z "$left" ] || { echo "cgroups left: $left" >&2; return 1; }
}

# envspec_tmp_setup / envspec_tmp_teardown - $ENVSPEC_TMP for a bats file.
envspec_tmp_setup() {
  ENVSPEC_TMP=$(mktemp -d /tmp/henv2-envspec.XXXXXX)
  chmod 0755 "$ENVSPEC_TMP"
  export ENVSPEC_TMP
}
envspec_tmp_teardown() {
  case ${ENVSPEC_TMP:-} in
    /tmp/henv2-envspec.*)
      findmnt -rno TARGET | grep "^$ENVSPEC_TMP/" | sort -r | xargs -r umount -l
      rm -rf --one-file-system "$ENVSPEC_TMP" ;;
  esac
}

teardown_envs() {
  local n
  for n in "$@"; do env_down "$n"; done
  no_cgroups_left
}
