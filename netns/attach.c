/* attach.c - endpoints: attach, detach, repair (netns.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netns/addr.h"
#include "netns/internal.h"
#include "netns/tc.h"

static uint64_t fnv64(const char *a, const char *b) {
  uint64_t h = 14695981039346656037ull;
  for (const char *s = a; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  h = (h ^ '/') * 1099511628211ull;
  for (const char *s = b; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static int parse_ep_addr(const char *s, struct nl_addr *a) {
  struct cell_err e;
  return s[0] ? netns_addr_parse(s, a, "lease", &e) : (a->family = 0, -1);
}

int ep_teardown(struct nl *nl, const struct netns_network *net, const struct lease *l, struct cell_err *err) {
  const struct netns_endpoint *e = &l->ep;
  int r = 0;
  struct cell_err e2 = {0};
  /* deleting the host end deletes the peer inside and the routes via it */
  if (nl_link_del(nl, e->host_ifname, err) < 0) r = -1;
  if (netns_tc_clear_name(e->host_ifname, r ? &e2 : err) < 0 && !r) r = -1;
  if (net->type == NETNS_ROUTED && net->parent[0]) {
    int pidx = nl_link_index(nl, net->parent, &e2);
    struct nl_addr a;
    if (pidx > 0 && parse_ep_addr(e->ip4, &a) == 0 && nl_proxy_del(nl, pidx, &a, r ? &e2 : err) < 0) r = -1;
    if (pidx > 0 && parse_ep_addr(e->ip6, &a) == 0 && nl_proxy_del(nl, pidx, &a, r ? &e2 : err) < 0) r = -1;
  }
  return r;
}

/* After endpoints were torn down: the nft table (which leaves out endpoints
 * whose link is gone, so the old lease file is fine for it), the resolver,
 * and last the lease file, l[0..n).  Killed anywhere before the save, the
 * old leases stay and the next repair does it all again. */
static int commit(struct store *st, const struct netns_network *net, const struct lease *l, size_t n,
                  struct cell_err *err) {
  if (fw_sync(st, err) < 0 || dns_sync(st, net, l, n, err) < 0) return -1;
  return store_leases_save(st, net->name, l, n, err);
}

int repair_locked(struct store *st, struct nl *nl, const struct netns_network *net, bool *changed,
                  struct cell_err *err) {
  struct lease *l = NULL;
  size_t n = 0, k = 0;
  if (store_leases_load(st, net->name, &l, &n, err) < 0) return -1;
  for (size_t i = 0; i < n; i++) {
    bool stale = l[i].state != LEASE_ATTACHED; /* under the lock: its attach was killed */
    if (!stale) {
      int idx = nl_link_index(nl, l[i].ep.host_ifname, err);
      if (idx < 0) goto fail;
      stale = idx == 0; /* the namespace went away, and the veth with it */
    }
    if (stale) {
      if (ep_teardown(nl, net, &l[i], err) < 0) goto fail;
      *changed = true;
    } else {
      l[k++] = l[i];
    }
  }
  if (*changed && commit(st, net, l, k, err) < 0) goto fail;
  free(l);
  return 0;
fail:
  free(l);
  return -1;
}

int netns_repair(const char *root, const char *network, struct cell_err *err) {
  struct store st;
  struct nl nl = {0};
  struct netns_network net;
  bool changed = false;
  if (store_open(root, &st, err) < 0) return -1;
  int r = store_net_load(&st, network, &net, err) < 0 || nl_open(&nl, err) < 0
              ? -1
              : repair_locked(&st, &nl, &net, &changed, err);
  nl_close(&nl);
  store_close(&st);
  return r;
}

