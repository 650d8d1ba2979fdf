#!/usr/bin/env bats
# The container process and its environment: user, caps, limits, seccomp,
# /proc and /dev, mounts, namespaces, and exec.

load helpers

# ct_run ARGS... - foreground run of the default bundle with ARGS.
ct_run() {
  set_args "$@"
  run runtime run --bundle "$BUNDLE" "$ID" </dev/null
}

# status_field NAME - a field of /proc/self/status from $output.
status_field() {
  printf '%s\n' "${lines[@]}" | awk -v f="$1:" '$1 == f { print $2 }'
}

@test "process.env is the environment; HOME defaults to /root" {
  update_config '.process.env += ["FOO=bar baz", "EMPTY="]'
  ct_run env
  [ "$status" -eq 0 ]
  printf '%s\n' "${lines[@]}" | grep -qx 'FOO=bar baz'
  printf '%s\n' "${lines[@]}" | grep -qx 'EMPTY='
  printf '%s\n' "${lines[@]}" | grep -qx 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  printf '%s\n' "${lines[@]}" | grep -qx 'HOME=/root'
}

@test "process.cwd is the working directory" {
  update_config '.process.cwd = "/usr/bin"'
  ct_run pwd
  [ "$status" -eq 0 ]
  [ "$output" = /usr/bin ]
}

@test "process.user uid, gid and additionalGids" {
  update_config '.process.user = {"uid": 1000, "gid": 1001, "additionalGids": [10, 20]}'
  ct_run sh -c 'id -u; id -g; id -G; grep -E "^(Uid|Gid|Groups):" /proc/self/status'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 1000 ]
  [ "${lines[1]}" = 1001 ]
  [[ " ${lines[2]} " == *" 10 "* && " ${lines[2]} " == *" 20 "* ]]
  [ "$(status_field Uid)" = 1000 ]
  printf '%s\n' "${lines[@]}" | grep -qE '^Uid:\s+1000\s+1000\s+1000\s+1000$'
  printf '%s\n' "${lines[@]}" | grep -qE '^Gid:\s+1001\s+1001\s+1001\s+1001$'
  printf '%s\n' "${lines[@]}" | grep -qE '^Groups:\s+10 20\s*$'
}

@test "process.user.umask" {
  update_config '.process.user.umask = 63'
  ct_run sh -c 'umask'
  [ "$status" -eq 0 ]
  [ "$output" = 0077 ]
  update_config '.process.user.umask = 18'
  ct_run sh -c 'umask'
  [ "$output" = 0022 ]
}

@test "rlimits: a lowered soft NOFILE is visible; raising above the hard limit fails" {
  update_config '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 1000},
                                     {"type": "RLIMIT_NPROC", "soft": 777, "hard": 888}]'
  ct_run sh -c 'ulimit -n; ulimit -Hn; ulimit -u; ulimit -Hu'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 321 ]
  [ "${lines[1]}" = 1000 ]
  [ "${lines[2]}" = 777 ]
  [ "${lines[3]}" = 888 ]

  # the hard NOFILE limit of this machine is 20000 and CAP_SYS_RESOURCE is missing
  update_config '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 30000, "hard": 30000}]'
  ct_run true
  [ "$status" -ne 0 ]
  [[ $output == *rlimit* ]]
  assert_no_leftovers "$ID" "$BUNDLE"
}

