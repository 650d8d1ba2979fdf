#!/usr/bin/env bats
# Security properties: no stray fds, no symlink escapes out of the rootfs,
# no writable runtime binary for the container (CVE-2019-5736).

load helpers

# ------------------------------------------------------------------ fds

@test "stray fds of the caller are not passed to the container" {
  set_args sh -c 'ls /proc/self/fd | sort -n | tr "\n" " "'
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null 3</etc/hostname 4</etc/hostname 5<"$BUNDLE/config.json" 9</etc/hostname
  [ "$status" -eq 0 ]
  # 0-2 and the directory fd ls opened itself
  [ "$output" = "0 1 2 3 " ]
}

@test "stray fds are not passed to exec'd processes either" {
  set_args sleep 100
  run_detached "$ID"
  run runtime exec "$ID" sh -c 'ls /proc/self/fd | sort -n | tr "\n" " "' </dev/null 3</etc/hostname 4</etc/hostname 7</etc/hostname
  [ "$status" -eq 0 ]
  [ "$output" = "0 1 2 3 " ]
}

@test "--preserve-fds 1 passes fd 3 and nothing above it" {
  echo preserved-content >"$BATS_TEST_TMPDIR/pfile"
  set_args sh -c 'cat <&3; ls /proc/self/fd | sort -n | tr "\n" " "'
  run runtime run --preserve-fds 1 --bundle "$BUNDLE" "$ID" </dev/null 3<"$BATS_TEST_TMPDIR/pfile" 4</etc/hostname 5</etc/hostname
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = preserved-content ]
  # 0-3 plus ls' own directory fd
  [ "${lines[1]}" = "0 1 2 3 4 " ]
}

# ------------------------------------------------------------ symlinks

# The host directory an escaping runtime would touch.  It is made a shared
# mount and the container's rootfsPropagation "shared", so that a mount the
# runtime wrongly places on it would also appear in the host mount table.
setup_target() {
  T=$BATS_TEST_TMPDIR/escape-target
  mkdir -p "$T/sub"
  echo marker >"$T/marker"
  chmod 0751 "$T"
  mount --bind "$T" "$T"
  track_mount "$T"
  mount --make-shared "$T"
  update_config '.linux.rootfsPropagation = "shared"'
  SNAP=$(snap "$T")
  UP=$(printf '../%.0s' $(seq 30))   # enough ../ to reach / from the rootfs
}

snap() {
  (cd "$1" && find . -printf '%p %y %m %s %U:%G\n' | sort)
  cat "$1/marker"
  stat -c '%a %U %h' "$1"
}

# The target is unchanged and no mount sits on or below it except our own bind.
target_safe() {
  local now m
  now=$(snap "$T")
  if [ "$now" != "$SNAP" ]; then
    echo "host target changed:"; diff <(echo "$SNAP") <(echo "$now")
    return 1
  fi
  m=$(mounts_under "$T")
  if [ "$(echo "$m" | wc -l)" -ne 1 ] || [ "$m" != "$T" ]; then
    echo "mounts on the host target: $m"; grep -F "$T" /proc/self/mountinfo
    return 1
  fi
  # the bind mount we made is still the only one stacked there
  [ "$(awk -v p="$T" '$5 == p' /proc/self/mountinfo | wc -l)" -eq 1 ]
}

try_run() {
  set_args "$@"
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
  echo "runtime: status $status, output: $output"
}

@test "symlink escape: rootfs /proc -> absolute host path" {
  setup_target
  rmdir "$BUNDLE/rootfs/proc"
  ln -s "$T" "$BUNDLE/rootfs/proc"
  try_run sh -c 'ls /proc/self/ >/dev/null; echo ran'
  target_safe
}

@test "symlink escape: rootfs /proc -> ../../.. relative path" {
  setup_target
  rmdir "$BUNDLE/rootfs/proc"
  ln -s "${UP}${T#/}" "$BUNDLE/rootfs/proc"
  try_run true
  target_safe
}

