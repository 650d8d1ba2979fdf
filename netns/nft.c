/* nft.c - cell's inet table: render it from plain data, swap it in with
 * one libnftables transaction.  See nft.h for what the rules do. */
#include "netns/nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <nftables/libnftables.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NFT_TEXT_MAX (16u << 20)

/* --- validation: everything that reaches the rule text is checked, so the
 * text cannot be steered by a name or an address. */

static bool name_ok(const char *s, size_t max, bool allow_dash) {
  if (!s || !*s || strlen(s) > max) return false;
  for (const char *p = s; *p; p++) {
    char c = *p;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || (allow_dash && c == '-');
    if (!ok) return false;
  }
  return true;
}

static bool table_ok(const char *t) {
  return name_ok(t, 64, false) && !(t[0] >= '0' && t[0] <= '9') && t[0] != '.';
}

/* Interface names: what the kernel accepts minus what could end a quoted
 * string or a token (quotes, spaces, '/', ':' ...). */
static bool ifname_ok(const char *s) {
  return name_ok(s, IFNAMSIZ - 1, true) && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* A plain address of family 4 or 6 (0: either); its family in *fam. */
static bool addr_ok(const char *s, int want, int *fam) {
  unsigned char buf[16];
  if (!s) return false;
  if ((want == 0 || want == 4) && inet_pton(AF_INET, s, buf) == 1) {
    if (fam) *fam = 4;
    return true;
  }
  if ((want == 0 || want == 6) && inet_pton(AF_INET6, s, buf) == 1) {
    if (fam) *fam = 6;
    return true;
  }
  return false;
}

/* "ADDR/LEN" of family fam, rewritten as its network ("10.0.3.7/24" ->
 * "10.0.3.0/24") into out. */
static bool cidr_norm(const char *s, int fam, char *out, size_t outlen) {
  char a[INET6_ADDRSTRLEN + 8];
  const char *slash = strchr(s, '/');
  if (!slash || (size_t)(slash - s) >= sizeof a) return false;
  memcpy(a, s, (size_t)(slash - s));
  a[slash - s] = 0;
  char *end;
  errno = 0;
  long len = strtol(slash + 1, &end, 10);
  int maxlen = fam == 4 ? 32 : 128;
  if (errno || end == slash + 1 || *end || len < 0 || len > maxlen) return false;
  unsigned char buf[16];
  if (inet_pton(fam == 4 ? AF_INET : AF_INET6, a, buf) != 1) return false;
  for (int i = 0; i < maxlen / 8; i++) {
    int keep = (int)len - i * 8;
    if (keep >= 8) continue;
    buf[i] &= keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
  }
  char norm[INET6_ADDRSTRLEN];
  if (!inet_ntop(fam == 4 ? AF_INET : AF_INET6, buf, norm, sizeof norm)) return false;
  return snprintf(out, outlen, "%s/%ld", norm, len) < (int)outlen;
}

struct net_norm {
  char sub4[64], sub6[80];
};

static int check_state(const struct nft_state *st, struct net_norm *nn, struct cell_err *err) {
  for (size_t i = 0; i < st->nnets; i++) {
    const struct nft_network *n = &st->nets[i];
    if (!name_ok(n->name, 64, true)) return cell_error(err, EINVAL, "network name '%s' is invalid", n->name ? n->name : "");
    if (n->bridge_or_parent && !ifname_ok(n->bridge_or_parent))
      return cell_error(err, EINVAL, "network %s: interface '%s' is invalid", n->name, n->bridge_or_parent);
    nn[i].sub4[0] = nn[i].sub6[0] = 0;
    if (n->subnet4 && !cidr_norm(n->subnet4, 4, nn[i].sub4, sizeof nn[i].sub4))
      return cell_error(err, EINVAL, "network %s: subnet '%s' is not an IPv4 CIDR", n->name, n->subnet4);
    if (n->subnet6 && !cidr_norm(n->subnet6, 6, nn[i].sub6, sizeof nn[i].sub6))
      return cell_error(err, EINVAL, "network %s: subnet6 '%s' is not an IPv6 CIDR", n->name, n->subnet6);
    for (size_t j = 0; j < i; j++)
      if (strcmp(st->nets[j].name, n->name) == 0) return cell_error(err, EEXIST, "network %s is listed twice", n->name);
  }
  for (size_t i = 0; i < st->neps; i++) {
    const struct nft_endpoint *e = &st->eps[i];
    if (!ifname_ok(e->host_ifname))
      return cell_error(err, EINVAL, "endpoint interface '%s' is invalid", e->host_ifname ? e->host_ifname : "");
    for (size_t k = 0; k < e->naddrs; k++)
      if (!addr_ok(e->addrs[k], 0, NULL))
        return cell_error(err, EINVAL, "endpoint %s: address '%s' is not a plain IPv4/IPv6 address", e->host_ifname,
                          e->addrs[k] ? e->addrs[k] : "");
    for (size_t j = 0; j < i; j++)
      if (strcmp(st->eps[j].host_ifname, e->host_ifname) == 0)
        return cell_error(err, EEXIST, "endpoint interface %s is listed twice", e->host_ifname);
  }
  for (size_t i = 0; i < st->nfwds; i++) {
    const struct nft_forward *f = &st->fwds[i];
    if (!f->proto || (strcmp(f->proto, "tcp") && strcmp(f->proto, "udp")))
      return cell_error(err, EINVAL, "forward %u: protocol '%s' is not tcp or udp", f->host_port, f->proto ? f->proto : "");
    if (f->family != 4 && f->family != 6)
      return cell_error(err, EINVAL, "forward %u: family %d is not 4 or 6", f->host_port, f->family);
    if (f->host_port < 1 || f->host_port > 65535 || f->port < 1 || f->port > 65535)
      return cell_error(err, EINVAL, "forward %u -> %u: ports must be 1-65535", f->host_port, f->port);
    if (!addr_ok(f->addr, f->family, NULL))
      return cell_error(err, EINVAL, "forward %u: '%s' is not an IPv%d address", f->host_port, f->addr ? f->addr : "",
                        f->family);
    bool found = !f->network;
    for (size_t j = 0; !found && j < st->nnets; j++) found = strcmp(st->nets[j].name, f->network) == 0;
    if (!found) return cell_error(err, ENOENT, "forward %u: network %s is not in the state", f->host_port, f->network);
    for (size_t j = 0; j < i; j++) {
      const struct nft_forward *g = &st->fwds[j];
      if (g->host_port == f->host_port && g->family == f->family && strcmp(g->proto, f->proto) == 0)
        return cell_error(err, EEXIST, "forward %s/%u (IPv%d) is listed twice", f->proto, f->host_port, f->family);
    }
  }
  return 0;
}

/* --- rendering */

static void put_spoof_chain(struct strbuf *o, size_t idx, const struct nft_endpoint *e) {
  strbuf_printf(o, "\tchain spoof%zu {\n", idx);
  strbuf_printf(o, "\t\ttype filter hook ingress device \"%s\" priority -500; policy accept;\n", e->host_ifname);
  int n4 = 0;
  for (size_t k = 0; k < e->naddrs; k++) {
    int fam = 0;
    addr_ok(e->addrs[k], 0, &fam);
    if (fam == 4) n4++;
  }
  if (n4 == 0) {
    strbuf_puts(o, "\t\tmeta protocol ip drop\n");
  } else {
    strbuf_puts(o, "\t\tip saddr != {");
    const char *sep = " ";
    for (size_t k = 0; k < e->naddrs; k++)
      if (strchr(e->addrs[k], '.') && !strchr(e->addrs[k], ':')) {
        strbuf_printf(o, "%s%s", sep, e->addrs[k]);
        sep = ", ";
      }
    strbuf_puts(o, " } drop\n");
  }
  /* IPv6: the endpoint's addresses, its link-local ones (NDP) and :: (DAD). */
  strbuf_puts(o, "\t\tip6 saddr != { ::, fe80::/10");
  for (size_t k = 0; k < e->naddrs; k++)
    if (strchr(e->addrs[k], ':')) strbuf_printf(o, ", %s", e->addrs[k]);
  strbuf_puts(o, " } drop\n\t}\n");
}

/* The DNAT rules, the same in prerouting (from elsewhere) and output (from
 * this host); output skips loopback destinations, which cannot be routed
 * out of the host. */
static void put_dnat(struct strbuf *o, const struct nft_state *st, bool output) {
  for (size_t i = 0; i < st->nfwds; i++) {
    const struct nft_forward *f = &st->fwds[i];
    bool v4 = f->family == 4;
    strbuf_puts(o, "\t\tfib daddr type local ");
    if (output) strbuf_puts(o, v4 ? "ip daddr != 127.0.0.0/8 " : "ip6 daddr != ::1 ");
    else strbuf_puts(o, v4 ? "meta nfproto ipv4 " : "meta nfproto ipv6 ");
    if (v4) strbuf_printf(o, "%s dport %u dnat ip to %s:%u\n", f->proto, f->host_port, f->addr, f->port);
    else strbuf_printf(o, "%s dport %u dnat ip6 to [%s]:%u\n", f->proto, f->host_port, f->addr, f->port);
  }
}

static void put_postrouting(struct strbuf *o, const struct nft_state *st, const struct net_norm *nn) {
  /* Hairpin first: a forward used from the network itself. */
  for (size_t j = 0; j < st->nnets; j++) {
    bool used4 = false, used6 = false;
    for (size_t i = 0; i < st->nfwds; i++)
      if (st->fwds[i].network && strcmp(st->fwds[i].network, st->nets[j].name) == 0) {
        if (st->fwds[i].family == 4) used4 = true;
        else used6 = true;
      }
    if (used4 && nn[j].sub4[0])
      strbuf_printf(o, "\t\tip saddr %s ip daddr %s ct status dnat masquerade comment \"hairpin %s\"\n", nn[j].sub4,
                    nn[j].sub4, st->nets[j].name);
    if (used6 && nn[j].sub6[0])
      strbuf_printf(o, "\t\tip6 saddr %s ip6 daddr %s ct status dnat masquerade comment \"hairpin %s\"\n", nn[j].sub6,
                    nn[j].sub6, st->nets[j].name);
  }
  for (size_t j = 0; j < st->nnets; j++) {
    if (!st->nets[j].nat) continue;
    if (nn[j].sub4[0])
      strbuf_printf(o, "\t\tip saddr %s ip daddr != %s masquerade comment \"nat %s\"\n", nn[j].sub4, nn[j].sub4,
                    st->nets[j].name);
    if (nn[j].sub6[0])
      strbuf_printf(o, "\t\tip6 saddr %s ip6 daddr != %s masquerade comment \"nat %s\"\n", nn[j].sub6, nn[j].sub6,
                    st->nets[j].name);
  }
}

static void put_forward(struct strbuf *o, const struct nft_state *st, const struct net_norm *nn) {
  strbuf_puts(o, "\t\tct state established,related accept\n");
  strbuf_puts(o, "\t\tct status dnat accept\n");
  for (size_t j = 0; j < st->nnets; j++) {
    const char *name = st->nets[j].name;
    if (nn[j].sub4[0])
      strbuf_printf(o, "\t\tip saddr %s accept comment \"%s\"\n\t\tip daddr %s accept comment \"%s\"\n", nn[j].sub4,
                    name, nn[j].sub4, name);
    if (nn[j].sub6[0])
      strbuf_printf(o, "\t\tip6 saddr %s accept comment \"%s\"\n\t\tip6 daddr %s accept comment \"%s\"\n", nn[j].sub6,
                    name, nn[j].sub6, name);
    if (st->nets[j].bridge_or_parent && !st->nets[j].routed)
      strbuf_printf(o, "\t\tiifname \"%s\" accept\n\t\toifname \"%s\" accept\n", st->nets[j].bridge_or_parent,
                    st->nets[j].bridge_or_parent);
  }
  for (size_t i = 0; i < st->neps; i++)
    strbuf_printf(o, "\t\tiifname \"%s\" accept\n\t\toifname \"%s\" accept\n", st->eps[i].host_ifname,
                  st->eps[i].host_ifname);
}

int netns_nft_render(const char *table, const struct nft_state *st, struct strbuf *o, struct cell_err *err) {
  if (!table_ok(table)) return cell_error(err, EINVAL, "nft table name '%s' is invalid", table ? table : "");
  struct net_norm *nn = calloc(st->nnets ? st->nnets : 1, sizeof *nn);
  if (!nn) return cell_error(err, ENOMEM, "nft table %s", table);
  if (check_state(st, nn, err) < 0) {
    free(nn);
    return -1;
  }
  /* "add" makes the delete succeed when the table is missing; all three
   * are one transaction. */
  strbuf_printf(o, "add table inet %s\ndelete table inet %s\ntable inet %s {\n", table, table, table);
  for (size_t i = 0; i < st->neps; i++) put_spoof_chain(o, i, &st->eps[i]);
  strbuf_puts(o, "\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n");
  put_dnat(o, st, false);
  strbuf_puts(o, "\t}\n\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n");
  put_dnat(o, st, true);
  strbuf_puts(o, "\t}\n\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
  put_postrouting(o, st, nn);
  strbuf_puts(o, "\t}\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n");
  put_forward(o, st, nn);
  strbuf_puts(o, "\t}\n}\n");
  free(nn);
  if (o->err) return cell_error(err, o->err, "nft table %s: rendering the rules", table);
  return 0;
}

/* Run one nft text buffer as a single transaction. */
static int nft_run(const char *what, const char *text, struct cell_err *err) {
  struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!ctx) return cell_error(err, ENOMEM, "%s: nft_ctx_new", what);
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  int rc = nft_run_cmd_from_buffer(ctx, text);
  if (rc != 0) {
    const char *e = nft_ctx_get_error_buffer(ctx);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", e && *e ? e : "failed");
    size_t l = strlen(msg);
    while (l && (msg[l - 1] == '\n' || msg[l - 1] == ' ')) msg[--l] = 0;
    cell_error(err, 0, "%s: %s", what, msg);
  }
  nft_ctx_free(ctx);
  return rc ? -1 : 0;
}

int netns_nft_apply(const char *table, const struct nft_state *st, struct cell_err *err) {
  /* Leave out endpoints whose link is gone: no packet can come from it, and
   * an ingress hook cannot name a missing device. */
  struct nft_endpoint *eps = calloc(st->neps ? st->neps : 1, sizeof *eps);
  if (!eps) return cell_error(err, ENOMEM, "nft table %s", table ? table : "");
  size_t n = 0;
  for (size_t i = 0; i < st->neps; i++)
    if (st->eps[i].host_ifname && if_nametoindex(st->eps[i].host_ifname) > 0) eps[n++] = st->eps[i];
    else if (!st->eps[i].host_ifname || !ifname_ok(st->eps[i].host_ifname)) eps[n++] = st->eps[i]; /* let render say why */
  struct nft_state s = *st;
  s.eps = eps;
  s.neps = n;
  cleanup_strbuf struct strbuf text = STRBUF_INIT(NFT_TEXT_MAX);
  int rc = netns_nft_render(table, &s, &text, err);
  free(eps);
  if (rc < 0) return -1;
  char what[128];
  snprintf(what, sizeof what, "nft: replacing table inet %s", table);
  return nft_run(what, strbuf_str(&text), err);
}

int netns_nft_remove(const char *table, struct cell_err *err) {
  if (!table_ok(table)) return cell_error(err, EINVAL, "nft table name '%s' is invalid", table ? table : "");
  char text[256], what[128];
  snprintf(text, sizeof text, "add table inet %s\ndelete table inet %s\n", table, table);
  snprintf(what, sizeof what, "nft: deleting table inet %s", table);
  return nft_run(what, text, err);
}
