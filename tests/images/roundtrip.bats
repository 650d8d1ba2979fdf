#!/usr/bin/env bats
# Round trips of `cellctl image` with the real tools (run by tests/suites/images.sh; slow):
#   podman save (docker-archive, oci-archive, oci-dir) -> cellctl image import -> cell run of the unpack;
#   cellctl image export (oci, docker) -> podman load -> podman run (runtime cell);
#   an overlayfs of the shared layer dirs as a container's root;
#   docker save (a private dockerd) -> cellctl image import; cellctl export --format docker -> docker load.
# Images are built offline from busybox-static (tests/fixtures/mkrootfs.sh); podman's storage, config and
# blob cache and dockerd's data/exec roots are private dirs under one temp dir (/tmp/himg-suite.*).

bats_require_minimum_version 1.5.0

setup_file() {
  export TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
  export CELL=${CELL:-$TOP/build/cell}
  export CELLCTL=${CELLCTL:-$(dirname "$CELL")/cellctl}
  export T=$(mktemp -d /tmp/himg-suite.XXXXXX)
  export STORE=$T/store
  "$TOP/tests/fixtures/mkrootfs.sh" >/dev/null
  source "$TOP/tests/images/podman.bash"
  himg_podman_setup "$T/podman"
  # container cgroups go below our own (the deepest of our cgroup paths), in a parent named for us
  local line path deepest=/
  while IFS= read -r line; do
    path=${line#*:*:}
    [ ${#path} -gt ${#deepest} ] && deepest=$path
  done </proc/self/cgroup
  export CGP=${deepest%/}/himg-suite-$$
  mkdir -p "$T/ctx/dir"
  echo "hello from himg" >"$T/ctx/hello.txt"
  echo nested >"$T/ctx/dir/nested"
  printf 'FROM localhost/himg/base:1\nCOPY hello.txt /etc/hello.txt\nCOPY dir /opt/dir\n' >"$T/ctx/Containerfile"
  himg_podman import "$TOP/build/fixtures/busybox-rootfs.tar" localhost/himg/base:1 >/dev/null
  himg_podman build -q -t localhost/himg/multi:1 "$T/ctx" >/dev/null
  himg_podman save -o "$T/multi-docker.tar" localhost/himg/multi:1 2>/dev/null
  himg_podman save --format oci-archive -o "$T/multi-oci.tar" localhost/himg/multi:1 2>/dev/null
  himg_podman save --format oci-dir -o "$T/multi-ocidir" localhost/himg/multi:1 2>/dev/null
}

setup() { source "$TOP/tests/images/podman.bash"; }

teardown_file() {
  [ -n "${T:-}" ] || return 0
  source "$TOP/tests/images/podman.bash"
  export CONTAINERS_CONF=$T/podman/containers.conf CONTAINERS_STORAGE_CONF=$T/podman/storage.conf HIMG_PODMAN_DIR=$T/podman
  if [ -s "$T/docker/pid" ]; then
    local p
    p=$(cat "$T/docker/pid")
    kill "$p" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
  fi
  "$CELL" --root "$T/cellroot" list -q 2>/dev/null | while read -r id; do "$CELL" --root "$T/cellroot" delete --force "$id"; done
  grep -o " $T/[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  himg_podman_teardown "$T/podman"
  local mnt
  for mnt in /sys/fs/cgroup/*/; do
    [ -d "$mnt${CGP#/}" ] && find "$mnt${CGP#/}" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  rm -rf "$T"
}

ctl() { timeout -k 5 120 "$CELLCTL" --root "$STORE" "$@"; }

# run_rootfs DIR ID ARGS...: cell runs ARGS in a bundle whose rootfs is DIR (copied or mounted there)
run_in() {
  local rootfs=$1 id=$2 b=$T/bundle-$2
  shift 2
  mkdir -p "$b"
  MKBUNDLE_ROOTFS=$T/empty-rootfs
  mkdir -p "$MKBUNDLE_ROOTFS"
  MKBUNDLE_ROOTFS=$MKBUNDLE_ROOTFS "$TOP/tests/fixtures/mkbundle.sh" "$b" --id "$id" -- "$@" >/dev/null
  rmdir "$b/rootfs"
  ln -s "$rootfs" "$b/rootfs"
  jq '.root.readonly = false' "$b/config.json" >"$b/config.json.new" && mv "$b/config.json.new" "$b/config.json"
  run timeout -k 5 60 "$CELL" --root "$T/cellroot" run --bundle "$b" "$id"
}

@test "podman save (docker-archive) -> cellctl image import -> unpack -> cell run" {
  run ctl image import "$T/multi-docker.tar"
  [ "$status" -eq 0 ]
  [[ "$output" == sha256:* ]]
  run ctl image inspect --json himg/multi:1
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | jq -r '.names[0]')" = "localhost/himg/multi:1" ]
  [ "$(echo "$output" | jq '.layer_list | length')" -eq 3 ]
  ctl image unpack himg/multi:1 "$T/u-docker"
  [ "$(cat "$T/u-docker/opt/dir/nested")" = nested ]
  run_in "$T/u-docker" himg-rt1 sh -c 'cat /etc/hello.txt; ls /opt/dir'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "hello from himg" ]
  [ "${lines[1]}" = nested ]
}

@test "podman save --format oci-archive and oci-dir -> import: same config, layers shared with the docker-archive" {
  ctl image import --name himg/oci:1 "$T/multi-oci.tar"
  ctl image import --name himg/ocidir:1 "$T/multi-ocidir"
  local a b c
  a=$(ctl image inspect --json localhost/himg/multi:1 | jq -c '[.layer_list[].chain_id]')
  b=$(ctl image inspect --json himg/oci:1 | jq -c '[.layer_list[].chain_id]')
  c=$(ctl image inspect --json himg/ocidir:1 | jq -c '[.layer_list[].chain_id]')
  [ "$a" = "$b" ] && [ "$b" = "$c" ]
  # one unpacked dir per chain id, whatever the archive
  [ "$(ls "$STORE/images/layers" | wc -l)" -eq 3 ]
  ctl image unpack himg/oci:1 "$T/u-oci"
  diff -r "$T/u-oci" "$T/u-docker"
}

@test "a new rootfs from the cached image: overlayfs of the shared layers + an upper dir, run by cell" {
  local lower m=$T/ovl/merged
  lower=$(ctl image inspect --json himg/oci:1 | jq -r --arg s "$STORE/images/layers/" \
    '[.layer_list[].chain_id[7:]] | reverse | map($s + .) | join(":")')
  mkdir -p "$T/ovl/upper" "$T/ovl/work" "$m"
  mount -t overlay himg-ovl -o "lowerdir=$lower,upperdir=$T/ovl/upper,workdir=$T/ovl/work" "$m"
  run_in "$m" himg-rt2 sh -c 'cat /etc/hello.txt; echo himg-changed-7f3 > /opt/dir/nested; rm /etc/hello.txt'
  umount "$m"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "hello from himg" ]
  # the change is in the upper dir; the shared layers are untouched
  [ "$(cat "$T/ovl/upper/opt/dir/nested")" = himg-changed-7f3 ]
  [ -c "$T/ovl/upper/etc/hello.txt" ]
  [ -z "$(grep -rl himg-changed-7f3 "$STORE/images/layers")" ]
  [ -n "$(find "$STORE/images/layers" -path '*/etc/hello.txt' -type f)" ]
  # and export --add-layer turns that upper dir into an image podman runs
  ctl image export --add-layer "$T/ovl/upper" --name localhost/himg/child:1 himg/oci:1 "$T/child.tar"
  himg_podman load -i "$T/child.tar"
  run himg_podman --runtime "$CELL" run --rm --cgroup-parent "$CGP" localhost/himg/child:1 sh -c 'cat /opt/dir/nested; ls /etc/hello.txt'
  echo "$output"
  [ "${lines[0]}" = himg-changed-7f3 ]
  [[ "$output" == *"No such file"* ]]
}

@test "cellctl image export (oci-archive) -> podman load -> podman run" {
  ctl image export --name localhost/himg/exp:oci himg/oci:1 "$T/exp-oci.tar"
  run himg_podman load -i "$T/exp-oci.tar"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"localhost/himg/exp:oci"* ]]
  run himg_podman --runtime "$CELL" run --rm --cgroup-parent "$CGP" localhost/himg/exp:oci cat /etc/hello.txt
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "hello from himg" ]
}

