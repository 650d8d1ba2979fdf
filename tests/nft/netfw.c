/* netfw - drives netns/nft, netns/tc and netns/dns for the bats files in tests/nft/,
 * independently of the network store:
 *   netfw render|apply TABLE STATE.json     STATE: {"networks":[{"name","bridge","subnet4","subnet6","nat","routed"}],
 *                                                   "endpoints":[{"network","ifname","addrs":[...]}],
 *                                                   "forwards":[{"proto","family","host_port","addr","port","network"}]}
 *   netfw remove TABLE
 *   netfw tc-set IFNAME RATE_OUT RATE_IN    (rates as netns_rate_parse: 10mbit, 0 = none)
 *   netfw tc-clear IFNAME | tc-clear-name IFNAME | ifb-name IFNAME
 *   netfw rate TEXT                         prints bit/s
 *   netfw dns-start RUNDIR NET LISTEN [BRIDGE] | dns-hosts RUNDIR NET NAME=ADDR... | dns-stop RUNDIR NET
 *   netfw dns-pid RUNDIR NET */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/file.h"
#include "netns/dns.h"
#include "netns/nft.h"
#include "netns/tc.h"

static const char *jstr(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}
static int jint(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? v->valueint : 0;
}
static bool jbool(const cJSON *o, const char *k) { return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k)); }

static int state_cmd(bool apply, const char *table, const char *file, struct cell_err *err) {
  cleanup_free char *text = cell_read_file(file, NULL, err);
  if (!text) return -1;
  cJSON *j = cJSON_Parse(text);
  if (!j) return cell_error(err, 0, "%s: not JSON", file);
  const cJSON *nets = cJSON_GetObjectItem(j, "networks"), *eps = cJSON_GetObjectItem(j, "endpoints"),
              *fwds = cJSON_GetObjectItem(j, "forwards");
  size_t nn = (size_t)cJSON_GetArraySize(nets), ne = (size_t)cJSON_GetArraySize(eps),
         nf = (size_t)cJSON_GetArraySize(fwds);
  struct nft_network *n = calloc(nn + 1, sizeof *n);
  struct nft_endpoint *e = calloc(ne + 1, sizeof *e);
  struct nft_forward *f = calloc(nf + 1, sizeof *f);
  const char **addrs = calloc(256, sizeof *addrs);
  size_t na = 0, i = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, nets) {
    n[i++] = (struct nft_network){jstr(it, "name"), jstr(it, "bridge"), jstr(it, "subnet4"), jstr(it, "subnet6"),
                                  jbool(it, "nat"), jbool(it, "routed")};
  }
  i = 0;
  cJSON_ArrayForEach(it, eps) {
    e[i] = (struct nft_endpoint){jstr(it, "network"), jstr(it, "ifname"), addrs + na, 0};
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(it, "addrs")) if (na < 256) addrs[na++] = a->valuestring, e[i].naddrs++;
    i++;
  }
  i = 0;
  cJSON_ArrayForEach(it, fwds) {
    f[i++] = (struct nft_forward){jstr(it, "proto"), jint(it, "family"), (unsigned)jint(it, "host_port"),
                                  jstr(it, "addr"), (unsigned)jint(it, "port"), jstr(it, "network")};
  }
  struct nft_state st = {n, nn, e, ne, f, nf};
  int rc;
  if (apply) {
    rc = netns_nft_apply(table, &st, err);
  } else {
    struct strbuf sb = STRBUF_INIT(1u << 24);
    rc = netns_nft_render(table, &st, &sb, err);
    if (rc == 0) fputs(strbuf_str(&sb), stdout);
    strbuf_free(&sb);
  }
  free(n);
  free(e);
  free(f);
  free(addrs);
  cJSON_Delete(j);
  return rc;
}

static int ifindex_of(const char *name, struct cell_err *err) {
  int i = (int)if_nametoindex(name);
  return i > 0 ? i : cell_error(err, errno, "link %s", name);
}

static int run(int argc, char **argv, struct cell_err *err) {
  const char *c = argv[1];
  if ((!strcmp(c, "render") || !strcmp(c, "apply")) && argc == 4) return state_cmd(c[0] == 'a', argv[2], argv[3], err);
  if (!strcmp(c, "remove") && argc == 3) return netns_nft_remove(argv[2], err);
  if (!strcmp(c, "rate") && argc == 3) {
    uint64_t v;
    if (netns_rate_parse("rate", argv[2], &v, err) < 0) return -1;
    printf("%" PRIu64 "\n", v);
    return 0;
  }
  if (!strcmp(c, "tc-set") && argc == 5) {
    uint64_t out, in;
    int idx = ifindex_of(argv[2], err);
    if (idx < 0 || netns_rate_parse("rate-out", argv[3], &out, err) < 0 ||
        netns_rate_parse("rate-in", argv[4], &in, err) < 0)
      return -1;
    return netns_tc_set(idx, out, in, err);
  }
  if (!strcmp(c, "tc-clear") && argc == 3) {
    int idx = ifindex_of(argv[2], err);
    return idx < 0 ? -1 : netns_tc_clear(idx, err);
  }
  if (!strcmp(c, "tc-clear-name") && argc == 3) return netns_tc_clear_name(argv[2], err);
  if (!strcmp(c, "ifb-name") && argc == 3) {
    char b[IFNAMSIZ];
    netns_tc_ifb_name(argv[2], b);
    puts(b);
    return 0;
  }
  if (!strcmp(c, "dns-start") && (argc == 5 || argc == 6))
    return netns_dns_start(argv[2], argv[3], argv[4], argc == 6 ? argv[5] : NULL, err);
  if (!strcmp(c, "dns-stop") && argc == 4) return netns_dns_stop(argv[2], argv[3], err);
  if (!strcmp(c, "dns-pid") && argc == 4) {
    printf("%d\n", (int)netns_dns_pid(argv[2], argv[3]));
    return 0;
  }
  if (!strcmp(c, "dns-hosts") && argc >= 4) {
    size_t n = (size_t)argc - 4;
    struct netns_dns_host *h = calloc(n + 1, sizeof *h);
    for (size_t i = 0; i < n; i++) {
      char *eq = strchr(argv[4 + i], '=');
      if (!eq) {
        free(h);
        return cell_error(err, EINVAL, "'%s' is not NAME=ADDR", argv[4 + i]);
      }
      *eq = 0;
      h[i] = (struct netns_dns_host){argv[4 + i], eq + 1};
    }
    int rc = netns_dns_update_hosts(argv[2], argv[3], h, n, err);
    free(h);
    return rc;
  }
  fprintf(stderr, "netfw: bad command (see tests/nft/netfw.c)\n");
  return -2;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: netfw COMMAND ...\n");
    return 2;
  }
  struct cell_err err = {0};
  int rc = run(argc, argv, &err);
  if (rc == -2) return 2;
  if (rc < 0) {
    fprintf(stderr, "netfw: %s\n", err.msg);
    return 1;
  }
  return 0;
}
