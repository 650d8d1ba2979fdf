/* sysinit.c - systemd as a container's init (see sysinit.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/path.h"
#include "runtime/sysinit.h"

static const char *const init_paths[] = {"/sbin/init", "/usr/sbin/init", "/usr/local/sbin/init"};

static const char *args0(const cJSON *config) {
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(config, "process");
  const cJSON *a = cJSON_IsObject(p) ? cJSON_GetObjectItemCaseSensitive(p, "args") : NULL;
  const cJSON *a0 = cJSON_IsArray(a) ? cJSON_GetArrayItem(a, 0) : NULL;
  return cJSON_IsString(a0) ? a0->valuestring : NULL;
}

static bool named_systemd(const char *path) {
  const char *base = strrchr(path, '/');
  return !strcmp(base ? base + 1 : path, "systemd");
}

/* args[0] named systemd, or an init path that resolves (inside the rootfs)
 * to a file named systemd: Debian's /sbin/init -> /lib/systemd/systemd, not
 * busybox's or sysvinit's init */
static bool is_systemd_path(const char *arg, const char *rootfs) {
  if (!arg) return false;
  if (named_systemd(arg)) return true;
  bool init = false;
  for (size_t i = 0; i < sizeof init_paths / sizeof *init_paths; i++)
    if (!strcmp(arg, init_paths[i])) init = true;
  if (!init || !rootfs) return false;
  int rootfd = open(rootfs, O_DIRECTORY | O_PATH | O_CLOEXEC);
  if (rootfd < 0) return false;
  int fd = cell_path_open_in_root(rootfd, arg, O_PATH);
  close(rootfd);
  if (fd < 0) return false;
  char link[64], target[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  close(fd);
  if (n <= 0) return false;
  target[n] = 0;
  return named_systemd(target);
}

/* mode: "systemd", "none" or absent (automatic) */
static int wanted(cJSON *config, const char *rootfs, bool *on, struct cell_err *err) {
  const cJSON *ann = cJSON_GetObjectItemCaseSensitive(config, "annotations");
  const cJSON *v = cJSON_IsObject(ann) ? cJSON_GetObjectItemCaseSensitive(ann, CELL_SYSINIT_ANNOTATION) : NULL;
  if (v && !cJSON_IsString(v)) return cell_error(err, 0, "annotations." CELL_SYSINIT_ANNOTATION ": must be a string");
  if (v && strcmp(v->valuestring, "systemd") && strcmp(v->valuestring, "none"))
    return cell_error(err, 0, "annotations." CELL_SYSINIT_ANNOTATION ": \"%s\" must be \"systemd\" or \"none\"",
                      v->valuestring);
  *on = v ? !strcmp(v->valuestring, "systemd") : is_systemd_path(args0(config), rootfs);
  return 0;
}

/* config[key], created as an array/object of that kind when absent */
static cJSON *member(cJSON *o, const char *key, bool array, const char *field, struct cell_err *err) {
  cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!v || cJSON_IsNull(v)) {
    if (v) cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    v = array ? cJSON_AddArrayToObject(o, key) : cJSON_AddObjectToObject(o, key);
    if (!v) cell_error(err, ENOMEM, "%s", field);
    return v;
  }
  if (array ? !cJSON_IsArray(v) : !cJSON_IsObject(v)) {
    cell_error(err, 0, "%s: must be %s", field, array ? "an array" : "an object");
    return NULL;
  }
  return v;
}

static bool mounted_at(const cJSON *mounts, const char *dest) {
  size_t n = strlen(dest);
  const cJSON *m;
  cJSON_ArrayForEach(m, mounts) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(m, "destination");
    if (!cJSON_IsString(d)) continue;
    const char *s = d->valuestring;
    if (!strncmp(s, dest, n) && (s[n] == 0 || (s[n] == '/' && s[n + 1] == 0))) return true;
  }
  return false;
}

/* tmpfs mounts go first, so the config's own mounts below /run (secrets,
 * /var/run/...) land on top of them */
static int add_tmpfs(cJSON *mounts, const char *dest, const char *opts[], size_t nopts) {
  if (mounted_at(mounts, dest)) return 0;
  cJSON *m = cJSON_CreateObject();
  cJSON *o = cJSON_CreateStringArray(opts, (int)nopts);
  if (!m || !o || !cJSON_AddStringToObject(m, "destination", dest) || !cJSON_AddStringToObject(m, "type", "tmpfs") ||
      !cJSON_AddStringToObject(m, "source", "tmpfs")) {
    cJSON_Delete(m);
    cJSON_Delete(o);
    return -1;
  }
  cJSON_AddItemToObject(m, "options", o);
  return cJSON_InsertItemInArray(mounts, 0, m) ? 0 : -1;
}

