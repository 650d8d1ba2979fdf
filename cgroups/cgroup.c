/* cgroup.c - placement, freezing, killing and destroying container cgroups. */
#include "cgroups/cgroup_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/mountinfo.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define CG_ROOT "/sys/fs/cgroup"

static void msleep(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

/* ---------- file helpers ---------- */

int cell_cg_read(const char *path, char **out, struct cell_err *err) {
  *out = cell_read_file(path, NULL, err);
  return *out ? 0 : -1;
}

int cell_cg_write(const char *path, const char *val, struct cell_err *err) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return cell_error(err, errno, "writing %s to %s", val, path);
  size_t len = strlen(val);
  ssize_t w;
  do w = write(fd, val, len);
  while (w < 0 && errno == EINTR);
  int e = errno;
  close(fd);
  if (w < 0) return cell_error(err, e, "writing %s to %s", val, path);
  if ((size_t)w != len) return cell_error(err, EIO, "short write of %s to %s", val, path);
  return 0;
}

static char *join(const char *a, const char *b) {
  char *r;
  size_t la = strlen(a);
  while (*b == '/') b++;
  if (!*b) return strdup(a);
  if (asprintf(&r, "%s%s%s", a, (la && a[la - 1] == '/') ? "" : "/", b) < 0) return NULL;
  return r;
}

/* ---------- detection ---------- */

const char *cell_cg_layout_name(enum cell_cg_layout l) {
  switch (l) {
  case CELL_CG_UNIFIED: return "unified";
  case CELL_CG_HYBRID: return "hybrid";
  default: return "legacy";
  }
}

int cell_cg_detect(enum cell_cg_layout *out, struct cell_err *err) {
  struct statfs st;
  if (statfs(CG_ROOT, &st) < 0) return cell_error(err, errno, "statfs %s", CG_ROOT);
  if ((unsigned long)st.f_type == CGROUP2_SUPER_MAGIC) {
    *out = CELL_CG_UNIFIED;
    return 0;
  }
  if ((unsigned long)st.f_type != TMPFS_MAGIC)
    return cell_error(err, 0, "%s is neither a cgroup2 mount nor a tmpfs of v1 hierarchies (fs type 0x%lx)",
                      CG_ROOT, (unsigned long)st.f_type);
  struct statfs u;
  if (statfs(CG_ROOT "/unified", &u) == 0 && (unsigned long)u.f_type == CGROUP2_SUPER_MAGIC)
    *out = CELL_CG_HYBRID;
  else
    *out = CELL_CG_LEGACY;
  return 0;
}

/* ---------- structure helpers ---------- */

static void hier_free(struct cell_cg_hier *h) {
  free(h->controllers);
  free(h->mount);
  free(h->path);
  for (size_t i = 0; i < h->ncreated; i++) free(h->created[i]);
  free(h->created);
}

void cell_cg_free(struct cell_cgroup *cg) {
  if (!cg) return;
  for (size_t i = 0; i < cg->nh; i++) hier_free(&cg->h[i]);
  free(cg->h);
  free(cg);
}

bool cell_cg_hier_has(const struct cell_cg_hier *h, const char *controller) {
  if (!*controller) return !*h->controllers;
  if (!*h->controllers) return false;
  char want[128];
  if (strcmp(controller, "systemd") == 0) controller = "name=systemd";
  snprintf(want, sizeof want, "%s", controller);
  const char *p = h->controllers;
  size_t wl = strlen(want);
  while (*p) {
    size_t l = strcspn(p, ",");
    if (l == wl && strncmp(p, want, l) == 0) return true;
    p += l;
    if (*p == ',') p++;
  }
  return false;
}

struct cell_cg_hier *cell_cg_hier_for(const struct cell_cgroup *cg, const char *controller) {
  for (size_t i = 0; i < cg->nh; i++)
    if (cell_cg_hier_has(&cg->h[i], controller)) return &cg->h[i];
  return NULL;
}

const char *cell_cg_path(const struct cell_cgroup *cg, const char *controller) {
  struct cell_cg_hier *h = cell_cg_hier_for(cg, controller ? controller : "");
  return h ? h->path : NULL;
}

