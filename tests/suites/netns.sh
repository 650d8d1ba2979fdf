#!/bin/bash
# netns suite: the slower `cellctl net` cases (tests/netns/heavy.bats: 50
# parallel attaches, SIGKILLed attaches/detaches, a cell container attached by
# --pid) and a smoke run of the benchmark (tests/bench/netns.sh, small counts).
# Everything runs inside network namespaces the tests make.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
export CELL=${CELL:-$top/build/cell}
export CELLCTL=${CELLCTL:-$(dirname "$CELL")/cellctl}
bats --tap tests/netns/heavy.bats
rc=$?
# the benchmark's smoke run: one TAP line, figures as comments
if out=$(HNET_BENCH_N=5 HNET_BENCH_SECS=1 tests/bench/netns.sh 2>&1); then
  echo "$out" | sed 's/^/# /'
  echo "ok 100 - bench smoke: tests/bench/netns.sh ran"
else
  echo "$out" | sed 's/^/# /'
  echo "not ok 100 - bench smoke: tests/bench/netns.sh failed"
  rc=1
fi
exit $rc
