#!/usr/bin/env bats
# `cellctl image bootstrap`: a Debian bookworm OS template with systemd, built
# with mmdebstrap once and cached in a store under build/cache keyed by the
# recipe (images/bootstrap.c, this file, the store's header): a changed recipe
# builds it again.  Every run checks the cached image all the same.

load helpers

setup_file() {
  local key tmp
  key=$(cat "$PULL_TOP/images/bootstrap.c" "$PULL_TOP/images/images.h" "$BATS_TEST_FILENAME" |
    sha256sum | cut -c1-16)
  export BOOT_ROOT=$PULL_TOP/build/cache/pull-bootstrap-$key
  if [ ! -s "$BOOT_ROOT/id" ]; then
    tmp=$BOOT_ROOT.tmp.$$
    rm -rf "$tmp"
    mkdir -p "$tmp"
    # a second try when the mirror failed the first (apt already retries
    # single downloads; a failed bootstrap leaves nothing in the store)
    timeout -k 10 900 "$CELLCTL" --root "$tmp" image bootstrap debian:bookworm >"$tmp/id.out" ||
      { sleep 15; timeout -k 10 900 "$CELLCTL" --root "$tmp" image bootstrap debian:bookworm >"$tmp/id.out"; } ||
      { rm -rf "$tmp"; return 1; }
    tail -n1 "$tmp/id.out" >"$tmp/id"
    # the caches of older recipes go
    rm -rf "$BOOT_ROOT" "$PULL_TOP"/build/cache/pull-bootstrap-????????????????
    mv "$tmp" "$BOOT_ROOT"
  else
    echo "# using the bootstrap cached in $BOOT_ROOT" >&3
  fi
}

@test "bootstrap: debian:bookworm is an image whose /sbin/init is systemd" {
  run "$PULL_LAYERS" "$BOOT_ROOT" debian:bookworm
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  local l=${lines[0]}
  [ -d "$l/usr/lib/systemd" ]
  # resolved inside the layer, as the environment will see it
  [ "$(chroot "$l" /usr/bin/readlink -f /sbin/init)" = /usr/lib/systemd/systemd ]
  chroot "$l" /usr/lib/systemd/systemd --version | grep -q '^systemd [0-9]'
  grep -qx 'VERSION_CODENAME=bookworm' "$l/etc/os-release"
  [ -x "$l/usr/bin/dbus-daemon" ] || [ -x "$l/usr/bin/dbus-broker" ]
  [ -x "$l/usr/sbin/ip" ] || [ -x "$l/usr/bin/ip" ]
  [ -d "$l/dev" ]
  # the image id is the one bootstrap printed, and the name resolves to it
  run "$PULL_LAYERS" "$BOOT_ROOT" "$(cat "$BOOT_ROOT/id")"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "$l" ]
  [ -z "$(ls -A "$BOOT_ROOT/images/tmp")" ]
}

@test "bootstrap: errors name the distribution and suite, and leave nothing in the store" {
  ROOT=$BATS_TEST_TMPDIR/root-h-pull
  run cellctl image bootstrap fedora:40
  [ "$status" -eq 1 ]
  [[ $output == *"bootstrap fedora:40"*"fedora"*"not debian or ubuntu"* ]]
  run cellctl image bootstrap 'debian:../x'
  [ "$status" -eq 1 ]
  [[ $output == *"invalid suite '../x'"* ]]
  # a suite the mirror does not have: mmdebstrap fails, the store stays empty
  run cellctl image bootstrap debian:h-pull-nosuch
  echo "$output"
  [ "$status" -eq 1 ]
  [[ $output == *"bootstrap debian:h-pull-nosuch: mmdebstrap exited with status"* ]]
  store_empty
  run cellctl image bootstrap
  [ "$status" -eq 2 ]
}
