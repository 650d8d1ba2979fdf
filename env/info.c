/* info.c - an environment as JSON (list, show), exec, the rootfs layers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "env/env.h"
#include "env/env_internal.h"
#include "images/images.h"
#include "lib/file.h"
#include "runtime/container.h"
#include "storage/storage.h"

int env_lowers(struct env *e, char ***lowers, size_t *n, struct cell_err *err) {
  *lowers = NULL;
  *n = 0;
  const char *rootfs = env_config_get(e->cfg, "rootfs");
  const char *image = env_config_get(e->cfg, "image");
  if (image && rootfs) return cell_error(err, 0, "%s: image and rootfs: set only one", e->cfg_path);
  if (image) {
    struct img_store *s;
    char **dirs = NULL;
    if (img_store_open(e->root, &s, err) < 0) return cell_error_wrap(err, "%s: image", e->cfg_path);
    int r = img_rootfs_layers(s, image, &dirs, err);
    img_store_close(s);
    if (r < 0) return cell_error_wrap(err, "%s: image \"%s\"", e->cfg_path, image);
    size_t k = 0;
    while (dirs[k]) k++;
    *lowers = dirs;
    *n = k;
    return 0;
  }
  if (!rootfs) return cell_error(err, 0, "%s: neither image nor rootfs is set", e->cfg_path);
  struct stat sb;
  if (stat(rootfs, &sb) < 0) return cell_error(err, errno, "%s: rootfs: %s", e->cfg_path, rootfs);
  if (!S_ISDIR(sb.st_mode)) return cell_error(err, 0, "%s: rootfs: %s is not a directory", e->cfg_path, rootfs);
  *lowers = calloc(2, sizeof **lowers);
  if (!*lowers || !((*lowers)[0] = strdup(rootfs))) return cell_error(err, ENOMEM, "rootfs");
  *n = 1;
  return 0;
}

void env_lowers_free(char **lowers, size_t n) {
  for (size_t i = 0; i < n; i++) free(lowers[i]);
  free(lowers);
}

static double uptime_s(unsigned long long start_ticks) {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  double now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
  return now - (double)start_ticks / (double)sysconf(_SC_CLK_TCK);
}

/* "storage": the quota method and, with a disk, its size and use. */
static void disk_info(struct env *e, cJSON *j) {
  struct storage_env_disk d;
  struct cell_err err = {0};
  cJSON *o = cJSON_AddObjectToObject(j, "storage");
  /* without a disk: no quota, and no probe of project quota on every list */
  if (!storage_env_has_disk(e->dir)) {
    cJSON_AddStringToObject(o, "method", "none");
    return;
  }
  if (storage_env_disk_describe(e->dir, &d, &err) < 0) {
    cJSON_AddStringToObject(o, "error", err.msg);
    return;
  }
  cJSON_AddStringToObject(o, "method", d.method);
  cJSON_AddStringToObject(o, "project_quota", d.project_quota);
  cJSON_AddNumberToObject(o, "size", (double)d.info.size);
  cJSON_AddNumberToObject(o, "allocated", (double)d.info.allocated);
  cJSON_AddBoolToObject(o, "mounted", d.info.mounted);
  if (d.info.mounted) {
    cJSON_AddNumberToObject(o, "fs_total", (double)d.info.fs_total);
    cJSON_AddNumberToObject(o, "fs_used", (double)d.info.fs_used);
    cJSON_AddNumberToObject(o, "fs_avail", (double)d.info.fs_avail);
  }
  if (d.info.loop_dev[0]) cJSON_AddStringToObject(o, "loop_device", d.info.loop_dev);
}

cJSON *env_info(struct env *e) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "name", e->name);
  struct env_status st;
  struct cell_err err = {0};
  if (env_status(e, &st, &err) < 0) {
    cJSON_AddStringToObject(j, "state", "unknown");
    cJSON_AddStringToObject(j, "error", err.msg);
    return j;
  }
  cJSON_AddStringToObject(j, "state", env_state_name(st.state));
  if (st.leftover) cJSON_AddBoolToObject(j, "needs_repair", 1);
  cJSON_AddNumberToObject(j, "pid", st.state == ENV_STOPPED ? 0 : st.pid);
  if (st.state == ENV_RUNNING && st.start_time) cJSON_AddNumberToObject(j, "uptime", (double)(long long)uptime_s(st.start_time));
  cJSON *addrs = cJSON_AddArrayToObject(j, "addresses");
  if (st.state == ENV_RUNNING) env_net_addresses(e, st.pid, addrs);
  cJSON *cfg = cJSON_AddObjectToObject(j, "config");
  size_t nk;
  const struct env_key *k = env_keys(&nk);
  for (size_t i = 0; i < nk; i++) {
    const char *v = env_config_get(e->cfg, k[i].name);
    if (v) cJSON_AddStringToObject(cfg, k[i].name, v);
  }
  disk_info(e, j);
  if (st.state == ENV_RUNNING) {
    char *stats = NULL;
    unsigned long long oom = 0;
    if (cell_container_stats(e->rt_root, e->name, &stats, &oom, &err) == 0) {
      cJSON *s = cJSON_Parse(stats);
      const cJSON *mem = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "memory"), "usage"), "usage");
      const cJSON *cpu = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "cpu"), "usage"), "total");
      const cJSON *pids = cJSON_GetObjectItem(cJSON_GetObjectItem(s, "pids"), "current");
      if (cJSON_IsNumber(mem)) cJSON_AddNumberToObject(j, "memory_bytes", mem->valuedouble);
      if (cJSON_IsNumber(cpu)) cJSON_AddNumberToObject(j, "cpu_seconds", cpu->valuedouble / 1e9);
      if (cJSON_IsNumber(pids)) cJSON_AddNumberToObject(j, "tasks", pids->valuedouble);
      cJSON_AddNumberToObject(j, "oom_kills", (double)oom);
      cJSON_Delete(s);
      free(stats);
    }
  }
  return j;
}

int env_exec(struct env *e, const struct env_exec_opts *o, int *exit_code, struct cell_err *err) {
  struct env_status st;
  if (env_status(e, &st, err) < 0) return -1;
  if (st.state != ENV_RUNNING) return cell_error(err, 0, "environment \"%s\" is not running", e->name);
  struct cell_exec_opts x = {.root = e->rt_root, .id = e->name, .args = o->args, .env = o->env,
                             .user = o->user, .cwd = o->cwd ? o->cwd : "/", .tty = o->tty};
  return cell_container_exec(&x, exit_code, err);
}
