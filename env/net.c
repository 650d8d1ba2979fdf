/* net.c - an environment's networks (`net` key: "NETWORK[,ip=A][,ip6=A]
 * [,rate-in=R][,rate-out=R]" entries separated by spaces) and port forwards
 * (`forward` key: "HOSTPORT:PORT[/udp]" entries), over netns/. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env/env.h"
#include "env/env_internal.h"
#include "lib/log.h"
#include "netns/netns.h"
#include "netns/tc.h"

#define MAX_NETS 8

struct net_spec {
  char network[NETNS_NAME_MAX + 1];
  char ip[NETNS_ADDR_MAX], ip6[NETNS_ADDR_MAX];
  uint64_t rate_in, rate_out;
};

/* One "NETWORK[,k=v...]" entry. */
static int parse_net(const char *text, struct net_spec *n, struct cell_err *err) {
  memset(n, 0, sizeof *n);
  char buf[512];
  if (snprintf(buf, sizeof buf, "%s", text) >= (int)sizeof buf) return cell_error(err, 0, "net: \"%s\": too long", text);
  char *save = NULL, *tok = strtok_r(buf, ",", &save);
  if (!tok || !*tok || strlen(tok) > NETNS_NAME_MAX) return cell_error(err, 0, "net: \"%s\": a network name first", text);
  snprintf(n->network, sizeof n->network, "%s", tok);
  while ((tok = strtok_r(NULL, ",", &save))) {
    char *eq = strchr(tok, '=');
    if (!eq) return cell_error(err, 0, "net: \"%s\": expected KEY=VALUE, got \"%s\"", text, tok);
    *eq = 0;
    const char *v = eq + 1;
    if (!strcmp(tok, "ip") && strlen(v) < sizeof n->ip) snprintf(n->ip, sizeof n->ip, "%s", v);
    else if (!strcmp(tok, "ip6") && strlen(v) < sizeof n->ip6) snprintf(n->ip6, sizeof n->ip6, "%s", v);
    else if (!strcmp(tok, "rate-in")) {
      if (netns_rate_parse("net: rate-in", v, &n->rate_in, err) < 0) return -1;
    } else if (!strcmp(tok, "rate-out")) {
      if (netns_rate_parse("net: rate-out", v, &n->rate_out, err) < 0) return -1;
    } else return cell_error(err, 0, "net: \"%s\": unknown option \"%s\" (ip, ip6, rate-in, rate-out)", text, tok);
  }
  return 0;
}

static int parse_nets(const char *value, struct net_spec *out, size_t *n, struct cell_err *err) {
  *n = 0;
  if (!value) return 0;
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", value);
  char *save = NULL;
  for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
    if (*n == MAX_NETS) return cell_error(err, 0, "net: at most %d networks", MAX_NETS);
    if (parse_net(t, &out[(*n)++], err) < 0) return -1;
  }
  return 0;
}

struct fwd_spec {
  unsigned host, port;
  char proto[4];
};

static int parse_fwd(const char *t, struct fwd_spec *f, struct cell_err *err) {
  int used = 0;
  char proto[8] = "tcp";
  memset(f, 0, sizeof *f);
  if (sscanf(t, "%u:%u%n", &f->host, &f->port, &used) != 2 || f->host == 0 || f->host > 65535 || f->port == 0 ||
      f->port > 65535)
    return cell_error(err, 0, "forward: \"%s\": expected HOSTPORT:PORT[/udp]", t);
  if (t[used] == '/') {
    if (strcmp(t + used + 1, "udp") && strcmp(t + used + 1, "tcp"))
      return cell_error(err, 0, "forward: \"%s\": the protocol is tcp or udp", t);
    snprintf(proto, sizeof proto, "%s", t + used + 1);
  } else if (t[used]) return cell_error(err, 0, "forward: \"%s\": expected HOSTPORT:PORT[/udp]", t);
  snprintf(f->proto, sizeof f->proto, "%s", proto);
  return 0;
}

int env_net_check(const char *key, const char *value, struct cell_err *err) {
  if (!strcmp(key, "net")) {
    struct net_spec n[MAX_NETS];
    size_t k;
    return parse_nets(value, n, &k, err);
  }
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", value);
  char *save = NULL;
  for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
    struct fwd_spec f;
    if (parse_fwd(t, &f, err) < 0) return -1;
  }
  return 0;
}