@test "symlink escape: rootfs /dev -> host path (tmpfs + device nodes)" {
  # runc 1.1.5 fails this: it creates /dev/{fd,ptmx,stdin,stdout,stderr}
  # symlinks in the host directory the rootfs' /dev points at.
  cell_only
  setup_target
  rm -rf "$BUNDLE/rootfs/dev"
  ln -s "$T" "$BUNDLE/rootfs/dev"
  try_run true
  target_safe
  [ ! -e "$T/null" ] && [ ! -e "$T/pts" ]
}

@test "symlink escape: bind-mount destination -> absolute host path" {
  setup_target
  src=$BATS_TEST_TMPDIR/src; mkdir -p "$src"; echo from-source >"$src/from-source"
  ln -s "$T" "$BUNDLE/rootfs/mnt/link"
  update_config '.mounts += [{"destination": "/mnt/link", "type": "bind", "source": $s, "options": ["rbind"]}]' \
    "$BUNDLE" --arg s "$src"
  try_run sh -c 'ls /mnt/link'
  target_safe
  if [ "$status" -eq 0 ]; then [[ $output == *from-source* ]]; fi
}

@test "symlink escape: bind-mount destination -> / and ../../../ paths" {
  setup_target
  src=$BATS_TEST_TMPDIR/src; mkdir -p "$src"; echo from-source >"$src/from-source"
  ln -s / "$BUNDLE/rootfs/mnt/toroot"
  ln -s "${UP}${T#/}/sub" "$BUNDLE/rootfs/mnt/rel"
  update_config '.mounts += [
      {"destination": "/mnt/rel", "type": "bind", "source": $s, "options": ["bind"]},
      {"destination": "/mnt/toroot/srv", "type": "bind", "source": $s, "options": ["bind"]}]' \
    "$BUNDLE" --arg s "$src"
  hostsrv=$(stat -c %i /srv 2>/dev/null || echo none)
  try_run true
  target_safe
  [ -z "$(mounts_under /srv)" ]
  [ "$(stat -c %i /srv 2>/dev/null || echo none)" = "$hostsrv" ]
}

@test "symlink escape: tmpfs destination below a symlink is not created on the host" {
  setup_target
  ln -s "$T" "$BUNDLE/rootfs/mnt/link"
  update_config '.mounts += [{"destination": "/mnt/link/newdir/deeper", "type": "tmpfs", "source": "tmpfs"}]'
  try_run true
  target_safe
  [ ! -e "$T/newdir" ]
}

@test "symlink escape: linux.devices path through a symlink" {
  setup_target
  ln -s "$T" "$BUNDLE/rootfs/mnt/devlink"
  update_config '.linux.devices = [{"path": "/mnt/devlink/mydev", "type": "c", "major": 1, "minor": 3, "fileMode": 438}]'
  try_run true
  target_safe
  [ ! -e "$T/mydev" ]
}

@test "symlink escape: maskedPaths and readonlyPaths that are symlinks" {
  setup_target
  mkdir -p "$BUNDLE/rootfs/srv"
  ln -s "$T" "$BUNDLE/rootfs/srv/maskdir"
  ln -s "$T/marker" "$BUNDLE/rootfs/srv/maskfile"
  ln -s "${UP}${T#/}" "$BUNDLE/rootfs/srv/rodir"
  update_config '.linux.maskedPaths += ["/srv/maskdir", "/srv/maskfile"] | .linux.readonlyPaths += ["/srv/rodir"]'
  try_run true
  target_safe
  # still writable from the host
  touch "$T/after" && rm "$T/after"
}

@test "symlink escape: process.cwd -> ../../.. stays inside the rootfs" {
  setup_target
  mkdir -p "$BUNDLE/rootfs/srv"
  ln -s "${UP}${T#/}" "$BUNDLE/rootfs/srv/cwdlink"
  update_config '.process.cwd = "/srv/cwdlink"'
  try_run sh -c 'pwd -P; ls -a'
  target_safe
  [[ $output != *marker* ]]
}