@test "capabilities: CapBnd/CapEff/CapPrm/CapAmb match the configured sets" {
  ct_run grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/self/status
  [ "$status" -eq 0 ]
  # default set: AUDIT_WRITE(29) KILL(5) NET_BIND_SERVICE(10)
  [ "$(status_field CapBnd)" = 0000000020000420 ]
  [ "$(status_field CapEff)" = 0000000020000420 ]
  [ "$(status_field CapPrm)" = 0000000020000420 ]
  # (ambient needs the cap in inheritable too, which the default set lacks)

  update_config '.process.capabilities = {
      "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN"],
      "effective": ["CAP_KILL"], "permitted": ["CAP_KILL", "CAP_CHOWN"],
      "inheritable": ["CAP_CHOWN"], "ambient": ["CAP_CHOWN"]}'
  ct_run grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/self/status
  [ "$status" -eq 0 ]
  # grep is exec'd as uid 0 with no_new_privs: permitted stays within the
  # configured permitted set (KILL|CHOWN, not SYS_ADMIN) and becomes effective
  [ "$(status_field CapBnd)" = 0000000000200021 ]
  [ "$(status_field CapInh)" = 0000000000000001 ]
  [ "$(status_field CapAmb)" = 0000000000000001 ]
  [ "$(status_field CapPrm)" = 0000000000000021 ]
  [ "$(status_field CapEff)" = 0000000000000021 ]

  # as a non-root user the sets after exec are exactly ambient (CHOWN)
  update_config '.process.user = {"uid": 1000, "gid": 1000}'
  ct_run grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/self/status
  [ "$status" -eq 0 ]
  [ "$(status_field CapBnd)" = 0000000000200021 ]
  [ "$(status_field CapPrm)" = 0000000000000001 ]
  [ "$(status_field CapEff)" = 0000000000000001 ]
}

@test "capabilities: an empty set drops everything" {
  update_config '.process.capabilities = {"bounding": [], "effective": [], "permitted": []}'
  ct_run grep -E '^Cap(Prm|Eff|Bnd|Amb):' /proc/self/status
  [ "$status" -eq 0 ]
  [ "$(status_field CapBnd)" = 0000000000000000 ]
  [ "$(status_field CapEff)" = 0000000000000000 ]
}

@test "noNewPrivileges sets NoNewPrivs" {
  ct_run grep '^NoNewPrivs:' /proc/self/status
  [ "$status" -eq 0 ]
  [ "$(status_field NoNewPrivs)" = 1 ]
  update_config '.process.noNewPrivileges = false'
  ct_run grep '^NoNewPrivs:' /proc/self/status
  [ "$(status_field NoNewPrivs)" = 0 ]
}

@test "hostname in the UTS namespace" {
  update_config '.hostname = "cellhost"'
  ct_run hostname
  [ "$status" -eq 0 ]
  [ "$output" = cellhost ]
  [ "$(hostname)" != cellhost ]
}

@test "domainname in the UTS namespace" {
  cell_only # runc 1.1 ignores .domainname
  update_config '.hostname = "cellhost" | .domainname = "cell.example"'
  ct_run sh -c 'hostname; cat /proc/sys/kernel/domainname'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = cellhost ]
  [ "${lines[1]}" = cell.example ]
  [ "$(cat /proc/sys/kernel/domainname)" != cell.example ]
}

@test "root.readonly: writes to / fail; with readonly false they work" {
  ct_run sh -c 'touch /written 2>&1; echo rc=$?'
  [ "$status" -eq 0 ]
  [[ $output == *"Read-only file system"* ]]
  [[ $output == *"rc=1"* ]]
  [ ! -e "$BUNDLE/rootfs/written" ]

  update_config '.root.readonly = false'
  ct_run sh -c 'touch /written; echo rc=$?'
  [ "$output" = rc=0 ]
  [ -e "$BUNDLE/rootfs/written" ]
}

@test "oomScoreAdj: positive is applied, negative fails without CAP_SYS_RESOURCE" {
  update_config '.process.oomScoreAdj = 500'
  ct_run cat /proc/self/oom_score_adj
  [ "$status" -eq 0 ]
  [ "$output" = 500 ]

  update_config '.process.oomScoreAdj = -100'
  ct_run cat /proc/self/oom_score_adj
  [ "$status" -ne 0 ]
  [[ $output == *oom_score_adj* ]]
  assert_no_leftovers "$ID" "$BUNDLE"
}

@test "linux.sysctl in the container's network and ipc namespaces" {
  host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
  host_shm=$(cat /proc/sys/kernel/shmmni)
  want_fwd=$((1 - host_fwd))
  update_config '.linux.sysctl = {"net.ipv4.ip_forward": $f, "kernel.shmmni": "1234"}' "$BUNDLE" \
    --arg f "$want_fwd"
  ct_run sh -c 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "$want_fwd" ]
  [ "${lines[1]}" = 1234 ]
  [ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$host_fwd" ]
  [ "$(cat /proc/sys/kernel/shmmni)" = "$host_shm" ]
}

