/* config.c - the environment config file: INI lines kept as written. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/config.h"
#include "env/env_internal.h"
#include "lib/file.h"
#include "storage/storage.h"

static const struct env_key keys[] = {
    {"image", "env", ENV_KT_STRING, false, 0, 0, "the image the rootfs layers come from"},
    {"rootfs", "env", ENV_KT_STRING, false, 0, 0, "a rootfs directory used as the read-only lower layer"},
    {"init", "env", ENV_KT_INIT, false, 0, 0, "systemd, busybox or the path of the init inside"},
    {"hostname", "env", ENV_KT_NAME, false, 0, 0, "the hostname inside (default: the name)"},
    {"privileged", "env", ENV_KT_BOOL, false, 0, 0, "no user namespace: uid 0 inside is root on the host"},
    {"onboot", "env", ENV_KT_BOOL, true, 0, 0, "`cellctl boot` starts it"},
    {"net", "env", ENV_KT_NET, false, 0, 0, "networks: \"NETWORK[,ip=A][,ip6=A][,rate-in=R][,rate-out=R]\" entries, space separated"},
    {"forward", "env", ENV_KT_FORWARD, false, 0, 0, "port forwards: \"HOSTPORT:PORT[/udp]\" entries, space separated"},
    {"reboot", "env", ENV_KT_REBOOT, true, 0, 0, "restart (a waiting host process restarts it after a reboot inside) or stop (none)"},
    {"boot-order", "env", ENV_KT_UINT, true, 0, 1000000, "`cellctl boot` starts lower numbers first"},
    {"cellfs", "env", ENV_KT_STRING, false, 0, 0, "where cellfs is mounted (default /var/lib/cellfs); \"off\": no views"},
    {"idrange", "env", ENV_KT_UINT, false, 0, 4294901760ULL, "first host id of the 65536 ids of its user namespace"},
    {"memory", "limits", ENV_KT_SIZE, true, 0, 0, "memory limit (bytes; k/M/G suffixes; max)"},
    {"swap", "limits", ENV_KT_SIZE, true, 0, 0, "swap allowed beyond memory (default 0)"},
    {"disk", "limits", ENV_KT_SIZE, true, 0, 0,
     "disk quota (an ext4 image on a loop device holding its files; grows only; live where the kernel allows)"},
    {"cpus", "limits", ENV_KT_CPUS, true, 0, 0, "CPU time, in CPUs (1.5 = 150 ms per 100 ms)"},
    {"cpu-weight", "limits", ENV_KT_UINT, true, 1, 10000, "relative CPU weight, 1-10000 (default 100)"},
    {"cpuset", "limits", ENV_KT_CPUSET, true, 0, 0, "the CPUs it may run on (0-1,3)"},
    {"pids", "limits", ENV_KT_UINT, true, 1, 4194304, "the most tasks at once"},
    {"io-weight", "limits", ENV_KT_UINT, true, 10, 1000, "relative block I/O weight, 10-1000"},
    {"io-read-bps", "limits", ENV_KT_IOLIMIT, true, 0, 0, "\"MAJ:MIN RATE\" read bytes/s of a device"},
    {"io-write-bps", "limits", ENV_KT_IOLIMIT, true, 0, 0, "\"MAJ:MIN RATE\" write bytes/s of a device"},
    {"io-read-iops", "limits", ENV_KT_IOLIMIT, true, 0, 0, "\"MAJ:MIN RATE\" read operations/s of a device"},
    {"io-write-iops", "limits", ENV_KT_IOLIMIT, true, 0, 0, "\"MAJ:MIN RATE\" write operations/s of a device"},
};

const struct env_key *env_keys(size_t *n) {
  *n = sizeof keys / sizeof *keys;
  return keys;
}

const struct env_key *env_key_find(const char *name) {
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    if (!strcmp(keys[i].name, name)) return &keys[i];
  return NULL;
}

int env_parse_size(const char *s, unsigned long long *out) {
  if (!strcmp(s, "max") || !strcmp(s, "unlimited")) {
    *out = ULLONG_MAX;
    return 0;
  }
  if (!isdigit((unsigned char)*s)) return -1;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno) return -1;
  unsigned shift = 0;
  switch (tolower((unsigned char)*end)) {
  case 0: break;
  case 'k': shift = 10; break;
  case 'm': shift = 20; break;
  case 'g': shift = 30; break;
  case 't': shift = 40; break;
  default: return -1;
  }
  if (*end) {
    end++;
    if (tolower((unsigned char)*end) == 'i') end++;
    if (tolower((unsigned char)*end) == 'b') end++;
    if (*end) return -1;
  }
  if (shift && v > (ULLONG_MAX >> shift)) return -1;
  *out = v << shift;
  return 0;
}

int env_parse_cpus(const char *s, unsigned long long *milli) {
  unsigned long long whole = 0, frac = 0;
  int fd = 0;
  const char *p = s;
  if (!isdigit((unsigned char)*p)) return -1;
  for (; isdigit((unsigned char)*p); p++) {
    whole = whole * 10 + (unsigned)(*p - '0');
    if (whole > 4096) return -1;
  }
  if (*p == '.') {
    for (p++; isdigit((unsigned char)*p); p++, fd++)
      if (fd < 3) frac = frac * 10 + (unsigned)(*p - '0');
      else if (fd >= 9) return -1;
    if (fd == 0) return -1;
  }
  if (*p) return -1;
  for (int i = fd < 3 ? fd : 3; i < 3; i++) frac *= 10;
  *milli = whole * 1000 + frac;
  return *milli >= 10 ? 0 : -1; /* at least 0.01 CPU */
}

