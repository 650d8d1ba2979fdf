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

# ---- -B setups and -c command cases, against fakes ----------------------
"$sb" -R "$tmp/st7" -B "bad" fake="$fake" >"$tmp/o7" 2>"$tmp/e7"; rc=$?
if [ "$rc" = 2 ] && grep -q -- "-B 'bad': expected SETUP=/ABSOLUTE/BUNDLE" "$tmp/e7"; then
  ok "startbench rejects a -B without SETUP=/BUNDLE naming the option"
else
  notok "startbench rejects a -B without SETUP=/BUNDLE naming the option" "rc=$rc" "$(cat "$tmp/e7")"
fi
mkdir -p "$tmp/b1" "$tmp/b2"
"$sb" -R "$tmp/st8" -B "one=$tmp/b1" -B "two=$tmp/b2" -n 2 -w 0 -r ref -s "$tmp/u8.tsv" \
  fake="$fake" ref="$fake" >"$tmp/o8" 2>&1; rc=$?
rows=$(awk -F'\t' '!/^#/ && $13 == "ok" && $2 == 2 { printf "%s:%s:%s ", $1, $17, $18 }' "$tmp/u8.tsv")
if [ "$rc" = 0 ] && [ "$rows" = "one/fake:one:fake one/ref:one:ref two/fake:two:fake two/ref:two:ref " ] &&
   grep -q "^create --bundle $tmp/b1 " "$tmp/st8/one-fake.calls" && grep -q "^create --bundle $tmp/b2 " "$tmp/st8/two-ref.calls" &&
   [ "$(col "$tmp/u8.tsv" two/ref 14)" = 1.0000 ]; then
  ok "-B runs every runtime in every setup with that setup's bundle, rows SETUP/NAME, ratios within the setup"
else
  notok "-B runs every runtime in every setup with that setup's bundle" "rc=$rc rows=$rows" "$(cat "$tmp/o8")"
fi
# a command that leaves a detached process behind (as exec --detach does):
# the case is timed until the pid it wrote is gone
cat >"$tmp/detach.sh" <<'DET'
#!/bin/bash
sleep 0.3 </dev/null >/dev/null 2>&1 &
echo $! >"$1"
DET
chmod +x "$tmp/detach.sh"
printf 'det/a\t%s\t%s %s\nquick/a\t-\t/bin/true\nfloor\t-\t/bin/true\n' "$tmp/det.pid" "$tmp/detach.sh" "$tmp/det.pid" >"$tmp/cases"
"$sb" -R "$tmp/st9" -c "$tmp/cases" -n 2 -w 0 -s "$tmp/u9.tsv" >"$tmp/o9" 2>&1; rc=$?
dw=$(col "$tmp/u9.tsv" det/a 3)
if [ "$rc" = 0 ] && awk -v w="$dw" 'BEGIN { exit !(w >= 280) }' && [ "$(col "$tmp/u9.tsv" quick/a 13)" = ok ] &&
   [ "$(col "$tmp/u9.tsv" det/a 15)" != nan ]; then
  ok "-c times commands; with a wait file until the pid written there is gone (${dw} ms >= 300 ms sleep); ratio vs the floor row"
else
  notok "-c times commands, waiting for the pid in the wait file" "rc=$rc det wall=$dw" "$(cat "$tmp/o9")"
fi
printf 'det/a /bin/true\n' >"$tmp/cases2"
"$sb" -R "$tmp/st10" -c "$tmp/cases2" >"$tmp/o10" 2>&1; rc=$?
if [ "$rc" = 2 ] && grep -q "cases2:1: expected NAME<TAB>WAITFILE<TAB>COMMAND" "$tmp/o10"; then
  ok "-c rejects a malformed case line naming file and line"
else
  notok "-c rejects a malformed case line naming file and line" "rc=$rc" "$(cat "$tmp/o10")"
fi

own_paths() { awk -F: '$2 != "" { print $3 }' /proc/self/cgroup | sort -u; }
# cgroups (in any v1 hierarchy, below our own path or at the root) under $1
cg_left() {
  local mnt p d
  while read -r mnt; do
    for p in $(own_paths) /; do
      for d in $mnt${p%/}/$1; do  # (unquoted: $1 may be a glob)
        [ -e "$d" ] && find "$d" -type d
      done
    done
  done < <(awk '$3 == "cgroup" { print $2 }' /proc/self/mounts) | sort -u
}
# processes whose cgroup path contains $1
procs_in() { grep -l -- "$1" /proc/[0-9]*/cgroup 2>/dev/null | grep -v "/proc/$$/" | cut -d/ -f3 | tr '\n' ' '; }
mounts_of() { grep -F -- "$1" /proc/self/mountinfo | awk '{ print $5 }' | tr '\n' ' '; }

