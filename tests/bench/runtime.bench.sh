#!/bin/bash
# runtime.bench.sh - the container start matrix (issue 14): create ->
# start -> wait -> delete of a /bin/true busybox container with cell, crun
# and runc in every setup, all interleaved in random order per round, plus
# the floor
#   unshare -m -p -u -i -n -C --fork chroot ROOTFS /bin/true
# Setups (tests/bench/bundles.sh; the same config for every runtime,
# ociVersion 1.0.2):
#   a-spec        the config `cell spec` writes (no cgroupsPath)
#   b-relcg       the config `crun spec` writes + a relative cgroupsPath
#   c-podman      tests/fixtures/engine-configs/podman-config-example.json
#   c-containerd  tests/fixtures/engine-configs/containerd-config-example.json
# Prints a table (median wall ms, p90, median cpu ms, peak RSS KiB, ratios
# vs crun of the same setup and vs the floor), the target verdicts
# (information only), and draws OUT/startbench.png.  See tests/bench/README.md.
#
# Environment:
#   CELL           cell binary (default build/cell)
#   BENCH_RUNTIMES runtimes to compare (default "cell crun runc")
#   BENCH_SETUPS   setups (default "a-spec b-relcg c-podman c-containerd")
#   BENCH_ROUNDS   measured rounds (default 50)   BENCH_WARMUP  discarded (1)
#   BENCH_OUT      output directory (default build/bench)
#   BENCH_TIMEOUT  seconds one step may take (default 20)
#   BENCH_SEED     seed of the per-round random order (default: new each run)
# Files in OUT: samples.tsv (every cycle), summary.tsv, matrix.tsv (setup x
# runtime), placement.tsv (where each runtime put its cgroups per setup),
# table.txt, startbench.png, bundles/.
#
# crun refuses hybrid cgroup hosts, so every runtime runs inside a private
# mount namespace (unshare -m --propagation private) where
# /sys/fs/cgroup/unified is unmounted, and a new cgroup namespace, in every
# setup; the host's mounts are never touched.  See --in-private-ns below.
# Exit status: 0 when every row completed every round, 1 otherwise.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
self="$top/tests/bench/runtime.bench.sh"
cg_rel="cell-bench/$$"   # parent of the relative cgroupsPaths: below our own cgroups
idp="sb$$"               # container id prefix: cgroups of setups without a cgroupsPath

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
export BENCH_TOP=$top CELL=$cell
# shellcheck source=bundles.sh
. "$top/tests/bench/bundles.sh"
# shellcheck source=benchlib.sh
. "$top/tests/bench/benchlib.sh"
setups=${BENCH_SETUPS:-$BENCH_SETUPS_ALL}

make -s -C "$top" bench-deps build/bench/startbench >&2

# The matrix's bundles (tests/bench/bundles.sh): one per setup, the same for
# every runtime; rootfs = tests/fixtures/mkrootfs.sh's busybox tree.
src=$(bench_rootfs "$out")
mapfile -t setup_args < <(bench_bundles "$out" "$src" "$cg_rel" "$setups")
[ "${#setup_args[@]}" -gt 0 ] || { echo "runtime.bench: building the bundles failed" >&2; exit 1; }
rm -rf "$out/bundle"
floor_rootfs="$out/bundles/floor-rootfs"
cp -a "$src" "$floor_rootfs"

args=(-f "$floor_rootfs")
for r in $runtimes; do
  case $r in
    cell) args+=("cell=$cell") ;;
    crun) args+=("crun=$(command -v crun)") ;;
    runc) args+=("runc=$(command -v runc)") ;;
    *) echo "runtime.bench: unknown runtime '$r' in BENCH_RUNTIMES (cell, crun, runc)" >&2; exit 2 ;;
  esac
done

rm -rf "$out/state" "$out/samples.tsv" "$out/summary.tsv" "$out/placement.tsv" "$out/startbench.png" \
  "$out/matrix.tsv"
mkdir -p "$out/state"
unified_before=no
mountpoint -q /sys/fs/cgroup/unified && unified_before=yes

