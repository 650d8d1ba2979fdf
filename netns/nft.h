/* nft.h - cell's packet filtering and NAT: one nftables table of family
 * `inet` that cell owns, replaced as a whole in one libnftables transaction
 * (nothing else in the ruleset is read or touched).
 *
 * The caller describes everything it wants (networks, attached endpoints,
 * port forwards) as plain data; netns_nft_apply renders the table and swaps
 * it in atomically: `add table` + `delete table` + the new table in one
 * buffer, so a reader sees the old table or the new one, never a part, and a
 * failed apply leaves the old table as it was.
 *
 * What the table does (all in "inet TABLE"):
 *  - anti-spoof: for each endpoint, an ingress chain on its host-side link
 *    drops IPv4/IPv6 packets whose source is not one of the endpoint's
 *    addresses (IPv6 link-local fe80::/10 and :: for NDP/DAD are let through).
 *    It sees bridged (L2) and routed traffic alike.  The link must exist when
 *    the table is applied: apply after creating the host-side veth and before
 *    setting it up, and apply again after deleting it (endpoints whose link
 *    is missing are left out, so a stale endpoint never blocks an apply).
 *  - masquerade of a NAT network's egress (source in the subnet, destination
 *    outside it), IPv4 and, when subnet6 is set, IPv6.
 *  - port forwards: DNAT of tcp/udp to a local address of this host, in
 *    prerouting (clients from outside, the client's source address is kept)
 *    and in output (the host itself; loopback destinations are not
 *    forwarded, use one of the host's other addresses).  Hairpin: traffic
 *    from a network's subnet to the same subnet that was DNATed is
 *    masqueraded, so another environment on the network can use the forward.
 *  - a forward chain that accepts established traffic and traffic from/to
 *    cell's networks (it cannot override a drop in another table: `cellctl
 *    doctor` reports those).
 * Every chain's policy is accept: cell's table never drops anything but
 * spoofed sources. */
#ifndef CELL_NETNS_NFT_H
#define CELL_NETNS_NFT_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"
#include "lib/strbuf.h"

/* The default table name; tests use their own. */
#define NETNS_NFT_TABLE "cell"

struct nft_network {
  const char *name;             /* the network's name (referenced by endpoints and forwards) */
  const char *bridge_or_parent; /* the bridge (bridge type) or parent interface (routed); may be NULL */
  const char *subnet4;          /* "10.0.3.0/24" or NULL */
  const char *subnet6;          /* "fd42::/64" or NULL */
  bool nat;                     /* masquerade egress leaving the subnet */
  bool routed;                  /* routed (venet-like) network */
};

/* An attached environment: packets from host_ifname (the host-side veth)
 * with a source address not in addrs are dropped. */
struct nft_endpoint {
  const char *network;
  const char *host_ifname;
  const char *const *addrs; /* plain addresses, "10.0.3.5", "fd42::5" (no prefix) */
  size_t naddrs;
};

/* host_port on this host's local addresses -> addr:port. */
struct nft_forward {
  const char *proto; /* "tcp" or "udp" */
  int family;        /* 4 or 6 (must match addr) */
  unsigned host_port;
  const char *addr;
  unsigned port;
  const char *network; /* the network addr is on (for hairpin); may be NULL */
};

struct nft_state {
  const struct nft_network *nets;
  size_t nnets;
  const struct nft_endpoint *eps;
  size_t neps;
  const struct nft_forward *fwds;
  size_t nfwds;
};

/* Validate st and render the whole transaction text (add/delete/define
 * TABLE) into out.  Pure: reads nothing from the system, so unit tests can
 * compare the text; every endpoint is rendered.  -1 with err naming the bad
 * field (network name, interface, address, port) on invalid input. */
int netns_nft_render(const char *table, const struct nft_state *st, struct strbuf *out,
                     struct cell_err *err);

/* Replace table TABLE (family inet) with the rules for st, atomically. An
 * empty st still leaves an (empty-chained) table; use netns_nft_remove to
 * drop it.  Works in the calling thread's network namespace. */
int netns_nft_apply(const char *table, const struct nft_state *st, struct cell_err *err);

/* Delete table TABLE (family inet); no error if it does not exist. */
int netns_nft_remove(const char *table, struct cell_err *err);

#endif
