#!/bin/bash
# Runs bats files inside a qemu guest whose only cgroup hierarchy is cgroup2
# at /sys/fs/cgroup with every controller enabled (see tests/vm/README.md).
#
# Usage: tests/vm/run.sh [bats files...]      (default: tests/vm/*.bats)
#   stdout: the bats TAP from inside the guest, streamed as it is written
#   stderr: "# cell-vm: ..." progress, the guest's bats stderr, diagnostics
#   exit:   the guest's bats status; 124 if the guest timed out; 125 if it
#           ended without a result (boot or setup failure); 2 for bad usage
#
# Environment:
#   CELL_VM_ACCEL    tcg (default) or kvm
#   CELL_VM_CPU      qemu -cpu model (default max)
#   CELL_VM_MEM      guest memory in MiB (default 1024)
#   CELL_VM_SMP      guest CPUs (default 2)
#   CELL_VM_TIMEOUT  seconds before the guest is killed (default 600)
#   CELL_VM_KEEP=1   keep build/vm/runs/<run>/ (console log, TAP) on success too
#   CELL_VM_VERBOSE=1  stream the guest console (kernel + setup) to stderr
# Variables named CELL* and *SAN_OPTIONS are passed into the guest, so
# CELL=/abs/path/build/cell reaches the tests (the host root is the guest's).
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
vmdir=${CELL_VM_DIR:-$top/build/vm}
accel=${CELL_VM_ACCEL:-tcg}
cpu=${CELL_VM_CPU:-max}
mem=${CELL_VM_MEM:-1024}
smp=${CELL_VM_SMP:-2}
limit=${CELL_VM_TIMEOUT:-600}

note() { echo "# cell-vm: $*" >&2; }
usage_error() { echo "tests/vm/run.sh: $*" >&2; exit 2; }

case "$accel" in tcg|kvm) ;; *) usage_error "CELL_VM_ACCEL must be tcg or kvm, not '$accel'" ;; esac
for v in mem smp limit; do
  case "${!v}" in ''|*[!0-9]*) usage_error "CELL_VM_${v^^} must be a positive integer, not '${!v}'" ;; esac
done
[ "$limit" -gt 0 ] || usage_error "CELL_VM_TIMEOUT must be > 0"
case "$here" in *[[:space:]]*) usage_error "the project path '$here' contains whitespace: the kernel command line cannot carry it" ;; esac