enum cell_cg_layout cell_cg_get_layout(const struct cell_cgroup *cg) { return cg->layout; }

/* ---------- path resolution (pure) ---------- */

static int expand_slice(const char *slice, char *out, size_t outlen, struct cell_err *err) {
  /* "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" -> "" */
  size_t l = strlen(slice);
  if (l < 6 || strcmp(slice + l - 6, ".slice") != 0)
    return cell_error(err, 0, "linux.cgroupsPath: invalid systemd slice name \"%s\" (must end in .slice)", slice);
  if (strchr(slice, '/'))
    return cell_error(err, 0, "linux.cgroupsPath: invalid systemd slice name \"%s\" (contains '/')", slice);
  out[0] = 0;
  if (strcmp(slice, "-.slice") == 0) return 0;
  size_t base = l - 6;
  if (slice[0] == '-' || slice[base - 1] == '-' || strstr(slice, "--"))
    return cell_error(err, 0, "linux.cgroupsPath: invalid systemd slice name \"%s\"", slice);
  size_t o = 0;
  for (size_t i = 0; i <= base; i++) {
    if (i == base || slice[i] == '-') {
      int n = snprintf(out + o, outlen - o, "/%.*s.slice", (int)i, slice);
      if (n < 0 || (size_t)n >= outlen - o)
        return cell_error(err, ENAMETOOLONG, "linux.cgroupsPath: slice \"%s\"", slice);
      o += (size_t)n;
    }
  }
  return 0;
}

int cell_cg_systemd_path(const char *spec, char *out, size_t outlen, struct cell_err *err) {
  const char *c1 = strchr(spec, ':');
  const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
  if (!c1 || !c2 || strchr(c2 + 1, ':'))
    return cell_error(err, 0, "linux.cgroupsPath: \"%s\" is not of the systemd form slice:prefix:name", spec);
  char slice[256], prefix[256], name[256];
  snprintf(slice, sizeof slice, "%.*s", (int)(c1 - spec), spec);
  snprintf(prefix, sizeof prefix, "%.*s", (int)(c2 - c1 - 1), c1 + 1);
  snprintf(name, sizeof name, "%s", c2 + 1);
  if (!*name) return cell_error(err, 0, "linux.cgroupsPath: \"%s\": empty unit name", spec);
  if (strchr(name, '/') || strchr(prefix, '/'))
    return cell_error(err, 0, "linux.cgroupsPath: \"%s\": '/' in prefix or name", spec);
  char sp[1024];
  if (expand_slice(*slice ? slice : "system.slice", sp, sizeof sp, err) < 0) return -1;
  size_t nl = strlen(name);
  int n;
  if (nl > 6 && strcmp(name + nl - 6, ".slice") == 0) {
    /* the unit is a slice itself: it goes below the parent slice */
    n = snprintf(out, outlen, "%s/%s", sp, name);
  } else if (*prefix) {
    n = snprintf(out, outlen, "%s/%s-%s.scope", sp, prefix, name);
  } else {
    n = snprintf(out, outlen, "%s/%s.scope", sp, name);
  }
  if (n < 0 || (size_t)n >= outlen) return cell_error(err, ENAMETOOLONG, "linux.cgroupsPath: \"%s\"", spec);
  return 0;
}

struct mnt {
  char root[1024], point[1024], fstype[32], opts[512];
};

/* Find a cgroup mount for the given /proc/self/cgroup controller list
 * ("" = cgroup2).  Prefers mounts below /sys/fs/cgroup. */
