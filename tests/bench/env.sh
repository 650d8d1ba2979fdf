#!/bin/bash
# env.sh - VPS environments side by side on the same Debian 12 rootfs:
#
#   boot  start command to `systemctl is-system-running` = running, and stop
#         (halt signal to the init gone), for
#           cellctl     `cellctl start` of an environment made by `cellctl create
#                       --rootfs DIR --cellfs off` (before the clock), unprivileged;
#                       stop: `cellctl stop`
#           cell        env/spec.c's spec under `cell run -d`, unprivileged: its
#                       own user namespace, idmapped lower layer, delegated
#                       cgroups (the time includes the idmapped mount, the
#                       overlay and writing the spec)
#           cell-priv   the same, --privileged (overlay made before the clock)
#           nspawn      systemd-nspawn -b (Debian's systemd-container), privileged
#           lxc         lxc-start (Debian's lxc), privileged, dir-backed
#         Every tool boots its own overlay over the same extracted lower layer;
#         readiness is polled the same way for all: `nsenter -t INIT -a
#         systemctl is-system-running` every 0.1 s.
#   density  N idle busybox-init environments per tool (cellctl as created, which
#         keeps a reaper per environment for `reboot = restart`, and
#         cellctl-noreaper with `reboot = stop`): host memory used per
#         environment (MemAvailable before/after, / N; noisy on a shared host)
#         and host processes kept per environment besides its own (the init's
#         parent when it is not pid 1: LXC's monitor, systemd-nspawn itself)
#         with their RSS.
#
# Prints a table per part with ratios to the faster peer; never judges a time.
# Env: ENV_BENCH_ROUNDS (default 5), ENV_BENCH_DENSITY (default 100),
#      ENV_BENCH_TOOLS (default "cellctl cell cell-priv nspawn lxc"; density
#      adds cellctl-noreaper and leaves out cell-priv), CELL (build/cell;
#      cellctl next to it).
# Writes build/bench/env-boot.tsv and build/bench/env-density.tsv.
# Smoke: ENV_BENCH_ROUNDS=1 ENV_BENCH_DENSITY=2 tests/bench/env.sh
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
CELL=${CELL:-$top/build/cell}
ENVSPEC=$top/build/tools/envspec
CELLCTL=${CELLCTL:-$(dirname "$CELL")/cellctl}
rounds=${ENV_BENCH_ROUNDS:-5}
density=${ENV_BENCH_DENSITY:-100}
tools=${ENV_BENCH_TOOLS:-"cellctl cell cell-priv nspawn lxc"}
out=$top/build/bench
mkdir -p "$out"
for t in "$CELL" "$ENVSPEC" "$CELLCTL"; do [ -x "$t" ] || { echo "env.sh: $t missing (make all)" >&2; exit 1; }; done
for c in systemd-nspawn lxc-start nsenter jq; do
  command -v "$c" >/dev/null || { echo "env.sh: $c missing (make envspec-deps)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/henv2-bench.XXXXXX)
chmod 0755 "$tmp"
croot=$tmp/cellroot ranges=$tmp/ranges lxcpath=$tmp/lxc ccroot=$tmp/cellctl
mkdir -p "$croot" "$ranges" "$lxcpath" "$ccroot"
cell() { "$CELL" --root "$croot" "$@"; }
cellctl() { "$CELLCTL" --root "$ccroot" "$@" </dev/null 3>&-; }
declare -A NSPAWN_PID=()

cleanup() {
  local id p
  for id in $(ls "$ccroot/vps" 2>/dev/null); do cellctl destroy --force "$id" >/dev/null 2>&1; done
  for id in $(cell list --quiet 2>/dev/null); do cell delete --force "$id" >/dev/null 2>&1; done
  for id in $(lxc-ls -P "$lxcpath" 2>/dev/null); do lxc-stop -P "$lxcpath" -n "$id" -k >/dev/null 2>&1; done
  for p in "${NSPAWN_PID[@]}"; do kill -9 "$p" 2>/dev/null; done
  findmnt -rno TARGET | grep "^$tmp/" | sort -r | xargs -r umount -l
  rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# overlay NAME LOWER [BASE] - $tmp/NAME/rootfs over LOWER (idmapped to BASE when given)
overlay() {
  local d=$tmp/$1 lower=$2 base=${3:-}
  mkdir -p "$d/upper" "$d/work" "$d/rootfs"
  if [ -n "$base" ]; then
    mkdir -p "$d/lower"
    "$ENVSPEC" idmap "$lower" "$d/lower" "$base" || return 1
    chown "$base:$base" "$d/upper"
    lower=$d/lower
  fi
  mount -t overlay overlay -o "lowerdir=$lower,upperdir=$d/upper,workdir=$d/work" "$d/rootfs"
}
unoverlay() {
  local d=$tmp/$1
  umount "$d/rootfs" 2>/dev/null
  mountpoint -q "$d/lower" 2>/dev/null && umount "$d/lower"
  rm -rf --one-file-system "$d"
}

# ---------------------------------------------------------------- starters
# start_TOOL NAME INIT(systemd|busybox) LOWER: starts, sets PID to the init's host pid
start_cellctl() { # made by prep
  cellctl start "$1" >"$tmp/$1.log" 2>&1 || { cat "$tmp/$1.log" >&2; return 1; }
  PID=$(cellctl show "$1" --json | jq -r .pid)
}
start_cellctl_noreaper() { start_cellctl "$@"; }
start_cell() { # unprivileged
  local name=$1 init=$2 lower=$3 base
  base=$("$ENVSPEC" alloc "$ranges" "$name") || return 1
  overlay "$name" "$lower" "$base" || return 1
  "$ENVSPEC" spec --name "$name" --rootfs "$tmp/$name/rootfs" --init "$init" --base "$base" --idmapped \
    --cgroup "henv2-bench/$name" --delegate-hook "$ENVSPEC" >"$tmp/$name/config.json" || return 1
  cell run -d --bundle "$tmp/$name" "$name" </dev/null >"$tmp/$name.log" 2>&1 3>&- || { cat "$tmp/$name.log" >&2; return 1; }
  PID=$(cell state "$name" | jq -r .pid)
}
start_cell_priv() { # overlay prepared by prep_cell_priv
  local name=$1 init=$2
  "$ENVSPEC" spec --name "$name" --rootfs "$tmp/$name/rootfs" --init "$init" --privileged \
    --cgroup "henv2-bench/$name" >"$tmp/$name/config.json" || return 1
  cell run -d --bundle "$tmp/$name" "$name" </dev/null >"$tmp/$name.log" 2>&1 3>&- || { cat "$tmp/$name.log" >&2; return 1; }
  PID=$(cell state "$name" | jq -r .pid)
}
start_nspawn() {
  local name=$1 p i c
  systemd-nspawn -q -b -D "$tmp/$name/rootfs" -M "$name" --register=no --keep-unit --console=passive \
    </dev/null >"$tmp/$name.log" 2>&1 3>&- &
  p=$!
  NSPAWN_PID[$name]=$p
  # the init: a child of nspawn in another pid namespace (nspawn's first
  # child is an intermediate process that exits)
  for i in $(seq 500); do
    for c in $(ps -o pid= --ppid "$p"); do
      if alive "$c" && [ "$(readlink "/proc/$c/ns/pid")" != "$(readlink /proc/self/ns/pid)" ]; then
        PID=$c
        return 0
      fi
    done
    kill -0 "$p" 2>/dev/null || break
    sleep 0.02
  done
  cat "$tmp/$name.log" >&2
  return 1
}
start_lxc() {
  local name=$1 init=$2 halt=SIGRTMIN+3 inc=debian.common.conf
  [ "$init" = busybox ] && { halt=SIGUSR2; inc=common.conf; }
  mkdir -p "$lxcpath/$name"
  cat >"$lxcpath/$name/config" <<EOF
lxc.include = /usr/share/lxc/config/$inc
lxc.rootfs.path = dir:$tmp/$name/rootfs
lxc.uts.name = $name
lxc.net.0.type = empty
lxc.apparmor.profile = unconfined
lxc.signal.halt = $halt
lxc.tty.max = 0
EOF
  lxc-start -P "$lxcpath" -n "$name" -d -o "$tmp/$name.log" || { cat "$tmp/$name.log" >&2; return 1; }
  PID=$(lxc-info -P "$lxcpath" -n "$name" -pH)
}
# before the clock: cellctl's create, the overlay of the peers and of cell-priv
prep() { # TOOL NAME LOWER INIT
  case $1 in
    cell) ;;
    cellctl | cellctl-noreaper)
      cellctl create "$2" --rootfs "$3" --init "$4" --cellfs off >/dev/null || return 1
      [ "$1" = cellctl ] || cellctl set "$2" reboot=stop >/dev/null ;;
    *) overlay "$2" "$3" ;;
  esac
}