# ---- the start matrix, once per setup x runtime, through runtime.bench.sh
unified_before=no
mountpoint -q /sys/fs/cgroup/unified && unified_before=yes
out=$top/build/bench-smoke
BENCH_ROUNDS=1 BENCH_WARMUP=0 BENCH_OUT=$out CELL=$CELL bash tests/bench/runtime.bench.sh \
  >"$tmp/bench.out" 2>"$tmp/bench.err"; rc=$?
if [ "$rc" = 0 ]; then
  ok "runtime.bench.sh completes one round of the floor and every setup x runtime"
else
  notok "runtime.bench.sh completes one round of the floor and every setup x runtime" "rc=$rc" \
    "$(cat "$tmp/bench.out" "$tmp/bench.err" | tail -25)"
fi
setups="a-spec b-relcg c-podman c-containerd"
for r in floor $(for s in $setups; do printf '%s/cell %s/crun %s/runc ' "$s" "$s" "$s"; done); do
  st=$(col "$out/summary.tsv" "$r" 13 2>/dev/null)
  runs=$(col "$out/summary.tsv" "$r" 2 2>/dev/null)
  wall=$(col "$out/summary.tsv" "$r" 3 2>/dev/null)
  rss=$(col "$out/summary.tsv" "$r" 6 2>/dev/null)
  fr=$(col "$out/summary.tsv" "$r" 15 2>/dev/null); [ "$fr" != nan ] || fr=
  if [ "$st" = ok ] && [ "$runs" = 1 ] && grep -q "^${r//\//\\/} " "$out/table.txt" 2>/dev/null &&
     awk -v w="$wall" -v m="$rss" -v f="$fr" -v r="$r" 'BEGIN { exit !(w > 0 && m > 0 && (r == "floor" || f > 0)) }'; then
    ok "$r: one /bin/true container measured, in the table (wall $wall ms, peak RSS $rss KiB${fr:+, ${fr}x floor})"
  else
    notok "$r: one /bin/true container measured, in the table" "status: ${st:-no row}" "runs=$runs wall=$wall rss=$rss floor ratio=$fr"
  fi
done
# every config: ociVersion 1.0.2, args true, no terminal; placement below our own cgroup
cfg_ok=1 why=
for s in $setups; do
  c=$out/bundles/$s/config.json
  [ "$(jq -r '[.ociVersion, (.process.args | join(" ")), (.process.terminal // false)] | join(",")' "$c" 2>/dev/null)" = "1.0.2,true,false" ] ||
    { cfg_ok=0; why+=" $s: $(jq -c '[.ociVersion, .process.args, .process.terminal]' "$c" 2>&1)"; }
  grep -qE '@[A-Z_]+@' "$c" && { cfg_ok=0; why+=" $s: placeholder left"; }
done
[ "$(jq -r '.linux.cgroupsPath // "none"' "$out/bundles/a-spec/config.json" 2>/dev/null)" = none ] || { cfg_ok=0; why+=" a-spec has a cgroupsPath"; }
if [ "$cfg_ok" = 1 ]; then ok "the setups' configs: ociVersion 1.0.2, args true, no terminal, no placeholder; a-spec without cgroupsPath"
else notok "the setups' configs" "$why"; fi
for s in $setups; do
  for r in cell crun runc; do
    line=$(awk -F'\t' -v s="$s" -v r="$r" '$1 == s && $2 == r' "$out/placement.tsv" 2>/dev/null)
    own=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
    rel=$(jq -r '.linux.cgroupsPath // ""' "$out/bundles/$s/config.json" 2>/dev/null)
    want="memory:${own%/}/$rel"
    if [ "$(echo "$line" | cut -f3)" = below ] &&
       { [ -n "$rel" ] && [ "$(echo "$line" | cut -f4)" = "$want" ] ||
         [ -z "$rel" ] && [[ $(echo "$line" | cut -f4) == "memory:${own%/}/"?* ]]; }; then
      ok "$s/$r: the container's cgroups land below our own cgroup in every hierarchy"
    else
      notok "$s/$r: the container's cgroups land below our own cgroup in every hierarchy" "${line:-no probe row}" "want $want"
    fi
  done