/* Picks or checks one family's address for a new endpoint. */
static int pick_addr(const struct netns_network *net, int family, const char *want, const struct lease *l, size_t n,
                     struct nl_addr *out, int *prefix, struct cell_err *err) {
  const char *opt = family == AF_INET ? "--ip" : "--ip6";
  const char *subnet = family == AF_INET ? net->subnet4 : net->subnet6;
  const char *gw = family == AF_INET ? net->gateway4 : net->gateway6;
  struct nl_addr snet = {0}, used[n + 2];
  int sp = 0;
  size_t nu = 0;
  out->family = 0;
  if (subnet[0] && netns_cidr_parse(subnet, &snet, &sp, "subnet", err) < 0) return -1;
  for (size_t i = 0; i < n; i++)
    if (parse_ep_addr(family == AF_INET ? l[i].ep.ip4 : l[i].ep.ip6, &used[nu]) == 0) nu++;
  if (gw[0] && parse_ep_addr(gw, &used[nu]) == 0) nu++;
  if (want && *want) {
    if (netns_addr_parse(want, out, opt, err) < 0) return -1;
    if (out->family != family) return cell_error(err, 0, "%s: %s is not an IPv%d address", opt, want, family == AF_INET ? 4 : 6);
    if (subnet[0] && !netns_cidr_contains(&snet, sp, out))
      return cell_error(err, 0, "%s: %s is not in the network's subnet %s", opt, want, subnet);
    struct nl_addr first, last;
    if (subnet[0] && family == AF_INET &&
        (netns_addr_eq(out, &snet) ||
         (netns_cidr_nth(&snet, sp, ((uint64_t)1 << (32 - sp)) - 1, &last) && netns_addr_eq(out, &last))))
      return cell_error(err, 0, "%s: %s is the subnet's network or broadcast address", opt, want);
    (void)first;
    for (size_t i = 0; i < nu; i++)
      if (netns_addr_eq(&used[i], out)) return cell_error(err, EADDRINUSE, "%s: %s is in use on network %s", opt, want, net->name);
  } else if (subnet[0]) {
    if (netns_addr_alloc(&snet, sp, net->type == NETNS_BRIDGE ? 2 : 1, used, nu, out, err) < 0)
      return cell_error_wrap(err, "network %s", net->name);
  } else {
    return 0;
  }
  *prefix = net->type == NETNS_ROUTED ? (family == AF_INET ? 32 : 128) : sp;
  return 0;
}

/* The host side of a new endpoint, the link existing (down). */
static int host_side(struct store *st, struct nl *nl, const struct netns_network *net, struct netns_endpoint *e,
                     int hidx, struct cell_err *err) {
  struct nl_addr a4 = {0}, a6 = {0}, g;
  parse_ep_addr(e->ip4, &a4);
  parse_ep_addr(e->ip6, &a6);
  struct nl_link_set s = NL_LINK_SET_INIT;
  if (net->type == NETNS_BRIDGE) {
    if (net_bridge_ensure(nl, net, err) < 0) return -1;
    int bidx = nl_link_index(nl, net->bridge, err);
    if (bidx <= 0) return bidx < 0 ? -1 : cell_error(err, ENODEV, "bridge %s is missing", net->bridge);
    s.master = bidx;
  } else {
    if (a4.family && (nl_sysctl_write("net/ipv4/ip_forward", "1", err) < 0 ||
                      netns_addr_parse(net->gateway4, &g, "gateway", err) < 0 ||
                      nl_addr_add(nl, hidx, &g, 32, false, err) < 0))
      return -1;
    if (a6.family && (nl_sysctl_write("net/ipv6/conf/all/forwarding", "1", err) < 0 ||
                      netns_addr_parse(net->gateway6, &g, "gateway6", err) < 0 ||
                      nl_addr_add(nl, hidx, &g, 64, true, err) < 0))
      return -1;
  }
  /* anti-spoof rules exist before the link carries anything */
  if (fw_sync(st, err) < 0) return -1;
  s.up = 1;
  if (nl_link_set(nl, hidx, &s, err) < 0) return -1;
  if (net->type == NETNS_ROUTED) {
    if (a4.family && nl_route_add(nl, AF_INET, &a4, 32, NULL, hidx, err) < 0) return -1;
    if (a6.family && nl_route_add(nl, AF_INET6, &a6, 128, NULL, hidx, err) < 0) return -1;
    if (net->parent[0]) {
      int pidx = nl_link_index(nl, net->parent, err);
      if (pidx <= 0) return pidx < 0 ? -1 : cell_error(err, ENODEV, "parent interface %s is missing", net->parent);
      char key[128];
      if (a6.family) {
        snprintf(key, sizeof key, "net/ipv6/conf/%s/proxy_ndp", net->parent);
        if (nl_sysctl_write(key, "1", err) < 0) return -1;
        snprintf(key, sizeof key, "net/ipv6/neigh/%s/proxy_delay", net->parent);
        if (nl_sysctl_write(key, "0", err) < 0) return -1;
      }
      /* answer proxied ARP at once, not after up to 0.8 s */
      snprintf(key, sizeof key, "net/ipv4/neigh/%s/proxy_delay", net->parent);
      if (a4.family && nl_sysctl_write(key, "0", err) < 0) return -1;
      if (a4.family && nl_proxy_add(nl, pidx, &a4, err) < 0) return -1;
      if (a6.family && nl_proxy_add(nl, pidx, &a6, err) < 0) return -1;
    }
  }
  if ((e->rate_in || e->rate_out) && netns_tc_set(hidx, e->rate_out, e->rate_in, err) < 0) return -1;
  return 0;
}