@test "symlink escape: process.cwd -> absolute host path stays inside the rootfs" {
  setup_target
  mkdir -p "$BUNDLE/rootfs/srv"
  ln -s "$T" "$BUNDLE/rootfs/srv/cwdlink"
  update_config '.process.cwd = "/srv/cwdlink"'
  try_run sh -c 'ls -a; touch created-here'
  target_safe
  [[ $output != *marker* ]]
}

# A host directory the caller holds open as fd 9 must not become the cwd.
fd_target() {
  T=$BATS_TEST_TMPDIR/fd-target
  mkdir -p "$T"
  echo marker >"$T/marker"
  SNAP=$(cd "$T" && ls -la --time-style=+)
}
fd_target_safe() {
  [[ $output != *marker* ]]
  [ "$(cd "$T" && ls -la --time-style=+)" = "$SNAP" ]
}

@test "cwd escape: process.cwd /proc/self/fd/9 with a host dir open as fd 9 is refused" {
  fd_target
  update_config '.process.cwd = "/proc/self/fd/9"'
  set_args sh -c 'pwd; ls; cat marker; touch created-here'
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null 9<"$T"
  echo "status $status: $output"
  [ "$status" -ne 0 ]
  fd_target_safe
  is_cell || return 0
  [[ $output == *process.cwd* ]]
}

@test "cwd escape: exec --cwd /proc/self/fd/9 with a host dir open as fd 9 is refused" {
  fd_target
  set_args sleep 100
  run_detached "$ID"
  run runtime exec --cwd /proc/self/fd/9 "$ID" sh -c 'pwd; ls; cat marker; touch created-here' </dev/null 9<"$T"
  echo "status $status: $output"
  [ "$status" -ne 0 ]
  fd_target_safe
  is_cell || return 0
  [[ $output == *--cwd* ]]
}

@test "cwd escape: exec --process with cwd /proc/self/fd/9 with a host dir open as fd 9 is refused" {
  fd_target
  set_args sleep 100
  run_detached "$ID"
  jq -n '{args: ["sh", "-c", "pwd; ls; cat marker; touch created-here"], cwd: "/proc/self/fd/9",
          env: ["PATH=/bin:/usr/bin:/sbin:/usr/sbin"], user: {uid: 0, gid: 0}}' >"$BATS_TEST_TMPDIR/proc.json"
  run runtime exec --process "$BATS_TEST_TMPDIR/proc.json" "$ID" </dev/null 9<"$T"
  echo "status $status: $output"
  [ "$status" -ne 0 ]
  fd_target_safe
  is_cell || return 0
  [[ $output == *process.cwd* ]]
}

@test "cwd escape: a preserved fd 3 holding a host dir is not a way out either" {
  fd_target
  update_config '.process.cwd = "/proc/self/fd/3"'
  set_args sh -c 'pwd; ls; cat marker'
  run runtime run --preserve-fds 1 --bundle "$BUNDLE" "$ID" </dev/null 3<"$T"
  echo "status $status: $output"
  [ "$status" -ne 0 ]
  fd_target_safe
}

@test "process.cwd and exec --cwd: missing dirs are made by run, symlinks resolve inside the rootfs" {
  mkdir -p "$BUNDLE/rootfs/srv/real"
  ln -s /srv/real "$BUNDLE/rootfs/srv/link"
  update_config '.process.cwd = "/srv/new/deeper" | .root.readonly = false'
  set_args sh -c 'pwd; sleep 100'
  run_detached "$ID"
  wait_out "$ID" /srv/new/deeper
  [ -d "$BUNDLE/rootfs/srv/new/deeper" ]
  run runtime exec --cwd /srv/link "$ID" pwd -P
  [ "$status" -eq 0 ]
  [ "$output" = /srv/real ]
  run runtime exec --cwd /srv/missing "$ID" pwd
  [ "$status" -ne 0 ]
}

# ------------------------------------------------------ CVE-2019-5736