if [ $# -eq 0 ]; then
  set -- "$here"/*.bats
  [ -e "$1" ] || usage_error "no bats files given and none in $here"
fi
files=()
for f in "$@"; do
  [ -f "$f" ] || usage_error "bats file not found: $f"
  abs=$(realpath "$f")
  # the guest mounts fresh filesystems there, hiding the host's files
  case "$abs" in
    "$top"/*) ;; # the project is re-exposed at its own path in the guest, even below /tmp
    /tmp/*|/run/*|/dev/*|/proc/*|/sys/*) usage_error "$abs: files under /tmp, /run, /dev, /proc, /sys are hidden in the guest; put them elsewhere (e.g. under $top)" ;;
  esac
  files+=("$abs")
done

command -v qemu-system-x86_64 >/dev/null || usage_error "qemu-system-x86_64 not found: run 'make vm-deps'"
image=$("$here/image.sh") || { note "preparing the kernel and initramfs failed"; echo "not ok - vm: cannot prepare the guest image"; exit 125; }
kernel=$(sed -n 1p <<<"$image")
initrd=$(sed -n 2p <<<"$image")

mkdir -p "$vmdir/runs"
# runs kept for inspection (failures, CELL_VM_KEEP) go after a day
find "$vmdir/runs" -mindepth 1 -maxdepth 1 -name 'run.*' -mmin +1440 -exec rm -rf {} + 2>/dev/null
run=$(mktemp -d "$vmdir/runs/run.XXXXXX") || usage_error "cannot create a run directory in $vmdir/runs"
mkdir "$run/out"
qpid=
cleanup() {
  if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
    kill "$qpid" 2>/dev/null
    sleep 1
    kill -9 "$qpid" 2>/dev/null
  fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

{
  printf 'CELL_VM_CWD=%q\n' "$PWD"
  printf 'CELL_VM_MODULES=%q\n' "$vmdir/kernel/lib/modules"
  printf 'CELL_VM_PROJECT=%q\n' "$top"
  printf 'CELL_VM_FILES=('
  printf ' %q' "${files[@]}"
  printf ' )\n'
  while IFS= read -r name; do
    printf 'export %s=%q\n' "$name" "${!name}"
  done < <(compgen -e | grep -E '^(CELL[A-Za-z0-9_]*|[A-Z]*SAN_OPTIONS)$' | grep -vE '^CELL_VM(_[A-Z]+)?$')
  echo 'export CELL_VM_PROJECT'
} > "$run/out/job"

if [ "$accel" = kvm ]; then accel_args=(-accel kvm); else accel_args=(-accel tcg); fi
qemu=(qemu-system-x86_64 -name cell-vm "${accel_args[@]}" -cpu "$cpu" -m "$mem" -smp "$smp"
  -nodefaults -no-user-config -display none -vga none -no-reboot
  -chardev "file,id=con,path=$run/console.log" -serial chardev:con
  -kernel "$kernel" -initrd "$initrd"
  -append "console=ttyS0 quiet loglevel=4 panic=-1 mitigations=off cell.guest=$here/guest.sh"
  -virtfs "local,path=/,mount_tag=host0,security_model=none,readonly=on,multidevs=remap"
  -virtfs "local,path=$run/out,mount_tag=out,security_model=none")

start=$(date +%s.%N)
"${qemu[@]}" < /dev/null > "$run/qemu.log" 2>&1 &
qpid=$!
note "qemu pid $qpid ($accel, ${smp} cpus, ${mem} MiB), run dir $run"

elapsed() { echo "$(date +%s.%N) $start" | awk '{printf "%.1f", $1 - $2}'; }
# Prints what was appended to file $1 since byte offset named by $2.
flush() {
  local f=$1 var=$2 size
  [ -f "$f" ] || return 0
  size=$(stat -c %s "$f")
  if [ "$size" -gt "${!var}" ]; then
    tail -c +"$((${!var} + 1))" "$f" | head -c "$((size - ${!var}))"
    printf -v "$var" %s "$size"
  fi
}
# shellcheck disable=SC2034 # the offsets are updated through flush's printf -v
tap_off=0 con_off=0 booted='' timed_out=''
while kill -0 "$qpid" 2>/dev/null; do
  if [ -z "$booted" ] && [ -e "$run/out/tap" ]; then
    booted=$(elapsed)
    note "guest up, bats started ${booted}s after qemu started ($(cat "$run/out/uptime" 2>/dev/null || echo '?')s of guest uptime)"
  fi
  flush "$run/out/tap" tap_off
  [ "${CELL_VM_VERBOSE:-0}" = 1 ] && flush "$run/console.log" con_off >&2
  if awk -v e="$(elapsed)" -v l="$limit" 'BEGIN {exit !(e > l)}'; then
    timed_out=1
    note "guest still running after ${limit}s: killing qemu pid $qpid"
    cleanup
    break
  fi
  sleep 0.5
done
wait "$qpid" 2>/dev/null
qrc=$?
qpid=
flush "$run/out/tap" tap_off
[ "${CELL_VM_VERBOSE:-0}" = 1 ] && flush "$run/console.log" con_off >&2
note "qemu exited $qrc after $(elapsed)s"

[ -s "$run/out/stderr" ] && sed 's/^/# guest stderr: /' "$run/out/stderr" >&2
if [ -n "$timed_out" ]; then
  rc=124
  echo "not ok - vm: guest timed out after ${limit}s"
elif [ -f "$run/out/rc" ]; then
  rc=$(cat "$run/out/rc")
  if [ -s "$run/out/error" ]; then
    sed 's/^/# guest setup: /' "$run/out/error" >&2
    echo "not ok - vm: guest setup failed: $(head -n1 "$run/out/error")"
  fi
else
  rc=125
  echo "not ok - vm: guest ended without a result (qemu exit $qrc)"
fi
if [ "$rc" != 0 ] || [ -n "${CELL_VM_KEEP:-}" ]; then
  if [ "$rc" != 0 ]; then
    note "last lines of the guest console ($run/console.log):"
    tail -n 30 "$run/console.log" 2>/dev/null | sed 's/^/#   /' >&2
    sed 's/^/# qemu: /' "$run/qemu.log" >&2
  fi
  note "kept $run"
else
  rm -rf "$run"
fi
exit "$rc"