/* The inside: lo and the interface up, addresses, default routes. */
static int inner_side(struct nl *in, const struct netns_network *net, const struct netns_endpoint *e,
                      struct cell_err *err) {
  struct nl_link_set up = NL_LINK_SET_INIT;
  up.up = 1;
  int lo = nl_link_index(in, "lo", err), idx = nl_link_index(in, e->ifname, err);
  if (lo < 0 || idx < 0) return -1;
  if (!idx) return cell_error(err, ENODEV, "%s is missing inside the namespace", e->ifname);
  if (lo > 0 && nl_link_set(in, lo, &up, err) < 0) return -1;
  struct nl_addr a, g;
  if (parse_ep_addr(e->ip4, &a) == 0) {
    if (nl_addr_add(in, idx, &a, e->prefix4, false, err) < 0) return -1;
  }
  if (parse_ep_addr(e->ip6, &a) == 0 && nl_addr_add(in, idx, &a, e->prefix6, true, err) < 0) return -1;
  if (nl_link_set(in, idx, &up, err) < 0) return -1;
  if (e->ip4[0] && parse_ep_addr(e->gateway4, &g) == 0) {
    if (net->type == NETNS_ROUTED && nl_route_add(in, AF_INET, &g, 32, NULL, idx, err) < 0) return -1;
    if (nl_route_add(in, AF_INET, NULL, 0, &g, idx, err) < 0) return -1;
  }
  if (e->ip6[0] && parse_ep_addr(e->gateway6, &g) == 0 && nl_route_add(in, AF_INET6, NULL, 0, &g, idx, err) < 0)
    return -1;
  return 0;
}

static int open_target(const struct netns_attach_opts *o, struct cell_err *err) {
  if (o->netns_fd >= 0) {
    int fd = fcntl(o->netns_fd, F_DUPFD_CLOEXEC, 3);
    return fd < 0 ? cell_error(err, errno, "netns fd %d", o->netns_fd) : fd;
  }
  char path[64];
  const char *p = o->netns_path;
  if (o->pid > 0) {
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int)o->pid);
    p = path;
  }
  if (!p || !*p) return cell_error(err, 0, "--netns PATH or --pid PID: the namespace to attach is needed");
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cell_error(err, errno, "%s %s", o->pid > 0 ? "--pid: open" : "--netns: open", p);
  return fd;
}

