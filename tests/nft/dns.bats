#!/usr/bin/env bats
# dnsmasq per network (netns/dns.c) in namespaces built by helpers.bash:
# answers the endpoints' names (busybox nslookup, and the C library through
# /etc/resolv.conf in a mount namespace), follows hosts updates (SIGHUP),
# listens only on the given addresses, stops without leftovers, and never
# kills a process that is not its dnsmasq.

load helpers

setup() {
  topo_up
  RUNDIR=$(mktemp -d /tmp/hnft-dns.XXXXXX)
  chmod 755 "$RUNDIR"
}
teardown() {
  [ -n "${RUNDIR:-}" ] && { inh "$NETFW" dns-stop "$RUNDIR" lan || true; rm -rf "$RUNDIR"; }
  topo_down
}

dnspid() { inh "$NETFW" dns-pid "$RUNDIR" lan; }

@test "dns: dnsmasq answers the endpoints' names, follows updates, and is gone after stop" {
  inh "$NETFW" dns-start "$RUNDIR" lan 10.79.0.1,fd79::1 br-hnft
  local pid; pid=$(dnspid)
  [ "$pid" -gt 0 ]
  [ "$(readlink /proc/$pid/exe)" = "$(command -v dnsmasq)" ]
  # in the host namespace, as nobody, in its own session
  [ "$(readlink /proc/$pid/ns/net)" = "$(ip netns exec "$H" readlink /proc/self/ns/net)" ]
  [ "$(ps -o user= -p "$pid")" = nobody ]
  [ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" ]
  inh "$NETFW" dns-hosts "$RUNDIR" lan web=10.79.0.2 web=fd79::2 db=10.79.0.3
  [ "$(cat "$RUNDIR/dns-lan/hosts")" = "$(printf '10.79.0.2 web\nfd79::2 web\n10.79.0.3 db')" ]
  sleep 0.2
  run ine2 busybox nslookup web 10.79.0.1
  [[ "$output" == *"Address: 10.79.0.2"* && "$output" == *"Address: fd79::2"* ]]
  run ine1 busybox nslookup db fd79::1
  [[ "$output" == *"Address: 10.79.0.3"* ]]
  # the C library's resolver through /etc/resolv.conf (in a mount namespace)
  echo "nameserver 10.79.0.1" >"$BATS_TEST_TMPDIR/resolv.conf"
  run ine1 unshare -m sh -c "mount --bind '$BATS_TEST_TMPDIR/resolv.conf' /etc/resolv.conf &&
    python3 -c 'import socket; print(socket.gethostbyname(\"db\"))'"
  [ "$output" = 10.79.0.3 ]

  # updated: db goes, app comes; the same dnsmasq re-reads the file
  inh "$NETFW" dns-hosts "$RUNDIR" lan web=10.79.0.2 app=10.79.0.9
  local i
  for i in $(seq 50); do ine1 busybox nslookup app 10.79.0.1 2>&1 | grep -q 'Address: 10.79.0.9' && break; sleep 0.1; done
  run ine1 busybox nslookup app 10.79.0.1
  [[ "$output" == *"Address: 10.79.0.9"* ]]
  run ine1 busybox nslookup db 10.79.0.1
  [[ "$output" != *"10.79.0.3"* ]]
  [ "$(dnspid)" = "$pid" ]
  # a second start is a no-op
  inh "$NETFW" dns-start "$RUNDIR" lan 10.79.0.1,fd79::1 br-hnft
  [ "$(dnspid)" = "$pid" ]

  inh "$NETFW" dns-stop "$RUNDIR" lan
  [ ! -e "/proc/$pid" ] || [ "$(awk '{print $3}' /proc/$pid/stat)" = Z ]
  [ ! -e "$RUNDIR/dns-lan" ]
  [ -z "$(ip netns pids "$H")" ]
  inh "$NETFW" dns-stop "$RUNDIR" lan # nothing running: fine
  [ "$(dnspid)" = 0 ]
}

@test "dns: bound only to the given addresses, no DHCP, no upstream" {
  inh "$NETFW" dns-start "$RUNDIR" lan 10.79.0.1 br-hnft
  run inh ss -Hlnup
  [[ "$output" == *"10.79.0.1:53"* ]]
  [[ "$output" != *"0.0.0.0:53"* && "$output" != *"127.0.0.1:53"* && "$output" != *":67"* ]]
  run inh ss -Hlntp
  [[ "$output" != *"0.0.0.0:53"* && "$output" != *"127.0.0.1:53"* ]]
  run inh busybox nslookup web 127.0.0.1
  [ "$status" -ne 0 ]
  # no upstream servers: outside names are not forwarded anywhere
  run ine1 busybox nslookup example.com 10.79.0.1
  [[ "$output" == *"can't find example.com: REFUSED"* ]]
}

@test "dns: a stale pid file is replaced; stop never kills a process that is not that dnsmasq" {
  inh "$NETFW" dns-start "$RUNDIR" lan 10.79.0.1
  local pid; pid=$(dnspid)
  kill -9 "$pid"
  for i in $(seq 50); do [ "$(dnspid)" = 0 ] && break; sleep 0.05; done
  [ "$(dnspid)" = 0 ]
  inh "$NETFW" dns-start "$RUNDIR" lan 10.79.0.1
  local pid2; pid2=$(dnspid)
  [ "$pid2" -gt 0 ] && [ "$pid2" != "$pid" ]
  inh "$NETFW" dns-stop "$RUNDIR" lan

  # a pid file naming some other process (the pid reused): left alone
  sleep 300 &
  local victim=$!
  mkdir -p "$RUNDIR/dns-lan"
  echo "$victim $(awk '{print $22}' /proc/$victim/stat)" >"$RUNDIR/dns-lan/pid"
  [ "$(dnspid)" = 0 ]
  inh "$NETFW" dns-stop "$RUNDIR" lan
  kill -0 "$victim"
  kill "$victim"
  [ ! -e "$RUNDIR/dns-lan" ]
}

@test "dns: bad input and an unreadable run directory are refused with a clear error, nothing left" {
  run inh "$NETFW" dns-start "$RUNDIR" ../x 10.79.0.1
  [ "$status" -eq 1 ] && [[ "$output" == *"network name '../x' is invalid"* ]]
  run inh "$NETFW" dns-start "$RUNDIR" lan 10.79.0.1,nope
  [ "$status" -eq 1 ] && [[ "$output" == *"listen address 'nope' is not an IP address"* ]]
  run inh "$NETFW" dns-hosts "$RUNDIR" lan 'bad name=10.79.0.2'
  [ "$status" -eq 1 ] && [[ "$output" == *"host name 'bad name' is invalid"* ]]
  run inh "$NETFW" dns-hosts "$RUNDIR" lan 'web=10.79.0.300'
  [ "$status" -eq 1 ] && [[ "$output" == *"'10.79.0.300' of web is not an IP address"* ]]
  # dnsmasq runs as nobody: a run directory it cannot reach is refused up front
  mkdir -m 700 "$RUNDIR/private"
  run inh "$NETFW" dns-start "$RUNDIR/private/run" lan 10.79.0.1
  [ "$status" -eq 1 ] && [[ "$output" == *"$RUNDIR/private is not searchable by others"* ]]
  [ ! -e "$RUNDIR/private/run/dns-lan" ]
  [ -z "$(ip netns pids "$H")" ]
}