static bool find_mount(const char *mountinfo, const char *ctrls, struct mnt *res) {
  bool found = false;
  const char *line = mountinfo;
  while (line && *line) {
    const char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    cleanup_free char *buf = strndup(line, len);
    struct cell_mountinfo mi;
    if (buf && cell_mountinfo_parse(buf, &mi) == 0) {
      struct mnt m;
      snprintf(m.root, sizeof m.root, "%s", mi.root);
      snprintf(m.point, sizeof m.point, "%s", mi.point);
      snprintf(m.fstype, sizeof m.fstype, "%s", mi.fstype);
      snprintf(m.opts, sizeof m.opts, ",%s,", mi.super);
      const char *fs = mi.fstype;
      bool match = false;
      if (!*ctrls) {
        match = strcmp(fs, "cgroup2") == 0;
      } else if (strcmp(fs, "cgroup") == 0) {
        match = true;
        char c[256];
        snprintf(c, sizeof c, "%s", ctrls);
        char *s2, *tok;
        for (tok = strtok_r(c, ",", &s2); tok; tok = strtok_r(NULL, ",", &s2)) {
          char pat[300];
          snprintf(pat, sizeof pat, ",%s,", tok);
          if (!strstr(m.opts, pat)) match = false;
        }
      }
      if (match) {
        bool pref = strncmp(m.point, CG_ROOT, strlen(CG_ROOT)) == 0;
        if (!found || pref) {
          bool had_pref = found && strncmp(res->point, CG_ROOT, strlen(CG_ROOT)) == 0;
          if (!had_pref) *res = m;
          found = true;
        }
      }
    }
    line = nl ? nl + 1 : NULL;
  }
  return found;
}

static int check_relpath(const char *p, struct cell_err *err) {
  const char *s = p;
  while (*s) {
    while (*s == '/') s++;
    size_t l = strcspn(s, "/");
    if (l == 2 && s[0] == '.' && s[1] == '.')
      return cell_error(err, 0, "linux.cgroupsPath: \"%s\" must not contain '..'", p);
    s += l;
  }
  return 0;
}

int cell_cg_resolve(enum cell_cg_layout layout, const char *proc_cgroup, const char *mountinfo,
                    const char *cgroups_path, const char *id, bool systemd_running,
                    struct cell_cgroup **out, struct cell_err *err) {
  char want[4096];
  bool absolute;
  if (!cgroups_path || !*cgroups_path) {
    if (!id || !*id || strchr(id, '/') || strcmp(id, "..") == 0 || strcmp(id, ".") == 0)
      return cell_error(err, 0, "container id \"%s\" cannot name a cgroup", id ? id : "");
    snprintf(want, sizeof want, "%s", id);
    absolute = false;
  } else if (cgroups_path[0] != '/' && strchr(cgroups_path, ':')) {
    if (!systemd_running)
      return cell_error(err, 0, "linux.cgroupsPath \"%s\": systemd cgroup manager not available: systemd is not running",
                        cgroups_path);
    if (cell_cg_systemd_path(cgroups_path, want, sizeof want, err) < 0) return -1;
    absolute = true;
  } else {
    if (strlen(cgroups_path) >= sizeof want)
      return cell_error(err, ENAMETOOLONG, "linux.cgroupsPath");
    snprintf(want, sizeof want, "%s", cgroups_path);
    absolute = want[0] == '/';
  }
  if (check_relpath(want, err) < 0) return -1;
  {
    const char *w = want;
    while (*w == '/') w++;
    if (!*w) return cell_error(err, 0, "linux.cgroupsPath \"%s\" names the root cgroup", want);
  }

  struct cell_cgroup *cg = calloc(1, sizeof *cg);
  if (!cg) return cell_error(err, ENOMEM, "allocating cgroup");
  cg->layout = layout;
  const char *line = proc_cgroup;
  while (line && *line) {
    const char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    char buf[4096];
    if (len >= sizeof buf) goto next;
    memcpy(buf, line, len);
    buf[len] = 0;
    char *c1 = strchr(buf, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || !c2) goto next;
    *c1 = *c2 = 0;
    char *ctrls = c1 + 1, *own = c2 + 1;
    bool v2 = !*ctrls && strcmp(buf, "0") == 0;
    if (v2 && layout == CELL_CG_LEGACY) goto next;
    if (!v2 && layout == CELL_CG_UNIFIED) goto next;
    if (!v2 && !*ctrls) goto next;
    struct mnt m;
    if (!find_mount(mountinfo, ctrls, &m)) goto next; /* hierarchy not mounted */
    if (cell_cg_hier_for(cg, v2 ? "" : ctrls) && !v2) goto next;
    /* our own cgroup relative to the mount's root */
    const char *rel = own;
    size_t rl = strlen(m.root);
    if (strcmp(m.root, "/") != 0) {
      if (strncmp(own, m.root, rl) == 0 && (own[rl] == '/' || own[rl] == 0))
        rel = own + rl;
      else
        rel = "";
    }
    char *base = absolute ? strdup(m.point) : join(m.point, rel);
    char *path = base ? join(base, want) : NULL;
    free(base);
    struct cell_cg_hier *nh = realloc(cg->h, (cg->nh + 1) * sizeof *nh);
    if (!path || !nh) {
      free(path);
      if (nh) cg->h = nh;
      cell_cg_free(cg);
      return cell_error(err, ENOMEM, "resolving cgroup path");
    }
    cg->h = nh;
    struct cell_cg_hier *h = &cg->h[cg->nh++];
    memset(h, 0, sizeof *h);
    h->controllers = strdup(v2 ? "" : ctrls);
    h->mount = strdup(m.point);
    h->path = path;
    if (!h->controllers || !h->mount) {
      cell_cg_free(cg);
      return cell_error(err, ENOMEM, "resolving cgroup path");
    }
  next:
    line = nl ? nl + 1 : NULL;
  }
  if (cg->nh == 0) {
    cell_cg_free(cg);
    return cell_error(err, 0, "no mounted %s cgroup hierarchy matches /proc/self/cgroup",
                      cell_cg_layout_name(layout));
  }
  if (layout != CELL_CG_LEGACY && !cell_cg_hier_for(cg, "")) {
    cell_cg_free(cg);
    return cell_error(err, 0, "%s layout but no cgroup2 hierarchy found in /proc/self/cgroup and mountinfo",
                      cell_cg_layout_name(layout));
  }
  *out = cg;
  return 0;
}

