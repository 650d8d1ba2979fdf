/* fw.c - cell's nft table and the resolvers, rebuilt from the store, and the
 * port forward store. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netns/addr.h"
#include "netns/dns.h"
#include "netns/internal.h"
#include "netns/nft.h"

const char *fw_table(void) {
  const char *t = getenv("CELL_NFT_TABLE");
  return t && *t ? t : NETNS_NFT_TABLE;
}

struct fw_all {
  struct netns_network *nets;
  size_t nnets;
  struct lease **leases; /* per network */
  size_t *nleases;
  struct netns_forward *fwds;
  size_t nfwds;
};

static void fw_all_free(struct fw_all *a) {
  for (size_t i = 0; i < a->nnets; i++) free(a->leases ? a->leases[i] : NULL);
  free(a->leases);
  free(a->nleases);
  free(a->nets);
  free(a->fwds);
}

static int fw_all_load(struct store *st, struct fw_all *a, struct cell_err *err) {
  char **names = NULL;
  size_t n = 0;
  memset(a, 0, sizeof *a);
  if (store_net_names(st, &names, &n, err) < 0) return -1;
  a->nets = calloc(n + 1, sizeof *a->nets);
  a->leases = calloc(n + 1, sizeof *a->leases);
  a->nleases = calloc(n + 1, sizeof *a->nleases);
  if (!a->nets || !a->leases || !a->nleases) {
    store_names_free(names, n);
    return cell_error(err, ENOMEM, "load networks");
  }
  for (size_t i = 0; i < n; i++) {
    if (store_net_load(st, names[i], &a->nets[a->nnets], err) < 0 ||
        store_leases_load(st, names[i], &a->leases[a->nnets], &a->nleases[a->nnets], err) < 0) {
      store_names_free(names, n);
      return -1;
    }
    a->nnets++;
  }
  store_names_free(names, n);
  return store_forwards_load(st, &a->fwds, &a->nfwds, err);
}

static int fw_apply(struct fw_all *a, struct cell_err *err) {
  size_t neps = 0;
  for (size_t i = 0; i < a->nnets; i++) neps += a->nleases[i];
  struct nft_network *nn = calloc(a->nnets + 1, sizeof *nn);
  struct nft_endpoint *ne = calloc(neps + 1, sizeof *ne);
  const char **addrs = calloc(2 * neps + 1, sizeof *addrs);
  struct nft_forward *nf = calloc(a->nfwds + 1, sizeof *nf);
  int r = -1;
  if (!nn || !ne || !addrs || !nf) {
    cell_error(err, ENOMEM, "nft state");
    goto out;
  }
  size_t k = 0, na = 0;
  for (size_t i = 0; i < a->nnets; i++) {
    const struct netns_network *n = &a->nets[i];
    nn[i] = (struct nft_network){n->name, n->type == NETNS_BRIDGE ? n->bridge : (n->parent[0] ? n->parent : NULL),
                                 n->subnet4[0] ? n->subnet4 : NULL, n->subnet6[0] ? n->subnet6 : NULL, n->nat,
                                 n->type == NETNS_ROUTED};
    for (size_t j = 0; j < a->nleases[i]; j++) {
      const struct netns_endpoint *e = &a->leases[i][j].ep;
      ne[k] = (struct nft_endpoint){n->name, e->host_ifname, &addrs[na], 0};
      if (e->ip4[0]) addrs[na++] = e->ip4, ne[k].naddrs++;
      if (e->ip6[0]) addrs[na++] = e->ip6, ne[k].naddrs++;
      k++;
    }
  }
  for (size_t i = 0; i < a->nfwds; i++) {
    const struct netns_forward *f = &a->fwds[i];
    nf[i] = (struct nft_forward){f->proto, f->family, f->host_port, f->addr, f->port,
                                 f->network[0] ? f->network : NULL};
  }
  struct nft_state s = {nn, a->nnets, ne, k, nf, a->nfwds};
  if (!a->nnets && !a->nfwds) r = netns_nft_remove(fw_table(), err);
  else r = netns_nft_apply(fw_table(), &s, err);
out:
  free(nn);
  free(ne);
  free(addrs);
  free(nf);
  return r;
}

int fw_sync(struct store *st, struct cell_err *err) {
  struct fw_all a;
  int r = fw_all_load(st, &a, err);
  if (r == 0) r = fw_apply(&a, err);
  fw_all_free(&a);
  return r;
}

int netns_firewall_sync(const char *root, struct cell_err *err) {
  struct store st;
  if (store_open(root, &st, err) < 0) return -1;
  int r = fw_sync(&st, err);
  store_close(&st);
  return r;
}

