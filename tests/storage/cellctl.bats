#!/usr/bin/env bats
# The storage verbs of cellctl on real environments: a disk quota seen by df
# inside (the disk wired in through the storage_env_disk_* calls that env/
# makes at create/start/stop/destroy: create --disk, set disk=, show), snapshot
# create|list|restore|rm (running+frozen, exact), clone (own hostname and id
# range, exact upper, timing reported), export -> podman load -> podman run,
# import round trip on another --root, and a killed cellctl repaired.

load ../bats/helpers
source "$BATS_TEST_DIRNAME/../images/podman.bash"

ST=${STORAGETOOL:-$CELL_TOP/build/tools/storagetool}

setup_file() {
  local r=$BATS_FILE_TMPDIR/rfs a
  mkdir -p "$r"/{bin,sbin,etc,proc,sys,dev,tmp,run,root,var}
  cp "$(command -v busybox)" "$r/bin/busybox"
  for a in sh ls cat df echo sleep id hostname stat dd rm sync mkdir ln chmod touch mknod; do ln -sf busybox "$r/bin/$a"; done
  for a in init poweroff reboot halt; do ln -sf ../bin/busybox "$r/sbin/$a"; done
  printf '::sysinit:/bin/echo booted\n::respawn:/bin/sleep 100000\n' >"$r/etc/inittab"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
  printf 'root:x:0:\n' >"$r/etc/group"
  "$CELL_TOP/tests/fixtures/mkrootfs.sh" >/dev/null
}

setup() {
  ROOT=$(mktemp -d /tmp/hstore-bats.XXXXXX)
  chmod 0755 "$ROOT"
  RFS=$BATS_FILE_TMPDIR/rfs
  N=hstore$$x$BATS_TEST_NUMBER
}

cc() { timeout -k 5 120 "$CELLCTL" --root "$ROOT" "$@" </dev/null; }
upper() { echo "$ROOT/vps/$1/data/upper"; }

teardown() {
  local n problems= d
  if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -n "${output+x}" ]; then
    echo "# last run: status=${status:-} output: $output" >&2
  fi
  for r in "$ROOT" ${ROOT2:-}; do
    for n in $(ls "$r/vps" 2>/dev/null); do
      timeout -k 5 60 "$CELLCTL" --root "$r" stop --force "$n" >/dev/null 2>&1 </dev/null || true
      "$ST" env-disk-detach "$r/vps/$n" || problems+="disk of $n not detached; "
      timeout -k 5 60 "$CELLCTL" --root "$r" destroy --force "$n" >/dev/null 2>&1 </dev/null || true
    done
    for n in $(ls "$r/vps" 2>/dev/null); do problems+="environment $n left; "; done
    [ -z "$(losetup -j "$r/vps" 2>/dev/null)" ] || problems+="loop devices left; "
    if [ -z "$(mounts_under "$r")" ]; then rm -rf "$r"; else problems+="mounts left: $(mounts_under "$r"); "; fi
  done
  [ -n "${PODMAN_DIR:-}" ] && himg_podman_teardown "$PODMAN_DIR"
  if [ -n "${PM_CG:-}" ]; then
    for d in /sys/fs/cgroup/*"$PM_CG"; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
    for d in /sys/fs/cgroup/*"$PM_CG"; do [ -d "$d" ] && problems+="cgroup $d left; "; done
  fi
  for d in $(find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path "*/cellctl-*/hstore$$x*" 2>/dev/null); do
    problems+="cgroup $d left; "
    remove_cgroup_dir "$d" || true
  done
  if [ -n "$problems" ] && [ -n "${BATS_TEST_COMPLETED:-}" ]; then
    echo "teardown: $problems" >&2
    return 1
  fi
}

# a privileged environment (its root can write through the overlay)
mk_env() { cc create "$1" --rootfs "$RFS" --init busybox --privileged "${@:2}"; }

# df -k / inside: the total in KiB
df_total() { cc exec "$1" -- df -k / | awk 'NR == 2 { print $2 }'; }

