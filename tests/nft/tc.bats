#!/usr/bin/env bats
# Traffic limits (netns/tc.c) on a host-side veth, measured with iperf3 in
# namespaces built by helpers.bash: rate_in (into the environment, TBF at the
# veth's root) and rate_out (out of it, ingress + u32 + mirred to an IFB with
# TBF), both within +-15% of the set rate, changed live, and removed with no
# qdisc or IFB device left.  The measured figures are printed as TAP
# comments and appended to build/test-logs/nft-rates.txt.

load helpers

setup() {
  topo_up
  bg "$E1" iperf3 -s -p 5201
  local i
  for i in $(seq 100); do ine1 ss -Hltn 'sport = :5201' | grep -q . && return 0; sleep 0.05; done
  return 1
}
teardown() { topo_down; }

# measure in|out: bit/s received, host -> e1 (in) or e1 -> host (out, -R)
measure() {
  local rev=; [ "$1" = out ] && rev=-R
  inh timeout 30 iperf3 -c 10.79.0.2 -p 5201 $rev -t 3 -O 1 -J | jq '.end.sum_received.bits_per_second | floor'
}

# within DIR RATE_BPS: measured within +-15% of the rate; up to 3 runs (a
# busy shared machine can starve one run), every figure reported.
within() {
  local dir=$1 rate=$2 m try
  for try in 1 2 3; do
    m=$(measure "$dir")
    echo "# rate $dir set $rate bit/s, measured $m bit/s ($((m * 100 / rate))%), run $try" >&3
    echo "$(date -u +%FT%TZ) $dir set=$rate measured=$m" >>"$TOP/build/test-logs/nft-rates.txt" 2>/dev/null || true
    [ "$m" -ge $((rate * 85 / 100)) ] && [ "$m" -le $((rate * 115 / 100)) ] && return 0
  done
  return 1
}

@test "tc: rate limits in both directions within 15%, changed live, removed without leftovers" {
  mkdir -p "$TOP/build/test-logs"
  inh "$NETFW" tc-set vh1 20mbit 50mbit
  run inh tc qdisc show dev vh1
  [[ "$output" == *"qdisc tbf 1: root"*"rate 50Mbit"* ]]
  [[ "$output" == *"qdisc ingress ffff:"* ]]
  [[ "$(inh tc qdisc show dev i-vh1)" == *"qdisc tbf 1: root"*"rate 20Mbit"* ]]
  [[ "$(inh tc filter show dev vh1 ingress)" == *"mirred (Egress Redirect to device i-vh1)"* ]]
  [ "$(inh ip -j link show i-vh1 | jq -r '.[0].ifalias')" = vh1 ]
  within in 50000000
  within out 20000000

  # live: the same qdiscs change their rate, no traffic interruption needed
  inh "$NETFW" tc-set vh1 40mbit 10mbit
  within in 10000000
  within out 40000000

  # one direction only: the other one's qdiscs go
  inh "$NETFW" tc-set vh1 0 30mbit
  [ -z "$(inh ip -j link show type ifb | jq -r '.[].ifname')" ]
  run inh tc qdisc show dev vh1
  [[ "$output" != *ingress* ]]
  within in 30000000

  inh "$NETFW" tc-clear vh1
  inh "$NETFW" tc-clear vh1 # nothing set: no error
  run inh tc -j qdisc show dev vh1
  [ "$(echo "$output" | jq -r '[.[].kind] | join(",")')" = noqueue ]
  [ -z "$(inh ip -j link show type ifb | jq -r '.[].ifname')" ]
}

@test "tc: the IFB device is named after the veth and removed by name once the veth is gone" {
  [ "$("$NETFW" ifb-name vh1)" = i-vh1 ]
  [ "$("$NETFW" ifb-name vhabcdefghijk)" = i-vhabcdefghijk ]
  local long; long=$("$NETFW" ifb-name vhabcdefghijklm)
  [ "${#long}" -le 15 ] && [[ "$long" == i-vhabc* ]]
  [ "$long" != "$("$NETFW" ifb-name vhabcdefghijkln)" ]
  inh "$NETFW" tc-set vh2 10mbit 0
  [ "$(inh ip -j link show type ifb | jq -r '.[].ifname')" = i-vh2 ]
  ip -n "$H" link del vh2
  inh "$NETFW" tc-clear-name vh2
  inh "$NETFW" tc-clear-name vh2
  [ -z "$(inh ip -j link show type ifb | jq -r '.[].ifname')" ]
}

@test "tc: rates are parsed with tc's units, bad ones named" {
  [ "$("$NETFW" rate 10mbit)" = 10000000 ]
  [ "$("$NETFW" rate 1gbit)" = 1000000000 ]
  [ "$("$NETFW" rate 1.5Mbit)" = 1500000 ]
  [ "$("$NETFW" rate 1mibit)" = 1048576 ]
  [ "$("$NETFW" rate 1mbps)" = 8000000 ]
  [ "$("$NETFW" rate 0)" = 0 ]
  run "$NETFW" rate 10parsecs
  [ "$status" -eq 1 ]
  [[ "$output" == *"rate '10parsecs' has an unknown unit 'parsecs'"* ]]
  run "$NETFW" rate -5mbit
  [ "$status" -eq 1 ]
}
