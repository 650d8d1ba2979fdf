/* netns.h - environment networking: networks kept under ROOT/net/, and
 * endpoints (a veth whose inner end lives in some process's network
 * namespace) attached to them.  Container-agnostic: anything with a netns fd
 * or a pid can be attached, a plain `cell` container included (netns_hook).
 *
 * Two network types:
 *   bridge  a veth into a host bridge (made when missing) that carries the
 *           gateway addresses (first host of each subnet);
 *   routed  venet-like: a veth with host-side /32 and /128 routes, proxy
 *           ARP/NDP entries on a parent interface, 169.254.0.1 / fe80::1 as
 *           the gateways inside; spoofed sources dropped (nft anti-spoof).
 *
 * Host-side changes (links, routes, proxy entries, sysctls) are made in the
 * caller's current network namespace; the inner side through a netlink socket
 * opened in the target namespace by a short-lived thread, so the caller's
 * namespace never changes.  Every state change is recorded in
 * ROOT/net/NAME/leases.json under ROOT/net/NAME/lock (flock) before the kernel
 * is touched: a killed attach is rolled back by the next command on that
 * network.  Every function returns 0 or -1 with err set. */
#ifndef CELL_NETNS_H
#define CELL_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/error.h"

#define NETNS_NAME_MAX 32 /* network and endpoint names: [A-Za-z0-9_.-], not starting with '.' or '-' */
#define NETNS_ADDR_MAX 46 /* INET6_ADDRSTRLEN */
#define NETNS_IFNAME_MAX 16 /* IFNAMSIZ */

enum netns_type { NETNS_BRIDGE, NETNS_ROUTED };

/* A network, as `net create` makes it and `net ls` shows it. */
struct netns_network {
  char name[NETNS_NAME_MAX + 1];
  enum netns_type type;
  char subnet4[NETNS_ADDR_MAX + 4]; /* "10.1.0.0/24", or "" */
  char subnet6[NETNS_ADDR_MAX + 4]; /* "fd00:1::/64", or "" */
  char gateway4[NETNS_ADDR_MAX];    /* bridge: first host of subnet4; routed: 169.254.0.1 */
  char gateway6[NETNS_ADDR_MAX];    /* bridge: first host of subnet6; routed: fe80::1 */
  char parent[NETNS_IFNAME_MAX];    /* routed: interface carrying the proxy entries, or "" */
  char bridge[NETNS_IFNAME_MAX];    /* bridge: the host bridge's name */
  bool nat;                         /* masquerade egress leaving by other interfaces */
  unsigned mtu;                     /* 0: 1500 */
  size_t endpoints;                 /* attached endpoints (filled by netns_net_list/get) */
};

/* netns_net_create: name, type, subnets, parent, nat, mtu are read; a bridge
 * name is derived when bridge is "".  Creates the host bridge (bridge type),
 * the nft rules and the resolver. */
int netns_net_create(const char *root, const struct netns_network *net, struct cell_err *err);
/* Refused (EBUSY) while endpoints are attached (stale ones are cleaned first). */
int netns_net_rm(const char *root, const char *name, struct cell_err *err);
int netns_net_get(const char *root, const char *name, struct netns_network *out, struct cell_err *err);
/* All networks, sorted by name; *out is malloc'd (free it). */
int netns_net_list(const char *root, struct netns_network **out, size_t *n, struct cell_err *err);

/* What attach needs.  The namespace is netns_fd when >= 0, else pid's
 * (/proc/PID/ns/net) when > 0, else netns_path (a bind-mounted netns such as
 * /run/netns/NAME). */
struct netns_attach_opts {
  const char *network;
  int netns_fd;
  pid_t pid;
  const char *netns_path;
  const char *ip;       /* static IPv4 (no prefix), or NULL: allocated from subnet4 if any */
  const char *ip6;      /* static IPv6, or NULL: allocated from subnet6 if any */
  uint64_t rate_in;     /* bits/s into the environment, 0: unlimited (netns_rate_parse, tc.h) */
  uint64_t rate_out;    /* bits/s out of the environment, 0: unlimited */
  const char *endpoint; /* endpoint name, or NULL: "e" + the namespace's inode */
  const char *ifname;   /* the interface inside, or NULL: first free ethN */
  const char *hostname; /* registered with the network's resolver, or NULL */
};