/* ---------- creation ---------- */

static int add_created(struct cell_cg_hier *h, const char *dir) {
  char **n = realloc(h->created, (h->ncreated + 1) * sizeof *n);
  if (!n) return -1;
  h->created = n;
  if (!(n[h->ncreated] = strdup(dir))) return -1;
  h->ncreated++;
  return 0;
}

/* v1 cpuset: a new cgroup starts with empty cpus/mems; copy the parent's. */
static int cpuset_inherit(const char *dir, struct cell_err *err) {
  static const char *files[] = {"cpuset.cpus", "cpuset.mems"};
  for (int i = 0; i < 2; i++) {
    char cur[4200], par[4200];
    snprintf(cur, sizeof cur, "%s/%s", dir, files[i]);
    snprintf(par, sizeof par, "%s/../%s", dir, files[i]);
    char *cv = NULL, *pv = NULL;
    if (cell_cg_read(cur, &cv, err) < 0) return -1;
    bool empty = strspn(cv, " \n") == strlen(cv);
    free(cv);
    if (!empty) continue;
    if (cell_cg_read(par, &pv, err) < 0) return -1;
    int r = cell_cg_write(cur, strspn(pv, " \n") == strlen(pv) ? "\n" : pv, err);
    free(pv);
    if (r < 0) return -1;
  }
  return 0;
}

static bool word_in(const char *list, const char *w) {
  size_t wl = strlen(w);
  const char *p = list;
  while (*p) {
    p += strspn(p, " \n");
    size_t l = strcspn(p, " \n");
    if (l == wl && strncmp(p, w, l) == 0) return true;
    p += l;
  }
  return false;
}

/* v2: enable every available controller in dir's cgroup.subtree_control.
 * Individual failures (e.g. EBUSY from processes in an inner cgroup) are
 * tolerated: a resource write needing that controller reports it later. */