int env_parse_bool(const char *s, bool *out) {
  if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "1") || !strcmp(s, "on")) *out = true;
  else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "0") || !strcmp(s, "off")) *out = false;
  else return -1;
  return 0;
}

static bool cpuset_ok(const char *s) {
  /* 0-3,5,7-8 */
  const char *p = s;
  if (!*p) return false;
  for (;;) {
    if (!isdigit((unsigned char)*p)) return false;
    unsigned long a = strtoul(p, (char **)&p, 10);
    if (*p == '-') {
      p++;
      if (!isdigit((unsigned char)*p)) return false;
      unsigned long b = strtoul(p, (char **)&p, 10);
      if (b < a || b > 8191) return false;
    } else if (a > 8191) return false;
    if (!*p) return true;
    if (*p++ != ',') return false;
  }
}

static bool hostname_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 63 || s[0] == '-' || s[0] == '.') return false;
  for (const char *p = s; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.') return false;
  return true;
}

static bool iolimit_ok(const char *s) {
  unsigned maj, min;
  char rate[64];
  int used = 0;
  if (sscanf(s, "%u:%u %63s%n", &maj, &min, rate, &used) != 3 || s[used]) return false;
  unsigned long long v;
  return env_parse_size(rate, &v) == 0;
}

int env_key_check(const struct env_key *k, const char *value, const char *where, struct cell_err *err) {
  const char *bad = NULL;
  unsigned long long v;
  bool b;
  if (strchr(value, '\n') || strlen(value) > 4096) bad = "a single line of at most 4096 bytes";
  else switch (k->type) {
  case ENV_KT_STRING:
    if (!*value) bad = "a non-empty value";
    break;
  case ENV_KT_BOOL:
    if (env_parse_bool(value, &b) < 0) bad = "true or false";
    break;
  case ENV_KT_SIZE:
    if (env_parse_size(value, &v) < 0) bad = "a size: bytes with an optional k, M, G or T suffix, or max";
    else if (!strcmp(k->name, "memory") && v < (4ULL << 20)) bad = "at least 4M";
    else if (!strcmp(k->name, "disk")) {
      uint64_t sz;
      struct cell_err e2;
      if (storage_parse_size(value, "disk", &sz, &e2) < 0 || sz < STORAGE_DISK_MIN) bad = "a size of at least 16M, like 512M or 10G";
    }
    break;
  case ENV_KT_CPUS:
    if (env_parse_cpus(value, &v) < 0) bad = "a number of CPUs from 0.01 up, like 1 or 1.5";
    break;
  case ENV_KT_UINT: {
    char *end;
    errno = 0;
    v = isdigit((unsigned char)*value) ? strtoull(value, &end, 10) : 0;
    if (!isdigit((unsigned char)*value) || errno || *end || v < k->min || v > k->max) bad = "an integer in range";
    break;
  }
  case ENV_KT_CPUSET:
    if (!cpuset_ok(value)) bad = "a CPU list like 0-1,3";
    break;
  case ENV_KT_INIT:
    if (strcmp(value, "systemd") && strcmp(value, "busybox") && value[0] != '/')
      bad = "systemd, busybox or an absolute path";
    break;
  case ENV_KT_NET:
  case ENV_KT_FORWARD: {
    struct cell_err e2;
    if (env_net_check(k->name, value, &e2) < 0) {
      if (where) return cell_error(err, 0, "%s: %s", where, e2.msg);
      return cell_error(err, 0, "%s", e2.msg);
    }
    break;
  }
  case ENV_KT_REBOOT:
    if (strcmp(value, "restart") && strcmp(value, "stop")) bad = "restart or stop";
    break;
  case ENV_KT_NAME:
    if (!hostname_ok(value)) bad = "a host name (letters, digits, '-' and '.', at most 63)";
    break;
  case ENV_KT_IOLIMIT:
    if (!iolimit_ok(value)) bad = "\"MAJOR:MINOR RATE\" like \"8:0 10M\"";
    break;
  }
  if (!bad) return 0;
  if (k->type == ENV_KT_UINT && !strcmp(bad, "an integer in range"))
    return cell_error(err, 0, "%s%s%s: invalid value \"%s\" (expected an integer from %llu to %llu)", where ? where : "",
                      where ? ": " : "", k->name, value, k->min, k->max);
  return cell_error(err, 0, "%s%s%s: invalid value \"%s\" (expected %s)", where ? where : "", where ? ": " : "",
                    k->name, value, bad);
}

