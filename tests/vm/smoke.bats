#!/usr/bin/env bats
# Runs inside the test VM (tests/vm/run.sh, make test-vm): proves the guest is
# a cgroup2-only host with every controller usable below CELL_VM_CGROUP, and
# that the kernel features later suites need (fuse, veth, bridge, overlay,
# loopback) work.

CONTROLLERS="cpuset cpu io memory hugetlb pids"

setup() {
	if [ "${CELL_VM:-}" != 1 ] || [ -z "${CELL_VM_CGROUP:-}" ]; then
		echo "not inside the test VM: run through tests/vm/run.sh" >&2
		return 1
	fi
	cg=
}

teardown() {
	if [ -n "$cg" ] && [ -d "$cg" ]; then
		echo 1 > "$cg/cgroup.kill"
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			rmdir "$cg" 2>/dev/null && break
			sleep 0.2
		done
	fi
}

# new_cgroup NAME: creates $CELL_VM_CGROUP/NAME-$$ and sets $cg to it
new_cgroup() {
	cg=$CELL_VM_CGROUP/$1-$$
	mkdir "$cg"
}

@test "cgroup2 is mounted at /sys/fs/cgroup and no v1 hierarchy is" {
	[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]
	run awk '$2 == "/sys/fs/cgroup" && $3 == "cgroup2"' /proc/self/mounts
	[ "${#lines[@]}" -eq 1 ]
	run awk '$3 == "cgroup"' /proc/self/mounts
	[ -z "$output" ]
}

@test "the root enables cpuset cpu io memory hugetlb pids and every other controller" {
	read -r -a offered < /sys/fs/cgroup/cgroup.controllers
	read -r -a enabled < /sys/fs/cgroup/cgroup.subtree_control
	for c in $CONTROLLERS; do
		[[ " ${offered[*]} " == *" $c "* ]] || { echo "kernel lacks $c" >&2; false; }
	done
	[ "${enabled[*]}" = "${offered[*]}" ]
}

@test "tests run in a leaf cgroup whose parent CELL_VM_CGROUP delegates every controller" {
	own=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)
	[ "$(dirname "$own")" = "$CELL_VM_CGROUP" ]
	[ -z "$(cat "$own/cgroup.subtree_control")" ]
	[ -z "$(cat "$CELL_VM_CGROUP/cgroup.procs")" ]
	[ "$(cat "$CELL_VM_CGROUP/cgroup.subtree_control")" = "$(cat /sys/fs/cgroup/cgroup.controllers)" ]
}

@test "a child cgroup's memory.max OOM-kills a process allocating past it" {
	new_cgroup oom
	echo 32M > "$cg/memory.max"
	[ "$(cat "$cg/memory.max")" = 33554432 ]
	if [ -f "$cg/memory.swap.max" ]; then echo 0 > "$cg/memory.swap.max"; fi
	# dd touches its whole 128 MiB buffer
	run sh -c "echo \$\$ > $cg/cgroup.procs && exec dd if=/dev/zero of=/dev/null bs=128M count=1"
	[ "$status" -eq 137 ]
	kills=$(awk '$1 == "oom_kill" {print $2}' "$cg/memory.events")
	[ "$kills" -ge 1 ]
	# the same allocation fits once the limit is lifted
	echo max > "$cg/memory.max"
	run sh -c "echo \$\$ > $cg/cgroup.procs && exec dd if=/dev/zero of=/dev/null bs=128M count=1"
	[ "$status" -eq 0 ]
	[ "$(awk '$1 == "oom_kill" {print $2}' "$cg/memory.events")" -eq "$kills" ]
}

@test "a child cgroup's pids.max makes fork fail" {
	new_cgroup pids
	echo 3 > "$cg/pids.max"
	# dash exits 2 on its first failed fork: four sleepers need five pids
	run /bin/dash -c "echo \$\$ > $cg/cgroup.procs || exit 9
		for i in 1 2 3 4; do sleep 30 > /dev/null 2>&1 & done"
	[ "$status" -eq 2 ]
	[[ "$output" == *"fork"* ]]
	[ "$(awk '$1 == "max" {print $2}' "$cg/pids.events")" -ge 1 ]
	[ "$(cat "$cg/pids.current")" -le 3 ]
}

@test "cpu, cpuset, io and hugetlb files are writable in a child cgroup" {
	new_cgroup ctl
	echo "50000 100000" > "$cg/cpu.max"
	[ "$(cat "$cg/cpu.max")" = "50000 100000" ]
	echo 0 > "$cg/cpuset.cpus"
	[ "$(cat "$cg/cpuset.cpus.effective")" = 0 ]
	# io.max comes from blk-throttle (CONFIG_BLK_DEV_THROTTLING)
	[ -f "$cg/io.stat" ]
	[ -f "$cg/io.max" ]
	echo 0 > "$cg/hugetlb.2MB.max"
	[ "$(cat "$cg/hugetlb.2MB.max")" = 0 ]
}

@test "/dev/fuse can be opened" {
	grep -qw fuse /proc/filesystems
	[ -c /dev/fuse ]
	# bats owns fd 3: open in a child shell
	run sh -c 'exec 5<> /dev/fuse && echo opened'
	[ "$status" -eq 0 ]
	[ "$output" = opened ]
}

@test "a veth pair attached to a bridge works in a new network namespace" {
	run unshare -n sh -ec '
		ip link add cva type veth peer name cvb
		ip link add cbr type bridge
		ip link set cva master cbr
		ip link set cva up; ip link set cvb up; ip link set cbr up
		ip -o link show cva'
	[ "$status" -eq 0 ]
	[[ "$output" == *"cva@cvb"*"master cbr"* ]]
}

@test "overlayfs mounts with an upper dir on tmpfs" {
	d=$BATS_TEST_TMPDIR
	[ "$(stat -f -c %T "$d")" = tmpfs ]
	mkdir "$d/lower" "$d/upper" "$d/work" "$d/merged"
	echo old > "$d/lower/f"
	run unshare -m sh -ec "
		mount -t overlay -o lowerdir=$d/lower,upperdir=$d/upper,workdir=$d/work ov $d/merged
		echo new > $d/merged/f
		cat $d/merged/f"
	[ "$status" -eq 0 ]
	[ "$output" = new ]
	[ "$(cat "$d/upper/f")" = new ]
	[ "$(cat "$d/lower/f")" = old ]
}

@test "loopback is up and answers" {
	[[ "$(ip -o link show lo)" == *"<LOOPBACK,UP,LOWER_UP>"* ]]
	[[ "$(ip -o addr show lo)" == *"127.0.0.1/8"* ]]
	busybox ping -c 1 -W 2 127.0.0.1
}

@test "the project is at its host path on a writable overlay root" {
	[ -f "$CELL_VM_PROJECT/tests/vm/run.sh" ]
	[ "$(stat -f -c %T /)" = overlayfs ]
	echo guest > "$CELL_VM_PROJECT/build/.vm-smoke-write-$$"
	[ "$(cat "$CELL_VM_PROJECT/build/.vm-smoke-write-$$")" = guest ]
}
