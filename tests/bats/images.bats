#!/usr/bin/env bats
# cellctl image: the hostile-archive corpus (tests/images/mkhostile.py, built at test time) and the
# store's behaviour (layers per chain id, whiteouts, users, debris, concurrent imports).  Fast: no
# podman, no network; round trips with real tools are in tests/suites/images.sh.

load helpers

setup_file() {
  export HIMG_CORPUS=$BATS_FILE_TMPDIR/corpus
  python3 "$CELL_TOP/tests/images/mkhostile.py" "$HIMG_CORPUS"
  sha256sum /etc/passwd >"$BATS_FILE_TMPDIR/passwd.sum"
}

setup() {
  # deep, so that a '../' escape would land inside the test dir (checked) or at / (checked)
  S=$BATS_TEST_TMPDIR/a/b/c/d/himg-root
  mkdir -p "$S"
}

ctl() { timeout -k 5 60 "$CELLCTL" --root "$S" "$@"; }

# nothing named himg-pwned anywhere it could land; the store holds nothing
no_escape_no_debris() {
  local f
  for f in /himg-pwned /tmp/himg-pwned /etc/himg-pwned /tmp/himg-pwned/himg-pwned; do
    [ ! -e "$f" ] || { echo "escaped: $f exists" >&2; rm -rf "$f"; return 1; }
  done
  [ -z "$(find "$BATS_TEST_TMPDIR" "$HIMG_CORPUS" -name 'himg-pwned*' 2>/dev/null | head -1)" ] ||
    { echo "escaped: $(find "$BATS_TEST_TMPDIR" "$HIMG_CORPUS" -name 'himg-pwned*')" >&2; return 1; }
  sha256sum -c --quiet "$BATS_FILE_TMPDIR/passwd.sum"
  local left
  left=$(find "$S/images/tmp" "$S/images/blobs/sha256" "$S/images/layers" "$S/images/users" -mindepth 1 2>/dev/null)
  [ -z "$left" ] || { echo "left in the store: $left" >&2; return 1; }
  [ "$(jq '.manifests | length' "$S/images/index.json")" -eq 0 ]
}

# hostile CASE EXPECTED...: the import fails (1), its error contains every EXPECTED, nothing escaped or stayed
hostile() {
  local case=$1
  shift
  run ctl image import "$HIMG_CORPUS/$case"
  echo "$output"
  [ "$status" -eq 1 ]
  local want
  for want in "$@"; do [[ "$output" == *"$want"* ]] || { echo "missing in the error: $want" >&2; return 1; }; done
  no_escape_no_debris
}

