#!/bin/bash
# env.sh - the slow cellctl environment tests (TAP): a Debian 12 systemd
# environment (the rootfs from tests/lib/rootfs-cache.sh, cached under
# build/cache) boots to `running` unprivileged and privileged, stops within
# its timeout, reboots and powers off from inside, is entered through a pty
# (script); 50 busybox environments start at once.
# Env: CELL (default build/cell; cellctl is next to it).
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top" || exit 1
export CELL=${CELL:-$top/build/cell}
exec bats --tap tests/env/systemd.bats tests/env/many.bats
