#include "runtime/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/strbuf.h"
#include "runtime/sysinit.h"

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#define MOUNT_ATTR__ATIME 0x00000070
#define MOUNT_ATTR_RELATIME 0x00000000
#define MOUNT_ATTR_NOATIME 0x00000010
#define MOUNT_ATTR_STRICTATIME 0x00000020
#define MOUNT_ATTR_NODIRATIME 0x00000080
#endif
#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define J(o, k) cJSON_GetObjectItemCaseSensitive((o), (k))

void cell_strv_free(char **v) {
  if (!v) return;
  for (char **p = v; *p; p++) free(*p);
  free(v);
}

int cell_json_strv(const cJSON *arr, const char *field, char ***out, struct cell_err *err) {
  *out = NULL;
  if (!arr) return 0;
  if (!cJSON_IsArray(arr)) return cell_error(err, 0, "%s: must be an array of strings", field);
  int n = cJSON_GetArraySize(arr);
  char **v = calloc((size_t)n + 1, sizeof *v);
  if (!v) return cell_error(err, ENOMEM, "%s", field);
  int i = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, arr) {
    if (!cJSON_IsString(it)) {
      cell_strv_free(v);
      return cell_error(err, 0, "%s[%d]: must be a string", field, i);
    }
    v[i++] = strdup(it->valuestring);
  }
  *out = v;
  return 0;
}

static int get_str(const cJSON *o, const char *k, const char *field, bool required, char **out,
                   struct cell_err *err) {
  *out = NULL;
  const cJSON *v = o ? J(o, k) : NULL;
  if (!v || cJSON_IsNull(v)) {
    if (required) return cell_error(err, 0, "%s: required field is missing", field);
    return 0;
  }
  if (!cJSON_IsString(v)) return cell_error(err, 0, "%s: must be a string", field);
  *out = strdup(v->valuestring);
  return 0;
}

static int get_uint(const cJSON *o, const char *k, const char *field, unsigned long long max,
                    bool *present, unsigned long long *out, struct cell_err *err) {
  const cJSON *v = o ? J(o, k) : NULL;
  if (present) *present = false;
  if (!v || cJSON_IsNull(v)) return 0;
  if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > (double)max ||
      v->valuedouble != (double)(unsigned long long)v->valuedouble)
    return cell_error(err, 0, "%s: must be an integer between 0 and %llu", field, max);
  *out = (unsigned long long)v->valuedouble;
  if (present) *present = true;
  return 0;
}

static int check_type(const cJSON *v, int (*pred)(const cJSON *), const char *field, const char *what,
                      struct cell_err *err) {
  if (v && !cJSON_IsNull(v) && !pred(v)) return cell_error(err, 0, "%s: must be %s", field, what);
  return 0;
}
static int is_obj(const cJSON *v) { return cJSON_IsObject(v); }
static int is_arr(const cJSON *v) { return cJSON_IsArray(v); }
static int is_bool(const cJSON *v) { return cJSON_IsBool(v); }

struct flagdef {
  const char *name;
  bool clear;
  unsigned long flag;
};

static const struct flagdef mount_flags[] = {
    {"async", true, MS_SYNCHRONOUS}, {"atime", true, MS_NOATIME}, {"bind", false, MS_BIND},
    {"defaults", false, 0}, {"dev", true, MS_NODEV}, {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC}, {"exec", true, MS_NOEXEC}, {"iversion", false, MS_I_VERSION},
    {"lazytime", false, MS_LAZYTIME}, {"loud", true, MS_SILENT}, {"mand", false, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME}, {"nodev", false, MS_NODEV}, {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC}, {"noiversion", true, MS_I_VERSION}, {"nolazytime", true, MS_LAZYTIME},
    {"nomand", true, MS_MANDLOCK}, {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME}, {"nosuid", false, MS_NOSUID},
    {"nosymfollow", false, MS_NOSYMFOLLOW}, {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME}, {"remount", false, MS_REMOUNT}, {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY}, {"silent", false, MS_SILENT}, {"strictatime", false, MS_STRICTATIME},
    {"suid", true, MS_NOSUID}, {"sync", false, MS_SYNCHRONOUS}, {"symfollow", true, MS_NOSYMFOLLOW},
};

static const struct flagdef prop_flags[] = {
    {"private", false, MS_PRIVATE}, {"rprivate", false, MS_PRIVATE | MS_REC},
    {"shared", false, MS_SHARED}, {"rshared", false, MS_SHARED | MS_REC},
    {"slave", false, MS_SLAVE}, {"rslave", false, MS_SLAVE | MS_REC},
    {"unbindable", false, MS_UNBINDABLE}, {"runbindable", false, MS_UNBINDABLE | MS_REC},
};

