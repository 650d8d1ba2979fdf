#!/bin/bash
# runtime.bench.sh - container start benchmark: create -> start -> wait ->
# delete of a /bin/true busybox container with cell, crun and runc on the
# same bundle, interleaved round-robin, plus the floor
#   unshare -m -p -u -i -n -C --fork chroot ROOTFS /bin/true
# Prints a table (median wall ms, p90, median cpu ms, peak RSS, ratios vs
# crun) and draws OUT/startbench.png.  See tests/bench/README.md.
#
# Environment:
#   CELL           cell binary (default build/cell); left out if missing
#   BENCH_RUNTIMES runtimes to compare (default "cell crun runc")
#   BENCH_ROUNDS   measured rounds (default 50)   BENCH_WARMUP  discarded (1)
#   BENCH_OUT      output directory (default build/bench)
#   BENCH_TIMEOUT  seconds one step may take (default 20)
#   BENCH_SEED     seed of the per-round random order (default: new each run)
# Files in OUT: samples.tsv (every cycle), summary.tsv, placement.tsv (where
# each runtime put its cgroups), table.txt, startbench.png, bundle/.
#
# crun refuses hybrid cgroup hosts, so every runtime runs inside a private
# mount namespace (unshare -m --propagation private) where
# /sys/fs/cgroup/unified is unmounted; the host's mounts are never touched.
# See the --in-private-ns part below for the cgroup namespace.
# Exit status: 0 when every runtime completed every round, 1 otherwise.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
self="$top/tests/bench/runtime.bench.sh"
cg_rel="cell-bench/$$"   # cgroupsPath: relative, so below our own cgroups

# The v1 cgroup directories our cgroupsPath maps to (one per mounted v1
# hierarchy), i.e. <mountpoint><own path>/$1.
v1_cgroup_dirs() { # $1 = relative path
  local mnt opts ctrls path c want ok
  while read -r _ mnt _ opts _; do
    while IFS=: read -r _ ctrls path; do
      [ -n "$ctrls" ] || continue
      ok=1
      IFS=, read -ra want <<<"$ctrls"
      for c in "${want[@]}"; do
        [[ ",$opts," == *",$c,"* ]] || { ok=0; break; }
      done
      if [ "$ok" = 1 ]; then
        echo "$mnt${path%/}/$1"
        break
      fi
    done </proc/self/cgroup
  done < <(awk '$3 == "cgroup" { print $1, $2, $3, $4, $5 }' /proc/self/mounts)
}

