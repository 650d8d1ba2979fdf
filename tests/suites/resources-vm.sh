#!/bin/bash
# Resource limits on pure cgroup v2: boots the test VM (tests/vm/run.sh) and
# runs tests/vm/resources.bats in it; prints the guest's TAP.  Full mode only
# (a boot under TCG plus the suite takes 4-6 minutes).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
if ! make -s vm-deps >&2; then
  echo "1..1"
  echo "not ok 1 - resources-vm: make vm-deps failed (qemu-system-x86, busybox-static, bats)"
  exit 1
fi
# the guest sees the host's root read-only: build the rootfs fixture here
if ! tests/fixtures/mkrootfs.sh >/dev/null; then
  echo "1..1"
  echo "not ok 1 - resources-vm: tests/fixtures/mkrootfs.sh failed"
  exit 1
fi
export CELL=${CELL:-$top/build/cell}
tests/vm/run.sh tests/vm/resources.bats
rc=$?
case $rc in
  0 | 1) exit "$rc" ;;
  *) echo "not ok - resources-vm: tests/vm/run.sh exited $rc (124 = guest timeout, 125 = boot/setup failure)"; exit 1 ;;
esac
