/* nl.h - rtnetlink over libmnl: links, addresses, routes, proxy neighbours,
 * and sysctls of the current network namespace.  A struct nl is a socket in
 * one namespace: nl_open() the caller's, nl_open_netns() another's (opened
 * from a short-lived thread that setns()es, so the caller never moves). */
#ifndef CELL_NETNS_NL_H
#define CELL_NETNS_NL_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#include "lib/error.h"

struct mnl_socket;
struct nl {
  struct mnl_socket *sock;
  unsigned seq;
  unsigned portid;
};

/* An IPv4 or IPv6 address. */
struct nl_addr {
  int family; /* AF_INET, AF_INET6, or 0: none */
  union {
    struct in_addr v4;
    struct in6_addr v6;
    unsigned char b[16];
  } u;
};

int nl_open(struct nl *nl, struct cell_err *err);
int nl_open_netns(struct nl *nl, int netns_fd, struct cell_err *err);
void nl_close(struct nl *nl);

/* The interface's index, 0 when there is none (ENODEV), -1 with err. */
int nl_link_index(struct nl *nl, const char *name, struct cell_err *err);
/* A veth pair: name here, peer in peer_netns_fd (or here when < 0). */
int nl_veth_add(struct nl *nl, const char *name, const char *peer, int peer_netns_fd, unsigned mtu,
                struct cell_err *err);
int nl_bridge_add(struct nl *nl, const char *name, unsigned mtu, struct cell_err *err);
/* Deletes the link by name; a missing one is success. */
int nl_link_del(struct nl *nl, const char *name, struct cell_err *err);

struct nl_link_set {
  int up;            /* 1 up, 0 down, -1 unchanged */
  unsigned mtu;      /* 0 unchanged */
  int master;        /* ifindex, 0 unchanged */
  int netns_fd;      /* >= 0: move there; -1 unchanged */
  const char *name;  /* rename, or NULL */
};
#define NL_LINK_SET_INIT {-1, 0, 0, -1, NULL}
int nl_link_set(struct nl *nl, int ifindex, const struct nl_link_set *s, struct cell_err *err);

/* Address add/del; nodad for IPv6 (usable at once).  An existing address on
 * add and a missing one on del are success. */
int nl_addr_add(struct nl *nl, int ifindex, const struct nl_addr *a, int prefix, bool nodad, struct cell_err *err);
int nl_addr_del(struct nl *nl, int ifindex, const struct nl_addr *a, int prefix, struct cell_err *err);

/* Route: dst/prefix (dst NULL or prefix 0 with dst->family set: default),
 * via gw (NULL: on-link, scope link), dev ifindex.  family is taken from
 * dst or gw.  Existing on add / missing on del are success. */
int nl_route_add(struct nl *nl, int family, const struct nl_addr *dst, int prefix, const struct nl_addr *gw,
                 int ifindex, struct cell_err *err);
int nl_route_del(struct nl *nl, int family, const struct nl_addr *dst, int prefix, int ifindex,
                 struct cell_err *err);

/* Proxy ARP/NDP entry ("ip neigh add proxy ADDR dev IF"). */
int nl_proxy_add(struct nl *nl, int ifindex, const struct nl_addr *a, struct cell_err *err);
int nl_proxy_del(struct nl *nl, int ifindex, const struct nl_addr *a, struct cell_err *err);

/* Writes a sysctl of the current network namespace ("net/ipv4/ip_forward"). */
int nl_sysctl_write(const char *key, const char *value, struct cell_err *err);
int nl_sysctl_read(const char *key, char *buf, size_t size, struct cell_err *err);

#endif
