#!/bin/bash
# cgroup v2 suite: boots the qemu test VM (tests/vm/run.sh) and runs
# tests/vm/*.bats in it, then checks the harness itself: exit status, TAP on
# stdout, environment forwarding, read-only host root, kernel messages kept
# out of the TAP.  Prints one TAP stream with the plan at the end.
# Extra guest bats files: CELL_VM_EXTRA_BATS="path/a.bats path/b.bats".
set -u
# TCG on a loaded 2-core host needs ~10 min for the guest suites (~5 idle).
export CELL_VM_TIMEOUT=${CELL_VM_TIMEOUT:-1200}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cell-vm-suite.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0
emit() { # "ok"|"not ok", description
	n=$((n + 1))
	echo "$1 $n - $2"
	[ "$1" = ok ] || failed=1
}

if ! make -s vm-deps >&2; then
	emit "not ok" "vm: make vm-deps failed (qemu-system-x86, busybox-static, bats)"
	echo "1..$n"
	exit 1
fi

# The guest has no network: the Debian rootfs that tests/vm/envspec.bats
# boots is built (or found cached) on the host first.
tests/lib/rootfs-cache.sh >/dev/null || echo "# vm: tests/lib/rootfs-cache.sh failed; envspec.bats will say so" >&2

# 1. the guest suites, renumbered into this stream (the guest's plan dropped)
guest_bats=(tests/vm/*.bats)
# shellcheck disable=SC2206
guest_bats+=(${CELL_VM_EXTRA_BATS:-})
while IFS= read -r line; do
	if [[ "$line" =~ ^(ok|not\ ok)(\ [0-9]+)?(\ -)?\ ?(.*)$ ]]; then
		n=$((n + 1))
		echo "${BASH_REMATCH[1]} $n ${BASH_REMATCH[4]}"
		[ "${BASH_REMATCH[1]}" = ok ] || failed=1
	elif [[ "$line" =~ ^1\.\.[0-9]+$ ]]; then
		:
	else
		echo "$line"
	fi
done < <(CELL_BATS_TIMING=1 tests/vm/run.sh "${guest_bats[@]}"; echo $? > "$tmp/guest.rc")
rc=$(cat "$tmp/guest.rc")
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
	emit "not ok" "vm: tests/vm/run.sh exited $rc"
fi

# 2. the harness itself, with a fixture whose third test fails on purpose
token=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
CELL_SELFTEST_TOKEN=$token tests/vm/run.sh tests/vm/fixtures/status.bats > "$tmp/out" 2> "$tmp/err"
rc=$?
sed 's/^/# selftest stdout: /' "$tmp/out"
if [ "$rc" -eq 1 ]; then
	emit ok "vm harness: run.sh exits with the guest's bats status (1)"
else
	emit "not ok" "vm harness: run.sh exits with the guest's bats status (1), got $rc"
fi
if grep -qx '1..3' "$tmp/out" && grep -qx 'ok 1 sees CELL_SELFTEST_TOKEN from the host' "$tmp/out" &&
   grep -qx 'not ok 3 fails on purpose' "$tmp/out"; then
	emit ok "vm harness: the guest's TAP is on stdout, CELL* variables reach the guest"
else
	emit "not ok" "vm harness: the guest's TAP is on stdout, CELL* variables reach the guest"
fi
if grep -qx "# token=$token" "$tmp/out"; then
	emit ok "vm harness: a failing test's output reaches the TAP"
else
	emit "not ok" "vm harness: a failing test's output reaches the TAP"
fi
if grep -qx 'ok 2 writes into the project and a kernel message' "$tmp/out" &&
   [ ! -e "build/vm/selftest-$token" ]; then
	emit ok "vm harness: guest writes into the project stay in the guest"
else
	emit "not ok" "vm harness: guest writes into the project stay in the guest"
	rm -f "build/vm/selftest-$token"
fi
run=$(sed -n 's/^# cell-vm: kept //p' "$tmp/err")
if [ -n "$run" ] && grep -q "cell-vm-selftest-kmsg-$token" "$run/console.log" &&
   ! grep -q "cell-vm-selftest-kmsg" "$tmp/out"; then
	emit ok "vm harness: kernel messages go to the console log, not the TAP"
else
	emit "not ok" "vm harness: kernel messages go to the console log, not the TAP"
	sed 's/^/# selftest stderr: /' "$tmp/err"
fi
[ -n "$run" ] && case "$run" in "$top"/build/vm/runs/run.*) rm -rf "$run" ;; esac

# 3. usage errors are reported without booting
out=$(tests/vm/run.sh tests/vm/no-such-file.bats 2>&1)
rc=$?
if [ "$rc" -eq 2 ] && [[ "$out" == *"bats file not found: tests/vm/no-such-file.bats"* ]]; then
	emit ok "vm harness: a missing bats file is a usage error (exit 2) naming it"
else
	emit "not ok" "vm harness: a missing bats file is a usage error (exit 2) naming it (got $rc: $out)"
fi
out=$(CELL_VM_ACCEL=xen tests/vm/run.sh tests/vm/smoke.bats 2>&1)
rc=$?
if [ "$rc" -eq 2 ] && [[ "$out" == *"CELL_VM_ACCEL must be tcg or kvm, not 'xen'"* ]]; then
	emit ok "vm harness: a bad CELL_VM_ACCEL is a usage error naming the variable"
else
	emit "not ok" "vm harness: a bad CELL_VM_ACCEL is a usage error naming the variable (got $rc: $out)"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
