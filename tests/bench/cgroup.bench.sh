#!/bin/bash
# shellcheck disable=SC2317  # (cleanup and its helpers run from the EXIT trap)
# cgroup.bench.sh - the cost of a container's cgroup, cell vs crun, side by side.
#
# Two measurements per runtime, interleaved round by round (the order flips
# every round), median of BENCH_CG_ROUNDS (default 40, at least 30) rounds:
#   create+delete  `RT create` of a container that is never started, then
#                  `RT delete --force`: making the cgroup with a full set of
#                  resources (memory, cpu shares/quota/cpuset, pids, blockIO
#                  weight where the kernel has one, devices), moving the init
#                  in, killing it and removing the cgroup again;
#   update         `RT update --memory N` on a running `sleep` container
#                  (N alternates between 64 and 96 MiB, so every call writes).
# Times are wall clock from bash's $EPOCHREALTIME around each command (no
# fork for the clock), in ms.  The "paired" ratio is the median over rounds
# of cell's time divided by crun's in the same round.
#
# Where:
#   host (cgroup v1, hybrid): crun refuses hybrid hosts, so both runtimes run
#     inside `unshare -m -C` through runtime.bench.sh --in-private-ns, which
#     mounts the v1 hierarchies afresh without /sys/fs/cgroup/unified in that
#     private mount namespace only (and roots them at our own cgroup);
#   vm (pure cgroup v2): the same measurement in the test VM
#     (tests/vm/run.sh), cgroups below $CELL_VM_CGROUP.
# BENCH_CG_WHERE="host vm" (default) picks them.  Output: a table per place,
# also written to build/bench/cgroup-<where>.txt, samples to
# build/bench/cgroup-<where>.tsv.
#
# Environment: CELL (default build/cell), CRUN (default crun),
# BENCH_CG_ROUNDS, BENCH_CG_WHERE, BENCH_OUT (default build/bench).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
self=$top/tests/bench/cgroup.bench.sh
out=${BENCH_OUT:-$top/build/bench}
CELL=${CELL:-$top/build/cell}
CRUN=${CRUN:-$(command -v crun || echo crun)}
rounds=${BENCH_CG_ROUNDS:-40}
MiB=1048576

die() { echo "cgroup.bench: $*" >&2; exit 1; }

