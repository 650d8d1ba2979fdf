#!/usr/bin/env bats
# netns.bats - `cellctl net` and `cellctl doctor` (netns/), fast cases.
# Everything happens inside network namespaces the test makes: the "host"
# side is the namespace $H (cellctl runs there under `ip netns exec`), the
# environments are $C1, $C2.  Names carry "hnet" and the test's pid.

load helpers

setup() {
  T=hnet$$b$BATS_TEST_NUMBER
  H=$T-h C1=$T-c1 C2=$T-c2 NB=$T-nb
  NETNSES="$H $C1 $C2 $NB"
  for n in $NETNSES; do
    ip netns add "$n"
    ip netns exec "$n" ip link set lo up
  done
  # the state root must be searchable by dnsmasq (user nobody)
  R=$(mktemp -d /tmp/hnet-bats.XXXXXX)
  chmod 755 "$R"
  PIDS=
}

teardown() {
  local p
  for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done
  # networks go with their resolvers (dnsmasq runs in $H, not killed by its deletion)
  for n in $(hx "$CELLCTL" --root "$R" --json net ls 2>/dev/null | jq -r '.[].name'); do
    for e in $(hx "$CELLCTL" --root "$R" --json net ls | jq -r ".[] | select(.name==\"$n\") | .endpoints[].name"); do
      hx "$CELLCTL" --root "$R" net detach "$n" --name "$e" || true
    done
    hx "$CELLCTL" --root "$R" net rm "$n" || true
  done
  for p in $(cat "$R"/net/.run/*/pid 2>/dev/null | cut -d' ' -f1); do kill -9 "$p" 2>/dev/null || true; done
  for n in $NETNSES; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$R"
}

hx() { ip netns exec "$H" "$@"; }
ctl() { ip netns exec "$H" "$CELLCTL" --root "$R" "$@"; }
# in NS CMD...: run CMD in namespace NS
in_ns() { local n=$1; shift; ip netns exec "$n" "$@"; }

# host_clean: nothing of cell's left on the host side: no veth/ifb/bridge
# link but lo (and $1, an interface the test made), no proxy entry, no nft
# chain of an endpoint, empty lease files.
host_clean() {
  local keep=${1:-lo} links
  links=$(hx ip -j link show | jq -r '.[].ifname' | grep -vxE "lo|$keep" || true)
  [ -z "$links" ] || { echo "links left: $links"; return 1; }
  [ -z "$(hx ip neigh show proxy)" ] || { echo "proxy entries left: $(hx ip neigh show proxy)"; return 1; }
  if hx nft -j list table inet cell >/dev/null 2>&1; then
    local spoof
    spoof=$(hx nft -j list table inet cell | jq '[.nftables[] | select(.chain) | select(.chain.name | startswith("spoof"))] | length')
    [ "$spoof" -eq 0 ] || { echo "$spoof anti-spoof chains left"; return 1; }
  fi
  local f
  for f in "$R"/net/*/leases.json; do
    [ -e "$f" ] || continue
    [ "$(jq '.endpoints | length' "$f")" -eq 0 ] || { echo "leases left in $f"; cat "$f"; return 1; }
  done
}

@test "net create bridge: the bridge carries the gateways; ls shows it; rm removes bridge, table and state" {
  run ctl net create hnetb --type bridge --subnet 10.77.0.0/24 --subnet6 fd77::/64
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  hx ip -j addr show cb-hnetb | jq -e '.[0].addr_info[] | select(.local=="10.77.0.1" and .prefixlen==24)'
  hx ip -j addr show cb-hnetb | jq -e '.[0].addr_info[] | select(.local=="fd77::1" and .prefixlen==64)'
  [ "$(hx cat /proc/sys/net/ipv4/ip_forward)" = 1 ]
  run ctl --json net ls
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | jq -r '.[0].name + " " + .[0].type + " " + .[0].subnet + " " + .[0].gateway6')" = "hnetb bridge 10.77.0.0/24 fd77::1" ]
  run ctl net ls
  [[ "${lines[1]}" == hnetb*bridge*10.77.0.0/24*fd77::/64*cb-hnetb*0 ]]
  # its resolver runs, listening on the gateway
  pid=$(cut -d' ' -f1 "$R/net/.run/dns-hnetb/pid")
  [ "$(readlink /proc/$pid/exe)" = /usr/sbin/dnsmasq ]
  run ctl net create hnetb --type bridge --subnet 10.78.0.0/24
  [ "$status" -eq 1 ]
  [[ "$output" == *"exists already"* ]]
  run ctl net rm hnetb
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  host_clean
  ! hx nft list table inet cell 2>/dev/null
  ! kill -0 "$pid" 2>/dev/null
  [ ! -e "$R/net/hnetb" ]
  run ctl net rm hnetb
  [ "$status" -eq 1 ]
  [[ "$output" == *"does not exist"* ]]
}

