#!/usr/bin/env bats
# Kubernetes' view of the runtime: containerd 1.6's CRI plugin driven over
# its gRPC socket by a small CRI client (cri/cri.py), as the kubelet does.
# One private containerd (cri/lib.bash: own root, state, socket, CNI bridge,
# all inside a network namespace of its own) registers two RuntimeClass
# handlers, both io.containerd.runc.v2: `cell` (BinaryName = $CELL) and
# `runc` (/usr/sbin/runc, the control).  Every scenario runs once per
# handler.  Pod cgroup parents are $ENG_CGPARENT/hcri-<pod>.

bats_require_minimum_version 1.5.0
load lib
load cri/lib

setup_file() {
  command -v containerd >/dev/null && command -v ctr >/dev/null ||
    { echo "containerd/ctr missing: run make engines-deps" >&2; return 1; }
  eng_init hcri || return 1
  cri_node_up
}

teardown_file() {
  cri_node_down
  eng_fini
}

teardown() {
  cri_remove_all
}

# ctr_cg_file PID CONTROLLER FILE: a cgroup v1 file of a process's cgroup
# (this host mounts cpu and cpuacct separately)
ctr_cg_file() {
  local path
  path=$(awk -F: -v c="$2" '$2 == c { print $3 }' "/proc/$1/cgroup")
  echo "$ENG_CGROUP_ROOT/$2$path/$3"
}

# ---------------------------------------------------------------- scenarios

# RunPodSandbox (host network) .. RemovePodSandbox with one long-running
# container: limits, ExecSync, stats, update, log reopen, stop, removal.
scenario_lifecycle() {
  local h=$1 pod cfg ctr cid pid out log
  cfg=$(cri_pod_config "life-$h" node)
  pod=$(cri_run_pod "$h" "$cfg")
  run -0 cri_pod_status "$pod"
  [ "$(jq -r .status.state <<<"$output")" = SANDBOX_READY ]
  [ "$(jq -r .status.runtime_handler <<<"$output")" = "$h" ]

  ctr=$(cri_ctr_config c1 '.linux.resources = {memory_limit_in_bytes: 67108864, cpu_period: 100000,
      cpu_quota: 50000, cpu_shares: 512}' \
    sh -c 'trap "echo usr1-\$(date +%s%N)" USR1; trap "echo term; exit 0" TERM; echo started; while :; do sleep 0.1; done')
  cid=$(cri_create "$pod" "$cfg" "$ctr")
  [ "$(cri_state "$cid")" = CONTAINER_CREATED ]
  cri_start "$cid"
  [ "$(cri_state "$cid")" = CONTAINER_RUNNING ]

  # the runtime under test runs it, in the pod's cgroup parent, with its limits
  pid=$(cri_container_pid "$cid")
  [ "$(awk -F: '$2 == "memory" { print $3 }' "/proc/$pid/cgroup")" = "$ENG_CGPARENT/hcri-life-$h/$cid" ]
  [ "$(cat "$(ctr_cg_file "$pid" memory memory.limit_in_bytes)")" = 67108864 ]
  [ "$(cat "$(ctr_cg_file "$pid" cpu cpu.cfs_quota_us)")" = 50000 ]
  [ "$(cat "$(ctr_cg_file "$pid" cpu cpu.shares)")" = 512 ]
  ls "$ENG_TMP/cri/$h-root/k8s.io" | grep -qx "$cid"

  # host network: the container is in containerd's netns
  run -0 cri_exec "$cid" readlink /proc/self/ns/net
  [ "$output" = "net:[$(stat -L -c %i "/run/netns/$CRI_NETNS")]" ]
  # ExecSync: output and exit status
  run -7 cri_exec "$cid" sh -c 'echo out; echo err >&2; exit 7'
  [ "$output" = $'out\nerr' ]
  run -0 cri_exec "$cid" cat /sys/fs/cgroup/memory/memory.limit_in_bytes
  [ "$output" = 67108864 ]

  # stats
  run -0 cri ContainerStats "{\"container_id\":\"$cid\"}"
  [ "$(jq -r .stats.attributes.id <<<"$output")" = "$cid" ]
  [ "$(jq -r '.stats.memory.working_set_bytes.value | tonumber > 0' <<<"$output")" = true ]
  [ "$(jq -r '.stats.cpu.usage_core_nano_seconds.value | tonumber > 0' <<<"$output")" = true ]
  run -0 cri ListContainerStats "{\"filter\":{\"pod_sandbox_id\":\"$pod\"}}"
  [ "$(jq -r '[.stats[].attributes.id] | join(" ")' <<<"$output")" = "$cid" ]

  # UpdateContainerResources, seen in the cgroup and from inside
  cri UpdateContainerResources "{\"container_id\":\"$cid\",\"linux\":{\"memory_limit_in_bytes\":134217728,
    \"cpu_period\":100000,\"cpu_quota\":150000,\"cpu_shares\":1024}}" >/dev/null
  [ "$(cat "$(ctr_cg_file "$pid" memory memory.limit_in_bytes)")" = 134217728 ]
  [ "$(cat "$(ctr_cg_file "$pid" cpu cpu.shares)")" = 1024 ]
  run -0 cri_exec "$cid" cat /sys/fs/cgroup/memory/memory.limit_in_bytes
  [ "$output" = 134217728 ]

  # ReopenContainerLog: the rotated file stops growing, the new one gets output
  log=$ENG_TMP/pods/life-$h/c1.log
  grep -q ' stdout F started$' "$log"
  mv "$log" "$log.1"
  cri ReopenContainerLog "{\"container_id\":\"$cid\"}" >/dev/null
  [ -f "$log" ]
  cri_exec "$cid" kill -USR1 1
  eng_wait_for 10 grep -q ' stdout F usr1-' "$log"
  ! grep -q usr1- "$log.1"

  # StopContainer: TERM, the trap's exit code
  cri StopContainer "{\"container_id\":\"$cid\",\"timeout\":10}" >/dev/null
  run -0 cri_status "$cid"
  [ "$(jq -r .status.state <<<"$output")" = CONTAINER_EXITED ]
  [ "$(jq -r .status.exit_code <<<"$output")" = 0 ]
  [ "$(jq -r .status.reason <<<"$output")" = Completed ]
  ! kill -0 "$pid" 2>/dev/null
  grep -q ' stdout F term$' "$log"
  cri RemoveContainer "{\"container_id\":\"$cid\"}" >/dev/null
  run -3 cri_status "$cid"
  ! ls "$ENG_TMP/cri/$h-root/k8s.io" | grep -qx "$cid"

  cri StopPodSandbox "{\"pod_sandbox_id\":\"$pod\"}" >/dev/null
  [ "$(cri_pod_status "$pod" | jq -r .status.state)" = SANDBOX_NOTREADY ]
  cri RemovePodSandbox "{\"pod_sandbox_id\":\"$pod\"}" >/dev/null
  run -3 cri_pod_status "$pod"
  # nothing left: runtime state, cgroups below the pod's parent
  [ -z "$(ls "$ENG_TMP/cri/$h-root/k8s.io")" ]
  [ -z "$(find "$ENG_CGROUP_ROOT/memory$ENG_CGPARENT/hcri-life-$h" -mindepth 1 -type d 2>/dev/null)" ]
}

