/* test_cgroup_path.c - cgroup path resolution from fixture /proc/self/cgroup
 * and mountinfo contents (v1, v2, hybrid), systemd path expansion and the
 * state round-trip.  Runs from the repository top. */
#include "unit.h"
#include "cgroups/cgroup_internal.h"

#include <stdlib.h>

#define FIX "tests/fixtures/cgroup/"

static char *fixture(const char *name) {
  char *s = NULL;
  struct cell_err e;
  if (cell_cg_read(name, &s, &e) < 0) {
    printf("# cannot read fixture: %s\n", e.msg);
    exit(1);
  }
  return s;
}

int main(void) {
  struct cell_err e = {0};
  struct cell_cgroup *cg = NULL;
  char *pc = fixture(FIX "hybrid/proc_self_cgroup"), *mi = fixture(FIX "hybrid/mountinfo");

  /* hybrid, relative default path = <id> below our own cgroup */
  int r = cell_cg_resolve(CELL_CG_HYBRID, pc, mi, NULL, "ctr1", false, &cg, &e);
  CHECK(r == 0, "hybrid: resolve default path");
  if (r == 0) {
    CHECK(cg->nh == 10, "hybrid: 9 v1 hierarchies + unified");
    CHECK_STR(cell_cg_path(cg, "memory"), "/sys/fs/cgroup/memory/process_api/a89298209e24a80c49b9f027896ced2b/ctr1",
              "hybrid: memory below own cgroup");
    CHECK_STR(cell_cg_path(cg, "cpu"), "/sys/fs/cgroup/cpu/ctr1", "hybrid: cpu");
    CHECK_STR(cell_cg_path(cg, "systemd"), "/sys/fs/cgroup/systemd/ctr1", "hybrid: name=systemd included");
    CHECK_STR(cell_cg_path(cg, ""), "/sys/fs/cgroup/unified/ctr1", "hybrid: unified");
    CHECK(cell_cg_path(cg, "hugetlb") == NULL, "hybrid: unmounted controller absent");
    CHECK(cell_cg_v2_dirfd(cg) == -1, "hybrid: no CLONE_INTO_CGROUP fd");
    cell_cg_free(cg);
  }
  /* absolute path */
  r = cell_cg_resolve(CELL_CG_HYBRID, pc, mi, "/a/b", "x", false, &cg, &e);
  CHECK(r == 0, "hybrid: resolve absolute");
  if (r == 0) {
    CHECK_STR(cell_cg_path(cg, "memory"), "/sys/fs/cgroup/memory/a/b", "absolute: from hierarchy root");
    CHECK_STR(cell_cg_path(cg, ""), "/sys/fs/cgroup/unified/a/b", "absolute: unified");
    cell_cg_free(cg);
  }
  /* relative explicit */
  r = cell_cg_resolve(CELL_CG_HYBRID, pc, mi, "pod/c", "x", false, &cg, &e);
  CHECK(r == 0 && strcmp(cell_cg_path(cg, "memory"),
                         "/sys/fs/cgroup/memory/process_api/a89298209e24a80c49b9f027896ced2b/pod/c") == 0,
        "relative: below own memory cgroup");
  if (r == 0) cell_cg_free(cg);
  /* legacy layout on the hybrid fixture ignores the cgroup2 line */
  r = cell_cg_resolve(CELL_CG_LEGACY, pc, mi, "/q", "x", false, &cg, &e);
  CHECK(r == 0 && cg->nh == 9 && cell_cg_path(cg, "") == NULL, "legacy layout skips cgroup2");
  if (r == 0) cell_cg_free(cg);

  /* errors */
  r = cell_cg_resolve(CELL_CG_HYBRID, pc, mi, "a/../../b", "x", false, &cg, &e);
  CHECK(r == -1 && strstr(e.msg, "linux.cgroupsPath") && strstr(e.msg, ".."), "'..' refused naming the field");
  r = cell_cg_resolve(CELL_CG_HYBRID, pc, mi, "system.slice:cell:abc", "x", false, &cg, &e);
  CHECK(r == -1 && strstr(e.msg, "systemd cgroup manager not available: systemd is not running"),
        "systemd path without systemd");
  r = cell_cg_resolve(CELL_CG_HYBRID, pc, mi, "/", "x", false, &cg, &e);
  CHECK(r == -1 && strstr(e.msg, "root cgroup"), "root cgroup refused");
  r = cell_cg_resolve(CELL_CG_HYBRID, pc, mi, NULL, "a/b", false, &cg, &e);
  CHECK(r == -1 && strstr(e.msg, "container id"), "id with '/' refused as default path");

  /* systemd-style with systemd running */
  r = cell_cg_resolve(CELL_CG_HYBRID, pc, mi, "machine-pod.slice:libpod:abc", "x", true, &cg, &e);
  CHECK(r == 0, "systemd path with systemd");
  if (r == 0) {
    CHECK_STR(cell_cg_path(cg, "pids"), "/sys/fs/cgroup/pids/machine.slice/machine-pod.slice/libpod-abc.scope",
              "systemd: slice expansion");
    cell_cg_free(cg);
  }
  char sp[512];
  CHECK(cell_cg_systemd_path(":cell:x", sp, sizeof sp, &e) == 0 && strcmp(sp, "/system.slice/cell-x.scope") == 0,
        "systemd: default slice");
  CHECK(cell_cg_systemd_path("user.slice::sub.slice", sp, sizeof sp, &e) == 0 &&
            strcmp(sp, "/user.slice/sub.slice") == 0,
        "systemd: slice unit");
  CHECK(cell_cg_systemd_path("bad:x", sp, sizeof sp, &e) == -1, "systemd: two fields refused");
  CHECK(cell_cg_systemd_path("a--b.slice:p:n", sp, sizeof sp, &e) == -1, "systemd: bad slice refused");
  free(pc);
  free(mi);

  /* v1 with co-mounted controllers and a second memory mount */
  pc = fixture(FIX "v1/proc_self_cgroup");
  mi = fixture(FIX "v1/mountinfo");
  r = cell_cg_resolve(CELL_CG_LEGACY, pc, mi, "", "c", false, &cg, &e);
  CHECK(r == 0, "v1: resolve");
  if (r == 0) {
    CHECK(cg->nh == 7, "v1: 7 hierarchies");
    CHECK_STR(cell_cg_path(cg, "cpuacct"), "/sys/fs/cgroup/cpu,cpuacct/user.slice/c", "v1: co-mounted cpu,cpuacct");
    CHECK(cell_cg_path(cg, "cpu") == cell_cg_path(cg, "cpuacct"), "v1: cpu and cpuacct share a hierarchy");
    CHECK_STR(cell_cg_path(cg, "memory"), "/sys/fs/cgroup/memory/user.slice/user-1000.slice/c",
              "v1: prefers /sys/fs/cgroup mount");
    CHECK_STR(cell_cg_path(cg, "net_prio"), "/sys/fs/cgroup/net_cls,net_prio/c", "v1: net_prio");
    CHECK_STR(cell_cg_path(cg, "name=systemd"), "/sys/fs/cgroup/systemd/user.slice/user-1000.slice/session-2.scope/c",
              "v1: name=systemd");
    char *ser = cell_cg_serialize(cg);
    struct cell_cgroup *cg2 = NULL;
    CHECK(ser && cell_cg_open(ser, &cg2, &e) == 0, "serialize/open round trip");
    if (cg2) {
      CHECK(cg2->nh == cg->nh && cell_cg_get_layout(cg2) == CELL_CG_LEGACY, "round trip keeps hierarchies");
      CHECK_STR(cell_cg_path(cg2, "cpu"), cell_cg_path(cg, "cpu"), "round trip keeps paths");
      cell_cg_free(cg2);
    }
    free(ser);
    cell_cg_free(cg);
  }
  CHECK(cell_cg_open("{\"layout\":\"odd\",\"hierarchies\":[]}", &cg, &e) == -1 && strstr(e.msg, "odd"),
        "open rejects unknown layout");
  CHECK(cell_cg_open("nonsense", &cg, &e) == -1, "open rejects bad JSON");
  /* the memory mount at /mnt/memory copy has root /user.slice: used alone */
  {
    const char *only = "40 22 0:29 /user.slice /mnt/memory\\040copy rw - cgroup cgroup rw,memory\n";
    r = cell_cg_resolve(CELL_CG_LEGACY, "5:memory:/user.slice/u\n", only, "k", "x", false, &cg, &e);
    CHECK(r == 0 && strcmp(cell_cg_path(cg, "memory"), "/mnt/memory copy/u/k") == 0,
          "v1: mount root stripped, octal escapes undone");
    if (r == 0) cell_cg_free(cg);
  }
  free(pc);
  free(mi);

  /* v2 */
  pc = fixture(FIX "v2/proc_self_cgroup");
  mi = fixture(FIX "v2/mountinfo");
  r = cell_cg_resolve(CELL_CG_UNIFIED, pc, mi, NULL, "ctr", false, &cg, &e);
  CHECK(r == 0 && cg->nh == 1, "v2: one hierarchy");
  if (r == 0) {
    CHECK_STR(cell_cg_path(cg, ""), "/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope/ctr",
              "v2: relative to own cgroup");
    CHECK(cell_cg_path(cg, "memory") == NULL, "v2: no v1 memory hierarchy");
    cell_cg_free(cg);
  }
  r = cell_cg_resolve(CELL_CG_LEGACY, pc, mi, NULL, "ctr", false, &cg, &e);
  CHECK(r == -1 && strstr(e.msg, "no mounted"), "v2 fixture has no v1 hierarchy");
  free(mi);
  mi = fixture(FIX "v2/mountinfo_nested");
  r = cell_cg_resolve(CELL_CG_UNIFIED, pc, mi, NULL, "ctr", false, &cg, &e);
  CHECK(r == 0 && strcmp(cell_cg_path(cg, ""), "/sys/fs/cgroup/user-1000.slice/session-3.scope/ctr") == 0,
        "v2: mount root /user.slice stripped");
  if (r == 0) cell_cg_free(cg);
  free(pc);
  free(mi);

  /* exec beside a systemd init: init's own cgroup below the container's */
  const char *ipc = "12:memory:/c/x\n1:name=systemd:/c/x/init.scope\n0::/c/x/init.scope\n";
  char *d = cell_cg_init_dir("/sys/fs/cgroup", "/sys/fs/cgroup/c/x", "", ipc);
  CHECK(d && !strcmp(d, "/sys/fs/cgroup/c/x/init.scope"), "init dir: v2 init.scope below the container");
  free(d);
  d = cell_cg_init_dir("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/systemd/c/x", "name=systemd", ipc);
  CHECK(d && !strcmp(d, "/sys/fs/cgroup/systemd/c/x/init.scope"), "init dir: v1 named hierarchy");
  free(d);
  d = cell_cg_init_dir("/sys/fs/cgroup", "/sys/fs/cgroup/c/x", "", "0::/c/x\n");
  CHECK(d && !strcmp(d, "/sys/fs/cgroup/c/x"), "init dir: the container's own cgroup");
  free(d);
  errno = 0;
  CHECK(!cell_cg_init_dir("/sys/fs/cgroup", "/sys/fs/cgroup/c/x", "", "0::/c/xy/init.scope\n") && errno == EPERM,
        "init dir: a sibling with a common prefix is refused");
  errno = 0;
  CHECK(!cell_cg_init_dir("/sys/fs/cgroup", "/sys/fs/cgroup/c/x", "", "0::/other\n") && errno == EPERM,
        "init dir: a cgroup outside the container is refused");
  errno = 0;
  CHECK(!cell_cg_init_dir("/sys/fs/cgroup", "/sys/fs/cgroup/c/x", "", "0::/c/x/../../y\n") && errno == EPERM,
        "init dir: '..' is refused");
  errno = 0;
  CHECK(!cell_cg_init_dir("/sys/fs/cgroup", "/sys/fs/cgroup/c/x", "", "12:memory:/c/x\n") && errno == ENOENT,
        "init dir: a hierarchy not listed");
  UNIT_DONE();
}
