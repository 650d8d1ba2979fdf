/* teardown.c - freezing, listing, killing and destroying container cgroups. */
#include "cgroups/cgroup_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---------- freezer ---------- */

/* The hierarchy whose pids/freezer we use. */
static const struct cell_cg_hier *main_hier(const struct cell_cgroup *cg) {
  const struct cell_cg_hier *h = NULL;
  if (cg->layout == CELL_CG_UNIFIED) h = cell_cg_hier_for(cg, "");
  if (!h) h = cell_cg_hier_for(cg, "freezer");
  if (!h) h = cell_cg_hier_for(cg, "pids");
  if (!h) h = cell_cg_hier_for(cg, "");
  if (!h && cg->nh) h = &cg->h[0];
  return h;
}

/* freezing is per version: driver_v1.c / driver_v2.c */
int cell_cg_freeze(struct cell_cgroup *cg, bool frozen, struct cell_err *err) {
  return cell_cg_drv(cg)->freeze(cg, frozen, err);
}

int cell_cg_is_frozen(const struct cell_cgroup *cg, bool *frozen, struct cell_err *err) {
  return cell_cg_drv(cg)->is_frozen(cg, frozen, err);
}

/* ---------- pids ---------- */

struct pidvec {
  pid_t *v;
  size_t n, cap;
};

static int collect(const char *dir, struct pidvec *pv, int depth, struct cell_err *err) {
  char p[4200], *s = NULL;
  if (depth > 64) return cell_error(err, ELOOP, "cgroup tree below %s too deep", dir);
  snprintf(p, sizeof p, "%s/cgroup.procs", dir);
  if (cell_cg_read(p, &s, err) < 0) return err->errnum == ENOENT && depth > 0 ? 0 : -1;
  for (char *t = s; *t;) {
    char *end;
    long v = strtol(t, &end, 10);
    if (end == t) break;
    if (pv->n == pv->cap) {
      size_t nc = pv->cap ? pv->cap * 2 : 64;
      pid_t *nv = realloc(pv->v, nc * sizeof *nv);
      if (!nv) {
        free(s);
        return cell_error(err, ENOMEM, "listing pids");
      }
      pv->v = nv;
      pv->cap = nc;
    }
    pv->v[pv->n++] = (pid_t)v;
    t = end;
  }
  free(s);
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT && depth > 0 ? 0 : cell_error(err, errno, "opening %s", dir);
  struct dirent *de;
  int rc = 0;
  while ((de = readdir(d))) {
    if (de->d_type != DT_DIR || de->d_name[0] == '.') continue;
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
    if (collect(sub, pv, depth + 1, err) < 0) {
      rc = -1;
      break;
    }
  }
  closedir(d);
  return rc;
}

int cell_cg_pids(const struct cell_cgroup *cg, pid_t **pids, size_t *n, struct cell_err *err) {
  const struct cell_cg_hier *h = main_hier(cg);
  struct pidvec pv = {0};
  if (!h) return cell_error(err, ENOENT, "listing pids: no cgroup hierarchy");
  if (collect(h->path, &pv, 0, err) < 0) {
    free(pv.v);
    return -1;
  }
  *pids = pv.v;
  *n = pv.n;
  return 0;
}

/* ---------- kill ---------- */

static bool pv_has(const struct pidvec *pv, pid_t pid) {
  for (size_t i = 0; i < pv->n; i++)
    if (pv->v[i] == pid) return true;
  return false;
}

/* SIGKILL to every process in any of the container's hierarchies; one that
 * is missing from our cgroup in some hierarchy is moved back into it there
 * (a process frozen in another freezer cgroup is thawed by joining ours). */
static void kill_strays(struct cell_cgroup *cg) {
  struct pidvec *pv = calloc(cg->nh ? cg->nh : 1, sizeof *pv);
  if (!pv) return;
  struct cell_err e;
  for (size_t i = 0; i < cg->nh; i++) collect(cg->h[i].path, &pv[i], 0, &e);
  for (size_t i = 0; i < cg->nh; i++) {
    for (size_t k = 0; k < pv[i].n; k++) {
      pid_t pid = pv[i].v[k];
      kill(pid, SIGKILL);
      for (size_t j = 0; j < cg->nh; j++) {
        if (pv_has(&pv[j], pid)) continue;
        char p[4200], v[32];
        snprintf(p, sizeof p, "%s/cgroup.procs", cg->h[j].path);
        snprintf(v, sizeof v, "%d", (int)pid);
        cell_cg_write(p, v, &e);
      }
    }
  }
  for (size_t i = 0; i < cg->nh; i++) free(pv[i].v);
  free(pv);
}

