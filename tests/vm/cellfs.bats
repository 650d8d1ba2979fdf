#!/usr/bin/env bats
# cellfs on a pure cgroup2 host: runs inside the test VM (tests/vm/run.sh,
# picked up by tests/suites/vm.sh with the other tests/vm/*.bats).  A
# "container" (own mount and pid namespaces, cellfs files bind-mounted over
# /proc and /sys/devices/system/cpu/online) runs in a child cgroup with
# memory.max 256M, cpuset.cpus 0 and cpu.max "50000 100000", and reads its
# files with busybox cat (sendfile), as container images do.

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
CELLFS=${CELLFS:-$TOP/build/cellfs}

setup() {
	if [ "${CELL_VM:-}" != 1 ] || [ -z "${CELL_VM_CGROUP:-}" ]; then
		echo "not inside the test VM: run through tests/vm/run.sh" >&2
		return 1
	fi
	[ -x "$CELLFS" ] || { echo "no cellfs binary at $CELLFS: run make cellfs on the host" >&2; return 1; }
	MNT=$BATS_TEST_TMPDIR/cellfs
	OUT=$BATS_TEST_TMPDIR/out
	mkdir -p "$MNT" "$OUT"
	cg=
	loop=
	cellfs_pid=
}

teardown() {
	if [ -n "$cg" ] && [ -d "$cg" ]; then
		echo 1 >"$cg/cgroup.kill"
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			rmdir "$cg" 2>/dev/null && break
			sleep 0.2
		done
	fi
	if [ -n "$cellfs_pid" ]; then
		kill -TERM "$cellfs_pid" 2>/dev/null || true
		wait "$cellfs_pid" 2>/dev/null || true
	fi
	while grep -q " $MNT fuse.cellfs " /proc/self/mounts; do umount -l "$MNT" || break; done
	[ -z "$loop" ] || losetup -d "$loop" || true
}

start_cellfs() {
	"$CELLFS" "$MNT" 2>"$BATS_TEST_TMPDIR/cellfs.log" &
	cellfs_pid=$!
	for _ in $(seq 1 200); do
		grep -q " $MNT fuse.cellfs " /proc/self/mounts && head -c1 "$MNT/proc/meminfo" >/dev/null 2>&1 && return 0
		kill -0 "$cellfs_pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "cellfs did not mount $MNT:"
	cat "$BATS_TEST_TMPDIR/cellfs.log"
	return 1
}

# new_cgroup NAME: $CELL_VM_CGROUP/NAME-$$ with the container's limits
new_cgroup() {
	cg=$CELL_VM_CGROUP/$1-$$
	mkdir "$cg"
	echo 256M >"$cg/memory.max"
	echo 0 >"$cg/cpuset.cpus"
	echo "50000 100000" >"$cg/cpu.max"
}

# usage_ticks: the cgroup's user + system CPU time in clock ticks (cpu.stat)
usage_ticks() {
	awk -v hz="$(getconf CLK_TCK)" '$1 == "user_usec" || $1 == "system_usec" { s += $2 }
		END { printf "%d\n", s * hz / 1000000 }' "$cg/cpu.stat"
}

# container SCRIPT: SCRIPT runs in $cg, in new mount and pid namespaces with
# a fresh /proc and the cellfs files bound over /proc and /sys
container() {
	local binds='
		set -e
		for f in meminfo cpuinfo stat diskstats uptime loadavg swaps; do
			mount --bind "$MNT/proc/$f" "/proc/$f"
		done
		mount --bind "$MNT/sys/devices/system/cpu/online" /sys/devices/system/cpu/online
	'
	MNT=$MNT OUT=$OUT LOOP=$loop sh -c 'echo $$ >"$1/cgroup.procs" && shift &&
		exec unshare -m -p --fork --mount-proc sh -c "$1"' sh "$cg" "$binds$1"
}

@test "the guest is cgroup2-only and has more than one CPU (the view must shrink)" {
	[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]
	[ -z "$(awk '$3 == "cgroup"' /proc/self/mounts)" ]
	[ "$(nproc --all)" -ge 2 ]
}