# create --disk 64M, df, ENOSPC, set disk= running (live or saved) and
# stopped (offline), show --json, destroy: nothing left.  $@: create options.
disk_roundtrip() {
  local img="$ROOT/vps/$N/disk.img" total t2 mib=1024
  run cc create "$N" --rootfs "$RFS" --init busybox --disk 64M "$@"
  [ "$status" -eq 0 ]
  grep -qx 'disk = 64M' "$ROOT/vps/$N/config"
  [ "$(stat -c %s "$img")" -eq $((64 << 20)) ]
  # (stdout only: the JSON)
  output=$(cc show --json "$N")
  [ "$(echo "$output" | jq -r .storage.method)" = loop-ext4 ]
  [ "$(echo "$output" | jq -r .storage.size)" = $((64 << 20)) ]
  [[ "$(echo "$output" | jq -r .storage.project_quota)" == unavailable* ]] || grep -q prjquota /proc/self/mounts
  [ "$(echo "$output" | jq -r .storage.mounted)" = false ]
  cc start "$N" --wait --timeout 30
  output=$(cc show --json "$N")
  [ "$(echo "$output" | jq -r .storage.mounted)" = true ]
  [[ "$(echo "$output" | jq -r .storage.loop_device)" == /dev/loop* ]]
  [ "$(echo "$output" | jq -r .storage.fs_total)" -gt $((50 << 20)) ]
  run cc show "$N"
  [[ "$output" == *"storage      loop-ext4 64M"* ]]
  # df inside shows the quota; the root (unprivileged too) writes through the overlay into the disk
  total=$(df_total "$N")
  [ "$total" -gt $((64 * mib * 88 / 100)) ] && [ "$total" -le $((64 * mib)) ]
  run cc exec "$N" -- sh -c 'echo w >/w && mkdir -p /root/d && echo v >/root/d/f && cat /w /root/d/f'
  [ "$output" = "$(printf 'w\nv')" ]
  mountpoint -q "$ROOT/vps/$N/data" # the disk, in the host's mount namespace
  [ "$(cat "$ROOT/vps/$N/data/upper/w")" = w ]
  # past the quota: ENOSPC inside, the image (the host's share) stays 64M
  run cc exec "$N" -- sh -c 'dd if=/dev/zero of=/big bs=1M count=100; echo rc=$?'
  [[ "$output" == *"No space left on device"* ]]
  [[ "$output" == *"rc=1"* ]]
  [ "$(stat -c %s "$img")" -eq $((64 << 20)) ]
  [ "$(( $(stat -c %b "$img") * 512 ))" -le $((64 << 20)) ]
  run cc exec "$N" -- sh -c 'rm /big; sync; echo x >/after && cat /after'
  [ "$output" = x ]
  # set disk= while running: live where the kernel allows it, else a note naming the key, saved
  run cc set "$N" disk=96M
  [ "$status" -eq 0 ]
  grep -qx 'disk = 96M' "$ROOT/vps/$N/config"
  if [[ "$output" == *"disk: cannot grow the running environment's disk live"* ]]; then
    [[ "$output" == *CAP_SYS_RESOURCE* ]]
    [[ "$output" == *"stop the environment and set disk again"* ]]
    [ "$(stat -c %s "$img")" -eq $((64 << 20)) ]
    cc stop "$N"
    cc start "$N" --wait --timeout 30 # the saved size: grown offline before the mount
  fi
  [ "$(stat -c %s "$img")" -eq $((96 << 20)) ]
  t2=$(df_total "$N")
  [ "$t2" -gt $((total + 25 * mib)) ] && [ "$t2" -le $((96 * mib)) ]
  # stopped: set grows it offline at once; shrinking is refused and nothing is saved
  cc stop "$N"
  [ -z "$(losetup -j "$img")" ]
  [ -z "$(mounts_under "$ROOT")" ]
  run cc set "$N" disk=128M
  [ "$status" -eq 0 ]
  [ "$(stat -c %s "$img")" -eq $((128 << 20)) ]
  run cc set "$N" disk=32M
  [ "$status" -ne 0 ]
  [[ "$output" == *disk* ]] && [[ "$output" == *shrink* ]]
  grep -qx 'disk = 128M' "$ROOT/vps/$N/config"
  run cc set "$N" disk=max
  [ "$status" -ne 0 ]
  [[ "$output" == *disk* ]]
  cc start "$N" --wait --timeout 30
  # after restarts (a work dir left by the earlier boots) still writable
  run cc exec "$N" -- sh -c 'df -k / | awk "NR == 2 { print \$2 }"; cat /after /root/d/f; echo y >/root/d/y && cat /root/d/y'
  [ "${lines[0]}" -gt $((100 * mib)) ] && [ "${lines[0]}" -le $((128 * mib)) ]
  [ "${lines[1]}" = x ] && [ "${lines[2]}" = v ] && [ "${lines[3]}" = y ]
  # destroy of a running one: no loop device, mount or image left
  run cc destroy --force "$N"
  [ "$status" -eq 0 ]
  [ ! -e "$ROOT/vps/$N" ]
  [ -z "$(losetup -j "$img")" ]
  [ -z "$(losetup -a | grep -F "$ROOT/")" ]
  [ -z "$(mounts_under "$ROOT")" ]
}

