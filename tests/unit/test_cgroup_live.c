/* test_cgroup_live.c - real cgroups on this host (needs root): create below
 * our own cgroup, enter a child, freeze/thaw, list pids, kill_all on a
 * frozen cgroup, destroy; then v1 memory and pids limits.  Leaves nothing
 * behind even when a check fails. */
#include "unit.h"
#include "cgroups/cgroup_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static bool exists(const char *p) {
  struct stat st;
  return p && stat(p, &st) == 0;
}

static bool has_pid(pid_t *v, size_t n, pid_t p) {
  for (size_t i = 0; i < n; i++)
    if (v[i] == p) return true;
  return false;
}

static char *readf(const char *dir, const char *file) {
  char p[4200], *s = NULL;
  struct cell_err e;
  snprintf(p, sizeof p, "%s/%s", dir, file);
  if (cell_cg_read(p, &s, &e) < 0) return NULL;
  s[strcspn(s, "\n")] = 0;
  return s;
}

/* wait for pid to exit, up to ~5 s; returns the status or -1 */
static int reap(pid_t pid) {
  for (int i = 0; i < 500; i++) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) return st;
    if (r < 0) return -1;
    usleep(10000);
  }
  return -1;
}

static pid_t child, grandchild;

static char last_warning[600];
static int n_warnings;
static void record_warning(const char *msg) {
  snprintf(last_warning, sizeof last_warning, "%s", msg);
  n_warnings++;
}

static void cleanup_procs(void) {
  if (child > 0) {
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
  }
  if (grandchild > 0) {
    kill(grandchild, SIGKILL);
    waitpid(grandchild, NULL, 0);
  }
}

