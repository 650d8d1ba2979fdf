#!/bin/bash
# run.sh NAME SECONDS - run fuzz target build/fuzz/fuzz_NAME for SECONDS on
# its corpus (build/fuzz/corpus/NAME, made by mkcorpus.sh), with leak
# detection.  New inputs go to build/fuzz/work/NAME, a crash, leak or
# sanitizer report to build/fuzz/crashes/NAME/ and the log to
# build/fuzz/logs/NAME.log.  Prints one summary line; exit 0 = no finding.
set -uo pipefail
name=$1 secs=${2:-30}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
d=build/fuzz
bin=$d/fuzz_$name
[ -x "$bin" ] || { echo "fuzz $name: $bin is not built (make fuzz-build)"; exit 1; }
mkdir -p "$d/work/$name" "$d/crashes/$name" "$d/logs" "$d/corpus/$name"
log=$d/logs/$name.log
dict=()
[ -s "$d/corpus/$name.dict" ] && dict=(-dict="$d/corpus/$name.dict")
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 "${dict[@]}" \
  -artifact_prefix="$d/crashes/$name/" "$d/work/$name" "$d/corpus/$name" >"$log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
cov=$(grep -aoE 'cov: [0-9]+' "$log" | tail -1)
if [ "$rc" -eq 0 ]; then
  echo "fuzz $name: ${secs}s, ${runs:-?} runs, ${cov:-cov: ?}, no finding"
  exit 0
fi
echo "fuzz $name: FAILED (exit $rc) after ${runs:-?} runs; log $log; inputs:"
grep -aE '^(==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)' "$log" | sed 's/^/  /' | head -10
exit 1