/* ---- the lines ---- */

struct env_line {
  char *text;    /* as written (no newline) */
  char *section; /* the section it is in (for keys and headers) */
  char *key;     /* a key line: its key, and its value */
  char *value;
};

struct env_config {
  struct env_line *l;
  size_t n, cap;
};

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
  return s;
}

static int add_line(struct env_config *c, const char *text, const char *section, const char *key, const char *value,
                    size_t at) {
  if (c->n == c->cap) {
    size_t nc = c->cap ? c->cap * 2 : 32;
    struct env_line *nl = realloc(c->l, nc * sizeof *nl);
    if (!nl) return -1;
    c->l = nl;
    c->cap = nc;
  }
  memmove(&c->l[at + 1], &c->l[at], (c->n - at) * sizeof *c->l);
  struct env_line *l = &c->l[at];
  l->text = strdup(text);
  l->section = section ? strdup(section) : NULL;
  l->key = key ? strdup(key) : NULL;
  l->value = value ? strdup(value) : NULL;
  c->n++;
  return 0;
}

void env_config_free(struct env_config *c) {
  if (!c) return;
  for (size_t i = 0; i < c->n; i++) {
    free(c->l[i].text);
    free(c->l[i].section);
    free(c->l[i].key);
    free(c->l[i].value);
  }
  free(c->l);
  free(c);
}

struct env_config *env_config_new(const char *name) {
  struct env_config *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  char head[256];
  snprintf(head, sizeof head, "# cellctl environment \"%s\" (keys: see `cellctl set --help`)", name);
  add_line(c, head, NULL, NULL, NULL, 0);
  add_line(c, "[env]", "env", NULL, NULL, c->n);
  add_line(c, "", "env", NULL, NULL, c->n);
  add_line(c, "[limits]", "limits", NULL, NULL, c->n);
  return c;
}

int env_config_parse(const char *text, const char *path, struct env_config **out, struct cell_err *err) {
  struct env_config *c = calloc(1, sizeof *c);
  if (!c) return cell_error(err, ENOMEM, "%s", path);
  char *copy = strdup(text), *save = NULL;
  char section[64] = "";
  int lineno = 0, rc = 0;
  /* strsep keeps empty lines */
  char *rest = copy;
  (void)save;
  while (rc == 0 && rest) {
    char *line = strsep(&rest, "\n");
    lineno++;
    if (!rest && !*line) break; /* the final newline */
    char *raw = strdup(line), *t = trim(line);
    if (!*t || *t == '#' || *t == ';') {
      add_line(c, raw, section[0] ? section : NULL, NULL, NULL, c->n);
    } else if (*t == '[') {
      char *e = strchr(t, ']');
      if (!e || e[1]) rc = cell_error(err, 0, "%s:%d: bad section header \"%s\"", path, lineno, t);
      else {
        *e = 0;
        char *s = trim(t + 1);
        if (strcmp(s, "env") && strcmp(s, "limits"))
          rc = cell_error(err, 0, "%s:%d: unknown section [%s] (known: [env], [limits])", path, lineno, s);
        else {
          snprintf(section, sizeof section, "%s", s);
          add_line(c, raw, section, NULL, NULL, c->n);
        }
      }
    } else {
      char *eq = strchr(t, '=');
      if (!eq) rc = cell_error(err, 0, "%s:%d: expected KEY = VALUE, got \"%s\"", path, lineno, t);
      else {
        *eq = 0;
        char *k = trim(t), *v = trim(eq + 1);
        size_t vl = strlen(v);
        if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
          v[vl - 1] = 0;
          v++;
        }
        const struct env_key *key = env_key_find(k);
        char where[PATH_MAX + 32];
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        if (!key) rc = cell_error(err, 0, "%s: unknown key \"%s\"", where, k);
        else if (!section[0] || strcmp(section, key->section))
          rc = cell_error(err, 0, "%s: key \"%s\" belongs in section [%s]", where, k, key->section);
        else if (env_config_get(c, k)) rc = cell_error(err, 0, "%s: key \"%s\" is set twice", where, k);
        else if (env_key_check(key, v, where, err) < 0) rc = -1;
        else add_line(c, raw, section, k, v, c->n);
      }
    }
    free(raw);
  }
  free(copy);
  if (rc < 0) {
    env_config_free(c);
    return -1;
  }
  *out = c;
  return 0;
}

