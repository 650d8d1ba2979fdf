#!/bin/bash
# cellfs suite: installs its packages, builds the daemon (plain and
# sanitizer builds) and the bench reader, then runs the bats files in
# tests/fsview/ (end to end on this host, sendfile readers, restart survival,
# recreated cgroups, thousands of cgroups under a low fd limit, re-binds after
# the whole cellfs died, upgrades in place,
# valgrind, ASan).  The cgroup v2 end-to-end test, tests/vm/cellfs.bats, runs
# once, in tests/suites/vm.sh (it boots the VM for every tests/vm/*.bats).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
make -s cellfs-deps >&2 || { echo "not ok 1 - cellfs-deps failed"; exit 1; }
if ! make -s cellfs build/bench/readbench >&2 ||
   ! make -s BUILD=build/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" build/asan/cellfs >&2; then
  echo "not ok 1 - building cellfs failed"
  exit 1
fi
exec bats --tap tests/fsview/*.bats