done
rel=$(jq -r .linux.cgroupsPath "$out/bundles/b-relcg/config.json" 2>/dev/null)
pid=${rel#cell-bench/}; pid=${pid%%/*}
left=$(cg_left "cell-bench/$pid"; cg_left "sb$pid-*")
procs=$(procs_in "sb$pid-"; procs_in "cell-bench/$pid/")
if [[ $pid =~ ^[0-9]+$ ]] && [ -z "$left$procs" ] && [ "$(cat "$out/leftovers" 2>/dev/null)" = 0 ] &&
   [ ! -e "$out/state" ] && [ -z "$(mounts_of "$out/")" ]; then
  ok "no cgroup (cell-bench/$pid, sb$pid-*), process, mount or runtime state is left behind"
else
  notok "no cgroup, process, mount or runtime state is left behind" "pid=$pid left:$left procs:$procs mounts:$(mounts_of "$out/")" "$(cat "$tmp/bench.err")"
fi
if [ "$unified_before" = no ] || mountpoint -q /sys/fs/cgroup/unified; then
  ok "the host's /sys/fs/cgroup/unified is still mounted"
else
  notok "the host's /sys/fs/cgroup/unified is still mounted"
fi
if [ "$(head -c 4 "$out/startbench.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e47 ] &&
   [ "$(awk 'NR > 1' "$out/matrix.tsv" | cut -f1 | tr '\n' ' ')" = "$setups " ]; then
  ok "gnuplot drew $out/startbench.png from matrix.tsv (one group per setup)"
else
  notok "gnuplot drew $out/startbench.png from matrix.tsv" "$(tail -3 "$tmp/bench.err")" "$(cat "$out/matrix.tsv" 2>/dev/null)"
fi
if grep -q '^target a-spec .*x crun.*x floor.*peak RSS' "$out/table.txt" && [ "$(grep -c '^target ' "$out/table.txt")" = 4 ]; then
  ok "the table ends with a target line per setup (information only)"
else
  notok "the table ends with a target line per setup" "$(tail -8 "$out/table.txt" 2>/dev/null)"
fi

# ---- exec latency, one round -------------------------------------------
BENCH_ROUNDS=1 BENCH_WARMUP=0 BENCH_OUT=$out CELL=$CELL bash tests/bench/exec.bench.sh \
  >"$tmp/exec.out" 2>"$tmp/exec.err"; rc=$?
if [ "$rc" = 0 ]; then ok "exec.bench.sh completes one round of every case"
else notok "exec.bench.sh completes one round of every case" "rc=$rc" "$(cat "$tmp/exec.out" "$tmp/exec.err" | tail -25)"; fi
bad=
for r in floor proc/cell proc/crun proc/runc args/cell args/crun args/runc detach/cell detach/crun detach/runc; do
  [ "$(col "$out/exec-summary.tsv" "$r" 13 2>/dev/null)" = ok ] && [ "$(col "$out/exec-summary.tsv" "$r" 2)" = 1 ] &&
    grep -q "^${r//\//\\/} " "$out/exec-table.txt" || bad+=" $r"
done
if [ -z "$bad" ] && [ "$(grep -c '^target ' "$out/exec-table.txt")" = 3 ]; then
  ok "exec: every mode x runtime and the nsenter floor measured, one target line per mode"
else
  notok "exec: every mode x runtime and the nsenter floor measured" "missing/failed:$bad" "$(cat "$out/exec-table.txt" 2>/dev/null)"
fi
if [ "$(jq -c .args "$out/exec/process.json" 2>/dev/null)" = '["true"]' ] &&
   [ "$(jq -c 'del(.args)' "$out/exec/process.json")" = "$(jq -c 'del(.args)' tests/fixtures/engine-configs/containerd-exec-process.json)" ]; then
  ok "exec: process.json is containerd's exec process with args [\"true\"] and nothing else changed"
else
  notok "exec: process.json is containerd's exec process with args true" "$(cat "$out/exec/process.json" 2>/dev/null)"
fi
rel=$(jq -r .linux.cgroupsPath "$out/exec/bundles/exec-cell/config.json" 2>/dev/null)
xg=${rel%/*}
left=$(cg_left "$xg")
procs=$(procs_in "$xg/")
if [[ $xg == cell-bench/x* ]] && [ -z "$left$procs" ] && [ "$(cat "$out/exec-leftovers" 2>/dev/null)" = 0 ] &&
   [ ! -e "$out/exec/state" ] && [ -z "$(mounts_of "$out/exec/")" ]; then
  ok "exec: no sleeping container, cgroup ($xg), mount or state is left behind"
else
  notok "exec: no sleeping container, cgroup, mount or state is left behind" "cg=$xg left:$left procs:$procs" "$(cat "$tmp/exec.err")"
fi

# ---- accumulation, with 3 live containers instead of 1000 ---------------
BENCH_ACCUM_LEVELS="0 3" BENCH_ACCUM_ROUNDS=1 BENCH_ACCUM_OPS_ROUNDS=1 BENCH_OUT=$out CELL=$CELL \
  bash tests/bench/accumulate.bench.sh >"$tmp/acc.out" 2>"$tmp/acc.err"; rc=$?
if [ "$rc" = 0 ]; then ok "accumulate.bench.sh completes levels 0 and 3"
else notok "accumulate.bench.sh completes levels 0 and 3" "rc=$rc" "$(cat "$tmp/acc.out" "$tmp/acc.err" | tail -25)"; fi
bad=
for l in 0 3; do
  for r in cell crun runc; do
    awk -F'\t' -v l="$l" -v r="$r" '$1 == l && $2 == r && $14 == "ok" && $3 == 1 && $10 > 0 { f = 1 } END { exit !f }' \
      "$out/accum-summary.tsv" 2>/dev/null || bad+=" $r@$l"
  done
done
for r in list/cell state/cell list/crun state/crun list/runc state/runc; do
  awk -F'\t' -v r="$r" '$1 == 3 && $2 == r && $14 == "ok" { f = 1 } END { exit !f }' "$out/accum-ops-summary.tsv" 2>/dev/null ||
    bad+=" $r@3"
done
alive=$(awk -F'\t' '$1 == 3 { printf "%s=%s/%s ", $2, $3, $4 }' "$out/accum/alive.tsv" 2>/dev/null)
if [ -z "$bad" ] && [ "$alive" = "cell=3/3 crun=3/3 runc=3/3 " ] && [ "$(grep -c '^target ' "$out/accum-table.txt")" = 3 ]; then
  ok "accumulate: one more container timed at 0 and 3 live ($alive), list and state at 3, a create ratio per runtime"
else
  notok "accumulate: every level x runtime measured" "missing/failed:$bad alive: $alive" "$(cat "$out/accum-table.txt" 2>/dev/null)"
fi
rel=$(jq -r .linux.cgroupsPath "$out/accum/pop.json" 2>/dev/null)
ag=${rel%%/pop/*}
left=$(cg_left "$ag")
procs=$(procs_in "$ag/")
if [[ $ag == cell-bench/a* ]] && [ -z "$left$procs" ] && [ "$(cat "$out/accum-leftovers" 2>/dev/null)" = 0 ] &&
   [ ! -e "$out/accum/state" ] && [ ! -e "$out/accum/pop" ] && [ -z "$(mounts_of "$out/accum/")" ]; then
  ok "accumulate: every container killed and deleted: no process, cgroup ($ag), mount or state left"
else
  notok "accumulate: every container killed and deleted" "cg=$ag left:$left procs:$procs" "$(cat "$tmp/acc.err")"
fi
# ---- profile.bench.sh: phases, self-copy, fifo, per-step counts -------------
BENCH_PROFILE_CYCLES=2 BENCH_OUT=$out CELL=$CELL bash tests/bench/profile.bench.sh >"$tmp/prof.out" 2>"$tmp/prof.err"
rc=$?
phases=$(awk -F'\t' 'NR > 1 && $2 ~ /^[0-9]+$/ && $3 == 2' "$out/profile-phases.tsv" 2>/dev/null | wc -l)
steps=$(awk -F'\t' 'NR > 1 && $3 ~ /^[0-9]+$/ && $3 > 0 && $5 > 0 && $6 > 0' "$out/profile-steps.tsv" 2>/dev/null | wc -l)
# every create phase, the self-copy and the fifo timed twice; every step of
# cell, crun and runc counted; the state of every runtime gone
if [ "$rc" = 0 ] && [ "$phases" -ge 12 ] && [ "$steps" = 9 ] && grep -q 'self-copy: [0-9]* bytes' "$out/profile-table.txt" &&
   [ ! -e "$out/profile/state" ]; then
  ok "profile.bench.sh: $phases phases timed over 2 cycles, execs/clones/syscalls/state calls of 9 steps counted, no state left"
else
  notok "profile.bench.sh: phases and per-step counts" "rc=$rc phases=$phases steps=$steps" "$(tail -20 "$tmp/prof.err" "$out/profile-table.txt" 2>/dev/null)"
fi
echo "1..$n"
