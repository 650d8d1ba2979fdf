#!/usr/bin/env bats
# cellfs as a sidecar for another runtime: a runc container whose config
# bind-mounts cellfs's files over /proc and /sys/devices/system/cpu (what
# examples/kubernetes/pod.yaml does with hostPath volumes) sees its own limits
# in procps `free`, `nproc`, cpuinfo and `uptime`.
load helpers

RUNC=${RUNC:-/usr/sbin/runc}

setup() {
  MNT=$BATS_TEST_TMPDIR/mnt
  CELLFS_PID=
  B=$BATS_TEST_TMPDIR/bundle
  RROOT=$BATS_TEST_TMPDIR/runc-root
  ID=sidecar-$$
  start_cellfs "$MNT"
  # a rootfs made of the host's /usr (procps free, coreutils nproc), read-only
  mkdir -p "$B/rootfs"/{usr,etc,proc,sys,dev,tmp}
  for l in bin sbin lib lib64; do ln -s "usr/$l" "$B/rootfs/$l"; done
  (cd "$B" && "$RUNC" spec)
  jq --arg mnt "$MNT" --arg cg "cellfs-sidecar-$$" '
    .process.terminal = false
    | .process.args = ["sh", "-c", "free -m | sed -n 2p; nproc; grep -c ^processor /proc/cpuinfo; cat /sys/devices/system/cpu/online; cat /proc/uptime"]
    | .root.readonly = true
    | .linux.cgroupsPath = $cg
    | .linux.resources.memory = {"limit": 268435456}
    | .linux.resources.cpu = {"cpus": "0", "quota": 50000, "period": 100000}
    | .mounts += [
        {"destination": "/usr", "type": "bind", "source": "/usr", "options": ["rbind", "ro"]},
        {"destination": "/etc", "type": "bind", "source": "/etc", "options": ["rbind", "ro"]}]
    | .mounts += ([ "meminfo", "cpuinfo", "stat", "uptime", "loadavg", "diskstats", "swaps" ]
        | map({"destination": ("/proc/" + .), "type": "bind", "source": ($mnt + "/proc/" + .), "options": ["bind", "ro"]}))
    | .mounts += ([ "online", "possible", "present" ]
        | map({"destination": ("/sys/devices/system/cpu/" + .), "type": "bind",
               "source": ($mnt + "/sys/devices/system/cpu/" + .), "options": ["bind", "ro"]}))
  ' "$B/config.json" >"$B/config.json.new" && mv "$B/config.json.new" "$B/config.json"
}

teardown() {
  "$RUNC" --root "$RROOT" delete --force "$ID" >/dev/null 2>&1 || true
  stop_cellfs "$MNT"
  # runc's relative cgroupsPath is below our own cgroup in each hierarchy
  for d in /sys/fs/cgroup/*/; do
    own=$(awk -F: -v c="$(basename "$d")" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c || ("name=" c) == a[i]) print $3 } $2 == "" && c == "unified" { print $3 }' /proc/self/cgroup | head -n1)
    rmdir "${d%/}${own%/}/cellfs-sidecar-$$" 2>/dev/null || true
  done
}

@test "sidecar: a runc container with cellfs binds sees 256 MiB in free, one CPU, and its own uptime" {
  run "$RUNC" --root "$RROOT" run --bundle "$B" "$ID" </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  # free -m: "Mem:  total used free ..."
  [ "$(echo "${lines[0]}" | awk '{print $1, $2}')" = "Mem: 256" ]
  [ "${lines[1]}" = 1 ]
  [ "${lines[2]}" = 1 ]
  [ "${lines[3]}" = 0 ]
  # uptime counts from the container's init: well below the host's
  up=$(echo "${lines[4]}" | awk '{print int($1)}')
  host=$(awk '{print int($1)}' /proc/uptime)
  [ "$up" -lt 60 ]
  [ "$host" -ge "$up" ]
}

@test "sidecar: cellfs killed whole and started again: the running runc container reads its view again, no restart" {
  local log=$BATS_TEST_TMPDIR/reads
  jq '.process.args = ["sh", "-c", "while :; do awk \"/^MemTotal:/ { print \\$2 }\" /proc/meminfo 2>/dev/null || echo fail; sleep 0.05; done"]' \
    "$B/config.json" >"$B/config.json.new" && mv "$B/config.json.new" "$B/config.json"
  "$RUNC" --root "$RROOT" run -d --bundle "$B" "$ID" </dev/null >"$log" 2>&1
  local i
  for i in $(seq 1 100); do grep -qx 262144 "$log" && break; sleep 0.05; done
  grep -qx 262144 "$log"
  local worker; worker=$(worker_of "$CELLFS_PID")
  kill -9 "$CELLFS_PID" "$worker"
  wait "$CELLFS_PID" 2>/dev/null || true
  sleep 0.3
  grep -qx fail "$log" # the dead binds answer ENOTCONN
  start_cellfs "$MNT"
  local n; n=$(wc -l <"$log")
  sleep 1
  # within the second after the new mount the container reads its limit again
  tail -n +"$((n + 1))" "$log" | grep -qx 262144
  tail -1 "$log" | grep -qx 262144
  # and never anything but its limit or an error in between
  [ "$(grep -cvx -e 262144 -e fail "$log")" -eq 0 ]
  [ "$("$RUNC" --root "$RROOT" state "$ID" | jq -r .status)" = running ]
}
