/* addr.h - IPv4/IPv6 addresses and subnets: parsing, membership, the n-th
 * address of a subnet, and allocation of a free one. */
#ifndef CELL_NETNS_ADDR_H
#define CELL_NETNS_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "netns/nl.h"

/* "10.0.0.5" or "fd00::5" (no prefix).  what names the option in errors. */
int netns_addr_parse(const char *s, struct nl_addr *a, const char *what, struct cell_err *err);
/* "10.0.0.0/24": host bits must be zero; a network's prefix is 8..30 (IPv4)
 * or 64..126 (IPv6), room for a gateway and hosts. */
int netns_cidr_parse(const char *s, struct nl_addr *net, int *prefix, const char *what, struct cell_err *err);
bool netns_cidr_contains(const struct nl_addr *net, int prefix, const struct nl_addr *a);
/* net + n (n counted in the low 64 bits); false when outside the subnet. */
bool netns_cidr_nth(const struct nl_addr *net, int prefix, uint64_t n, struct nl_addr *out);
bool netns_addr_eq(const struct nl_addr *a, const struct nl_addr *b);
/* Text form into buf (at least 46 bytes). */
const char *netns_addr_str(const struct nl_addr *a, char *buf, size_t size);
/* The lowest free host address of net/prefix starting at offset first,
 * skipping used[] (the network and, for IPv4, the broadcast address are
 * never given).  -1 with err (ENOSPC) when the subnet is full. */
int netns_addr_alloc(const struct nl_addr *net, int prefix, uint64_t first, const struct nl_addr *used, size_t nused,
                     struct nl_addr *out, struct cell_err *err);

#endif
