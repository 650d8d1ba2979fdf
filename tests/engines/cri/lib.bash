# cri/lib.bash - the node under test for tests/engines/cri.bats: a private
# containerd 1.6 with its CRI plugin, run inside a network namespace of its
# own (the CNI bridge and veths never touch the real host network), plus a
# private cellfs, and helpers around the CRI client cri.py.
#
# Layout under $ENG_TMP (tests/engines/lib.bash makes it):
#   cri/config.toml     containerd config (root, state, sockets, handlers)
#   cri/root cri/state  containerd's root and state
#   cri/cell-root cri/runc-root   the runtimes' state roots (shim --root)
#   cni/                CNI conf dir (bridge hcri0, 10.213.7.0/24), cni-ipam/
#   cellfs/             cellfs mountpoint (annotation run.cell.fsview.path)
#   pods/               pod log directories
# The network namespace is /run/netns/hcri-<pid>; containerd runs in it with
# `nsenter --net`, so it keeps the host's mount namespace and cgroup mounts.

CRI_PY=/usr/bin/python3
CRI_CLIENT=$ENG_TOP/tests/engines/cri/cri.py
CRI_PAUSE_IMAGE=docker.io/library/hcri-pause:1
CRI_IMAGE=docker.io/library/cellbusybox:latest
CRI_SUBNET_PREFIX=10.213.7
CRI_BRIDGE=hcri0

# cri METHOD [JSON]: one RuntimeService call, response JSON on stdout.
cri() { eng_t "$CRI_PY" "$CRI_CLIENT" "$CRI_SOCK" "$@"; }
crictr() { eng_t ctr --address "$CRI_SOCK" -n k8s.io "$@"; }

cri_netns_up() {
  CRI_NETNS=hcri-$$
  export CRI_NETNS
  ip netns add "$CRI_NETNS" || return 1
  echo "$CRI_NETNS" >"$ENG_TMP/netns"
  ip -n "$CRI_NETNS" link set lo up
}

cri_netns_down() {
  [ -f "$ENG_TMP/netns" ] || return 0
  ip netns delete "$(cat "$ENG_TMP/netns")" 2>/dev/null ||
    echo "cri_netns_down: could not delete netns $(cat "$ENG_TMP/netns")" >&2
  rm -f "$ENG_TMP/netns"
}

# cri_cellfs_start: cellfs of the build under test (or of this checkout when
# the runtime under test is runc) at $ENG_TMP/cellfs.
cri_cellfs_start() {
  local cellfs
  cellfs=$(dirname "$CELL")/cellfs
  [ -x "$cellfs" ] || cellfs=$ENG_TOP/build/cellfs
  CRI_CELLFS=$ENG_TMP/cellfs
  export CRI_CELLFS
  mkdir -p "$CRI_CELLFS"
  if [ ! -x "$cellfs" ]; then
    # runc under both handlers (make engines-runc) needs no cellfs
    "$CELL" --version 2>/dev/null | grep -q '^cell version' || return 0
    echo "cellfs not built: $cellfs" >&2
    return 1
  fi
  "$cellfs" "$CRI_CELLFS" >"$ENG_TMP/logs/cellfs.log" 2>&1 </dev/null 3>&- &
  echo $! >"$ENG_TMP/cellfs.pid"
  eng_wait_for 10 grep -q " $CRI_CELLFS fuse.cellfs " /proc/self/mounts || {
    echo "cellfs did not mount $CRI_CELLFS" >&2
    cat "$ENG_TMP/logs/cellfs.log" >&2
    return 1
  }
}

cri_cellfs_stop() {
  eng_daemon_stop cellfs
  if [ -n "${CRI_CELLFS:-}" ] && grep -q " $CRI_CELLFS " /proc/self/mounts; then
    umount -l "$CRI_CELLFS"
  fi
  return 0
}

cri_write_configs() {
  local d=$ENG_TMP/cri
  mkdir -p "$d" "$d/cell-root" "$d/runc-root" "$ENG_TMP/cni" "$ENG_TMP/cni-ipam" "$ENG_TMP/pods"
  cat >"$ENG_TMP/cni/10-hcri.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "hcri",
  "plugins": [
    {"type": "bridge", "bridge": "$CRI_BRIDGE", "isGateway": true, "ipMasq": false,
     "ipam": {"type": "host-local", "dataDir": "$ENG_TMP/cni-ipam",
              "ranges": [[{"subnet": "$CRI_SUBNET_PREFIX.0/24"}]]}}
  ]
}
EOF
  cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = [
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.native",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]
[grpc]
  address = "$d/containerd.sock"
[ttrpc]
  address = "$d/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$CRI_PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  tolerate_missing_hugetlb_controller = true
  disable_hugetlb_controller = true
  enable_cdi = false
  # no CAP_SYS_RESOURCE here: the pause container's -998 is clamped to ours
  restrict_oom_score_adj = true
  # pod network namespaces under state/, not /run/netns
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.cell]
      runtime_type = "io.containerd.runc.v2"
      pod_annotations = ["run.cell.*"]
      container_annotations = ["run.cell.*"]
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.cell.options]
        BinaryName = "$CELL"
        Root = "$d/cell-root"
        SystemdCgroup = false
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      pod_annotations = ["run.cell.*"]
      container_annotations = ["run.cell.*"]
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        Root = "$d/runc-root"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$ENG_TMP/cni"
    max_conf_num = 1
EOF
}