static void v2_enable_controllers(const char *dir) {
  char p[4200], *avail = NULL, *on = NULL;
  struct cell_err e;
  snprintf(p, sizeof p, "%s/cgroup.controllers", dir);
  if (cell_cg_read(p, &avail, &e) < 0) return;
  snprintf(p, sizeof p, "%s/cgroup.subtree_control", dir);
  if (cell_cg_read(p, &on, &e) < 0) {
    free(avail);
    return;
  }
  char *save, *tok;
  for (tok = strtok_r(avail, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
    if (word_in(on, tok)) continue;
    char v[64];
    snprintf(v, sizeof v, "+%s", tok);
    cell_cg_write(p, v, &e);
  }
  free(avail);
  free(on);
}

int cell_cg_rmdir_retry(const char *dir) {
  for (int i = 0; i < 50; i++) {
    if (rmdir(dir) == 0 || errno == ENOENT) return 0;
    if (errno != EBUSY) return -1;
    msleep(i < 10 ? 5 : 20);
  }
  return -1;
}

static void rollback(struct cell_cgroup *cg) {
  for (size_t i = 0; i < cg->nh; i++) {
    struct cell_cg_hier *h = &cg->h[i];
    for (size_t j = h->ncreated; j-- > 0;) cell_cg_rmdir_retry(h->created[j]);
  }
}

/* Directories cell made carry this mark, so that any cell (another
 * container's delete included) may remove them once empty, and never one it
 * did not make.  trusted.* needs CAP_SYS_ADMIN; without it user.* is used.
 * Kernels without xattrs on cgroupfs fall back to the recorded list. */
static const char *mark_name(void) { return geteuid() == 0 ? "trusted.cell.made" : "user.cell.made"; }

static void mark_made(const char *dir) { setxattr(dir, mark_name(), "1", 1, 0); }

bool cell_cg_is_marked(const char *dir) {
  char v[4];
  return getxattr(dir, mark_name(), v, sizeof v) > 0;
}

bool cell_cg_in_created(const struct cell_cg_hier *h, const char *dir) {
  for (size_t i = 0; i < h->ncreated; i++)
    if (strcmp(h->created[i], dir) == 0) return true;
  return false;
}

/* Record (in h->created, top-down) the directories from the mount down to
 * h->path that do not exist yet: the ones we are about to make. */
static int plan_hier(struct cell_cg_hier *h, struct cell_err *err) {
  size_t ml = strlen(h->mount);
  char *p = strdup(h->path);
  if (!p) return cell_error(err, ENOMEM, "planning cgroup %s", h->path);
  int rc = 0;
  for (char *s = p + ml; *s && rc == 0;) {
    while (*s == '/') s++;
    if (!*s) break;
    char *e = s + strcspn(s, "/");
    char save = *e;
    *e = 0;
    struct stat st;
    if (stat(p, &st) < 0 && errno == ENOENT && !cell_cg_in_created(h, p) && add_created(h, p) < 0)
      rc = cell_error(err, ENOMEM, "planning cgroup %s", h->path);
    *e = save;
    s = e;
  }
  free(p);
  return rc;
}

/* One pass from the mount down; *again is set when a parent vanished under
 * us (another container's delete removed an empty parent it may remove). */
static int mkdir_pass(struct cell_cg_hier *h, bool *again, struct cell_err *err) {
  size_t ml = strlen(h->mount);
  char *p = strdup(h->path);
  if (!p) return cell_error(err, ENOMEM, "creating cgroup");
  bool v1cpuset = cell_cg_hier_has(h, "cpuset");
  bool v2 = !*h->controllers;
  char *s = p + ml;
  int rc = 0;
  *again = false;
  while (*s) {
    while (*s == '/') s++;
    if (!*s) break;
    char *e = s + strcspn(s, "/");
    char save = *e;
    *e = 0;
    if (v2) {
      /* enable controllers in the parent before creating the child */
      char *slash = strrchr(p, '/');
      *slash = 0;
      v2_enable_controllers(p);
      *slash = '/';
    }
    if (mkdir(p, 0755) == 0) {
      mark_made(p);
      if (!cell_cg_in_created(h, p) && add_created(h, p) < 0) {
        rc = cell_error(err, ENOMEM, "creating cgroup");
        break;
      }
      if (v1cpuset && cpuset_inherit(p, err) < 0) {
        *again = err->errnum == ENOENT;
        rc = -1;
        break;
      }
    } else if (errno == ENOENT) {
      *again = true;
      rc = cell_error(err, errno, "creating cgroup directory %s", p);
      break;
    } else if (errno != EEXIST) {
      rc = cell_error(err, errno, "creating cgroup directory %s", p);
      break;
    } else {
      struct stat st;
      if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
        *again = errno == ENOENT;
        rc = cell_error(err, ENOTDIR, "creating cgroup directory %s", p);
        break;
      }
      /* A parent another cell just made (or one whose create was killed)
       * may not have its cpus/mems yet: fill them, in cell's own dirs only. */
      if (v1cpuset && cell_cg_is_marked(p) && cpuset_inherit(p, err) < 0) {
        *again = err->errnum == ENOENT;
        rc = -1;
        break;
      }
    }
    *e = save;
    s = e;
  }
  free(p);
  return rc;
}

