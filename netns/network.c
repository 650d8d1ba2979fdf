/* network.c - networks: create, rm, get, list (netns.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netns/addr.h"
#include "netns/dns.h"
#include "netns/internal.h"

#define ROUTED_GW4 "169.254.0.1"
#define ROUTED_GW6 "fe80::1"

static uint32_t fnv32(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

/* Fills in gateways and the bridge name; validates. */
static int net_prepare(struct netns_network *n, struct cell_err *err) {
  struct nl_addr a, g;
  int p;
  if (netns_name_check("network", n->name, err) < 0) return -1;
  n->gateway4[0] = n->gateway6[0] = 0;
  if (n->subnet4[0]) {
    if (netns_cidr_parse(n->subnet4, &a, &p, "--subnet", err) < 0) return -1;
    if (a.family != AF_INET) return cell_error(err, 0, "--subnet: \"%s\" is not an IPv4 subnet", n->subnet4);
    if (n->type == NETNS_BRIDGE) {
      netns_cidr_nth(&a, p, 1, &g);
      netns_addr_str(&g, n->gateway4, sizeof n->gateway4);
    }
  }
  if (n->subnet6[0]) {
    if (netns_cidr_parse(n->subnet6, &a, &p, "--subnet6", err) < 0) return -1;
    if (a.family != AF_INET6) return cell_error(err, 0, "--subnet6: \"%s\" is not an IPv6 subnet", n->subnet6);
    if (n->type == NETNS_BRIDGE) {
      netns_cidr_nth(&a, p, 1, &g);
      netns_addr_str(&g, n->gateway6, sizeof n->gateway6);
    }
  }
  if (n->type == NETNS_ROUTED) {
    snprintf(n->gateway4, sizeof n->gateway4, "%s", ROUTED_GW4);
    snprintf(n->gateway6, sizeof n->gateway6, "%s", ROUTED_GW6);
    n->bridge[0] = 0;
  } else {
    if (n->parent[0]) return cell_error(err, 0, "--parent: only for --type routed");
    if (!n->subnet4[0] && !n->subnet6[0])
      return cell_error(err, 0, "--subnet/--subnet6: a bridge network needs at least one subnet");
    if (!n->bridge[0]) {
      if (strlen(n->name) <= 12) snprintf(n->bridge, sizeof n->bridge, "cb-%s", n->name);
      else snprintf(n->bridge, sizeof n->bridge, "cb-%08x", fnv32(n->name));
    }
  }
  if (n->nat && !n->subnet4[0] && !n->subnet6[0]) return cell_error(err, 0, "--nat: needs --subnet or --subnet6");
  if (!n->mtu) n->mtu = 1500;
  if (n->mtu < 1280 || n->mtu > 65535) return cell_error(err, 0, "--mtu: %u is not in 1280..65535", n->mtu);
  return 0;
}

int net_bridge_ensure(struct nl *nl, const struct netns_network *net, struct cell_err *err) {
  int idx = nl_link_index(nl, net->bridge, err);
  if (idx < 0) return -1;
  if (idx == 0) {
    if (nl_bridge_add(nl, net->bridge, net->mtu, err) < 0) return -1;
    if ((idx = nl_link_index(nl, net->bridge, err)) <= 0)
      return idx < 0 ? -1 : cell_error(err, ENODEV, "bridge %s vanished", net->bridge);
  }
  struct nl_addr a, s;
  int p;
  if (net->gateway4[0]) {
    netns_cidr_parse(net->subnet4, &s, &p, "subnet", err);
    if (netns_addr_parse(net->gateway4, &a, "gateway", err) < 0 || nl_addr_add(nl, idx, &a, p, false, err) < 0)
      return -1;
  }
  if (net->gateway6[0]) {
    netns_cidr_parse(net->subnet6, &s, &p, "subnet6", err);
    if (netns_addr_parse(net->gateway6, &a, "gateway6", err) < 0 || nl_addr_add(nl, idx, &a, p, true, err) < 0)
      return -1;
  }
  struct nl_link_set up = NL_LINK_SET_INIT;
  up.up = 1;
  if (nl_link_set(nl, idx, &up, err) < 0) return -1;
  if (net->gateway4[0] && nl_sysctl_write("net/ipv4/ip_forward", "1", err) < 0) return -1;
  if (net->gateway6[0] && nl_sysctl_write("net/ipv6/conf/all/forwarding", "1", err) < 0) return -1;
  return 0;
}

static int dns_start(struct store *st, const struct netns_network *n, struct cell_err *err) {
  if (n->type != NETNS_BRIDGE) return 0;
  char rundir[4096], listen[2 * NETNS_ADDR_MAX + 2];
  if (dns_rundir(st, rundir, sizeof rundir, err) < 0) return -1;
  snprintf(listen, sizeof listen, "%s%s%s", n->gateway4, n->gateway4[0] && n->gateway6[0] ? "," : "", n->gateway6);
  return netns_dns_start(rundir, n->name, listen, n->bridge, err);
}

static void dns_stop(struct store *st, const char *name) {
  char rundir[4096];
  struct cell_err e = {0};
  if (dns_rundir(st, rundir, sizeof rundir, &e) == 0) netns_dns_stop(rundir, name, &e);
}

/* Undo a network's kernel state: resolver, bridge. */
static int net_teardown(struct store *st, struct nl *nl, const struct netns_network *n, struct cell_err *err) {
  dns_stop(st, n->name);
  if (n->type == NETNS_BRIDGE && n->bridge[0] && nl_link_del(nl, n->bridge, err) < 0) return -1;
  return 0;
}

