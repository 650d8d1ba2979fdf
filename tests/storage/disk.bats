#!/usr/bin/env bats
# Disk quotas as a sparse ext4 image on a loop device (storage/disk.c): df
# inside a container shows the quota, ENOSPC at the limit with the host
# unharmed, growth, space handed back after a delete, and nothing left behind.

load storage

@test "disk: a sparse image, quota method loop-ext4, project quota probed" {
  run "$ST" disk-create "$IMG" 64M
  [ "$status" -eq 0 ]
  [ "$(stat -c %s "$IMG")" -eq $((64 << 20)) ]
  # sparse: far less allocated than its size
  [ "$(allocated_kb "$IMG")" -lt $((32 << 10)) ]
  run "$ST" quota-method "$BATS_TEST_TMPDIR"
  [ "$status" -eq 0 ]
  [[ "$output" == *"method=loop-ext4"* ]]
  [[ "$output" == *"project_quota="* ]]
  # this kernel has no ext4 project quota: reported, not assumed
  if ! grep -q prjquota /proc/self/mounts; then [[ "$output" == *"project_quota=unavailable"* ]]; fi
}

@test "disk: bad sizes are refused and leave no file" {
  run "$ST" disk-create "$IMG" 1M
  [ "$status" -ne 0 ]
  [[ "$output" == *"below the minimum"* ]]
  [ ! -e "$IMG" ]
  run "$ST" disk-create "$IMG" 12Q
  [ "$status" -ne 0 ]
  [[ "$output" == *"unknown unit"* ]]
  [ ! -e "$IMG" ]
}

@test "disk: df inside the container shows the quota and the real use" {
  disk_bundle 96M
  run "$ST" disk-info "$IMG" "$MNT"
  total_kb=$(( $(echo "$output" | sed -n 's/^fs_total=//p') / 1024 ))
  in_ct df -k /
  [ "$status" -eq 0 ]
  [ "$(df_field "$(echo "$output" | tail -n 2)" 2)" -eq "$total_kb" ]
  # within 3% of the requested size, and not the host's disk
  [ "$total_kb" -gt $((96 * 1024 * 90 / 100)) ]
  [ "$total_kb" -le $((96 * 1024)) ]
  in_ct sh -c 'dd if=/dev/zero of=/f bs=1M count=20 2>/dev/null; sync; df -k / | tail -n 1'
  [ "$status" -eq 0 ]
  used=$(echo "$output" | awk '{ print $3 }')
  [ "$used" -ge $((20 * 1024)) ]
}

@test "disk: writes beyond the quota fail with ENOSPC inside, the host is unharmed" {
  disk_bundle 48M
  host_free_before=$(df -k --output=avail "$BATS_TEST_TMPDIR" | tail -n 1)
  in_ct sh -c 'dd if=/dev/zero of=/big bs=1M count=200; echo "dd=$?"'
  [[ "$output" == *"No space left on device"* ]]
  [[ "$output" == *"dd=1"* ]]
  # the image never outgrows its quota on the host
  [ "$(stat -c %s "$IMG")" -eq $((48 << 20)) ]
  [ "$(allocated_kb "$IMG")" -le $((48 * 1024)) ]
  host_free_after=$(df -k --output=avail "$BATS_TEST_TMPDIR" | tail -n 1)
  [ $((host_free_before - host_free_after)) -lt $((48 * 1024 + 65536)) ]
  echo ok >"$BATS_TEST_TMPDIR/host-still-writable"
  # the container's filesystem still works after ENOSPC: delete and write
  in_ct sh -c 'rm /big && echo again >/small && cat /small'
  [ "$status" -eq 0 ]
  [[ "$output" == *again* ]]
}

