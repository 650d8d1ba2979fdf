# storage.bash - shared setup of the storage bats files (tests/storage/):
# the runtime helpers of tests/bats/helpers.bash plus a disk image ($IMG) and
# its mount point ($MNT) per test, named "hstore", that teardown unmounts and
# detaches, failing the test when a loop device or mount was left behind.
load ../bats/helpers

ST=${STORAGETOOL:-$CELL_TOP/build/tools/storagetool}

storage_setup() {
  cell_setup
  [ -x "$ST" ] || { echo "storagetool not found: $ST (make all)" >&2; return 1; }
  IMG=$BATS_TEST_TMPDIR/hstore-disk.img
  MNT=$BATS_TEST_TMPDIR/hstore-mnt
  mkdir -p "$MNT"
}

# loops_of IMAGE - the loop devices still bound to IMAGE.
loops_of() { losetup -nO NAME -j "$1" 2>/dev/null; }

storage_teardown() {
  local problems= id
  # containers first (they hold the disk), then the disk, then the rest
  if [ -f "$BATS_TEST_TMPDIR/ids" ]; then
    while read -r id; do
      [ -n "$id" ] && timeout -k 5 30 "$CELL" --root "$ROOT" delete --force "$id" </dev/null >/dev/null 2>&1
    done <"$BATS_TEST_TMPDIR/ids"
  fi
  if [ -n "${IMG:-}" ] && [ -e "$IMG" ]; then
    "$ST" disk-umount "$IMG" "$MNT" || problems+="disk-umount failed; "
    if [ -n "$(loops_of "$IMG")" ]; then
      problems+="loop device left: $(loops_of "$IMG"); "
      for d in $(loops_of "$IMG"); do losetup -d "$d" || true; done
    fi
  fi
  cell_teardown || problems+="runtime teardown failed; "
  if [ -n "$problems" ]; then
    echo "storage teardown: $problems" >&2
    return 1
  fi
}

setup() { storage_setup; }
teardown() { storage_teardown; }

# disk_bundle SIZE ARGS... - $IMG of SIZE mounted on $MNT holding the busybox
# rootfs, and $BUNDLE's config using $MNT (writable) as its root.
disk_bundle() {
  local size=$1; shift
  "$ST" disk-create "$IMG" "$size"
  "$ST" disk-mount "$IMG" "$MNT"
  cp -a "$BUNDLE/rootfs/." "$MNT/"
  jq '.root = {path: $m, readonly: false} | .process.args = $ARGS.positional' --arg m "$MNT" --args -- "$@" \
    <"$BUNDLE/config.json" >"$BUNDLE/config.json.new" && mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
}

# in_ct ARGS... - run ARGS in a fresh container over $BUNDLE (foreground);
# sets $status/$output like bats' run.
in_ct() {
  local id
  id=$(new_id)
  jq '.process.args = $ARGS.positional' --args -- "$@" <"$BUNDLE/config.json" >"$BUNDLE/config.json.new" &&
    mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
  run timeout -k 5 60 "$CELL" --root "$ROOT" run --bundle "$BUNDLE" "$id" </dev/null
}

# kb_field LINE N - the Nth field of df -k's data line.
df_field() { echo "$1" | awk -v n="$2" 'NR == 2 { print $n }'; }

allocated_kb() { du -k "$1" | cut -f1; }

has_cap_sys_resource() { # bit 24 of CapEff
  local eff
  eff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
  (( (16#$eff >> 24) & 1 ))
}
