#!/bin/bash
# Runs every suite, prints each one's TAP, and ends with one line
# "N passed, N failed, N skipped" summing all of them ("ok ... # skip" lines
# count as skipped, not passed).  Each suite's line gives its wall time.
#   quick: unit tests + tests/bats (build/cell)
#   full:  quick + the unit tests and the same bats under the sanitizer build
#          (build/asan) + engines + bench smoke
set -u
mode=${1:-quick}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
passed=0 failed=0 skipped=0
logdir=build/test-logs
mkdir -p "$logdir"

# ASan/UBSan settings for the sanitizer runs.  The unit tests run with
# LeakSanitizer (they free what they build; a leak there is a library leak).
# The bats run keeps it off: the runtime's processes exec or exit right after
# create/exec/start with their config still allocated, so reports would be noise.
UBSAN_ENV=UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
SAN_ENV=(ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 "$UBSAN_ENV")
UNIT_SAN_ENV=(ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "$UBSAN_ENV")

count() { # $1 = tap file, $2 = wall seconds
  local p f s
  s=$(grep -ciE '^ok .*# skip' "$1")
  p=$(($(grep -cE '^ok ' "$1") - s))
  f=$(grep -cE '^not ok ' "$1")
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  echo "# suite $(basename "$1" .tap): $p passed, $f failed, $s skipped ($2 s)"
}

run_suite() { # name, command...
  local name=$1; shift
  local tap="$logdir/$name.tap" t0=$SECONDS
  echo "# === $name"
  "$@" 2>&1 | tee "$tap"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ] && ! grep -qE '^not ok ' "$tap"; then
    # a suite that crashed without reporting a failing test still fails
    echo "not ok - $name exited $rc" | tee -a "$tap"
  fi
  count "$tap" $((SECONDS - t0))
}

for t in build/tests/test_*; do
  [ -x "$t" ] && run_suite "unit-$(basename "$t")" "$t"
done
if [ "$mode" = full ]; then
  asan_units=(build/asan/tests/test_*)
  if [ ! -x "${asan_units[0]}" ]; then
    echo "not ok - no unit binaries in build/asan/tests (make BUILD=build/asan ... all unit)" |
      tee "$logdir/unit-asan.tap"
    count "$logdir/unit-asan.tap" 0
  fi
  for t in "${asan_units[@]}"; do
    [ -x "$t" ] && run_suite "unit-asan-$(basename "$t")" env "${UNIT_SAN_ENV[@]}" "$t"
  done
fi

bats_files=(tests/bats/*.bats)
if [ -e "${bats_files[0]}" ]; then
  run_suite bats env CELL="$top/build/cell" bats --tap "${bats_files[@]}"
  if [ "$mode" = full ]; then
    run_suite bats-asan env CELL="$top/build/asan/cell" CELL_ASAN=1 "${SAN_ENV[@]}" \
      bats --tap "${bats_files[@]}"
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

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