int main(void) {
  struct cell_err e = {0};
  enum cell_cg_layout lay;
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  CHECK(cell_cg_detect(&lay, &e) == 0, "detect layout");
  printf("# layout: %s\n", cell_cg_layout_name(lay));

  char name[64];
  snprintf(name, sizeof name, "celltest-%d", (int)getpid());
  struct cell_cgroup *cg = NULL;
  int r = cell_cg_create(name, "unused", &cg, &e);
  CHECK(r == 0, "create cgroup below our own");
  if (r < 0) {
    printf("# %s\n", e.msg);
    UNIT_DONE();
  }
  for (size_t i = 0; i < cg->nh; i++) {
    CHECK(exists(cg->h[i].path), cg->h[i].path);
    CHECK(cg->h[i].ncreated == 1, "exactly the leaf was created");
  }
  const char *fz = cell_cg_path(cg, lay == CELL_CG_UNIFIED ? "" : "freezer");
  CHECK(fz != NULL, "freezer hierarchy present");

  /* a child that, once entered, forks a grandchild */
  int pfd[2], gfd[2];
  if (pipe(pfd) < 0 || pipe(gfd) < 0) return 1;
  child = fork();
  if (child == 0) {
    char c;
    close(pfd[1]);
    if (read(pfd[0], &c, 1) != 1) _exit(2);
    pid_t g = fork();
    if (g == 0) {
      for (;;) pause();
    }
    if (write(gfd[1], &g, sizeof g) != sizeof g) _exit(3);
    for (;;) pause();
  }
  close(pfd[0]);
  r = cell_cg_enter(cg, child, &e);
  CHECK(r == 0, "enter child");
  if (r < 0) printf("# %s\n", e.msg);
  if (write(pfd[1], "x", 1) != 1 || read(gfd[0], &grandchild, sizeof grandchild) != sizeof grandchild)
    grandchild = -1;
  CHECK(grandchild > 0, "grandchild forked inside");

  /* the child's /proc/pid/cgroup names our path */
  {
    char p[64], *s = NULL;
    snprintf(p, sizeof p, "/proc/%d/cgroup", (int)child);
    CHECK(cell_cg_read(p, &s, &e) == 0 && strstr(s, name), "/proc/child/cgroup shows the new cgroup");
    free(s);
  }

  pid_t *pids = NULL;
  size_t n = 0;
  r = cell_cg_pids(cg, &pids, &n, &e);
  CHECK(r == 0 && n == 2 && has_pid(pids, n, child) && has_pid(pids, n, grandchild), "pids lists child + grandchild");
  free(pids);

  /* a sub-cgroup made inside (as a nested runtime would), with the grandchild */
  char sub[4200];
  snprintf(sub, sizeof sub, "%s/sub", fz);
  CHECK(mkdir(sub, 0755) == 0, "make sub-cgroup");
  {
    char p[4300], v[32];
    snprintf(p, sizeof p, "%s/cgroup.procs", sub);
    snprintf(v, sizeof v, "%d", (int)grandchild);
    CHECK(cell_cg_write(p, v, &e) == 0, "move grandchild into sub-cgroup");
  }
  r = cell_cg_pids(cg, &pids, &n, &e);
  CHECK(r == 0 && n == 2 && has_pid(pids, n, grandchild), "pids walks sub-cgroups");
  free(pids);

  bool frozen = true;
  CHECK(cell_cg_is_frozen(cg, &frozen, &e) == 0 && !frozen, "not frozen initially");
  r = cell_cg_freeze(cg, true, &e);
  CHECK(r == 0, "freeze");
  if (r < 0) printf("# %s\n", e.msg);
  CHECK(cell_cg_is_frozen(cg, &frozen, &e) == 0 && frozen, "is_frozen after freeze");
  {
    char *st = readf(fz, lay == CELL_CG_UNIFIED ? "cgroup.freeze" : "freezer.state");
    CHECK_STR(st, lay == CELL_CG_UNIFIED ? "1" : "FROZEN", "kernel shows frozen");
    free(st);
  }
  /* a frozen process does not handle SIGTERM... it stays alive */
  kill(child, SIGTERM);
  usleep(100000);
  CHECK(waitpid(child, NULL, WNOHANG) == 0, "frozen child does not act on SIGTERM");
  r = cell_cg_freeze(cg, false, &e);
  CHECK(r == 0 && cell_cg_is_frozen(cg, &frozen, &e) == 0 && !frozen, "thaw");
  int st = reap(child);
  CHECK(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "thawed child gets the pending SIGTERM");
  child = -1;

  /* kill_all on a frozen cgroup with SIGKILL */
  r = cell_cg_pids(cg, &pids, &n, &e);
  CHECK(r == 0 && n == 1 && pids[0] == grandchild, "only grandchild left");
  free(pids);
  CHECK(cell_cg_freeze(cg, true, &e) == 0, "freeze again");
  r = cell_cg_kill_all(cg, SIGKILL, &e);
  CHECK(r == 0, "kill_all SIGKILL on frozen cgroup");
  if (r < 0) printf("# %s\n", e.msg);
  st = reap(grandchild);
  CHECK(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "grandchild killed");
  grandchild = -1;
  r = cell_cg_pids(cg, &pids, &n, &e);
  CHECK(r == 0 && n == 0, "no pids left");
  free(pids);

  /* destroy via the state round-trip, as `cell delete` does */
  char *ser = cell_cg_serialize(cg);
  struct cell_cgroup *cg2 = NULL;
  CHECK(ser && cell_cg_open(ser, &cg2, &e) == 0, "reopen from state");
  free(ser);
  r = cg2 ? cell_cg_destroy(cg2, &e) : -1;
  CHECK(r == 0, "destroy");
  if (r < 0) printf("# %s\n", e.msg);
  bool gone = true;
  for (size_t i = 0; i < cg->nh; i++)
    if (exists(cg->h[i].path)) gone = false;
  CHECK(gone && !exists(sub), "all directories and sub-cgroups removed");
  cell_cg_free(cg2);
  cleanup_procs();
  if (!gone) cell_cg_destroy(cg, &e);
  cell_cg_free(cg);

  /* a pre-existing parent is kept; only what we created goes */
  {
    char pre[4200], path[128];
    const char *own = NULL;
    struct cell_cgroup *probe = NULL;
    if (cell_cg_create(name, "x", &probe, &e) == 0) { /* find the memory dir */
      own = cell_cg_path(probe, lay == CELL_CG_UNIFIED ? "" : "memory");
      snprintf(pre, sizeof pre, "%s", own);
      cell_cg_destroy(probe, &e);
      cell_cg_free(probe);
    } else {
      pre[0] = 0;
    }
    CHECK(pre[0] && mkdir(pre, 0755) == 0, "pre-create the parent in one hierarchy");
    snprintf(path, sizeof path, "%s/inner", name);
    r = cell_cg_create(path, "x", &cg, &e);
    CHECK(r == 0, "create below a pre-existing parent");
    if (r == 0) {
      struct cell_cg_hier *m = cell_cg_hier_for(cg, lay == CELL_CG_UNIFIED ? "" : "memory");
      CHECK(m && m->ncreated == 1, "only the leaf recorded where the parent existed");
      CHECK(cell_cg_destroy(cg, &e) == 0, "destroy nested");
      CHECK(exists(pre), "pre-existing parent kept");
      bool others_gone = true;
      for (size_t i = 0; i < cg->nh; i++)
        if (exists(cg->h[i].path)) others_gone = false;
      CHECK(others_gone, "leaves removed everywhere");
      if (lay != CELL_CG_UNIFIED) {
        char *cpu = strdup(cell_cg_path(cg, "cpu"));
        char *slash = strrchr(cpu, '/');
        *slash = 0;
        CHECK(!exists(cpu), "parents we created removed");
        free(cpu);
      }
      cell_cg_free(cg);
    }
    if (pre[0]) rmdir(pre);
  }

  /* resources on the real host: apply, read back, update with rollback */
  snprintf(name, sizeof name, "celltest-res-%d", (int)getpid());
  r = cell_cg_create(name, "x", &cg, &e);
  CHECK(r == 0, "create cgroup for resources");
  if (r == 0) {
    bool v2 = lay == CELL_CG_UNIFIED;
    const char *mem = cell_cg_path(cg, v2 ? "" : "memory"), *pd = cell_cg_path(cg, v2 ? "" : "pids");
    cJSON *res = cJSON_Parse("{\"memory\":{\"limit\":67108864,\"swap\":134217728},\"pids\":{\"limit\":42},"
                             "\"cpu\":{\"shares\":512}}");
    r = cell_cg_apply_resources(cg, res, &e);
    CHECK(r == 0, "apply memory + swap + pids + shares");
    if (r < 0) printf("# %s\n", e.msg);
    cJSON_Delete(res);
    /* ignored fields are handed to the warning callback (the runtime's logger), not printed */
    cell_cg_set_warn(record_warning);
    res = cJSON_Parse("{\"memory\":{\"kernel\":1048576}}");
    r = cell_cg_apply_resources(cg, res, &e);
    cJSON_Delete(res);
    CHECK(r == 0 && n_warnings == 1 && strstr(last_warning, "linux.resources.memory.kernel is ignored"),
          "warning reaches the callback once");
    res = cJSON_Parse("{\"pids\":{\"limit\":42}}");
    r = cell_cg_apply_resources(cg, res, &e);
    cJSON_Delete(res);
    CHECK(r == 0 && n_warnings == 1, "no warning, no callback");
    cell_cg_set_warn(NULL);
    char *v = readf(mem, v2 ? "memory.max" : "memory.limit_in_bytes");
    CHECK_STR(v, "67108864", "memory limit reads back");
    free(v);
    v = readf(pd, "pids.max");
    CHECK_STR(v, "42", "pids limit reads back");
    free(v);
    if (!v2) {
      v = readf(mem, "memory.memsw.limit_in_bytes");
      CHECK_STR(v, "134217728", "v1 memsw reads back");
      free(v);
      v = readf(cell_cg_path(cg, "cpu"), "cpu.shares");
      CHECK_STR(v, "512", "v1 cpu.shares reads back");
      free(v);
    }
    /* raising both needs memsw first on v1 (limit <= memsw at every step) */
    res = cJSON_Parse("{\"memory\":{\"limit\":268435456,\"swap\":536870912}}");
    r = cell_cg_update(cg, res, &e);
    CHECK(r == 0, "update raises limit above the old memsw");
    if (r < 0) printf("# %s\n", e.msg);
    cJSON_Delete(res);
    v = readf(mem, v2 ? "memory.max" : "memory.limit_in_bytes");
    CHECK_STR(v, "268435456", "raised limit reads back");
    free(v);

    /* a failing update rolls back what it already wrote */
    res = cJSON_Parse("{\"memory\":{\"limit\":33554432},\"cpu\":{\"cpus\":\"0-1000\"},\"pids\":{\"limit\":7}}");
    r = cell_cg_update(cg, res, &e);
    CHECK(r == -1, "update with impossible cpuset fails");
    printf("# %s\n", e.msg);
    CHECK(strstr(e.msg, "linux.resources.cpu.cpus: writing 0-1000 to ") && strstr(e.msg, "cpuset.cpus: "),
          "error names field, value and file");
    cJSON_Delete(res);
    v = readf(mem, v2 ? "memory.max" : "memory.limit_in_bytes");
    CHECK_STR(v, "268435456", "memory limit restored after failed update");
    free(v);
    v = readf(pd, "pids.max");
    CHECK_STR(v, "42", "pids untouched after failed update");
    free(v);

    /* checkBeforeUpdate: a limit below current usage is refused up front */
    res = cJSON_Parse("{\"memory\":{\"limit\":4194304,\"checkBeforeUpdate\":true}}");
    int hp[2], ha[2];
    if (pipe(hp) < 0 || pipe(ha) < 0) return 1;
    pid_t hog = fork();
    if (hog == 0) { /* once inside, charge 16 MiB to the cgroup */
      char c;
      if (read(hp[0], &c, 1) != 1) _exit(1);
      size_t sz = 16u << 20;
      volatile char *m = malloc(sz);
      if (!m) _exit(1);
      for (size_t off = 0; off < sz; off += 4096) m[off] = 1;
      if (write(ha[1], "k", 1) != 1) _exit(1);
      for (;;) pause();
    }
    char ack = 0;
    CHECK(cell_cg_enter(cg, hog, &e) == 0 && write(hp[1], "g", 1) == 1 && read(ha[0], &ack, 1) == 1,
          "memory hog running inside");
    v = readf(mem, v2 ? "memory.current" : "memory.usage_in_bytes");
    printf("# usage with hog: %s\n", v ? v : "?");
    free(v);
    r = cell_cg_update(cg, res, &e);
    CHECK(r == -1 && strstr(e.msg, "linux.resources.memory.limit: 4194304 is below the current usage"),
          "checkBeforeUpdate refuses a limit below usage");
    printf("# %s\n", e.msg);
    v = readf(mem, v2 ? "memory.max" : "memory.limit_in_bytes");
    CHECK_STR(v, "268435456", "limit unchanged after refused update");
    free(v);
    cJSON_Delete(res);
    kill(hog, SIGKILL);
    waitpid(hog, NULL, 0);
    close(hp[0]); close(hp[1]); close(ha[0]); close(ha[1]);

    cJSON *stats = NULL;
    CHECK(cell_cg_stats(cg, &stats, &e) == 0 && stats, "live stats");
    if (stats) {
      cJSON *u = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(stats, "memory"), "usage"), "limit");
      CHECK(u && cJSON_IsRaw(u) && strcmp(u->valuestring, "268435456") == 0, "stats memory limit");
      cJSON *pl = cJSON_GetObjectItem(cJSON_GetObjectItem(stats, "pids"), "limit");
      CHECK(pl && strcmp(pl->valuestring, "42") == 0, "stats pids limit");
      cJSON_Delete(stats);
    }
    unsigned long long ooms = 99;
    CHECK(cell_cg_oom_kill_count(cg, &ooms, &e) == 0 && ooms == 0, "oom kill count 0");

    /* a missing controller is reported with the field */
    res = cJSON_Parse("{\"network\":{\"classID\":5}}");
    r = cell_cg_apply_resources(cg, res, &e);
    CHECK(r == -1 && strstr(e.msg, "linux.resources.network.classID"), "unmounted net_cls reported with field");
    printf("# %s\n", e.msg);
    cJSON_Delete(res);
    CHECK(cell_cg_destroy(cg, &e) == 0, "destroy resource cgroup");
    bool left = false;
    for (size_t i = 0; i < cg->nh; i++)
      if (exists(cg->h[i].path)) left = true;
    CHECK(!left, "nothing left behind");
    cell_cg_free(cg);
  }
  UNIT_DONE();
}