int dns_rundir(struct store *st, char *out, size_t size, struct cell_err *err) {
  if (mkdirat(st->dirfd, ".run", 0711) < 0 && errno != EEXIST) return cell_error(err, errno, "mkdir net/.run");
  char self[64];
  snprintf(self, sizeof self, "/proc/self/fd/%d", st->dirfd);
  char dir[4096];
  ssize_t l = readlink(self, dir, sizeof dir - 1);
  if (l < 0) return cell_error(err, errno, "readlink %s", self);
  dir[l] = 0;
  if (snprintf(out, size, "%s/.run", dir) >= (int)size) return cell_error(err, ENAMETOOLONG, "%s/.run", dir);
  return 0;
}

int dns_sync(struct store *st, const struct netns_network *net, const struct lease *l, size_t n,
             struct cell_err *err) {
  if (net->type != NETNS_BRIDGE) return 0;
  char rundir[4096];
  if (dns_rundir(st, rundir, sizeof rundir, err) < 0) return -1;
  struct netns_dns_host *h = calloc(2 * n + 1, sizeof *h);
  if (!h) return cell_error(err, ENOMEM, "dns hosts");
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const struct netns_endpoint *e = &l[i].ep;
    const char *name = e->hostname[0] ? e->hostname : e->name;
    if (e->ip4[0]) h[k++] = (struct netns_dns_host){name, e->ip4};
    if (e->ip6[0]) h[k++] = (struct netns_dns_host){name, e->ip6};
  }
  int r = netns_dns_update_hosts(rundir, net->name, h, k, err);
  free(h);
  return r;
}

/* ---- port forwards ---- */

static int fwd_check(const struct netns_forward *f, struct cell_err *err) {
  if (strcmp(f->proto, "tcp") && strcmp(f->proto, "udp"))
    return cell_error(err, 0, "forward: protocol \"%s\": tcp or udp", f->proto);
  if (!f->host_port || f->host_port > 65535 || !f->port || f->port > 65535)
    return cell_error(err, 0, "forward: ports must be 1..65535");
  struct nl_addr a;
  if (netns_addr_parse(f->addr, &a, "forward: address", err) < 0) return -1;
  int fam = a.family == AF_INET ? 4 : 6;
  if (f->family && f->family != fam)
    return cell_error(err, 0, "forward: address %s is not IPv%d", f->addr, f->family);
  return 0;
}

int netns_forward_add(const char *root, const struct netns_forward *fin, struct cell_err *err) {
  struct netns_forward f = *fin;
  if (fwd_check(&f, err) < 0) return -1;
  f.family = strchr(f.addr, ':') ? 6 : 4;
  struct store st;
  if (store_open(root, &st, err) < 0) return -1;
  struct netns_forward *fw = NULL;
  size_t n = 0;
  int r = -1;
  if (f.network[0]) {
    struct netns_network net;
    if (store_net_load(&st, f.network, &net, err) < 0) goto out;
  }
  if (store_forwards_load(&st, &fw, &n, err) < 0) goto out;
  for (size_t i = 0; i < n; i++)
    if (!strcmp(fw[i].proto, f.proto) && fw[i].family == f.family && fw[i].host_port == f.host_port) {
      cell_error(err, EEXIST, "forward %s/%u (IPv%d) exists already", f.proto, f.host_port, f.family);
      goto out;
    }
  struct netns_forward *nw = realloc(fw, (n + 1) * sizeof *nw);
  if (!nw) {
    cell_error(err, ENOMEM, "forward");
    goto out;
  }
  fw = nw;
  fw[n] = f;
  if (store_forwards_save(&st, fw, n + 1, err) < 0) goto out;
  if (fw_sync(&st, err) < 0) {
    struct cell_err e2 = {0};
    store_forwards_save(&st, fw, n, &e2); /* back to what was */
    fw_sync(&st, &e2);
    goto out;
  }
  r = 0;
out:
  free(fw);
  store_close(&st);
  return r;
}

int netns_forward_rm(const char *root, const char *proto, int family, unsigned host_port, struct cell_err *err) {
  struct store st;
  if (store_open(root, &st, err) < 0) return -1;
  struct netns_forward *fw = NULL;
  size_t n = 0, k = 0;
  int r = -1;
  if (store_forwards_load(&st, &fw, &n, err) < 0) goto out;
  for (size_t i = 0; i < n; i++)
    if (strcmp(fw[i].proto, proto) || fw[i].host_port != host_port || (family && fw[i].family != family))
      fw[k++] = fw[i];
  if (k == n) {
    cell_error(err, ENOENT, "no forward %s/%u", proto, host_port);
    goto out;
  }
  if (store_forwards_save(&st, fw, k, err) < 0 || fw_sync(&st, err) < 0) goto out;
  r = 0;
out:
  free(fw);
  store_close(&st);
  return r;
}

int netns_forward_list(const char *root, struct netns_forward **out, size_t *n, struct cell_err *err) {
  struct store st;
  if (store_open(root, &st, err) < 0) return -1;
  int r = store_forwards_load(&st, out, n, err);
  store_close(&st);
  return r;
}