/* Recursive options applied with mount_setattr(AT_RECURSIVE). */
static const struct {
  const char *name;
  bool clear;
  unsigned long long attr;
} rec_flags[] = {
    {"rro", false, MOUNT_ATTR_RDONLY}, {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID}, {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV}, {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC}, {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME}, {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rrelatime", false, MOUNT_ATTR_RELATIME}, {"rnorelatime", true, MOUNT_ATTR__ATIME},
    {"rnoatime", false, MOUNT_ATTR_NOATIME}, {"ratime", true, MOUNT_ATTR__ATIME},
    {"rstrictatime", false, MOUNT_ATTR_STRICTATIME}, {"rnostrictatime", true, MOUNT_ATTR__ATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW}, {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

static int append_data(char **data, const char *opt) {
  size_t old = *data ? strlen(*data) : 0;
  char *n = realloc(*data, old + strlen(opt) + 2);
  if (!n) return -1;
  if (old) n[old++] = ',';
  strcpy(n + old, opt);
  *data = n;
  return 0;
}

int cell_mount_parse_options(const cJSON *options, const char *field, struct cell_mount *m,
                             struct cell_err *err) {
  if (!options || cJSON_IsNull(options)) return 0;
  if (!cJSON_IsArray(options)) return cell_error(err, 0, "%s.options: must be an array of strings", field);
  int i = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, options) {
    if (!cJSON_IsString(it)) return cell_error(err, 0, "%s.options[%d]: must be a string", field, i);
    const char *o = it->valuestring;
    bool done = false;
    for (size_t k = 0; k < sizeof mount_flags / sizeof *mount_flags && !done; k++) {
      if (strcmp(o, mount_flags[k].name)) continue;
      if (mount_flags[k].clear) m->flags &= ~mount_flags[k].flag;
      else m->flags |= mount_flags[k].flag;
      if (mount_flags[k].flag & MS_BIND) {
        m->bind = true;
        if (mount_flags[k].flag & MS_REC) m->rec = true;
      }
      done = true;
    }
    for (size_t k = 0; k < sizeof prop_flags / sizeof *prop_flags && !done; k++) {
      if (strcmp(o, prop_flags[k].name)) continue;
      m->propagation = prop_flags[k].flag;
      done = true;
    }
    for (size_t k = 0; k < sizeof rec_flags / sizeof *rec_flags && !done; k++) {
      if (strcmp(o, rec_flags[k].name)) continue;
      if (rec_flags[k].clear) m->attr_clr |= rec_flags[k].attr;
      else m->attr_set |= rec_flags[k].attr;
      done = true;
    }
    if (!done && (!strcmp(o, "idmap") || !strcmp(o, "ridmap"))) {
      m->idmap = true;
      if (o[0] == 'r') m->rec = true;
      done = true;
    }
    if (!done && !strcmp(o, "tmpcopyup")) {
      m->copyup = true;
      done = true;
    }
    if (!done) {
      if (!*o) return cell_error(err, 0, "%s.options[%d]: empty option", field, i);
      if (strchr(o, ',')) return cell_error(err, 0, "%s.options[%d]: \"%s\" must not contain ','", field, i, o);
      if (append_data(&m->data, o) < 0) return cell_error(err, ENOMEM, "%s.options", field);
    }
    i++;
  }
  return 0;
}

static int parse_idmaps(const cJSON *arr, const char *field, struct cell_idmap **out, size_t *n,
                        struct cell_err *err) {
  *out = NULL;
  *n = 0;
  if (!arr || cJSON_IsNull(arr)) return 0;
  if (!cJSON_IsArray(arr)) return cell_error(err, 0, "%s: must be an array", field);
  int cnt = cJSON_GetArraySize(arr);
  if (cnt > 340) return cell_error(err, 0, "%s: too many mappings (%d, the kernel allows 340)", field, cnt);
  struct cell_idmap *v = calloc((size_t)cnt + 1, sizeof *v);
  if (!v) return cell_error(err, ENOMEM, "%s", field);
  int i = 0;
  const cJSON *it;
  char f[128];
  cJSON_ArrayForEach(it, arr) {
    unsigned long long c = 0, h = 0, s = 0;
    bool pc, ph, ps;
    snprintf(f, sizeof f, "%s[%d]", field, i);
    if (!cJSON_IsObject(it)) {
      free(v);
      return cell_error(err, 0, "%s: must be an object", f);
    }
    char fc[160], fh[160], fs[160];
    snprintf(fc, sizeof fc, "%s.containerID", f);
    snprintf(fh, sizeof fh, "%s.hostID", f);
    snprintf(fs, sizeof fs, "%s.size", f);
    if (get_uint(it, "containerID", fc, UINT32_MAX, &pc, &c, err) || get_uint(it, "hostID", fh, UINT32_MAX, &ph, &h, err) ||
        get_uint(it, "size", fs, UINT32_MAX, &ps, &s, err)) {
      free(v);
      return -1;
    }
    if (!pc || !ph || !ps || s == 0) {
      free(v);
      return cell_error(err, 0, "%s: containerID, hostID and a non-zero size are required", f);
    }
    v[i].container = c;
    v[i].host = h;
    v[i].size = s;
    i++;
  }
  *out = v;
  *n = (size_t)cnt;
  return 0;
}

static const struct {
  const char *name;
  int flag;
} ns_types[] = {
    {"pid", CLONE_NEWPID}, {"network", CLONE_NEWNET}, {"mount", CLONE_NEWNS},
    {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},     {"user", CLONE_NEWUSER},
    {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
};

bool cell_spec_has_ns(const struct cell_spec *spec, int type) { return cell_spec_ns(spec, type) != NULL; }

const struct cell_ns *cell_spec_ns(const struct cell_spec *spec, int type) {
  for (size_t i = 0; i < spec->nns; i++)
    if (spec->ns[i].type == type) return &spec->ns[i];
  return NULL;
}

static char *abs_path(const char *base, const char *p) {
  char *out;
  if (p[0] == '/') return strdup(p);
  if (asprintf(&out, "%s/%s", base, p) < 0) return NULL;
  return out;
}

static int parse_mounts(struct cell_spec *s, const cJSON *mounts, struct cell_err *err) {
  if (!mounts || cJSON_IsNull(mounts)) return 0;
  if (!cJSON_IsArray(mounts)) return cell_error(err, 0, "mounts: must be an array");
  int n = cJSON_GetArraySize(mounts);
  s->mounts = calloc((size_t)n + 1, sizeof *s->mounts);
  if (!s->mounts) return cell_error(err, ENOMEM, "mounts");
  const cJSON *it;
  int i = 0;
  char f[64], ff[96];
  cJSON_ArrayForEach(it, mounts) {
    struct cell_mount *m = &s->mounts[i];
    m->userns_fd = m->tree_fd = -1;
    s->nmounts = (size_t)i + 1;
    snprintf(f, sizeof f, "mounts[%d]", i);
    if (!cJSON_IsObject(it)) return cell_error(err, 0, "%s: must be an object", f);
    snprintf(ff, sizeof ff, "%s.destination", f);
    if (get_str(it, "destination", ff, true, &m->destination, err)) return -1;
    if (m->destination[0] != '/')
      return cell_error(err, 0, "%s: \"%s\" must be an absolute path", ff, m->destination);
    snprintf(ff, sizeof ff, "%s.source", f);
    if (get_str(it, "source", ff, false, &m->source, err)) return -1;
    snprintf(ff, sizeof ff, "%s.type", f);
    if (get_str(it, "type", ff, false, &m->type, err)) return -1;
    if (cell_mount_parse_options(J(it, "options"), f, m, err)) return -1;
    if (m->type && !strcmp(m->type, "bind")) m->bind = true;
    if (m->bind && !m->source) return cell_error(err, 0, "%s.source: required for a bind mount", f);
    if (m->bind && m->source[0] != '/') {
      char *a = abs_path(s->bundle, m->source);
      free(m->source);
      m->source = a;
    }
    if (!m->bind && !m->type) return cell_error(err, 0, "%s.type: required for a non-bind mount", f);
    snprintf(ff, sizeof ff, "%s.uidMappings", f);
    if (parse_idmaps(J(it, "uidMappings"), ff, &m->uidmap, &m->nuidmap, err)) return -1;
    snprintf(ff, sizeof ff, "%s.gidMappings", f);
    if (parse_idmaps(J(it, "gidMappings"), ff, &m->gidmap, &m->ngidmap, err)) return -1;
    if ((m->nuidmap || m->ngidmap) && !m->bind)
      return cell_error(err, 0, "%s: uidMappings/gidMappings need a bind mount", f);
    if ((m->nuidmap > 0) != (m->ngidmap > 0))
      return cell_error(err, 0, "%s: uidMappings and gidMappings must be given together", f);
    if (m->nuidmap) m->idmap = true;
    if (m->idmap && !m->nuidmap) {
      /* "idmap" without mappings: use the container's user namespace mappings (resolved at mount time). */
    }
    i++;
  }
  return 0;
}

static int parse_devices(struct cell_spec *s, const cJSON *devs, struct cell_err *err) {
  if (!devs || cJSON_IsNull(devs)) return 0;
  if (!cJSON_IsArray(devs)) return cell_error(err, 0, "linux.devices: must be an array");
  int n = cJSON_GetArraySize(devs);
  s->devices = calloc((size_t)n + 1, sizeof *s->devices);
  if (!s->devices) return cell_error(err, ENOMEM, "linux.devices");
  const cJSON *it;
  int i = 0;
  char f[64], ff[96];
  cJSON_ArrayForEach(it, devs) {
    struct cell_device *d = &s->devices[i];
    s->ndevices = (size_t)i + 1;
    snprintf(f, sizeof f, "linux.devices[%d]", i);
    if (!cJSON_IsObject(it)) return cell_error(err, 0, "%s: must be an object", f);
    snprintf(ff, sizeof ff, "%s.path", f);
    if (get_str(it, "path", ff, true, &d->path, err)) return -1;
    if (d->path[0] != '/') return cell_error(err, 0, "%s: \"%s\" must be an absolute path", ff, d->path);
    char *type = NULL;
    snprintf(ff, sizeof ff, "%s.type", f);
    if (get_str(it, "type", ff, true, &type, err)) return -1;
    if (strlen(type) != 1 || !strchr("cbup", type[0])) {
      cell_error(err, 0, "%s: unknown device type \"%s\" (c, b, u or p)", ff, type);
      free(type);
      return -1;
    }
    d->type = type[0];
    free(type);
    unsigned long long v = 0;
    bool p;
    snprintf(ff, sizeof ff, "%s.major", f);
    if (get_uint(it, "major", ff, 0xfffff, &p, &v, err)) return -1;
    d->major = (long long)v;
    if (!p && d->type != 'p') return cell_error(err, 0, "%s: required for device type %c", ff, d->type);
    snprintf(ff, sizeof ff, "%s.minor", f);
    if (get_uint(it, "minor", ff, 0xfffff, &p, &v, err)) return -1;
    d->minor = (long long)v;
    if (!p && d->type != 'p') return cell_error(err, 0, "%s: required for device type %c", ff, d->type);
    snprintf(ff, sizeof ff, "%s.fileMode", f);
    if (get_uint(it, "fileMode", ff, 07777, &d->has_mode, &v, err)) return -1;
    d->mode = (mode_t)v;
    snprintf(ff, sizeof ff, "%s.uid", f);
    v = 0; /* an absent uid or gid is 0, not the previous field's value */
    if (get_uint(it, "uid", ff, UINT32_MAX, &d->has_uid, &v, err)) return -1;
    d->uid = (uid_t)v;
    snprintf(ff, sizeof ff, "%s.gid", f);
    v = 0;
    if (get_uint(it, "gid", ff, UINT32_MAX, &d->has_gid, &v, err)) return -1;
    d->gid = (gid_t)v;
    i++;
  }
  return 0;
}

/* Does the container get a namespace of this type other than the runtime's own?
 * A path that names the runtime's namespace counts as the host's. */
static bool own_ns(const struct cell_spec *s, int type, const char *self) {
  const struct cell_ns *n = cell_spec_ns(s, type);
  if (!n) return false;
  if (!n->path) return true;
  struct stat a, b;
  if (stat(n->path, &a) < 0 || stat(self, &b) < 0) return false; /* fail closed */
  return a.st_dev != b.st_dev || a.st_ino != b.st_ino;
}

/* Only sysctls of a namespace the container owns, as runc validates them:
 * anything else would be written to the host's kernel. */
static int check_sysctl(const struct cell_spec *s, const char *key, struct cell_err *err) {
  static const char *const ipc_keys[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                         "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
  bool ipc = !strncmp(key, "fs.mqueue.", 10);
  for (size_t k = 0; k < sizeof ipc_keys / sizeof *ipc_keys; k++) ipc = ipc || !strcmp(key, ipc_keys[k]);
  if (ipc) {
    if (own_ns(s, CLONE_NEWIPC, "/proc/self/ns/ipc")) return 0;
    return cell_error(err, 0, "linux.sysctl[\"%s\"]: not allowed in the host's ipc namespace (add an ipc namespace)", key);
  }
  if (!strncmp(key, "net.", 4)) {
    if (own_ns(s, CLONE_NEWNET, "/proc/self/ns/net")) return 0;
    return cell_error(err, 0, "linux.sysctl[\"%s\"]: not allowed in the host's network namespace (add a network namespace)", key);
  }
  if (!strcmp(key, "kernel.domainname") || !strcmp(key, "kernel.hostname")) {
    if (!own_ns(s, CLONE_NEWUTS, "/proc/self/ns/uts"))
      return cell_error(err, 0, "linux.sysctl[\"%s\"]: not allowed in the host's uts namespace (add a uts namespace)", key);
    if (!strcmp(key, "kernel.domainname")) return 0;
    return cell_error(err, 0, "linux.sysctl[\"%s\"]: not allowed, it conflicts with the \"hostname\" field", key);
  }
  return cell_error(err, 0, "linux.sysctl[\"%s\"]: not in a namespace the container can own (refused)", key);
}

static int parse_linux(struct cell_spec *s, const cJSON *lx, struct cell_err *err) {
  if (!lx) return 0;
  const cJSON *v;
  /* namespaces */
  v = J(lx, "namespaces");
  if (check_type(v, is_arr, "linux.namespaces", "an array", err)) return -1;
  const cJSON *it;
  int i = 0;
  cJSON_ArrayForEach(it, v) {
    char f[64], ff[96];
    snprintf(f, sizeof f, "linux.namespaces[%d]", i);
    if (!cJSON_IsObject(it)) return cell_error(err, 0, "%s: must be an object", f);
    char *type = NULL, *path = NULL;
    snprintf(ff, sizeof ff, "%s.type", f);
    if (get_str(it, "type", ff, true, &type, err)) return -1;
    int flag = 0;
    for (size_t k = 0; k < sizeof ns_types / sizeof *ns_types; k++)
      if (!strcmp(type, ns_types[k].name)) flag = ns_types[k].flag;
    if (!flag) {
      cell_error(err, 0, "%s: unknown namespace type \"%s\"", ff, type);
      free(type);
      return -1;
    }
    if (cell_spec_has_ns(s, flag)) {
      cell_error(err, 0, "%s: namespace type \"%s\" listed twice", ff, type);
      free(type);
      return -1;
    }
    free(type);
    snprintf(ff, sizeof ff, "%s.path", f);
    if (get_str(it, "path", ff, false, &path, err)) return -1;
    if (path && !*path) {
      free(path);
      path = NULL;
    }
    if (path) {
      struct stat sb;
      if (stat(path, &sb) < 0) {
        cell_error(err, errno, "%s: namespace path %s", ff, path);
        free(path);
        return -1;
      }
    }
    s->ns[s->nns].type = flag;
    s->ns[s->nns].path = path;
    s->nns++;
    i++;
  }
  if (parse_idmaps(J(lx, "uidMappings"), "linux.uidMappings", &s->uidmap, &s->nuidmap, err)) return -1;
  if (parse_idmaps(J(lx, "gidMappings"), "linux.gidMappings", &s->gidmap, &s->ngidmap, err)) return -1;
  const struct cell_ns *user = cell_spec_ns(s, CLONE_NEWUSER);
  if ((s->nuidmap || s->ngidmap) && !(user && !user->path))
    return cell_error(err, 0, "linux.uidMappings: mappings need a new user namespace in linux.namespaces");
  if (user && !user->path && (!s->nuidmap || !s->ngidmap))
    return cell_error(err, 0, "linux.uidMappings: a new user namespace needs uidMappings and gidMappings");
  /* time offsets */
  v = J(lx, "timeOffsets");
  if (check_type(v, is_obj, "linux.timeOffsets", "an object", err)) return -1;
  if (v) {
    const struct cell_ns *t = cell_spec_ns(s, CLONE_NEWTIME);
    if (!t || t->path)
      return cell_error(err, 0, "linux.timeOffsets: needs a new time namespace in linux.namespaces");
    const char *clocks[] = {"boottime", "monotonic"};
    long long *dst[] = {s->time_boottime, s->time_monotonic};
    for (int c = 0; c < 2; c++) {
      const cJSON *o = J(v, clocks[c]);
      if (!o) continue;
      if (!cJSON_IsObject(o)) return cell_error(err, 0, "linux.timeOffsets.%s: must be an object", clocks[c]);
      const cJSON *secs = J(o, "secs"), *ns = J(o, "nanosecs");
      /* range first: converting a double outside long long's range is undefined */
      if ((secs && (!cJSON_IsNumber(secs) || !(secs->valuedouble >= -9223372036854775808.0 &&
                                               secs->valuedouble < 9223372036854775808.0) ||
                    secs->valuedouble != (double)(long long)secs->valuedouble)) ||
          (ns && (!cJSON_IsNumber(ns) || !(ns->valuedouble >= 0 && ns->valuedouble < 1e9) ||
                  ns->valuedouble != (double)(long long)ns->valuedouble)))
        return cell_error(err, 0, "linux.timeOffsets.%s: secs must be an integer and nanosecs in [0, 1e9)", clocks[c]);
      dst[c][0] = secs ? (long long)secs->valuedouble : 0;
      dst[c][1] = ns ? (long long)ns->valuedouble : 0;
      s->has_time_offsets = true;
    }
  }
  if (cell_json_strv(J(lx, "maskedPaths"), "linux.maskedPaths", &s->masked_paths, err)) return -1;
  if (cell_json_strv(J(lx, "readonlyPaths"), "linux.readonlyPaths", &s->readonly_paths, err)) return -1;
  for (char **p = s->masked_paths; p && *p; p++)
    if ((*p)[0] != '/') return cell_error(err, 0, "linux.maskedPaths[%d]: \"%s\" must be absolute", (int)(p - s->masked_paths), *p);
  for (char **p = s->readonly_paths; p && *p; p++)
    if ((*p)[0] != '/') return cell_error(err, 0, "linux.readonlyPaths[%d]: \"%s\" must be absolute", (int)(p - s->readonly_paths), *p);
  if (parse_devices(s, J(lx, "devices"), err)) return -1;
  v = J(lx, "sysctl");
  if (check_type(v, is_obj, "linux.sysctl", "an object", err)) return -1;
  if (v) {
    int n = cJSON_GetArraySize(v);
    s->sysctl = calloc((size_t)n + 1, sizeof *s->sysctl);
    cJSON_ArrayForEach(it, v) {
      if (!cJSON_IsString(it)) return cell_error(err, 0, "linux.sysctl[\"%s\"]: value must be a string", it->string);
      if (strstr(it->string, "..") || strchr(it->string, '/') || it->string[0] == '.')
        return cell_error(err, 0, "linux.sysctl: invalid key \"%s\"", it->string);
      if (check_sysctl(s, it->string, err) < 0) return -1;
      s->sysctl[s->nsysctl].key = strdup(it->string);
      s->sysctl[s->nsysctl].value = strdup(it->valuestring);
      s->nsysctl++;
    }
  }
  char *prop = NULL;
  if (get_str(lx, "rootfsPropagation", "linux.rootfsPropagation", false, &prop, err)) return -1;
  if (prop) {
    unsigned long f = 0;
    for (size_t k = 0; k < sizeof prop_flags / sizeof *prop_flags; k++)
      if (!strcmp(prop, prop_flags[k].name)) f = prop_flags[k].flag;
    if (!f) {
      cell_error(err, 0, "linux.rootfsPropagation: unknown propagation \"%s\"", prop);
      free(prop);
      return -1;
    }
    free(prop);
    s->rootfs_propagation = f;
  }
  if (get_str(lx, "cgroupsPath", "linux.cgroupsPath", false, &s->cgroups_path, err)) return -1;
  if (get_str(lx, "mountLabel", "linux.mountLabel", false, &s->mount_label, err)) return -1;
  v = J(lx, "resources");
  if (check_type(v, is_obj, "linux.resources", "an object", err)) return -1;
  s->resources = v;
  v = J(lx, "seccomp");
  if (check_type(v, is_obj, "linux.seccomp", "an object", err)) return -1;
  s->seccomp = v;
  v = J(lx, "personality");
  if (check_type(v, is_obj, "linux.personality", "an object", err)) return -1;
  v = J(lx, "intelRdt");
  if (v && !cJSON_IsNull(v))
    return cell_error(err, 0, "linux.intelRdt: Intel RDT is not supported by this host (no resctrl)");
  return 0;
}

int cell_spec_from_json(cJSON *json, const char *bundle, struct cell_spec *s, struct cell_err *err) {
  memset(s, 0, sizeof *s);
  s->json = json;
  char real[PATH_MAX];
  if (!realpath(bundle, real)) return cell_error(err, errno, "bundle %s", bundle);
  s->bundle = strdup(real);
  if (!cJSON_IsObject(json)) return cell_error(err, 0, "config.json: must be a JSON object");
  const cJSON *v = J(json, "ociVersion");
  if (!cJSON_IsString(v)) return cell_error(err, 0, "ociVersion: required string is missing");
  if (strncmp(v->valuestring, "1.", 2))
    return cell_error(err, 0, "ociVersion: unsupported version \"%s\" (1.x expected)", v->valuestring);
  /* root */
  const cJSON *root = J(json, "root");
  if (!cJSON_IsObject(root)) return cell_error(err, 0, "root: required object is missing");
  char *rp = NULL;
  if (get_str(root, "path", "root.path", true, &rp, err)) return -1;
  char *abs = abs_path(s->bundle, rp);
  free(rp);
  if (!realpath(abs, real)) {
    cell_error(err, errno, "root.path: %s", abs);
    free(abs);
    return -1;
  }
  free(abs);
  struct stat sb;
  if (stat(real, &sb) < 0 || !S_ISDIR(sb.st_mode)) return cell_error(err, ENOTDIR, "root.path: %s", real);
  if (!strcmp(real, "/")) return cell_error(err, 0, "root.path: resolves to the host's root directory /");
  s->rootfs = strdup(real);
  if (cell_sysinit_prepare(json, s->rootfs, &s->sysinit, err) < 0) return -1;
  v = J(root, "readonly");
  if (check_type(v, is_bool, "root.readonly", "a boolean", err)) return -1;
  s->root_readonly = cJSON_IsTrue(v);
  if (get_str(json, "hostname", "hostname", false, &s->hostname, err)) return -1;
  if (get_str(json, "domainname", "domainname", false, &s->domainname, err)) return -1;
  /* process */
  const cJSON *p = J(json, "process");
  if (check_type(p, is_obj, "process", "an object", err)) return -1;
  s->process = p;
  if (p) {
    v = J(p, "args");
    if (!v || cJSON_IsNull(v)) return cell_error(err, 0, "process.args: required field is missing");
    if (cell_json_strv(v, "process.args", &s->args, err)) return -1;
    if (!s->args[0]) return cell_error(err, 0, "process.args: must not be empty");
    if (cell_json_strv(J(p, "env"), "process.env", &s->env, err)) return -1;
    if (get_str(p, "cwd", "process.cwd", false, &s->cwd, err)) return -1;
    if (!s->cwd) s->cwd = strdup("/");
    if (s->cwd[0] != '/') return cell_error(err, 0, "process.cwd: \"%s\" must be an absolute path", s->cwd);
    v = J(p, "terminal");
    if (check_type(v, is_bool, "process.terminal", "a boolean", err)) return -1;
    s->terminal = cJSON_IsTrue(v);
    v = J(p, "consoleSize");
    if (check_type(v, is_obj, "process.consoleSize", "an object", err)) return -1;
    if (v) {
      unsigned long long h = 0, w = 0;
      if (get_uint(v, "height", "process.consoleSize.height", 65535, NULL, &h, err) ||
          get_uint(v, "width", "process.consoleSize.width", 65535, NULL, &w, err))
        return -1;
      s->console_height = (unsigned)h;
      s->console_width = (unsigned)w;
    }
    v = J(p, "user");
    if (check_type(v, is_obj, "process.user", "an object", err)) return -1;
  }
  if (parse_mounts(s, J(json, "mounts"), err)) return -1;
  v = J(json, "hooks");
  if (check_type(v, is_obj, "hooks", "an object", err)) return -1;
  s->hooks = v;
  v = J(json, "annotations");
  if (check_type(v, is_obj, "annotations", "an object", err)) return -1;
  s->annotations = v;
  const cJSON *lx = J(json, "linux");
  if (check_type(lx, is_obj, "linux", "an object", err)) return -1;
  s->linux_obj = lx;
  if (parse_linux(s, lx, err)) return -1;
  if (s->hostname && !cell_spec_has_ns(s, CLONE_NEWUTS))
    return cell_error(err, 0, "hostname: setting the hostname needs a new uts namespace");
  /* without one, setdomainname would change the host's */
  if (s->domainname && !cell_spec_has_ns(s, CLONE_NEWUTS))
    return cell_error(err, 0, "domainname: setting the domainname needs a new uts namespace");
  return 0;
}

/* Count the "\u0000" escapes inside JSON strings of text (they decode to a
 * NUL byte, which cJSON's C strings silently cut at); *first gets the offset
 * of the first.  With fix (a copy of text), each is made "\u0001" there. */
static size_t nul_escapes(const char *text, size_t *first, char *fix) {
  size_t n = 0;
  bool in_str = false;
  for (size_t i = 0; text[i]; i++) {
    if (!in_str) {
      in_str = text[i] == '"';
    } else if (text[i] == '"') {
      in_str = false;
    } else if (text[i] == '\\') {
      if (text[i + 1] == 'u' && !strncmp(text + i + 2, "0000", 4)) {
        if (!n++) *first = i;
        if (fix) fix[i + 5] = '1';
        i += 5;
      } else if (text[i + 1]) {
        i++;
      }
    }
  }
  return n;
}

/* The first string (value or key) where a and b differ, as a field path. */
static bool first_diff(const cJSON *a, const cJSON *b, struct strbuf *path) {
  size_t mark = path->len;
  if (a->string && b->string && strcmp(a->string, b->string)) return true;
  if (cJSON_IsString(a) && cJSON_IsString(b) && strcmp(a->valuestring, b->valuestring)) return true;
  const cJSON *ca = a->child, *cb = b->child;
  for (int i = 0; ca && cb; ca = ca->next, cb = cb->next, i++) {
    if (cJSON_IsArray(a)) strbuf_printf(path, "[%d]", i);
    else strbuf_printf(path, "%s%s", path->len ? "." : "", ca->string ? ca->string : "?");
    if (first_diff(ca, cb, path)) return true;
    path->len = mark;
    if (path->buf) path->buf[mark] = 0;
  }
  return false;
}

cJSON *cell_json_parse_doc(const char *text, const char *what, const char *prefix, struct cell_err *err) {
  const char *end = NULL;
  cJSON *json = cJSON_ParseWithOpts(text, &end, 0);
  if (!json) {
    const char *at = cJSON_GetErrorPtr();
    cell_error(err, 0, "%s: invalid JSON near byte %ld", what, at ? (long)(at - text) : -1L);
    return NULL;
  }
  while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r') end++;
  if (*end) {
    cJSON_Delete(json);
    cell_error(err, 0, "%s: unexpected data after the JSON document at byte %ld", what, (long)(end - text));
    return NULL;
  }
  size_t first = 0;
  if (!nul_escapes(text, &first, NULL)) return json;
  /* Parse again with every \u0000 made \u0001: the strings that differ held a NUL. */
  char *copy = strdup(text);
  cJSON *alt = NULL;
  if (copy) {
    nul_escapes(text, &first, copy);
    alt = cJSON_Parse(copy);
    free(copy);
  }
  cleanup_strbuf struct strbuf path = STRBUF_INIT(4096);
  strbuf_puts(&path, prefix ? prefix : "");
  if (alt && !first_diff(json, alt, &path)) {
    cJSON_Delete(alt); /* only in strings the parser does not keep */
    return json;
  }
  cJSON_Delete(alt);
  cJSON_Delete(json);
  cell_error(err, 0, "%s: a string contains a NUL byte (\"\\u0000\" at byte %zu of %s)",
             path.len ? strbuf_str(&path) : what, first, what);
  return NULL;
}

int cell_spec_load(const char *bundle, struct cell_spec *spec, struct cell_err *err) {
  char path[PATH_MAX];
  memset(spec, 0, sizeof *spec);
  snprintf(path, sizeof path, "%s/config.json", bundle);
  size_t len = 0;
  char *text = cell_read_file(path, &len, err);
  if (!text) return -1;
  if (strlen(text) != len) {
    cell_error(err, 0, "config.json: a NUL byte at byte %zu", strlen(text));
    free(text);
    return -1;
  }
  cJSON *json = cell_json_parse_doc(text, "config.json", NULL, err);
  free(text);
  if (!json) return -1;
  return cell_spec_from_json(json, bundle, spec, err);
}

static void free_mount(struct cell_mount *m) {
  if (m->userns_fd >= 0) close(m->userns_fd);
  if (m->tree_fd >= 0) close(m->tree_fd);
  free(m->destination);
  free(m->source);
  free(m->type);
  free(m->data);
  free(m->uidmap);
  free(m->gidmap);
}

void cell_spec_free(struct cell_spec *s) {
  cJSON_Delete(s->json);
  free(s->bundle);
  free(s->rootfs);
  free(s->hostname);
  free(s->domainname);
  cell_strv_free(s->args);
  cell_strv_free(s->env);
  free(s->cwd);
  for (size_t i = 0; i < s->nmounts; i++) free_mount(&s->mounts[i]);
  free(s->mounts);
  for (size_t i = 0; i < s->nns; i++) free(s->ns[i].path);
  free(s->uidmap);
  free(s->gidmap);
  cell_strv_free(s->masked_paths);
  cell_strv_free(s->readonly_paths);
  for (size_t i = 0; i < s->ndevices; i++) free(s->devices[i].path);
  free(s->devices);
  for (size_t i = 0; i < s->nsysctl; i++) {
    free(s->sysctl[i].key);
    free(s->sysctl[i].value);
  }
  free(s->sysctl);
  free(s->cgroups_path);
  free(s->mount_label);
  memset(s, 0, sizeof *s);
}