/* The runtime's netns hook, in the start's child: attach, forward, /etc. */
int env_net_attach(struct env *e, pid_t pid, int netns_fd, unsigned base, bool privileged, struct cell_err *err) {
  struct net_spec nets[MAX_NETS];
  size_t n;
  if (parse_nets(env_config_get(e->cfg, "net"), nets, &n, err) < 0) return cell_error_wrap(err, "%s", e->cfg_path);
  const char *hostname = env_config_get(e->cfg, "hostname");
  if (!hostname) hostname = e->name;
  struct netns_attach_opts opts[MAX_NETS];
  struct netns_endpoint eps[MAX_NETS];
  memset(opts, 0, sizeof opts);
  memset(eps, 0, sizeof eps);
  for (size_t i = 0; i < n; i++) {
    opts[i].network = nets[i].network;
    opts[i].netns_fd = -1;
    opts[i].ip = nets[i].ip[0] ? nets[i].ip : NULL;
    opts[i].ip6 = nets[i].ip6[0] ? nets[i].ip6 : NULL;
    opts[i].rate_in = nets[i].rate_in;
    opts[i].rate_out = nets[i].rate_out;
    opts[i].hostname = hostname;
  }
  if (n) {
    struct netns_hook_data d = {e->root, opts, n, eps};
    if (netns_hook(pid, netns_fd, &d, err) < 0) return -1;
  }
  /* forwards to the first IPv4 address */
  const char *fw = env_config_get(e->cfg, "forward");
  if (fw) {
    const char *addr = NULL, *net = "";
    for (size_t i = 0; i < n && !addr; i++)
      if (eps[i].ip4[0]) {
        addr = eps[i].ip4;
        net = eps[i].network;
      }
    if (!addr) return cell_error(err, 0, "%s: forward: the environment has no IPv4 address (net)", e->cfg_path);
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", fw);
    char *save = NULL;
    for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
      struct fwd_spec f;
      if (parse_fwd(t, &f, err) < 0) return cell_error_wrap(err, "%s", e->cfg_path);
      struct netns_forward nf = {.family = 4, .host_port = f.host, .port = f.port};
      snprintf(nf.proto, sizeof nf.proto, "%s", f.proto);
      snprintf(nf.addr, sizeof nf.addr, "%s", addr);
      snprintf(nf.network, sizeof nf.network, "%s", net);
      struct cell_err e2;
      netns_forward_rm(e->root, nf.proto, 4, f.host, &e2); /* a stale one of a killed run */
      if (netns_forward_add(e->root, &nf, err) < 0) return cell_error_wrap(err, "forward %s", t);
    }
  }
  /* /etc/hostname, hosts, resolv.conf, written as the range's root (the overlay's upper is idmapped) */
  char rootfs[PATH_MAX + 16];
  snprintf(rootfs, sizeof rootfs, "%s/rootfs", e->dir);
  int rfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0) return cell_error(err, errno, "open %s", rootfs);
  if (!privileged && env_as_range_root(base, true, err) < 0) {
    close(rfd);
    return -1;
  }
  int r = netns_write_etc(rfd, hostname, eps, n, err);
  if (!privileged) env_as_range_root(0, false, NULL);
  close(rfd);
  return r;
}

/* After a stop (or a crash): the endpoints of a namespace that is gone, the forwards. */
int env_net_release(struct env *e, int netns_fd, struct cell_err *err) {
  struct net_spec nets[MAX_NETS];
  size_t n = 0;
  struct cell_err e2;
  if (parse_nets(env_config_get(e->cfg, "net"), nets, &n, &e2) < 0) n = 0;
  int rc = 0;
  if (netns_fd >= 0 && n && netns_detach_netns(e->root, NULL, netns_fd, NULL, err) < 0) rc = -1;
  for (size_t i = 0; i < n; i++) {
    /* a network removed since (net rm --force, a lost root): nothing of it is left to release */
    struct netns_network nw;
    if (netns_net_get(e->root, nets[i].network, &nw, &e2) < 0 && e2.errnum == ENOENT) {
      cell_warn("environment \"%s\": network %s no longer exists (treated as detached)", e->name, nets[i].network);
      continue;
    }
    if (netns_repair(e->root, nets[i].network, &e2) < 0 && rc == 0) rc = cell_error(err, 0, "%s", e2.msg);
  }
  const char *fw = env_config_get(e->cfg, "forward");
  if (fw) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", fw);
    char *save = NULL;
    for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
      struct fwd_spec f;
      if (parse_fwd(t, &f, &e2) < 0) continue;
      if (netns_forward_rm(e->root, f.proto, 4, f.host, &e2) < 0 && e2.errnum != ENOENT && !strstr(e2.msg, "no such") &&
          rc == 0)
        rc = cell_error(err, 0, "%s", e2.msg);
    }
  }
  return rc;
}

/* The addresses of a running environment (its endpoints in its namespace). */
void env_net_addresses(struct env *e, pid_t pid, cJSON *arr) {
  struct net_spec nets[MAX_NETS];
  size_t n = 0;
  struct cell_err e2;
  if (parse_nets(env_config_get(e->cfg, "net"), nets, &n, &e2) < 0 || !n) return;
  char p[64];
  snprintf(p, sizeof p, "/proc/%d/ns/net", (int)pid);
  struct stat sb;
  if (stat(p, &sb) < 0) return;
  for (size_t i = 0; i < n; i++) {
    struct netns_endpoint *eps = NULL;
    size_t k = 0;
    if (netns_endpoints(e->root, nets[i].network, &eps, &k, &e2) < 0) continue;
    for (size_t j = 0; j < k; j++) {
      if (eps[j].netns_ino != (uint64_t)sb.st_ino) continue;
      if (eps[j].ip4[0]) cJSON_AddItemToArray(arr, cJSON_CreateString(eps[j].ip4));
      if (eps[j].ip6[0]) cJSON_AddItemToArray(arr, cJSON_CreateString(eps[j].ip6));
    }
    free(eps);
  }
}
