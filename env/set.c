/* set.c - limits: the config's [limits] as OCI linux.resources, and
 * `set KEY=VALUE` applied live and saved. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/env.h"
#include "runtime/container.h"
#include "storage/storage.h"

static void io_device(cJSON *bio, const char *field, const char *v, bool bps) {
  unsigned maj, min;
  char rate[64];
  unsigned long long r;
  if (sscanf(v, "%u:%u %63s", &maj, &min, rate) != 3 || env_parse_size(rate, &r) < 0) return;
  (void)bps;
  cJSON *arr = cJSON_AddArrayToObject(bio, field);
  cJSON *d = cJSON_CreateObject();
  cJSON_AddNumberToObject(d, "major", maj);
  cJSON_AddNumberToObject(d, "minor", min);
  cJSON_AddNumberToObject(d, "rate", (double)r);
  cJSON_AddItemToArray(arr, d);
}

int env_resources(const struct env_config *c, cJSON **out, struct cell_err *err) {
  cJSON *res = cJSON_CreateObject();
  if (!res) return cell_error(err, ENOMEM, "resources");
  const char *s;
  unsigned long long v;
  if ((s = env_config_get(c, "memory")) && env_parse_size(s, &v) == 0) {
    cJSON *m = cJSON_AddObjectToObject(res, "memory");
    unsigned long long sw = 0;
    const char *ss = env_config_get(c, "swap");
    if (ss) env_parse_size(ss, &sw);
    if (v == ~0ULL) {
      cJSON_AddNumberToObject(m, "limit", -1);
      cJSON_AddNumberToObject(m, "swap", -1);
    } else {
      cJSON_AddNumberToObject(m, "limit", (double)v);
      cJSON_AddNumberToObject(m, "swap", sw == ~0ULL ? -1 : (double)(v + sw));
    }
  }
  cJSON *cpu = NULL;
#define CPU() (cpu ? cpu : (cpu = cJSON_AddObjectToObject(res, "cpu")))
  if ((s = env_config_get(c, "cpus")) && env_parse_cpus(s, &v) == 0) {
    cJSON_AddNumberToObject(CPU(), "quota", (double)(v * 100));
    cJSON_AddNumberToObject(CPU(), "period", 100000);
  }
  if ((s = env_config_get(c, "cpu-weight"))) {
    unsigned long long w = strtoull(s, NULL, 10);
    cJSON_AddNumberToObject(CPU(), "shares", (double)(2 + ((w - 1) * 262142) / 9999));
  }
  if ((s = env_config_get(c, "cpuset"))) cJSON_AddStringToObject(CPU(), "cpus", s);
#undef CPU
  if ((s = env_config_get(c, "pids"))) cJSON_AddNumberToObject(cJSON_AddObjectToObject(res, "pids"), "limit",
                                                              (double)strtoull(s, NULL, 10));
  cJSON *bio = NULL;
  static const struct {
    const char *key, *field;
  } io[] = {{"io-read-bps", "throttleReadBpsDevice"},
            {"io-write-bps", "throttleWriteBpsDevice"},
            {"io-read-iops", "throttleReadIOPSDevice"},
            {"io-write-iops", "throttleWriteIOPSDevice"}};
  if ((s = env_config_get(c, "io-weight"))) {
    bio = cJSON_AddObjectToObject(res, "blockIO");
    cJSON_AddNumberToObject(bio, "weight", (double)strtoul(s, NULL, 10));
  }
  for (size_t i = 0; i < sizeof io / sizeof *io; i++)
    if ((s = env_config_get(c, io[i].key))) {
      if (!bio) bio = cJSON_AddObjectToObject(res, "blockIO");
      io_device(bio, io[i].field, s, strstr(io[i].key, "bps") != NULL);
    }
  if (!res->child) {
    cJSON_Delete(res);
    res = NULL;
  }
  *out = res;
  return 0;
}

/* set disk=SIZE: made or grown now (online when running, where the kernel
 * lets us), else saved for the next start, which grows it offline. */