@test "CVE-2019-5736: the runtime binary cannot be rewritten through the init's /proc/PID/exe" {
  # a private copy of the runtime: a vulnerable one damages only the copy
  cp "$CELL" "$BATS_TEST_TMPDIR/rt-copy"
  sum=$(sha256sum <"$BATS_TEST_TMPDIR/rt-copy")
  CELL=$BATS_TEST_TMPDIR/rt-copy
  set_args sleep 100
  create_ct "$ID"
  pid=$(ct_pid "$ID")
  # the not yet started init: its exe must not be the binary at its host path
  [ "$(readlink "/proc/$pid/exe")" != "$BATS_TEST_TMPDIR/rt-copy" ]
  # hold the exe like a malicious container would, then let the runtime exit
  exec 7<"/proc/$pid/exe"
  run runtime start "$ID"
  [ "$status" -eq 0 ]
  wait_for eval '[ "$(tr "\0" " " <"/proc/$pid/cmdline")" = "sleep 100 " ]'
  st=0
  (echo '#!/bin/sh' >>"/proc/self/fd/7") 2>/dev/null || st=$?
  exec 7<&-
  [ "$st" -ne 0 ]
  [ "$(sha256sum <"$BATS_TEST_TMPDIR/rt-copy")" = "$sum" ]
}

@test "cell: during create the init's exe is a sealed memfd or a read-only mount" {
  cell_only
  set_args sleep 100
  create_ct "$ID"
  pid=$(ct_pid "$ID")
  link=$(readlink "/proc/$pid/exe")
  echo "exe -> $link"
  [ "$link" != "$(realpath "$CELL")" ]
  if [[ $link == /memfd:* ]]; then
    # F_SEAL_WRITE: even root cannot write to it
    st=0; (printf x >>"/proc/$pid/exe") 2>/dev/null || st=$?
    [ "$st" -ne 0 ]
  else
    python3 -c 'import os, sys; sys.exit(0 if os.statvfs(sys.argv[1]).f_flag & os.ST_RDONLY else 1)' "/proc/$pid/exe"
  fi
}

@test "cell: no process in the container can open the runtime's exe for writing" {
  cell_only
  set_args sleep 100
  create_ct "$ID"
  pid=$(ct_pid "$ID")
  # the sealed copy is read-only for everyone before it runs
  [ "$(stat -L -c %a "/proc/$pid/exe")" = 555 ]
  # CAP_SYS_PTRACE lets the process reach /proc/1/exe (the runtime, waiting
  # for start); without CAP_DAC_OVERRIDE it must not open it O_WRONLY/O_RDWR
  run runtime exec --cap CAP_SYS_PTRACE "$ID" sh -c '
    readlink /proc/1/exe
    (: >>/proc/1/exe) 2>&1; echo "wronly=$?"
    (: <>/proc/1/exe) 2>&1; echo "rdwr=$?"
    (: </proc/1/exe) 2>&1; echo "rdonly=$?"'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == /memfd:* ]]
  [[ $output == *wronly=1* && $output == *rdwr=1* && $output == *rdonly=0* ]]
  # refused by the file's mode, not only because the file is being executed
  [ "$(grep -c 'Permission denied' <<<"$output")" -eq 2 ]
  [[ $output != *"Text file busy"* ]]
}

# ------------------------------------------------------------------ ps

@test "ps: extra arguments reach ps as they are, never through a shell" {
  set_args sleep 100
  run_detached "$ID"
  pid=$(ct_pid "$ID")
  f=$BATS_TEST_TMPDIR/ps-injected
  runtime ps "$ID" -o "pid;touch $f" 2>/dev/null || true
  runtime ps "$ID" -o "pid,\$(touch $f)" 2>/dev/null || true
  runtime ps "$ID" '`touch '"$f"'`' 2>/dev/null || true
  [ ! -e "$f" ]
  run runtime ps "$ID" -o pid,args
  [ "$status" -eq 0 ]
  echo "$output"
  [[ ${lines[0]} == *PID*COMMAND* ]]
  [[ $output == *"$pid sleep 100"* ]]
  run runtime ps "$ID"
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == UID*PID*PPID*CMD ]]
  [ "${#lines[@]}" -eq 2 ]
  [[ ${lines[1]} == *" $pid "*"sleep 100" ]]
}
