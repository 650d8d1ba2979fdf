#!/bin/bash
# accumulate.bench.sh - cost as containers accumulate (issue 14, item 4).
# For each level L (default 0 100 1000) every runtime has L sleeping busybox
# containers live in its own --root (created with that runtime); then
# startbench times create -> start -> wait -> delete of one more /bin/true
# container (crun spec config, relative cgroupsPath), the runtimes
# interleaved in random order per round, ~20 rounds; and at every L > 0
# `RT list` and `RT state ID` are timed the same way.  Prints per level and
# runtime the medians, p90, cpu, peak RSS, ratios vs crun, and per runtime
# create@Lmax / create@0.  See tests/bench/README.md.
#
# Environment: CELL, BENCH_ACCUM_RUNTIMES (default "cell crun runc"),
#   BENCH_ACCUM_LEVELS ("0 100 1000"), BENCH_ACCUM_ROUNDS (20),
#   BENCH_ACCUM_OPS_ROUNDS (10, list/state), BENCH_ACCUM_JOBS (2: parallel
#   creators per runtime while growing), BENCH_ACCUM_SETTLE (3: seconds after
#   sync before each level is measured), BENCH_OUT, BENCH_TIMEOUT, BENCH_SEED.
# Files in OUT: accum-summary.tsv (level, then startbench's columns),
#   accum-ops-summary.tsv, accum-L<level>-samples.tsv, accum-table.txt.
# Every container is killed (by the pid in its pid file) and deleted with
# `delete --force` on any exit; the outer script then checks that no
# process, cgroup or state is left (and removes what is).
# Exit status: 0 when every level was measured and nothing was left, else 1.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_TOP=$top
# shellcheck source=benchlib.sh
. "$top/tests/bench/benchlib.sh"
# shellcheck source=bundles.sh
. "$top/tests/bench/bundles.sh"