@test "seccomp: a rule denying mkdir with the default EPERM and with errnoRet" {
  update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"],
      "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}'
  ct_run sh -c 'mkdir /dev/shm/x 2>&1; echo rc=$?; touch /dev/shm/y && echo touched'
  [ "$status" -eq 0 ]
  [[ $output == *"Operation not permitted"* ]]
  [[ $output == *"rc=1"* ]]
  [[ $output == *touched* ]]

  update_config '.linux.seccomp.syscalls[0].errnoRet = 28'
  ct_run sh -c 'mkdir /dev/shm/x 2>&1; echo rc=$?'
  [[ $output == *"No space left on device"* ]]

  # same container without the rule: mkdir works
  update_config 'del(.linux.seccomp)'
  ct_run sh -c 'mkdir /dev/shm/x && echo made'
  [ "$output" = made ]
}

# ct_run_logged LOG ARGS... - ct_run with --debug logging to LOG
ct_run_logged() {
  local log=$1; shift
  set_args "$@"
  : >"$log"
  run runtime --debug --log "$log" run --bundle "$BUNDLE" "$ID" </dev/null
}

@test "seccomp: a compiled filter is kept in ROOT/.seccomp and reused; a damaged or foreign entry is not trusted" {
  cell_only
  local log=$BATS_TEST_TMPDIR/debug.log e
  update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}]}'
  # first run: compiled and stored (0600 in a 0700 directory)
  ct_run_logged "$log" sh -c 'mkdir /dev/shm/x 2>&1; echo rc=$?'
  [[ $output == *"No space left on device"* ]]
  ! grep -q "compiled filter .* reused" "$log"
  e=$(ls "$ROOT"/.seccomp/*.bpf)
  [ "$(echo "$e" | wc -l)" -eq 1 ]
  [ "$(stat -c %a "$ROOT/.seccomp")" = 700 ] && [ "$(stat -c %a "$e")" = 600 ]
  # second run: reused, still enforced
  ct_run_logged "$log" sh -c 'mkdir /dev/shm/x 2>&1; echo rc=$?'
  [[ $output == *"No space left on device"* ]]
  grep -q "compiled filter .* reused" "$log"
  # exec reuses it too
  set_args sleep 100
  create_ct "$ID"
  : >"$log"
  run runtime --debug --log "$log" exec "$ID" sh -c 'mkdir /dev/shm/y 2>&1; echo rc=$?'
  [[ $output == *"No space left on device"* ]]
  grep -q "compiled filter .* reused" "$log"
  runtime delete --force "$ID"
  # a damaged entry (cut short) is not used: compiled again, enforced, rewritten
  truncate -s 40 "$e"
  ct_run_logged "$log" sh -c 'mkdir /dev/shm/x 2>&1; echo rc=$?'
  [[ $output == *"No space left on device"* ]]
  ! grep -q "compiled filter .* reused" "$log"
  [ "$(stat -c %s "$e")" -gt 40 ]
  # an entry others may write is not trusted
  chmod 0666 "$e"
  ct_run_logged "$log" sh -c 'mkdir /dev/shm/x 2>&1; echo rc=$?'
  [[ $output == *"No space left on device"* ]]
  ! grep -q "compiled filter .* reused" "$log"
  # another profile gets its own entry: the first one's filter never applies
  chmod 0600 "$e"
  update_config '.linux.seccomp.syscalls[0].errnoRet = 13'
  ct_run_logged "$log" sh -c 'mkdir /dev/shm/x 2>&1; echo rc=$?'
  [[ $output == *"Permission denied"* ]]
  [ "$(ls "$ROOT"/.seccomp/*.bpf | wc -l)" -eq 2 ]
  # the cache never shows up as a container
  run runtime list --quiet
  [ -z "$output" ]
}

@test "seccomp: errnoRet EACCES for getcwd; an unknown action is rejected" {
  update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}'
  ct_run sh -c 'cd /usr; /bin/pwd -P 2>&1; echo rc=$?'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "pwd: getcwd: Permission denied" ]
  [ "${lines[1]}" = rc=1 ]

  update_config '.linux.seccomp.syscalls[0].action = "SCMP_ACT_BOGUS"'
  ct_run true
  [ "$status" -ne 0 ]
  [[ $output == *SCMP_ACT_BOGUS* || $output == *action* ]]
  assert_no_leftovers "$ID" "$BUNDLE"
}

@test "maskedPaths: files read empty, directories are empty" {
  mkdir -p "$BUNDLE/rootfs/srv/secretdir"
  echo secret >"$BUNDLE/rootfs/srv/secret"
  echo secret >"$BUNDLE/rootfs/srv/secretdir/f"
  update_config '.linux.maskedPaths += ["/srv/secret", "/srv/secretdir"]'
  # on the host these are not empty
  [ -s /proc/keys ] && [ -n "$(ls -A /sys/firmware)" ]
  ct_run sh -c 'wc -c </proc/keys; cat /proc/timer_list | wc -c; cat /srv/secret; echo "[$(ls -A /srv/secretdir)]"; ls -A /sys/firmware | wc -l'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 0 ]
  [ "${lines[1]}" = 0 ]
  [ "${lines[2]}" = "[]" ]
  [ "${lines[3]}" = 0 ]

  update_config '.linux.maskedPaths = []'
  ct_run sh -c 'cat /srv/secret; ls /srv/secretdir; ls -A /sys/firmware | wc -l'
  [ "${lines[0]}" = secret ]
  [ "${lines[1]}" = f ]
  [ "${lines[2]}" -gt 0 ]
}

@test "readonlyPaths: /proc/sys and /proc/sysrq-trigger are read-only" {
  update_config '.process.capabilities.bounding += ["CAP_SYS_ADMIN"] | .process.capabilities.effective += ["CAP_SYS_ADMIN"] | .process.capabilities.permitted += ["CAP_SYS_ADMIN"]'
  ct_run sh -c 'echo x >/proc/sys/kernel/hostname 2>&1; echo rc=$?; grep -E " /proc/sys " /proc/self/mountinfo'
  [ "$status" -eq 0 ]
  [[ $output == *"Read-only file system"* ]]
  [[ $output == *"rc=1"* ]]
  [[ ${lines[2]} =~ \ /proc/sys\ [^\ ]*ro[,\ ] ]]

  # without readonlyPaths (and with CAP_SYS_ADMIN) the write works in the uts ns
  update_config '.linux.readonlyPaths = []'
  ct_run sh -c 'echo newname >/proc/sys/kernel/hostname && hostname'
  [ "$status" -eq 0 ]
  [ "$output" = newname ]
}

@test "default /dev entries exist and nothing else from the host" {
  ct_run sh -c '
    for d in null zero full random urandom tty; do
      [ -c /dev/$d ] || echo "missing char device $d"; done
    stat -c "%n %t:%T %a" /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty
    [ -e /dev/ptmx ] || echo missing ptmx
    [ -d /dev/pts ] || echo missing pts
    [ -d /dev/shm ] || echo missing shm
    [ -d /dev/mqueue ] || echo missing mqueue
    [ "$(readlink /dev/fd)" = /proc/self/fd ] || echo bad fd link
    [ "$(readlink /dev/stdin)" = /proc/self/fd/0 ] || echo bad stdin
    [ "$(readlink /dev/stdout)" = /proc/self/fd/1 ] || echo bad stdout
    [ "$(readlink /dev/stderr)" = /proc/self/fd/2 ] || echo bad stderr
    for h in mem kmem port sda vda kmsg; do [ -e /dev/$h ] && echo "host device $h"; done
    echo written >/dev/null && head -c 4 /dev/zero | wc -c'
  [ "$status" -eq 0 ]
  [[ $output != *missing* && $output != *bad* && $output != *"host device"* ]]
  printf '%s\n' "${lines[@]}" | grep -qx '/dev/null 1:3 666'
  printf '%s\n' "${lines[@]}" | grep -qx '/dev/zero 1:5 666'
  printf '%s\n' "${lines[@]}" | grep -qx '/dev/full 1:7 666'
  printf '%s\n' "${lines[@]}" | grep -qx '/dev/random 1:8 666'
  printf '%s\n' "${lines[@]}" | grep -qx '/dev/urandom 1:9 666'
  printf '%s\n' "${lines[@]}" | grep -qx '/dev/tty 5:0 666'
  [ "${lines[-1]}" = 4 ]
}

@test "linux.devices creates nodes with major/minor/mode/owner" {
  update_config '.linux.devices = [
      {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 432, "uid": 0, "gid": 5},
      {"path": "/dev/sub/mykmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 384}]'
  ct_run sh -c 'stat -c "%n %F %t:%T %a %u:%g" /dev/mynull /dev/sub/mykmsg
                echo hi >/dev/mynull && echo wrote-mynull'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "/dev/mynull character special file 1:3 660 0:5" ]
  [ "${lines[1]}" = "/dev/sub/mykmsg character special file 1:b 600 0:0" ]
  [ "${lines[2]}" = wrote-mynull ]
}

@test "the devices cgroup denies devices that are not allowed" {
  update_config '.process.capabilities |= with_entries(.value += ["CAP_MKNOD"])'
  ct_run sh -c 'mknod /dev/k c 10 229 && echo made; (exec 3<>/dev/k) 2>&1 && echo opened; true'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = made ]
  [[ ${lines[1]} == *"Operation not permitted"* ]]
  # allowing c 10:229 (fuse) in linux.resources.devices lets the same open work
  update_config '.linux.resources.devices += [{"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}]'
  ct_run sh -c 'mknod /dev/k c 10 229 && echo made; (exec 3<>/dev/k) 2>&1 && echo opened; true'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = made ]
  [ "${lines[1]}" = opened ]
}

@test "mounts: ro bind, rw bind, tmpfs with size and mode" {
  host=$BATS_TEST_TMPDIR/hostdir
  mkdir -p "$host"
  echo from-host >"$host/file"
  update_config '.mounts += [
      {"destination": "/mnt/ro", "type": "bind", "source": $h, "options": ["bind", "ro"]},
      {"destination": "/mnt/rw", "type": "none", "source": $h, "options": ["rbind", "rw"]},
      {"destination": "/mnt/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=700", "nosuid"]}]' \
    "$BUNDLE" --arg h "$host"
  ct_run sh -c 'cat /mnt/ro/file
                echo x >/mnt/ro/new 2>&1 || echo ro-denied
                echo from-ct >/mnt/rw/new && echo rw-ok
                stat -c %a /mnt/tmp
                grep " /mnt/tmp " /proc/self/mountinfo'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = from-host ]
  [[ $output == *"Read-only file system"* ]]
  [[ $output == *ro-denied* ]]
  [[ $output == *rw-ok* ]]
  [ "$(cat "$host/new")" = from-ct ]
  [[ $output == *$'\n'700$'\n'* ]]
  tmpline=$(printf '%s\n' "${lines[@]}" | grep ' /mnt/tmp ')
  [[ $tmpline == *tmpfs* && $tmpline == *size=1024k* && $tmpline == *mode=700* && $tmpline == *nosuid* ]]
  [ -z "$(mounts_under "$host")" ]
}

@test "mounts: rbind carries submounts, bind does not" {
  host=$BATS_TEST_TMPDIR/hostdir
  mkdir -p "$host/sub"
  mount -t tmpfs -o size=64k cell-test-sub "$host/sub"
  echo in-submount >"$host/sub/f"
  update_config '.mounts += [
      {"destination": "/mnt/r", "type": "bind", "source": $h, "options": ["rbind"]},
      {"destination": "/mnt/b", "type": "bind", "source": $h, "options": ["bind"]}]' \
    "$BUNDLE" --arg h "$host"
  ct_run sh -c 'cat /mnt/r/sub/f; echo "[$(ls -A /mnt/b/sub)]"'
  umount "$host/sub"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = in-submount ]
  [ "${lines[1]}" = "[]" ]
}

@test "mounts: propagation options parse and apply" {
  host=$BATS_TEST_TMPDIR/hostdir
  mkdir -p "$host"
  update_config '.linux.rootfsPropagation = "rslave" | .mounts += [
      {"destination": "/mnt/p", "type": "bind", "source": $h, "options": ["rbind", "rprivate"]},
      {"destination": "/mnt/s", "type": "bind", "source": $h, "options": ["rbind", "rshared"]},
      {"destination": "/mnt/u", "type": "bind", "source": $h, "options": ["rbind", "runbindable"]}]' \
    "$BUNDLE" --arg h "$host"
  ct_run cat /proc/self/mountinfo
  [ "$status" -eq 0 ]
  p=$(printf '%s\n' "${lines[@]}" | awk '$5 == "/mnt/p"')
  s=$(printf '%s\n' "${lines[@]}" | awk '$5 == "/mnt/s"')
  u=$(printf '%s\n' "${lines[@]}" | awk '$5 == "/mnt/u"')
  [[ -n $p && $p != *shared:* ]]
  [[ $s == *shared:* ]]
  [[ $u == *unbindable* ]]
}

@test "namespaces: join another container's network namespace by path" {
  a=$(new_id a)
  new_bundle "$BATS_TEST_TMPDIR/b-a" "$a" sleep 100
  run_detached "$a" "$BATS_TEST_TMPDIR/b-a"
  pa=$(ct_pid "$a")
  want=$(readlink "/proc/$pa/ns/net")
  [ "$want" != "$(readlink /proc/self/ns/net)" ]
  update_config '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
    "$BUNDLE" --arg p "/proc/$pa/ns/net"
  ct_run readlink /proc/self/ns/net
  [ "$status" -eq 0 ]
  [ "$output" = "$want" ]

  # a path that is not a namespace file is an error
  update_config '.linux.namespaces |= map(if .type == "network" then .path = "/etc/hostname" else . end)'
  ct_run true
  [ "$status" -ne 0 ]
  assert_no_leftovers "$ID" "$BUNDLE"
}

@test "user namespace with uidMappings and gidMappings" {
  # the mapped root must be able to reach the rootfs through the bats dirs
  d=$BUNDLE
  while [ "$d" != / ] && [ "$d" != "$BATS_TMPDIR" ]; do chmod o+x "$d"; d=$(dirname "$d"); done
  update_config '.linux.namespaces += [{"type": "user"}]
    | .linux.uidMappings = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    | .linux.gidMappings = [{"containerID": 0, "hostID": 200000, "size": 65536}]'
  set_args sh -c 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; echo ready; sleep 100'
  run_detached "$ID"
  wait_out "$ID" ready
  mapfile -t l <"$BATS_TEST_TMPDIR/$ID.out"
  [ "${l[0]}" = 0 ]
  [ "${l[1]}" = 0 ]
  [ "$(echo ${l[2]})" = "0 200000 65536" ]
  [ "$(echo ${l[3]})" = "0 200000 65536" ]
  pid=$(ct_pid "$ID")
  # seen from the host the process runs as the mapped uid
  grep -qE '^Uid:\s+200000\s' "/proc/$pid/status"
  [ "$(readlink "/proc/$pid/ns/user")" != "$(readlink /proc/self/ns/user)" ]
}

@test "cgroup namespace: the container sees its cgroup as /" {
  ct_run cat /proc/self/cgroup
  [ "$status" -eq 0 ]
  [[ $output == *"cell-tests/$ID"* ]]
  update_config '.linux.namespaces += [{"type": "cgroup"}]'
  ct_run cat /proc/self/cgroup
  [ "$status" -eq 0 ]
  [[ $output != *cell-tests* ]]
  printf '%s\n' "${lines[@]}" | grep -q '^0::/$'
  printf '%s\n' "${lines[@]}" | grep -qE '^[0-9]+:memory:/$'
}

@test "time namespace with timeOffsets shifts boottime and monotonic" {
  cell_only
  update_config '.linux.namespaces += [{"type": "time"}]
    | .linux.timeOffsets = {"boottime": {"secs": 8640000, "nanosecs": 0}, "monotonic": {"secs": 864000}}'
  host_up=$(cut -d. -f1 /proc/uptime)
  ct_run sh -c 'cut -d. -f1 /proc/uptime; cat /proc/self/timens_offsets'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" -ge $((host_up + 8640000)) ]
  [ "${lines[0]}" -lt $((host_up + 8640000 + 60)) ]
  printf '%s\n' "${lines[@]}" | grep -qE '^boottime\s+8640000\s+0$'
  printf '%s\n' "${lines[@]}" | grep -qE '^monotonic\s+864000\s+0$'
}

# ------------------------------------------------------------------ exec

start_sleeper() {
  set_args sleep 1000
  update_config '.process.env += ["FROM_CONFIG=1"]'
  run_detached "$ID"
}

@test "exec: output and exit code, in the container's namespaces" {
  start_sleeper
  pid=$(ct_pid "$ID")
  run runtime exec "$ID" sh -c 'echo exec-out; hostname; exit 7'
  [ "$status" -eq 7 ]
  [ "${lines[0]}" = exec-out ]
  [ "${lines[1]}" = runc ]
  run runtime exec "$ID" sh -c 'for n in net pid mnt ipc uts; do readlink /proc/self/ns/$n; done'
  [ "$status" -eq 0 ]
  i=0
  for n in net pid mnt ipc uts; do
    [ "${lines[$i]}" = "$(readlink "/proc/$pid/ns/$n")" ]
    i=$((i + 1))
  done
  # pid 1 of the container is the init process
  run runtime exec "$ID" sh -c 'tr "\0" " " </proc/1/cmdline'
  [ "$output" = "sleep 1000 " ]
}

@test "exec --env, --cwd and --user" {
  start_sleeper
  run runtime exec --env FOO=exec-env --cwd /usr/sbin --user 1000:1001 "$ID" \
    sh -c 'echo $FOO; pwd; id -u; id -g; echo ${FROM_CONFIG:-unset}'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = exec-env ]
  [ "${lines[1]}" = /usr/sbin ]
  [ "${lines[2]}" = 1000 ]
  [ "${lines[3]}" = 1001 ]
  [ "${lines[4]}" = 1 ]
}

@test "exec --process with containerd and podman process.json shapes" {
  start_sleeper
  for f in containerd-exec-process.json podman-exec-process.json; do
    src=$CELL_TOP/tests/fixtures/engine-configs/$f
    jq '.args = ["sh", "-c", "echo exec-hi; ulimit -n; id -G; grep NoNewPrivs /proc/self/status"]' "$src" \
      >"$BATS_TEST_TMPDIR/$f"
    run runtime exec --process "$BATS_TEST_TMPDIR/$f" "$ID"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = exec-hi ]
    [ "${lines[1]}" = "$(jq -r '.rlimits[] | select(.type == "RLIMIT_NOFILE") | .soft' "$src")" ]
    if [ "$(jq -r '.noNewPrivileges // false' "$src")" = true ]; then
      [[ ${lines[3]} =~ NoNewPrivs:[[:space:]]+1 ]]
    fi
  done
  echo '{"args": "notarray"}' >"$BATS_TEST_TMPDIR/bad.json"
  run runtime exec --process "$BATS_TEST_TMPDIR/bad.json" "$ID"
  [ "$status" -ne 0 ]
  [[ $output == *args* ]]
}

@test "exec --detach --pid-file" {
  start_sleeper
  pid1=$(ct_pid "$ID")
  rt_bg "$BATS_TEST_TMPDIR/exec.out" exec --detach --pid-file "$BATS_TEST_TMPDIR/exec.pid" "$ID" sleep 777
  [ "$status" -eq 0 ]
  p=$(cat "$BATS_TEST_TMPDIR/exec.pid")
  [[ $p =~ ^[0-9]+$ ]]
  [ -d "/proc/$p" ]
  wait_for eval '[ "$(tr "\0" " " <"/proc/$p/cmdline")" = "sleep 777 " ]'
  [ "$(readlink "/proc/$p/ns/pid")" = "$(readlink "/proc/$pid1/ns/pid")" ]
  runtime ps --format json "$ID" | jq -e --argjson p "$p" 'index($p) != null'
}

@test "exec into a stopped container fails" {
  set_args true
  create_ct "$ID"
  runtime start "$ID"
  wait_state "$ID" stopped
  run runtime exec "$ID" true
  [ "$status" -ne 0 ]
  [[ $output == *"not running"* || $output == *stopped* ]]
  run runtime exec no-such-ct true
  [ "$status" -ne 0 ]
  [[ $output == *"does not exist"* ]]
}
