#!/bin/bash
# vm.bench.sh - the start matrix on pure cgroup v2 (issue 14, item 1 (d)):
# boots the qemu test VM (tests/vm/run.sh, TCG) and runs
# tests/vm/bench/start.bats there: the setups of runtime.bench.sh (a-spec,
# b-relcg, c-podman, c-containerd) and the floor with cell, crun and runc,
# interleaved.  Few rounds: under TCG every process costs ~70 ms, so only the
# ratios count.  Prints the guest's table; writes OUT/vm-table.txt and
# OUT/vm-summary.tsv (startbench's summary columns, from the guest).
#
# Environment: CELL (default build/cell), BENCH_VM_ROUNDS (10),
#   BENCH_VM=0 to leave this piece out, BENCH_OUT, BENCH_SEED,
#   CELL_VM_TIMEOUT (1800 s), other CELL_VM_* as in tests/vm/README.md.
# Exit status: tests/vm/run.sh's (0 when every row was measured every round
# and nothing was left behind in the guest).
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top" || exit 1
out=${BENCH_OUT:-$top/build/bench}
mkdir -p "$out"
if [ "${BENCH_VM:-1}" = 0 ]; then
  echo "vm.bench: left out (BENCH_VM=0)"
  exit 0
fi
export CELL=${CELL:-$top/build/cell}
case $CELL in /*) ;; *) CELL=$top/$CELL ;; esac
export CELL_BENCH_ROUNDS=${BENCH_VM_ROUNDS:-10}
[ -z "${BENCH_SEED:-}" ] || export CELL_BENCH_SEED=$BENCH_SEED
export CELL_VM_TIMEOUT=${CELL_VM_TIMEOUT:-1800}
make -s -C "$top" bench-deps vm-deps build/bench/startbench >&2 || { echo "vm.bench: make bench-deps vm-deps failed" >&2; exit 1; }
# the bundles use tests/fixtures/mkrootfs.sh's rootfs: build it on the host
# (the guest's writes do not persist, and it has no network)
tests/fixtures/mkrootfs.sh >/dev/null || { echo "vm.bench: tests/fixtures/mkrootfs.sh failed" >&2; exit 1; }

tap=$(mktemp "${TMPDIR:-/tmp}/vm-bench.XXXXXX")
trap 'rm -f "$tap"' EXIT
start=$(date +%s)
tests/vm/run.sh tests/vm/bench/start.bats >"$tap"
rc=$?
secs=$(($(date +%s) - start))
sed -n 's/^# tsv: //p' "$tap" >"$out/vm-summary.tsv"
{
  echo "# start matrix in the cgroup v2 VM (tests/vm/bench/start.bats; boot + run took ${secs} s on the host)"
  grep -v '^# tsv: ' "$tap" | grep '^# ' | sed 's/^# //'
  grep -E '^(not )?ok ' "$tap"
} >"$out/vm-table.txt"
cat "$out/vm-table.txt"
[ "$rc" = 0 ] || echo "vm.bench: tests/vm/run.sh exited $rc"
exit "$rc"
