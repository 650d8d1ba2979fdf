# helpers.bash - shared setup for the end-to-end bats suites of `cell`.
#
# The runtime under test is $CELL (default: build/cell); the suites follow
# runc's command line, outputs and exit codes, so `CELL=/usr/sbin/runc bats
# tests/bats` passes too, except for tests guarded by `cell_only`.
#
# Per test: a private state root ($ROOT, passed as --root by `runtime`), a
# default bundle ($BUNDLE, args `sh`) and a default id ($ID).  Every id made by
# new_id is `delete --force`d in teardown, which then fails the test if any
# cgroup cell-tests/<id> is left below our own cgroup in any hierarchy, or if
# any mount is left below the test's temporary directory.

CELL_TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
CELL=${CELL:-$CELL_TOP/build/cell}
CELLCTL=${CELLCTL:-$(dirname "$CELL")/cellctl}
FIXTURES=$CELL_TOP/tests/fixtures
: "${CELL_TIMEOUT:=60}"

# ---------------------------------------------------------------- runtime

is_cell() {
  case $(basename "$CELL") in
    cell) return 0 ;;
    runc | crun | youki) return 1 ;;
  esac
  "$CELL" --version 2>/dev/null | head -n1 | grep -q '^cell version'
}

# The ONLY allowed skip: behaviour specific to cell, not shared with runc.
cell_only() {
  is_cell || skip "cell-specific (CELL=$CELL)"
}

# runtime ARGS... - the runtime with our private --root, bounded in time.
runtime() {
  timeout -k 5 "$CELL_TIMEOUT" "$CELL" --root "$ROOT" "$@"
}

# Runs the runtime with the container's stdio on files, so that a container
# outliving the command does not hold bats' output pipe open:
#   rt_bg OUTFILE ARGS...   sets $status and $output (runtime + container
#   output written so far to OUTFILE).
rt_bg() {
  local out=$1; shift
  status=0
  runtime "$@" </dev/null >"$out" 2>&1 || status=$?
  output=$(cat "$out")
}

