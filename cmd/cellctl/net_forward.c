/* net_forward.c - `cellctl net forward add|ls|rm`: port forwards from this
 * host's addresses to an environment, kept in ROOT/net/forwards.json by
 * netns/ (netns_forward_*, under the store's lock, written atomically) and
 * applied by replacing cell's nft table with every network, endpoint and
 * forward (netns/nft.h).
 *
 *   net forward add NETWORK HOSTPORT:ADDR:PORT[/tcp|/udp]   ADDR v4, or v6 in brackets: 8080:[fd42::2]:80
 *   net forward ls [NETWORK] [--json]
 *   net forward rm NETWORK HOSTPORT[/tcp|/udp] [--family 4|6] */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cmd/cellctl/cellctl.h"
#include "netns/netns.h"

static int parse_port(const char *s, size_t len, unsigned *out) {
  if (len == 0 || len > 5) return -1;
  unsigned v = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  if (v < 1 || v > 65535) return -1;
  *out = v;
  return 0;
}

/* "/tcp" or "/udp" at the end of s (cut off), default tcp. */
static int parse_proto(const char *verb, char *s, char proto[4]) {
  char *slash = strrchr(s, '/');
  snprintf(proto, 4, "tcp");
  if (!slash) return 0;
  if (strcmp(slash + 1, "tcp") && strcmp(slash + 1, "udp"))
    return cellctl_usage(verb, "\"%s\": the protocol must be /tcp or /udp", slash);
  snprintf(proto, 4, "%s", slash + 1);
  *slash = 0;
  return 0;
}

/* HOSTPORT:ADDR:PORT[/proto] -> f (network set by the caller). */
static int parse_spec(const char *spec, struct netns_forward *f) {
  static const char *verb = "net forward add";
  char s[128];
  if (snprintf(s, sizeof s, "%s", spec) >= (int)sizeof s) return cellctl_usage(verb, "\"%s\" is too long", spec);
  if (parse_proto(verb, s, f->proto)) return 2;
  char *c1 = strchr(s, ':'), *c2 = strrchr(s, ':');
  if (!c1 || c1 == c2)
    return cellctl_usage(verb, "\"%s\" is not HOSTPORT:ADDR:PORT[/udp] (IPv6 in brackets: 8080:[fd42::2]:80)", spec);
  if (parse_port(s, (size_t)(c1 - s), &f->host_port))
    return cellctl_usage(verb, "\"%s\": host port \"%.*s\" is not 1-65535", spec, (int)(c1 - s), s);
  if (parse_port(c2 + 1, strlen(c2 + 1), &f->port))
    return cellctl_usage(verb, "\"%s\": port \"%s\" is not 1-65535", spec, c2 + 1);
  char *a = c1 + 1;
  size_t alen = (size_t)(c2 - a);
  if (alen >= 2 && a[0] == '[' && a[alen - 1] == ']') {
    a++;
    alen -= 2;
  }
  if (alen == 0 || alen >= sizeof f->addr) return cellctl_usage(verb, "\"%s\": no address", spec);
  memcpy(f->addr, a, alen);
  f->addr[alen] = 0;
  unsigned char b[16];
  if (inet_pton(AF_INET, f->addr, b) == 1) f->family = 4;
  else if (inet_pton(AF_INET6, f->addr, b) == 1) f->family = 6;
  else return cellctl_usage(verb, "\"%s\": \"%s\" is not an IPv4 or IPv6 address", spec, f->addr);
  return 0;
}

static int fwd_add(int argc, char **argv) {
  if (argc != 3 || argv[1][0] == '-') return cellctl_usage("net forward add", "NETWORK and HOSTPORT:ADDR:PORT are needed");
  struct netns_forward f;
  memset(&f, 0, sizeof f);
  if (strlen(argv[1]) >= sizeof f.network) return cellctl_usage("net forward add", "network \"%s\" is too long", argv[1]);
  snprintf(f.network, sizeof f.network, "%s", argv[1]);
  int r = parse_spec(argv[2], &f);
  if (r) return r;
  struct cell_err err = {0};
  if (netns_forward_add(cg.root, &f, &err) < 0) return cellctl_fail(&err);
  return 0;
}

static void print_one(const struct netns_forward *f) {
  char a[NETNS_ADDR_MAX + 2];
  snprintf(a, sizeof a, f->family == 6 ? "[%s]" : "%s", f->addr);
  printf("%-16s %-5s %-4s %-9u %-42s %u\n", f->network[0] ? f->network : "-", f->proto, f->family == 6 ? "ipv6" : "ipv4",
         f->host_port, a, f->port);
}

