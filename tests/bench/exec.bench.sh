#!/bin/bash
# exec.bench.sh - exec latency (issue 14, item 3): one sleeping container per
# runtime (cell, crun, runc; the same containerd fixture config), then
# interleaved rounds, in a fresh random order each, timing `RT exec` of
# /bin/true three ways:
#   proc/RT    RT exec --process process.json ID           (as engines call it)
#   args/RT    RT exec ID true                              (as users call it)
#   detach/RT  RT exec --detach --pid-file F --process process.json ID, then
#              wait until the pid in F is gone             (as containerd does)
#   floor      nsenter -t INIT -m -u -i -n -p -r -w /bin/true (the namespaces
#              and exec without a runtime)
# process.json = tests/fixtures/engine-configs/containerd-exec-process.json
# with args ["true"].  Prints medians, p90, cpu, peak RSS and ratios vs crun
# (of medians and paired per round), vs the floor; see tests/bench/README.md.
#
# Environment: CELL, BENCH_RUNTIMES (cell crun runc), BENCH_ROUNDS (50),
#   BENCH_WARMUP (1), BENCH_OUT (build/bench), BENCH_TIMEOUT (20), BENCH_SEED.
# Files in OUT: exec-samples.tsv, exec-summary.tsv, exec-table.txt, exec/.
# Exit status: 0 when every case completed every round and nothing was left
# behind, 1 otherwise.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_TOP=$top
# shellcheck source=benchlib.sh
. "$top/tests/bench/benchlib.sh"
# shellcheck source=bundles.sh
. "$top/tests/bench/bundles.sh"

# ---- inside the private namespaces: start, measure, stop ---------------
# exec.bench.sh --inner DIR RUNTIMES...: DIR holds bundles/exec-RT, the
# process.json; state goes to DIR/state.
if [ "${1:-}" = --inner ]; then
  dir=$2; shift 2
  st=$dir/state
  stop() {
    local r p
    for r in "$@"; do
      p=$(cat "$st/$r.init.pid" 2>/dev/null || true)
      [ -n "$p" ] && kill -9 "$p" 2>/dev/null
      "$(bench_rt_path "$r")" --root "$st/$r" delete --force "xb-$r" >/dev/null 2>&1 || true
    done
  }
  trap 'stop "$@"' EXIT
  trap 'exit 130' INT TERM
  for r in "$@"; do
    rt=$(bench_rt_path "$r")
    "$rt" --root "$st/$r" create --bundle "$dir/bundles/exec-$r" --pid-file "$st/$r.init.pid" "xb-$r" >&2 ||
      { echo "exec.bench: $r: create of the sleeping container failed" >&2; exit 1; }
    "$rt" --root "$st/$r" start "xb-$r" >&2 || { echo "exec.bench: $r: start failed" >&2; exit 1; }
  done
  for mode in proc args detach; do
    for r in "$@"; do
      rt=$(bench_rt_path "$r")
      case $mode in
        proc) printf 'proc/%s\t-\t%s --root %s exec --process %s xb-%s\n' "$r" "$rt" "$st/$r" "$dir/process.json" "$r" ;;
        args) printf 'args/%s\t-\t%s --root %s exec xb-%s true\n' "$r" "$rt" "$st/$r" "$r" ;;
        detach) printf 'detach/%s\t%s\t%s --root %s exec --detach --pid-file %s --process %s xb-%s\n' \
          "$r" "$st/$r.exec.pid" "$rt" "$st/$r" "$st/$r.exec.pid" "$dir/process.json" "$r" ;;
      esac
    done
  done >"$dir/cases"
  p=$(cat "$st/$1.init.pid")
  printf 'floor\t-\t%s -t %s -m -u -i -n -p -r -w /bin/true\n' "$(command -v nsenter)" "$p" >>"$dir/cases"
  rc=0
  "$BENCH_TOP/build/bench/startbench" -R "$st/sb" -c "$dir/cases" -r crun \
    -n "${BENCH_ROUNDS:-50}" -w "${BENCH_WARMUP:-1}" -t "${BENCH_TIMEOUT:-20}" \
    -o "$OUT/exec-samples.tsv" -s "$OUT/exec-summary.tsv" ${BENCH_SEED:+-S "$BENCH_SEED"} || rc=$?
  exit "$rc"