int env_config_load(const char *path, struct env_config **out, struct cell_err *err) {
  cleanup_free char *text = cell_read_file(path, NULL, err);
  if (!text) return -1;
  return env_config_parse(text, path, out, err);
}

const char *env_config_get(const struct env_config *c, const char *key) {
  for (size_t i = 0; i < c->n; i++)
    if (c->l[i].key && !strcmp(c->l[i].key, key)) return c->l[i].value;
  return NULL;
}

int env_config_set(struct env_config *c, const char *key, const char *value, struct cell_err *err) {
  const struct env_key *k = env_key_find(key);
  if (!k) return cell_error(err, 0, "unknown key \"%s\" (see `cellctl set --help`)", key);
  if (value && env_key_check(k, value, NULL, err) < 0) return -1;
  char text[4200];
  if (value) snprintf(text, sizeof text, "%s = %s", key, value);
  for (size_t i = 0; i < c->n; i++) {
    struct env_line *l = &c->l[i];
    if (!l->key || strcmp(l->key, key)) continue;
    if (!value) {
      free(l->text);
      free(l->section);
      free(l->key);
      free(l->value);
      memmove(l, l + 1, (c->n - i - 1) * sizeof *l);
      c->n--;
      return 0;
    }
    char *nt = strdup(text), *nv = strdup(value);
    if (!nt || !nv) {
      free(nt);
      free(nv);
      return cell_error(err, ENOMEM, "set %s", key);
    }
    free(l->text);
    free(l->value);
    l->text = nt;
    l->value = nv;
    return 0;
  }
  if (!value) return 0;
  /* append after the last non-blank line of the section, adding the section if missing */
  size_t head = c->n, at = c->n;
  for (size_t i = 0; i < c->n; i++)
    if (c->l[i].section && !strcmp(c->l[i].section, k->section) && !c->l[i].key && c->l[i].text[0] == '[') head = i;
  if (head == c->n) {
    char h[64];
    snprintf(h, sizeof h, "[%s]", k->section);
    if (c->n && c->l[c->n - 1].text[0] && add_line(c, "", NULL, NULL, NULL, c->n) < 0)
      return cell_error(err, ENOMEM, "set %s", key);
    if (add_line(c, h, k->section, NULL, NULL, c->n) < 0) return cell_error(err, ENOMEM, "set %s", key);
    at = c->n;
  } else {
    at = head + 1;
    for (size_t i = head + 1; i < c->n && c->l[i].text[0] != '[' && !(c->l[i].section && strcmp(c->l[i].section, k->section)); i++) {
      const char *t = c->l[i].text;
      while (isspace((unsigned char)*t)) t++;
      if (*t) at = i + 1;
    }
  }
  if (add_line(c, text, k->section, key, value, at) < 0) return cell_error(err, ENOMEM, "set %s", key);
  return 0;
}

char *env_config_text(const struct env_config *c) {
  size_t len = 1;
  for (size_t i = 0; i < c->n; i++) len += strlen(c->l[i].text) + 1;
  char *out = malloc(len), *p = out;
  if (!out) return NULL;
  for (size_t i = 0; i < c->n; i++) p += sprintf(p, "%s\n", c->l[i].text);
  *p = 0;
  return out;
}

int env_config_save(const struct env_config *c, int dirfd, const char *name, struct cell_err *err) {
  cleanup_free char *text = env_config_text(c);
  if (!text) return cell_error(err, ENOMEM, "write %s", name);
  return cell_write_atomic_at(dirfd, name, text, strlen(text), 0644, err);
}