# ---------------------------------------------------------------- inner
# `cgroup.bench.sh --inner WHERE` measures in the current environment and
# prints the table.
inner() {
  local where=$1
  work=$(mktemp -d "$out/cgroup-$where.XXXXXX") || die "mktemp in $out"
  # (the VM's /tmp is its own; $out is on the project, writable in both)
  trap 'cleanup' EXIT
  bundle=$work/bundle
  local cgpath
  "$top/tests/fixtures/mkbundle.sh" "$bundle" --id "cgb-$$" -- sleep 1000 >/dev/null || die "mkbundle failed"
  if [ "$where" = vm ]; then
    [ -n "${CELL_VM_CGROUP:-}" ] || die "vm: CELL_VM_CGROUP is not set (run through tests/vm/run.sh)"
    cgpath=${CELL_VM_CGROUP#/sys/fs/cgroup}/cell-bench/cgb-$$
  else
    cgpath=cell-bench/cgb-$$
  fi
  # blockIO weight only where the kernel has a weight file to write
  local blkio=
  if [ -e /sys/fs/cgroup/io.weight ] || [ -e /sys/fs/cgroup/blkio/blkio.weight ] ||
     [ -e "${CELL_VM_CGROUP:-/nonexistent}/io.weight" ] || [ -e /sys/fs/cgroup/blkio/blkio.bfq.weight ]; then
    blkio='"blockIO": {"weight": 500},'
  fi
  BLKIO=$blkio
  local res="{
      \"memory\": {\"limit\": $((256 * MiB)), \"reservation\": $((128 * MiB))},
      \"cpu\": {\"shares\": 512, \"quota\": 50000, \"period\": 100000, \"cpus\": \"0\", \"mems\": \"0\"},
      \"pids\": {\"limit\": 100}, $blkio
      \"devices\": [{\"allow\": false, \"access\": \"rwm\"},
                  {\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 3, \"access\": \"rwm\"},
                  {\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 5, \"access\": \"rwm\"}]}"
  # one bundle per cgroup (delete --force kills what is in the cgroup):
  # cycles, and the update container of each runtime; one shared rootfs
  local c
  for c in cyc upd-cell upd-crun; do
    mkdir -p "$work/$c"
    jq --arg cg "$cgpath-$c" --arg rootfs "$bundle/rootfs" --argjson r "$res" \
      '.linux.cgroupsPath = $cg | .linux.resources = $r | .root.path = $rootfs' \
      "$bundle/config.json" >"$work/$c/config.json" || die "jq failed"
  done

  local names=(cell crun) bins=("$CELL" "$CRUN") i
  for i in 0 1; do
    mkdir -p "$work/root-${names[i]}"
    # probe: the cgroup is made where we expect, with the limits in it
    probe "${names[i]}" "${bins[i]}" || exit 1
  done

  # the running containers for `update`
  for i in 0 1; do
    "${bins[i]}" --root "$work/root-${names[i]}" run -d --bundle "$work/upd-${names[i]}" "upd-${names[i]}" \
      </dev/null >"$work/upd-${names[i]}.out" 2>&1 ||
      die "${names[i]}: run -d of the update container failed: $(cat "$work/upd-${names[i]}.out")"
  done

  local tsv=$out/cgroup-$where.tsv r order t0 t1 t2 mem
  echo -e "round\truntime\tcreate_ms\tdelete_ms\tcycle_ms\tupdate_ms" >"$tsv"
  for ((r = 0; r <= rounds; r++)); do # round 0: warm-up, discarded
    if ((r % 2)); then order=(1 0); else order=(0 1); fi
    mem=$(((r % 2 ? 96 : 64) * MiB))
    for i in "${order[@]}"; do
      local n=${names[i]} b=${bins[i]} root=$work/root-${names[i]}
      t0=$EPOCHREALTIME
      "$b" --root "$root" create --bundle "$work/cyc" "cyc-$n" </dev/null >/dev/null 2>"$work/err" ||
        die "$n: create failed in round $r: $(cat "$work/err")"
      t1=$EPOCHREALTIME
      "$b" --root "$root" delete --force "cyc-$n" </dev/null >/dev/null 2>"$work/err" ||
        die "$n: delete --force failed in round $r: $(cat "$work/err")"
      t2=$EPOCHREALTIME
      local t3 t4
      t3=$EPOCHREALTIME
      "$b" --root "$root" update --memory "$mem" "upd-$n" </dev/null >/dev/null 2>"$work/err" ||
        die "$n: update failed in round $r: $(cat "$work/err")"
      t4=$EPOCHREALTIME
      ((r == 0)) && continue
      echo -e "$r\t$n\t$(ms "$t0" "$t1")\t$(ms "$t1" "$t2")\t$(ms "$t0" "$t2")\t$(ms "$t3" "$t4")" >>"$tsv"
    done
  done
  # the update really landed: the last value is in the cgroup
  for i in 0 1; do
    local f
    f=$(memfile "upd-${names[i]}")
    [ "$(cat "$f")" = "$mem" ] || die "${names[i]}: update --memory $mem did not reach $f ($(cat "$f"))"
  done
  table "$where" "$tsv" | tee "$out/cgroup-$where.txt"
}

ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) * 1000 }'; }

# the cgroup directory of container ID (the one its init is in)
cgdir_of() { # ROOT-NAME ID BIN
  local pid
  pid=$("$3" --root "$work/root-$1" state "$2" | jq -r .pid) || return 1
  if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
    echo "/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$pid/cgroup")"
  else
    echo "/sys/fs/cgroup/memory$(awk -F: '$2 == "memory" { print $3 }' "/proc/$pid/cgroup")"
  fi
}

memfile() {
  local name=${1#upd-} d
  d=$(cgdir_of "$name" "$1" "$([ "$name" = cell ] && echo "$CELL" || echo "$CRUN")")
  if [ -e "$d/memory.max" ]; then echo "$d/memory.max"; else echo "$d/memory.limit_in_bytes"; fi
}

probe() { # NAME BIN
  local n=$1 b=$2 d lim
  "$b" --root "$work/root-$n" create --bundle "$work/cyc" "probe-$n" </dev/null >"$work/probe.out" 2>&1 ||
    { echo "cgroup.bench: $n: create failed: $(cat "$work/probe.out")" >&2; return 1; }
  d=$(cgdir_of "$n" "probe-$n" "$b")
  lim=$(cat "$d/memory.max" 2>/dev/null || cat "$d/memory.limit_in_bytes")
  "$b" --root "$work/root-$n" delete --force "probe-$n" >/dev/null 2>&1
  case $d in
    */cell-bench/cgb-$$-cyc) ;;
    *) echo "cgroup.bench: $n put the container in $d, not .../cell-bench/cgb-$$-cyc" >&2; return 1 ;;
  esac
  [ "$lim" = $((256 * MiB)) ] || { echo "cgroup.bench: $n: memory limit in $d is $lim" >&2; return 1; }
  [ ! -d "$d" ] || { echo "cgroup.bench: $n left $d behind" >&2; return 1; }
  echo "# $n: cgroup $d (memory limit $lim)"
}