static int add_mounts(cJSON *config, struct cell_err *err) {
  cJSON *mounts = member(config, "mounts", true, "mounts", err);
  if (!mounts) return -1;
  const char *run[] = {"rw", "nosuid", "nodev", "mode=755", "size=65536k"};
  const char *lock[] = {"rw", "nosuid", "nodev", "noexec", "size=5120k"};
  const char *tmp[] = {"rw", "nosuid", "nodev", "mode=1777"};
  /* inserted at the front in reverse order: /run, /run/lock, /tmp */
  if (add_tmpfs(mounts, "/tmp", tmp, 4) < 0 || add_tmpfs(mounts, "/run/lock", lock, 5) < 0 ||
      add_tmpfs(mounts, "/run", run, 5) < 0)
    return cell_error(err, ENOMEM, "mounts: adding the tmpfs mounts of systemd mode");
  return 0;
}

static int add_env(cJSON *config, struct cell_err *err) {
  cJSON *p = member(config, "process", false, "process", err);
  cJSON *env = p ? member(p, "env", true, "process.env", err) : NULL;
  if (!env) return -1;
  const cJSON *e;
  cJSON_ArrayForEach(e, env) if (cJSON_IsString(e) && !strncmp(e->valuestring, "container=", 10)) return 0;
  cJSON *v = cJSON_CreateString("container=cell");
  if (!v || !cJSON_AddItemToArray(env, v)) return cell_error(err, ENOMEM, "process.env");
  return 0;
}

/* An engine that mounts something below /sys/fs/cgroup set up systemd's
 * cgroups itself (podman --systemd on cgroup v1 binds the host's
 * /sys/fs/cgroup/systemd, whose paths match /proc/self/cgroup only without
 * a cgroup namespace): then no namespace is added. */
static bool engine_cgroups(const cJSON *config) {
  const cJSON *m, *mounts = cJSON_GetObjectItemCaseSensitive(config, "mounts");
  cJSON_ArrayForEach(m, mounts) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(m, "destination");
    if (cJSON_IsString(d) && !strncmp(d->valuestring, "/sys/fs/cgroup/", 15) && d->valuestring[15]) return true;
  }
  return false;
}

static int add_cgroupns(cJSON *config, struct cell_err *err) {
  if (engine_cgroups(config)) return 0;
  cJSON *lx = member(config, "linux", false, "linux", err);
  cJSON *nss = lx ? member(lx, "namespaces", true, "linux.namespaces", err) : NULL;
  if (!nss) return -1;
  const cJSON *n;
  cJSON_ArrayForEach(n, nss) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(n, "type");
    if (cJSON_IsString(t) && !strcmp(t->valuestring, "cgroup")) return 0;
  }
  cJSON *ns = cJSON_CreateObject();
  if (!ns || !cJSON_AddStringToObject(ns, "type", "cgroup") || !cJSON_AddItemToArray(nss, ns)) {
    cJSON_Delete(ns);
    return cell_error(err, ENOMEM, "linux.namespaces");
  }
  return 0;
}

static int mark(cJSON *config, struct cell_err *err) {
  cJSON *ann = member(config, "annotations", false, "annotations", err);
  if (!ann) return -1;
  if (cJSON_GetObjectItemCaseSensitive(ann, CELL_SYSINIT_ANNOTATION)) return 0;
  if (!cJSON_AddStringToObject(ann, CELL_SYSINIT_ANNOTATION, "systemd")) return cell_error(err, ENOMEM, "annotations");
  return 0;
}

int cell_sysinit_prepare(cJSON *config, const char *rootfs, bool *on, struct cell_err *err) {
  *on = false;
  if (!cJSON_IsObject(config) || !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(config, "process"))) return 0;
  if (wanted(config, rootfs, on, err) < 0) return -1;
  if (!*on) return 0;
  if (add_mounts(config, err) < 0 || add_env(config, err) < 0 || add_cgroupns(config, err) < 0 || mark(config, err) < 0)
    return cell_error_wrap(err, "systemd mode (annotations." CELL_SYSINIT_ANNOTATION ")");
  return 0;
}

int cell_sysinit_stop_signal(const char *annotations_json, int sig) {
  if (sig != SIGTERM || !annotations_json) return sig;
  cJSON *ann = cJSON_Parse(annotations_json);
  const cJSON *v = cJSON_IsObject(ann) ? cJSON_GetObjectItemCaseSensitive(ann, CELL_SYSINIT_ANNOTATION) : NULL;
  bool on = cJSON_IsString(v) && !strcmp(v->valuestring, "systemd");
  cJSON_Delete(ann);
  return on ? SIGRTMIN + 3 : sig;
}