static int mkdir_hier(struct cell_cg_hier *h, struct cell_err *err) {
  bool again = false;
  for (int i = 0; i < 100; i++) {
    if (mkdir_pass(h, &again, err) == 0) return 0;
    if (!again) return -1;
  }
  return -1;
}

static bool systemd_running(void) {
  struct stat st;
  return lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

int cell_cg_create(const char *cgroups_path, const char *id, struct cell_cgroup **out,
                   struct cell_err *err) {
  if (cell_cg_plan(cgroups_path, id, out, err) < 0) return -1;
  if (cell_cg_make(*out, err) < 0) {
    cell_cg_free(*out);
    *out = NULL;
    return -1;
  }
  return 0;
}

int cell_cg_plan(const char *cgroups_path, const char *id, struct cell_cgroup **out, struct cell_err *err) {
  enum cell_cg_layout layout;
  if (cell_cg_detect(&layout, err) < 0) return -1;
  return cell_cg_plan_as(layout, cgroups_path, id, out, err);
}

int cell_cg_make(struct cell_cgroup *cg, struct cell_err *err) {
  for (size_t i = 0; i < cg->nh; i++) {
    if (mkdir_hier(&cg->h[i], err) < 0) {
      rollback(cg);
      return -1;
    }
  }
  return 0;
}

int cell_cg_create_as(enum cell_cg_layout layout, const char *cgroups_path, const char *id,
                      struct cell_cgroup **out, struct cell_err *err) {
  if (cell_cg_plan_as(layout, cgroups_path, id, out, err) < 0) return -1;
  if (cell_cg_make(*out, err) < 0) {
    cell_cg_free(*out);
    *out = NULL;
    return -1;
  }
  return 0;
}

int cell_cg_plan_as(enum cell_cg_layout layout, const char *cgroups_path, const char *id,
                    struct cell_cgroup **out, struct cell_err *err) {
  char *pc = NULL, *mi = NULL;
  if (cell_cg_read("/proc/self/cgroup", &pc, err) < 0) return -1;
  if (cell_cg_read("/proc/self/mountinfo", &mi, err) < 0) {
    free(pc);
    return -1;
  }
  struct cell_cgroup *cg = NULL;
  int r = cell_cg_resolve(layout, pc, mi, cgroups_path, id, systemd_running(), &cg, err);
  free(pc);
  free(mi);
  if (r < 0) return -1;
  for (size_t i = 0; i < cg->nh; i++) {
    if (plan_hier(&cg->h[i], err) < 0) {
      cell_cg_free(cg);
      return -1;
    }
  }
  *out = cg;
  return 0;
}

/* ---------- serialization ---------- */

char *cell_cg_serialize(const struct cell_cgroup *cg) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return NULL;
  cJSON_AddStringToObject(o, "layout", cell_cg_layout_name(cg->layout));
  cJSON *arr = cJSON_AddArrayToObject(o, "hierarchies");
  for (size_t i = 0; arr && i < cg->nh; i++) {
    const struct cell_cg_hier *h = &cg->h[i];
    cJSON *x = cJSON_CreateObject();
    if (!x) break;
    cJSON_AddItemToArray(arr, x);
    cJSON_AddStringToObject(x, "controllers", h->controllers);
    cJSON_AddStringToObject(x, "mount", h->mount);
    cJSON_AddStringToObject(x, "path", h->path);
    cJSON *c = cJSON_AddArrayToObject(x, "created");
    for (size_t j = 0; c && j < h->ncreated; j++)
      cJSON_AddItemToArray(c, cJSON_CreateString(h->created[j]));
  }
  char *s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return s;
}

