# lib.bash - shared helpers for the engine scenarios (tests/engines/*.bats).
#
# Every scenario file drives a real engine (podman, containerd/ctr, dockerd)
# with the runtime under test, $CELL (default: build/cell of this checkout;
# CELL=/usr/sbin/runc runs the same scenarios against runc).  Everything an
# engine keeps lives under a private temp dir $ENG_TMP (/tmp/cell-eng-*):
# storage roots, state, sockets, pid files, logs.  Daemons are started here
# and stopped by pid.  Container cgroups go below the test process's own
# cgroup ($ENG_CGPARENT, see eng_cgroup_init) and are removed afterwards.

ENG_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export ENG_TOP
export CELL=${CELL:-$ENG_TOP/build/cell}
ENG_IMAGE_DIR=${ENG_IMAGE_DIR:-$ENG_TOP/build/engines}
export ENG_IMAGE_DIR
# The Debian docker client (20.10); /usr/local/bin/docker is a newer one.
ENG_DOCKER=/usr/bin/docker
ENG_CGROUP_ROOT=/sys/fs/cgroup
# Every engine/runtime command runs under this timeout (seconds), so a hung
# runtime fails its test instead of stalling the suite.
ENG_CMD_TIMEOUT=${ENG_CMD_TIMEOUT:-60}

eng_t() { timeout -k 5 "$ENG_CMD_TIMEOUT" "$@"; }

eng_log() { echo "# $*" >&3; }

# Fail (in setup_file) unless the runtime binary exists and runs.
eng_require_runtime() {
  if [ ! -x "$CELL" ]; then
    echo "runtime under test not found or not executable: CELL=$CELL" >&2
    return 1
  fi
  "$CELL" --version >/dev/null 2>&1 || {
    echo "runtime under test fails '$CELL --version'" >&2
    return 1
  }
}

# eng_init NAME: private temp dir + cgroup parent + images.  Exports ENG_TMP.
eng_init() {
  local name=$1
  ENG_TMP=$(mktemp -d "/tmp/cell-eng-$name.XXXXXX")
  export ENG_TMP
  mkdir -p "$ENG_TMP/logs"
  eng_require_runtime || return 1
  "$ENG_TOP/tests/engines/mkimage.sh" "$ENG_IMAGE_DIR" >/dev/null || {
    echo "tests/engines/mkimage.sh failed" >&2
    return 1
  }
  eng_cgroup_init "$name"
}

# Teardown counterpart of eng_init: cgroups, mounts, temp dir.  Never fails
# half-way: every step runs, problems are reported on stderr.
eng_fini() {
  [ -n "${ENG_TMP:-}" ] || return 0
  eng_cgroup_cleanup
  eng_umount_below "$ENG_TMP"
  rm -rf --one-file-system "$ENG_TMP" 2>/dev/null ||
    echo "eng_fini: could not remove all of $ENG_TMP" >&2
  return 0
}

# ---------------------------------------------------------------- cgroups
#
# This host is hybrid: v1 controllers at /sys/fs/cgroup/<ctrl>, name=systemd,
# and a controller-less cgroup2 at /sys/fs/cgroup/unified.  The test process
# sits at different paths in different hierarchies (memory is e.g. at
# /process_api/<id>, the others at /).  Engines take ONE cgroup parent path
# that the runtime applies in every hierarchy, so we pick the deepest own
# path and check that every other hierarchy's own path is a prefix of it:
# then <deepest>/cell-eng-NAME-PID lies below our own cgroup everywhere.

# Prints "mountpoint" lines for every cgroup/cgroup2 mount.
eng_cgroup_mounts() {
  awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break;
         if ($(i+1) == "cgroup" || $(i+1) == "cgroup2") print $5 }' /proc/self/mountinfo
}