int netns_net_create(const char *root, const struct netns_network *in, struct cell_err *err) {
  struct netns_network n = *in;
  if (net_prepare(&n, err) < 0) return -1;
  struct store st;
  struct nl nl = {0};
  if (store_open(root, &st, err) < 0) return -1;
  int r = -1;
  struct netns_network old;
  struct cell_err e2 = {0};
  if (store_net_load(&st, n.name, &old, &e2) == 0) {
    cell_error(err, EEXIST, "network %s exists already", n.name);
    goto out;
  }
  if (nl_open(&nl, err) < 0) goto out;
  if (n.type == NETNS_ROUTED && n.parent[0]) {
    int idx = nl_link_index(&nl, n.parent, err);
    if (idx <= 0) {
      if (idx == 0) cell_error(err, ENODEV, "--parent: no interface %s", n.parent);
      goto out;
    }
    if (nl_sysctl_write("net/ipv4/ip_forward", "1", err) < 0) goto out;
    if (n.subnet6[0]) {
      char key[128];
      snprintf(key, sizeof key, "net/ipv6/conf/%s/proxy_ndp", n.parent);
      if (nl_sysctl_write("net/ipv6/conf/all/forwarding", "1", err) < 0 || nl_sysctl_write(key, "1", err) < 0)
        goto out;
    }
  }
  if (n.type == NETNS_BRIDGE && strlen(n.bridge) >= NETNS_IFNAME_MAX) {
    cell_error(err, 0, "bridge name %s is too long", n.bridge);
    goto out;
  }
  /* recorded first: a killed create leaves a network `net rm` removes */
  if (store_net_save(&st, &n, err) < 0) goto out;
  if ((n.type == NETNS_BRIDGE && net_bridge_ensure(&nl, &n, err) < 0) || fw_sync(&st, err) < 0 ||
      dns_start(&st, &n, err) < 0 || dns_sync(&st, &n, NULL, 0, err) < 0) {
    net_teardown(&st, &nl, &n, &e2);
    store_net_remove(&st, n.name, &e2);
    fw_sync(&st, &e2);
    goto out;
  }
  r = 0;
out:
  nl_close(&nl);
  store_close(&st);
  return r;
}

int netns_net_rm(const char *root, const char *name, struct cell_err *err) {
  struct store st;
  struct nl nl = {0};
  struct netns_network n;
  struct lease *l = NULL;
  size_t nl_n = 0;
  struct netns_forward *fw = NULL;
  size_t nfw = 0;
  if (store_open(root, &st, err) < 0) return -1;
  int r = -1;
  bool changed = false;
  if (store_net_load(&st, name, &n, err) < 0 || nl_open(&nl, err) < 0) goto out;
  if (repair_locked(&st, &nl, &n, &changed, err) < 0) goto out;
  if (store_leases_load(&st, name, &l, &nl_n, err) < 0) goto out;
  if (nl_n) {
    cell_error(err, EBUSY, "network %s is in use by %zu endpoint%s (first: %s); detach them first", name, nl_n,
               nl_n > 1 ? "s" : "", l[0].ep.name);
    goto out;
  }
  if (store_forwards_load(&st, &fw, &nfw, err) < 0) goto out;
  for (size_t i = 0; i < nfw; i++)
    if (!strcmp(fw[i].network, name)) {
      cell_error(err, EBUSY, "network %s is in use by forward %s/%u; remove it first", name, fw[i].proto,
                 fw[i].host_port);
      goto out;
    }
  if (net_teardown(&st, &nl, &n, err) < 0 || store_net_remove(&st, name, err) < 0 || fw_sync(&st, err) < 0) goto out;
  r = 0;
out:
  free(l);
  free(fw);
  nl_close(&nl);
  store_close(&st);
  return r;
}

static int net_get_locked(struct store *st, struct nl *nl, const char *name, struct netns_network *out,
                          struct cell_err *err) {
  bool changed = false;
  struct lease *l = NULL;
  if (store_net_load(st, name, out, err) < 0) return -1;
  if (nl && repair_locked(st, nl, out, &changed, err) < 0) return -1;
  if (store_leases_load(st, name, &l, &out->endpoints, err) < 0) return -1;
  free(l);
  return 0;
}

int netns_net_get(const char *root, const char *name, struct netns_network *out, struct cell_err *err) {
  struct store st;
  struct nl nl = {0};
  if (store_open(root, &st, err) < 0) return -1;
  int r = nl_open(&nl, err) < 0 ? -1 : net_get_locked(&st, &nl, name, out, err);
  nl_close(&nl);
  store_close(&st);
  return r;
}

int netns_net_list(const char *root, struct netns_network **out, size_t *n, struct cell_err *err) {
  struct store st;
  struct nl nl = {0};
  char **names = NULL;
  size_t cnt = 0;
  *out = NULL;
  *n = 0;
  if (store_open(root, &st, err) < 0) return -1;
  int r = -1;
  if (nl_open(&nl, err) < 0 || store_net_names(&st, &names, &cnt, err) < 0) goto out;
  *out = calloc(cnt + 1, sizeof **out);
  if (!*out) {
    cell_error(err, ENOMEM, "list networks");
    goto out;
  }
  for (size_t i = 0; i < cnt; i++)
    if (net_get_locked(&st, &nl, names[i], &(*out)[i], err) < 0) {
      free(*out);
      *out = NULL;
      goto out;
    }
  *n = cnt;
  r = 0;
out:
  store_names_free(names, cnt);
  nl_close(&nl);
  store_close(&st);
  return r;
}