@test "cellctl disk: create --disk (privileged): df inside, ENOSPC, set disk= live or saved, offline grow, nothing left" {
  disk_roundtrip --privileged
}

@test "cellctl disk: create --disk (unprivileged): writable inside, df, ENOSPC, set disk=, nothing left" {
  disk_roundtrip
  # a bad size names the option; nothing is left behind
  run cc create "$N" --rootfs "$RFS" --init busybox --disk 1M
  [ "$status" -ne 0 ]
  [[ "$output" == *disk* ]]
  [ ! -e "$ROOT/vps/$N" ]
  [ -z "$(ls -A "$ROOT/vps" 2>/dev/null)" ]
}

@test "cellctl snapshot: create on a running environment (frozen), list, restore exactly when stopped, rm" {
  mk_env "$N"
  cc start "$N" --wait --timeout 30
  run cc exec "$N" -- sh -c 'mkdir -p /root/d && echo one >/root/f && ln /root/f /root/d/g &&
    dd if=/dev/zero of=/root/sparse bs=1 count=1 seek=8388608 2>/dev/null && rm /bin/ls && mknod /root/c c 1 3 && sync'
  [ "$status" -eq 0 ]
  python3 -c 'import os, sys; f = sys.argv[1] + "/root/f"; os.chown(f, 5, 6); os.chmod(f, 0o4710); os.setxattr(f, "user.k", b"v")' "$(upper "$N")"
  before=$("$ST" treesum "$(upper "$N")")
  run cc snapshot create "$N" s1
  [ "$status" -eq 0 ]
  [[ "$output" == *"frozen meanwhile"* ]]
  echo "# $output" >&3
  # thawed again: the environment still runs commands
  run cc exec "$N" -- sh -c 'echo two >/root/f2 && rm -rf /root/d && echo ok'
  [ "$output" = ok ]
  run cc snapshot restore "$N" s1
  [ "$status" -ne 0 ]
  [[ "$output" == *"stop it"* ]]
  cc snapshot create "$N" s2
  run cc --json snapshot list "$N"
  [ "$(echo "$output" | jq -r '.[].name' | tr '\n' ' ')" = "s1 s2 " ]
  cc stop "$N"
  cc snapshot restore "$N" s1
  [ "$("$ST" treesum "$(upper "$N")")" = "$before" ]
  cc start "$N" --wait --timeout 30
  run cc exec "$N" -- sh -c 'cat /root/d/g; ls /root/f2 2>&1; stat -c "%u:%g %a %h" /root/f; ls /bin/ls 2>&1'
  [ "${lines[0]}" = one ]
  [[ "${lines[1]}" == *"No such file"* ]]
  [ "${lines[2]}" = "5:6 4710 2" ]
  [[ "${lines[3]}" == *"No such file"* ]]
  cc snapshot rm "$N" s1
  run cc --json snapshot list "$N"
  [ "$(echo "$output" | jq -r '.[].name')" = s2 ]
  run cc snapshot rm "$N" nope
  [ "$status" -ne 0 ]
  [[ "$output" == *nope* ]]
  run cc snapshot create "$N" ../x
  [ "$status" -eq 2 ]
}

