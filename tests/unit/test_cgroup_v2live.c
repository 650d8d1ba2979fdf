/* test_cgroup_v2live.c - the cgroup v2 code paths on real cgroupfs.  On a
 * hybrid host the controller-less /sys/fs/cgroup/unified is used as if it
 * were a pure v2 system: cgroup.freeze/cgroup.events, cgroup.kill, the
 * CLONE_INTO_CGROUP fd, unified keys, v2 device BPF via apply_resources and
 * the clear error for a controller that is not enabled. */
#include "unit.h"
#include "cgroups/cgroup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *readf(const char *dir, const char *file) {
  char p[4200], *s = NULL;
  struct cell_err e;
  snprintf(p, sizeof p, "%s/%s", dir, file);
  if (cell_cg_read(p, &s, &e) < 0) return NULL;
  s[strcspn(s, "\n")] = 0;
  return s;
}

int main(void) {
  struct cell_err e = {0};
  enum cell_cg_layout lay;
  CHECK(cell_cg_detect(&lay, &e) == 0, "detect");
  char name[64];
  snprintf(name, sizeof name, "celltest-v2-%d", (int)getpid());
  struct cell_cgroup *cg = NULL;
  int r = cell_cg_create_as(CELL_CG_UNIFIED, name, "x", &cg, &e);
  CHECK(r == 0, "create in the cgroup2 hierarchy as unified");
  if (r < 0) {
    printf("# %s\n", e.msg);
    UNIT_DONE();
  }
  CHECK(cg->nh == 1, "one hierarchy");
  const char *dir = cell_cg_path(cg, "");
  printf("# %s\n", dir);
  int dfd = cell_cg_v2_dirfd(cg);
  struct stat st;
  CHECK(dfd >= 0 && fstat(dfd, &st) == 0 && S_ISDIR(st.st_mode), "v2 dir fd for CLONE_INTO_CGROUP");
  if (dfd >= 0) close(dfd);

  /* a child that ticks into a pipe every 10 ms */
  int tp[2];
  if (pipe2(tp, O_NONBLOCK) < 0) return 1;
  pid_t kid = fork();
  if (kid == 0) {
    for (;;) {
      if (write(tp[1], "t", 1) < 0 && errno != EAGAIN) _exit(1);
      usleep(10000);
    }
  }
  CHECK(cell_cg_enter(cg, kid, &e) == 0, "enter");
  pid_t *pids = NULL;
  size_t n = 0;
  CHECK(cell_cg_pids(cg, &pids, &n, &e) == 0 && n == 1 && pids[0] == kid, "pids from cgroup.procs");
  free(pids);
  bool fz = true;
  CHECK(cell_cg_freeze(cg, true, &e) == 0, "freeze via cgroup.freeze");
  {
    char *all = NULL, p[4200];
    snprintf(p, sizeof p, "%s/cgroup.events", dir);
    CHECK(cell_cg_read(p, &all, &e) == 0 && strstr(all, "frozen 1"), "kernel reports frozen 1");
    free(all);
  }
  CHECK(cell_cg_is_frozen(cg, &fz, &e) == 0 && fz, "is_frozen");
  char buf[4096];
  while (read(tp[0], buf, sizeof buf) > 0) {
  }
  usleep(150000);
  CHECK(read(tp[0], buf, sizeof buf) < 0 && errno == EAGAIN, "frozen child makes no progress");
  CHECK(cell_cg_freeze(cg, false, &e) == 0 && cell_cg_is_frozen(cg, &fz, &e) == 0 && !fz, "thaw");
  usleep(150000);
  CHECK(read(tp[0], buf, sizeof buf) > 0, "thawed child runs again");
  kill(kid, SIGKILL);
  int ws;
  waitpid(kid, &ws, 0);
  close(tp[0]);
  close(tp[1]);

  kid = fork();
  if (kid == 0) {
    for (;;) pause();
  }
  CHECK(cell_cg_enter(cg, kid, &e) == 0, "enter 2nd child");
  CHECK(cell_cg_freeze(cg, true, &e) == 0, "freeze again");
  CHECK(cell_cg_kill_all(cg, SIGKILL, &e) == 0, "kill_all (cgroup.kill) on frozen cgroup");
  CHECK(waitpid(kid, &ws, 0) == kid && WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL, "killed");
  CHECK(cell_cg_freeze(cg, false, &e) == 0, "thaw empty cgroup");

  /* resources on v2 */
  cJSON *res = cJSON_Parse("{\"unified\":{\"cgroup.max.depth\":\"2\"}}");
  r = cell_cg_apply_resources(cg, res, &e);
  CHECK(r == 0, "unified cgroup.max.depth applied");
  if (r < 0) printf("# %s\n", e.msg);
  cJSON_Delete(res);
  char *v = readf(dir, "cgroup.max.depth");
  CHECK_STR(v, "2", "cgroup.max.depth reads back");
  free(v);
  char *ctl = readf(dir, "cgroup.controllers");
  if (ctl && !strstr(ctl, "pids")) {
    res = cJSON_Parse("{\"pids\":{\"limit\":5}}");
    r = cell_cg_apply_resources(cg, res, &e);
    CHECK(r == -1 && strstr(e.msg, "linux.resources.pids.limit") && strstr(e.msg, "pids controller enabled"),
          "pids without the controller: clear error");
    printf("# %s\n", e.msg);
    cJSON_Delete(res);
    res = cJSON_Parse("{\"unified\":{\"pids.max\":\"5\"}}");
    r = cell_cg_apply_resources(cg, res, &e);
    CHECK(r == -1 && strstr(e.msg, "controller \"pids\" is not enabled"), "unified key for a disabled controller refused");
    cJSON_Delete(res);
  }
  free(ctl);
  res = cJSON_Parse("{\"devices\":[{\"allow\":false},{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3}]}");
  r = cell_cg_apply_resources(cg, res, &e);
  CHECK(r == 0, "v2 devices attach through apply_resources");
  if (r < 0) printf("# %s\n", e.msg);
  cJSON_Delete(res);
  kid = fork();
  if (kid == 0) {
    usleep(50000);
    int a = open("/dev/null", O_RDWR), b = open("/dev/zero", O_RDONLY);
    _exit((a >= 0 ? 1 : 0) | (b < 0 && errno == EPERM ? 2 : 0));
  }
  cell_cg_enter(cg, kid, &e);
  CHECK(waitpid(kid, &ws, 0) == kid && WIFEXITED(ws) && WEXITSTATUS(ws) == 3, "device rules enforced (null ok, zero EPERM)");

  CHECK(cell_cg_destroy(cg, &e) == 0, "destroy");
  CHECK(stat(dir, &st) < 0 && errno == ENOENT, "directory gone");
  cell_cg_free(cg);
  UNIT_DONE();
}