# ---- inside the private namespaces -------------------------------------
# accumulate.bench.sh --inner DIR "LEVELS" RUNTIMES...
if [ "${1:-}" = --inner ]; then
  dir=$2 levels=$3
  shift 3
  st=$dir/state
  mkdir -p "$st/pid" "$dir/pop"
  tmpl=$(cat "$dir/pop.json")
  # teardown: SIGKILL every population init by pid, then delete --force
  stop() {
    local r rt f ids
    set +e
    for f in "$st"/pid/*; do
      [ -f "$f" ] && { read -r p <"$f" || [ -n "$p" ]; } && kill -9 "$p" 2>/dev/null
    done
    for r in "$@"; do
      rt=$(bench_rt_path "$r")
      ids=$(cd "$dir/pop" 2>/dev/null && printf '%s\n' ab-"$r"-* | grep -v '\*$')
      [ -n "$ids" ] || continue
      # two deleters in parallel
      echo "$ids" | xargs -r -P 2 -n 25 sh -c 'rt=$1 root=$2; shift 2; for id; do "$rt" --root "$root" delete --force "$id" >/dev/null 2>&1; done' sh "$rt" "$st/$r"
    done
    rm -rf "$dir/pop"
  }
  trap 'stop "$@"' EXIT
  trap 'exit 130' INT TERM
  # grow RT NAME FROM TO: containers ab-NAME-FROM .. ab-NAME-(TO-1), each with
  # its own bundle dir (config only; shared read-only rootfs) and cgroup
  grow() {
    local rt=$1 r=$2 k id
    for ((k = $3; k < $4; k += ${BENCH_ACCUM_JOBS:-2})); do
      id=ab-$r-$k
      mkdir -p "$dir/pop/$id"
      printf '%s\n' "${tmpl//@ID@/$id}" >"$dir/pop/$id/config.json"
      "$rt" --root "$st/$r" run --detach --pid-file "$st/pid/$id" --bundle "$dir/pop/$id" "$id" \
        </dev/null >/dev/null 2>>"$dir/grow-$r.err" || { echo "accumulate: $r: run -d $id failed: $(tail -n 3 "$dir/grow-$r.err")" >&2; return 1; }
    done
  }
  have=0 rc=0
  for level in $levels; do
    if [ "$level" -gt "$have" ]; then
      t0=$(date +%s.%N)
      jobs=()
      for r in "$@"; do
        for ((j = 0; j < ${BENCH_ACCUM_JOBS:-2}; j++)); do
          grow "$(bench_rt_path "$r")" "$r" $((have + j)) "$level" &
          jobs+=($!)
        done
      done
      for p in "${jobs[@]}"; do wait "$p" || rc=1; done
      [ "$rc" = 0 ] || { echo "accumulate: growing to $level containers failed" >&2; exit 1; }
      have=$level
      echo "# grew to $level live containers per runtime in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s" >&2
    fi
    # settle, at every level alike: growing wrote every runtime's state
    # dirs (on disk where --root is not a tmpfs) and made 1000s of
    # namespaces; measured right away, create paid that writeback and
    # cleanup (cell create 14 -> 20 ms wall at 1000 with the same CPU time)
    sync
    sleep "${BENCH_ACCUM_SETTLE:-3}"
    # every runtime really has $level containers running
    for r in "$@"; do
      n=0 alive=0
      for f in "$st"/pid/ab-"$r"-*; do [ -f "$f" ] && n=$((n + 1)); done
      for f in "$st"/pid/ab-"$r"-*; do
        [ -f "$f" ] && { read -r p <"$f" || [ -n "$p" ]; } && [ -d "/proc/$p" ] && alive=$((alive + 1))
      done
      echo "$level	$r	$n	$alive" >>"$dir/alive.tsv"
    done
    args=()
    for r in "$@"; do args+=("$r=$(bench_rt_path "$r")"); done
    echo "## $level live containers per runtime"
    "$BENCH_TOP/build/bench/startbench" -R "$st" -I "one$level" -b "$dir/bundles/b-relcg" -r crun \
      -n "${BENCH_ACCUM_ROUNDS:-20}" -w 1 -t "${BENCH_TIMEOUT:-20}" ${BENCH_SEED:+-S "$BENCH_SEED"} \
      -o "$OUT/accum-L$level-samples.tsv" -s "$dir/L$level.summary.tsv" "${args[@]}" || rc=1
    if [ "$level" -gt 0 ]; then
      mid=$((level / 2))
      for r in "$@"; do
        printf 'list/%s\t-\t%s --root %s list\n' "$r" "$(bench_rt_path "$r")" "$st/$r"
        printf 'state/%s\t-\t%s --root %s state ab-%s-%d\n' "$r" "$(bench_rt_path "$r")" "$st/$r" "$r" "$mid"
      done >"$dir/ops.cases"
      echo "## list and state with $level live containers per runtime"
      "$BENCH_TOP/build/bench/startbench" -R "$st/ops" -c "$dir/ops.cases" -r crun \
        -n "${BENCH_ACCUM_OPS_ROUNDS:-10}" -w 1 -t "${BENCH_TIMEOUT:-20}" ${BENCH_SEED:+-S "$BENCH_SEED"} \
        -s "$dir/L$level.ops.tsv" || rc=1
    fi
  done
  exit "$rc"
fi

# ---- outside -----------------------------------------------------------
OUT=${BENCH_OUT:-$top/build/bench}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
export OUT
export CELL=${CELL:-$top/build/cell}
runtimes=${BENCH_ACCUM_RUNTIMES:-cell crun runc}
levels=$(tr ' ' '\n' <<<"${BENCH_ACCUM_LEVELS:-0 100 1000}" | grep . | sort -n -u | tr '\n' ' ')
for l in $levels; do case $l in *[!0-9]*) echo "accumulate: BENCH_ACCUM_LEVELS: '$l' is not a count" >&2; exit 2 ;; esac; done
for r in $runtimes; do bench_rt_path "$r" >/dev/null; done
make -s -C "$top" bench-deps build/bench/startbench >&2

dir=$OUT/accum
cg_rel="cell-bench/a$$"
rm -rf "$dir" "$OUT"/accum-*.tsv "$OUT/accum-table.txt"
mkdir -p "$dir/state"
src=$(bench_rootfs "$OUT")
bench_bundles "$dir" "$src" "$cg_rel/one" b-relcg >/dev/null
# the population: the same crun spec config, args a long sleep, the shared
# read-only rootfs, a cgroup per container below $cg_rel/pop
jq --arg root "$dir/bundles/b-relcg/rootfs" --arg cg "$cg_rel/pop/@ID@" \
  '.root.path = $root | .process.args = ["sleep", "1000000"] | .linux.cgroupsPath = $cg' \
  "$dir/bundles/b-relcg/config.json" >"$dir/pop.json"

left=0
leftovers() {
  local r f p found n=0
  for f in "$dir"/state/pid/*; do
    [ -f "$f" ] && { read -r p <"$f" || [ -n "$p" ]; } || continue
    if [ -d "/proc/$p" ] && grep -q "$cg_rel" "/proc/$p/cgroup" 2>/dev/null; then
      kill -9 "$p" 2>/dev/null
      n=$((n + 1))
    fi
  done
  [ "$n" = 0 ] || { echo "accumulate: $n container inits were still alive (killed)" >&2; left=1; }
  for r in $runtimes; do
    if [ -n "$(bench_state_left "$dir/state/$r")" ]; then
      echo "accumulate: $r: state left in $dir/state/$r: $(bench_state_left "$dir/state/$r" | head -5 | tr '\n' ' ')..." >&2
      left=1
    fi
  done
  found=$(bench_kill_below "$cg_rel" 2)
  if [ -n "$found" ]; then
    echo "accumulate: left behind: $(head -c 600 <<<"$found")" >&2
    left=1
  fi
  bench_rmdir_parents "$cg_rel"
  echo "$left" >"$OUT/accum-leftovers"
}
trap leftovers EXIT
trap 'exit 130' INT TERM

rc=0
t0=$(date +%s)
# shellcheck disable=SC2086
bench_in_ns "$top/tests/bench/accumulate.bench.sh" --inner "$dir" "$levels" $runtimes >"$dir/table.body" || rc=$?
trap - EXIT
leftovers
secs=$(($(date +%s) - t0))

# combined TSVs: the level first, then startbench's summary columns
for l in $levels; do
  [ -f "$dir/L$l.summary.tsv" ] && awk -F'\t' -v l="$l" '!/^#/ { print l "\t" $0 }' "$dir/L$l.summary.tsv"
done >"$OUT/accum-summary.tsv"
for l in $levels; do
  [ -f "$dir/L$l.ops.tsv" ] && awk -F'\t' -v l="$l" '!/^#/ { print l "\t" $0 }' "$dir/L$l.ops.tsv"
done >"$OUT/accum-ops-summary.tsv"
sed -i '1i #level\tname\truns\twall_med_ms\twall_p90_ms\tcpu_med_ms\tpeak_rss_kb\twall_ratio\tcpu_ratio\tcreate_ms\tstart_ms\twait_ms\tdelete_ms\tstatus\tpaired_wall_ratio\tfloor_ratio\tpaired_floor_ratio\tgroup\truntime' \
  "$OUT/accum-summary.tsv" "$OUT/accum-ops-summary.tsv"

ver() { "$1" --version 2>/dev/null | head -n1 || echo "$1: no version"; }
{
  echo "# accumulation: create -> start -> wait -> delete of one more /bin/true container (crun spec, relative cgroupsPath)"
  echo "#   with L sleeping busybox containers live per runtime, each runtime's in its own --root; levels: $levels"
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  kernel $(uname -r)  cpus $(nproc)  load $(cut -d' ' -f1-3 /proc/loadavg); piece took ${secs} s"
  echo "# $(ver crun); $(ver runc); cell: $CELL; ${BENCH_ACCUM_ROUNDS:-20} rounds per level (list/state: ${BENCH_ACCUM_OPS_ROUNDS:-10}), runtimes interleaved in random order"
  echo
  printf '%-6s %-6s %5s %9s %9s %8s %9s %8s %8s %8s %7s %7s\n' level rt runs "wall med" "wall p90" "cpu med" "peak RSS" create start delete "wall/" paired
  printf '%-6s %-6s %5s %9s %9s %8s %9s %8s %8s %8s %7s %7s\n' "" "" "" ms ms ms KiB ms ms ms crun "/crun"
  awk -F'\t' '!/^#/ { if ($14 != "ok") { printf "%-6s %-6s failed: %s\n", $1, $2, $14; next }
    printf "%-6s %-6s %5d %9.2f %9.2f %8.2f %9d %8.2f %8.2f %8.2f %7.2f %7.2f\n", $1, $2, $3, $4, $5, $6, $7, $10, $11, $13, $8, $15 }' \
    "$OUT/accum-summary.tsv"
  if [ "$(wc -l <"$OUT/accum-ops-summary.tsv")" -gt 1 ]; then
    echo
    printf '%-6s %-12s %5s %9s %9s %8s %7s %7s\n' level op runs "wall med" "wall p90" "cpu med" "wall/" paired
    awk -F'\t' '!/^#/ { if ($14 != "ok") { printf "%-6s %-12s failed: %s\n", $1, $2, $14; next }
      printf "%-6s %-12s %5d %9.2f %9.2f %8.2f %7.2f %7.2f\n", $1, $2, $3, $4, $5, $6, $8, $15 }' "$OUT/accum-ops-summary.tsv"
  fi
  echo
  # create@Lmax / create@0 and the whole cycle, per runtime
  awk -F'\t' '!/^#/ && $14 == "ok" { if (!($2 in lo) || $1 < lo[$2]) { lo[$2] = $1; c0[$2] = $10; w0[$2] = $4 }
      if (!($2 in hi) || $1 > hi[$2]) { hi[$2] = $1; c1[$2] = $10; w1[$2] = $4 } }
    END { for (r in lo) if (hi[r] > lo[r])
      printf "target %-5s create@%d / create@%d = %.2f (whole cycle %.2f) [<= 1.1: %s]\n", r, hi[r], lo[r],
        c1[r] / c0[r], w1[r] / w0[r], (c1[r] / c0[r] <= 1.1 ? "met" : "NOT met") }' "$OUT/accum-summary.tsv" | sort
  echo "(information only; live containers counted before each level's measurement:" \
    "$(awk -F'\t' '{ printf "%s@%s=%s/%s alive ", $2, $1, $3, $4 }' "$dir/alive.tsv" 2>/dev/null))"
  [ "$left" = 0 ] || echo "WARNING: the run left processes, cgroups or state behind (see stderr)"
} >"$OUT/accum-table.txt"
cat "$OUT/accum-table.txt"
rm -rf "$dir/state"
[ "$left" = 0 ] || rc=1
exit "$rc"