# stop_TOOL NAME INITPID INIT: halts, waits for the init to be gone
# gone: no such process, or a zombie (an init reparented to pid 1 waits there
# for pid 1 to reap it, which is pid 1's latency, not the environment's)
alive() { local st; st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) && [ -n "$st" ] && [ "$st" != Z ]; }
wait_gone() { local i; for i in $(seq 1200); do alive "$1" || return 0; sleep 0.05; done; return 1; }
halt_sig() { [ "$1" = busybox ] && echo USR2 || echo RTMIN+3; }
stop_cell() { kill -s "$(halt_sig "$3")" "$2" && wait_gone "$2"; }
stop_cell_priv() { stop_cell "$@"; }
stop_cellctl() { cellctl stop "$1" --timeout 120 >/dev/null && wait_gone "$2"; }
stop_cellctl_noreaper() { stop_cellctl "$@"; }
stop_nspawn() { # nspawn turns SIGTERM into SIGRTMIN+3 for the init; busybox init wants SIGUSR2
  local p=${NSPAWN_PID[$1]}
  if [ "$3" = busybox ]; then kill -USR2 "$2"; else kill -TERM "$p"; fi
  wait_gone "$p"
}
stop_lxc() { lxc-stop -P "$lxcpath" -n "$1" -t 120 >/dev/null && wait_gone "$2"; }