@test "cellctl snapshot: a cellctl killed while the environment is frozen is repaired by the next storage verb" {
  mk_env "$N"
  cc start "$N" --wait --timeout 30
  # what a SIGKILL between freeze and thaw leaves: the marker and a frozen cgroup
  touch "$ROOT/vps/$N/.frozen-by-cellctl"
  "$CELL" --root "$ROOT/run/env" pause "$N"
  [ "$("$CELL" --root "$ROOT/run/env" state "$N" | jq -r .status)" = paused ]
  cc snapshot list "$N"
  [ "$("$CELL" --root "$ROOT/run/env" state "$N" | jq -r .status)" = running ]
  [ ! -e "$ROOT/vps/$N/.frozen-by-cellctl" ]
  # a create killed midway leaves snapshots/.tmp-NAME; list sweeps it
  mkdir -p "$ROOT/vps/$N/snapshots/.tmp-half/files"
  run cc snapshot list "$N"
  [ "$status" -eq 0 ]
  [ ! -e "$ROOT/vps/$N/snapshots/.tmp-half" ]
}

@test "cellctl clone: shares the lower layers, copies the upper exactly, own hostname and id range (time reported)" {
  cc create "$N" --rootfs "$RFS" --init busybox
  up=$(upper "$N")
  mkdir -p "$up/root/big" && for i in $(seq 200); do echo "$i" >"$up/root/big/f$i"; done
  ln "$up/root/big/f1" "$up/root/hard" && mknod "$up/bin/ls" c 0 0 && truncate -s 64M "$up/root/sparse"
  python3 -c 'import os, sys; os.setxattr(sys.argv[1] + "/root/big", "trusted.overlay.opaque", b"y")' "$up"
  run cc clone "$N" "${N}c"
  [ "$status" -eq 0 ]
  echo "# $output" >&3
  [[ "$output" == *"cloned $N to ${N}c in "*" ms"* ]]
  [ "$("$ST" treesum "$(upper "${N}c")")" = "$("$ST" treesum "$up")" ]
  grep -qx "rootfs = $RFS" "$ROOT/vps/${N}c/config" # the same lower layer, not a copy
  a=$(sed -n 's/^idrange = //p' "$ROOT/vps/$N/config")
  b=$(sed -n 's/^idrange = //p' "$ROOT/vps/${N}c/config")
  [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ]
  cc start "${N}c" --wait --timeout 30
  run cc exec "${N}c" -- hostname
  [ "$output" = "${N}c" ]
  run cc exec "${N}c" -- sh -c 'cat /proc/self/uid_map'
  [ "$(echo "$output" | awk '{ print $2 }')" = "$b" ]
  run cc clone "$N" "${N}c"
  [ "$status" -ne 0 ]
  [[ "$output" == *"already exists"* ]]
  run cc clone "$N" "bad/name"
  [ "$status" -eq 2 ]
  # a running source is frozen during the copy, and the clone gets --hostname
  mk_env "${N}r"
  cc start "${N}r" --wait --timeout 30
  run cc exec "${N}r" -- sh -c 'echo live >/root/live && sync'
  run cc clone "${N}r" "${N}s" --hostname hstore-web
  [ "$status" -eq 0 ]
  grep -qx 'hostname = hstore-web' "$ROOT/vps/${N}s/config"
  [ "$(cat "$(upper "${N}s")/root/live")" = live ]
  run cc exec "${N}r" -- echo still-running
  [ "$output" = still-running ]
}

# An image-backed environment, made by importing the busybox rootfs tarball
# (start needs env/ to resolve images; export needs only its config and upper)
mk_image_env() {
  cc import "$CELL_TOP/build/fixtures/busybox-rootfs.tar" "$1" --init busybox --privileged
  local up
  up=$(upper "$1")
  mkdir -p "$up/bin" "$up/etc/hstore"
  echo "changed in $1" >"$up/hstore-added"
  mknod "$up/bin/ls" c 0 0 # deleted in the environment: a whiteout
  echo inner >"$up/etc/hstore/kept"
  python3 -c 'import os, sys; os.setxattr(sys.argv[1] + "/etc", "trusted.overlay.opaque", b"y")' "$up"
  cp "$RFS/etc/passwd" "$up/etc/passwd"
}

