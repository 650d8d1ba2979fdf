#!/usr/bin/env bats
# Smoke run of tests/bench/storage.sh with small sizes: every row of the
# table was measured (times are reported, never judged) and the benchmark
# leaves nothing behind.

load ../bats/helpers

@test "storage bench smoke: clone, snapshot and export rows measured side by side, nothing left" {
  before=$(ls -d /var/tmp/hstore-bench-* 2>/dev/null | wc -l)
  run env SIZE_MB=8 UPPER_MB=2 OUT="$BATS_TEST_TMPDIR/table" "$CELL_TOP/tests/bench/storage.sh"
  [ "$status" -eq 0 ]
  cat "$BATS_TEST_TMPDIR/table" | sed 's/^/# /' >&3
  num() { awk -v w="$1" -v t="$2" '$1 == w && index($0, t) { print $(NF - 2) }' "$BATS_TEST_TMPDIR/table"; }
  for r in "clone|cellctl clone" "clone|cp -a rootfs+upper" "snapshot|cellctl snapshot create" "snapshot|cp -a upper" \
           "export|cellctl export" "export|podman save"; do
    v=$(num "${r%%|*}" "${r#*|}")
    [[ "$v" =~ ^[0-9]+$ ]] || { echo "row $r not measured: '$v'" >&2; return 1; }
  done
  grep -q '^# export/podman-save throughput ratio: [0-9.]*$' "$BATS_TEST_TMPDIR/table"
  grep -q '^clone *lxc-copy -s' "$BATS_TEST_TMPDIR/table"
  [ "$(ls -d /var/tmp/hstore-bench-* 2>/dev/null | wc -l)" -eq "$before" ]
}
