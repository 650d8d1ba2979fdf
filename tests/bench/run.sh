#!/bin/bash
# run.sh - the `make bench` entry: runs every tests/bench/*.bench.sh piece in
# turn (each prints its own table and writes its files under build/bench/)
# and ends with one line per piece saying whether it completed.
# Environment is passed through (BENCH_ROUNDS, BENCH_RUNTIMES, CELL, ...; see
# tests/bench/README.md).  Exit status: 0 when every piece exited 0.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
status=0 summary=()
for piece in tests/bench/*.bench.sh tests/bench/cellfs.sh; do
  [ -e "$piece" ] || continue
  name=$(basename "$(basename "$piece" .bench.sh)" .sh)
  echo "## bench: $name"
  bash "$piece"
  rc=$?
  echo
  if [ "$rc" -eq 0 ]; then
    summary+=("$name: completed")
  else
    summary+=("$name: exited $rc (see its table for the runtime that failed)")
    status=1
  fi
done
[ ${#summary[@]} -gt 0 ] || { echo "run.sh: no tests/bench/*.bench.sh found" >&2; exit 1; }
printf '# %s\n' "${summary[@]}"
exit "$status"