@test "hostile: ../ traversal" { hostile dotdot.tar "entry '../../" "'..' in the path refused"; }
@test "hostile: ../ in the middle of a path" { hostile dotdot_mid.tar "entry 'a/../../" "'..' in the path refused"; }
@test "hostile: ../ traversal in a gzip rootfs" { hostile dotdot_gz.tar.gz "entry '../" "'..' in the path refused"; }
@test "hostile: absolute path" { hostile absolute.tar "entry '/tmp/himg-pwned': absolute path refused"; }
@test "hostile: absolute symlink, then a file through it" { hostile symlink_abs_then_file.tar "entry 'l/himg-pwned'" "goes through a symlink"; }
@test "hostile: relative ../ symlink, then a file through it" { hostile symlink_rel_then_file.tar "entry 'l/himg-pwned'" "goes through a symlink"; }
@test "hostile: nested symlink to /, then a file through it" { hostile symlink_nested_then_file.tar "entry 'a/l/tmp/himg-pwned'" "symlink"; }
@test "hostile: a dir replaced by a symlink, then a file in it" { hostile dir_replaced_by_symlink.tar "entry 'd/himg-pwned'" "goes through a symlink"; }
@test "hostile: symlink, then a directory through it" { hostile symlink_then_dir.tar "entry 'l/himg-pwned/'" "goes through a symlink"; }
@test "hostile: symlink loop" { hostile symlink_loop.tar "entry 'a/himg-pwned'" "symlink"; }
@test "hostile: symlink to itself" { hostile symlink_self_loop.tar "entry 'a/x'" "symlink"; }
@test "hostile: symlink in one layer, a file through it in the next" { hostile symlink_across_layers "layer 1" "entry 'l/himg-pwned'" "symlink in a lower layer"; }
@test "hostile: symlink to / in one layer, a deep file through it in the next (gzip)" { hostile symlink_dir_across_layers "layer 1" "entry 'd/tmp/himg-pwned'" "symlink in a lower layer"; }
@test "hostile: whiteout through a lower layer's symlink" { hostile whiteout_across_symlink "entry 'l/.wh.passwd'" "symlink in a lower layer"; }
@test "hostile: hardlink to an absolute host file" { hostile hardlink_abs.tar "entry 'h'" "absolute path refused"; }
@test "hostile: hardlink with ../ to a host file" { hostile hardlink_dotdot.tar "entry 'h'" "'..' in the path refused"; }
@test "hostile: hardlink through a symlink" { hostile hardlink_via_symlink.tar "entry 'h'" "goes through a symlink"; }
@test "hostile: hardlink to a missing target" { hostile hardlink_missing.tar "entry 'h'" "hardlink target 'etc/no-such-file'"; }
@test "hostile: hardlink to a directory" { hostile hardlink_to_dir.tar "entry 'h'" "hardlink to a directory refused"; }
@test "hostile: hardlink to a file of a lower layer" { hostile hardlink_across_layers "layer 1" "entry 'h'" "hardlink target 'f'"; }
@test "hostile: whiteout of / (.wh.)" { hostile whiteout_root "entry '.wh.'" "whiteout of '/' refused"; }
@test "hostile: whiteout of .." { hostile whiteout_dotdot "entry 'a/.wh...'" "whiteout of '..' refused"; }
@test "hostile: whiteout of ." { hostile whiteout_dot "entry 'a/.wh..'" "whiteout of '.' refused"; }
@test "hostile: whiteout in a plain rootfs tarball" { hostile whiteout_in_rootfs.tar "entry 'etc/.wh.passwd'" "whiteout entry in a plain archive refused"; }
@test "hostile: a path longer than 4096 bytes (pax)" { hostile huge_pax_path.tar "entry 'a/a/a/" "more than the 4096 allowed"; }
@test "hostile: a 300-byte name component" { hostile huge_component.tar "entry 'ddd" "a component is 300 bytes"; }
@test "hostile: a 3 MiB pax header" { hostile huge_pax_record.tar "Special header too large"; }
@test "hostile: a header declaring 1 TiB of data" { hostile huge_size.tar "entry 'big'" "too large"; }
@test "hostile: truncated gzip" { hostile truncated_gzip.tar.gz "entry 'bin/big'" "truncated gzip input"; }
@test "hostile: truncated tar" { hostile truncated_tar.tar "entry 'bin/big'" "Truncated tar archive"; }
@test "hostile: wrong blob digest" { hostile wrong_blob_digest "layer 0 (sha256:" "digest mismatch"; }
@test "hostile: wrong diff_id" { hostile wrong_diff_id "layer 0 (sha256:" "diff_id mismatch: the config says sha256:0000"; }
@test "hostile: blob larger than its descriptor" { hostile wrong_size "layer 0" "larger than its descriptor's size"; }
@test "hostile: more diff_ids than layers" { hostile diff_id_count '"rootfs.diff_ids" has 2 entries, the manifest 1 layers'; }
@test "hostile: config blob missing" { hostile config_missing "config sha256:" "No such file"; }
@test "hostile: index digest with ../" { hostile index_digest_traversal '"manifests"[0]: "digest"' "is not sha256:<64 hex>"; }
@test "hostile: mediaType gzip, content plain tar" { hostile mediatype_gzip_is_plain "declares gzip but the content is none"; }
@test "hostile: mediaType plain tar, content zstd" { hostile mediatype_plain_is_zstd "declares an uncompressed tar but the content is zstd"; }
@test "hostile: mediaType zstd, content gzip" { hostile mediatype_zstd_is_gzip "declares zstd but the content is gzip"; }
@test "hostile: mediaType +bzip2" { hostile mediatype_bzip2 '"layers"[0]: "mediaType"' "tar+bzip2' is not a layer type"; }
@test "hostile: a config mediaType as a layer" { hostile mediatype_config_as_layer '"layers"[0]: "mediaType"' "is not a layer type"; }
@test "hostile: an xz layer" { hostile layer_xz "layer 0" "compression xz is not supported"; }
@test "hostile: a layer that is no tar" { hostile layer_not_tar "layer 0" "Unrecognized archive format"; }
@test "hostile: oci-archive whose layer has ../" { hostile ociarchive_traversal_layer.tar "layer 0" "'..' in the path refused"; }
@test "hostile: oci-archive with ../ in the archive itself" { hostile ociarchive_outer_traversal.tar "entry '../" "'..' in the path refused"; }
@test "hostile: docker-archive naming a layer with ../" { hostile docker_layer_traversal.tar '"Layers"[0] is not a relative path inside the archive'; }
@test "hostile: docker-archive whose layer.tar is a symlink to /etc/passwd" { hostile docker_layer_symlink_out.tar "layer 0 (l/layer.tar)" "No such file"; }
@test "hostile: docker-archive with broken manifest.json" { hostile docker_bad_json.tar "manifest.json: not valid JSON"; }