@test "cellctl export: an OCI archive that podman loads and runs, with the environment's changes; - streams" {
  mk_image_env "$N"
  t0=$(date +%s%N)
  run cc export "$N" "$BATS_TEST_TMPDIR/hstore.tar"
  [ "$status" -eq 0 ]
  echo "# $output ($(( ($(date +%s%N) - t0) / 1000000 )) ms)" >&3
  timeout 120 "$CELLCTL" --root "$ROOT" export "$N" - >"$BATS_TEST_TMPDIR/hstore-stream.tar" </dev/null
  cmp "$BATS_TEST_TMPDIR/hstore.tar" "$BATS_TEST_TMPDIR/hstore-stream.tar"
  tar tf "$BATS_TEST_TMPDIR/hstore.tar" | grep -qx 'index.json'
  PODMAN_DIR=$(mktemp -d /tmp/hstore-podman.XXXXXX)
  himg_podman_setup "$PODMAN_DIR"
  # cell as podman's runtime, its cgroups below our own (see tests/engines/lib.bash)
  printf 'runtime_supports_json = ["cell"]\n[engine.runtimes]\ncell = ["%s"]\n' "$CELL" >>"$PODMAN_DIR/containers.conf"
  PM_CG=$(awk -F: '{ p = substr($0, length($1 $2) + 3); if (length(p) > length(d)) d = p } END { print d }' \
    /proc/self/cgroup)
  PM_CG=${PM_CG%/}/hstore-pm-$$
  run himg_podman load -i "$BATS_TEST_TMPDIR/hstore.tar"
  [ "$status" -eq 0 ]
  img=$(himg_podman images --format '{{.ID}}' | head -n 1)
  [ -n "$img" ]
  run himg_podman --runtime cell run --rm --network none --cgroup-parent "$PM_CG" "$img" sh -c 'cat /hstore-added; ls /bin/ls 2>&1; cat /etc/hstore/kept; ls /etc/group 2>&1; cat /bin/busybox >/dev/null && echo bb'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "changed in $N" ]
  [[ "${lines[1]}" == *"No such file"* ]] # the whiteout hid it
  [ "${lines[2]}" = inner ]
  [[ "${lines[3]}" == *"No such file"* ]] # the opaque /etc hides the image's /etc/group
  [ "${lines[4]}" = bb ]                  # the image's layers are there
  # a running environment: its files are copied aside while it is frozen
  cc start "$N" --wait --timeout 30
  cc exec "$N" -- sh -c 'echo live >/live && sync'
  run cc export "$N" "$BATS_TEST_TMPDIR/live.tar" --name hstore/live:1
  [ "$status" -eq 0 ]
  [ ! -e "$ROOT/vps/$N/.export-files" ]
  run cc exec "$N" -- echo still-running
  [ "$output" = still-running ]
  himg_podman load -i "$BATS_TEST_TMPDIR/live.tar"
  run himg_podman --runtime cell run --rm --network none --cgroup-parent "$PM_CG" hstore/live:1 cat /live
  [ "$output" = live ]
  run cc export "$N" /nonexistent-dir/x.tar
  [ "$status" -ne 0 ]
  cc create "${N}r" --rootfs "$RFS" --init busybox
  run cc export "${N}r" "$BATS_TEST_TMPDIR/r.tar"
  [ "$status" -ne 0 ]
  [[ "$output" == *"has no image"* ]]
}

