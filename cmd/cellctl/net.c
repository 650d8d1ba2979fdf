/* net.c - `cellctl net create|ls|rm|attach|detach` over netns/ (netns.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cmd/cellctl/cellctl.h"
#include "netns/netns.h"
#include "netns/tc.h"

static int copy_opt(const char *verb, const char *opt, char *dst, size_t size, const char *val) {
  if (strlen(val) >= size) return cellctl_usage(verb, "%s: \"%s\" is too long", opt, val);
  snprintf(dst, size, "%s", val);
  return 0;
}

static int net_create(int argc, char **argv) {
  static const struct option lo[] = {{"type", required_argument, 0, 't'},    {"subnet", required_argument, 0, 's'},
                                     {"subnet6", required_argument, 0, '6'}, {"parent", required_argument, 0, 'p'},
                                     {"nat", no_argument, 0, 'n'},           {"mtu", required_argument, 0, 'm'},
                                     {"bridge", required_argument, 0, 'b'},  {0, 0, 0, 0}};
  struct netns_network n = {0};
  bool typed = false;
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
    switch (c) {
      case 't':
        if (!strcmp(optarg, "bridge")) n.type = NETNS_BRIDGE;
        else if (!strcmp(optarg, "routed")) n.type = NETNS_ROUTED;
        else return cellctl_usage("net create", "--type: \"%s\" is not bridge or routed", optarg);
        typed = true;
        break;
      case 's': if (copy_opt("net create", "--subnet", n.subnet4, sizeof n.subnet4, optarg)) return 2; break;
      case '6': if (copy_opt("net create", "--subnet6", n.subnet6, sizeof n.subnet6, optarg)) return 2; break;
      case 'p': if (copy_opt("net create", "--parent", n.parent, sizeof n.parent, optarg)) return 2; break;
      case 'b': if (copy_opt("net create", "--bridge", n.bridge, sizeof n.bridge, optarg)) return 2; break;
      case 'n': n.nat = true; break;
      case 'm': {
        char *end;
        unsigned long v = strtoul(optarg, &end, 10);
        if (!*optarg || *end || v > 65535) return cellctl_usage("net create", "--mtu: \"%s\" is not a number", optarg);
        n.mtu = (unsigned)v;
        break;
      }
      default: return cellctl_usage("net create", "unknown option %s", argv[optind - 1]);
    }
  }
  if (!typed) return cellctl_usage("net create", "--type bridge|routed is needed");
  if (optind != argc - 1) return cellctl_usage("net create", "one NAME is needed");
  if (copy_opt("net create", "NAME", n.name, sizeof n.name, argv[optind])) return 2;
  struct cell_err err = {0};
  if (netns_net_create(cg.root, &n, &err) < 0) return cellctl_fail(&err);
  return 0;
}
CELLCTL_VERB(net_create, "net create",
             "net create NAME --type bridge|routed [--subnet CIDR] [--subnet6 CIDR] [--parent IFACE] [--nat] "
             "[--mtu N] [--bridge IFNAME]",
             "create a network (a host bridge, or routed venet-like endpoints)", net_create)

static cJSON *ep_json(const struct netns_endpoint *e) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "name", e->name);
  cJSON_AddStringToObject(o, "network", e->network);
  cJSON_AddStringToObject(o, "hostname", e->hostname);
  cJSON_AddStringToObject(o, "host_ifname", e->host_ifname);
  cJSON_AddStringToObject(o, "ifname", e->ifname);
  cJSON_AddStringToObject(o, "ip", e->ip4);
  cJSON_AddNumberToObject(o, "prefix", e->prefix4);
  cJSON_AddStringToObject(o, "gateway", e->gateway4);
  cJSON_AddStringToObject(o, "ip6", e->ip6);
  cJSON_AddNumberToObject(o, "prefix6", e->prefix6);
  cJSON_AddStringToObject(o, "gateway6", e->gateway6);
  cJSON_AddStringToObject(o, "dns", e->dns);
  cJSON_AddNumberToObject(o, "mtu", e->mtu);
  cJSON_AddNumberToObject(o, "rate_in", (double)e->rate_in);
  cJSON_AddNumberToObject(o, "rate_out", (double)e->rate_out);
  return o;
}


static int net_ls(int argc, char **argv) {
  static const struct option lo[] = {{"json", no_argument, 0, 'j'}, {0, 0, 0, 0}};
  bool json = cg.json;
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
    if (c == 'j') json = true;
    else return cellctl_usage("net ls", "unknown option %s", argv[optind - 1]);
  }
  if (optind != argc) return cellctl_usage("net ls", "no arguments are taken");
  struct cell_err err = {0};
  struct netns_network *nets = NULL;
  size_t n = 0;
  if (netns_net_list(cg.root, &nets, &n, &err) < 0) return cellctl_fail(&err);
  cJSON *arr = json ? cJSON_CreateArray() : NULL;
  if (!json) printf("%-20s %-7s %-18s %-24s %-15s %-4s %s\n", "NAME", "TYPE", "SUBNET", "SUBNET6", "DEVICE", "NAT", "ENDPOINTS");
  for (size_t i = 0; i < n; i++) {
    const struct netns_network *w = &nets[i];
    const char *type = w->type == NETNS_ROUTED ? "routed" : "bridge";
    const char *dev = w->type == NETNS_ROUTED ? w->parent : w->bridge;
    if (!json) {
      printf("%-20s %-7s %-18s %-24s %-15s %-4s %zu\n", w->name, type, w->subnet4[0] ? w->subnet4 : "-",
             w->subnet6[0] ? w->subnet6 : "-", dev[0] ? dev : "-", w->nat ? "yes" : "no", w->endpoints);
      continue;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", w->name);
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddStringToObject(o, "subnet", w->subnet4);
    cJSON_AddStringToObject(o, "subnet6", w->subnet6);
    cJSON_AddStringToObject(o, "gateway", w->gateway4);
    cJSON_AddStringToObject(o, "gateway6", w->gateway6);
    cJSON_AddStringToObject(o, "bridge", w->bridge);
    cJSON_AddStringToObject(o, "parent", w->parent);
    cJSON_AddBoolToObject(o, "nat", w->nat);
    cJSON_AddNumberToObject(o, "mtu", w->mtu);
    cJSON *eps = cJSON_AddArrayToObject(o, "endpoints");
    struct netns_endpoint *e = NULL;
    size_t ne = 0;
    if (netns_endpoints(cg.root, w->name, &e, &ne, &err) < 0) {
      cJSON_Delete(arr);
      cJSON_Delete(o);
      free(nets);
      return cellctl_fail(&err);
    }
    for (size_t k = 0; k < ne; k++) cJSON_AddItemToArray(eps, ep_json(&e[k]));
    free(e);
    cJSON_AddItemToArray(arr, o);
  }
  free(nets);
  if (json) cellctl_print_json(arr);
  return 0;
}
CELLCTL_VERB(net_ls, "net ls", "net ls [--json]", "list the networks (with --json, their endpoints too)", net_ls)

static int net_rm(int argc, char **argv) {
  if (argc != 2 || argv[1][0] == '-') return cellctl_usage("net rm", "one NAME is needed");
  struct cell_err err = {0};
  if (netns_net_rm(cg.root, argv[1], &err) < 0) return cellctl_fail(&err);
  return 0;
}
CELLCTL_VERB(net_rm, "net rm", "net rm NAME", "remove a network (refused while endpoints are attached)", net_rm)

static int parse_pid(const char *verb, const char *s, pid_t *pid) {
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v <= 0 || v > 4194304) return cellctl_usage(verb, "--pid: \"%s\" is not a pid", s);
  *pid = (pid_t)v;
  return 0;
}

static int net_attach(int argc, char **argv) {
  static const struct option lo[] = {
      {"netns", required_argument, 0, 'N'},    {"pid", required_argument, 0, 'p'},
      {"ip", required_argument, 0, '4'},       {"ip6", required_argument, 0, '6'},
      {"rate-in", required_argument, 0, 'i'},  {"rate-out", required_argument, 0, 'o'},
      {"name", required_argument, 0, 'n'},     {"ifname", required_argument, 0, 'f'},
      {"hostname", required_argument, 0, 'H'}, {"json", no_argument, 0, 'j'},
      {0, 0, 0, 0}};
  struct netns_attach_opts o = {.netns_fd = -1};
  struct cell_err err = {0};
  bool json = cg.json;
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
    switch (c) {
      case 'N': o.netns_path = optarg; break;
      case 'p': if (parse_pid("net attach", optarg, &o.pid)) return 2; break;
      case '4': o.ip = optarg; break;
      case '6': o.ip6 = optarg; break;
      case 'i':
        if (netns_rate_parse("--rate-in", optarg, &o.rate_in, &err) < 0) return cellctl_usage("net attach", "%s", err.msg);
        break;
      case 'o':
        if (netns_rate_parse("--rate-out", optarg, &o.rate_out, &err) < 0)
          return cellctl_usage("net attach", "%s", err.msg);
        break;
      case 'n': o.endpoint = optarg; break;
      case 'f': o.ifname = optarg; break;
      case 'H': o.hostname = optarg; break;
      case 'j': json = true; break;
      default: return cellctl_usage("net attach", "unknown option %s", argv[optind - 1]);
    }
  }
  if (optind != argc - 1) return cellctl_usage("net attach", "one network NAME is needed");
  if (!!o.netns_path + !!o.pid != 1) return cellctl_usage("net attach", "one of --netns PATH or --pid PID is needed");
  o.network = argv[optind];
  struct netns_endpoint ep;
  if (netns_attach(cg.root, &o, &ep, &err) < 0) return cellctl_fail(&err);
  if (json) {
    cellctl_print_json(ep_json(&ep));
  } else {
    printf("%s: %s", ep.name, ep.ifname);
    if (ep.ip4[0]) printf(" %s/%d", ep.ip4, ep.prefix4);
    if (ep.ip6[0]) printf(" %s/%d", ep.ip6, ep.prefix6);
    printf(" (host side %s)\n", ep.host_ifname);
  }
  return 0;
}
CELLCTL_VERB(net_attach, "net attach",
             "net attach NAME --netns PATH|--pid PID [--ip ADDR] [--ip6 ADDR] [--rate-in R] [--rate-out R] "
             "[--name ENDPOINT] [--ifname IF] [--hostname H] [--json]",
             "attach a network namespace to a network (a veth, addresses, routes, limits)", net_attach)

static int net_detach(int argc, char **argv) {
  static const struct option lo[] = {{"netns", required_argument, 0, 'N'},
                                     {"pid", required_argument, 0, 'p'},
                                     {"name", required_argument, 0, 'n'},
                                     {0, 0, 0, 0}};
  const char *path = NULL, *name = NULL;
  pid_t pid = 0;
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
    switch (c) {
      case 'N': path = optarg; break;
      case 'p': if (parse_pid("net detach", optarg, &pid)) return 2; break;
      case 'n': name = optarg; break;
      default: return cellctl_usage("net detach", "unknown option %s", argv[optind - 1]);
    }
  }
  if (optind != argc - 1) return cellctl_usage("net detach", "one network NAME is needed");
  if (!!path + !!pid + !!name != 1)
    return cellctl_usage("net detach", "one of --netns PATH, --pid PID or --name ENDPOINT is needed");
  struct cell_err err = {0};
  if (name) {
    if (netns_detach(cg.root, argv[optind], name, &err) < 0) return cellctl_fail(&err);
    return 0;
  }
  char buf[64];
  if (pid) {
    snprintf(buf, sizeof buf, "/proc/%d/ns/net", (int)pid);
    path = buf;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    cell_error(&err, errno, "%s: open %s", pid ? "--pid" : "--netns", path);
    return cellctl_fail(&err);
  }
  size_t n = 0;
  int r = netns_detach_netns(cg.root, argv[optind], fd, &n, &err);
  close(fd);
  if (r < 0) return cellctl_fail(&err);
  if (!n) {
    cell_error(&err, ENOENT, "network %s has no endpoint in that namespace", argv[optind]);
    return cellctl_fail(&err);
  }
  return 0;
}
CELLCTL_VERB(net_detach, "net detach", "net detach NAME --netns PATH|--pid PID|--name ENDPOINT",
             "detach an endpoint from a network (its veth, routes, proxy entries, rules, lease)", net_detach)