/* Everything of a new endpoint's record before the kernel is touched. */
static int plan_endpoint(struct nl *host, struct nl *in, const struct netns_network *net,
                         const struct netns_attach_opts *o, const struct stat *sb, const struct lease *l, size_t n,
                         struct netns_endpoint *e, struct cell_err *err) {
  memset(e, 0, sizeof *e);
  snprintf(e->network, sizeof e->network, "%s", net->name);
  if (o->endpoint && *o->endpoint) snprintf(e->name, sizeof e->name, "%s", o->endpoint);
  else snprintf(e->name, sizeof e->name, "e%" PRIu64, (uint64_t)sb->st_ino);
  if (netns_name_check("--name", o->endpoint && *o->endpoint ? o->endpoint : e->name, err) < 0) return -1;
  if (o->hostname) snprintf(e->hostname, sizeof e->hostname, "%s", o->hostname);
  for (size_t i = 0; i < n; i++)
    if (l[i].ep.netns_ino == (uint64_t)sb->st_ino && l[i].ep.netns_dev == (uint64_t)sb->st_dev)
      return cell_error(err, EEXIST, "this network namespace is attached to network %s already (endpoint %s)",
                        net->name, l[i].ep.name);
  for (size_t i = 0; i < n; i++)
    if (!strcmp(l[i].ep.name, e->name))
      return cell_error(err, EEXIST, "endpoint %s exists already on network %s", e->name, net->name);
  e->netns_ino = (uint64_t)sb->st_ino;
  e->netns_dev = (uint64_t)sb->st_dev;
  e->mtu = net->mtu;
  e->rate_in = o->rate_in;
  e->rate_out = o->rate_out;
  struct nl_addr a4, a6;
  if (pick_addr(net, AF_INET, o->ip, l, n, &a4, &e->prefix4, err) < 0 ||
      pick_addr(net, AF_INET6, o->ip6, l, n, &a6, &e->prefix6, err) < 0)
    return -1;
  if (!a4.family && !a6.family)
    return cell_error(err, 0, "--ip/--ip6: network %s has no subnet to allocate from; give an address", net->name);
  if (a4.family) {
    netns_addr_str(&a4, e->ip4, sizeof e->ip4);
    snprintf(e->gateway4, sizeof e->gateway4, "%s", net->gateway4);
  }
  if (a6.family) {
    netns_addr_str(&a6, e->ip6, sizeof e->ip6);
    snprintf(e->gateway6, sizeof e->gateway6, "%s", net->gateway6);
  }
  if (net->type == NETNS_BRIDGE)
    snprintf(e->dns, sizeof e->dns, "%s", a4.family && net->gateway4[0] ? net->gateway4 : net->gateway6);
  snprintf(e->host_ifname, sizeof e->host_ifname, "ve-%010llx", (unsigned long long)(fnv64(net->name, e->name) & 0xffffffffffull));
  int x = nl_link_index(host, e->host_ifname, err);
  if (x < 0) return -1;
  if (x > 0) return cell_error(err, EEXIST, "host interface %s exists already", e->host_ifname);
  if (o->ifname && *o->ifname) {
    if (strlen(o->ifname) >= NETNS_IFNAME_MAX || strchr(o->ifname, '/'))
      return cell_error(err, 0, "--ifname: \"%s\" is not an interface name", o->ifname);
    snprintf(e->ifname, sizeof e->ifname, "%s", o->ifname);
    if ((x = nl_link_index(in, e->ifname, err)) != 0)
      return x < 0 ? -1 : cell_error(err, EEXIST, "%s exists already inside the namespace", e->ifname);
  } else {
    for (int i = 0;; i++) {
      snprintf(e->ifname, sizeof e->ifname, "eth%d", i);
      if ((x = nl_link_index(in, e->ifname, err)) < 0) return -1;
      if (!x) break;
    }
  }
  return 0;
}