@test "cell: pod lifecycle over the CRI (host network): limits, ExecSync, stats, update, log reopen, stop, remove" {
  scenario_lifecycle cell
}

@test "runc: pod lifecycle over the CRI (host network): limits, ExecSync, stats, update, log reopen, stop, remove" {
  scenario_lifecycle runc
}

# A pod on the CNI bridge: its IP from the bridge's subnet, its own hostname,
# the gateway (the bridge in containerd's netns) reachable; the veth and the
# IP lease are gone after StopPodSandbox.
scenario_bridge() {
  local h=$1 pod cfg cid side ip ns
  cfg=$(cri_pod_config "net-$h" pod)
  pod=$(cri_run_pod "$h" "$cfg")
  ip=$(cri_pod_status "$pod" | jq -r .status.network.ip)
  [[ $ip == "$CRI_SUBNET_PREFIX".* ]]
  cid=$(cri_create "$pod" "$cfg" "$(cri_ctr_config web . sleep 600)")
  cri_start "$cid"
  run -0 cri_exec "$cid" ip -4 -o addr show eth0
  [[ $output == *" inet $ip/24 "* ]]
  run -0 cri_exec "$cid" hostname
  [ "$output" = "net-$h" ]
  # not the node's network namespace
  run -0 cri_exec "$cid" readlink /proc/self/ns/net
  [ "$output" != "net:[$(stat -L -c %i "/run/netns/$CRI_NETNS")]" ]
  run -0 cri_exec "$cid" ping -c 1 -W 5 "$CRI_SUBNET_PREFIX.1"
  # and the node reaches the pod
  run -0 ip netns exec "$CRI_NETNS" busybox ping -c 1 -W 5 "$ip"
  [ -n "$(ip -n "$CRI_NETNS" -o link show type veth)" ]
  ls "$ENG_TMP/cni-ipam/hcri" | grep -qx "$ip"
  # a second container joins the sandbox's namespaces by path: network, ipc
  # and uts, and with pid POD the pause process is its pid 1
  side=$(cri_create "$pod" "$cfg" "$(cri_ctr_config side '.linux.security_context.namespace_options.pid = "POD"' sleep 600)")
  cri_start "$side"
  for ns in net ipc uts; do
    [ "$(cri_exec "$side" readlink /proc/self/ns/$ns)" = "$(cri_exec "$cid" readlink /proc/self/ns/$ns)" ]
  done
  [ "$(cri_exec "$side" cat /proc/1/cmdline)" = /pause ]
  [ "$(cri_exec "$cid" cat /proc/1/cmdline)" = sleep600 ]
  run -0 cri_exec "$side" ip -4 -o addr show eth0
  [[ $output == *" inet $ip/24 "* ]]

  cri StopPodSandbox "{\"pod_sandbox_id\":\"$pod\"}" >/dev/null
  [ "$(cri_state "$cid")" = CONTAINER_EXITED ]
  [ -z "$(ip -n "$CRI_NETNS" -o link show type veth)" ]
  ! ls "$ENG_TMP/cni-ipam/hcri" | grep -qx "$ip"
  cri RemovePodSandbox "{\"pod_sandbox_id\":\"$pod\"}" >/dev/null
  [ -z "$(ls "$ENG_TMP/cri/$h-root/k8s.io")" ]
}