# devices: only a root store creates them; a store used by another user refuses them, naming the entry
@test "hostile: device nodes in a store that is not root's" {
  local d
  d=$(mktemp -d /tmp/himg-nobody.XXXXXX)
  chmod 755 "$d"
  cp "$HIMG_CORPUS/device_char.tar" "$HIMG_CORPUS/device_block.tar" "$d/"
  mkdir "$d/store" && chown 65534:65534 "$d/store"
  run setpriv --reuid=65534 --regid=65534 --clear-groups "$CELLCTL" --root "$d/store" image import "$d/device_char.tar"
  echo "$output"
  local st1=$status out1=$output
  run setpriv --reuid=65534 --regid=65534 --clear-groups "$CELLCTL" --root "$d/store" image import "$d/device_block.tar"
  echo "$output"
  local left
  left=$(find "$d/store/images/tmp" "$d/store/images/blobs/sha256" "$d/store/images/layers" -mindepth 1 2>/dev/null)
  rm -rf "$d"
  [ "$st1" -eq 1 ] && [[ "$out1" == *"entry 'dev/mem': device node 1:1 refused"* ]]
  [ "$status" -eq 1 ] && [[ "$output" == *"entry 'dev/sda': device node 8:0 refused"* ]]
  [ -z "$left" ]
}

@test "devices: a root store creates the nodes the image asks for" {
  run ctl image import --name himg/dev:1 "$HIMG_CORPUS/device_char.tar"
  [ "$status" -eq 0 ]
  ctl image unpack himg/dev:1 "$BATS_TEST_TMPDIR/u"
  [ -c "$BATS_TEST_TMPDIR/u/dev/mem" ]
  [ "$(stat -c %t:%T "$BATS_TEST_TMPDIR/u/dev/mem")" = "1:1" ]
}

@test "rootfs tarball: hardlinks, verbatim ../ symlinks, last duplicate wins, xattrs kept, trusted.overlay escaped" {
  run ctl image import --name himg/good:1 "$HIMG_CORPUS/good_rootfs.tar.gz"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == sha256:* ]]
  local u=$BATS_TEST_TMPDIR/u
  ctl image unpack himg/good:1 "$u"
  [ "$(cat "$u/dup")" = two ]
  [ "$(stat -c %i "$u/etc/f")" = "$(stat -c %i "$u/etc/hl")" ]
  [ "$(readlink "$u/up")" = "../../../../../../../../../../../../etc" ]
  [ -p "$u/fifo" ]
  [ "$(stat -c %a "$u/suid")" = 4755 ]
  python3 - "$u" <<'EOF'
import os, sys
u = sys.argv[1]
assert os.getxattr(u + "/etc/cap", "security.capability")[:4] == b"\x01\x00\x00\x02", "security.capability"
assert os.getxattr(u + "/etc/cap", "user.himg") == b"hello"
names = os.listxattr(u + "/ovl")
assert "trusted.overlay.overlay.opaque" in names and "trusted.overlay.opaque" not in names, names
EOF
  # the same layer dir is in the store, read by overlayfs as a lower dir
  run ctl image inspect --json himg/good:1
  [ "$(echo "$output" | jq -r '.layer_list[0].unpacked')" = true ]
}

@test "OCI layout: whiteouts become overlayfs whiteouts in the layer dir, and are applied by unpack" {
  run ctl image import "$HIMG_CORPUS/good_layers"
  [ "$status" -eq 0 ]
  ctl image unpack himg/hostile:good_layers "$BATS_TEST_TMPDIR/u"
  [ "$(cd "$BATS_TEST_TMPDIR/u" && find . | sort | tr '\n' ' ')" = ". ./d ./d/z ./etc ./etc/b " ]
  local top
  top=$(ctl image inspect --json himg/hostile:good_layers | jq -r '.layer_list[1].chain_id[7:]')
  [ -c "$S/images/layers/$top/etc/a" ]
  [ "$(stat -c %t:%T "$S/images/layers/$top/etc/a")" = 0:0 ]
  python3 -c "import os,sys; assert os.getxattr(sys.argv[1], 'trusted.overlay.opaque') == b'y'" "$S/images/layers/$top/d"
  # an overlayfs mount of the layers shows what unpack wrote
  local m=$BATS_TEST_TMPDIR/m lower
  mkdir "$m"
  lower=$(ctl image inspect --json himg/hostile:good_layers | jq -r --arg s "$S/images/layers/" '[.layer_list[].chain_id[7:]] | reverse | map($s + .) | join(":")')
  mount -t overlay himg-test -o "lowerdir=$lower" "$m"
  local seen
  seen=$(cd "$m" && find . | sort | tr '\n' ' ')
  umount "$m"
  [ "$seen" = ". ./d ./d/z ./etc ./etc/b " ]
}

