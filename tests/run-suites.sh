#!/bin/bash
# Runs every suite, prints each one's TAP, and ends with one line
# "N passed, N failed" summing all of them.
#   quick: unit tests + tests/bats (build/cell)
#   full:  quick + the same bats under the sanitizer build + engines + bench smoke
set -u
mode=${1:-quick}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
passed=0 failed=0
logdir=build/test-logs
mkdir -p "$logdir"

count() { # $1 = tap file
  local p f
  p=$(grep -cE '^ok ' "$1")
  f=$(grep -cE '^not ok ' "$1")
  passed=$((passed + p)); failed=$((failed + f))
  echo "# suite $(basename "$1" .tap): $p passed, $f failed"
}

run_suite() { # name, command...
  local name=$1; shift
  local tap="$logdir/$name.tap"
  echo "# === $name"
  "$@" 2>&1 | tee "$tap"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ] && ! grep -qE '^not ok ' "$tap"; then
    # a suite that crashed without reporting a failing test still fails
    echo "not ok - $name exited $rc" | tee -a "$tap"
  fi
  count "$tap"
}

for t in build/tests/test_*; do
  [ -x "$t" ] && run_suite "unit-$(basename "$t")" "$t"
done

bats_files=(tests/bats/*.bats)
if [ -e "${bats_files[0]}" ]; then
  run_suite bats env CELL="$top/build/cell" bats --tap "${bats_files[@]}"
  if [ "$mode" = full ]; then
    run_suite bats-asan env CELL="$top/build/asan/cell" CELL_ASAN=1 \
      ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 bats --tap "${bats_files[@]}"
  fi
fi

# Further suites: each tests/suites/NAME.sh prints TAP on stdout.  They run in
# full mode; a suite that also belongs in the inner loop says "# quick" on a line.
for s in tests/suites/*.sh; do
  [ -e "$s" ] || continue
  if [ "$mode" = full ] || grep -q '^# quick$' "$s"; then
    run_suite "$(basename "$s" .sh)" env CELL="$top/build/cell" bash "$s"
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
