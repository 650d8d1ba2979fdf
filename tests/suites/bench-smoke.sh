#!/bin/bash
# bench-smoke.sh - smoke test of the container start benchmark (TAP).
# Runs the real benchmark code path (tests/bench/runtime.bench.sh) for one
# round without warm-up, so each of floor, cell, crun and runc starts one
# /bin/true container, and checks that every row was measured, that the
# cgroups landed below our own cgroup and were removed, that the host's
# cgroup mounts are untouched and that a plot was drawn.  The startbench
# driver is also checked against fake runtimes: that it waits for the
# container's init (reparented to it), reports a failing runtime by name
# with its stderr, and validates its options.  No time is ever judged
# against a threshold: the only time checks are lower bounds that the fake
# runtime's own sleep guarantees.
# Env: CELL = cell binary under test (default build/cell).
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top" || exit 1
CELL=${CELL:-$top/build/cell}
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; shift; local l; for l in "$@"; do echo "#   $l"; done; }
check() { # name, command...: ok when the command succeeds
  local name=$1; shift
  if "$@"; then ok "$name"; else notok "$name" "failed: $*"; fi
}

tmp=$(mktemp -d /tmp/bench-smoke.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
sb=$top/build/bench/startbench

# ---- the driver builds -------------------------------------------------
if make -s -C "$top" bench-deps build/bench/startbench >"$tmp/make.log" 2>&1 && [ -x "$sb" ]; then
  ok "bench-deps installs the peers and build/bench/startbench builds"
else
  notok "bench-deps installs the peers and build/bench/startbench builds" "$(tail -5 "$tmp/make.log")"
  echo "1..$n"
  exit 1
fi

# ---- option validation names the option --------------------------------
"$sb" -R "$tmp/st" -n 0 -f /nonexistent >"$tmp/o" 2>"$tmp/e"; rc=$?
if [ "$rc" = 2 ] && grep -q -- "-n (rounds): expected an integer >= 1, got '0'" "$tmp/e"; then
  ok "startbench rejects -n 0 naming the option"
else
  notok "startbench rejects -n 0 naming the option" "rc=$rc" "$(cat "$tmp/e")"
fi
"$sb" -R "$tmp/st" -b "$tmp" crun >"$tmp/o" 2>"$tmp/e"; rc=$?
if [ "$rc" = 2 ] && grep -q "runtime argument 'crun': expected NAME=PATH" "$tmp/e"; then
  ok "startbench rejects a runtime argument without NAME="
else
  notok "startbench rejects a runtime argument without NAME=" "rc=$rc" "$(cat "$tmp/e")"
fi

# ---- a fake runtime: checks the cycle logic of the driver ---------------
# create: start an init that blocks on a fifo, then after `start` sleeps
# FAKE_SLEEP seconds and exits FAKE_EXIT; create exits at once, so the init
# is an orphan that only a subreaper driver can waitpid().  FAKE_FAIL makes
# create fail with a message.  Every call is logged.
fake=$tmp/fake-runtime
cat >"$fake" <<'FAKE'
#!/bin/bash
[ "$1" = --root ] || { echo "fake: expected --root first" >&2; exit 9; }
root=$2 cmd=$3; shift 3
echo "$cmd $*" >>"$root.calls"
mkdir -p "$root"
case $cmd in
  create)
    [ -z "${FAKE_FAIL:-}" ] || { echo "fake: $FAKE_FAIL" >&2; exit 3; }
    while [ $# -gt 1 ]; do
      case $1 in --bundle) shift 2 ;; --pid-file) pidf=$2; shift 2 ;; *) exit 8 ;; esac
    done
    id=$1
    mkfifo "$root/$id.fifo"
    (read -r _ <"$root/$id.fifo"; sleep "${FAKE_SLEEP:-0}"; exit "${FAKE_EXIT:-0}") </dev/null >/dev/null 2>&1 &
    echo $! >"$pidf" ;;
  start) echo go >"$root/$1.fifo" ;;
  delete) [ "$1" = --force ] && shift; rm -f "$root/$1.fifo" ;;
  *) echo "fake: unknown command $cmd" >&2; exit 4 ;;
esac
FAKE
chmod +x "$fake"

col() { # file name column: value of a column in a summary/samples row
  awk -F'\t' -v n="$2" -v c="$3" '$1 == n || $2 == n { print $c; exit }' "$1"
}

