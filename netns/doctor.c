/* doctor.c - host settings that break cell's networks (netns_doctor). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nftables/libnftables.h>

#include "lib/file.h"
#include "netns/internal.h"

struct doc {
  void (*report)(const char *, const char *, void *);
  void *data;
  int errors;
};

static void say(struct doc *d, bool error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(struct doc *d, bool error, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (error) d->errors++;
  d->report(error ? "error" : "warning", buf, d->data);
}

static void check_sysctl(struct doc *d, const char *key, const char *what) {
  char v[32];
  struct cell_err e = {0};
  if (nl_sysctl_read(key, v, sizeof v, &e) < 0) say(d, false, "cannot read %s: %s", key, e.msg);
  else if (strcmp(v, "1")) say(d, false, "%s is %s: %s (cellctl sets it on attach)", key, v, what);
}

/* A built-in, or a loadable module under /lib/modules/RELEASE. */
static bool module_present(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "/sys/module/%s", name);
  if (access(path, F_OK) == 0) return true;
  struct utsname u;
  if (uname(&u) < 0) return false;
  const char *files[] = {"modules.builtin", "modules.dep"};
  for (size_t i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "/lib/modules/%s/%s", u.release, files[i]);
    cleanup_free char *text = cell_read_fileat(AT_FDCWD, path, NULL);
    if (!text) continue;
    char pat[128];
    snprintf(pat, sizeof pat, "/%s.ko", name);
    if (strstr(text, pat)) return true;
  }
  return false;
}

/* Each base chain of hook forward with policy drop in a table not ours. */
static void check_forward_drop(struct doc *d) {
  struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!nft) {
    say(d, false, "nftables: cannot create a libnftables context");
    return;
  }
  nft_ctx_output_set_flags(nft, NFT_CTX_OUTPUT_JSON);
  nft_ctx_buffer_output(nft);
  nft_ctx_buffer_error(nft);
  if (nft_run_cmd_from_buffer(nft, "list chains") != 0) {
    say(d, false, "nftables: list chains failed: %s", nft_ctx_get_error_buffer(nft));
    nft_ctx_free(nft);
    return;
  }
  const char *out = nft_ctx_get_output_buffer(nft);
  /* a small scan of the JSON: objects {"chain": {... "table": T, "hook": "forward", "policy": "drop"}} */
  for (const char *p = strstr(out, "\"chain\""); p; p = strstr(p + 1, "\"chain\"")) {
    const char *end = strchr(p, '}');
    if (!end) break;
    size_t len = (size_t)(end - p);
    char obj[1024];
    if (len >= sizeof obj) continue;
    memcpy(obj, p, len);
    obj[len] = 0;
    if (!strstr(obj, "\"hook\": \"forward\"") || !strstr(obj, "\"policy\": \"drop\"")) continue;
    char fam[32] = "?", table[128] = "?";
    const char *t = strstr(obj, "\"family\": \"");
    if (t) sscanf(t + 11, "%31[^\"]", fam);
    t = strstr(obj, "\"table\": \"");
    if (t) sscanf(t + 10, "%127[^\"]", table);
    if (!strcmp(table, fw_table()) && !strcmp(fam, "inet")) continue;
    say(d, true,
        "nftables table %s %s has a forward chain with policy drop: bridged and routed traffic of cell's networks "
        "is dropped there (add an accept for them, or change the policy)",
        fam, table);
  }
  nft_ctx_free(nft);
}

int netns_doctor(void (*report)(const char *severity, const char *text, void *data), void *data,
                 struct cell_err *err) {
  (void)err;
  struct doc d = {report, data, 0};
  check_sysctl(&d, "net/ipv4/ip_forward", "IPv4 traffic between networks and out of the host is not routed");
  check_sysctl(&d, "net/ipv6/conf/all/forwarding", "IPv6 traffic between networks and out of the host is not routed");
  check_forward_drop(&d);
  /* iptables-legacy rules live outside nftables: their FORWARD policy is in /proc */
  cleanup_free char *names = cell_read_fileat(AT_FDCWD, "/proc/net/ip_tables_names", NULL);
  if (names && strstr(names, "filter"))
    say(&d, false, "iptables-legacy's filter table is loaded: check `iptables-legacy -S FORWARD` for a DROP policy");
  const char *mods[] = {"veth", "bridge", "nf_tables", "nft_masq", "nft_nat", "nft_chain_nat", "ifb", "sch_tbf",
                        "act_mirred", "cls_u32"};
  for (size_t i = 0; i < sizeof mods / sizeof *mods; i++)
    if (!module_present(mods[i])) say(&d, true, "kernel module %s is missing (neither loaded nor installed)", mods[i]);
  return d.errors;
}
