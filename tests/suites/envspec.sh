#!/bin/bash
# envspec suite: the environment's OCI spec (env/spec.c) boots real inits
# under `cell run -d` on this host: the Debian 12 systemd rootfs
# (tests/lib/rootfs-cache.sh, cached under build/cache/) to
# `systemctl is-system-running` = running, unprivileged and privileged, and
# the busybox init (tests/lib/busybox-rootfs.sh).  Prints TAP.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
if ! make -s envspec-deps >&2 || ! make -s build/cell build/tools/envspec >&2; then
  echo "not ok 1 - envspec: make envspec-deps / build/tools/envspec failed"
  echo "1..1"
  exit 1
fi
exec bats --tap tests/envspec/*.bats