@test "cellctl import: an exported environment comes back on another --root (file and stdin)" {
  mk_image_env "$N"
  cc export "$N" "$BATS_TEST_TMPDIR/hstore.tar"
  ROOT2=$(mktemp -d /tmp/hstore-bats2.XXXXXX)
  chmod 0755 "$ROOT2"
  run timeout 120 "$CELLCTL" --root "$ROOT2" import "$BATS_TEST_TMPDIR/hstore.tar" "${N}i" --init busybox
  [ "$status" -eq 0 ]
  grep -qx 'image = sha256:[0-9a-f]*' "$ROOT2/vps/${N}i/config"
  grep -qx 'init = busybox' "$ROOT2/vps/${N}i/config"
  run timeout 60 "$CELLCTL" --root "$ROOT2" --json image ls
  [ "$(echo "$output" | jq length)" -eq 1 ]
  # round trip: the imported image holds the environment's files as its top layer
  img=$(sed -n 's/^image = //p' "$ROOT2/vps/${N}i/config")
  mkdir -p "$BATS_TEST_TMPDIR/flat"
  timeout 60 "$CELLCTL" --root "$ROOT2" image unpack "$img" "$BATS_TEST_TMPDIR/flat/r" </dev/null
  [ "$(cat "$BATS_TEST_TMPDIR/flat/r/hstore-added")" = "changed in $N" ]
  [ ! -e "$BATS_TEST_TMPDIR/flat/r/bin/ls" ]
  [ "$(cat "$BATS_TEST_TMPDIR/flat/r/etc/hstore/kept")" = inner ]
  [ "$(ls "$BATS_TEST_TMPDIR/flat/r/etc" | tr '\n' ' ')" = "hstore passwd " ]
  # the imported environment boots from the image's layers and shows the exported changes
  c2() { timeout -k 5 120 "$CELLCTL" --root "$ROOT2" "$@" </dev/null; }
  c2 start "${N}i" --wait --timeout 30
  run c2 exec "${N}i" -- sh -c 'cat /hstore-added; ls /bin/ls 2>&1; cat /etc/hstore/kept'
  [ "${lines[0]}" = "changed in $N" ]
  [[ "${lines[1]}" == *"No such file"* ]]
  [ "${lines[2]}" = inner ]
  # a clone of it shares the image (both are its users) and has its own files
  c2 clone "${N}i" "${N}k2"
  run c2 --json image inspect "$img"
  [ "$(echo "$output" | jq -r '.users | sort | join(" ")')" = "${N}i ${N}k2" ]
  c2 stop "${N}i"
  # from stdin
  timeout 120 "$CELLCTL" --root "$ROOT2" import - "${N}j" --init busybox <"$BATS_TEST_TMPDIR/hstore.tar"
  [ "$(sed -n 's/^image = //p' "$ROOT2/vps/${N}j/config")" = "$img" ]
  run timeout 60 "$CELLCTL" --root "$ROOT2" import "$BATS_TEST_TMPDIR/nope.tar" "${N}k"
  [ "$status" -ne 0 ]
  [ ! -e "$ROOT2/vps/${N}k" ]
}

