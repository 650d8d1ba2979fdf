#!/bin/bash
# fuzz suite: builds the libFuzzer targets (tests/fuzz, clang) and runs each
# for FUZZ_SECONDS (default 15 in make check; `make fuzz` runs 30) on its seed corpus, one at a time.  One TAP
# line per target; a crash, sanitizer report or leak fails it (the log and
# the input are named in the diagnostics).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
secs=${FUZZ_SECONDS:-15}
names=()
for f in tests/fuzz/fuzz_*.c; do
  n=${f#tests/fuzz/fuzz_}
  names+=("${n%.c}")
done
echo "1..${#names[@]}"
if ! command -v clang >/dev/null || ! make -s fuzz-build fuzz-corpus >&2; then
  i=0
  for n in "${names[@]}"; do
    i=$((i + 1))
    echo "not ok $i - fuzz $n: building the fuzz targets failed (clang installed?)"
  done
  exit 1
fi
i=0 rc=0
for n in "${names[@]}"; do
  i=$((i + 1))
  if out=$(tests/fuzz/run.sh "$n" "$secs"); then
    echo "ok $i - ${out%%$'\n'*}"
  else
    echo "not ok $i - fuzz $n"
    printf '%s\n' "$out" | sed 's/^/# /'
    rc=1
  fi
done
exit $rc
