#!/usr/bin/env bats
# heavy.bats - `cellctl net`, the slower cases (tests/suites/netns.sh runs
# it): 50 parallel attaches, SIGKILLed attaches and detaches by the dozen on
# both network types, a running `cell` container attached by --pid, and
# `ip -j` / `nft -j` empty after rm.  Everything inside namespaces the test
# makes ("host" side: $H); names carry "hnet".

load ../bats/helpers

: "${HNET_PARALLEL:=50}"
: "${HNET_KILL_TRIALS:=30}"

setup() {
  T=hnet$$s$BATS_TEST_NUMBER
  H=$T-h
  NETNSES="$H"
  ip netns add "$H"
  ip netns exec "$H" ip link set lo up
  R=$(mktemp -d /tmp/hnet-suite.XXXXXX)
  chmod 755 "$R"
  CIDS=
}

teardown() {
  local n e p id
  for id in $CIDS; do timeout 30 "$CELL" --root "$R/cell" delete --force "$id" >/dev/null 2>&1 || true; done
  for n in $(ctl --json net ls 2>/dev/null | jq -r '.[].name'); do
    for e in $(ctl --json net ls | jq -r ".[] | select(.name==\"$n\") | .endpoints[].name"); do
      ctl net detach "$n" --name "$e" || true
    done
    ctl net rm "$n" || true
  done
  for p in $(cat "$R"/net/.run/*/pid 2>/dev/null | cut -d' ' -f1); do kill -9 "$p" 2>/dev/null || true; done
  for n in $NETNSES; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf --one-file-system "$R"
}

hx() { ip netns exec "$H" "$@"; }
ctl() { ip netns exec "$H" "$CELLCTL" --root "$R" "$@"; }
mkns() { local n; for n in "$@"; do ip netns add "$n" && NETNSES+=" $n"; done; }

# nothing of cell's on the host side but the links named in $1 (a regex)
host_clean() {
  local keep=${1:-lo} links
  links=$(hx ip -j link show | jq -r '.[].ifname' | grep -vxE "lo|$keep" || true)
  [ -z "$links" ] || { echo "links left: $links"; return 1; }
  [ -z "$(hx ip neigh show proxy)" ] || { echo "proxy entries left"; return 1; }
  [ -z "$(hx ip -j route show | jq -r '.[] | select(.dev | startswith("ve-")) | .dst')" ] || { echo "routes left"; return 1; }
  if hx nft -j list table inet cell >/dev/null 2>&1; then
    [ "$(hx nft -j list table inet cell | jq '[.nftables[] | select(.chain) | select(.chain.name | startswith("spoof"))] | length')" -eq 0 ] ||
      { echo "anti-spoof chains left"; return 1; }
  fi
  local f
  for f in "$R"/net/*/leases.json; do
    [ -e "$f" ] || continue
    [ "$(jq '.endpoints | length' "$f")" -eq 0 ] || { echo "leases left in $f"; return 1; }
  done
}

@test "$HNET_PARALLEL parallel attaches get distinct addresses, all reachable; parallel detaches leave nothing" {
  ctl net create hnetp --type bridge --subnet 10.88.0.0/24 --subnet6 fd88::/64
  local i pids=() fails=0
  for i in $(seq "$HNET_PARALLEL"); do mkns "$T-p$i"; done
  for i in $(seq "$HNET_PARALLEL"); do
    ctl net attach hnetp --netns "/run/netns/$T-p$i" --name "p$i" >/dev/null 2>"$R/err$i" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || fails=$((fails + 1)); done
  [ "$fails" -eq 0 ] || { cat "$R"/err*; false; }
  run ctl --json net ls
  [ "$(echo "$output" | jq '.[0].endpoints | length')" -eq "$HNET_PARALLEL" ]
  [ "$(echo "$output" | jq '[.[0].endpoints[].ip] | unique | length')" -eq "$HNET_PARALLEL" ]
  [ "$(echo "$output" | jq '[.[0].endpoints[].ip6] | unique | length')" -eq "$HNET_PARALLEL" ]
  [ "$(echo "$output" | jq '[.[0].endpoints[].host_ifname] | unique | length')" -eq "$HNET_PARALLEL" ]
  # the addresses the kernel holds are the leased ones, each once
  for i in $(seq "$HNET_PARALLEL"); do ip netns exec "$T-p$i" ip -j -4 addr show eth0 | jq -r '.[0].addr_info[0].local'; done | sort -u >"$R/kernel"
  [ "$(wc -l <"$R/kernel")" -eq "$HNET_PARALLEL" ]
  [ "$(echo "$output" | jq -r '.[0].endpoints[].ip' | sort -u)" = "$(cat "$R/kernel")" ]
  ip netns exec "$T-p1" busybox ping -c1 -W2 "$(ip netns exec "$T-p$HNET_PARALLEL" ip -j -4 addr show eth0 | jq -r '.[0].addr_info[0].local')"
  hx busybox ping -6 -c1 -W2 "$(ip netns exec "$T-p7" ip -j -6 addr show eth0 scope global | jq -r '.[0].addr_info[0].local')"
  pids=()
  for i in $(seq "$HNET_PARALLEL"); do
    ctl net detach hnetp --name "p$i" 2>"$R/err$i" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || fails=$((fails + 1)); done
  [ "$fails" -eq 0 ] || { cat "$R"/err*; false; }
  host_clean cb-hnetp
  ctl net rm hnetp
  host_clean
  run hx nft -j list ruleset
  [ "$(echo "$output" | jq '[.nftables[] | select(.table)] | length')" -eq 0 ]
}

# kill_loop NET NS [attach args...]: SIGKILL attach and detach at random
# instants; after each, a retry repairs and nothing is left.
kill_loop() {
  local net=$1 ns=$2 keep=$3 i p hits=0
  shift 3
  for i in $(seq "$HNET_KILL_TRIALS"); do
    ip netns exec "$H" "$CELLCTL" --root "$R" net attach "$net" --netns "/run/netns/$ns" --name k "$@" >/dev/null 2>&1 &
    p=$!
    sleep "0.00$((RANDOM % 10))"
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    grep -q '"attaching"' "$R/net/$net/leases.json" 2>/dev/null && hits=$((hits + 1))
    if ! ctl net detach "$net" --name k >/dev/null 2>&1; then
      # not recorded as attached: the killed attach was rolled back (or never began)
      ctl net ls >/dev/null
    fi
    ip netns exec "$H" "$CELLCTL" --root "$R" net attach "$net" --netns "/run/netns/$ns" --name k "$@" >/dev/null 2>&1 &
    p=$!
    wait "$p" || { echo "trial $i: attach after the kill failed"; return 1; }
    ip netns exec "$H" "$CELLCTL" --root "$R" net detach "$net" --name k &
    p=$!
    sleep "0.00$((RANDOM % 5))"
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    ctl net ls >/dev/null
    ctl net detach "$net" --name k >/dev/null 2>&1 || true
    host_clean "$keep" || { echo "trial $i"; return 1; }
    [ -z "$(ip netns exec "$ns" ip -j link show | jq -r '.[].ifname' | grep -vx lo)" ] || { echo "trial $i: link left inside"; return 1; }
  done
  echo "# $net: $HNET_KILL_TRIALS trials, $hits killed mid-attach" >&3
}

@test "SIGKILLed attach/detach at random instants (bridge and routed, with rate limits): retries leave nothing" {
  mkns "$T-k1"
  ip netns exec "$T-k1" ip link set lo up
  ctl net create hnetkb --type bridge --subnet 10.89.0.0/24 --subnet6 fd89::/64
  kill_loop hnetkb "$T-k1" cb-hnetkb --rate-in 20mbit --rate-out 10mbit
  ip link add hnet$$k0 netns "$H" type veth peer name hnet$$k1 netns "$H"
  hx ip link set hnet$$k0 up
  ctl net create hnetkr --type routed --subnet 198.51.100.0/24 --subnet6 2001:db8:9::/64 --parent hnet$$k0
  kill_loop hnetkr "$T-k1" "cb-hnetkb|hnet$$k0|hnet$$k1"
  ctl net rm hnetkb
  ctl net rm hnetkr
  host_clean "hnet$$k0|hnet$$k1"
}

@test "net attach --pid of a running cell container (cell run -d); reachable both ways; detach by --pid" {
  mkdir -p "$R/cell"
  local id=hnet$$-ct b=$R/bundle
  new_bundle "$b" "$id" sleep 600
  timeout 60 "$CELL" --root "$R/cell" run -d --bundle "$b" "$id" </dev/null >"$R/ct.out" 2>&1 || { cat "$R/ct.out"; false; }
  CIDS=$id
  local pid
  pid=$(timeout 30 "$CELL" --root "$R/cell" state "$id" | jq -r .pid)
  [ "$pid" -gt 0 ]
  ctl net create hnetc --type bridge --subnet 10.90.0.0/24 --subnet6 fd90::/64
  run ctl --json net attach hnetc --pid "$pid" --hostname ct1
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  local ip
  ip=$(echo "$output" | jq -r .ip)
  hx busybox ping -c1 -W2 "$ip"
  hx busybox ping -6 -c1 -W2 "$(echo "$output" | jq -r .ip6)"
  # (the container lacks CAP_NET_RAW: the host's busybox pings from its namespace)
  nsenter -t "$pid" -n busybox ping -c1 -W2 10.90.0.1
  nsenter -t "$pid" -n busybox ping -6 -c1 -W2 fd90::1
  # its resolver answers the container's name
  timeout 30 "$CELL" --root "$R/cell" exec "$id" nslookup ct1 10.90.0.1 | grep -q "$ip"
  ctl net detach hnetc --pid "$pid"
  [ -z "$(nsenter -t "$pid" -n ip -j link show | jq -r '.[].ifname' | grep -vx lo)" ]
  host_clean cb-hnetc
  ctl net rm hnetc
  host_clean
  run hx nft -j list ruleset
  [ "$(echo "$output" | jq '[.nftables[] | select(.table)] | length')" -eq 0 ]
}