@test "net create: bad input is refused, naming the option, and leaves nothing" {
  run ctl net create hnetx --type bridge --subnet 10.77.0.5/24
  [ "$status" -eq 1 ] && [[ "$output" == *"--subnet"*"host bits"* ]]
  run ctl net create hnetx --type bridge --subnet6 10.77.0.0/24
  [ "$status" -eq 1 ] && [[ "$output" == *"--subnet6"* ]]
  run ctl net create hnetx --type bridge
  [ "$status" -eq 1 ] && [[ "$output" == *"--subnet"* ]]
  run ctl net create hnetx --type nope --subnet 10.77.0.0/24
  [ "$status" -eq 2 ] && [[ "$output" == *"--type"* ]]
  run ctl net create hnetx --type routed --parent hnetnosuch0
  [ "$status" -eq 1 ] && [[ "$output" == *"--parent"*"hnetnosuch0"* ]]
  run ctl net create ../x --type bridge --subnet 10.77.0.0/24
  [ "$status" -eq 1 ] && [[ "$output" == *"network"* ]]
  run ctl net create hnetx --type bridge --subnet 10.77.0.0/24 --parent lo
  [ "$status" -eq 1 ] && [[ "$output" == *"--parent"* ]]
  run ctl --json net ls
  [ "$output" = "[]" ]
  host_clean
}

@test "net attach bridge: v4/v6 between two endpoints and from the host; static and allocated; detach leaves nothing" {
  ctl net create hnetb --type bridge --subnet 10.77.0.0/24 --subnet6 fd77::/64
  run ctl --json net attach hnetb --netns /run/netns/$C1 --hostname one
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ "$(echo "$output" | jq -r '.ip + " " + .ip6 + " " + .ifname + " " + .gateway')" = "10.77.0.2 fd77::2 eth0 10.77.0.1" ]
  run ctl net attach hnetb --netns /run/netns/$C2 --ip 10.77.0.50 --ip6 fd77::50 --name two
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [[ "$output" == "two: eth0 10.77.0.50/24 fd77::50/64 "* ]]
  # inside: lo up, addresses, default routes, the MTU
  in_ns "$C1" ip -j link show lo | jq -e '.[0].operstate == "UNKNOWN" and (.[0].flags | index("UP"))'
  in_ns "$C1" ip -j route show default | jq -e '.[0].gateway == "10.77.0.1"'
  in_ns "$C1" ip -j -6 route show default | jq -e '.[0].gateway == "fd77::1"'
  [ "$(in_ns "$C1" ip -j link show eth0 | jq '.[0].mtu')" -eq 1500 ]
  in_ns "$C1" busybox ping -c1 -W2 10.77.0.50
  in_ns "$C1" busybox ping -6 -c1 -W2 fd77::50
  in_ns "$C2" busybox ping -c1 -W2 10.77.0.2
  hx busybox ping -c1 -W2 10.77.0.2
  hx busybox ping -6 -c1 -W2 fd77::50
  # a second attach of the same namespace, or a taken address, is refused
  run ctl net attach hnetb --netns /run/netns/$C1
  [ "$status" -eq 1 ] && [[ "$output" == *"attached to network hnetb already"* ]]
  run ctl net attach hnetb --netns /run/netns/$NB --ip 10.77.0.50
  [ "$status" -eq 1 ] && [[ "$output" == *"--ip: 10.77.0.50 is in use"* ]]
  run ctl net attach hnetb --netns /run/netns/$NB --ip 10.99.0.5
  [ "$status" -eq 1 ] && [[ "$output" == *"not in the network's subnet"* ]]
  run ctl net rm hnetb
  [ "$status" -eq 1 ] && [[ "$output" == *"in use by 2 endpoints"* ]]
  run ctl net detach hnetb --netns /run/netns/$C1
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  run ctl net detach hnetb --name two
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ -z "$(in_ns "$C1" ip -j link show | jq -r '.[].ifname' | grep -vx lo)" ]
  run ctl net detach hnetb --name two
  [ "$status" -eq 1 ] && [[ "$output" == *"no endpoint two"* ]]
  host_clean cb-hnetb
  ctl net rm hnetb
  host_clean
}