static int attach_locked(struct store *st, struct nl *host, const struct netns_attach_opts *o, int nsfd,
                         struct netns_endpoint *out, struct cell_err *err) {
  struct netns_network net;
  struct nl in = {0};
  struct lease *l = NULL;
  size_t n = 0;
  bool changed = false;
  struct stat sb;
  int r = -1;
  if (fstat(nsfd, &sb) < 0) return cell_error(err, errno, "stat the network namespace");
  if (store_net_load(st, o->network, &net, err) < 0 || repair_locked(st, host, &net, &changed, err) < 0) return -1;
  if (nl_open_netns(&in, nsfd, err) < 0) return -1;
  if (store_leases_load(st, net.name, &l, &n, err) < 0) goto out;
  struct lease *nl2 = realloc(l, (n + 1) * sizeof *l);
  if (!nl2) {
    cell_error(err, ENOMEM, "attach");
    goto out;
  }
  l = nl2;
  struct lease *me = &l[n];
  memset(me, 0, sizeof *me);
  if (plan_endpoint(host, &in, &net, o, &sb, l, n, &me->ep, err) < 0) goto out;
  me->state = LEASE_ATTACHING;
  me->pid = getpid();
  /* recorded before the kernel is touched: a killed attach is undone by the next command */
  if (store_leases_save(st, net.name, l, n + 1, err) < 0) goto out;
  int hidx;
  if (nl_veth_add(host, me->ep.host_ifname, me->ep.ifname, nsfd, net.mtu, err) < 0 ||
      (hidx = nl_link_index(host, me->ep.host_ifname, err)) <= 0 ||
      host_side(st, host, &net, &me->ep, hidx, err) < 0 || inner_side(&in, &net, &me->ep, err) < 0) {
    struct cell_err e2 = {0};
    if (!err->msg[0]) cell_error(err, ENODEV, "veth %s vanished", me->ep.host_ifname);
    ep_teardown(host, &net, me, &e2);
    commit(st, &net, l, n, &e2);
    goto out;
  }
  me->state = LEASE_ATTACHED;
  if (dns_sync(st, &net, l, n + 1, err) < 0 || store_leases_save(st, net.name, l, n + 1, err) < 0) {
    struct cell_err e2 = {0};
    ep_teardown(host, &net, me, &e2);
    commit(st, &net, l, n, &e2);
    goto out;
  }
  if (out) *out = me->ep;
  r = 0;
out:
  free(l);
  nl_close(&in);
  return r;
}

int netns_attach(const char *root, const struct netns_attach_opts *o, struct netns_endpoint *out,
                 struct cell_err *err) {
  if (!o->network) return cell_error(err, 0, "attach: no network named");
  cleanup_close int nsfd = open_target(o, err);
  if (nsfd < 0) return -1;
  struct store st;
  struct nl host = {0};
  if (store_open(root, &st, err) < 0) return -1;
  int r = nl_open(&host, err) < 0 ? -1 : attach_locked(&st, &host, o, nsfd, out, err);
  nl_close(&host);
  store_close(&st);
  return r;
}

/* Detaches leases of net matching (name, or the namespace ino/dev). */
static int detach_matching(struct store *st, struct nl *nl, const struct netns_network *net, const char *name,
                           const struct stat *ns, size_t *count, struct cell_err *err) {
  struct lease *l = NULL;
  size_t n = 0, k = 0, found = 0;
  int r = 0;
  if (store_leases_load(st, net->name, &l, &n, err) < 0) return -1;
  for (size_t i = 0; i < n; i++) {
    bool match = name ? !strcmp(l[i].ep.name, name)
                      : (l[i].ep.netns_ino == (uint64_t)ns->st_ino && l[i].ep.netns_dev == (uint64_t)ns->st_dev);
    if (match && r == 0) {
      found++;
      if (ep_teardown(nl, net, &l[i], err) < 0) r = -1, l[k++] = l[i];
    } else {
      l[k++] = l[i];
    }
  }
  if (found && commit(st, net, l, k, r ? &(struct cell_err){0} : err) < 0) r = -1;
  free(l);
  *count += found;
  return r;
}