# create_ct ID [BUNDLE] [extra create args...] - create, asserting success.
# Container stdout/stderr go to $BATS_TEST_TMPDIR/ID.out.
create_ct() {
  local id=$1 b=${2:-$BUNDLE}
  shift; [ $# -gt 0 ] && shift
  rt_bg "$BATS_TEST_TMPDIR/$id.out" create --bundle "$b" "$@" "$id"
  if [ "$status" -ne 0 ]; then
    echo "create $id failed ($status): $output" >&2
    return 1
  fi
}

# run_detached ID [BUNDLE] [extra run args...] - run -d, asserting success.
run_detached() {
  local id=$1 b=${2:-$BUNDLE}
  shift; [ $# -gt 0 ] && shift
  rt_bg "$BATS_TEST_TMPDIR/$id.out" run -d --bundle "$b" "$@" "$id"
  if [ "$status" -ne 0 ]; then
    echo "run -d $id failed ($status): $output" >&2
    return 1
  fi
}

# ct_out ID - what the container wrote to stdout/stderr so far.
ct_out() { cat "$BATS_TEST_TMPDIR/$1.out"; }

ct_state() { runtime state "$1" | jq -r .status; }
ct_pid() { runtime state "$1" | jq -r .pid; }

# wait_for [-t SECONDS] CMD... - poll CMD every 20 ms until it succeeds.
# CMD is run again each time: use `wait_for eval '[ "$(...)" = x ]'` for
# conditions on command output (a plain $(...) argument is expanded once).
wait_for() {
  local t=10
  if [ "$1" = -t ]; then t=$2; shift 2; fi
  local end=$((SECONDS + t))
  until "$@" 2>/dev/null; do
    if [ "$SECONDS" -ge "$end" ]; then
      echo "timed out after ${t}s waiting for: $*" >&2
      return 1
    fi
    sleep 0.02
  done
}

state_is() { [ "$(ct_state "$1")" = "$2" ]; }
wait_state() { wait_for state_is "$1" "$2"; }
out_has() { grep -q -- "$2" "$BATS_TEST_TMPDIR/$1.out"; }
wait_out() { wait_for out_has "$1" "$2"; }

# ---------------------------------------------------------------- bundles

# new_id [TAG] - a fresh container id, remembered for teardown.
new_id() {
  local id="cellt-${BATS_TEST_NUMBER}-$$-${RANDOM}${1:+-$1}"
  echo "$id" >>"$BATS_TEST_TMPDIR/ids"
  echo "$id"
}

# new_bundle DIR ID [ARGS...] - a bundle whose cgroupsPath is cell-tests/ID.
new_bundle() {
  local dir=$1 id=$2; shift 2
  "$FIXTURES/mkbundle.sh" "$dir" --id "$id" -- "$@" >/dev/null
}

# update_config FILTER [BUNDLE [jq options...]] - edit BUNDLE/config.json,
#   e.g. update_config '.process.cwd = $d' "$BUNDLE" --arg d /tmp
update_config() {
  local filter=$1 b=${2:-$BUNDLE}
  [ $# -ge 2 ] && shift 2 || shift
  jq "$@" "$filter" <"$b/config.json" >"$b/config.json.new" &&
    mv "$b/config.json.new" "$b/config.json"
}

# set_args ARGS... - process.args of the default bundle.
set_args() {
  jq '.process.args = $ARGS.positional' --args -- "$@" <"$BUNDLE/config.json" >"$BUNDLE/config.json.new" &&
    mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
}

# ---------------------------------------------------------------- cgroups

# Prints "MOUNTPOINT OWNPATH" for every cgroup hierarchy of this process.
cgroup_hierarchies() {
  local d name own
  if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
    echo "/sys/fs/cgroup $(sed -n 's/^0:://p' /proc/self/cgroup)"
    return
  fi
  for d in /sys/fs/cgroup/*/; do
    d=${d%/}
    case $(stat -fc %T "$d" 2>/dev/null) in cgroupfs | cgroup2fs) ;; *) continue ;; esac
    name=$(basename "$d")
    if [ "$(stat -fc %T "$d")" = cgroup2fs ]; then
      own=$(sed -n 's/^0:://p' /proc/self/cgroup)
    elif [ "$name" = systemd ]; then
      own=$(awk -F: '$2 == "name=systemd" { print $3 }' /proc/self/cgroup)
    else
      own=$(awk -F: -v c="$name" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' /proc/self/cgroup)
    fi
    [ -n "$own" ] && echo "$d $own"
  done
}

# cgroup_dirs ID - the cgroup directories a container ID would have.
cgroup_dirs() {
  local mnt own
  while read -r mnt own; do
    echo "${mnt}${own%/}/cell-tests/$1"
  done < <(cgroup_hierarchies)
}

# leftover_cgroups ID - prints the existing cgroup dirs of ID.
leftover_cgroups() {
  local d
  while read -r d; do
    [ -d "$d" ] && echo "$d"
  done < <(cgroup_dirs "$1")
  return 0
}

# Kill what is left in a cgroup dir (ours by construction) and remove it.
remove_cgroup_dir() {
  local d=$1 p sub
  for sub in $(find "$d" -mindepth 1 -depth -type d 2>/dev/null); do remove_cgroup_dir "$sub"; done
  for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
  [ -f "$d/freezer.state" ] && echo THAWED >"$d/freezer.state" 2>/dev/null
  for _ in $(seq 50); do rmdir "$d" 2>/dev/null && return 0; sleep 0.02; done
  return 1
}

# ---------------------------------------------------------------- leftovers

# Mount points at or below PATH (host mount namespace).
mounts_under() {
  awk -v p="$1" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo
}

# Host processes whose root or cwd is below PATH, or whose cmdline names ID.
procs_using() { # PATH [ID]
  {
    find /proc -mindepth 2 -maxdepth 2 \( -name root -o -name cwd \) \
      \( -lname "$1" -o -lname "$1/*" \) 2>/dev/null | cut -d/ -f3
    # (the bracket keeps grep from matching its own command line)
    [ -z "${2:-}" ] || grep -lsE -- "[${2:0:1}]${2:1}" /proc/[0-9]*/cmdline | cut -d/ -f3
  } | grep -vx -e "$$" -e "$BASHPID" | sort -u
  return 0
}

# assert_no_leftovers ID BUNDLE - after a failed create/run: no state, no
# cgroup, no process, no mount left behind.
assert_no_leftovers() {
  local id=$1 b=$2 left
  if [ -e "$ROOT/$id" ]; then
    echo "state dir $ROOT/$id left behind" >&2; return 1
  fi
  # (no bats `run` here: callers keep their $output and $status)
  if left=$(runtime state "$id" 2>&1); then
    echo "state $id still answers: $left" >&2; return 1
  fi
  left=$(leftover_cgroups "$id")
  if [ -n "$left" ]; then echo "cgroups left behind: $left" >&2; return 1; fi
  left=$(procs_using "$b" "$id")
  if [ -n "$left" ]; then echo "processes left behind: $left" >&2; return 1; fi
  left=$(mounts_under "$b")
  if [ -n "$left" ]; then echo "mounts left behind: $left" >&2; return 1; fi
}

# ---------------------------------------------------------------- setup

setup_file() {
  "$FIXTURES/mkrootfs.sh" >/dev/null
}

# The shared parent cell-tests/ is removed once empty (rmdir never removes a
# directory another run still uses).
teardown_file() {
  local mnt own
  while read -r mnt own; do
    rmdir "$mnt${own%/}/cell-tests" 2>/dev/null || true
  done < <(cgroup_hierarchies)
}

cell_setup() {
  [ -x "$CELL" ] || { echo "runtime under test not found: CELL=$CELL" >&2; return 1; }
  ROOT=$BATS_TEST_TMPDIR/root
  mkdir -p "$ROOT"
  : >"$BATS_TEST_TMPDIR/ids"
  ID=$(new_id)
  BUNDLE=$BATS_TEST_TMPDIR/bundle
  new_bundle "$BUNDLE" "$ID" sh
}

# track_mount PATH - a mount the test itself made; teardown undoes it.
track_mount() { echo "$1" >>"$BATS_TEST_TMPDIR/own-mounts"; }

cell_teardown() {
  local id d problems= m
  # a failed test shows what the last `run` saw
  if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -n "${output+x}" ]; then
    echo "# last run: status=${status:-} output: $output" >&2
  fi
  if [ -f "$BATS_TEST_TMPDIR/ids" ]; then
    while read -r id; do
      [ -n "$id" ] || continue
      timeout -k 5 30 "$CELL" --root "$ROOT" delete --force "$id" </dev/null >/dev/null 2>&1 || true
    done <"$BATS_TEST_TMPDIR/ids"
    while read -r id; do
      [ -n "$id" ] || continue
      for d in $(leftover_cgroups "$id"); do
        problems+="leftover cgroup $d; "
        remove_cgroup_dir "$d" || problems+="(could not remove $d) "
      done
    done <"$BATS_TEST_TMPDIR/ids"
  fi
  if [ -f "$BATS_TEST_TMPDIR/own-mounts" ]; then
    for m in $(sort -r "$BATS_TEST_TMPDIR/own-mounts"); do
      while mountpoint -q "$m"; do umount -l "$m" || break; done
    done
  fi
  # Leaked mounts below the test dir: undo them (deepest first), then fail.
  for m in $(mounts_under "$BATS_TEST_TMPDIR" | sort -r); do
    problems+="leftover mount $m; "
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf --one-file-system "$BATS_TEST_TMPDIR"/bundle* "$BATS_TEST_TMPDIR"/b-* 2>/dev/null || true
  if [ -n "$problems" ]; then
    echo "teardown: $problems" >&2
    return 1
  fi
}

setup() { cell_setup; }
teardown() { cell_teardown; }