@test "net attach routed: /32 and /128 host routes, proxy ARP/NDP from a neighbour namespace, spoofed sources dropped" {
  ip link add hnet$$p0 netns "$H" type veth peer name np0 netns "$NB"
  hx ip link set hnet$$p0 name hp0
  hx sh -c 'ip a add 192.0.2.1/24 dev hp0 && ip a add 2001:db8:1::1/64 dev hp0 nodad && ip link set hp0 up'
  in_ns "$NB" sh -c 'ip a add 192.0.2.2/24 dev np0 && ip a add 2001:db8:1::2/64 dev np0 nodad && ip link set np0 up'
  ctl net create hnetr --type routed --subnet 192.0.2.64/26 --subnet6 2001:db8:1::100/120 --parent hp0
  run ctl --json net attach hnetr --netns /run/netns/$C1
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  hif=$(echo "$output" | jq -r .host_ifname)
  [ "$(echo "$output" | jq -r '.ip + "/" + (.prefix|tostring) + " " + .ip6 + "/" + (.prefix6|tostring)')" = "192.0.2.65/32 2001:db8:1::101/128" ]
  hx ip -j route show 192.0.2.65 | jq -e ".[0].dev == \"$hif\""
  hx ip -j -6 route show 2001:db8:1::101 | jq -e ".[0].dev == \"$hif\""
  run hx ip neigh show proxy
  [[ "$output" == *"192.0.2.65 dev hp0 proxy"* && "$output" == *"2001:db8:1::101 dev hp0 proxy"* ]]
  [ "${#lines[@]}" -eq 2 ]
  # the neighbour reaches the environment through the parent, by proxy ARP/NDP
  in_ns "$NB" busybox ping -c1 -W2 192.0.2.65
  in_ns "$NB" busybox ping -6 -c1 -W2 2001:db8:1::101
  in_ns "$C1" busybox ping -c1 -W2 192.0.2.2
  # no L2 between the sides: the neighbour's ARP entry for the environment is the host's MAC
  [ "$(in_ns "$NB" ip -j neigh show 192.0.2.65 | jq -r '.[0].lladdr')" = "$(hx ip -j link show hp0 | jq -r '.[0].address')" ]
  # a source the environment does not own is dropped
  in_ns "$C1" ip addr add 192.0.2.99/32 dev eth0
  ! in_ns "$C1" busybox ping -c1 -W1 -I 192.0.2.99 192.0.2.2
  in_ns "$C1" busybox ping -c1 -W2 -I 192.0.2.65 192.0.2.2
  run ctl net detach hnetr --pid $$ 
  [ "$status" -eq 1 ] && [[ "$output" == *"no endpoint in that namespace"* ]]
  ctl net detach hnetr --netns /run/netns/$C1
  host_clean hp0
  ctl net rm hnetr
  host_clean hp0
}

