#!/usr/bin/env bats
# systemd as a container's init under podman 4.3 (`podman run --systemd=always`)
# with the runtime under test: the Debian systemd image of
# cri/mksystemd.sh (cached in build/cache), private podman configuration as
# in podman.bats (eng_podman_setup).  systemd reaches `running`, and
# `podman stop` (SIGRTMIN+3, podman's stop signal for systemd) halts it
# before the timeout.

bats_require_minimum_version 1.5.0
load lib

SD_IMG=docker.io/library/hcri-systemd:1

pm() { eng_t podman --runtime cell "$@"; }

setup_file() {
  command -v podman >/dev/null || { echo "podman missing: run make engines-deps" >&2; return 1; }
  eng_init hcri-podsd || return 1
  eng_podman_setup cell "$CELL" localhost/cellbusybox:latest || return 1
  local img
  img=$("$ENG_TOP/tests/engines/cri/mksystemd.sh" "$ENG_TOP/build/cache") || return 1
  # as eng_podman_setup's import: containers/image's blob-info cache would
  # go to /var/lib/containers/cache
  eng_t unshare -m --propagation private sh -c '
    if [ -d /var/lib/containers ]; then
      mount --bind "$1" /var/lib/containers
    else
      mount -t tmpfs -o size=16m,mode=0755 cell-eng /var/lib
    fi &&
    exec podman load -i "$2"' sh "$ENG_TMP/podman/var-lib-containers" "$img" \
    >"$ENG_TMP/logs/load.log" 2>&1 || {
    cat "$ENG_TMP/logs/load.log" >&2
    return 1
  }
}

teardown_file() {
  if [ -n "${CONTAINERS_CONF:-}" ] && [ -n "${CONTAINERS_STORAGE_CONF:-}" ]; then
    eng_t podman --runtime cell rm -a -f -t 0 >/dev/null 2>&1
  fi
  eng_fini
}

@test "podman run --systemd=always: the Debian systemd image reaches running; podman stop halts it" {
  local id t0
  id=$(pm run -d --systemd=always --cgroup-parent "$ENG_CGPARENT" "$SD_IMG")
  # systemctl needs systemd's private socket
  eng_wait_for 30 pm exec "$id" test -S /run/systemd/private
  run pm exec "$id" timeout 60 systemctl is-system-running --wait
  echo "$output"
  [ "$output" = running ] || { pm exec "$id" systemctl --failed --no-pager >&2; false; }
  run -0 pm exec "$id" cat /proc/1/comm
  [ "$output" = systemd ]
  t0=$SECONDS
  pm stop -t 30 "$id"
  [ $((SECONDS - t0)) -lt 30 ]
  [ "$(pm inspect --format '{{.State.Status}}' "$id")" = exited ]
  [ "$(pm inspect --format '{{.State.ExitCode}}' "$id")" != 137 ]
  pm rm "$id" >/dev/null
}