/* An attached endpoint (addresses without prefix; prefix lengths apart). */
struct netns_endpoint {
  char network[NETNS_NAME_MAX + 1];
  char name[NETNS_NAME_MAX + 1];
  char hostname[64];
  char host_ifname[NETNS_IFNAME_MAX]; /* the host-side veth */
  char ifname[NETNS_IFNAME_MAX];      /* the veth inside */
  char ip4[NETNS_ADDR_MAX];           /* "" when none */
  int prefix4;
  char gateway4[NETNS_ADDR_MAX];
  char ip6[NETNS_ADDR_MAX];
  int prefix6;
  char gateway6[NETNS_ADDR_MAX];
  char dns[NETNS_ADDR_MAX];           /* the nameserver to use inside, or "" (keep the host's) */
  unsigned mtu;
  uint64_t rate_in, rate_out;
  uint64_t netns_ino;                 /* the namespace's inode (st_ino of its fd) */
  uint64_t netns_dev;
};

/* Attach: records the endpoint and leases, creates the veth (inner end
 * straight into the namespace), addresses, routes, proxy entries, nft rules,
 * rate limits; loopback and the interface up inside, default routes inside.
 * On failure nothing is left.  out may be NULL. */
int netns_attach(const char *root, const struct netns_attach_opts *o, struct netns_endpoint *out,
                 struct cell_err *err);
/* Detach one endpoint by name; undoes everything attach did (a namespace that
 * is gone already is fine).  ENOENT when no such endpoint. */
int netns_detach(const char *root, const char *network, const char *endpoint, struct cell_err *err);
/* Detach every endpoint of network (NULL: of every network) living in the
 * namespace netns_fd; *n_detached says how many (may be NULL). */
int netns_detach_netns(const char *root, const char *network, int netns_fd, size_t *n_detached,
                       struct cell_err *err);
/* Endpoints of a network (after removing stale ones), malloc'd. */
int netns_endpoints(const char *root, const char *network, struct netns_endpoint **out, size_t *n,
                    struct cell_err *err);
/* Clean up after killed commands and vanished namespaces on one network. */
int netns_repair(const char *root, const char *network, struct cell_err *err);

/* Writes /etc/hostname, /etc/hosts and /etc/resolv.conf inside a rootfs
 * (rootfs_dirfd: its directory), resolved with RESOLVE_IN_ROOT, each replaced
 * atomically (a symlink there is replaced, never followed).  hostname may be
 * NULL (only hosts and resolv.conf); eps: the environment's endpoints (their
 * addresses go to /etc/hosts next to the hostname, their dns to resolv.conf;
 * with no dns the file is left as it is). */
int netns_write_etc(int rootfs_dirfd, const char *hostname, const struct netns_endpoint *eps, size_t n,
                    struct cell_err *err);

/* The runtime's netns hook (runtime/container.h struct cell_create_hooks):
 * set hooks.netns = netns_hook and hooks.data to a struct netns_hook_data.
 * Each opts[i] is attached with its netns_fd replaced by the hook's; out
 * (n entries, may be NULL) gets the endpoints.  A failure detaches what was
 * attached before it. */
struct netns_hook_data {
  const char *root;
  const struct netns_attach_opts *opts;
  size_t n;
  struct netns_endpoint *out;
};
int netns_hook(pid_t init_pid, int netns_fd, void *data, struct cell_err *err);

/* Host checks for `cellctl doctor`: each problem found is reported through
 * report(severity "error"|"warning", text, data); returns the number of
 * errors (0: fine), or -1 with err when the checks could not run. */
int netns_doctor(void (*report)(const char *severity, const char *text, void *data), void *data,
                 struct cell_err *err);

/* Port forwards, kept in ROOT/net/forwards.json; add and rm re-apply cell's
 * nft table (nft.h) with every network, endpoint and forward.  A forward is
 * keyed by (proto, family, host_port). */
struct netns_forward {
  char proto[4];                   /* "tcp" or "udp" */
  int family;                      /* 4 or 6 */
  unsigned host_port;
  char addr[NETNS_ADDR_MAX];       /* the environment's address */
  unsigned port;
  char network[NETNS_NAME_MAX + 1]; /* the network addr is on, or "" */
};
int netns_forward_add(const char *root, const struct netns_forward *f, struct cell_err *err);
/* ENOENT when there is no such forward. */
int netns_forward_rm(const char *root, const char *proto, int family, unsigned host_port, struct cell_err *err);
int netns_forward_list(const char *root, struct netns_forward **out, size_t *n, struct cell_err *err);
/* Re-apply cell's nft table from the store (after a reboot, or by tests). */
int netns_firewall_sync(const char *root, struct cell_err *err);

#endif