# Our own path in each v1 hierarchy: "<mountpoint> <own path>" lines.
cleanup() {
  local d mnt own left=0
  # What the runtimes must have removed: the relative cgroupsPaths below
  # cell-bench/$$ and the per-container cgroups of the setups without a
  # cgroupsPath (named after the container ids, $idp-*), below our own
  # cgroup, and at each hierarchy's root, where a runtime that ignored our
  # cgroup would have put them.
  while read -r mnt own; do
    for d in "$mnt$own/$cg_rel" "$mnt/$cg_rel" "$mnt$own/$idp"-* "$mnt/$idp"-*; do
      [ -d "$d" ] || continue
      if [ "$d" = "$mnt$own/$cg_rel" ] || [ "$d" = "$mnt/$cg_rel" ]; then
        # the shared parent may stay (runtimes do not remove parents); its leaves may not
        if [ -n "$(find "$d" -mindepth 1 -type d -print -quit)" ]; then
          echo "runtime.bench: left over cgroups below $d: $(find "$d" -mindepth 1 -type d | tr '\n' ' ')" >&2
          left=1
        fi
      else
        echo "runtime.bench: left over cgroup $d (removing)" >&2
        left=1
      fi
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
    rmdir "$mnt$own/cell-bench" "$mnt/cell-bench" 2>/dev/null || true  # if no other run uses it
  done < <(bench_v1_own)
  # (a container's state is a directory named by its id; cell's compiled
  # seccomp filters in ROOT/.seccomp are a cache, not a container)
  if [ -d "$out/state" ] && [ -n "$(find "$out/state" -mindepth 2 -maxdepth 2 ! -name '.seccomp' -print -quit 2>/dev/null)" ]; then
    echo "runtime.bench: left over runtime state under $out/state:" \
      "$(find "$out/state" -mindepth 2 -maxdepth 2 ! -name '.seccomp' | tr '\n' ' ')" >&2
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

# Where each runtime puts the container's cgroups in each setup: create in
# the private namespaces, read the init's /proc/PID/cgroup from here (host
# view), delete.  Every v1 line must be <our own path>/<cgroupsPath>, or,
# without a cgroupsPath, some cgroup strictly below our own path.
probe() { # setup bundle name runtime
  local setup=$1 b=$2 name=$3 rt=$4 root="$out/state/probe-$1-$3" pidf="$out/state/probe-$1-$3.pid"
  local id="$idp-probe-$1-$3" pid ctrls path own verdict=below bad='' mem='' cg
  cg=$(jq -r '.linux.cgroupsPath // ""' "$b/config.json")
  if ! in_ns_t "$rt" --root "$root" create --bundle "$b" --pid-file "$pidf" "$id" \
       >/dev/null 2>"$out/state/probe.err"; then
    printf '%s\t%s\tfailed\tcreate: %s\n' "$setup" "$name" "$(tail -c 400 "$out/state/probe.err" | tr '\n\t' '  ')"
    in_ns_t "$rt" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
    return
  fi
  pid=$(cat "$pidf" 2>/dev/null || true)
  if [ -z "$pid" ] || [ ! -r "/proc/$pid/cgroup" ]; then
    printf '%s\t%s\tfailed\tcreate left no live init in pid file %s\n' "$setup" "$name" "$pidf"
    in_ns_t "$rt" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
    return
  fi
  while IFS=: read -r _ ctrls path; do
    [ -n "$ctrls" ] || continue
    own=$(awk -F: -v c="$ctrls" '$2 == c { print $3 }' /proc/self/cgroup)
    own=${own%/}
    [ "$ctrls" = memory ] && mem=$path
    if [ -n "$cg" ]; then
      [ "$path" = "$own/$cg" ] || { verdict=elsewhere bad+=" $ctrls:$path"; }
    else
      [[ $path == "$own"/?* ]] || { verdict=elsewhere bad+=" $ctrls:$path"; }
    fi
  done <"/proc/$pid/cgroup"
  printf '%s\t%s\t%s\tmemory:%s%s\n' "$setup" "$name" "$verdict" "$mem" "${bad:+ (wrong:$bad)}"
  in_ns_t "$rt" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
}
for ((k = 1; k < ${#setup_args[@]}; k += 2)); do
  s=${setup_args[$k]%%=*}
  for a in "${args[@]}"; do
    case $a in *=*) probe "$s" "${setup_args[$k]#*=}" "${a%%=*}" "${a#*=}" ;; esac
  done
done >"$out/placement.tsv"
rm -f "$out/state/probe.err"

rc=0
in_ns "$top/build/bench/startbench" -R "$out/state" -I "$idp" "${setup_args[@]}" \
  -n "${BENCH_ROUNDS:-50}" -w "${BENCH_WARMUP:-1}" -t "${BENCH_TIMEOUT:-20}" \
  -o "$out/samples.tsv" -s "$out/summary.tsv" ${BENCH_SEED:+-S "$BENCH_SEED"} "${args[@]}" \
  >"$out/table.body" || rc=$?
trap - EXIT
cleanup

ver() { "$1" --version 2>/dev/null | head -n1 || echo "$1: no version"; }
{
  echo "# start matrix: create -> start -> wait -> delete of /bin/true (busybox rootfs), setups: $setups"
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  kernel $(uname -r)  cpus $(nproc)  load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# rounds ${BENCH_ROUNDS:-50}, all setups x runtimes + floor interleaved in random order (+${BENCH_WARMUP:-1} warm-up discarded)"
  echo "# $(ver crun); $(ver runc); cell: $cell; ociVersion $BENCH_OCI_VERSION in every config"
  echo "# a-spec = cell spec (no cgroupsPath); b-relcg = crun spec + relative cgroupsPath; c-* = engine fixture configs"
  echo "# all in a private mount ns without the unified cgroup2 + a new cgroup ns (see README); floor = unshare -m -p -u -i -n -C --fork chroot rootfs /bin/true"
  echo "# cpu = user+sys of all processes of one cycle; peak RSS = largest ru_maxrss of any process in a cycle"
  cat "$out/table.body"
  if [ -s "$out/placement.tsv" ]; then
    echo
    echo "cgroup placement (cgroupsPaths below \"$cg_rel\", relative; without one: below our own cgroup):"
    awk -F'\t' '{ printf "  %-13s %-6s %-9s %s\n", $1, $2, $3, $4 }' "$out/placement.tsv"
  fi
  if [ -s "$out/summary.tsv" ]; then
    echo
    awk -F'\t' -v what=run -f "$top/tests/bench/verdicts.awk" "$out/summary.tsv"
  fi
  [ "$(cat "$out/leftovers")" = 0 ] || echo "WARNING: the run left cgroups or state behind (see stderr)"
} >"$out/table.txt"
cat "$out/table.txt"

# matrix.tsv: setup x runtime wall medians (and paired ratios) for the plot
if [ -s "$out/summary.tsv" ]; then
  awk -F'\t' -v rts="$runtimes" '
    !/^#/ && $17 != "-" { seen[$17] = 1; if (!($17 in ord)) { ord[$17] = ++ns; name[ns] = $17 }
      med[$17, $18] = ($13 == "ok" ? $3 : "nan"); pr[$17, $18] = ($13 == "ok" ? $14 : "nan") }
    END {
      nr = split(rts, r, " ")
      printf "setup"; for (j = 1; j <= nr; j++) printf "\t%s", r[j]; for (j = 1; j <= nr; j++) printf "\t%s/crun", r[j]; print ""
      for (i = 1; i <= ns; i++) {
        printf "%s", name[i]
        for (j = 1; j <= nr; j++) printf "\t%s", ((name[i], r[j]) in med ? med[name[i], r[j]] : "nan")
        for (j = 1; j <= nr; j++) printf "\t%s", ((name[i], r[j]) in pr ? pr[name[i], r[j]] : "nan")
        print ""
      }
    }' "$out/summary.tsv" >"$out/matrix.tsv"
fi
if [ -s "$out/matrix.tsv" ] && command -v gnuplot >/dev/null; then
  floor=$(awk -F'\t' '$1 == "floor" && $13 == "ok" { print $3 }' "$out/summary.tsv")
  nrt=$(wc -w <<<"$runtimes")
  gnuplot -e "data='$out/matrix.tsv'; out='$out/startbench.png'; nrt=$nrt; floor='${floor:-nan}'; rounds='${BENCH_ROUNDS:-50}'" \
    "$top/tests/bench/startbench.gp" && echo "plot: $out/startbench.png"
fi
[ "$(cat "$out/leftovers")" = 0 ] || rc=1
exit "$rc"