FAKE_SLEEP=0.3 "$sb" -R "$tmp/st1" -b "$tmp" -n 2 -w 1 -t 10 -o "$tmp/s1.tsv" -s "$tmp/u1.tsv" \
  fake="$fake" >"$tmp/o1" 2>"$tmp/e1"; rc=$?
if [ "$rc" = 0 ] && [ "$(col "$tmp/u1.tsv" fake 2)" = 2 ] && [ "$(col "$tmp/u1.tsv" fake 13)" = ok ]; then
  ok "driver completes 2 measured rounds of a fake runtime (warm-up discarded)"
else
  notok "driver completes 2 measured rounds of a fake runtime (warm-up discarded)" "rc=$rc" "$(cat "$tmp/o1" "$tmp/e1")"
fi
# samples.tsv: round name wall cpu user sys maxrss create start wait delete
wait_ms=$(awk -F'\t' '$2 == "fake" { print $10; exit }' "$tmp/s1.tsv")
wall_ms=$(awk -F'\t' '$2 == "fake" { print $3; exit }' "$tmp/s1.tsv")
rss=$(awk -F'\t' '$2 == "fake" { print $7; exit }' "$tmp/s1.tsv")
if awk -v w="$wait_ms" -v t="$wall_ms" 'BEGIN { exit !(w >= 280 && t >= w) }'; then
  ok "driver waits for the reparented init to exit (wait ${wait_ms} ms >= the init's 300 ms sleep)"
else
  notok "driver waits for the reparented init to exit" "wait_ms=$wait_ms wall_ms=$wall_ms" "$(cat "$tmp/s1.tsv")"
fi
check "driver records a peak RSS from getrusage (${rss} KiB)" test "${rss:-0}" -gt 0
calls=$(tr '\n' ';' <"$tmp/st1/fake.calls")
want="create --bundle $tmp --pid-file $tmp/st1/fake.pid startbench-fake-"
if [[ $calls == "$want"* ]] && [ "$(grep -c '^create ' "$tmp/st1/fake.calls")" = 3 ] &&
   [ "$(grep -c '^start ' "$tmp/st1/fake.calls")" = 3 ] && [ "$(grep -c '^delete startbench' "$tmp/st1/fake.calls")" = 3 ]; then
  ok "driver calls create --bundle --pid-file, start, delete with --root per runtime, 3 cycles"
else
  notok "driver calls create --bundle --pid-file, start, delete with --root per runtime, 3 cycles" "$calls"
fi

# The statistics, recomputed with awk from the samples the driver wrote.
"$sb" -R "$tmp/st5" -b "$tmp" -n 7 -w 0 -r ref -o "$tmp/s5.tsv" -s "$tmp/u5.tsv" \
  fake="$fake" ref="$fake" >"$tmp/o5" 2>&1; rc=$?