forget() { # NAME TOOL: removes what is left
  case $2 in
    cellctl | cellctl-noreaper) cellctl destroy --force "$1" >/dev/null 2>&1; return ;;
    cell | cell-priv) cell delete --force "$1" >/dev/null 2>&1; "$ENVSPEC" free "$ranges" "$1" 2>/dev/null ;;
    lxc) lxc-stop -P "$lxcpath" -n "$1" -k >/dev/null 2>&1; rm -rf "${lxcpath:?}/$1" ;;
    nspawn) kill -9 "${NSPAWN_PID[$1]}" 2>/dev/null; wait "${NSPAWN_PID[$1]}" 2>/dev/null; unset "NSPAWN_PID[$1]" ;;
  esac
  unoverlay "$1"
}

wait_running() { # INITPID: polls systemd's state through nsenter (the same for every tool)
  local s i
  for i in $(seq 1800); do
    s=$(nsenter -t "$1" -a systemctl is-system-running 2>/dev/null)
    case $s in running) return 0 ;; degraded | maintenance | stopping) echo "state $s" >&2; return 1 ;; esac
    alive "$1" || return 1
    sleep 0.1
  done
  return 1
}

fn() { echo "${1//-/_}"; }

# ---------------------------------------------------------------- boot
deb_tar=$("$top/tests/lib/rootfs-cache.sh") || exit 1
bb_tar=$("$top/tests/lib/busybox-rootfs.sh") || exit 1
mkdir -p "$tmp/debian" "$tmp/busybox"
tar --numeric-owner -C "$tmp/debian" -xf "$deb_tar"
tar --numeric-owner -C "$tmp/busybox" -xf "$bb_tar"

status=0
printf 'tool\tround\tboot_s\tstop_s\n' >"$out/env-boot.tsv"
declare -A BOOT=() STOP=()
for r in $(seq "$rounds"); do
  for tool in $tools; do
    name=henv2-b-$tool-$r
    if ! prep "$tool" "$name" "$tmp/debian" systemd; then status=1; continue; fi
    t0=$(now)
    if ! "start_$(fn "$tool")" "$name" systemd "$tmp/debian" || ! wait_running "$PID"; then
      echo "# $tool: round $r did not reach running" >&2
      status=1
      forget "$name" "$tool"
      continue
    fi
    t1=$(now)
    "stop_$(fn "$tool")" "$name" "$PID" systemd || { echo "# $tool: round $r did not stop" >&2; status=1; }
    t2=$(now)
    forget "$name" "$tool"
    printf '%s\t%s\t%s\t%s\n' "$tool" "$r" "$(secs "$t0" "$t1")" "$(secs "$t1" "$t2")" >>"$out/env-boot.tsv"
  done
