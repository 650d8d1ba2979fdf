#!/usr/bin/env bats
# The config.json / process.json files that podman, containerd and dockerd
# really wrote on this kind of machine (tests/fixtures/engine-configs,
# regenerated from the engines by capture.sh there) must parse and run under
# the runtime under test ($CELL).
#
# Each *config*.json is copied into a private bundle and ONLY these fields
# are changed (everything else - namespaces, mounts, seccomp, capabilities,
# rlimits, devices, sysctls, masked/readonly paths, resources - is kept):
#   root.path       the placeholder @ROOTFS@ (the engine's storage) becomes
#                   the bundle's own extracted busybox rootfs (absolute); a
#                   relative one (containerd's "rootfs") stays relative.
#   mounts[].source bind sources below @ENGINE_DIR@ (the engine's
#                   per-container hosts/hostname/resolv.conf/.containerenv
#                   files and the shm dir) become files/dirs in the bundle;
#                   host paths (podman's catatonit) are kept and must exist.
#   hooks           dockerd's prestart hook /proc/@DOCKERD_PID@/exe
#                   libnetwork-setkey ... becomes /bin/sh saving the state
#                   JSON it gets on stdin (checked: id and pid are there).
#   linux.cgroupsPath  @CGROUP_PARENT@/... becomes $ENG_CGPARENT/<name>,
#                   below our own cgroup.
#   process.args    a probe printing what the config asked for (hostname,
#                   RLIMIT_NOFILE, CapBnd, NoNewPrivs, Seccomp, tty, cgroup
#                   limits); podman's /run/podman-init -- prefix is kept.
# No placeholder may be left in the bundle's config.json.
# Each *exec-process*.json gets the probe as args and is run with
# `$CELL exec --process` in a container of the same engine's config.

bats_require_minimum_version 1.5.0
load lib
. "$BATS_TEST_DIRNAME/../lib/engine-binds.sh"

REF=${ENG_REF_CONFIGS:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/tests/fixtures/engine-configs}

PROBE='echo cfg-ok; echo host=$(hostname); echo nofile=$(ulimit -n); echo tty=$(tty); grep -E "^(CapBnd|NoNewPrivs|Seccomp):" /proc/self/status | tr -d "\t "; echo mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null); echo pids=$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null); echo quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null)'

CAPS=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
  LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER
  SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE
  SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP
  MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF
  CHECKPOINT_RESTORE)

rt() { eng_t "$CELL" --root "$ENG_TMP/state" "$@"; }

setup_file() {
  [ -d "$REF" ] || { echo "reference configs not found: $REF" >&2; return 1; }
  eng_init refcfg || return 1
  mkdir -p "$ENG_TMP/state" "$ENG_TMP/bundles"
}

teardown_file() {
  local id
  if [ -n "${ENG_TMP:-}" ] && [ -d "$ENG_TMP/state" ]; then
    for id in $(ls "$ENG_TMP/state" 2>/dev/null); do
      rt kill "$id" 9 >/dev/null 2>&1
      rt delete --force "$id" >/dev/null 2>&1
    done
  fi
  eng_fini
}

# cap_mask NAME... -> hex mask as in /proc/self/status CapBnd (16 digits)
cap_mask() {
  local name i mask=0
  for name in "$@"; do
    for i in "${!CAPS[@]}"; do
      [ "CAP_${CAPS[$i]}" = "$name" ] && mask=$((mask | (1 << i)))
    done
  done
  printf '%016x\n' "$mask"
}

