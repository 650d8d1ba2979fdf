#!/usr/bin/env bats
# Snapshots (storage/snapshot.c over storage/copy.c) of a container's disk:
# taken while it runs, frozen (cell pause) with its filesystem synced, and
# restored exactly (owners, modes, xattrs, hardlinks, sparse files, fifos,
# device nodes), compared with a tree checksum that covers metadata.

load storage

tree() { "$ST" treesum "$1"; }

@test "snapshot: taken from a running, frozen container; restore brings the exact tree back" {
  disk_bundle 128M sleep 300
  cid=$(new_id)
  run_detached "$cid"
  run runtime exec "$cid" sh -c '
    mkdir -p /data/sub && echo hello >/data/f && ln /data/f /data/sub/g &&
    dd if=/dev/zero of=/data/sparse bs=1 count=1 seek=10485760 2>/dev/null &&
    mkfifo /data/p && ln -s /etc/passwd /data/l && chmod 1777 /data/sub && sync'
  [ "$status" -eq 0 ]
  # owners, suid and xattrs from the host (the container lacks CAP_CHOWN)
  python3 -c 'import os, sys
os.chown(sys.argv[1] + "/data/f", 1000, 1001)
os.chmod(sys.argv[1] + "/data/f", 0o4750)
os.lchown(sys.argv[1] + "/data/l", 7, 8)
os.setxattr(sys.argv[1] + "/data/f", "user.note", b"kept")
os.setxattr(sys.argv[1] + "/data/sub", "trusted.overlay.opaque", b"y")
os.mknod(sys.argv[1] + "/data/wh", 0o20000, os.makedev(0, 0))' "$MNT"
  SD=$BATS_TEST_TMPDIR/hstore-snaps
  runtime pause "$cid"
  before=$(tree "$MNT")
  t0=$(date +%s%N)
  "$ST" snap-create "$SD" s1 "$MNT"
  echo "# snapshot of the frozen container: $(( ($(date +%s%N) - t0) / 1000000 )) ms" >&3
  runtime resume "$cid"
  [ "$(tree "$SD/s1/files")" = "$before" ]
  # sparse stays sparse: 10 MiB file, a few KiB allocated
  [ "$(du -k "$SD/s1/files/data/sparse" | cut -f1)" -lt 64 ]
  # change everything, stop, restore
  runtime exec "$cid" sh -c 'rm -rf /data && echo new >/new && chmod 700 /etc && sync'
  [ "$(tree "$MNT")" != "$before" ]
  runtime delete --force "$cid"
  "$ST" snap-restore "$SD" s1 "$MNT"
  [ "$(tree "$MNT")" = "$before" ]
  # the restored tree still works as a root
  in_ct stat -c '%u:%g %a %h' /data/sub/g
  [ "$output" = "1000:1001 4750 2" ]
  run "$ST" snap-list "$SD"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "s1 "* ]]
  "$ST" snap-rm "$SD" s1
  run "$ST" snap-list "$SD"
  [ -z "$output" ]
}

@test "snapshot: bad names, a missing snapshot and a killed create are handled" {
  mkdir -p "$BATS_TEST_TMPDIR/files/a" && echo x >"$BATS_TEST_TMPDIR/files/a/x"
  SD=$BATS_TEST_TMPDIR/hstore-snaps
  run "$ST" snap-create "$SD" ../evil "$BATS_TEST_TMPDIR/files"
  [ "$status" -ne 0 ]
  [[ "$output" == *"snapshot name"* ]]
  run "$ST" snap-restore "$SD" nope "$BATS_TEST_TMPDIR/files"
  [ "$status" -ne 0 ]
  [[ "$output" == *"snapshot nope"* ]]
  # a create killed midway leaves SD/.tmp-NAME; the next command sweeps it
  mkdir -p "$SD/.tmp-s2/files"
  run "$ST" snap-list "$SD"
  [ "$status" -eq 0 ] && [ -z "$output" ]
  [ ! -e "$SD/.tmp-s2" ]
  "$ST" snap-create "$SD" s2 "$BATS_TEST_TMPDIR/files"
  run "$ST" snap-create "$SD" s2 "$BATS_TEST_TMPDIR/files"
  [ "$status" -ne 0 ]
  [[ "$output" == *"File exists"* ]]
}