@test "cellctl image export --format docker -> podman load -> podman run" {
  ctl image export --format docker --name localhost/himg/exp:docker himg/multi:1 "$T/exp-docker.tar"
  run himg_podman load -i "$T/exp-docker.tar"
  echo "$output"
  [ "$status" -eq 0 ]
  run himg_podman --runtime "$CELL" run --rm --cgroup-parent "$CGP" localhost/himg/exp:docker cat /opt/dir/nested
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = nested ]
}

@test "a plain rootfs tarball (.tar.zst) imports and runs" {
  zstd -q -c "$TOP/build/fixtures/busybox-rootfs.tar" >"$T/rootfs.tar.zst"
  ctl image import --name himg/plain:zst "$T/rootfs.tar.zst"
  run ctl image inspect --json himg/plain:zst
  [ "$(echo "$output" | jq -r '.layer_list[0].mediaType')" = "application/vnd.oci.image.layer.v1.tar+zstd" ]
  ctl image unpack himg/plain:zst "$T/u-zst"
  run_in "$T/u-zst" himg-rt3 busybox echo zst-ok
  [ "$status" -eq 0 ]
  [ "$output" = zst-ok ]
}

@test "docker save (private dockerd) -> cellctl image import; cellctl export --format docker -> docker load" {
  local d=$T/docker
  mkdir -p "$d"
  echo '{}' >"$d/daemon.json"
  dockerd --config-file "$d/daemon.json" --data-root "$d/root" --exec-root "$d/exec" --pidfile "$d/pid" \
    -H "unix://$d/sock" --bridge=none --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false \
    --storage-driver vfs --exec-opt native.cgroupdriver=cgroupfs >"$d/log" 2>&1 &
  local i
  for i in $(seq 100); do
    docker -H "unix://$d/sock" version >/dev/null 2>&1 && break
    sleep 0.2
  done
  docker -H "unix://$d/sock" version >/dev/null || { tail -20 "$d/log"; false; }
  docker -H "unix://$d/sock" load -i "$T/multi-docker.tar"
  docker -H "unix://$d/sock" save -o "$T/docker-saved.tar" localhost/himg/multi:1
  run ctl image import --name himg/fromdocker:1 "$T/docker-saved.tar"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(ctl image inspect --json himg/fromdocker:1 | jq -c '[.layer_list[].chain_id]')" = \
    "$(ctl image inspect --json himg/multi:1 | jq -c '[.layer_list[].chain_id]')" ]
  ctl image unpack himg/fromdocker:1 "$T/u-fromdocker"
  diff -r "$T/u-fromdocker" "$T/u-docker"
  ctl image export --format docker --name himg/back:1 himg/oci:1 "$T/back.tar"
  run docker -H "unix://$d/sock" load -i "$T/back.tar"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"himg/back:1"* ]]
  [ "$(docker -H "unix://$d/sock" image inspect -f '{{len .RootFS.Layers}}' himg/back:1)" -eq 3 ]
}