@test "image ls/inspect --json; rm refuses while the image has users, --force removes; blobs and layers are collected" {
  ctl image import --name himg/a:1 "$HIMG_CORPUS/good_layers" >/dev/null
  ctl image import --name himg/b:1 "$HIMG_CORPUS/good_rootfs.tar.gz" >/dev/null
  run ctl --json image ls
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | jq length)" -eq 2 ]
  [ "$(echo "$output" | jq -r '.[] | select(.names[0]=="himg/a:1") | .layers')" -eq 2 ]
  run ctl image ls
  [[ "$output" == *"himg/a:1"* ]] && [[ "$output" == *"himg/b:1"* ]]
  local id
  id=$(ctl image inspect --json himg/a:1 | jq -r .id)
  # an environment uses the image: users/ID/NAME (what env/ records through img_use)
  mkdir -p "$S/images/users/${id#sha256:}" && touch "$S/images/users/${id#sha256:}/himg-env1"
  run ctl image rm himg/a:1
  [ "$status" -eq 1 ]
  [[ "$output" == *"image 'himg/a:1' is used by [\"himg-env1\"]"* ]]
  run ctl image inspect himg/a:1
  [ "$status" -eq 0 ]
  [[ "$output" == *himg-env1* ]]
  run ctl image rm --force himg/a:1
  [ "$status" -eq 0 ]
  # still in use: its blobs stay until the user goes
  [ -e "$S/images/blobs/sha256/${id#sha256:}" ]
  rm -r "$S/images/users/${id#sha256:}"
  ctl image rm himg/b:1
  [ -z "$(find "$S/images/blobs/sha256" "$S/images/layers" -mindepth 1)" ]
  [ "$(jq '.manifests | length' "$S/images/index.json")" -eq 0 ]
  run ctl image inspect himg/b:1
  [ "$status" -eq 1 ]
  [[ "$output" == *"image 'himg/b:1' not found"* ]]
}

@test "a second name, rm of one name keeps the image; an id prefix resolves" {
  local id
  id=$(ctl image import --name himg/x:1 "$HIMG_CORPUS/good_layers")
  ctl image import --name himg/x:2 "$HIMG_CORPUS/good_layers"
  ctl image rm himg/x:1
  run ctl image inspect --json "${id:7:10}"
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | jq -r '.names | join(",")')" = "himg/x:2" ]
}

@test "concurrent imports of the same image: one image, shared layers, no debris" {
  local i pids=()
  for i in 1 2 3 4; do
    ctl image import --name himg/c:1 "$HIMG_CORPUS/good_layers" >"$BATS_TEST_TMPDIR/out$i" 2>&1 &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
  [ "$(sort -u "$BATS_TEST_TMPDIR"/out* | wc -l)" -eq 1 ]
  [ "$(ctl --json image ls | jq length)" -eq 1 ]
  [ "$(ls "$S/images/layers" | wc -l)" -eq 2 ]
  [ -z "$(ls "$S/images/tmp")" ]
}

@test "debris of a killed import is removed by the next command; a live import's staging is not" {
  ctl image ls >/dev/null
  mkdir -p "$S/images/tmp/999999-dead-0/layers/x"
  touch "$S/images/tmp/999999-dead-0/blobs"
  # a staging dir still locked by a live process stays
  mkdir "$S/images/tmp/live"
  flock "$S/images/tmp/live" sleep 30 &
  local holder=$!
  sleep 0.2
  ctl image ls >/dev/null
  [ ! -e "$S/images/tmp/999999-dead-0" ]
  [ -d "$S/images/tmp/live" ]
  kill "$holder"
  wait "$holder" || true
}

