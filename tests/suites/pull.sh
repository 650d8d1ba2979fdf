#!/bin/bash
# pull suite: `cellctl image pull` against Debian's docker-registry with a
# token server on 127.0.0.1 (tests/pull/pull.bats), and `cellctl image
# bootstrap` of Debian bookworm with mmdebstrap, cached under build/cache
# (tests/pull/bootstrap.bats).  Installs its packages, builds cellctl and the
# pull_layers helper.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
make -s pull-deps >&2 || { echo "not ok 1 - pull-deps failed"; exit 1; }
if ! make -s all build/tools/pull_layers >&2; then
  echo "not ok 1 - building cellctl failed"
  exit 1
fi
exec bats --tap tests/pull/*.bats