# ---- inside the private namespaces ------------------------------------
# `unshare -m -C --propagation private runtime.bench.sh --in-private-ns CMD...`
# runs CMD in a private mount namespace and a new cgroup namespace, where
# /sys/fs/cgroup has no cgroup2 at unified (crun refuses hybrid hosts) and
# every v1 hierarchy is mounted afresh, so that its root is our own cgroup.  Then a cgroupsPath "cell-bench/N" lands below our own
# cgroup in every hierarchy whether the runtime resolves a relative path
# from its own cgroup (runc) or from the hierarchy's root (crun 1.8.1 does,
# on v1).  Only mounts in the private namespace change.
if [ "${1:-}" = --in-private-ns ]; then
  shift
  if [ "$(readlink /proc/self/ns/mnt)" = "$(readlink "/proc/$PPID/ns/mnt")" ] ||
     [ "$(readlink /proc/self/ns/cgroup)" = "$(readlink "/proc/$PPID/ns/cgroup")" ]; then
    echo "runtime.bench: not in private mount and cgroup namespaces; refusing to touch mounts" >&2
    exit 1
  fi
  # Snapshot the v1 hierarchies and /sys/fs/cgroup's symlinks, then cover
  # /sys/fs/cgroup with a new tmpfs (the kernel refuses to mount a hierarchy
  # again on its own mount point) holding only the v1 hierarchies: no
  # cgroup2 at unified, as crun requires.
  subsys=" $(awk 'NR > 1 { printf "%s ", $1 }' /proc/cgroups)"
  mapfile -t v1 < <(awk '$3 == "cgroup" { print $2, $4 }' /proc/self/mounts)
  mapfile -t links < <(find /sys/fs/cgroup -mindepth 1 -maxdepth 1 -type l -printf '%f %l\n')
  mount -t tmpfs -o mode=755,nosuid,nodev,noexec cgroup-bench /sys/fs/cgroup
  for m in "${v1[@]}"; do
    mnt=${m%% *} ctrls=
    case $mnt in /sys/fs/cgroup/*/* | /sys/fs/cgroup) continue ;; /sys/fs/cgroup/*) ;; *) continue ;; esac
    IFS=, read -ra opts <<<"${m#* }"
    for o in "${opts[@]}"; do
      if [[ $o == name=* || $subsys == *" $o "* ]]; then ctrls+=${ctrls:+,}$o; fi
    done
    [ -n "$ctrls" ] || continue
    mkdir -p "$mnt"
    mount -t cgroup -o "nosuid,nodev,noexec,$ctrls" cgroup "$mnt"
  done
  for l in "${links[@]}"; do ln -s "${l#* }" "/sys/fs/cgroup/${l%% *}"; done
  exec "$@"
fi
in_ns() { unshare -m -C --propagation private "$self" --in-private-ns "$@"; }
# the same with the step timeout, for the probes outside the driver
in_ns_t() { timeout -k 5 "${BENCH_TIMEOUT:-20}" unshare -m -C --propagation private "$self" --in-private-ns "$@"; }

# ---- outside: prepare, run, check, plot --------------------------------
out=${BENCH_OUT:-$top/build/bench}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cell=${CELL:-$top/build/cell}
runtimes=${BENCH_RUNTIMES:-cell crun runc}

make -s -C "$top" bench-deps build/bench/startbench >&2

# Rootfs: the one tests/fixtures/mkrootfs.sh builds, else our own busybox copy.
if [ -x "$top/tests/fixtures/mkrootfs.sh" ] &&
   src=$("$top/tests/fixtures/mkrootfs.sh" 2>/dev/null | tail -n1) && [ -x "$src/bin/busybox" ]; then
  :
else
  src="$out/rootfs-src"
  if [ ! -x "$src/bin/busybox" ]; then
    rm -rf "$src"
    mkdir -p "$src"/{bin,proc,sys,dev,tmp,etc,root}
    cp /bin/busybox "$src/bin/busybox"
    for a in sh true false; do ln -sf busybox "$src/bin/$a"; done
  fi
fi

# Bundle: the config `crun spec` writes, with args ["true"], no terminal and
# a relative cgroupsPath; the same bundle for every runtime.
bundle="$out/bundle"
rm -rf "$bundle"
mkdir -p "$bundle"
cp -a "$src" "$bundle/rootfs"
(cd "$bundle" && crun spec && mv config.json config.crun-spec.json)
jq --arg cg "$cg_rel" \
  '.process.args = ["true"] | .process.terminal = false | .linux.cgroupsPath = $cg' \
  "$bundle/config.crun-spec.json" >"$bundle/config.json"
rm "$bundle/config.crun-spec.json"

args=(-f "$bundle/rootfs")
for r in $runtimes; do
  case $r in
    cell) args+=("cell=$cell") ;;
    crun) args+=("crun=$(command -v crun)") ;;
    runc) args+=("runc=$(command -v runc)") ;;
    *) echo "runtime.bench: unknown runtime '$r' in BENCH_RUNTIMES (cell, crun, runc)" >&2; exit 2 ;;
  esac
done

rm -rf "$out/state" "$out/samples.tsv" "$out/summary.tsv" "$out/placement.tsv" "$out/startbench.png"
mkdir -p "$out/state"
unified_before=no
mountpoint -q /sys/fs/cgroup/unified && unified_before=yes

cleanup() {
  local d left=0
  # What the runtimes must have removed: our leaf cgroups and their state.
  # (also at each hierarchy's root, where a runtime that ignored our cgroup
  # would have put them)
  for d in $(v1_cgroup_dirs "$cg_rel") $(awk -v r="$cg_rel" '$3 == "cgroup" { print $2 "/" r }' /proc/self/mounts); do
    if [ -d "$d" ]; then
      echo "runtime.bench: left over cgroup $d (removing)" >&2
      left=1
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
    fi
    rmdir "$(dirname "$d")" 2>/dev/null || true  # cell-bench, if no other run uses it
  done
  if [ -d "$out/state" ] && [ -n "$(find "$out/state" -mindepth 2 -print -quit 2>/dev/null)" ]; then
    echo "runtime.bench: left over runtime state under $out/state:" \
      "$(find "$out/state" -mindepth 2 -maxdepth 2 | tr '\n' ' ')" >&2
    left=1
  fi
  rm -rf "$out/state"
  if [ "$unified_before" = yes ] && ! mountpoint -q /sys/fs/cgroup/unified; then
    echo "runtime.bench: /sys/fs/cgroup/unified is no longer mounted on the host!" >&2
    left=1
  fi
  echo "$left" >"$out/leftovers"
}
trap cleanup EXIT

# Where each runtime puts the container's cgroups: create in the private
# namespaces, read the init's /proc/PID/cgroup from here (host view), delete.
# Every v1 line must read <our own path>/cell-bench/N.
probe() { # name runtime
  local name=$1 rt=$2 root="$out/state/probe-$1" pidf="$out/state/probe-$1.pid" id="probe-${cg_rel##*/}"
  local pid ctrls path own verdict=below bad='' mem=''
  if ! in_ns_t "$rt" --root "$root" create --bundle "$bundle" --pid-file "$pidf" "$id" \
       >/dev/null 2>"$out/state/probe.err"; then
    printf '%s\tfailed\tcreate: %s\n' "$name" "$(tail -c 400 "$out/state/probe.err" | tr '\n\t' '  ')"
    in_ns_t "$rt" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
    return
  fi
  pid=$(cat "$pidf" 2>/dev/null || true)
  if [ -z "$pid" ] || [ ! -r "/proc/$pid/cgroup" ]; then
    printf '%s\tfailed\tcreate left no live init in pid file %s\n' "$name" "$pidf"
    in_ns_t "$rt" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
    return
  fi
  while IFS=: read -r _ ctrls path; do
    [ -n "$ctrls" ] || continue
    own=$(awk -F: -v c="$ctrls" '$2 == c { print $3 }' /proc/self/cgroup)
    [ "$ctrls" = memory ] && mem=$path
    if [ "$path" != "${own%/}/$cg_rel" ]; then verdict=elsewhere bad+=" $ctrls:$path"; fi
  done <"/proc/$pid/cgroup"
  printf '%s\t%s\tmemory:%s%s\n' "$name" "$verdict" "$mem" "${bad:+ (wrong:$bad)}"
  in_ns_t "$rt" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
}
for a in "${args[@]}"; do
  case $a in *=*) probe "${a%%=*}" "${a#*=}" ;; esac
