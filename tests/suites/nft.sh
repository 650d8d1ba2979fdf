#!/bin/bash
# nft suite (netns/nft.c, tc.c, dns.c): builds the netfw driver and runs
# tests/nft/*.bats, every one inside network namespaces the tests create
# (hnft<pid>-*): cell's nft table (atomic replacement, anti-spoof, forwards
# with the client's address from outside, the host and hairpin, NAT),
# iperf3-measured limits in both directions, dnsmasq per network.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
if ! make -s build/tools/netfw >&2; then
  echo "not ok 1 - building build/tools/netfw failed"
  exit 1
fi
for p in nft iperf3 dnsmasq busybox python3 jq; do
  if ! command -v "$p" >/dev/null; then
    echo "not ok 1 - $p is missing (make deps)"
    exit 1
  fi
done
exec bats --tap tests/nft/*.bats