# cri_node_up: netns, cellfs, containerd (in the netns), images imported.
cri_node_up() {
  cri_netns_up || return 1
  cri_cellfs_start || return 1
  cri_write_configs
  CRI_SOCK=$ENG_TMP/cri/containerd.sock
  export CRI_SOCK
  eng_daemon_start cri "$CRI_SOCK" nsenter --net="/run/netns/$CRI_NETNS" \
    containerd --config "$ENG_TMP/cri/config.toml" || return 1
  local pause
  pause=$("$ENG_TOP/tests/engines/cri/mkpause.sh" "$ENG_IMAGE_DIR/cri") || return 1
  if ! { crictr images import "$pause" && crictr images import "$ENG_IMAGE_DIR/oci-image.tar"; } \
    >"$ENG_TMP/logs/import.log" 2>&1; then
    cat "$ENG_TMP/logs/import.log" >&2
    return 1
  fi
  # the CRI plugin is up when Status answers RuntimeReady and NetworkReady
  eng_wait_for 30 cri_ready || { cri Status '{}' >&2; return 1; }
}

cri_ready() {
  local out
  out=$(cri Status '{}' 2>/dev/null) || return 1
  jq -e '[.status.conditions[] | select(.status)] | length == 2' <<<"$out" >/dev/null
}

# Remove every pod (and so every container) the CRI knows.
cri_remove_all() {
  local id
  [ -S "${CRI_SOCK:-/nonexistent}" ] || return 0
  for id in $(cri ListPodSandbox '{}' 2>/dev/null | jq -r '.items[].id'); do
    cri StopPodSandbox "{\"pod_sandbox_id\":\"$id\"}" >/dev/null 2>&1
    cri RemovePodSandbox "{\"pod_sandbox_id\":\"$id\"}" >/dev/null 2>&1
  done
  return 0
}

cri_node_down() {
  cri_remove_all
  eng_daemon_stop cri
  # shims of tasks that could not be deleted (their pids are in the bundles)
  local f
  for f in "$ENG_TMP"/cri/state/io.containerd.runtime.v2.task/*/*/shim.pid; do
    [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
  done
  cri_cellfs_stop
  cri_netns_down
}

# ------------------------------------------------------------ requests

# cri_pod_config NAME NETWORK(node|pod) [EXTRA_JQ] -> PodSandboxConfig JSON.
# Host-network pods have no hostname (no UTS namespace of their own).
# The pod's cgroup parent is $ENG_CGPARENT/hcri-NAME; logs in pods/NAME.
cri_pod_config() {
  local name=$1 net=$2 extra=${3:-.}
  local mode=NODE
  [ "$net" = pod ] && mode=POD
  mkdir -p "$ENG_TMP/pods/$name"
  jq -nc --arg n "$name" --arg mode "$mode" --arg cg "$ENG_CGPARENT/hcri-$name" \
    --arg logs "$ENG_TMP/pods/$name" --arg fsv "$CRI_CELLFS" '
    {metadata: {name: $n, uid: ("uid-" + $n), namespace: "hcri", attempt: 0},
     hostname: (if $mode == "POD" then $n else "" end), log_directory: $logs,
     annotations: {"run.cell.fsview.path": $fsv},
     linux: {cgroup_parent: $cg,
             security_context: {namespace_options: {network: $mode, pid: "CONTAINER", ipc: "POD"}}}}
    | '"$extra"
}

# cri_run_pod HANDLER CONFIG_JSON -> sandbox id
cri_run_pod() {
  jq -nc --arg h "$1" --argjson c "$2" '{config: $c, runtime_handler: $h}' |
    cri RunPodSandbox - | jq -re .pod_sandbox_id
}

# json_argv ARGS... -> the arguments as a JSON array of strings (jq's
# --args would take "-c" for its own option)
json_argv() {
  local a
  for a in "$@"; do jq -n --arg a "$a" '$a'; done | jq -sc .
}

# cri_ctr_config NAME EXTRA_JQ CMD... -> ContainerConfig JSON
cri_ctr_config() {
  local name=$1 extra=$2
  shift 2
  jq -nc --arg n "$name" --arg img "$CRI_IMAGE" --argjson cmd "$(json_argv "$@")" '
    {metadata: {name: $n}, image: {image: $img}, command: $cmd,
     log_path: ($n + ".log"),
     linux: {security_context: {namespace_options: {network: "POD", pid: "CONTAINER", ipc: "POD"}}}}
    | '"$extra"
}

# cri_create POD_ID POD_CONFIG CTR_CONFIG -> container id
cri_create() {
  jq -nc --arg p "$1" --argjson s "$2" --argjson c "$3" \
    '{pod_sandbox_id: $p, config: $c, sandbox_config: $s}' |
    cri CreateContainer - | jq -re .container_id
}

cri_start() { cri StartContainer "{\"container_id\":\"$1\"}" >/dev/null; }

# cri_exec ID CMD... : ExecSync; prints stdout (stderr on stderr), exit
# status is the command's
cri_exec() {
  local id=$1 out rc
  shift
  out=$(jq -nc --arg id "$id" --argjson cmd "$(json_argv "$@")" '{container_id: $id, cmd: $cmd, timeout: 30}' |
    cri ExecSync -) || return 255
  jq -j .stdout <<<"$out"
  jq -j .stderr <<<"$out" >&2
  rc=$(jq -r .exit_code <<<"$out")
  return "$rc"
}

cri_status() { cri ContainerStatus "{\"container_id\":\"$1\"}"; }
cri_state() { cri_status "$1" | jq -r .status.state; }
cri_pod_status() { cri PodSandboxStatus "{\"pod_sandbox_id\":\"$1\"}"; }

# cri_container_pid ID: the container's init pid (ContainerStatus verbose info)
cri_container_pid() {
  cri ContainerStatus "{\"container_id\":\"$1\",\"verbose\":true}" | jq -r '.info.info | fromjson | .pid'
}