done >"$out/placement.tsv"

rc=0
in_ns "$top/build/bench/startbench" -R "$out/state" -b "$bundle" \
  -n "${BENCH_ROUNDS:-50}" -w "${BENCH_WARMUP:-1}" -t "${BENCH_TIMEOUT:-20}" \
  -o "$out/samples.tsv" -s "$out/summary.tsv" ${BENCH_SEED:+-S "$BENCH_SEED"} "${args[@]}" \
  >"$out/table.body" || rc=$?
trap - EXIT
cleanup

ver() { "$1" --version 2>/dev/null | head -n1 || echo "$1: no version"; }
{
  echo "# container start: create -> start -> wait -> delete of /bin/true (busybox rootfs, crun spec config)"
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  kernel $(uname -r)  cpus $(nproc)  load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# rounds ${BENCH_ROUNDS:-50} interleaved in random order (+${BENCH_WARMUP:-1} warm-up discarded); $(ver crun); $(ver runc); cell: $cell"
  echo "# floor = unshare -m -p -u -i -n -C --fork chroot rootfs /bin/true; cpu = user+sys of all processes of one cycle;"
  echo "# peak RSS = largest ru_maxrss of any process in a cycle (runtime or container init)"
  cat "$out/table.body"
  if [ -s "$out/placement.tsv" ]; then
    echo
    echo "cgroup placement (cgroupsPath \"$cg_rel\", relative):"
    awk -F'\t' '{ printf "  %-6s %-9s %s\n", $1, $2, $3 }' "$out/placement.tsv"
  fi
  if [ -s "$out/summary.tsv" ]; then
    awk -F'\t' '$1 == "cell" && $13 == "ok" && $7 != "nan" {
      printf "\ncell median wall / crun median wall = %.2f (target <= 0.70: %s); median of per-round cell/crun = %.2f\n",
        $7, ($7 <= 0.70 ? "met" : "not met"), $14 }' \
      "$out/summary.tsv"
  fi
  [ "$(cat "$out/leftovers")" = 0 ] || echo "WARNING: the run left cgroups or state behind (see stderr)"
} >"$out/table.txt"
cat "$out/table.txt"

if [ -s "$out/summary.tsv" ] && command -v gnuplot >/dev/null; then
  names=$(awk -F'\t' '!/^#/ && $13 == "ok" { printf "%s ", $1 }' "$out/summary.tsv")
  gnuplot -e "data='$out/summary.tsv'; samples='$out/samples.tsv'; names='$names'; out='$out/startbench.png'; rounds='${BENCH_ROUNDS:-50}'" \
    "$top/tests/bench/startbench.gp" && echo "plot: $out/startbench.png"
fi
[ "$(cat "$out/leftovers")" = 0 ] || rc=1
exit "$rc"
