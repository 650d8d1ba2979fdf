/* addr.c - addresses and subnets (addr.h). */
#include "netns/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int netns_addr_parse(const char *s, struct nl_addr *a, const char *what, struct cell_err *err) {
  memset(a, 0, sizeof *a);
  if (inet_pton(AF_INET, s, &a->u.v4) == 1) a->family = AF_INET;
  else if (inet_pton(AF_INET6, s, &a->u.v6) == 1) a->family = AF_INET6;
  else return cell_error(err, 0, "%s: \"%s\" is not an IPv4 or IPv6 address", what, s);
  return 0;
}

static void mask_bits(struct nl_addr *a, int prefix, bool keep_host, struct nl_addr *out) {
  int len = a->family == AF_INET ? 4 : 16;
  *out = *a;
  for (int i = 0; i < len; i++) {
    int bits = prefix - i * 8;
    unsigned char m = bits >= 8 ? 0xff : bits <= 0 ? 0 : (unsigned char)(0xff << (8 - bits));
    out->u.b[i] = keep_host ? (unsigned char)(a->u.b[i] & ~m) : (unsigned char)(a->u.b[i] & m);
  }
}

int netns_cidr_parse(const char *s, struct nl_addr *net, int *prefix, const char *what, struct cell_err *err) {
  char buf[64];
  const char *slash = strchr(s, '/');
  if (!slash || (size_t)(slash - s) >= sizeof buf)
    return cell_error(err, 0, "%s: \"%s\" is not a subnet (ADDRESS/PREFIX)", what, s);
  memcpy(buf, s, (size_t)(slash - s));
  buf[slash - s] = 0;
  if (netns_addr_parse(buf, net, what, err) < 0) return -1;
  char *end;
  errno = 0;
  long p = strtol(slash + 1, &end, 10);
  int max = net->family == AF_INET ? 32 : 128;
  if (!slash[1] || *end || errno || p < 0 || p > max)
    return cell_error(err, 0, "%s: \"%s\": the prefix length must be 0..%d", what, s, max);
  int lo = net->family == AF_INET ? 8 : 64, hi = net->family == AF_INET ? 30 : 126;
  if (p < lo || p > hi)
    return cell_error(err, 0, "%s: \"%s\": a network's prefix length must be %d..%d", what, s, lo, hi);
  struct nl_addr host;
  mask_bits(net, (int)p, true, &host);
  for (int i = 0; i < 16; i++)
    if (host.u.b[i]) return cell_error(err, 0, "%s: \"%s\" has host bits set", what, s);
  *prefix = (int)p;
  return 0;
}

bool netns_cidr_contains(const struct nl_addr *net, int prefix, const struct nl_addr *a) {
  if (a->family != net->family) return false;
  struct nl_addr m;
  mask_bits((struct nl_addr *)a, prefix, false, &m);
  return !memcmp(m.u.b, net->u.b, a->family == AF_INET ? 4 : 16);
}

bool netns_addr_eq(const struct nl_addr *a, const struct nl_addr *b) {
  return a->family == b->family && !memcmp(a->u.b, b->u.b, a->family == AF_INET ? 4 : 16);
}

/* The number of host bits (capped at 64). */
static int host_bits(const struct nl_addr *net, int prefix) {
  int hb = (net->family == AF_INET ? 32 : 128) - prefix;
  return hb > 64 ? 64 : hb;
}

bool netns_cidr_nth(const struct nl_addr *net, int prefix, uint64_t n, struct nl_addr *out) {
  int hb = host_bits(net, prefix);
  if (hb < 64 && n >> hb) return false;
  *out = *net;
  int len = net->family == AF_INET ? 4 : 16;
  uint64_t carry = n;
  for (int i = len - 1; i >= 0 && carry; i--) {
    uint64_t v = out->u.b[i] + (carry & 0xff);
    carry >>= 8;
    out->u.b[i] = (unsigned char)v;
    carry += v >> 8;
  }
  return netns_cidr_contains(net, prefix, out);
}

const char *netns_addr_str(const struct nl_addr *a, char *buf, size_t size) {
  if (!a->family || !inet_ntop(a->family, a->u.b, buf, (socklen_t)size)) snprintf(buf, size, "?");
  return buf;
}

int netns_addr_alloc(const struct nl_addr *net, int prefix, uint64_t first, const struct nl_addr *used, size_t nused,
                     struct nl_addr *out, struct cell_err *err) {
  int hb = host_bits(net, prefix);
  uint64_t size = hb >= 64 ? UINT64_MAX : (uint64_t)1 << hb;
  uint64_t last = net->family == AF_INET ? size - 2 : size - 1; /* no broadcast in IPv4 */
  /* nused addresses can block at most nused candidates */
  uint64_t limit = first + nused + 1;
  if (limit > last || limit < first) limit = last;
  if (first < 1) first = 1;
  for (uint64_t n = first; n <= limit; n++) {
    struct nl_addr c;
    if (!netns_cidr_nth(net, prefix, n, &c)) break;
    bool taken = false;
    for (size_t i = 0; i < nused && !taken; i++) taken = netns_addr_eq(&used[i], &c);
    if (!taken) {
      *out = c;
      return 0;
    }
  }
  char s[64];
  return cell_error(err, ENOSPC, "no free address left in %s/%d", netns_addr_str(net, s, sizeof s), prefix);
}