int netns_detach(const char *root, const char *network, const char *endpoint, struct cell_err *err) {
  struct store st;
  struct nl nl = {0};
  struct netns_network net;
  size_t cnt = 0;
  if (store_open(root, &st, err) < 0) return -1;
  int r = -1;
  if (store_net_load(&st, network, &net, err) < 0 || nl_open(&nl, err) < 0) goto out;
  if (detach_matching(&st, &nl, &net, endpoint, NULL, &cnt, err) < 0) goto out;
  if (!cnt) {
    cell_error(err, ENOENT, "network %s has no endpoint %s", network, endpoint);
    goto out;
  }
  r = 0;
out:
  nl_close(&nl);
  store_close(&st);
  return r;
}

int netns_detach_netns(const char *root, const char *network, int netns_fd, size_t *n_detached,
                       struct cell_err *err) {
  struct stat sb;
  if (fstat(netns_fd, &sb) < 0) return cell_error(err, errno, "stat the network namespace");
  struct store st;
  struct nl nl = {0};
  char **names = NULL;
  size_t nn = 0, cnt = 0;
  if (store_open(root, &st, err) < 0) return -1;
  int r = -1;
  if (nl_open(&nl, err) < 0) goto out;
  if (network) {
    if (!(names = calloc(1, sizeof *names)) || !(names[0] = strdup(network))) {
      cell_error(err, ENOMEM, "detach");
      goto out;
    }
    nn = 1;
  } else if (store_net_names(&st, &names, &nn, err) < 0) {
    goto out;
  }
  for (size_t i = 0; i < nn; i++) {
    struct netns_network net;
    if (store_net_load(&st, names[i], &net, err) < 0 || detach_matching(&st, &nl, &net, NULL, &sb, &cnt, err) < 0)
      goto out;
  }
  if (n_detached) *n_detached = cnt;
  r = 0;
out:
  store_names_free(names, nn);
  nl_close(&nl);
  store_close(&st);
  return r;
}

int netns_endpoints(const char *root, const char *network, struct netns_endpoint **out, size_t *n,
                    struct cell_err *err) {
  struct store st;
  struct nl nl = {0};
  struct netns_network net;
  struct lease *l = NULL;
  bool changed = false;
  *out = NULL;
  *n = 0;
  if (store_open(root, &st, err) < 0) return -1;
  int r = -1;
  if (store_net_load(&st, network, &net, err) < 0 || nl_open(&nl, err) < 0 ||
      repair_locked(&st, &nl, &net, &changed, err) < 0 || store_leases_load(&st, network, &l, n, err) < 0)
    goto out;
  *out = calloc(*n + 1, sizeof **out);
  if (!*out) {
    cell_error(err, ENOMEM, "endpoints");
    goto out;
  }
  for (size_t i = 0; i < *n; i++) (*out)[i] = l[i].ep;
  r = 0;
out:
  free(l);
  nl_close(&nl);
  store_close(&st);
  return r;
}

int netns_hook(pid_t init_pid, int netns_fd, void *data, struct cell_err *err) {
  (void)init_pid;
  struct netns_hook_data *d = data;
  for (size_t i = 0; i < d->n; i++) {
    struct netns_attach_opts o = d->opts[i];
    o.netns_fd = netns_fd;
    o.pid = 0;
    o.netns_path = NULL;
    struct netns_endpoint ep;
    if (netns_attach(d->root, &o, &ep, err) < 0) {
      size_t k;
      netns_detach_netns(d->root, NULL, netns_fd, &k, &(struct cell_err){0});
      return -1;
    }
    if (d->out) d->out[i] = ep;
  }
  return 0;
}
