/* store.c - the network store under ROOT/net/ (store.h). */
#include "netns/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "lib/file.h"

int netns_name_check(const char *what, const char *name, struct cell_err *err) {
  size_t n = name ? strlen(name) : 0;
  if (!n || n > NETNS_NAME_MAX)
    return cell_error(err, 0, "%s: a name of 1..%d characters is needed", what, NETNS_NAME_MAX);
  if (name[0] == '.' || name[0] == '-')
    return cell_error(err, 0, "%s: \"%s\" must not start with '.' or '-'", what, name);
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.'))
      return cell_error(err, 0, "%s: \"%s\": only letters, digits, '.', '_' and '-' are allowed", what, name);
  }
  return 0;
}

int store_open(const char *root, struct store *st, struct cell_err *err) {
  char path[4096];
  st->dirfd = st->lockfd = -1;
  if (snprintf(path, sizeof path, "%s/net", root) >= (int)sizeof path)
    return cell_error(err, ENAMETOOLONG, "--root %s", root);
  if (cell_mkdir_p(path, 0711) < 0) return cell_error(err, errno, "mkdir %s", path);
  st->dirfd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (st->dirfd < 0) return cell_error(err, errno, "open %s", path);
  st->lockfd = openat(st->dirfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (st->lockfd < 0) {
    int e = errno;
    store_close(st);
    return cell_error(err, e, "open %s/.lock", path);
  }
  while (flock(st->lockfd, LOCK_EX) < 0) {
    if (errno == EINTR) continue;
    int e = errno;
    store_close(st);
    return cell_error(err, e, "lock %s/.lock", path);
  }
  return 0;
}

void store_close(struct store *st) {
  if (st->lockfd >= 0) close(st->lockfd);
  if (st->dirfd >= 0) close(st->dirfd);
  st->lockfd = st->dirfd = -1;
}

static cJSON *read_json_at(int dirfd, const char *path, const char *what, struct cell_err *err) {
  cleanup_free char *text = cell_read_fileat(dirfd, path, NULL);
  if (!text) {
    cell_error(err, errno, "read %s", what);
    return NULL;
  }
  cJSON *j = cJSON_Parse(text);
  if (!j) cell_error(err, 0, "%s: not valid JSON", what);
  return j;
}

static int write_json_at(int dirfd, const char *name, cJSON *j, struct cell_err *err) {
  cleanup_free char *text = j ? cJSON_Print(j) : NULL;
  if (!text) return cell_error(err, ENOMEM, "render %s", name);
  return cell_write_atomic_at(dirfd, name, text, strlen(text), 0644, err);
}

static void get_str(const cJSON *o, const char *key, char *out, size_t size) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  snprintf(out, size, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static double get_num(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

int store_net_load(struct store *st, const char *name, struct netns_network *out, struct cell_err *err) {
  char path[128], what[160];
  if (netns_name_check("network", name, err) < 0) return -1;
  snprintf(path, sizeof path, "%s/config.json", name);
  snprintf(what, sizeof what, "network %s", name);
  int fd = openat(st->dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return cell_error(err, ENOENT, "network %s does not exist", name);
    return cell_error(err, errno, "open network %s", name);
  }
  close(fd);
  cJSON *j = read_json_at(st->dirfd, path, what, err);
  if (!j) return -1;
  memset(out, 0, sizeof *out);
  get_str(j, "name", out->name, sizeof out->name);
  char type[16];
  get_str(j, "type", type, sizeof type);
  out->type = !strcmp(type, "routed") ? NETNS_ROUTED : NETNS_BRIDGE;
  get_str(j, "subnet4", out->subnet4, sizeof out->subnet4);
  get_str(j, "subnet6", out->subnet6, sizeof out->subnet6);
  get_str(j, "gateway4", out->gateway4, sizeof out->gateway4);
  get_str(j, "gateway6", out->gateway6, sizeof out->gateway6);
  get_str(j, "parent", out->parent, sizeof out->parent);
  get_str(j, "bridge", out->bridge, sizeof out->bridge);
  out->nat = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "nat"));
  out->mtu = (unsigned)get_num(j, "mtu");
  cJSON_Delete(j);
  if (strcmp(out->name, name)) return cell_error(err, 0, "network %s: config.json names \"%s\"", name, out->name);
  return 0;
}

int store_net_save(struct store *st, const struct netns_network *n, struct cell_err *err) {
  if (mkdirat(st->dirfd, n->name, 0711) < 0 && errno != EEXIST) return cell_error(err, errno, "mkdir net/%s", n->name);
  cleanup_close int d = openat(st->dirfd, n->name, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (d < 0) return cell_error(err, errno, "open net/%s", n->name);
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "name", n->name);
  cJSON_AddStringToObject(j, "type", n->type == NETNS_ROUTED ? "routed" : "bridge");
  cJSON_AddStringToObject(j, "subnet4", n->subnet4);
  cJSON_AddStringToObject(j, "subnet6", n->subnet6);
  cJSON_AddStringToObject(j, "gateway4", n->gateway4);
  cJSON_AddStringToObject(j, "gateway6", n->gateway6);
  cJSON_AddStringToObject(j, "parent", n->parent);
  cJSON_AddStringToObject(j, "bridge", n->bridge);
  cJSON_AddBoolToObject(j, "nat", n->nat);
  cJSON_AddNumberToObject(j, "mtu", n->mtu);
  int r = write_json_at(d, "config.json", j, err);
  cJSON_Delete(j);
  return r;
}

int store_net_remove(struct store *st, const char *name, struct cell_err *err) {
  if (cell_rm_rf_at(st->dirfd, name) < 0) return cell_error(err, errno, "remove net/%s", name);
  return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void store_names_free(char **names, size_t n) {
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
}

int store_net_names(struct store *st, char ***names, size_t *n, struct cell_err *err) {
  *names = NULL;
  *n = 0;
  int fd = openat(st->dirfd, ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cell_error(err, errno, "open net/");
  cleanup_closedir DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return cell_error(err, errno, "open net/");
  }
  struct dirent *de;
  size_t cap = 0;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    struct stat sb;
    char cfg[300];
    snprintf(cfg, sizeof cfg, "%s/config.json", de->d_name);
    if (fstatat(st->dirfd, cfg, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(sb.st_mode)) continue;
    if (*n == cap) {
      cap = cap ? cap * 2 : 8;
      char **nn = realloc(*names, cap * sizeof *nn);
      if (!nn) goto oom;
      *names = nn;
    }
    if (!((*names)[*n] = strdup(de->d_name))) goto oom;
    (*n)++;
  }
  if (*n) qsort(*names, *n, sizeof **names, cmp_str);
  return 0;
oom:
  store_names_free(*names, *n);
  *names = NULL;
  *n = 0;
  return cell_error(err, ENOMEM, "list networks");
}

char *lease_render(const struct lease *l, size_t n) {
  cJSON *j = cJSON_CreateObject();
  cJSON *arr = cJSON_AddArrayToObject(j, "endpoints");
  for (size_t i = 0; i < n; i++) {
    const struct netns_endpoint *e = &l[i].ep;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", e->name);
    cJSON_AddStringToObject(o, "state", l[i].state == LEASE_ATTACHED ? "attached" : "attaching");
    cJSON_AddNumberToObject(o, "pid", l[i].pid);
    cJSON_AddStringToObject(o, "network", e->network);
    cJSON_AddStringToObject(o, "hostname", e->hostname);
    cJSON_AddStringToObject(o, "host_ifname", e->host_ifname);
    cJSON_AddStringToObject(o, "ifname", e->ifname);
    cJSON_AddStringToObject(o, "ip4", e->ip4);
    cJSON_AddNumberToObject(o, "prefix4", e->prefix4);
    cJSON_AddStringToObject(o, "gateway4", e->gateway4);
    cJSON_AddStringToObject(o, "ip6", e->ip6);
    cJSON_AddNumberToObject(o, "prefix6", e->prefix6);
    cJSON_AddStringToObject(o, "gateway6", e->gateway6);
    cJSON_AddStringToObject(o, "dns", e->dns);
    cJSON_AddNumberToObject(o, "mtu", e->mtu);
    cJSON_AddNumberToObject(o, "rate_in", (double)e->rate_in);
    cJSON_AddNumberToObject(o, "rate_out", (double)e->rate_out);
    cJSON_AddNumberToObject(o, "netns_ino", (double)e->netns_ino);
    cJSON_AddNumberToObject(o, "netns_dev", (double)e->netns_dev);
    cJSON_AddItemToArray(arr, o);
  }
  char *text = cJSON_Print(j);
  cJSON_Delete(j);
  return text;
}

int lease_parse(const char *text, struct lease **out, size_t *n, const char *where, struct cell_err *err) {
  *out = NULL;
  *n = 0;
  cJSON *j = cJSON_Parse(text);
  const cJSON *arr = j ? cJSON_GetObjectItemCaseSensitive(j, "endpoints") : NULL;
  if (!cJSON_IsArray(arr)) {
    cJSON_Delete(j);
    return cell_error(err, 0, "%s: not a lease file (no \"endpoints\" array)", where);
  }
  size_t cnt = (size_t)cJSON_GetArraySize(arr);
  struct lease *l = calloc(cnt ? cnt : 1, sizeof *l);
  if (!l) {
    cJSON_Delete(j);
    return cell_error(err, ENOMEM, "%s", where);
  }
  size_t i = 0;
  const cJSON *o;
  cJSON_ArrayForEach(o, arr) {
    struct netns_endpoint *e = &l[i].ep;
    char state[16];
    get_str(o, "state", state, sizeof state);
    l[i].state = !strcmp(state, "attached") ? LEASE_ATTACHED : LEASE_ATTACHING;
    l[i].pid = (pid_t)get_num(o, "pid");
    get_str(o, "name", e->name, sizeof e->name);
    get_str(o, "network", e->network, sizeof e->network);
    get_str(o, "hostname", e->hostname, sizeof e->hostname);
    get_str(o, "host_ifname", e->host_ifname, sizeof e->host_ifname);
    get_str(o, "ifname", e->ifname, sizeof e->ifname);
    get_str(o, "ip4", e->ip4, sizeof e->ip4);
    e->prefix4 = (int)get_num(o, "prefix4");
    get_str(o, "gateway4", e->gateway4, sizeof e->gateway4);
    get_str(o, "ip6", e->ip6, sizeof e->ip6);
    e->prefix6 = (int)get_num(o, "prefix6");
    get_str(o, "gateway6", e->gateway6, sizeof e->gateway6);
    get_str(o, "dns", e->dns, sizeof e->dns);
    e->mtu = (unsigned)get_num(o, "mtu");
    e->rate_in = (uint64_t)get_num(o, "rate_in");
    e->rate_out = (uint64_t)get_num(o, "rate_out");
    e->netns_ino = (uint64_t)get_num(o, "netns_ino");
    e->netns_dev = (uint64_t)get_num(o, "netns_dev");
    if (!e->name[0] || !e->host_ifname[0]) {
      free(l);
      cJSON_Delete(j);
      return cell_error(err, 0, "%s: endpoint #%zu has no name or host_ifname", where, i + 1);
    }
    i++;
  }
  cJSON_Delete(j);
  *out = l;
  *n = i;
  return 0;
}

int lease_load_at(int dirfd, const char *file, struct lease **out, size_t *n, struct cell_err *err) {
  *out = NULL;
  *n = 0;
  cleanup_free char *text = cell_read_fileat(dirfd, file, NULL);
  if (!text) {
    if (errno == ENOENT) return 0;
    return cell_error(err, errno, "read %s", file);
  }
  return lease_parse(text, out, n, file, err);
}

int lease_save_at(int dirfd, const char *file, const struct lease *l, size_t n, struct cell_err *err) {
  cleanup_free char *text = lease_render(l, n);
  if (!text) return cell_error(err, ENOMEM, "render %s", file);
  return cell_write_atomic_at(dirfd, file, text, strlen(text), 0644, err);
}

int store_leases_load(struct store *st, const char *net, struct lease **out, size_t *n, struct cell_err *err) {
  char path[128];
  snprintf(path, sizeof path, "%s/leases.json", net);
  return lease_load_at(st->dirfd, path, out, n, err);
}

int store_leases_save(struct store *st, const char *net, const struct lease *l, size_t n, struct cell_err *err) {
  cleanup_close int d = openat(st->dirfd, net, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (d < 0) return cell_error(err, errno, "open net/%s", net);
  return lease_save_at(d, "leases.json", l, n, err);
}

int store_forwards_load(struct store *st, struct netns_forward **out, size_t *n, struct cell_err *err) {
  *out = NULL;
  *n = 0;
  cleanup_free char *text = cell_read_fileat(st->dirfd, "forwards.json", NULL);
  if (!text) {
    if (errno == ENOENT) return 0;
    return cell_error(err, errno, "read net/forwards.json");
  }
  cJSON *j = cJSON_Parse(text);
  if (!cJSON_IsArray(j)) {
    cJSON_Delete(j);
    return cell_error(err, 0, "net/forwards.json: not a JSON array");
  }
  size_t cnt = (size_t)cJSON_GetArraySize(j);
  struct netns_forward *f = calloc(cnt ? cnt : 1, sizeof *f);
  if (!f) {
    cJSON_Delete(j);
    return cell_error(err, ENOMEM, "net/forwards.json");
  }
  size_t i = 0;
  const cJSON *o;
  cJSON_ArrayForEach(o, j) {
    get_str(o, "proto", f[i].proto, sizeof f[i].proto);
    f[i].family = (int)get_num(o, "family");
    f[i].host_port = (unsigned)get_num(o, "host_port");
    get_str(o, "addr", f[i].addr, sizeof f[i].addr);
    f[i].port = (unsigned)get_num(o, "port");
    get_str(o, "network", f[i].network, sizeof f[i].network);
    i++;
  }
  cJSON_Delete(j);
  *out = f;
  *n = i;
  return 0;
}

int store_forwards_save(struct store *st, const struct netns_forward *f, size_t n, struct cell_err *err) {
  cJSON *j = cJSON_CreateArray();
  for (size_t i = 0; i < n; i++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "proto", f[i].proto);
    cJSON_AddNumberToObject(o, "family", f[i].family);
    cJSON_AddNumberToObject(o, "host_port", f[i].host_port);
    cJSON_AddStringToObject(o, "addr", f[i].addr);
    cJSON_AddNumberToObject(o, "port", f[i].port);
    cJSON_AddStringToObject(o, "network", f[i].network);
    cJSON_AddItemToArray(j, o);
  }
  int r = write_json_at(st->dirfd, "forwards.json", j, err);
  cJSON_Delete(j);
  return r;
}
