# helpers.bash - the network namespaces the netns firewall tests build.
#
# Everything happens inside namespaces named hnft<PID>-*: "h" plays the host
# (a bridge br-hnft with 10.79.0.1/24 and fd79::1/64, an uplink up0 with
# 192.168.79.1/24 and fd80::1/64), e1 and e2 are environments on the bridge
# (10.79.0.2 / fd79::2 and 10.79.0.3 / fd79::3 behind the host-side veths
# vh1 and vh2), and c is a client outside (192.168.79.2 / fd80::2).
# Nothing on this machine's own interfaces or tables is touched.

TOP=${NFT_TOP:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
NETFW=${NETFW:-$TOP/build/tools/netfw}
PEER=$TOP/tests/nft/peer.py
CELL=${CELL:-$TOP/build/cell}
CELLCTL=${CELLCTL:-$(dirname "$CELL")/cellctl}
TAG=hnft${BATS_ROOT_PID:-$$}
H=$TAG-h E1=$TAG-e1 E2=$TAG-e2 C=$TAG-c
TABLE=hnft

inh() { ip netns exec "$H" "$@"; }
ine1() { ip netns exec "$E1" "$@"; }
ine2() { ip netns exec "$E2" "$@"; }
inc() { ip netns exec "$C" "$@"; }

# env NS IFNAME-HOST ADDR4 ADDR6: an environment on the bridge.
env_up() {
  local ns=$1 vh=$2 a4=$3 a6=$4
  ip netns add "$ns"
  ip -n "$H" link add "$vh" type veth peer name eth0 netns "$ns"
  # hairpin on the port, as for cell's bridge ports: with br_netfilter a
  # forward DNATed back to the environment it came from leaves by that port
  ip -n "$H" link set "$vh" master br-hnft
  ip -n "$H" link set "$vh" type bridge_slave hairpin on
  ip -n "$H" link set "$vh" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$a4/24" dev eth0
  ip -n "$ns" addr add "$a6/64" dev eth0 nodad
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via 10.79.0.1
  ip -n "$ns" -6 route add default via fd79::1
}

topo_up() {
  topo_down
  ip netns add "$H"
  ip -n "$H" link set lo up
  inh sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  ip -n "$H" link add br-hnft type bridge
  ip -n "$H" addr add 10.79.0.1/24 dev br-hnft
  ip -n "$H" addr add fd79::1/64 dev br-hnft nodad
  ip -n "$H" link set br-hnft up
  env_up "$E1" vh1 10.79.0.2 fd79::2
  env_up "$E2" vh2 10.79.0.3 fd79::3
  ip netns add "$C"
  ip -n "$H" link add up0 type veth peer name eth0 netns "$C"
  ip -n "$H" addr add 192.168.79.1/24 dev up0
  ip -n "$H" addr add fd80::1/64 dev up0 nodad
  ip -n "$H" link set up0 up
  ip -n "$C" link set lo up
  ip -n "$C" addr add 192.168.79.2/24 dev eth0
  ip -n "$C" addr add fd80::2/64 dev eth0 nodad
  ip -n "$C" link set eth0 up
  ip -n "$C" route add default via 192.168.79.1
  ip -n "$C" -6 route add default via fd80::1
  PIDS=()
}

# bg NS CMD...: run CMD in NS in the background; killed in topo_down.
bg() {
  local ns=$1; shift
  ip netns exec "$ns" "$@" >>"$BATS_TEST_TMPDIR/bg.log" 2>&1 &
  PIDS+=($!)
}

# serve NS tcp|udp ADDR PORT LOG: a peer-logging server, waited for.
serve() {
  local ns=$1 proto=$2 addr=$3 port=$4 log=$5
  : >"$log"
  bg "$ns" python3 "$PEER" serve "$proto" "$addr" "$port" "$log"
  local i
  for i in $(seq 100); do
    if [ "$proto" = tcp ]; then
      ip netns exec "$ns" ss -Hltn "sport = :$port" | grep -q . && return 0
    else
      ip netns exec "$ns" ss -Hlun "sport = :$port" | grep -q . && return 0
    fi
    sleep 0.05
  done
  echo "server $proto $addr:$port in $ns did not start" >&2
  return 1
}

# ask NS tcp|udp HOST PORT: prints the server's "peer=ADDR".
ask() {
  local ns=$1; shift
  ip netns exec "$ns" timeout 10 python3 "$PEER" ask "$@"
}

topo_down() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
  local ns
  for ns in "$H" "$E1" "$E2" "$C"; do
    [ -e "/run/netns/$ns" ] && ip netns del "$ns"
  done
  return 0
}

# The state file for netfw apply: NAT network "lan" on br-hnft with the two
# endpoints; forwards given as JSON objects in $@.
state() {
  local nat=${NAT:-true} fwds
  fwds=$(printf '%s\n' "$@" | jq -s -c '.')
  jq -n --argjson nat "$nat" --argjson f "$fwds" '{
    networks: [{name: "lan", bridge: "br-hnft", subnet4: "10.79.0.0/24", subnet6: "fd79::/64", nat: $nat}],
    endpoints: [{network: "lan", ifname: "vh1", addrs: ["10.79.0.2", "fd79::2"]},
                {network: "lan", ifname: "vh2", addrs: ["10.79.0.3", "fd79::3"]}],
    forwards: $f}' >"$BATS_TEST_TMPDIR/state.json"
  echo "$BATS_TEST_TMPDIR/state.json"
}

fwd() { # proto family host_port addr port
  jq -n -c --arg p "$1" --argjson fam "$2" --argjson hp "$3" --arg a "$4" --argjson port "$5" \
    '{proto: $p, family: $fam, host_port: $hp, addr: $a, port: $port, network: "lan"}'
}
