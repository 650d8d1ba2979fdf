#!/usr/bin/env bats
# cell's nftables table (netns/nft.c) in namespaces built by helpers.bash:
# atomic replacement touching no other table, anti-spoofing, port forwards
# keeping the client's address (from outside, from the host, hairpin), TCP
# and UDP over IPv4 and IPv6, masquerade of a NAT network's egress.

load helpers

setup() { topo_up; }
teardown() { topo_down; }

tables() { inh nft -j list tables | jq -c '[.nftables[].table | select(.) | "\(.family) \(.name)"] | sort'; }

@test "nft: apply replaces cell's table alone, atomically; a failed apply keeps it; remove leaves the rest" {
  inh nft -f - <<'NFT'
table inet hnftother {
  chain c {
    type filter hook forward priority 10; policy accept;
    tcp dport 4444 counter accept
  }
}
table ip hnftother2 {
  chain c {
    type nat hook postrouting priority 100; policy accept;
    ip saddr 1.2.3.4 masquerade
  }
}
NFT
  local other0 other20
  other0=$(inh nft -j list table inet hnftother)
  other20=$(inh nft -j list table ip hnftother2)

  inh "$NETFW" apply "$TABLE" "$(state "$(fwd tcp 4 8080 10.79.0.2 80)")"
  [ "$(tables)" = '["inet hnft","inet hnftother","ip hnftother2"]' ]
  inh nft -j list table inet "$TABLE" | jq -e '[.. | numbers] | index(8080) != null' >/dev/null
  inh nft list table inet "$TABLE" | grep -q 'dnat ip to 10.79.0.2:80'

  # replaced by a different state: the old forward is gone, the new one there
  inh "$NETFW" apply "$TABLE" "$(state "$(fwd udp 6 9090 fd79::2 90)")"
  run inh nft list table inet "$TABLE"
  [[ "$output" != *8080* ]]
  [[ "$output" == *'udp dport 9090 dnat ip6 to [fd79::2]:90'* ]]
  [ "$(inh nft -j list table inet hnftother)" = "$other0" ]
  [ "$(inh nft -j list table ip hnftother2)" = "$other20" ]

  # an invalid state fails before anything changes
  local before; before=$(inh nft -j list table inet "$TABLE")
  run inh "$NETFW" apply "$TABLE" "$(state "$(fwd tcp 4 8080 'fd79::2' 80)")"
  [ "$status" -eq 1 ]
  [[ "$output" == *"forward 8080: 'fd79::2' is not an IPv4 address"* ]]
  run inh "$NETFW" apply "$TABLE" "$(state "$(fwd tcp 4 8080 '10.79.0.2 } drop; table x {' 80)")"
  [ "$status" -eq 1 ]
  [ "$(inh nft -j list table inet "$TABLE")" = "$before" ]

  inh "$NETFW" remove "$TABLE"
  inh "$NETFW" remove "$TABLE"   # absent: no error
  [ "$(tables)" = '["inet hnftother","ip hnftother2"]' ]
  [ "$(inh nft -j list table inet hnftother)" = "$other0" ]
  [ "$(inh nft -j list table ip hnftother2)" = "$other20" ]
}

@test "nft: the table is swapped in one transaction (a monitor sees one batch per apply)" {
  inh "$NETFW" apply "$TABLE" "$(state "$(fwd tcp 4 8080 10.79.0.2 80)")"
  ip netns exec "$H" timeout 5 nft monitor >"$BATS_TEST_TMPDIR/mon" 2>&1 &
  local mon=$!
  sleep 0.5
  inh "$NETFW" apply "$TABLE" "$(state "$(fwd tcp 4 8081 10.79.0.2 80)")"
  sleep 0.5
  kill "$mon"; wait "$mon" || true
  # one delete of the table and one add of it, no other tables' events
  [ "$(grep -c '^delete table inet hnft' "$BATS_TEST_TMPDIR/mon")" -eq 1 ]
  [ "$(grep -c '^add table inet hnft' "$BATS_TEST_TMPDIR/mon")" -eq 1 ]
  grep -q 'dport 8081' "$BATS_TEST_TMPDIR/mon"
  ! grep -v 'inet hnft' "$BATS_TEST_TMPDIR/mon" | grep -qE '^(add|delete) '
}

@test "nft: spoofed source addresses from an endpoint are dropped (routed to the host and bridged to a neighbour)" {
  ip -n "$E1" addr add 10.79.0.50/24 dev eth0
  ip -n "$E1" addr add fd79::50/64 dev eth0 nodad
  # without cell's table the spoofed source gets through: the check below means something
  ine1 busybox ping -c1 -W2 -I 10.79.0.50 10.79.0.3
  inh "$NETFW" apply "$TABLE" "$(state)"
  ine1 busybox ping -c1 -W2 -I 10.79.0.2 10.79.0.1
  ine1 busybox ping -c1 -W2 -I 10.79.0.2 10.79.0.3
  ine1 busybox ping -6 -c1 -W2 -I fd79::2 fd79::3
  run ine1 busybox ping -c1 -W2 -I 10.79.0.50 10.79.0.1
  [ "$status" -ne 0 ]
  run ine1 busybox ping -c1 -W2 -I 10.79.0.50 10.79.0.3
  [ "$status" -ne 0 ]
  run ine1 busybox ping -6 -c1 -W2 -I fd79::50 fd79::3
  [ "$status" -ne 0 ]
  run ine1 busybox ping -6 -c1 -W2 -I fd79::50 fd79::1
  [ "$status" -ne 0 ]
  # e2's own address is e2's, not e1's
  ip -n "$E1" addr add 10.79.0.3/32 dev eth0 2>/dev/null || true
  inh "$NETFW" remove "$TABLE"
  ine1 busybox ping -c1 -W2 -I 10.79.0.50 10.79.0.1
}

