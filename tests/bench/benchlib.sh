# benchlib.sh - sourced by exec, accumulate and profile.bench.sh: what they
# share with runtime.bench.sh's way of running on a hybrid host.
#
#   bench_in_ns CMD...     run CMD in a private mount ns + new cgroup ns where
#                          /sys/fs/cgroup holds only the v1 hierarchies, rooted
#                          at our own cgroups (runtime.bench.sh --in-private-ns;
#                          crun refuses hybrid hosts; host mounts untouched)
#   bench_v1_own           "<mountpoint> <our own path>" per v1 hierarchy
#   bench_rt_path NAME     the binary of runtime NAME (cell, crun, runc)
#   bench_kill_below CGREL DEPTH
#                          kill (SIGKILL, by pid) every process in a cgroup
#                          below <own>/CGREL in any v1 hierarchy, then rmdir
#                          those cgroups; prints the processes found and the
#                          cgroups DEPTH or more levels below CGREL (the
#                          containers'; runtimes leave parents): nothing = clean

bench_in_ns() {
  unshare -m -C --propagation private "$BENCH_TOP/tests/bench/runtime.bench.sh" --in-private-ns "$@"
}

bench_v1_own() {
  local mnt opts ctrls path c want ok
  while read -r mnt opts; do
    while IFS=: read -r _ ctrls path; do
      [ -n "$ctrls" ] || continue
      ok=1
      IFS=, read -ra want <<<"$ctrls"
      for c in "${want[@]}"; do [[ ",$opts," == *",$c,"* ]] || { ok=0; break; }; done
      if [ "$ok" = 1 ]; then echo "$mnt ${path%/}"; break; fi
    done </proc/self/cgroup
  done < <(awk '$3 == "cgroup" { print $2, $4 }' /proc/self/mounts)
}

bench_rt_path() {
  case $1 in
    cell) echo "${CELL:-$BENCH_TOP/build/cell}" ;;
    crun | runc) command -v "$1" ;;
    *) echo "bench: unknown runtime '$1' (cell, crun, runc)" >&2; return 1 ;;
  esac
}

bench_kill_below() { # CGREL DEPTH
  local mnt own d p
  while read -r mnt own; do
    for d in $(printf '%s\n' "$mnt$own/$1" "$mnt/$1" | sort -u); do
      [ -d "$d" ] || continue
      while read -r p; do
        [ -n "$p" ] || continue
        echo "process $p in $d"
        kill -9 "$p" 2>/dev/null
      done < <(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
      if [ -n "$(find "$d" -mindepth "$2" -type d -print -quit)" ]; then
        echo "cgroups below $d: $(find "$d" -mindepth "$2" -type d | head -5 | tr '\n' ' ')"
      fi
    done
  done < <(bench_v1_own)
  # second pass: the killed processes are gone, the cgroups can go
  sleep 0.2
  while read -r mnt own; do
    for d in $(printf '%s\n' "$mnt$own/$1" "$mnt/$1" | sort -u); do
      [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
  done < <(bench_v1_own)
  return 0
}

# bench_state_left ROOT: the container state dirs left in a runtime's --root
# (cell's compiled seccomp filters in ROOT/.seccomp are a cache, not state)
bench_state_left() {
  find "$1" -mindepth 1 -maxdepth 1 ! -name .seccomp -printf '%f\n' 2>/dev/null
}

# bench_rmdir_parents CGREL: remove CGREL and cell-bench below our own cgroup
# in every v1 hierarchy, where empty (another run may still use cell-bench)
bench_rmdir_parents() {
  local mnt own
  while read -r mnt own; do rmdir "$mnt$own/$1" "$mnt$own/cell-bench" 2>/dev/null || true; done < <(bench_v1_own)
}