done

echo "Boot to is-system-running = running, and stop (Debian 12, $rounds rounds, medians)"
printf '%-10s %8s %8s %14s %14s\n' tool boot_s stop_s boot/best-peer stop/best-peer
for tool in $tools; do
  BOOT[$tool]=$(awk -v t="$tool" '$1 == t { print $3 }' "$out/env-boot.tsv" | median)
  STOP[$tool]=$(awk -v t="$tool" '$1 == t { print $4 }' "$out/env-boot.tsv" | median)
done
best_boot=$(for t in nspawn lxc; do [ "${BOOT[$t]:--}" != - ] && echo "${BOOT[$t]}"; done | sort -n | head -1)
best_stop=$(for t in nspawn lxc; do [ "${STOP[$t]:--}" != - ] && echo "${STOP[$t]}"; done | sort -n | head -1)
ratio() { [ -n "$2" ] && [ "$1" != - ] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }' || echo -; }
for tool in $tools; do
  printf '%-10s %8s %8s %14s %14s\n' "$tool" "${BOOT[$tool]}" "${STOP[$tool]}" "$(ratio "${BOOT[$tool]}" "$best_boot")" \
    "$(ratio "${STOP[$tool]}" "$best_stop")"
done
echo

# ---------------------------------------------------------------- density
printf 'tool\tn\tmem_kib_per_env\thelpers_per_env\thelper_rss_kib_per_env\n' >"$out/env-density.tsv"
memavail() { awk '/^MemAvailable:/ { print $2 }' /proc/meminfo; }
echo "Density: $density idle busybox-init environments per tool"
printf '%-10s %6s %16s %16s %20s\n' tool n mem_KiB/env helpers/env helper_RSS_KiB/env
dtools=$(for t in $tools; do [ "$t" = cell-priv ] || echo "$t"; [ "$t" = cellctl ] && echo cellctl-noreaper; done)
for tool in $dtools; do
  names=() pids=()
  sync
  m0=$(memavail)
  ok=1
  for i in $(seq "$density"); do
    name=henv2-d-$tool-$i
    prep "$tool" "$name" "$tmp/busybox" busybox || { ok=0; break; }
    "start_$(fn "$tool")" "$name" busybox "$tmp/busybox" || { ok=0; break; }
    names+=("$name") pids+=("$PID")
  done
  # idle: every init ran its sysinit
  # (60 s each at most: a loaded CI machine took more than 5 s for nspawn's)
  for i in "${!pids[@]}"; do
    p=${pids[$i]}
    for k in $(seq 1200); do [ -s "/proc/$p/root/run/init-ready" ] && break; sleep 0.05; done
    [ -s "/proc/$p/root/run/init-ready" ] || { ok=0; echo "# $tool: ${names[$i]} (pid $p) never ran its sysinit" >&2; }
  done
  sleep 1
  m1=$(memavail)
  helpers=0 hrss=0
  declare -A seen=()
  for p in "${pids[@]}"; do
    pp=$(ps -o ppid= -p "$p" | tr -d ' ')
    [ -n "$pp" ] && [ "$pp" != 1 ] && [ -z "${seen[$pp]:-}" ] || continue
    seen[$pp]=1
    helpers=$((helpers + 1))
    hrss=$((hrss + $(ps -o rss= -p "$pp" | tr -d ' ')))
  done
  unset seen
  n=${#pids[@]}
  if [ "$ok" = 1 ] && [ "$n" -gt 0 ]; then
    mem=$(( (m0 - m1) / n ))
    hpe=$(awk -v a="$helpers" -v n="$n" 'BEGIN { printf "%.2f", a / n }')
    rpe=$(( hrss / n ))
    printf '%-10s %6s %16s %16s %20s\n' "$tool" "$n" "$mem" "$hpe" "$rpe"
    printf '%s\t%s\t%s\t%s\t%s\n' "$tool" "$n" "$mem" "$hpe" "$rpe" >>"$out/env-density.tsv"
  else
    echo "# $tool: $n of $density environments started, ok=$ok" >&2
    status=1
  fi
  for i in "${!names[@]}"; do "stop_$(fn "$tool")" "${names[$i]}" "${pids[$i]}" busybox >/dev/null 2>&1; done
  for name in "${names[@]}"; do forget "$name" "$tool"; done
done
exit "$status"