@test "disk: growth is visible in df (online with CAP_SYS_RESOURCE, else refused live and done offline)" {
  disk_bundle 64M sleep 60
  cid=$(new_id)
  run_detached "$cid"
  run runtime exec "$cid" df -k /
  before=$(df_field "$output" 2)
  run "$ST" disk-grow "$IMG" "$MNT" 128M
  if has_cap_sys_resource; then
    [ "$status" -eq 0 ]
    run runtime exec "$cid" df -k /
    after=$(df_field "$output" 2)
    [ "$after" -gt $((before + 50 * 1024)) ]
  else
    # the kernel's online resize needs CAP_SYS_RESOURCE, which root lacks here
    [ "$status" -ne 0 ]
    [[ "$output" == *"needs CAP_SYS_RESOURCE"* ]]
    [ "$(stat -c %s "$IMG")" -eq $((64 << 20)) ] # the file was put back
    run runtime exec "$cid" df -k /
    [ "$(df_field "$output" 2)" -eq "$before" ] # and the running container is unharmed
    runtime delete --force "$cid"
    "$ST" disk-umount "$IMG" "$MNT"
    run "$ST" disk-grow "$IMG" "$MNT" 128M
    [ "$status" -eq 0 ]
    "$ST" disk-mount "$IMG" "$MNT"
    in_ct df -k /
    after=$(df_field "$(echo "$output" | tail -n 2)" 2)
    [ "$after" -gt $((before + 50 * 1024)) ]
    [ -f "$MNT/bin/busybox" ] # the files survived the resize
  fi
  [ "$(stat -c %s "$IMG")" -eq $((128 << 20)) ]
  run "$ST" disk-grow "$IMG" "$MNT" 100M
  [ "$status" -ne 0 ]
  [[ "$output" == *"cannot shrink"* ]]
}

@test "disk: deleted files hand their space back to the host (discard punches holes)" {
  disk_bundle 128M
  base=$(allocated_kb "$IMG")
  in_ct sh -c 'dd if=/dev/urandom of=/data bs=1M count=48 2>/dev/null && sync'
  [ "$status" -eq 0 ]
  full=$(allocated_kb "$IMG")
  echo "# allocated: $base KiB empty, $full KiB with 48 MiB written" >&3
  [ "$full" -ge $((base + 40 * 1024)) ]
  in_ct sh -c 'rm /data && sync'
  [ "$status" -eq 0 ]
  # online discard happens at the journal commit that frees the blocks
  wait_for -t 30 eval 'sync -f "$MNT"; [ "$(allocated_kb "$IMG")" -lt $((base + 8 * 1024)) ]'
  echo "# after the delete: $(allocated_kb "$IMG") KiB" >&3
}

@test "disk: unmount detaches the loop device; a leftover loop device is repaired" {
  disk_bundle 32M
  dev=$("$ST" loop-find "$IMG")
  [[ "$dev" == /dev/loop* ]]
  [ "$(loops_of "$IMG")" = "$dev" ]
  "$ST" disk-umount "$IMG" "$MNT"
  [ -z "$(loops_of "$IMG")" ]
  [ -z "$(mounts_under "$MNT")" ]
  # a command killed between attaching and mounting leaves a bound loop device
  losetup -f "$IMG"
  [ -n "$(loops_of "$IMG")" ]
  "$ST" disk-mount "$IMG" "$MNT" # repairs: detaches the leftover, mounts afresh
  [ "$(loops_of "$IMG" | wc -l)" -eq 1 ]
  run "$ST" disk-mount "$IMG" "$MNT" # mounted already: a no-op
  [ "$status" -eq 0 ]
  [ "$(grep -c " $MNT " /proc/self/mounts)" -eq 1 ]
  "$ST" disk-umount "$IMG" "$MNT"
  losetup -f "$IMG"
  "$ST" disk-umount "$IMG" "$MNT" # a leftover without a mount is detached too
  [ -z "$(loops_of "$IMG")" ]
  rm "$IMG"
  [ -z "$(mounts_under "$BATS_TEST_TMPDIR")" ]
}
