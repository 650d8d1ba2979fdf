#!/usr/bin/env bats
# build.bats - the build's version stamping and `make install` (programs and
# man pages).  These check the tree's own build/ (not $CELL): run after make.

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

@test "cell and cellfs --version show the VERSION file and the commit built from" {
  want=$(cat "$TOP/VERSION")
  commit=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)
  # a HEAD that moved since the last build relinks both with the new commit
  make -s -C "$TOP" build/cell build/cellfs >/dev/null
  run "$TOP/build/cell" --version
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "cell version $want" ]
  [ "${lines[1]}" = "commit: $commit" ]
  run "$TOP/build/cellfs" --version
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "cellfs version $want" ]
  [ "${lines[1]}" = "commit: $commit" ]
}

@test "build/version.h is rewritten only when the version or the commit changes" {
  b=$BATS_TEST_TMPDIR/b
  cd "$TOP"
  make -s BUILD="$b" CELL_COMMIT=aaaa1111 "$b/version.h"
  grep -qx '#define CELL_COMMIT "aaaa1111"' "$b/version.h"
  grep -qx "#define CELL_VERSION \"$(cat VERSION)\"" "$b/version.h"
  t1=$(stat -c %y "$b/version.h")
  sleep 0.05
  make -s BUILD="$b" CELL_COMMIT=aaaa1111 "$b/version.h"
  [ "$(stat -c %y "$b/version.h")" = "$t1" ]
  make -s BUILD="$b" CELL_COMMIT=bbbb2222 "$b/version.h"
  grep -qx '#define CELL_COMMIT "bbbb2222"' "$b/version.h"
  [ "$(stat -c %y "$b/version.h")" != "$t1" ]
  # both main.o (and cell's features.o, which prints the version) depend on
  # it, so a new commit rebuilds them
  run make -n BUILD="$b" CELL_COMMIT=cccc3333 "$b/obj/cmd/cell/main.o" "$b/obj/cmd/cellfs/main.o" \
    "$b/obj/cmd/cell/features.o"
  [[ "$output" == *"-include $b/version.h"*"cmd/cell/main.c"* ]]
  [[ "$output" == *"-include $b/version.h"*"cmd/cellfs/main.c"* ]]
  [[ "$output" == *"-include $b/version.h"*"cmd/cell/features.c"* ]]
}

@test "make install puts cell, cellfs and their man pages under DESTDIR" {
  d=$BATS_TEST_TMPDIR/root
  cd "$TOP"
  make -s install DESTDIR="$d" PREFIX=/usr >/dev/null
  [ -x "$d/usr/bin/cell" ]
  [ -x "$d/usr/bin/cellfs" ]
  "$d/usr/bin/cell" --version | grep -q "^cell version $(cat VERSION)$"
  for p in cell cellfs; do
    f=$d/usr/share/man/man8/$p.8
    [ -s "$f" ]
    grep -q "^\.TH $(echo $p | tr a-z A-Z) \"8\"" "$f"
  done
  # generated from --help: the options are there
  grep -q -- '\\-\\-root' "$d/usr/share/man/man8/cell.8"
  grep -q 'update' "$d/usr/share/man/man8/cell.8"
  grep -q -- 'cache\\-ms' "$d/usr/share/man/man8/cellfs.8"
  grep -q -- 'no\\-quota\\-view' "$d/usr/share/man/man8/cellfs.8"
}