@test "nft: forwards keep the client's address from outside, over TCP and UDP, IPv4 and IPv6" {
  serve "$E1" tcp :: 80 "$BATS_TEST_TMPDIR/tcp.log"
  serve "$E1" udp :: 5300 "$BATS_TEST_TMPDIR/udp.log"
  inh "$NETFW" apply "$TABLE" "$(state "$(fwd tcp 4 8080 10.79.0.2 80)" "$(fwd udp 4 8053 10.79.0.2 5300)" \
    "$(fwd tcp 6 8080 fd79::2 80)" "$(fwd udp 6 8053 fd79::2 5300)")"
  [ "$(ask "$C" tcp 192.168.79.1 8080)" = peer=192.168.79.2 ]
  [ "$(ask "$C" udp 192.168.79.1 8053)" = peer=192.168.79.2 ]
  [ "$(ask "$C" tcp fd80::1 8080)" = peer=fd80::2 ]
  [ "$(ask "$C" udp fd80::1 8053)" = peer=fd80::2 ]
  # the server saw the client's own address too
  [ "$(sort -u "$BATS_TEST_TMPDIR/tcp.log" | tr '\n' ' ')" = "192.168.79.2 fd80::2 " ]
  # a port with no forward is not forwarded
  run ask "$C" tcp 192.168.79.1 8081
  [ "$status" -ne 0 ]
}

@test "nft: forwards work from the host itself and hairpin from another environment on the network" {
  serve "$E1" tcp :: 80 "$BATS_TEST_TMPDIR/tcp.log"
  serve "$E1" udp :: 5300 "$BATS_TEST_TMPDIR/udp.log"
  inh "$NETFW" apply "$TABLE" "$(state "$(fwd tcp 4 8080 10.79.0.2 80)" "$(fwd udp 4 8053 10.79.0.2 5300)" \
    "$(fwd tcp 6 8080 fd79::2 80)")"
  # both with br_netfilter passing bridged traffic to the inet hooks (as on
  # hosts that load it for other firewalls) and without
  local brnf
  for brnf in 1 0; do
  inh sysctl -qw net.bridge.bridge-nf-call-iptables=$brnf net.bridge.bridge-nf-call-ip6tables=$brnf
  # the host, to any of its non-loopback addresses
  [ "$(ask "$H" tcp 192.168.79.1 8080)" = peer=192.168.79.1 ]
  [ "$(ask "$H" tcp 10.79.0.1 8080)" = peer=10.79.0.1 ]
  [ "$(ask "$H" udp 192.168.79.1 8053)" = peer=192.168.79.1 ]
  [ "$(ask "$H" tcp fd80::1 8080)" = peer=fd80::1 ]
  # e2, on the same bridge: masqueraded to the gateway so the reply comes back through the host
  [ "$(ask "$E2" tcp 192.168.79.1 8080)" = peer=10.79.0.1 ]
  [ "$(ask "$E2" tcp 10.79.0.1 8080)" = peer=10.79.0.1 ]
  [ "$(ask "$E2" udp 10.79.0.1 8053)" = peer=10.79.0.1 ]
  [ "$(ask "$E2" tcp fd79::1 8080)" = peer=fd79::1 ]
  # and e1 through its own forward
  [ "$(ask "$E1" tcp 192.168.79.1 8080)" = peer=10.79.0.1 ]
  # e2 talking to e1 directly is not NATed
  [ "$(ask "$E2" tcp 10.79.0.2 80)" = peer=10.79.0.3 ]
  done
}

@test "nft: a NAT network's egress is masqueraded, a non-NAT one keeps its addresses" {
  serve "$C" tcp :: 7000 "$BATS_TEST_TMPDIR/c.log"
  inh "$NETFW" apply "$TABLE" "$(state)"
  [ "$(ask "$E1" tcp 192.168.79.2 7000)" = peer=192.168.79.1 ]
  [ "$(ask "$E1" tcp fd80::2 7000)" = peer=fd80::1 ]
  ip -n "$C" route add 10.79.0.0/24 via 192.168.79.1
  ip -n "$C" -6 route add fd79::/64 via fd80::1
  NAT=false inh "$NETFW" apply "$TABLE" "$(NAT=false state)"
  [ "$(ask "$E1" tcp 192.168.79.2 7000)" = peer=10.79.0.2 ]
  [ "$(ask "$E1" tcp fd80::2 7000)" = peer=fd79::2 ]
  # traffic staying in the subnet is never masqueraded
  NAT=true inh "$NETFW" apply "$TABLE" "$(state)"
  serve "$E2" tcp :: 7001 "$BATS_TEST_TMPDIR/e2.log"
  [ "$(ask "$E1" tcp 10.79.0.3 7001)" = peer=10.79.0.2 ]
}

@test "nft: endpoints whose link is gone are left out; after remove nothing of cell's is in the ruleset" {
  inh "$NETFW" apply "$TABLE" "$(state "$(fwd tcp 4 8080 10.79.0.2 80)")"
  [ "$(inh nft -j list chains | jq '[.nftables[].chain | select(.table == "hnft" and .hook == "ingress")] | length')" -eq 2 ]
  ip -n "$H" link del vh2
  inh "$NETFW" apply "$TABLE" "$(state "$(fwd tcp 4 8080 10.79.0.2 80)")"
  [ "$(inh nft list table inet "$TABLE" | grep -o 'hook ingress device "[^"]*"')" = 'hook ingress device "vh1"' ]
  inh "$NETFW" remove "$TABLE"
  [ "$(inh nft -j list ruleset | jq '[.nftables[] | select(.table or .chain or .rule)] | length')" -eq 0 ]
}
