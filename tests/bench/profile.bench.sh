#!/bin/bash
# profile.bench.sh - where one run cycle's time goes (issue 14, item 2), on
# the a-spec bundle of the start matrix (the config `cell spec` writes):
#   1. phases  cell --debug's create phases, median over N cycles (us from
#              the start of cell_container_create), the self-copy into the
#              sealed memfd and start's exec.fifo round trip
#   2. procs   execs and clones of each step of one cycle, per runtime
#              (strace -f; the container's own exec of /bin/true included)
#   3. state   syscalls that name the runtime's state root, per step
#              (strace -f -y: paths of fds shown), and the syscalls of the
#              whole step, per runtime
# Every runtime runs in the private namespaces of runtime.bench.sh (crun
# refuses hybrid hosts), each with its own --root.  strace slows what it
# traces, so part 2 and 3 count, never time.  Env: CELL, BENCH_OUT
# (build/bench), BENCH_PROFILE_CYCLES (20), BENCH_RUNTIMES (cell crun runc).
# Files in OUT: profile-phases.tsv, profile-steps.tsv, profile-table.txt.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_TOP=$top
# shellcheck source=benchlib.sh
. "$top/tests/bench/benchlib.sh"
# shellcheck source=bundles.sh
. "$top/tests/bench/bundles.sh"

# ---- inside the private namespaces --------------------------------------
# profile.bench.sh --inner DIR CYCLES RUNTIMES...
if [ "${1:-}" = --inner ]; then
  dir=$2 cycles=$3; shift 3
  st=$dir/state b=$dir/bundles/a-spec
  cleanup_inner() {
    local r
    for r in "$@"; do "$(bench_rt_path "$r")" --root "$st/$r" delete --force "pf-$r" >/dev/null 2>&1 || true; done
  }
  trap 'cleanup_inner "$@"' EXIT
  # 1. cell's phases
  cell=$(bench_rt_path cell)
  log=$dir/cell-debug.log
  : >"$log"
  for _ in $(seq "$cycles"); do
    "$cell" --root "$st/cell" --debug --log "$log" create --bundle "$b" --pid-file "$dir/pid" pf-cell </dev/null >/dev/null 2>&1
    "$cell" --root "$st/cell" --debug --log "$log" start pf-cell 2>/dev/null
    while kill -0 "$(cat "$dir/pid")" 2>/dev/null; do sleep 0.001; done
    "$cell" --root "$st/cell" delete pf-cell
  done
  # 2 + 3: one traced cycle per runtime.  create's trace follows the init,
  # which waits on exec.fifo: it runs in the background until start.
  for r in "$@"; do
    rt=$(bench_rt_path "$r")
    t=$dir/trace-$r
    rm -f "$dir/pid"
    strace -f -y -qq -o "$t.create" "$rt" --root "$st/$r" create --bundle "$b" --pid-file "$dir/pid" "pf-$r" \
      </dev/null >/dev/null 2>&1 &
    tracer=$!
    for _ in $(seq 2000); do [ -s "$dir/pid" ] && break; sleep 0.005; done
    # create has returned when its own process is gone from the trace
    for _ in $(seq 2000); do grep -q "^[0-9]* +++ exited" "$t.create" 2>/dev/null && break; sleep 0.005; done
    strace -f -y -qq -o "$t.start" "$rt" --root "$st/$r" start "pf-$r" >/dev/null 2>&1
    wait "$tracer" || true
    strace -f -y -qq -o "$t.delete" "$rt" --root "$st/$r" delete "pf-$r" >/dev/null 2>&1
  done
  exit 0
fi

# ---- outside ------------------------------------------------------------
out=${BENCH_OUT:-$top/build/bench}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cycles=${BENCH_PROFILE_CYCLES:-20}
runtimes=${BENCH_RUNTIMES:-cell crun runc}
export CELL=${CELL:-$top/build/cell}
make -s -C "$top" bench-deps >&2
command -v strace >/dev/null || { echo "profile.bench: strace missing (make bench-deps)" >&2; exit 1; }
dir=$out/profile
rm -rf "$dir"
mkdir -p "$dir/state"
rootfs=$(bench_rootfs "$out")
bench_bundles "$dir" "$rootfs" "" a-spec >/dev/null
bench_in_ns "$0" --inner "$dir" "$cycles" $runtimes