static int fwd_ls(int argc, char **argv) {
  static const struct option lo[] = {{"json", no_argument, 0, 'j'}, {0, 0, 0, 0}};
  bool json = cg.json;
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
    if (c == 'j') json = true;
    else return cellctl_usage("net forward ls", "unknown option %s", argv[optind - 1]);
  }
  if (argc - optind > 1) return cellctl_usage("net forward ls", "at most one NETWORK");
  const char *only = optind < argc ? argv[optind] : NULL;
  struct cell_err err = {0};
  struct netns_forward *fw = NULL;
  size_t n = 0;
  if (netns_forward_list(cg.root, &fw, &n, &err) < 0) return cellctl_fail(&err);
  cJSON *arr = json ? cJSON_CreateArray() : NULL;
  if (!json) printf("%-16s %-5s %-4s %-9s %-42s %s\n", "NETWORK", "PROTO", "FAM", "HOSTPORT", "ADDR", "PORT");
  for (size_t i = 0; i < n; i++) {
    const struct netns_forward *f = &fw[i];
    if (only && strcmp(only, f->network)) continue;
    if (!json) {
      print_one(f);
      continue;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "network", f->network);
    cJSON_AddStringToObject(o, "proto", f->proto);
    cJSON_AddNumberToObject(o, "family", f->family);
    cJSON_AddNumberToObject(o, "host_port", f->host_port);
    cJSON_AddStringToObject(o, "addr", f->addr);
    cJSON_AddNumberToObject(o, "port", f->port);
    cJSON_AddItemToArray(arr, o);
  }
  free(fw);
  if (json) cellctl_print_json(arr);
  return 0;
}

static int fwd_rm(int argc, char **argv) {
  static const struct option lo[] = {{"family", required_argument, 0, 'f'}, {0, 0, 0, 0}};
  static const char *verb = "net forward rm";
  int family = 0, c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
    if (c == 'f' && (!strcmp(optarg, "4") || !strcmp(optarg, "6"))) family = optarg[0] - '0';
    else if (c == 'f') return cellctl_usage(verb, "--family: \"%s\" is not 4 or 6", optarg);
    else return cellctl_usage(verb, "unknown option %s", argv[optind - 1]);
  }
  if (argc - optind != 2) return cellctl_usage(verb, "NETWORK and HOSTPORT[/udp] are needed");
  const char *net = argv[optind];
  char spec[32], proto[4];
  if (snprintf(spec, sizeof spec, "%s", argv[optind + 1]) >= (int)sizeof spec)
    return cellctl_usage(verb, "\"%s\" is not HOSTPORT[/udp]", argv[optind + 1]);
  if (parse_proto(verb, spec, proto)) return 2;
  unsigned port;
  if (parse_port(spec, strlen(spec), &port)) return cellctl_usage(verb, "host port \"%s\" is not 1-65535", spec);
  /* Only this network's forward: refuse one on another network. */
  struct cell_err err = {0};
  struct netns_forward *fw = NULL;
  size_t n = 0, mine = 0;
  if (netns_forward_list(cg.root, &fw, &n, &err) < 0) return cellctl_fail(&err);
  for (size_t i = 0; i < n; i++) {
    if (strcmp(fw[i].proto, proto) || fw[i].host_port != port || (family && fw[i].family != family)) continue;
    if (strcmp(fw[i].network, net)) {
      cell_error(&err, EPERM, "forward %s/%u is on network %s, not %s", proto, port, fw[i].network, net);
      free(fw);
      return cellctl_fail(&err);
    }
    mine++;
  }
  free(fw);
  if (!mine) {
    cell_error(&err, ENOENT, "network %s has no forward %s/%u", net, proto, port);
    return cellctl_fail(&err);
  }
  if (netns_forward_rm(cg.root, proto, family, port, &err) < 0) return cellctl_fail(&err);
  return 0;
}

/* One two-word verb, "net forward", with its own sub-verbs: the verb sees
 * argv[0] = "forward", argv[1] = add|ls|rm. */
static int net_forward(int argc, char **argv) {
  if (argc < 2) return cellctl_usage("net forward", "add, ls or rm is needed");
  if (!strcmp(argv[1], "add")) return fwd_add(argc - 1, argv + 1);
  if (!strcmp(argv[1], "ls")) return fwd_ls(argc - 1, argv + 1);
  if (!strcmp(argv[1], "rm")) return fwd_rm(argc - 1, argv + 1);
  return cellctl_usage("net forward", "\"%s\" is not add, ls or rm", argv[1]);
}
CELLCTL_VERB(net_forward, "net forward",
             "net forward add NETWORK HOSTPORT:ADDR:PORT[/tcp|/udp]   (IPv6: 8080:[fd42::2]:80)\n"
             "       cellctl net forward ls [NETWORK] [--json]\n"
             "       cellctl net forward rm NETWORK HOSTPORT[/tcp|/udp] [--family 4|6]",
             "forward host ports to environments (the client's address is kept; works from the host and hairpin)",
             net_forward)