@test "net attach --pid: a process's namespace; the endpoint goes when the process dies" {
  ctl net create hnetb --type bridge --subnet 10.77.0.0/24
  unshare -n sleep 300 &
  PIDS=$!
  # unshare execs sleep in the same pid: its namespace is the new one
  wait_for eval '[ "$(readlink /proc/$PIDS/ns/net)" != "$(readlink /proc/self/ns/net)" ] && [ "$(cat /proc/$PIDS/comm)" = sleep ]'
  run ctl net attach hnetb --pid "$PIDS" --ip 10.77.0.9
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  nsenter -t "$PIDS" -n busybox ping -c1 -W2 10.77.0.1
  kill -9 "$PIDS"; wait "$PIDS" 2>/dev/null || true
  # the veth went with the namespace; the next command drops the stale lease
  wait_for eval '[ -z "$(hx ip -j link show | jq -r ".[].ifname" | grep ^ve-)" ]'
  run ctl --json net ls
  [ "$(echo "$output" | jq '.[0].endpoints | length')" -eq 0 ]
  host_clean cb-hnetb
  run ctl net attach hnetb --pid 999999999
  [ "$status" -eq 2 ] && [[ "$output" == *"--pid"* ]]
}

@test "net attach: SIGKILLed at random instants, the next command leaves no link, rule or lease" {
  ctl net create hnetb --type bridge --subnet 10.77.0.0/24 --subnet6 fd77::/64
  for i in $(seq 8); do
    ip netns exec "$H" "$CELLCTL" --root "$R" net attach hnetb --netns /run/netns/$C1 --rate-in 10mbit --name k &
    p=$!
    sleep 0.00$((RANDOM % 8))
    kill -9 $p 2>/dev/null || true
    wait $p 2>/dev/null || true
    # a retry repairs a killed attach first; then detach whatever completed
    run ctl net attach hnetb --netns /run/netns/$C1 --name k
    [ "$status" -eq 0 ] || { echo "trial $i: $output"; false; }
    ctl net detach hnetb --name k
    host_clean cb-hnetb
    [ -z "$(in_ns "$C1" ip -j link show | jq -r '.[].ifname' | grep -vx lo)" ]
  done
}

@test "doctor: reports ip_forward off and a FORWARD drop policy in another table" {
  hx sh -c 'echo 0 >/proc/sys/net/ipv4/ip_forward'
  hx nft add table inet hnetother
  hx nft 'add chain inet hnetother hnetfw { type filter hook forward priority 0; policy drop; }'
  run ctl doctor
  [ "$status" -eq 1 ]
  [[ "$output" == *"net/ipv4/ip_forward is 0"* ]]
  [[ "$output" == *"table inet hnetother"*"policy drop"* ]]
  run ctl --json doctor
  echo "$output" | jq -e '[.[] | select(.severity=="error" and (.message | contains("hnetother")))] | length == 1'
  hx nft delete table inet hnetother
  hx sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'
  run ctl doctor
  [[ "$output" != *"hnetother"* ]]
  [[ "$output" != *"ip_forward"* ]]
}

@test "net: usage errors name the option" {
  run ctl net attach hnetb
  [ "$status" -eq 2 ] && [[ "$output" == *"--netns PATH or --pid PID"* ]]
  run ctl net attach hnetb --netns /x --pid 1
  [ "$status" -eq 2 ]
  run ctl net attach hnetb --netns /run/netns/$C1 --rate-in fast
  [ "$status" -eq 2 ] && [[ "$output" == *"--rate-in"* ]]
  run ctl net detach hnetb
  [ "$status" -eq 2 ] && [[ "$output" == *"--name ENDPOINT"* ]]
  run ctl net attach nosuch --netns /run/netns/$C1
  [ "$status" -eq 1 ] && [[ "$output" == *"network nosuch does not exist"* ]]
  run ctl net
  [ "$status" -eq 2 ] && [[ "$output" == *"net attach"* ]]
}