@test "cell: pod on a CNI bridge network: pod IP, hostname, gateway and node reachable, a second container joins the pod namespaces, veth and lease released" {
  scenario_bridge cell
}

@test "runc: pod on a CNI bridge network: pod IP, hostname, gateway and node reachable, a second container joins the pod namespaces, veth and lease released" {
  scenario_bridge runc
}

# wait_exited ID: until the container's state is CONTAINER_EXITED
wait_exited() { eng_wait_for 30 eval "[ \"\$(cri_state $1)\" = CONTAINER_EXITED ]"; }

# A container that exits 7 (reason Error) and one killed by the OOM killer
# at its memory limit (exit code 137, reason OOMKilled).
scenario_exit_oom() {
  local h=$1 pod cfg c1 c2
  cfg=$(cri_pod_config "exit-$h" node)
  pod=$(cri_run_pod "$h" "$cfg")
  c1=$(cri_create "$pod" "$cfg" "$(cri_ctr_config fail . sh -c 'echo failing; exit 7')")
  c2=$(cri_create "$pod" "$cfg" "$(cri_ctr_config oom '.linux.resources = {memory_limit_in_bytes: 33554432,
    memory_swap_limit_in_bytes: 33554432}' sh -c 'a=0123456789abcdef; while :; do a=$a$a; done')")
  cri_start "$c1"
  cri_start "$c2"
  wait_exited "$c1"
  wait_exited "$c2"
  run -0 cri_status "$c1"
  [ "$(jq -r .status.exit_code <<<"$output")" = 7 ]
  [ "$(jq -r .status.reason <<<"$output")" = Error ]
  grep -q ' stdout F failing$' "$ENG_TMP/pods/exit-$h/fail.log"
  run -0 cri_status "$c2"
  [ "$(jq -r .status.exit_code <<<"$output")" = 137 ]
  [ "$(jq -r .status.reason <<<"$output")" = OOMKilled ]
}

@test "cell: a container's exit code and reason Error; a container over its memory limit is OOMKilled" {
  scenario_exit_oom cell
}

@test "runc: a container's exit code and reason Error; a container over its memory limit is OOMKilled" {
  scenario_exit_oom runc
}

# is_cell HANDLER: the handler's binary is cell (under `make engines-runc`
# both handlers are runc)
is_cell() {
  local bin=/usr/sbin/runc
  [ "$1" = cell ] && bin=$CELL
  "$bin" --version 2>/dev/null | grep -q '^cell version'
}