int cell_cg_kill_all(struct cell_cgroup *cg, int sig, struct cell_err *err) {
  if (cg->layout == CELL_CG_UNIFIED && sig == SIGKILL) {
    char p[4200];
    snprintf(p, sizeof p, "%s/cgroup.kill", cell_cg_path(cg, ""));
    if (access(p, F_OK) == 0) return cell_cg_write(p, "1", err);
  }
  bool can_freeze = cg->layout == CELL_CG_UNIFIED || cell_cg_path(cg, "freezer");
  bool was_frozen = false, froze = false;
  if (can_freeze) {
    struct cell_err e2;
    if (cell_cg_is_frozen(cg, &was_frozen, &e2) < 0) {
      if (sig != SIGKILL) return cell_error(err, e2.errnum, "%s", e2.msg);
      can_freeze = false;
    }
    /* freeze so nothing forks past us while we signal (a SIGKILL goes on
     * without it: the kill must not depend on the freezer) */
    if (can_freeze && !was_frozen) {
      froze = cell_cg_freeze(cg, true, &e2) == 0;
      if (!froze && sig != SIGKILL) return cell_error(err, e2.errnum, "%s", e2.msg);
    }
  }
  pid_t *pids = NULL;
  size_t n = 0;
  int rc = cell_cg_pids(cg, &pids, &n, err);
  if (rc == 0) {
    for (size_t i = 0; i < n; i++) {
      if (kill(pids[i], sig) < 0 && errno != ESRCH) {
        rc = cell_error(err, errno, "sending signal %d to pid %d", sig, (int)pids[i]);
        break;
      }
    }
  }
  free(pids);
  if (can_freeze && (froze || (was_frozen && sig == SIGKILL))) {
    struct cell_err e2;
    if (cell_cg_freeze(cg, false, rc < 0 ? &e2 : err) < 0 && rc == 0) rc = -1;
  }
  if (sig == SIGKILL) kill_strays(cg);
  return rc;
}

/* ---------- destroy ---------- */

/* wait: an EBUSY rmdir is retried for a while (processes on their way out);
 * without it the first EBUSY fails, for a caller that only tries. */
static int rm_tree(const char *dir, int depth, bool wait, struct cell_err *err) {
  if (depth > 64) return cell_error(err, ELOOP, "removing %s: tree too deep", dir);
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? 0 : cell_error(err, errno, "opening %s", dir);
  struct dirent *de;
  int rc = 0;
  while ((de = readdir(d))) {
    if (de->d_type != DT_DIR || de->d_name[0] == '.') continue;
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
    if (rm_tree(sub, depth + 1, wait, err) < 0) rc = -1;
  }
  closedir(d);
  if (rc < 0) return -1;
  if (wait ? cell_cg_rmdir_retry(dir) < 0 : rmdir(dir) < 0 && errno != ENOENT)
    return cell_error(err, errno, "removing cgroup %s", dir);
  return 0;
}

static bool has_subdirs(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return false;
  struct dirent *de;
  bool any = false;
  while (!any && (de = readdir(d)))
    any = de->d_type == DT_DIR && de->d_name[0] != '.';
  closedir(d);
  return any;
}

/* Remove the empty parents of dir that cell made (recorded by us, or marked
 * by any cell), bottom-up, up to the mount; stop at the first in use. */
static void remove_parents(const struct cell_cg_hier *h, const char *leaf) {
  char dir[4200];
  size_t ml = strlen(h->mount);
  snprintf(dir, sizeof dir, "%s", leaf);
  for (;;) {
    char *slash = strrchr(dir, '/');
    if (!slash || (size_t)(slash - dir) <= ml) return;
    *slash = 0;
    if (!cell_cg_in_created(h, dir) && !cell_cg_is_marked(dir)) {
      if (errno == ENOENT && access(dir, F_OK) < 0) continue; /* removed by another delete */
      return;
    }
    int e = rmdir(dir) == 0 ? 0 : errno;
    /* a child just removed may keep the parent busy for an RCU grace period */
    if (e == EBUSY && !has_subdirs(dir)) e = cell_cg_rmdir_retry(dir) == 0 ? 0 : errno;
    if (e && e != ENOENT) return; /* another container (or process) uses it */
  }
}

static int destroy(struct cell_cgroup *cg, bool wait, struct cell_err *err) {
  int rc = 0;
  for (size_t i = 0; i < cg->nh; i++) {
    struct cell_cg_hier *h = &cg->h[i];
    /* The container's own directory, when cell made it, goes with its
     * subtree (sub-cgroups made inside the container); then the parents cell
     * made, once empty, whichever container made them. */
    if (!cell_cg_in_created(h, h->path) && !cell_cg_is_marked(h->path)) continue;
    if (rm_tree(h->path, 0, wait, err) < 0) {
      rc = -1;
      if (!wait) return -1;
      continue;
    }
    remove_parents(h, h->path);
  }
  return rc;
}

int cell_cg_destroy(struct cell_cgroup *cg, struct cell_err *err) { return destroy(cg, true, err); }

int cell_cg_try_destroy(struct cell_cgroup *cg, struct cell_err *err) { return destroy(cg, false, err); }
