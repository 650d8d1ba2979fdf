# podman.bash - a private podman for the image tests and benchmark: storage, run root, config and the
# blob-info cache all under $1 (never the host's).  Source it, then call himg_podman_setup DIR;
# run podman as `himg_podman ARGS...` (a private mount namespace where /var/lib/containers is DIR's).
himg_podman_setup() {
  local d=$1
  mkdir -p "$d/tmp" "$d/net" "$d/var-lib-containers"
  cat >"$d/containers.conf" <<EOC
[containers]
netns = "none"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[network]
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
EOC
  cat >"$d/storage.conf" <<EOC
[storage]
driver = "overlay"
graphroot = "$d/root"
runroot = "$d/run"
EOC
  export CONTAINERS_CONF=$d/containers.conf CONTAINERS_STORAGE_CONF=$d/storage.conf HIMG_PODMAN_DIR=$d
}

himg_podman() {
  unshare -m --propagation private sh -c '
    d=$1; shift
    if [ -d /var/lib/containers ]; then mount --bind "$d/var-lib-containers" /var/lib/containers
    else mount -t tmpfs -o size=16m,mode=0755 himg /var/lib; fi && exec podman "$@"' sh "$HIMG_PODMAN_DIR" "$@"
}

# podman's overlay storage mounts below its graphroot: unmount them, then remove the dir.
himg_podman_teardown() {
  local d=$1
  [ -n "$d" ] && [ -d "$d" ] || return 0
  himg_podman system reset -f >/dev/null 2>&1 || true
  grep -o " $d/[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$d"
}