static int set_disk(struct env *e, const char *v, bool running, bool no_save, void (*note)(const char *msg),
                    struct cell_err *err) {
  uint64_t sz;
  if (storage_parse_size(v, "disk", &sz, err) < 0) return -1;
  char msg[CELL_ERR_MAX + 256];
  if (running && !storage_env_has_disk(e->dir)) {
    /* its files are in use in the host dir: they move into a new disk only when stopped */
    snprintf(msg, sizeof msg, "disk: a running environment without a disk gets one at its next start; %s",
             no_save ? "not saved (--no-save): nothing changed" : "saved for the next start");
    if (note) note(msg);
    return 0;
  }
  /* stopped: a host mount left by a killed start goes first (the grow is then offline) */
  if (!running && storage_env_disk_detach(e->dir, err) < 0) return cell_error_wrap(err, "disk=%s (nothing saved)", v);
  struct cell_err e2 = {0};
  if (storage_env_disk_resize(e->dir, sz, &e2) == 0) return 0;
  if (running && (e2.errnum == EPERM || e2.errnum == EBUSY)) {
    snprintf(msg, sizeof msg,
             "disk: cannot grow the running environment's disk live (%s); %s", e2.msg,
             no_save ? "not saved (--no-save): stop the environment and set disk again"
                     : "saved: stop the environment and set disk again, or restart it (the saved size is applied "
                       "at the next start)");
    if (note) note(msg);
    return 0;
  }
  *err = e2;
  return cell_error_wrap(err, "disk=%s (nothing saved)", v);
}

int env_set(struct env *e, char **kv, int n, bool no_save, void (*note)(const char *msg), struct cell_err *err) {
  /* all checked before anything changes */
  bool live_needed = false, later = false;
  for (int i = 0; i < n; i++) {
    char *eq = strchr(kv[i], '=');
    if (!eq || eq == kv[i]) return cell_error(err, 0, "\"%s\": expected KEY=VALUE", kv[i]);
    *eq = 0;
    const struct env_key *k = env_key_find(kv[i]);
    if (!k) {
      cell_error(err, 0, "unknown key \"%s\" (see `cellctl set --help`)", kv[i]);
      *eq = '=';
      return -1;
    }
    if (!strcmp(k->name, "idrange")) {
      *eq = '=';
      return cell_error(err, 0, "idrange: set by cellctl when the environment is created; it cannot be changed");
    }
    int r = env_config_set(e->cfg, kv[i], eq + 1, err);
    *eq = '=';
    if (r < 0) return -1;
    if (!strcmp(k->section, "limits")) live_needed = true;
    else if (!k->live) later = true;
  }
  struct env_status st;
  if (env_status(e, &st, err) < 0) return -1;
  const char *disk = NULL;
  for (int i = 0; i < n; i++)
    if (!strncmp(kv[i], "disk=", 5)) disk = kv[i] + 5;
  if (disk && set_disk(e, disk, st.state != ENV_STOPPED, no_save, note, err) < 0) return -1;
  if (st.state == ENV_RUNNING && live_needed) {
    cJSON *res = NULL;
    if (env_resources(e->cfg, &res, err) < 0) return -1;
    char *text = res ? cJSON_PrintUnformatted(res) : NULL;
    cJSON_Delete(res);
    int r = text ? cell_container_update(e->rt_root, e->name, text, err) : 0;
    free(text);
    if (r < 0) return cell_error_wrap(err, "environment \"%s\": apply the limits live (nothing saved)", e->name);
  }
  if (st.state == ENV_RUNNING && later && note) {
    for (int i = 0; i < n; i++) {
      char key[64];
      snprintf(key, sizeof key, "%.*s", (int)(strchr(kv[i], '=') - kv[i]), kv[i]);
      const struct env_key *k = env_key_find(key);
      if (k && !k->live && strcmp(k->section, "limits")) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s: cannot change in a running environment; %s", key,
                 no_save ? "not saved (--no-save)" : "saved for the next start");
        note(msg);
      }
    }
  }
  if (no_save) return 0;
  return env_config_save(e->cfg, e->dirfd, "config", err);
}