# Pods see their own limits, with cellfs on the node and no webhook: cell
# binds cellfs's views into every container of the pod.  The pod's cgroup
# parent is limited to 512 MiB (as the kubelet limits a pod); c1 has 256 MiB
# and 0.5 CPU of its own, c2 has no limit and sees the pod's.  runc (the
# control) shows the kernel's values.
scenario_fsview() {
  local h=$1 pod cfg c1 c2 mem_kb
  cfg=$(cri_pod_config "fs-$h" node)
  mkdir -p "$ENG_CGROUP_ROOT/memory$ENG_CGPARENT/hcri-fs-$h"
  echo 536870912 >"$ENG_CGROUP_ROOT/memory$ENG_CGPARENT/hcri-fs-$h/memory.limit_in_bytes"
  pod=$(cri_run_pod "$h" "$cfg")
  c1=$(cri_create "$pod" "$cfg" "$(cri_ctr_config c1 '.linux.resources = {memory_limit_in_bytes: 268435456,
    cpu_period: 100000, cpu_quota: 50000}' sleep 600)")
  c2=$(cri_create "$pod" "$cfg" "$(cri_ctr_config c2 . sleep 600)")
  cri_start "$c1"
  cri_start "$c2"
  run -0 cri_exec "$c1" sh -c 'head -n1 /proc/meminfo; head -n1 /sys/devices/system/cpu/online; grep -c ^processor /proc/cpuinfo; nproc'
  if is_cell "$h"; then
    [[ ${lines[0]} == "MemTotal:"*" 262144 kB" ]]
    [ "${lines[1]}" = 0 ]
    [ "${lines[2]}" = 1 ]
    [ "${lines[3]}" = 1 ] # the quota's CPU affinity (runtime/affinity.h)
    run -0 cri_exec "$c2" head -n1 /proc/meminfo
    [[ $output == "MemTotal:"*" 524288 kB" ]]
  else
    mem_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
    [[ ${lines[0]} == "MemTotal:"*" $mem_kb kB" ]]
    [ "${lines[1]}" = "$(cat /sys/devices/system/cpu/online)" ]
    run -0 cri_exec "$c2" head -n1 /proc/meminfo
    [[ $output == "MemTotal:"*" $mem_kb kB" ]]
  fi
}

@test "cell: pods see their own limits (container and pod-level cgroup parent) through cellfs" {
  scenario_fsview cell
}

@test "runc: pods see the kernel's /proc/meminfo and CPUs (no cellfs views: the control)" {
  scenario_fsview runc
}

# systemd pods: the Debian systemd image (cri/mksystemd.sh, cached in
# build/cache) with its own Cmd /sbin/init, which makes cell choose systemd
# mode (runtime/sysinit.h).  systemd reaches `running`; StopContainer's
# SIGTERM reaches it as SIGRTMIN+3 and it halts before the grace period ends.
# A cell feature: under runc, systemd's cgroup tree is read-only and SIGTERM
# makes it re-execute, so there is no runc counterpart.
@test "cell: a systemd pod (Debian image, Cmd /sbin/init) reaches running and halts on StopContainer" {
  is_cell cell || skip "the cell handler runs runc (CELL=$CELL)"
  local img pod cfg cid t0
  img=$("$ENG_TOP/tests/engines/cri/mksystemd.sh" "$ENG_TOP/build/cache")
  crictr images import "$img" >>"$ENG_TMP/logs/import.log" 2>&1
  cfg=$(cri_pod_config sd-cell pod)
  pod=$(cri_run_pod cell "$cfg")
  cid=$(cri_create "$pod" "$cfg" "$(cri_ctr_config sd '.image.image = "docker.io/library/hcri-systemd:1" | del(.command)')")
  cri_start "$cid"
  # systemctl needs systemd's private socket
  eng_wait_for 30 cri_exec "$cid" test -S /run/systemd/private
  run cri_exec "$cid" timeout 60 systemctl is-system-running --wait
  echo "$output"
  if [ "$output" != running ]; then
    cri_exec "$cid" systemctl --failed --no-pager >&2 || true
  fi
  [ "$output" = running ]
  run -0 cri_exec "$cid" cat /proc/1/comm
  [ "$output" = systemd ]
  run -0 cri_exec "$cid" sh -c 'echo $(stat -fc %T /run /tmp); tr "\0" "\n" </proc/1/environ | grep ^container='
  [ "${lines[0]}" = "tmpfs tmpfs" ]
  [ "${lines[1]}" = container=cell ]
  t0=$SECONDS
  cri StopContainer "{\"container_id\":\"$cid\",\"timeout\":30}" >/dev/null
  [ $((SECONDS - t0)) -lt 30 ]
  run -0 cri_status "$cid"
  [ "$(jq -r .status.state <<<"$output")" = CONTAINER_EXITED ]
  [ "$(jq -r .status.exit_code <<<"$output")" != 137 ]
}