# make_bundle NAME CONFIG [ARGS_JSON] -> prints the bundle dir
make_bundle() {
  local name=$1 cfg=$2 args=${3:-} b=$ENG_TMP/bundles/$1 root n i src dst base
  rm -rf "$b"
  mkdir -p "$b/rootfs" "$b/host"
  tar -C "$b/rootfs" -xf "$ENG_IMAGE_DIR/rootfs.tar"
  root=$(jq -r .root.path "$cfg")
  case $root in @ROOTFS@ | /*) root=$b/rootfs ;; esac
  [ -n "$args" ] || args=$(jq -c --arg p "$PROBE" '
    if .process.args[0] == "/run/podman-init" then .process.args[0:2] + ["sh", "-c", $p]
    else ["sh", "-c", $p] end' "$cfg")
  jq --arg root "$root" --arg cg "$ENG_CGPARENT/$name" --argjson args "$args" \
     --arg hook "cat >$b/prestart.state" '
    .root.path = $root
    | .process.args = $args
    | .linux.cgroupsPath = $cg
    | if .hooks.prestart then
        .hooks.prestart = [.hooks.prestart[] | {path: "/bin/sh", args: ["sh", "-c", $hook]}]
      else . end' "$cfg" >"$b/config.json"
  # bind sources that only existed in the engine's private dir
  engine_binds "$b" make_bundle || return 1
  if grep -oE '@[A-Z_]+@' "$b/config.json" >&2; then
    echo "make_bundle: placeholders left in $b/config.json" >&2
    return 1
  fi
  echo "$b"
}

# check_probe JSON_WITH_PROCESS PROCESS_PATH OUTPUT: compare the probe's output
# with what the config asked for.
check_probe() {
  local cfg=$1 p=$2 out=$3 want
  [[ "$out" == *cfg-ok* ]] || { echo "probe did not run" >&2; return 1; }
  want=$(jq -r '.hostname // empty' "$cfg")
  if [ -n "$want" ] && [ "$p" = .process ]; then
    grep -qx "host=$want" <<<"$out" || { echo "hostname: want $want" >&2; return 1; }
  fi
  want=$(jq -r "$p.rlimits // [] | map(select(.type == \"RLIMIT_NOFILE\")) | .[0].soft // empty" "$cfg")
  if [ -n "$want" ]; then
    grep -qx "nofile=$want" <<<"$out" || { echo "RLIMIT_NOFILE: want $want" >&2; return 1; }
  fi
  if jq -e "$p.capabilities.bounding" "$cfg" >/dev/null; then
    want=$(cap_mask $(jq -r "$p.capabilities.bounding[]" "$cfg"))
    grep -qx "CapBnd:$want" <<<"$out" || { echo "CapBnd: want $want" >&2; return 1; }
  fi
  want=0
  jq -e "$p.noNewPrivileges == true" "$cfg" >/dev/null && want=1
  grep -qx "NoNewPrivs:$want" <<<"$out" || { echo "NoNewPrivs: want $want" >&2; return 1; }
  want=0
  jq -e '.linux.seccomp' "$cfg" >/dev/null && want=2
  grep -qx "Seccomp:$want" <<<"$out" || { echo "Seccomp: want $want" >&2; return 1; }
  if jq -e "$p.terminal == true" "$cfg" >/dev/null; then
    grep -q "tty=/dev/pts/[0-9]" <<<"$out" || { echo "terminal: want a pty" >&2; return 1; }
  else
    grep -qx "tty=not a tty" <<<"$out" || { echo "terminal: want none" >&2; return 1; }
  fi
  want=$(jq -r '.linux.resources.memory.limit // empty' "$cfg")
  if [ -n "$want" ]; then
    grep -qx "mem=$want" <<<"$out" || { echo "memory limit: want $want" >&2; return 1; }
  fi
  want=$(jq -r '.linux.resources.pids.limit // empty' "$cfg")
  if [ -n "$want" ] && jq -e '.mounts[] | select(.type == "cgroup")' "$cfg" >/dev/null; then
    grep -qx "pids=$want" <<<"$out" || { echo "pids limit: want $want" >&2; return 1; }
  fi
  want=$(jq -r '.linux.resources.cpu.quota // empty' "$cfg")
  if [ -n "$want" ]; then
    grep -qx "quota=$want" <<<"$out" || { echo "cpu quota: want $want" >&2; return 1; }
  fi
}

# run_config NAME: `$CELL run` the adapted reference config NAME.json
run_config() {
  local name=$1 b id=ref-$1-$$
  b=$(make_bundle "$name" "$REF/$name.json")
  if jq -e '.process.terminal == true' "$b/config.json" >/dev/null; then
    run eng_tty "$CELL --root $ENG_TMP/state run --bundle $b $id"
  else
    run rt run --bundle "$b" "$id" </dev/null
  fi
  echo "$output"
  [ "$status" -eq 0 ]
  check_probe "$b/config.json" .process "$output"
  if jq -e '.hooks.prestart' "$b/config.json" >/dev/null; then
    jq -e --arg id "$id" '.id == $id and .pid > 0' "$b/prestart.state"
  fi
  # run deletes the container: no state, no cgroup left
  [ ! -e "$ENG_TMP/state/$id" ]
  [ ! -d "$(eng_cg_file memory "$ENG_CGPARENT/$name" .)" ]
}

# exec_process PROC_NAME CONFIG_NAME: container from CONFIG_NAME, then
# `$CELL exec --process` the adapted PROC_NAME.json in it.
exec_process() {
  local pname=$1 cname=$2 b id=ref-exec-$1-$$ p
  b=$(make_bundle "exec-$pname" "$REF/$cname.json" '["sleep", "1000"]')
  jq '.process.terminal = false' "$b/config.json" >"$b/c.tmp" && mv "$b/c.tmp" "$b/config.json"
  rt run --detach --bundle "$b" "$id" </dev/null >/dev/null 2>"$ENG_TMP/logs/$id.err" || {
    cat "$ENG_TMP/logs/$id.err"
    return 1
  }
  p=$b/process.json
  jq --arg probe "$PROBE" '.args = ["sh", "-c", $probe]' "$REF/$pname.json" >"$p"
  if jq -e '.terminal == true' "$p" >/dev/null; then
    run eng_tty "$CELL --root $ENG_TMP/state exec --process $p $id"
  else
    run rt exec --process "$p" "$id" </dev/null
  fi
  echo "$output"
  rt kill "$id" 9 || true
  eng_wait_for 5 eval "rt state $id | jq -e '.status == \"stopped\"' >/dev/null"
  rt delete "$id"
  [ "$status" -eq 0 ]
  # the process file has no hostname/seccomp of its own: check against the
  # container config for those, the process file for the rest
  jq --slurpfile proc "$p" '.process = $proc[0]' "$b/config.json" >"$b/merged.json"
  check_probe "$b/merged.json" .process "$output"
  [ ! -e "$ENG_TMP/state/$id" ]
}

@test "every reference config is covered by a test below" {
  local f n=0
  for f in "$REF"/*config*.json "$REF"/*exec-process*.json; do
    grep -q "\"$(basename "$f" .json)\"" "$BATS_TEST_FILENAME" || {
      echo "no test for $f"
      return 1
    }
    n=$((n + 1))
  done
  [ "$n" -ge 10 ]
}

@test "fixtures hold placeholders, not the capture's private paths" {
  local f
  for f in "$REF"/*.json; do
    ! grep -nE '/tmp/|cell-eng-' "$f" || { echo "capture-time path in $f"; return 1; }
  done
  for f in "$REF"/*config*.json; do
    jq -e '.root.path == "@ROOTFS@" or (.root.path | startswith("/") | not)' "$f" >/dev/null ||
      { echo "root.path of $f is neither @ROOTFS@ nor relative"; return 1; }
  done
}

@test "a placeholder the bundle maker does not know fails the bundle" {
  jq '.annotations.x = "@UNKNOWN@"' "$REF/podman-config-example.json" >"$BATS_TEST_TMPDIR/bad.json"
  run make_bundle bad "$BATS_TEST_TMPDIR/bad.json"
  [ "$status" -ne 0 ]
  [[ $output == *"placeholders left"* ]]
}

@test "reference config: containerd-config-example (relative root, noNewPrivileges)" {
  run_config "containerd-config-example"
}

@test "reference config: docker-config-example (seccomp, sysctls, prestart hook, cgroup mount)" {
  run_config "docker-config-example"
}

@test "reference config: docker-config-example-tty (terminal on a pty)" {
  run_config "docker-config-example-tty"
}

@test "reference config: podman-config-example" {
  run_config "podman-config-example"
}

@test "reference config: podman-config-example-tty (terminal on a pty)" {
  run_config "podman-config-example-tty"
}

@test "reference config: podman-config-example-limits (readonly root, catatonit, memory/cpu/pids)" {
  run_config "podman-config-example-limits"
}

@test "reference exec: containerd-exec-process in containerd-config-example" {
  exec_process "containerd-exec-process" "containerd-config-example"
}

@test "reference exec: docker-exec-process in docker-config-example" {
  exec_process "docker-exec-process" "docker-config-example"
}

@test "reference exec: podman-exec-process in podman-config-example" {
  exec_process "podman-exec-process" "podman-config-example"
}

@test "reference exec: podman-exec-process-tty (terminal) in podman-config-example" {
  exec_process "podman-exec-process-tty" "podman-config-example"
}
