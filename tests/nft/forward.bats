#!/usr/bin/env bats
# `cellctl net forward add|ls|rm` end to end: a network and endpoints made
# by `cellctl net create/attach` inside the namespaces of helpers.bash (the
# test's own bridge is not used here), forwards from a client namespace with
# its address kept, from the host itself and hairpin, TCP/UDP, IPv4/IPv6,
# and nothing of cell's left in `nft -j list ruleset` / `ip -j link` after
# rm.  cell's table is named hnft (CELL_NFT_TABLE).

load helpers

setup() {
  topo_up
  ip -n "$H" link del br-hnft
  ip -n "$H" link del vh1
  ip -n "$H" link del vh2
  R=$(mktemp -d /tmp/hnft-root.XXXXXX)
  chmod 755 "$R"
  export CELL_NFT_TABLE=$TABLE
}
teardown() {
  if [ -n "${R:-}" ]; then
    ctl net detach lan --name e1 || true
    ctl net detach lan --name e2 || true
    ctl net rm lan || true
    rm -rf "$R"
  fi
  topo_down
}

ctl() { ip netns exec "$H" timeout 60 "$CELLCTL" --root "$R" "$@"; }

net_up() {
  ctl net create lan --type bridge --subnet 10.81.0.0/24 --subnet6 fd81::/64 --nat
  ctl net attach lan --netns "/run/netns/$E1" --ip 10.81.0.2 --ip6 fd81::2 --name e1
  ctl net attach lan --netns "/run/netns/$E2" --ip 10.81.0.3 --ip6 fd81::3 --name e2
}

@test "net forward: add/ls/rm; the client's address kept from outside, from the host, hairpin; v4/v6, tcp/udp" {
  net_up
  serve "$E1" tcp :: 80 "$BATS_TEST_TMPDIR/tcp.log"
  serve "$E1" udp :: 5300 "$BATS_TEST_TMPDIR/udp.log"
  ctl net forward add lan 8080:10.81.0.2:80
  ctl net forward add lan 8053:10.81.0.2:5300/udp
  ctl net forward add lan 8080:[fd81::2]:80/tcp
  run ctl net forward ls --json
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | jq -c '[.[] | "\(.network) \(.proto) \(.family) \(.host_port) \(.addr) \(.port)"] | sort')" = \
    '["lan tcp 4 8080 10.81.0.2 80","lan tcp 6 8080 fd81::2 80","lan udp 4 8053 10.81.0.2 5300"]' ]
  run ctl net forward ls
  [ "${#lines[@]}" -eq 4 ]
  [[ "$output" == *"lan              tcp   ipv6 8080      [fd81::2]"* ]]

  [ "$(ask "$C" tcp 192.168.79.1 8080)" = peer=192.168.79.2 ]
  [ "$(ask "$C" udp 192.168.79.1 8053)" = peer=192.168.79.2 ]
  [ "$(ask "$C" tcp fd80::1 8080)" = peer=fd80::2 ]
  [ "$(ask "$H" tcp 192.168.79.1 8080)" = peer=192.168.79.1 ]
  [ "$(ask "$E2" tcp 192.168.79.1 8080)" = peer=10.81.0.1 ]
  [ "$(ask "$E2" tcp fd80::1 8080)" = peer=fd81::1 ]

  # refusals, named
  run ctl net forward add lan 8080:10.81.0.3:81
  [ "$status" -eq 1 ] && [[ "$output" == *"forward tcp/8080 (IPv4) exists already"* ]]
  run ctl net forward add nope 9000:10.81.0.3:81
  [ "$status" -eq 1 ] && [[ "$output" == *"network nope does not exist"* ]]
  run ctl net forward add lan 9000:10.81.0.3:0
  [ "$status" -eq 2 ] && [[ "$output" == *'port "0" is not 1-65535'* ]]
  run ctl net forward add lan '9000:10.81.0.3 } accept:80'
  [ "$status" -eq 2 ] && [[ "$output" == *"is not an IPv4 or IPv6 address"* ]]
  run ctl net forward rm lan 9999
  [ "$status" -eq 1 ] && [[ "$output" == *"network lan has no forward tcp/9999"* ]]
  run ctl net forward rm other 8080
  [ "$status" -eq 1 ] && [[ "$output" == *"forward tcp/8080 is on network lan, not other"* ]]

  # rm: the IPv4 tcp forward only; the IPv6 one stays
  ctl net forward rm lan 8080 --family 4
  run ask "$C" tcp 192.168.79.1 8080
  [ "$status" -ne 0 ]
  [ "$(ask "$C" tcp fd80::1 8080)" = peer=fd80::2 ]
  ctl net forward rm lan 8080
  ctl net forward rm lan 8053/udp
  [ "$(ctl net forward ls --json | jq length)" -eq 0 ]
  run ask "$C" udp 192.168.79.1 8053
  [ "$status" -ne 0 ]
}

@test "net forward: nothing of cell's left in nft -j list ruleset and ip -j link after rm" {
  net_up
  ctl net forward add lan 8080:10.81.0.2:80
  inh nft list table inet "$TABLE" | grep -q 'dnat ip to 10.81.0.2:80'
  ctl net forward rm lan 8080
  ctl net detach lan --name e1
  ctl net detach lan --name e2
  ctl net rm lan
  [ "$(inh nft -j list ruleset | jq '[.nftables[] | select(.table or .chain or .rule or .set)] | length')" -eq 0 ]
  [ "$(inh ip -j link | jq -c '[.[].ifname] | sort')" = '["lo","up0"]' ]
  [ -z "$(ip netns pids "$H")" ]
}