eng_cgroup_init() {
  local name=$1 line path deepest=/
  local -a paths=()
  while IFS= read -r line; do
    path=${line#*:*:}
    paths+=("$path")
    [ ${#path} -gt ${#deepest} ] && deepest=$path
  done </proc/self/cgroup
  for path in "${paths[@]}"; do
    case "$deepest/" in
    "${path%/}/"*) ;;
    *)
      echo "eng_cgroup_init: own cgroups $path and $deepest are not nested;" \
        "cannot choose one cgroup parent below both (see /proc/self/cgroup)" >&2
      return 1
      ;;
    esac
  done
  ENG_CGPARENT=${deepest%/}/cell-eng-$name-$$
  export ENG_CGPARENT
}

# eng_cg_file CONTROLLER CGROUP_PATH FILE -> prints the absolute file path
eng_cg_file() { echo "$ENG_CGROUP_ROOT/$1$2/$3"; }

# eng_cg_read CONTROLLER CGROUP_PATH FILE -> prints the file's content
eng_cg_read() { cat "$(eng_cg_file "$@")"; }

# Remove everything below $ENG_CGPARENT in every hierarchy.  Processes still
# in there are ours (containers this file started): thaw, kill, then rmdir.
eng_cgroup_cleanup() {
  [ -n "${ENG_CGPARENT:-}" ] || return 0
  local mnt dir pid try left=""
  for mnt in $(eng_cgroup_mounts); do
    [ -d "$mnt$ENG_CGPARENT" ] || continue
    for try in 1 2 3 4 5 6 7 8 9 10; do
      find "$mnt$ENG_CGPARENT" -depth -type d -exec rmdir {} \; 2>/dev/null
      [ -d "$mnt$ENG_CGPARENT" ] || break
      while IFS= read -r dir; do
        [ -f "$dir/freezer.state" ] && echo THAWED >"$dir/freezer.state" 2>/dev/null
        while read -r pid; do
          [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
        done <"$dir/cgroup.procs"
      done < <(find "$mnt$ENG_CGPARENT" -type d)
      sleep 0.2
    done
    [ -d "$mnt$ENG_CGPARENT" ] && left="$left $mnt$ENG_CGPARENT"
  done
  if [ -n "$left" ]; then
    echo "eng_cgroup_cleanup: could not remove:$left" >&2
    return 1
  fi
}

# Every cgroup directory below $ENG_CGPARENT (all hierarchies), one a line.
eng_cgroup_dirs() {
  local mnt
  for mnt in $(eng_cgroup_mounts); do
    [ -d "$mnt$ENG_CGPARENT" ] && find "$mnt$ENG_CGPARENT" -mindepth 1 -type d
  done
  return 0
}

# ----------------------------------------------------------------- mounts

# Unmount (lazily, deepest first) every mount point at or below DIR.
eng_umount_below() {
  local dir=$1 mp
  awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo |
    sort -r | while IFS= read -r mp; do
      umount -l "$mp" 2>/dev/null || echo "eng_umount_below: umount $mp failed" >&2
    done
}

# ---------------------------------------------------------------- daemons

# eng_daemon_start NAME SOCKET CMD... : start CMD in the background (output in
# $ENG_TMP/logs/NAME.log, pid in $ENG_TMP/NAME.pid) and wait up to 60 s for
# the unix socket SOCKET to accept connections.
eng_daemon_start() {
  local name=$1 sock=$2 i pid
  shift 2
  "$@" >"$ENG_TMP/logs/$name.log" 2>&1 </dev/null 3>&- &
  pid=$!
  echo "$pid" >"$ENG_TMP/$name.pid"
  for i in $(seq 1 300); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited during startup; last log lines:" >&2
      tail -n 20 "$ENG_TMP/logs/$name.log" >&2
      return 1
    fi
    [ -S "$sock" ] && return 0
    sleep 0.2
  done
  echo "$name: socket $sock did not appear within 60 s; last log lines:" >&2
  tail -n 20 "$ENG_TMP/logs/$name.log" >&2
  return 1
}

# eng_daemon_stop NAME: SIGTERM the daemon by pid, wait up to 30 s, then
# SIGKILL.  Only the pid recorded by eng_daemon_start is touched.
eng_daemon_stop() {
  local name=$1 pid i
  [ -f "$ENG_TMP/$name.pid" ] || return 0
  pid=$(cat "$ENG_TMP/$name.pid")
  rm -f "$ENG_TMP/$name.pid"
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  echo "$name (pid $pid) ignored SIGTERM for 30 s; sending SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null
  return 0
}

# eng_containerd_start NAME: private containerd (root, state, sockets under
# $ENG_TMP/NAME), no CRI plugin.  Sets ENG_CTRD_SOCK.
eng_containerd_start() {
  local name=$1 d=$ENG_TMP/$1
  mkdir -p "$d"
  cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$d/containerd.sock"
[ttrpc]
  address = "$d/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF
  ENG_CTRD_SOCK=$d/containerd.sock
  export ENG_CTRD_SOCK
  eng_daemon_start "$name" "$ENG_CTRD_SOCK" containerd --config "$d/config.toml"
}

# eng_podman_setup RUNTIME_NAME RUNTIME_PATH IMAGE: private podman
# configuration under $ENG_TMP/podman (storage, run root, locks, events, tmp,
# CNI config) with RUNTIME_NAME -> RUNTIME_PATH as the default runtime, and
# $ENG_IMAGE_DIR/rootfs.tar imported as IMAGE.  Exports CONTAINERS_CONF and
# CONTAINERS_STORAGE_CONF.
eng_podman_setup() {
  local rt_name=$1 rt_path=$2 img=$3 d=$ENG_TMP/podman
  mkdir -p "$d/tmp" "$d/net"
  cat >"$d/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "none"

[network]
# netavark would create /run/containers/networks on the host; CNI keeps
# everything (config, lock) in network_config_dir.  No network is used.
network_backend = "cni"
network_config_dir = "$d/net"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$d/events.log"
lock_type = "file"
tmp_dir = "$d/tmp"
volume_path = "$d/root/volumes"
static_dir = "$d/root/libpod"
runtime = "$rt_name"
runtime_supports_json = ["$rt_name", "crun", "runc"]

[engine.runtimes]
$rt_name = ["$rt_path"]
EOF
  cat >"$d/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$d/root"
runroot = "$d/run"
EOF
  export CONTAINERS_CONF=$d/containers.conf
  export CONTAINERS_STORAGE_CONF=$d/storage.conf
  # `podman import` (containers/image) keeps a blob-info cache at the fixed
  # path /var/lib/containers/cache for root; podman 4.3 has no setting for it.
  # Import in a private mount namespace where that path is a private dir.
  mkdir -p "$d/var-lib-containers"
  eng_t unshare -m --propagation private sh -c '
    if [ -d /var/lib/containers ]; then
      mount --bind "$1" /var/lib/containers
    else
      mount -t tmpfs -o size=16m,mode=0755 cell-eng /var/lib
    fi &&
    exec podman import "$2" "$3"' sh "$d/var-lib-containers" "$ENG_IMAGE_DIR/rootfs.tar" "$img" \
    >"$ENG_TMP/logs/import.log" 2>&1 || {
    cat "$ENG_TMP/logs/import.log" >&2
    return 1
  }
}

# eng_dockerd_start RUNTIME_NAME RUNTIME_PATH IMAGE: a private containerd
# (daemon name docker-containerd) and dockerd (daemon name dockerd, API socket
# $ENG_TMP/docker/docker.sock) with RUNTIME_NAME -> RUNTIME_PATH added and the
# default runtime, cgroups below $ENG_CGPARENT, no networking; imports
# $ENG_IMAGE_DIR/rootfs.tar as IMAGE.
eng_dockerd_start() {
  local rt_name=$1 rt_path=$2 img=$3 dd=$ENG_TMP/docker
  eng_containerd_start docker-containerd || return 1
  mkdir -p "$dd"
  cat >"$dd/daemon.json" <<EOF
{"deprecated-key-path": "$dd/key.json"}
EOF
  eng_daemon_start dockerd "$dd/docker.sock" dockerd \
    --config-file "$dd/daemon.json" \
    --data-root "$dd/root" --exec-root "$dd/exec" --pidfile "$dd/docker.pid" \
    -H "unix://$dd/docker.sock" \
    --containerd "$ENG_CTRD_SOCK" --containerd-namespace cell-docker \
    --containerd-plugins-namespace cell-docker-plugins \
    --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
    --bridge=none --userland-proxy=false \
    --storage-driver overlay2 \
    --exec-opt native.cgroupdriver=cgroupfs --cgroup-parent "$ENG_CGPARENT" \
    --add-runtime "$rt_name=$rt_path" --default-runtime "$rt_name" || return 1
  eng_wait_for 30 eng_docker version >/dev/null 2>&1 || { echo "dockerd API not answering" >&2; return 1; }
  eng_docker import -c 'CMD ["/bin/sh"]' "$ENG_IMAGE_DIR/rootfs.tar" "$img" >"$ENG_TMP/logs/import.log" 2>&1 || {
    cat "$ENG_TMP/logs/import.log" >&2
    return 1
  }
}

# eng_docker ARGS...: the Debian docker client on our private dockerd.
eng_docker() { eng_t "$ENG_DOCKER" -H "unix://$ENG_TMP/docker/docker.sock" "$@"; }

# eng_dockerd_stop: counterpart of eng_dockerd_start (by recorded pids); also
# kills shims left behind by tasks that could not be deleted.
eng_dockerd_stop() {
  local f
  eng_daemon_stop dockerd
  eng_daemon_stop docker-containerd
  for f in "$ENG_TMP"/docker-containerd/state/io.containerd.runtime.v2.task/*/*/shim.pid; do
    [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
  done
  return 0
}

# --------------------------------------------------------------- terminal

# eng_tty CMD: run the shell command line CMD on a fresh pty (util-linux
# script), stdin at EOF, under the command timeout.  Exit status is CMD's.
# The output loses the pty's CRs and the "^@" that the pty echoes when
# script passes on the EOF of its stdin.
eng_tty() {
  local out rc
  out=$(timeout -k 5 "$ENG_CMD_TIMEOUT" script -qec "$1" /dev/null </dev/null)
  rc=$?
  out=${out//$'\r'/}
  out=${out//'^@'/}
  printf '%s\n' "$out"
  return $rc
}

# ------------------------------------------------------------------ waits

# eng_wait_for TIMEOUT_S CMD...: retry CMD every 0.1 s until it succeeds.
eng_wait_for() {
  local t=$1 i
  shift
  for i in $(seq 1 $((t * 10))); do
    "$@" && return 0
    sleep 0.1
  done
  "$@"
}
