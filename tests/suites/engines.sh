#!/bin/bash
# Engine scenarios (tests/engines/*.bats): podman, containerd/ctr and dockerd
# driving the runtime $CELL, plus the engines' captured configs
# (tests/fixtures/engine-configs) run directly.  Prints TAP.  Full mode only.
#   CELL=/usr/sbin/runc bash tests/suites/engines.sh    runs them against runc
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export CELL=${CELL:-$top/build/cell}
if ! make -s -C "$top" engines-deps >&2; then
  echo "1..1"
  echo "not ok 1 - make engines-deps (installing podman, containerd, docker.io ...) failed"
  exit 1
fi
# backstop for a test that hangs despite the per-command timeouts
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-300}
exec bats --tap --timing "$top"/tests/engines/*.bats