@test "an import killed with SIGKILL leaves nothing the next command does not remove" {
  local big=$BATS_TEST_TMPDIR/big.tar
  # a rootfs large enough to take a while
  mkdir -p "$BATS_TEST_TMPDIR/bigroot"
  head -c 64M /dev/zero >"$BATS_TEST_TMPDIR/bigroot/zero"
  tar -C "$BATS_TEST_TMPDIR/bigroot" -cf "$big" .
  "$CELLCTL" --root "$S" image import "$big" >/dev/null &
  local p=$!
  sleep 0.1
  kill -9 "$p" 2>/dev/null || true
  wait "$p" || true
  ctl image ls >/dev/null
  [ -z "$(ls "$S/images/tmp")" ]
  # either it finished before the kill (one image) or it left nothing
  local n
  n=$(ctl --json image ls | jq length)
  if [ "$n" -eq 0 ]; then [ -z "$(find "$S/images/blobs/sha256" "$S/images/layers" -mindepth 1)" ]; fi
}

@test "export oci and docker, reimport: the same config and layers" {
  local id id2 id3
  id=$(ctl image import --name himg/e:1 "$HIMG_CORPUS/good_layers")
  ctl image export himg/e:1 "$BATS_TEST_TMPDIR/e-oci.tar"
  ctl image export --format docker --name himg/e:docker himg/e:1 "$BATS_TEST_TMPDIR/e-docker.tar"
  tar -tf "$BATS_TEST_TMPDIR/e-oci.tar" | grep -qx oci-layout
  tar -tf "$BATS_TEST_TMPDIR/e-docker.tar" | grep -qx manifest.json
  local S2=$BATS_TEST_TMPDIR/s2
  id2=$("$CELLCTL" --root "$S2" image import "$BATS_TEST_TMPDIR/e-oci.tar")
  id3=$("$CELLCTL" --root "$S2" image import "$BATS_TEST_TMPDIR/e-docker.tar")
  [ "$id2" = "$id" ]
  [ "$("$CELLCTL" --root "$S2" --json image inspect "$id2" | jq -c '[.layer_list[].diff_id]')" = \
    "$("$CELLCTL" --root "$S2" --json image inspect "$id3" | jq -c '[.layer_list[].diff_id]')" ]
  [ "$("$CELLCTL" --root "$S2" --json image inspect himg/e:docker | jq -r .id)" = "$id3" ]
  [ "$("$CELLCTL" --root "$S2" --json image inspect himg/e:1 | jq -r .id)" = "$id" ]
}

@test "export --add-layer: an overlayfs upper dir becomes a layer (whiteouts, opaque dirs)" {
  ctl image import --name himg/base:1 "$HIMG_CORPUS/good_layers" >/dev/null
  local up=$BATS_TEST_TMPDIR/upper
  mkdir -p "$up/etc" "$up/new"
  echo added >"$up/new/file"
  mknod "$up/etc/b" c 0 0
  mkdir "$up/d" && setfattr_py() { python3 -c "import os,sys; os.setxattr(sys.argv[1], 'trusted.overlay.opaque', b'y')" "$1"; }
  setfattr_py "$up/d"
  echo w >"$up/d/w"
  ctl image export --add-layer "$up" --name himg/child:1 himg/base:1 "$BATS_TEST_TMPDIR/child.tar"
  tar -tvf "$BATS_TEST_TMPDIR/child.tar" >/dev/null
  ctl image rm himg/base:1
  ctl image import "$BATS_TEST_TMPDIR/child.tar"
  ctl image unpack himg/child:1 "$BATS_TEST_TMPDIR/u"
  [ "$(cd "$BATS_TEST_TMPDIR/u" && find . | sort | tr '\n' ' ')" = ". ./d ./d/w ./etc ./new ./new/file " ]
}

@test "usage errors name the option; a missing image names it" {
  run ctl image import
  [ "$status" -eq 2 ]
  [[ "$output" == *"image import: expects one PATH"* ]]
  run ctl image export --format tgz x y
  [ "$status" -eq 2 ]
  [[ "$output" == *"--format: 'tgz' is neither oci nor docker"* ]]
  run ctl image import --name 'Bad Name' "$HIMG_CORPUS/good_layers"
  [ "$status" -eq 1 ]
  [[ "$output" == *"image name 'Bad Name'"* ]]
  run ctl image unpack himg/none:1 "$BATS_TEST_TMPDIR/x"
  [ "$status" -eq 1 ]
  [[ "$output" == *"image 'himg/none:1' not found"* ]]
  run ctl image import "$BATS_TEST_TMPDIR/nonexistent.tar"
  [ "$status" -eq 1 ]
  [[ "$output" == *"nonexistent.tar: No such file or directory"* ]]
  run "$CELLCTL" image
  [[ "$output" == *"image import PATH"* ]] && [[ "$output" == *"image export IMAGE FILE"* ]]
}
