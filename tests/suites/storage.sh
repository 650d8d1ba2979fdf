#!/bin/bash
# storage suite: installs its packages (e2fsprogs, util-linux, podman, ...),
# builds cell, cellctl and the storage test tool, then runs the bats files in
# tests/storage/: disk quotas on loop-ext4 (df inside, ENOSPC, growth,
# discard, leftovers), snapshots (exact restore, running+frozen), the cellctl
# verbs (snapshot, clone, export -> podman load/run, import) and a smoke run
# of tests/bench/storage.sh.  Every name made carries "hstore".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
make -s storage-deps >&2 || { echo "not ok 1 - storage-deps failed"; exit 1; }
if ! make -s all >&2; then
  echo "not ok 1 - building cell, cellctl and storagetool failed"
  exit 1
fi
exec bats --tap tests/storage/*.bats
