#!/bin/bash
# netns.sh - environment networking benchmark (issue 10), all inside network
# namespaces it makes ("host" side: hnetbench-h):
#   1. attach + detach time per endpoint on a bridge network: `cellctl net
#      attach` + `net detach` (whole commands: exec, lock, netlink, nft,
#      resolver) against the `ip` command sequence doing the same link work
#      (veth into the namespace, master, up, addresses, default route, delete).
#      Target: attach + detach < 10 ms.
#   2. TCP throughput with iperf3 between two endpoints through the bridge
#      path (veth - bridge - veth, with cell's nft table) against a bare veth
#      pair.  Target: bridge >= 0.95x bare veth.
# Figures are reported, never asserted.
#      Also in-process (build/bench/netnsbench: the library without process
#      starts).
#   HNET_BENCH_N      attach/detach rounds (default 50)
#   HNET_BENCH_SECS   iperf3 seconds per run (default 5)
# Exit status: 0 when every measurement ran.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
CELLCTL=${CELLCTL:-$top/build/cellctl}
N=${HNET_BENCH_N:-50}
SECS=${HNET_BENCH_SECS:-5}
H=hnetbench-h A=hnetbench-a B=hnetbench-b V1=hnetbench-v1 V2=hnetbench-v2
R=$(mktemp -d /tmp/hnet-bench.XXXXXX)
chmod 755 "$R"
pids=()

cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  ip netns exec $H "$CELLCTL" --root "$R" net detach hnetbench --name a >/dev/null 2>&1
  ip netns exec $H "$CELLCTL" --root "$R" net detach hnetbench --name b >/dev/null 2>&1
  ip netns exec $H "$CELLCTL" --root "$R" net rm hnetbench >/dev/null 2>&1
  for p in $(cat "$R"/net/.run/*/pid 2>/dev/null | cut -d' ' -f1); do kill -9 "$p" 2>/dev/null; done
  for n in $H $A $B $V1 $V2; do ip netns del $n 2>/dev/null; done
  rm -rf "$R"
}
trap cleanup EXIT
command -v iperf3 >/dev/null || { echo "netns bench: iperf3 is needed (make deps)" >&2; exit 1; }
[ -x "$CELLCTL" ] || { echo "netns bench: $CELLCTL not built" >&2; exit 1; }
for n in $H $A $B $V1 $V2; do ip netns add $n && ip netns exec $n ip link set lo up || exit 1; done
hx() { ip netns exec $H "$@"; }
ctl() { ip netns exec $H "$CELLCTL" --root "$R" "$@"; }
now() { date +%s%N; }
ms() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.2f", (b - a) / n / 1e6 }'; }

ctl net create hnetbench --type bridge --subnet 10.99.0.0/24 --subnet6 fd99::/64 || exit 1
ctl net attach hnetbench --netns /run/netns/$B --name b >/dev/null || exit 1

# --- 1. attach + detach
t0=$(now)
for i in $(seq "$N"); do
  ctl net attach hnetbench --netns /run/netns/$A --name a >/dev/null || exit 1
  ctl net detach hnetbench --name a || exit 1
done
t1=$(now)
cell_ms=$(ms "$t0" "$t1" "$N")
# the same in-process (netns_attach + netns_detach, no process start)
read -r lib_ms lib_att lib_det < <(ip netns exec $H "$top/build/bench/netnsbench" "$R" hnetbench /run/netns/$A "$N") || exit 1
# the exec of cellctl under `ip netns exec` alone (the floor every command pays)
t0=$(now)
for i in $(seq "$N"); do ctl net ls >/dev/null; done
t1=$(now)
floor_ms=$(ms "$t0" "$t1" "$N")
# the ip sequence (each a process, like the cellctl commands)
t0=$(now)
for i in $(seq "$N"); do
  hx ip link add hnb-x type veth peer name eth0 netns $A &&
    hx ip link set hnb-x master cb-hnetbench &&
    hx ip link set hnb-x up &&
    ip netns exec $A ip addr add 10.99.0.200/24 dev eth0 &&
    ip netns exec $A ip -6 addr add fd99::200/64 dev eth0 nodad &&
    ip netns exec $A ip link set eth0 up &&
    ip netns exec $A ip route add default via 10.99.0.1 &&
    ip netns exec $A ip -6 route add default via fd99::1 &&
    hx ip link del hnb-x || exit 1
done
t1=$(now)
ip_ms=$(ms "$t0" "$t1" "$N")
# the same as one `ip -batch` per side (process cost mostly gone)
printf 'link add hnb-x type veth peer name eth0 netns %s\nlink set hnb-x master cb-hnetbench\nlink set hnb-x up\n' $A >"$R/h.batch"
printf 'addr add 10.99.0.200/24 dev eth0\naddr add fd99::200/64 dev eth0 nodad\nlink set eth0 up\nroute add default via 10.99.0.1\nroute add default via fd99::1\n' >"$R/a.batch"
t0=$(now)
for i in $(seq "$N"); do
  hx ip -batch "$R/h.batch" && ip netns exec $A ip -batch "$R/a.batch" && hx ip link del hnb-x || exit 1
done
t1=$(now)
batch_ms=$(ms "$t0" "$t1" "$N")

# --- 2. throughput: bridge path vs bare veth
ip link add hnb-v1 netns $V1 type veth peer name hnb-v2 netns $V2 || exit 1
ip netns exec $V1 sh -c 'ip addr add 10.98.0.1/24 dev hnb-v1 && ip link set hnb-v1 up' || exit 1
ip netns exec $V2 sh -c 'ip addr add 10.98.0.2/24 dev hnb-v2 && ip link set hnb-v2 up' || exit 1
ctl net attach hnetbench --netns /run/netns/$A --name a --ip 10.99.0.10 >/dev/null || exit 1
bip=$(ctl --json net ls | jq -r '.[0].endpoints[] | select(.name=="b") | .ip')
iperf() { # NS_SERVER NS_CLIENT ADDR -> Gbit/s
  ip netns exec "$1" iperf3 -s -1 -p 5299 >/dev/null 2>&1 &
  local sp=$!
  pids+=("$sp")
  local i
  for i in $(seq 50); do ip netns exec "$1" ss -ltn | grep -q ':5299 ' && break; sleep 0.05; done
  ip netns exec "$2" iperf3 -c "$3" -p 5299 -t "$SECS" -J 2>/dev/null |
    jq -r '.end.sum_received.bits_per_second / 1e9 | . * 100 | round / 100'
  wait "$sp" 2>/dev/null
}
veth_g=$(iperf $V2 $V1 10.98.0.2)
bridge_g=$(iperf $B $A "$bip")
ratio=$(awk -v a="$bridge_g" -v b="$veth_g" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')

printf '%-52s %10s\n' "measurement (N=$N, iperf3 ${SECS}s)" "value"
printf '%-52s %10s\n' "cellctl net attach + detach, per endpoint (ms)" "$cell_ms"
printf '%-52s %10s\n' "netns_attach + netns_detach in-process (ms)" "$lib_ms"
printf '%-52s %10s\n' "  attach / detach (ms)" "$lib_att / $lib_det"
printf '%-52s %10s\n' "  cellctl exec floor x2 (net ls) (ms)" "$(awk -v f="$floor_ms" 'BEGIN { printf "%.2f", 2 * f }')"
printf '%-52s %10s\n' "ip commands, same link work, 9 processes (ms)" "$ip_ms"
printf '%-52s %10s\n' "ip -batch, same link work, 3 processes (ms)" "$batch_ms"
printf '%-52s %10s\n' "bare veth pair, TCP (Gbit/s)" "$veth_g"
printf '%-52s %10s\n' "bridge path (veth-bridge-veth + nft), TCP (Gbit/s)" "$bridge_g"
printf '%-52s %10s\n' "bridge / bare veth" "$ratio"
echo "# targets: attach+detach < 10 ms; bridge >= 0.95x bare veth (reported, not asserted)"
[ -n "$veth_g" ] && [ -n "$bridge_g" ]