static const char *jstr(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

int cell_cg_open(const char *serialized, struct cell_cgroup **out, struct cell_err *err) {
  cJSON *o = cJSON_Parse(serialized ? serialized : "");
  if (!o) return cell_error(err, 0, "cgroup state: not valid JSON");
  int rc = -1;
  struct cell_cgroup *cg = calloc(1, sizeof *cg);
  const char *lay = jstr(o, "layout");
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "hierarchies");
  if (!cg) {
    cell_error(err, ENOMEM, "cgroup state");
    goto out;
  }
  if (!lay || !cJSON_IsArray(arr)) {
    cell_error(err, 0, "cgroup state: missing \"layout\" or \"hierarchies\"");
    goto out;
  }
  if (strcmp(lay, "unified") == 0) cg->layout = CELL_CG_UNIFIED;
  else if (strcmp(lay, "hybrid") == 0) cg->layout = CELL_CG_HYBRID;
  else if (strcmp(lay, "legacy") == 0) cg->layout = CELL_CG_LEGACY;
  else {
    cell_error(err, 0, "cgroup state: unknown layout \"%s\"", lay);
    goto out;
  }
  int n = cJSON_GetArraySize(arr);
  cg->h = calloc(n ? (size_t)n : 1, sizeof *cg->h);
  if (!cg->h) {
    cell_error(err, ENOMEM, "cgroup state");
    goto out;
  }
  const cJSON *x;
  cJSON_ArrayForEach(x, arr) {
    const char *c = jstr(x, "controllers"), *m = jstr(x, "mount"), *p = jstr(x, "path");
    if (!c || !m || !p || p[0] != '/') {
      cell_error(err, 0, "cgroup state: hierarchies[%zu] lacks controllers/mount/path", cg->nh);
      goto out;
    }
    struct cell_cg_hier *h = &cg->h[cg->nh++];
    h->controllers = strdup(c);
    h->mount = strdup(m);
    h->path = strdup(p);
    if (!h->controllers || !h->mount || !h->path) {
      cell_error(err, ENOMEM, "cgroup state");
      goto out;
    }
    const cJSON *cr = cJSON_GetObjectItemCaseSensitive(x, "created"), *d;
    cJSON_ArrayForEach(d, cr) {
      if (!cJSON_IsString(d) || add_created(h, d->valuestring) < 0) {
        cell_error(err, 0, "cgroup state: bad \"created\" entry in hierarchies[%zu]", cg->nh - 1);
        goto out;
      }
    }
  }
  *out = cg;
  cg = NULL;
  rc = 0;
out:
  cell_cg_free(cg);
  cJSON_Delete(o);
  return rc;
}

/* ---------- enter / fd ---------- */

int cell_cg_enter(struct cell_cgroup *cg, pid_t pid, struct cell_err *err) {
  char v[32];
  snprintf(v, sizeof v, "%d", (int)pid);
  for (size_t i = 0; i < cg->nh; i++) {
    char p[4200];
    snprintf(p, sizeof p, "%s/cgroup.procs", cg->h[i].path);
    if (cell_cg_write(p, v, err) < 0) return cell_error_wrap(err, "moving pid %d into the container cgroup", (int)pid);
  }
  return 0;
}

char *cell_cg_init_dir(const char *mount, const char *path, const char *controllers, const char *proc_cgroup) {
  size_t ml = strlen(mount);
  if (strncmp(path, mount, ml) || (path[ml] && path[ml] != '/')) {
    errno = EINVAL;
    return NULL;
  }
  const char *rel = path + ml; /* "" or "/a/b" */
  size_t cl = strlen(controllers);
  for (const char *line = proc_cgroup; line && *line;) {
    const char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    const char *c1 = memchr(line, ':', len);
    const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
    if (c2 && (size_t)(c2 - c1 - 1) == cl && !strncmp(c1 + 1, controllers, cl)) {
      const char *p = c2 + 1;
      size_t pl = len - (size_t)(p - line), rl = strlen(rel);
      /* init's cgroup: the container's own, or a descendant of it */
      if (pl < rl || strncmp(p, rel, rl) || (pl > rl && p[rl] != '/') || memmem(p, pl, "/..", 3)) {
        errno = EPERM;
        return NULL;
      }
      char *r;
      if (asprintf(&r, "%s%.*s", mount, (int)pl, p) < 0) return NULL;
      return r;
    }
    line = nl ? nl + 1 : NULL;
  }
  errno = ENOENT;
  return NULL;
}

