#!/bin/bash
# Stage 2 of the test VM: runs as pid 1 in the guest, on the overlay root
# (host root read-only over 9p, tmpfs upper).  Sets up a cgroup2-only host
# and runs the bats files named in the job file that tests/vm/run.sh wrote
# into the 9p export "out", then writes the TAP, stderr and exit status there
# and powers off.
#
# cgroup layout (see tests/vm/README.md):
#   /sys/fs/cgroup                  every controller in cgroup.subtree_control
#   /sys/fs/cgroup/cell-vm          CELL_VM_CGROUP: no processes, every
#                                   controller enabled; tests create here
#   /sys/fs/cgroup/cell-vm/runner   leaf: bats and the tests run in it
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8
out=/run/cell-vm
cg=/sys/fs/cgroup
cgtest=$cg/cell-vm

log() { echo "cell-vm guest: $*" >&2; }

poweroff_now() {
	sync
	echo o > /proc/sysrq-trigger
	sleep 30
	exit 1 # pid 1 exiting panics the kernel; panic=-1 + -no-reboot ends qemu
}

finish() { # exit status to report
	echo "$1" > "$out/rc.tmp" && mv "$out/rc.tmp" "$out/rc"
	poweroff_now
}

fail() {
	log "$*"
	echo "$*" >> "$out/error"
	finish 125
}

mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run || { log "mount tmpfs /run failed"; poweroff_now; }
mkdir -p "$out"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 out "$out" ||
	{ log "mount 9p tag out on $out failed"; poweroff_now; }
[ -f "$out/job" ] || fail "no job file in the out export"
# shellcheck source=/dev/null
. "$out/job" || fail "cannot read $out/job"

# A project checked out below /tmp (CI may clone there) would be hidden by the
# guest's fresh /tmp: hold it aside and bind it back at the same path.
case "$CELL_VM_PROJECT" in
/tmp/*)
	mkdir -p /.cell-project && mount --bind "$CELL_VM_PROJECT" /.cell-project ||
		fail "hold $CELL_VM_PROJECT aside"
	;;
/run/*) fail "the project may not live below /run: the guest mounts a fresh /run before it reads the job" ;;
esac
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp || fail "mount tmpfs /tmp"
if [ -d /.cell-project ]; then
	mkdir -p "$CELL_VM_PROJECT" && mount --bind /.cell-project "$CELL_VM_PROJECT" ||
		fail "bind $CELL_VM_PROJECT back below the new /tmp"
fi
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o newinstance,gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts || fail "mount devpts"
ln -sf pts/ptmx /dev/ptmx
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm || fail "mount /dev/shm"
mount -t mqueue mqueue /dev/mqueue || fail "mount mqueue"
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
hostname cell-vm
ip link set lo up || fail "ip link set lo up"

# Modules beyond the initramfs: Debian's tree unpacked by image.sh, loaded
# with busybox modprobe, also by the kernel's request_module().
if [ -d "$CELL_VM_MODULES/$(uname -r)" ]; then
	mkdir -p /lib/modules && mount --bind "$CELL_VM_MODULES" /lib/modules || fail "bind $CELL_VM_MODULES on /lib/modules"
	mkdir -p /run/cell-vm-bin
	printf '#!/bin/sh\nexec busybox modprobe "$@"\n' > /run/cell-vm-bin/modprobe
	chmod 755 /run/cell-vm-bin/modprobe
	echo /run/cell-vm-bin/modprobe > /proc/sys/kernel/modprobe
fi

# cgroup2 only, every controller enabled from the root down to CELL_VM_CGROUP.
mount -t cgroup2 -o nsdelegate cgroup2 $cg || fail "mount cgroup2 on $cg"
enable_all() { # cgroup dir
	local c
	for c in $(cat $cg/cgroup.controllers); do
		echo "+$c" > "$1/cgroup.subtree_control" || fail "enable $c in $1/cgroup.subtree_control"
	done
}
enable_all $cg
mkdir -p $cgtest/runner || fail "mkdir $cgtest/runner"
enable_all $cgtest

export CELL_VM=1 CELL_VM_CGROUP=$cgtest
cd "$CELL_VM_CWD" || fail "cd $CELL_VM_CWD"
read -r up _ < /proc/uptime
echo "$up" > "$out/uptime"
log "running bats on ${#CELL_VM_FILES[@]} file(s), ${up}s after the kernel started"
(
	echo "$BASHPID" > $cgtest/runner/cgroup.procs || exit 125
	# CELL_BATS_TIMING=1: each test line ends with its time (tests/suites/vm.sh sets it)
	exec bats --tap ${CELL_BATS_TIMING:+--timing} "${CELL_VM_FILES[@]}"
) > "$out/tap" 2> "$out/stderr" < /dev/null
rc=$?
log "bats exited $rc"
finish "$rc"