fi

# ---- outside -----------------------------------------------------------
OUT=${BENCH_OUT:-$top/build/bench}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
export OUT
export CELL=${CELL:-$top/build/cell}
runtimes=${BENCH_RUNTIMES:-cell crun runc}
for r in $runtimes; do bench_rt_path "$r" >/dev/null; done
make -s -C "$top" bench-deps build/bench/startbench >&2

dir=$OUT/exec
cg_rel="cell-bench/x$$"
rm -rf "$dir" "$OUT/exec-samples.tsv" "$OUT/exec-summary.tsv" "$OUT/exec-table.txt"
mkdir -p "$dir/state"
src=$(bench_rootfs "$OUT")
bench_bundles "$dir" "$src" "$cg_rel" c-containerd >/dev/null
# One bundle per runtime, identical but for the cgroupsPath (each container
# needs its own cgroup): the containerd fixture as in the start matrix, args
# a long sleep, root.path the shared (read-only) rootfs.
for r in $runtimes; do
  mkdir -p "$dir/bundles/exec-$r"
  jq --arg root "$dir/bundles/c-containerd/rootfs" --arg cg "$cg_rel/exec-$r" \
    '.root.path = $root | .root.readonly = true | .process.args = ["sleep", "1000000"] | .linux.cgroupsPath = $cg' \
    "$dir/bundles/c-containerd/config.json" >"$dir/bundles/exec-$r/config.json"
done
jq '.args = ["true"]' "$top/tests/fixtures/engine-configs/containerd-exec-process.json" >"$dir/process.json"

left=0
leftovers() {
  local r p found
  for r in $runtimes; do
    p=$(cat "$dir/state/$r.init.pid" 2>/dev/null || true)
    if [ -n "$p" ] && [ -d "/proc/$p" ] && grep -q "$cg_rel" "/proc/$p/cgroup" 2>/dev/null; then
      echo "exec.bench: $r: the sleeping container's init $p is still alive (killing)" >&2
      kill -9 "$p" 2>/dev/null
      left=1
    fi
    if [ -n "$(bench_state_left "$dir/state/$r")" ]; then
      echo "exec.bench: $r: state left in $dir/state/$r: $(bench_state_left "$dir/state/$r" | tr '\n' ' ')" >&2
      left=1
    fi
  done
  found=$(bench_kill_below "$cg_rel" 1)
  if [ -n "$found" ]; then
    echo "exec.bench: left behind: $found" >&2
    left=1
  fi
  bench_rmdir_parents "$cg_rel"
  echo "$left" >"$OUT/exec-leftovers"
}
trap leftovers EXIT
trap 'exit 130' INT TERM

rc=0
# shellcheck disable=SC2086
bench_in_ns "$top/tests/bench/exec.bench.sh" --inner "$dir" $runtimes >"$dir/table.body" || rc=$?
trap - EXIT
leftovers

ver() { "$1" --version 2>/dev/null | head -n1 || echo "$1: no version"; }
{
  echo "# exec latency: RT exec of /bin/true into a running container (containerd fixture config; process.json = containerd's exec process, args true)"
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  kernel $(uname -r)  cpus $(nproc)  load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# rounds ${BENCH_ROUNDS:-50}, every case interleaved in random order (+${BENCH_WARMUP:-1} warm-up); $(ver crun); $(ver runc); cell: $CELL"
  echo "# proc = exec --process F ID; args = exec ID true; detach = exec --detach --pid-file P --process F ID, timed until the pid in P is gone"
  echo "# floor = nsenter -t <crun's init> -m -u -i -n -p -r -w /bin/true; cpu/peak RSS over every process of one exec (runtime and /bin/true)"
  cat "$dir/table.body"
  if [ -s "$OUT/exec-summary.tsv" ]; then
    echo
    awk -F'\t' -v what=exec -f "$top/tests/bench/verdicts.awk" "$OUT/exec-summary.tsv"
  fi
  [ "$left" = 0 ] || echo "WARNING: the run left processes, cgroups or state behind (see stderr)"
} >"$OUT/exec-table.txt"
cat "$OUT/exec-table.txt"
rm -rf "$dir/state"
[ "$left" = 0 ] || rc=1
exit "$rc"