@test "cellfs on cgroup2: a container with 256M, cpuset 0, cpu.max 50000 100000 sees its limits" {
	start_cellfs
	new_cgroup cellfs-limits
	run container '
		busybox cat /proc/meminfo >"$OUT/meminfo"
		busybox cat /proc/cpuinfo >"$OUT/cpuinfo"
		busybox cat /sys/devices/system/cpu/online >"$OUT/online"
		busybox cat /proc/swaps >"$OUT/swaps"
		dd if=/proc/meminfo bs=64k status=none >"$OUT/meminfo.read"
		free -k >"$OUT/free"'
	echo "$output"
	[ "$status" -eq 0 ]
	cat "$OUT/meminfo"
	grep -qx 'MemTotal: *262144 kB' "$OUT/meminfo"
	grep -qx 'MemTotal: *262144 kB' "$OUT/meminfo.read"
	# MemFree is what the cgroup has left, not the guest's
	free=$(awk '$1 == "MemFree:" { print $2 }' "$OUT/meminfo")
	[ "$free" -gt 0 ] && [ "$free" -le 262144 ]
	[ "$(awk '$1 == "Mem:" { print $2 }' "$OUT/free")" -eq 262144 ]
	[ "$(grep -c '^processor' "$OUT/cpuinfo")" -eq 1 ]
	[ "$(grep -c '^processor' /proc/cpuinfo)" -ge 2 ]
	[ "$(cat "$OUT/online")" = 0 ]
	# the host's files are untouched outside the container
	[ "$(grep MemTotal /proc/meminfo)" != "$(grep MemTotal "$OUT/meminfo")" ]
}

@test "cellfs on cgroup2: /proc/stat is the cgroup's own CPU time on its one CPU" {
	start_cellfs
	new_cgroup cellfs-stat
	before=$(usage_ticks)
	run container '
		i=0; while [ $i -lt 2000 ]; do i=$((i + 1)); done   # some CPU time of its own
		busybox cat /proc/stat >"$OUT/stat"'
	[ "$status" -eq 0 ]
	after=$(usage_ticks)
	cat "$OUT/stat"
	[ "$(grep -c '^cpu[0-9]' "$OUT/stat")" -eq 1 ]
	grep -q '^cpu0 ' "$OUT/stat"
	[ "$(grep -c '^cpu[0-9]' /proc/stat)" -ge 2 ]
	# aggregate user + nice + system: within what cpu.stat said around the read
	agg=$(awk '$1 == "cpu" { print $2 + $3 + $4 }' "$OUT/stat")
	host=$(awk '$1 == "cpu" { print $2 + $3 + $4 }' /proc/stat)
	echo "container $agg ticks, cgroup $before..$after, guest $host"
	[ "$agg" -ge $((before > 1 ? before - 1 : 0)) ]
	[ "$agg" -le $((after + 1)) ]
	[ "$agg" -lt "$host" ]
	# the guest's boot time and the container's own processes
	[ "$(grep ^btime "$OUT/stat")" = "$(grep ^btime /proc/stat)" ]
	procs=$(awk '$1 == "processes" { print $2 }' "$OUT/stat")
	[ "$procs" -ge 1 ] && [ "$procs" -le 10 ]
}

@test "cellfs on cgroup2: /proc/diskstats counts only the cgroup's own I/O (io.stat)" {
	modprobe=$(cat /proc/sys/kernel/modprobe)
	[ -e /dev/loop-control ] || "$modprobe" loop
	dd if=/dev/zero of="$BATS_TEST_TMPDIR/disk" bs=1M count=4 status=none
	loop=$(losetup -f --show "$BATS_TEST_TMPDIR/disk")
	dev=${loop#/dev/}
	start_cellfs
	new_cgroup cellfs-io
	# 512 KiB read outside the container, 1 MiB inside
	dd if="$loop" of=/dev/null bs=4k count=128 iflag=direct status=none
	run container '
		dd if="$LOOP" of=/dev/null bs=4k count=256 iflag=direct status=none
		busybox cat /proc/diskstats >"$OUT/diskstats"'
	[ "$status" -eq 0 ]
	cat "$OUT/diskstats"
	grep " $dev " /proc/diskstats
	cat "$cg/io.stat"
	# field 6: sectors read
	[ "$(awk -v d="$dev" '$3 == d { print $6 }' "$OUT/diskstats")" -eq 2048 ]
	[ "$(awk -v d="$dev" '$3 == d { print $6 }' /proc/diskstats)" -ge 3072 ]
	[ "$(awk -v d="$dev" '$3 == d { print $4 }' "$OUT/diskstats")" -ge 1 ]
	# devices the cgroup never touched are not listed
	[ "$(wc -l <"$OUT/diskstats")" -lt "$(wc -l </proc/diskstats)" ]
}