# kill_midway CMD... - start cellctl CMD, SIGKILL it after a moment (it may
# have finished by then: the checks after this hold either way).
kill_midway() {
  "$CELLCTL" --root "$ROOT" "$@" </dev/null >/dev/null 2>&1 &
  local pid=$!
  sleep "${KILL_AFTER:-0.15}"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

@test "cellctl: a SIGKILLed snapshot create, restore or clone leaves a state the next command repairs" {
  mk_env "$N"
  up=$(upper "$N")
  mkdir -p "$up/root/data"
  for i in $(seq 64); do head -c 2097152 /dev/zero >"$up/root/data/f$i"; done
  echo v1 >"$up/root/version"
  cc start "$N" --wait --timeout 30
  before=$("$ST" treesum "$up") # (after the first mount: overlayfs adds trusted.overlay.uuid to the upper)
  kill_midway snapshot create "$N" s1
  # the next storage verb thaws the environment and sweeps the half snapshot
  echo "# killed snapshot create left: frozen marker $([ -e "$ROOT/vps/$N/.frozen-by-cellctl" ] && echo yes || echo no)," \
    "$(ls -A "$ROOT/vps/$N/snapshots" 2>/dev/null | tr '\n' ' ')" >&3
  run cc --json snapshot list "$N"
  [ "$status" -eq 0 ]
  [ "$("$CELL" --root "$ROOT/run/env" state "$N" | jq -r .status)" = running ]
  [ ! -e "$ROOT/vps/$N/.frozen-by-cellctl" ]
  [ -z "$(ls -A "$ROOT/vps/$N/snapshots" 2>/dev/null | grep '^\.')" ]
  if [ "$(echo "$output" | jq length)" -eq 1 ]; then # finished before the kill: then exact
    [ "$("$ST" treesum "$ROOT/vps/$N/snapshots/s1/files")" = "$before" ]
    cc snapshot rm "$N" s1
  fi
  cc snapshot create "$N" s1
  cc stop "$N"
  echo v2 >"$up/root/version"
  kill_midway snapshot restore "$N" s1
  # the upper is whole, old or new; a retry restores exactly
  v=$(cat "$up/root/version")
  echo "# killed restore left: version $v, $([ -e "$up.restore" ] && echo "a .restore leftover" || echo "no leftover")" >&3
  [ "$v" = v1 ] || [ "$v" = v2 ]
  cc snapshot restore "$N" s1
  [ "$("$ST" treesum "$up")" = "$before" ]
  [ ! -e "$up.restore" ]
  # clone: the half clone is listed, and a retry (or destroy) repairs it
  kill_midway clone "$N" "${N}c"
  echo "# killed clone left: $([ -e "$ROOT/vps/${N}c/.clone-incomplete" ] && echo "a half clone" || echo "no half clone")" >&3
  run cc list
  [ "$status" -eq 0 ]
  run cc clone "$N" "${N}c"
  [ "$status" -eq 0 ] || [[ "$output" == *"already exists"* ]] # killed after it finished: a whole clone
  [ ! -e "$ROOT/vps/${N}c/.clone-incomplete" ]
  # exact, except that the clone's overlay gets its own identity (no trusted.overlay.uuid copied)
  nouuid() { sed 's/ x:trusted\.overlay\.uuid=[0-9a-f]*//'; }
  [ "$("$ST" treesum "$(upper "${N}c")")" = "$(echo "$before" | nouuid)" ]
  [[ "$before" == *"trusted.overlay.uuid"* ]]
}

@test "cellctl snapshot and clone of a stopped environment with a disk: attached for the copy, detached after" {
  mk_env "$N"
  echo kept >"$(upper "$N")/kept"
  # a disk added to an environment that has files: they move into it
  "$ST" env-disk-create "$ROOT/vps/$N" 48M
  [ ! -e "$(upper "$N")/kept" ] # (the host dir under the mount point is emptied)
  [ -z "$(losetup -j "$ROOT/vps/$N/disk.img")" ]
  cc snapshot create "$N" s1
  [ -z "$(losetup -j "$ROOT/vps/$N/disk.img")" ]
  [ "$(cat "$ROOT/vps/$N/snapshots/s1/files/kept")" = kept ]
  cc clone "$N" "${N}c"
  [ -z "$(losetup -j "$ROOT/vps/$N/disk.img")" ]
  [ -z "$(losetup -j "$ROOT/vps/${N}c/disk.img")" ]
  [ "$(stat -c %s "$ROOT/vps/${N}c/disk.img")" -eq $((48 << 20)) ] # the clone has a disk of the same size
  "$ST" env-disk-attach "$ROOT/vps/${N}c"
  cc start "${N}c" --wait --timeout 30
  run cc exec "${N}c" -- sh -c 'cat /kept; df -k / | awk "NR == 2 { print \$2 }"'
  [ "${lines[0]}" = kept ]
  [ "${lines[1]}" -le $((48 * 1024)) ]
  cc stop "${N}c"
  "$ST" env-disk-detach "$ROOT/vps/${N}c"
  echo changed >"$ROOT/vps/$N/snapshots/s1/files/other" # (not in the env)
  cc snapshot restore "$N" s1
  [ -z "$(losetup -j "$ROOT/vps/$N/disk.img")" ]
  "$ST" env-disk-attach "$ROOT/vps/$N"
  [ "$(cat "$(upper "$N")/kept")" = kept ]
  [ "$(cat "$(upper "$N")/other")" = changed ]
}