stats_ok=1 why=
for r in fake ref; do
  want=$(awk -F'\t' -v r="$r" '$2 == r { print $3 }' "$tmp/s5.tsv" | sort -g | awk '
    { v[NR] = $1 } END { printf "%.3f %.3f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[int(NR * 0.9 + 0.999999)] }')
  got="$(col "$tmp/u5.tsv" "$r" 3) $(col "$tmp/u5.tsv" "$r" 4)"
  [ "$want" = "$got" ] || { stats_ok=0; why+=" $r wall median/p90: want $want got $got;"; }
  want=$(awk -F'\t' -v r="$r" '$2 == r && $7 > m { m = $7 } END { print m }' "$tmp/s5.tsv")
  got=$(col "$tmp/u5.tsv" "$r" 6)
  if [ -z "$want" ] || [ "$want" != "$got" ]; then stats_ok=0 why+=" $r peak rss: want $want got $got;"; fi
done
want=$(awk -F'\t' '$2 == "fake" { a[$1] = $3 } $2 == "ref" { b[$1] = $3 }
  END { for (k in a) print a[k] / b[k] }' "$tmp/s5.tsv" | sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%.4f", v[(NR + 1) / 2] }')
got=$(col "$tmp/u5.tsv" fake 14)
# (the samples file holds times rounded to the microsecond: allow for that)
awk -v w="$want" -v g="$got" 'BEGIN { d = w - g; exit !(w != "" && g != "" && d < 0.001 && d > -0.001) }' || { stats_ok=0; why+=" paired ratio: want $want got $got;"; }
[ "$(col "$tmp/u5.tsv" ref 14)" = 1.0000 ] || { stats_ok=0; why+=" ref paired with itself: $(col "$tmp/u5.tsv" ref 14);"; }
if [ "$rc" = 0 ] && [ "$stats_ok" = 1 ]; then
  ok "median, p90 (nearest rank), peak RSS and paired ratio match the samples"
else
  notok "median, p90 (nearest rank), peak RSS and paired ratio match the samples" "rc=$rc$why"
fi

# The order of the runtimes is shuffled every round, reproducibly per seed.
orders() { # samples file -> one line per round: the names in the order they ran
  awk -F'\t' 'NR > 1 { o[$1] = o[$1] " " $2 } END { for (r = 0; r in o; r++) print o[r] }' "$1"
}
for k in 1 2; do
  "$sb" -R "$tmp/st6$k" -b "$tmp" -n 8 -w 0 -S 42 -o "$tmp/s6$k.tsv" a="$fake" b="$fake" c="$fake" >"$tmp/o6$k" 2>&1
done
o1=$(orders "$tmp/s61.tsv") o2=$(orders "$tmp/s62.tsv")
# who ran right after whom within a round: a rotation would give only 3 pairs
pairs=$(echo "$o1" | awk '{ for (i = 1; i < NF; i++) print $i $(i + 1) }' | sort -u | wc -l)
if [ "$(echo "$o1" | wc -l)" = 8 ] && [ "$o1" = "$o2" ] && [ "$pairs" -gt 3 ] &&
   grep -q '^order: shuffled every round, seed 42 ' "$tmp/o61"; then
  ok "the per-round order is shuffled and the same for the same -S seed"
else
  notok "the per-round order is shuffled and the same for the same -S seed" "pairs=$pairs" "$o1" "--" "$o2"
fi

mkdir -p "$tmp/rootfs/bin" && cp /bin/busybox "$tmp/rootfs/bin/" && ln -s busybox "$tmp/rootfs/bin/true"
FAKE_FAIL="bad config field process.args" "$sb" -R "$tmp/st2" -b "$tmp" -n 2 -w 0 \
  -f "$tmp/rootfs" -s "$tmp/u2.tsv" fake="$fake" >"$tmp/o2" 2>"$tmp/e2"; rc=$?
if [ "$rc" = 1 ] && grep -q '^fake: failed: create: exit status 3: fake: bad config field process.args$' "$tmp/o2"; then
  ok "a failing runtime is reported as 'fake: failed: <stderr>' in the table"
else
  notok "a failing runtime is reported as 'fake: failed: <stderr>' in the table" "rc=$rc" "$(cat "$tmp/o2" "$tmp/e2")"
fi
if [ "$(col "$tmp/u2.tsv" floor 13)" = ok ] && [ "$(col "$tmp/u2.tsv" floor 2)" = 2 ] &&
   [ "$(grep -c '^create ' "$tmp/st2/fake.calls")" = 1 ] && grep -q '^delete --force ' "$tmp/st2/fake.calls"; then
  ok "after a failure the other rows go on, the failed one is not retried and is force-deleted"
else
  notok "after a failure the other rows go on, the failed one is not retried and is force-deleted" \
    "$(cat "$tmp/u2.tsv" 2>/dev/null)" "$(cat "$tmp/st2/fake.calls" 2>/dev/null)"
fi

FAKE_EXIT=7 "$sb" -R "$tmp/st3" -b "$tmp" -n 1 -w 0 fake="$fake" >"$tmp/o3" 2>&1; rc=$?
if [ "$rc" = 1 ] && grep -q '^fake: failed: wait: container /bin/true ended with exit status 7$' "$tmp/o3"; then
  ok "a container init that exits non-zero fails the row"
else
  notok "a container init that exits non-zero fails the row" "rc=$rc" "$(cat "$tmp/o3")"
fi

FAKE_SLEEP=30 "$sb" -R "$tmp/st4" -b "$tmp" -n 1 -w 0 -t 1 fake="$fake" >"$tmp/o4" 2>&1; rc=$?
if [ "$rc" = 1 ] && grep -q 'fake: failed: wait: container init [0-9]* still running after 1000 ms' "$tmp/o4"; then
  ok "a container that does not exit hits the step timeout instead of hanging"
else
  notok "a container that does not exit hits the step timeout instead of hanging" "rc=$rc" "$(cat "$tmp/o4")"
fi

# ---- the real thing, once per runtime, through runtime.bench.sh --------
unified_before=no
mountpoint -q /sys/fs/cgroup/unified && unified_before=yes
out=$top/build/bench-smoke
BENCH_ROUNDS=1 BENCH_WARMUP=0 BENCH_OUT=$out CELL=$CELL bash tests/bench/runtime.bench.sh \
  >"$tmp/bench.out" 2>"$tmp/bench.err"; rc=$?
if [ "$rc" = 0 ]; then
  ok "runtime.bench.sh completes one round of floor, cell, crun and runc"
else
  notok "runtime.bench.sh completes one round of floor, cell, crun and runc" "rc=$rc" \
    "$(cat "$tmp/bench.out" "$tmp/bench.err" | tail -25)"
fi
for r in floor cell crun runc; do
  st=$(col "$out/summary.tsv" "$r" 13 2>/dev/null)
  runs=$(col "$out/summary.tsv" "$r" 2 2>/dev/null)
  wall=$(col "$out/summary.tsv" "$r" 3 2>/dev/null)
  rss=$(col "$out/summary.tsv" "$r" 6 2>/dev/null)
  if [ "$st" = ok ] && [ "$runs" = 1 ] && awk -v w="$wall" -v m="$rss" 'BEGIN { exit !(w > 0 && m > 0) }'; then
    ok "$r: one /bin/true container measured (wall $wall ms, peak RSS $rss KiB)"
  else
    notok "$r: one /bin/true container measured" "status: ${st:-no row}" "runs=$runs wall=$wall rss=$rss"
  fi
  if grep -q "^$r " "$out/table.txt" 2>/dev/null; then ok "$r: has a row in the table"
  else notok "$r: has a row in the table" "$(cat "$out/table.txt" 2>/dev/null)"; fi
done
for r in cell crun runc; do
  line=$(awk -F'\t' -v r="$r" '$1 == r' "$out/placement.tsv" 2>/dev/null)
  own=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
  rel=$(jq -r .linux.cgroupsPath "$out/bundle/config.json" 2>/dev/null)
  if [ "$(echo "$line" | cut -f2)" = below ] &&
     [ "$(echo "$line" | cut -f3)" = "memory:${own%/}/$rel" ]; then
    ok "$r: relative cgroupsPath $rel lands below our own cgroup in every hierarchy"
  else
    notok "$r: relative cgroupsPath lands below our own cgroup in every hierarchy" "${line:-no probe row}"
  fi
done
rel=$(jq -r .linux.cgroupsPath "$out/bundle/config.json" 2>/dev/null)
left=
if [ -n "$rel" ] && [ "$rel" != null ]; then
  while read -r mnt; do
    for p in $(awk -F: '$2 != "" { print $3 }' /proc/self/cgroup | sort -u) /; do
      [ -e "$mnt${p%/}/$rel" ] && left+=" $mnt${p%/}/$rel"
    done
  done < <(awk '$3 == "cgroup" { print $2 }' /proc/self/mounts)
fi
if [ -n "$rel" ] && [ "$rel" != null ] && [ -z "$left" ] && [ "$(cat "$out/leftovers" 2>/dev/null)" = 0 ] &&
   [ ! -e "$out/state" ]; then
  ok "no cgroup ($rel) or runtime state is left behind"
else
  notok "no cgroup or runtime state is left behind" "cgroupsPath=$rel left:$left" "$(cat "$tmp/bench.err")"
fi
if [ "$unified_before" = no ] || mountpoint -q /sys/fs/cgroup/unified; then
  ok "the host's /sys/fs/cgroup/unified is still mounted"
else
  notok "the host's /sys/fs/cgroup/unified is still mounted"
fi
if [ "$(head -c 4 "$out/startbench.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e47 ]; then
  ok "gnuplot drew $out/startbench.png"
else
  notok "gnuplot drew $out/startbench.png" "$(tail -3 "$tmp/bench.err")"
fi
echo "1..$n"
