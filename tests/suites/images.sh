#!/bin/bash
# images.sh - round trips of `cellctl image` with podman, docker and cell (TAP; slow, `make check` only):
# tests/images/roundtrip.bats.  The fast hostile-archive corpus is tests/bats/images.bats.
# Env: CELL = cell binary under test (default build/cell); cellctl is taken beside it.
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top" || exit 1
export CELL=${CELL:-$top/build/cell}
export CELLCTL=${CELLCTL:-$(dirname "$CELL")/cellctl}
exec bats --tap tests/images/roundtrip.bats