cleanup() {
  local n b
  for n in cell crun; do
    b=$CELL; [ "$n" = crun ] && b=$CRUN
    for id in cyc-$n upd-$n probe-$n; do
      "$b" --root "$work/root-$n" delete --force "$id" >/dev/null 2>&1 || true
    done
  done
  local d
  while IFS= read -r d; do
    echo "cgroup.bench: leftover cgroup $d" >&2
    rmdir "$d" 2>/dev/null || true
  done < <(find /sys/fs/cgroup -depth -type d -name "cgb-$$-*" 2>/dev/null)
  while IFS= read -r d; do rmdir "$d" 2>/dev/null || true; done < <(find /sys/fs/cgroup -maxdepth 4 -type d -name cell-bench 2>/dev/null)
  rm -rf "$work"
}

table() { # WHERE TSV
  awk -F'\t' -v where="$1" -v blkio="${BLKIO:+yes}" '
    function med(a, n,   i, j, t) {
      for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    NR == 1 { next }
    { v[$2, "c", $1] = $3; v[$2, "d", $1] = $4; v[$2, "y", $1] = $5; v[$2, "u", $1] = $6; rounds[$1] = 1 }
    END {
      split("c d y u", k, " ")
      split("create,delete --force,create+delete,update --memory", label, ",")
      for (r in rounds) nr++
      printf "# cgroup cost on %s (%s): median of %d rounds, ms; blockIO weight %s\n", where,
        where == "vm" ? "cgroup v2, qemu TCG" : "cgroup v1, private mount ns", nr, blkio == "yes" ? "included" : "absent (no weight file)"
      printf "%-18s %10s %10s %10s %10s\n", "", "cell", "crun", "cell/crun", "paired"
      for (i = 1; i <= 4; i++) {
        n = 0
        for (r in rounds) { n++; a[n] = v["cell", k[i], r]; b[n] = v["crun", k[i], r]; p[n] = v["cell", k[i], r] / v["crun", k[i], r] }
        mc = med(a, n); mr = med(b, n); mp = med(p, n)
        printf "%-18s %10.2f %10.2f %10.2f %10.2f\n", label[i], mc, mr, mc / mr, mp
      }
    }' "$2"
}

if [ "${1:-}" = --inner ]; then
  inner "${2:-host}"
  exit $?
fi

# ---------------------------------------------------------------- outer
[ "$rounds" -ge 30 ] 2>/dev/null || die "BENCH_CG_ROUNDS must be >= 30 (got $rounds)"
[ -x "$CELL" ] || die "CELL=$CELL is not executable (make build/cell)"
command -v "$CRUN" >/dev/null || die "crun not found (CRUN=$CRUN; apt-get install crun)"
command -v jq >/dev/null || die "jq is required"
mkdir -p "$out"
"$top/tests/fixtures/mkrootfs.sh" >/dev/null || die "tests/fixtures/mkrootfs.sh failed"
status=0
for where in ${BENCH_CG_WHERE:-host vm}; do
  case $where in
    host)
      if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
        bash "$self" --inner host || status=1
      else
        # the host's mounts are never touched: the unified unmount happens in
        # the private namespace only
        unified_before=no
        mountpoint -q /sys/fs/cgroup/unified && unified_before=yes
        grep -q -- '--in-private-ns' "$top/tests/bench/runtime.bench.sh" ||
          die "tests/bench/runtime.bench.sh has no --in-private-ns mode"
        CELL=$CELL CRUN=$CRUN BENCH_OUT=$out BENCH_CG_ROUNDS=$rounds \
          unshare -m -C --propagation private "$top/tests/bench/runtime.bench.sh" --in-private-ns \
          bash "$self" --inner host || status=1
        if [ "$unified_before" = yes ] && ! mountpoint -q /sys/fs/cgroup/unified; then
          echo "cgroup.bench: /sys/fs/cgroup/unified is no longer mounted on the host!" >&2
          status=1
        fi
      fi
      ;;
    vm)
      # a one-test bats file under build/ (the guest mounts its own /tmp)
      vmb=$out/cgroup-vm.bats
      cat >"$vmb" <<EOF
@test "cgroup.bench in the VM" {
  CRUN="$CRUN" BENCH_CG_ROUNDS=$rounds run bash "$self" --inner vm
  echo "\$output" | sed 's/^/# /' >&3
  [ "\$status" -eq 0 ]
}
EOF
      make -s -C "$top" vm-deps >&2 || die "make vm-deps failed"
      CELL=$CELL "$top/tests/vm/run.sh" "$vmb" >"$out/cgroup-vm.tap"
      rc=$?
      sed -n 's/^# //p' "$out/cgroup-vm.tap" | grep -v '^cell-vm' | tee "$out/cgroup-vm.txt"
      if [ "$rc" -ne 0 ]; then
        echo "cgroup.bench: the VM run failed (tests/vm/run.sh exit $rc):" >&2
        cat "$out/cgroup-vm.tap" >&2
        status=1
      fi
      ;;
    *) die "BENCH_CG_WHERE: unknown place '$where' (host, vm)" ;;
  esac
done
exit "$status"