int cell_cg_enter_beside(struct cell_cgroup *cg, pid_t pid, pid_t init, struct cell_err *err) {
  char v[32], pc[64];
  snprintf(v, sizeof v, "%d", (int)pid);
  snprintf(pc, sizeof pc, "/proc/%d/cgroup", (int)init);
  for (size_t i = 0; i < cg->nh; i++) {
    const struct cell_cg_hier *h = &cg->h[i];
    char p[4200];
    snprintf(p, sizeof p, "%s/cgroup.procs", h->path);
    if (cell_cg_write(p, v, err) == 0) continue;
    if (err->errnum != EBUSY || init <= 0) return cell_error_wrap(err, "moving pid %d into the container cgroup", (int)pid);
    char *text = cell_read_file(pc, NULL, err);
    if (!text) return cell_error_wrap(err, "the cgroup of container init %d", (int)init);
    char *dir = cell_cg_init_dir(h->mount, h->path, h->controllers, text);
    int e = errno;
    free(text);
    if (!dir) return cell_error(err, e, "container init %d: its cgroup is not within %s", (int)init, h->path);
    snprintf(p, sizeof p, "%s/cgroup.procs", dir);
    free(dir);
    if (cell_cg_write(p, v, err) < 0) return cell_error_wrap(err, "moving pid %d beside container init %d", (int)pid, (int)init);
  }
  return 0;
}

int cell_cg_self_prepare(const struct cell_cgroup *cg, struct cell_cg_self *s, struct cell_err *err) {
  s->v2_dirfd = -1;
  s->ntasks = 0;
  for (size_t i = 0; i < cg->nh; i++) {
    const struct cell_cg_hier *h = &cg->h[i];
    if (!h->controllers[0]) {
      s->v2_dirfd = open(h->path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
      if (s->v2_dirfd < 0) {
        cell_cg_self_close(s);
        return cell_error(err, errno, "open %s", h->path);
      }
      continue;
    }
    if (s->ntasks == CELL_CG_SELF_MAX) {
      cell_cg_self_close(s);
      return cell_error(err, E2BIG, "too many cgroup hierarchies");
    }
    char p[4200];
    snprintf(p, sizeof p, "%s/tasks", h->path);
    int fd = open(p, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      cell_cg_self_close(s);
      return cell_error(err, errno, "open %s", p);
    }
    s->tasks_fd[s->ntasks++] = fd;
  }
  return 0;
}

pid_t cell_cg_clone_into(int v2_dirfd, unsigned long flags) {
  struct clone_args_v2 {
    unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
  } ca;
  memset(&ca, 0, sizeof ca);
  ca.flags = (unsigned long long)flags | 0x200000000ULL /* CLONE_INTO_CGROUP */;
  ca.exit_signal = SIGCHLD;
  ca.cgroup = (unsigned long long)v2_dirfd;
  return (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
}

int cell_cg_self_enter(const struct cell_cg_self *s, struct cell_err *err) {
  for (size_t i = 0; i < s->ntasks; i++)
    if (write(s->tasks_fd[i], "0", 1) != 1) return cell_error(err, errno, "move into the container cgroup (tasks)");
  return 0;
}

void cell_cg_self_close(struct cell_cg_self *s) {
  for (size_t i = 0; i < s->ntasks; i++) close(s->tasks_fd[i]);
  s->ntasks = 0;
  if (s->v2_dirfd >= 0) close(s->v2_dirfd);
  s->v2_dirfd = -1;
}

int cell_cg_v2_dirfd(const struct cell_cgroup *cg) {
  if (cg->layout != CELL_CG_UNIFIED) return -1;
  const char *p = cell_cg_path(cg, "");
  if (!p) return -1;
  return open(p, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
}

