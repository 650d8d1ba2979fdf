#!/usr/bin/env bats
# The start matrix (issue 14, item 1 (d)) on pure cgroup v2: runs inside the
# test VM (tests/vm/run.sh), started by tests/bench/vm.bench.sh.  Lives below
# tests/vm/bench/ so that tests/suites/vm.sh's tests/vm/*.bats does not pick
# it up (make check's time budget).
#
# The same bundles as the host's runtime.bench.sh (tests/bench/bundles.sh:
# a-spec, b-relcg, c-podman, c-containerd, ociVersion 1.0.2) and the floor,
# cell, crun and runc all from the host's root over 9p, every setup x runtime
# interleaved in random order per round.  No unshare trick: cgroup2 is the
# only hierarchy.  The benchmark runs in the root cgroup (cgroup2's
# no-internal-process rule exempts it), so a relative cgroupsPath lands at
# /sys/fs/cgroup/cell-bench/vm/<setup> whether a runtime resolves it from its
# own cgroup or from the root; without a cgroupsPath the runtimes choose.
#
# The table goes to the TAP as "# " lines, the summary as "# tsv: " lines
# (vm.bench.sh rebuilds vm-summary.tsv from them on the host).
# Env (forwarded by run.sh): CELL, CELL_BENCH_ROUNDS (10), CELL_BENCH_SEED.

setup_file() {
  if [ "${CELL_VM:-}" != 1 ]; then
    echo "not inside the test VM: run through tests/vm/run.sh (tests/bench/vm.bench.sh)" >&2
    return 1
  fi
}

@test "start matrix on cgroup v2: every setup x runtime and the floor measured" {
  top=$CELL_VM_PROJECT
  out=$BATS_FILE_TMPDIR/bench
  mkdir -p "$out"
  runtimes=(cell="$CELL" crun="$(command -v crun)" runc="$(command -v runc)")
  # in the root cgroup, in a subshell: bats itself stays in its leaf
  rc=0
  (
    echo "$BASHPID" >/sys/fs/cgroup/cgroup.procs || exit 1
    BENCH_TOP=$top
    # shellcheck source=../../bench/bundles.sh
    . "$top/tests/bench/bundles.sh"
    src=$(bench_rootfs "$out")
    mapfile -t setup_args < <(bench_bundles "$out" "$src" "cell-bench/vm")
    [ "${#setup_args[@]}" = 8 ] || { echo "building the bundles failed" >&2; exit 1; }
    cp -a "$src" "$out/floor-rootfs"
    "$top/build/bench/startbench" -R "$out/state" -I vm -f "$out/floor-rootfs" "${setup_args[@]}" \
      -n "${CELL_BENCH_ROUNDS:-10}" -w 1 -t 120 ${CELL_BENCH_SEED:+-S "$CELL_BENCH_SEED"} \
      -o "$out/samples.tsv" -s "$out/summary.tsv" "${runtimes[@]}"
  ) >"$out/table.body" 2>"$out/err" || rc=$?
  {
    echo "start matrix on pure cgroup v2 (qemu TCG guest, kernel $(uname -r), $(nproc) cpus): ${CELL_BENCH_ROUNDS:-10} rounds"
    cat "$out/table.body"
    echo
    if [ -s "$out/summary.tsv" ]; then awk -F'\t' -v what=run -f "$top/tests/bench/verdicts.awk" "$out/summary.tsv"; fi
    if [ -s "$out/err" ]; then sed 's/^/stderr: /' "$out/err"; fi
    if [ -s "$out/summary.tsv" ]; then sed 's/^/tsv: /' "$out/summary.tsv"; fi
  } | sed 's/^/# /' >&3
  [ "$rc" = 0 ]
  # every row measured every round
  n=$(awk -F'\t' -v r="${CELL_BENCH_ROUNDS:-10}" '!/^#/ && $13 == "ok" && $2 == r' "$out/summary.tsv" | wc -l)
  [ "$n" = 13 ]
  # nothing left: no container cgroup, no runtime state
  [ -z "$(find /sys/fs/cgroup/cell-bench -mindepth 2 -type d 2>/dev/null)" ]
  [ -z "$(find /sys/fs/cgroup -maxdepth 1 -name 'vm-*' 2>/dev/null)" ]
  # (cell's compiled seccomp filters in ROOT/.seccomp are a cache, not state)
  [ -z "$(find "$out/state" -mindepth 2 -maxdepth 2 ! -name .seccomp 2>/dev/null)" ]
}