# 1. phases: medians over the cycles
med() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }
{
  printf 'phase\tmedian_us\tcycles\n'
  grep -o 'create: .* at [0-9]* us' "$dir/cell-debug.log" | sed 's/^create: //; s/ at \([0-9]*\) us$/\t\1/' |
    awk -F'\t' '!($1 in o) { o[$1] = ++k; n[k] = $1 } { v[$1] = v[$1] " " $2 } END {
      for (i = 1; i <= k; i++) print n[i] "\t" v[n[i]] }' |
    while IFS=$'\t' read -r name vals; do
      # shellcheck disable=SC2086
      printf '%s\t%s\t%s\n' "$name" "$(printf '%s\n' $vals | med)" "$(wc -w <<<"$vals")"
    done
  printf 'self-copy into sealed memfd (create)\t%s\t%s\n' \
    "$(grep -o 'in [0-9]* us, re-executing' "$dir/cell-debug.log" | awk '{ print $2 }' | med)" \
    "$(grep -c 're-executing' "$dir/cell-debug.log")"
  printf 'exec.fifo released (start)\t%s\t%s\n' \
    "$(grep -o 'released in [0-9]* us' "$dir/cell-debug.log" | awk '{ print $3 }' | med)" \
    "$(grep -c 'released in' "$dir/cell-debug.log")"
} >"$out/profile-phases.tsv"
copy_bytes=$(grep -o 'self-exe: [0-9]* bytes' "$dir/cell-debug.log" | head -n1 | awk '{ print $2 }')

# 2 + 3: per runtime and step
printf 'runtime\tstep\texecs\tclones\tsyscalls\tstate_syscalls\n' >"$out/profile-steps.tsv"
for r in $runtimes; do
  for step in create start delete; do
    t=$dir/trace-$r.$step
    [ -s "$t" ] || { printf '%s\t%s\t-\t-\t-\t-\n' "$r" "$step" >>"$out/profile-steps.tsv"; continue; }
    execs=$(grep -cE '^[0-9]+ +(execve|execveat)\(' "$t" || true)
    clones=$(grep -cE '^[0-9]+ +(clone|clone3|fork|vfork)\(' "$t" || true)
    calls=$(grep -cvE '^[0-9]+ +(\+\+\+|---|<\.\.\.)' "$t" || true)
    statec=$(grep -v '<\.\.\.' "$t" | grep -c "$dir/state/$r" || true)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$step" "$execs" "$clones" "$calls" "$statec" >>"$out/profile-steps.tsv"
  done
done

{
  echo "# where one cycle goes: cell --debug phases (median of $cycles cycles, a-spec bundle), and per step the"
  echo "# processes and syscalls of one strace'd cycle per runtime (counts only: strace slows what it traces)"
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  kernel $(uname -r)  cpus $(nproc)  load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "cell create phases (us since create began; the self-copy is before it, in the first process):"
  awk -F'\t' 'NR > 1 { printf "  %-42s %8s\n", $1, $2 }' "$out/profile-phases.tsv"
  echo "  (self-copy: ${copy_bytes:-?} bytes of the runtime binary)"
  echo
  echo "per step (execs include the container's own exec of /bin/true in start):"
  printf '  %-6s %-7s %6s %7s %9s %16s\n' runtime step execs clones syscalls "state-dir calls"
  awk -F'\t' 'NR > 1 { printf "  %-6s %-7s %6s %7s %9s %16s\n", $1, $2, $3, $4, $5, $6 }' "$out/profile-steps.tsv"
  awk -F'\t' 'NR > 1 && $3 != "-" { e[$1] += $3; c[$1] += $4; s[$1] += $5; d[$1] += $6 }
    END { for (r in e) printf "  %-6s cycle  %6d %7d %9d %16d\n", r, e[r], c[r], s[r], d[r] }' "$out/profile-steps.tsv" | sort
} >"$out/profile-table.txt"
cat "$out/profile-table.txt"
left=$(for r in $runtimes; do bench_state_left "$dir/state/$r"; done | head -n 5)
if [ -n "$left" ]; then
  echo "profile.bench: left over state: $left" >&2
  exit 1
fi
rm -rf "$dir/state"
