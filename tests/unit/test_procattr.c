/* test_procattr.c - process attributes: validation, apply, PATH lookup. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/procattr.h"
#include "unit.h"
#include "unit_child.h"


/* prepare a {"process":..., "linux":...} document; returns 0/-1 */
static struct cell_err perr;
static int prep(const char *doc, struct cell_procattr *pa) {
  cJSON *j = J(doc);
  int r = cell_procattr_prepare(cJSON_GetObjectItem(j, "process"), cJSON_GetObjectItem(j, "linux"),
                                pa, &perr);
  cJSON_Delete(j);
  return r;
}

/* expect prepare to fail with exactly `want` */
static void prep_fails(const char *doc, const char *want, const char *name) {
  struct cell_procattr pa;
  memset(&perr, 0, sizeof perr);
  int r = prep(doc, &pa);
  CHECK(r < 0, name);
  CHECK_STR(perr.msg, want, name);
  if (r == 0) cell_procattr_free(&pa);
}

static struct cell_procattr apa;

/* does this process hold CAP_SYS_RESOURCE (24) in its effective set? */
static int have_sys_resource(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  unsigned long long eff = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "CapEff: %llx", &eff) == 1) break;
  if (f) fclose(f);
  return (eff >> 24) & 1;
}

static int child_early(void *arg) {
  (void)arg;
  struct cell_err err = {0};
  if (cell_procattr_apply_early(&apa, &err) < 0) {
    printf("ERR %s\n", err.msg);
    return 1;
  }
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  printf("nofile %llu %llu\n", (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
  getrlimit(RLIMIT_CORE, &rl);
  printf("core_inf %d\n", rl.rlim_cur == RLIM_INFINITY && rl.rlim_max == RLIM_INFINITY);
  FILE *f = fopen("/proc/self/oom_score_adj", "r");
  int oom = -9999;
  if (f) {
    if (fscanf(f, "%d", &oom) != 1) oom = -9999;
    fclose(f);
  }
  printf("oom %d\n", oom);
  printf("ioprio %ld\n", syscall(SYS_ioprio_get, 1, 0));
  printf("policy %d\n", sched_getscheduler(0));
  errno = 0;
  printf("nice %d\n", getpriority(PRIO_PROCESS, 0));
  printf("persona %#x\n", (unsigned)personality(0xffffffff));
  cpu_set_t cs;
  sched_getaffinity(0, sizeof cs, &cs);
  printf("cpus %d cpu0 %d\n", CPU_COUNT(&cs), CPU_ISSET(0, &cs) ? 1 : 0);
  mode_t m = umask(0);
  printf("umask %03o\n", (unsigned)m);
  return 0;
}

static int child_user_final(void *arg) {
  (void)arg;
  struct cell_err err = {0};
  if (cell_procattr_apply_user(&apa, &err) < 0 || cell_procattr_apply_final(&apa, &err) < 0) {
    printf("ERR %s\n", err.msg);
    return 1;
  }
  uid_t r, e, s;
  gid_t gr, ge, gs;
  getresuid(&r, &e, &s);
  getresgid(&gr, &ge, &gs);
  printf("uid %u %u %u gid %u %u %u\n", r, e, s, gr, ge, gs);
  gid_t g[16];
  int n = getgroups(16, g);
  printf("groups");
  for (int i = 0; i < n; i++) printf(" %u", g[i]);
  printf("\n");
  printf("nnp %d keepcaps %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0),
         prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
  cpu_set_t cs;
  sched_getaffinity(0, sizeof cs, &cs);
  printf("cpus %d\n", CPU_COUNT(&cs));
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "CapPrm", 6) || !strncmp(line, "CapEff", 6)) fputs(line, stdout);
  if (f) fclose(f);
  return 0;
}

int main(void) {
  struct cell_err err = {0};
  struct cell_procattr pa;
  int ws;
  const char *out;

  /* ---- cpu lists ---- */
  cpu_set_t cs;
  CHECK(cell_parse_cpu_list("0-2,5", "f", &cs, &err) == 0 && CPU_COUNT(&cs) == 4 &&
            CPU_ISSET(0, &cs) && CPU_ISSET(2, &cs) && CPU_ISSET(5, &cs) && !CPU_ISSET(3, &cs),
        "cpu list 0-2,5");
  CHECK(cell_parse_cpu_list("7", "f", &cs, &err) == 0 && CPU_COUNT(&cs) == 1 && CPU_ISSET(7, &cs),
        "cpu list 7");
  CHECK(cell_parse_cpu_list("1,1,0-1,1023", "f", &cs, &err) == 0 && CPU_COUNT(&cs) == 3 &&
            CPU_ISSET(1023, &cs),
        "cpu list with overlaps and the highest CPU");
  const char *badlists[] = {"", "a", "3-1", "1,,2", "-1", "1-", "1 ,2", "0-2000", "1,", "0x1",
                            "1-2-3"};
  int allbad = 1;
  for (size_t i = 0; i < sizeof badlists / sizeof *badlists; i++) {
    if (cell_parse_cpu_list(badlists[i], "process.execCPUAffinity.final", &cs, &err) == 0 ||
        strncmp(err.msg, "process.execCPUAffinity.final: ", 31) != 0) {
      printf("# accepted or badly reported: '%s' -> %s\n", badlists[i], err.msg);
      allbad = 0;
    }
  }
  CHECK(allbad, "invalid cpu lists rejected naming the field");
  cell_parse_cpu_list("3-1", "x", &cs, &err);
  CHECK_STR(err.msg, "x: invalid CPU list \"3-1\": range 3-1 is reversed", "reversed range text");

  /* ---- prepare: a full valid config ---- */
  CHECK(prep("{\"process\":{\"env\":[\"PATH=/bin\",\"A=\"],"
             "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":512,\"hard\":20000},"
             "{\"type\":\"RLIMIT_CORE\",\"soft\":18446744073709551615,\"hard\":18446744073709551615}],"
             "\"oomScoreAdj\":500,\"ioPriority\":{\"class\":\"IOPRIO_CLASS_BE\",\"priority\":6},"
             "\"scheduler\":{\"policy\":\"SCHED_BATCH\",\"nice\":5},"
             "\"execCPUAffinity\":{\"initial\":\"0\",\"final\":\"0-1\"},"
             "\"noNewPrivileges\":true,"
             "\"user\":{\"uid\":1000,\"gid\":1001,\"umask\":18,\"additionalGids\":[10,20]}},"
             "\"linux\":{\"personality\":{\"domain\":\"LINUX\",\"flags\":[\"ADDR_NO_RANDOMIZE\"]}}}",
             &apa) == 0,
        "full process object prepares");
  if (perr.msg[0]) printf("# %s\n", perr.msg);
  CHECK(apa.n_rlimits == 2 && apa.rlimits[0].resource == RLIMIT_NOFILE &&
            apa.rlimits[0].lim.rlim_cur == 512 && apa.rlimits[0].lim.rlim_max == 20000 &&
            apa.rlimits[1].lim.rlim_cur == RLIM_INFINITY,
        "rlimits prepared (2^64-1 is unlimited)");
  CHECK(apa.has_oom_score_adj && apa.oom_score_adj == 500, "oomScoreAdj prepared");
  CHECK(apa.has_ioprio && apa.ioprio == ((2 << 13) | 6), "ioPriority prepared");
  CHECK(apa.has_sched && apa.sched.sched_policy == SCHED_BATCH && apa.sched.sched_nice == 5,
        "scheduler prepared");
  CHECK(apa.uid == 1000 && apa.gid == 1001 && apa.n_gids == 2 && apa.gids[1] == 20 &&
            apa.has_umask && apa.umask == 022,
        "user prepared");
  CHECK(apa.has_personality && apa.personality == (PER_LINUX | ADDR_NO_RANDOMIZE),
        "personality prepared");
  CHECK(apa.no_new_privileges && apa.has_cpu_initial && apa.has_cpu_final &&
            CPU_COUNT(&apa.cpu_final) == 2,
        "noNewPrivileges and execCPUAffinity prepared");

  /* ---- apply_early in a child ---- */
  out = in_child(child_early, NULL, &ws);
  CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "apply_early succeeds");
  if (!(WIFEXITED(ws) && WEXITSTATUS(ws) == 0)) printf("# %s", out);
  CHECK(strstr(out, "nofile 512 20000\n") != NULL, "RLIMIT_NOFILE lowered to 512/20000");
  CHECK(strstr(out, "core_inf 1\n") != NULL, "RLIMIT_CORE unlimited");
  CHECK(strstr(out, "oom 500\n") != NULL, "oom_score_adj 500 written");
  char want[64];
  snprintf(want, sizeof want, "ioprio %d\n", (2 << 13) | 6);
  CHECK(strstr(out, want) != NULL, "io priority BE/6 read back");
  snprintf(want, sizeof want, "policy %d\n", SCHED_BATCH);
  CHECK(strstr(out, want) != NULL, "SCHED_BATCH read back");
  CHECK(strstr(out, "nice 5\n") != NULL, "nice 5 read back");
  snprintf(want, sizeof want, "persona %#x\n", (unsigned)(PER_LINUX | ADDR_NO_RANDOMIZE));
  CHECK(strstr(out, want) != NULL, "personality ADDR_NO_RANDOMIZE read back");
  CHECK(strstr(out, "cpus 1 cpu0 1\n") != NULL, "initial CPU affinity {0}");
  CHECK(strstr(out, "umask 022\n") != NULL, "umask 022 (JSON 18) applied");

  /* ---- apply_user + apply_final ---- */
  out = in_child(child_user_final, NULL, &ws);
  CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "apply_user + apply_final succeed");
  if (!(WIFEXITED(ws) && WEXITSTATUS(ws) == 0)) printf("# %s", out);
  CHECK(strstr(out, "uid 1000 1000 1000 gid 1001 1001 1001\n") != NULL, "uids and gids switched");
  CHECK(strstr(out, "groups 10 20\n") != NULL, "additional gids set");
  CHECK(strstr(out, "nnp 1 keepcaps 0\n") != NULL, "no_new_privs set, keepcaps reset");
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  snprintf(want, sizeof want, "cpus %ld\n", ncpu >= 2 ? 2L : 1L);
  CHECK(strstr(out, want) != NULL, "final CPU affinity 0-1");
  CHECK(strstr(out, "CapEff:\t0000000000000000") && !strstr(out, "CapPrm:\t0000000000000000"),
        "permitted caps kept across the uid switch, effective cleared");
  cell_procattr_free(&apa);

  /* ---- scheduler SCHED_IDLE + ioprio IDLE ---- */
  CHECK(prep("{\"process\":{\"scheduler\":{\"policy\":\"SCHED_IDLE\"},"
             "\"ioPriority\":{\"class\":\"IOPRIO_CLASS_IDLE\",\"priority\":0}}}",
             &apa) == 0,
        "SCHED_IDLE config prepares");
  out = in_child(child_early, NULL, &ws);
  snprintf(want, sizeof want, "policy %d\n", SCHED_IDLE);
  CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0 && strstr(out, want), "SCHED_IDLE read back");
  snprintf(want, sizeof want, "ioprio %d\n", 3 << 13);
  CHECK(strstr(out, want) != NULL, "IOPRIO_CLASS_IDLE read back");
  cell_procattr_free(&apa);

  /* ---- rlimit: raising the hard limit fails here ---- */
  struct rlimit cur;
  getrlimit(RLIMIT_NOFILE, &cur);
  CHECK(prep("{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1024,"
             "\"hard\":1048576}]}}",
             &apa) == 0,
        "rlimit above the current hard limit prepares");
  out = in_child(child_early, NULL, &ws);
  if (have_sys_resource()) {
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0 && strstr(out, "nofile 1024 1048576"),
          "with CAP_SYS_RESOURCE the hard limit can be raised");
  } else if (cur.rlim_max < 1048576) {
    char w[512];
    snprintf(w, sizeof w,
             "ERR process.rlimits[0]: setting RLIMIT_NOFILE to soft 1024, hard 1048576: operation "
             "not permitted (raising the hard limit above the current %llu needs "
             "CAP_SYS_RESOURCE)\n",
             (unsigned long long)cur.rlim_max);
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 1, "raising the hard RLIMIT_NOFILE fails");
    CHECK_STR(out, w, "raising the hard limit: clear error naming the rlimit");
  }
  cell_procattr_free(&apa);

  /* ---- oomScoreAdj negative fails without CAP_SYS_RESOURCE ---- */
  CHECK(prep("{\"process\":{\"oomScoreAdj\":-500}}", &apa) == 0, "negative oomScoreAdj prepares");
  out = in_child(child_early, NULL, &ws);
  if (have_sys_resource())
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0 && strstr(out, "oom -500\n"),
          "with CAP_SYS_RESOURCE a negative oomScoreAdj applies");
  else {
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 1 &&
              strstr(out, "ERR process.oomScoreAdj: writing -500 to /proc/self/oom_score_adj: "
                          "Permission denied (lowering the OOM score adjustment needs "
                          "CAP_SYS_RESOURCE)"),
          "negative oomScoreAdj: clear error");
  }
  if (!strstr(out, "CAP_SYS_RESOURCE")) printf("# %s", out);
  cell_procattr_free(&apa);

  /* ---- prepare errors ---- */
  prep_fails("{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":2},"
             "{\"type\":\"RLIMIT_FOO\",\"soft\":1,\"hard\":2}]}}",
             "process.rlimits[1].type: unknown rlimit \"RLIMIT_FOO\"", "unknown rlimit");
  prep_fails("{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":2},"
             "{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":2}]}}",
             "process.rlimits[1].type: duplicate rlimit RLIMIT_NOFILE (also rlimits[0])",
             "duplicate rlimit");
  prep_fails("{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_CPU\",\"soft\":10,\"hard\":5}]}}",
             "process.rlimits[0]: RLIMIT_CPU soft limit 10 exceeds hard limit 5", "soft > hard");
  prep_fails("{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_CPU\",\"soft\":-1,\"hard\":5}]}}",
             "process.rlimits[0].soft: must be a non-negative integer (got -1)", "negative soft");
  prep_fails("{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_CPU\",\"soft\":1}]}}",
             "process.rlimits[0].hard: missing", "missing hard");
  prep_fails("{\"process\":{\"env\":[\"A=1\",\"B=2\",\"FOO\"]}}",
             "process.env[2]: \"FOO\" is not in KEY=VALUE form", "env without =");
  prep_fails("{\"process\":{\"env\":[\"=x\"]}}", "process.env[0]: \"=x\" is not in KEY=VALUE form",
             "env with empty key");
  prep_fails("{\"process\":{\"oomScoreAdj\":1001}}",
             "process.oomScoreAdj: 1001 is out of range (-1000 to 1000)", "oomScoreAdj range");
  prep_fails("{\"process\":{\"ioPriority\":{\"class\":\"IOPRIO_CLASS_XX\"}}}",
             "process.ioPriority.class: unknown class \"IOPRIO_CLASS_XX\"", "bad io class");
  prep_fails("{\"process\":{\"ioPriority\":{\"class\":\"IOPRIO_CLASS_BE\",\"priority\":8}}}",
             "process.ioPriority.priority: 8 is out of range (0 to 7)", "bad io priority");
  prep_fails("{\"process\":{\"scheduler\":{\"policy\":\"SCHED_FOO\"}}}",
             "process.scheduler.policy: unknown policy \"SCHED_FOO\"", "bad sched policy");
  prep_fails("{\"process\":{\"scheduler\":{\"policy\":\"SCHED_FIFO\"}}}",
             "process.scheduler.priority: must be 1-99 for SCHED_FIFO (got 0)", "FIFO needs priority");
  prep_fails("{\"process\":{\"scheduler\":{\"policy\":\"SCHED_OTHER\",\"nice\":-21}}}",
             "process.scheduler.nice: -21 is out of range (-20 to 19)", "nice range");
  prep_fails("{\"process\":{\"scheduler\":{\"policy\":\"SCHED_OTHER\",\"flags\":[\"SCHED_FLAG_RECLAIM\",\"X\"]}}}",
             "process.scheduler.flags[1]: unknown flag \"X\"", "bad sched flag");
  prep_fails("{\"process\":{\"scheduler\":{\"policy\":\"SCHED_DEADLINE\",\"runtime\":100,\"deadline\":50}}}",
             "process.scheduler.deadline: must be >= runtime for SCHED_DEADLINE (runtime 100, deadline 50)",
             "deadline < runtime");
  prep_fails("{\"process\":{\"execCPUAffinity\":{\"initial\":\"0-\"}}}",
             "process.execCPUAffinity.initial: invalid CPU list \"0-\": expected a number at \"\"",
             "bad execCPUAffinity");
  prep_fails("{\"process\":{\"user\":{\"uid\":-1}}}",
             "process.user.uid: -1 is out of range (0 to 4294967294)", "negative uid");
  prep_fails("{\"process\":{\"user\":{\"uid\":0,\"additionalGids\":[1,\"x\"]}}}",
             "process.user.additionalGids[1]: must be an integer", "bad additional gid");
  prep_fails("{\"process\":{\"noNewPrivileges\":1}}", "process.noNewPrivileges: must be a boolean",
             "noNewPrivileges type");
  prep_fails("{\"process\":{},\"linux\":{\"personality\":{\"domain\":\"LINUX64\"}}}",
             "linux.personality.domain: unknown domain \"LINUX64\" (LINUX or LINUX32)",
             "bad personality domain");
  prep_fails("{\"process\":{},\"linux\":{\"personality\":{\"domain\":\"LINUX\",\"flags\":[\"NOPE\"]}}}",
             "linux.personality.flags[0]: unknown flag \"NOPE\"", "bad personality flag");
  if (!cell_apparmor_enabled())
    prep_fails("{\"process\":{\"apparmorProfile\":\"docker-default\"}}",
               "process.apparmorProfile: AppArmor is not enabled on this host",
               "apparmorProfile without AppArmor");
  else
    CHECK(prep("{\"process\":{\"apparmorProfile\":\"unconfined\"}}", &pa) == 0 &&
              !strcmp(pa.apparmor_profile, "unconfined"),
          "apparmorProfile with AppArmor");
  if (!cell_selinux_enabled())
    prep_fails("{\"process\":{\"selinuxLabel\":\"system_u:system_r:container_t:s0\"}}",
               "process.selinuxLabel: SELinux is not enabled on this host",
               "selinuxLabel without SELinux");
  CHECK(prep("{\"process\":{\"apparmorProfile\":\"\",\"selinuxLabel\":\"\"}}", &pa) == 0 &&
            !pa.apparmor_profile && !pa.selinux_label,
        "empty LSM fields are accepted as unset");
  cell_procattr_free(&pa);

  /* ---- executable lookup ---- */
  char path[4096];
  CHECK(cell_find_executable("sh", "/nonexistent:/bin", path, sizeof path, &err) == 0 &&
            !strcmp(path, "/bin/sh"),
        "sh found in PATH");
  CHECK(cell_find_executable("sh", "/usr//bin/../bin/", path, sizeof path, &err) == 0 &&
            !strcmp(path, "/usr/bin/sh"),
        "PATH entries are cleaned like filepath.Join");
  CHECK(cell_find_executable("no-such-prog-xyz", "/bin:/usr/bin", path, sizeof path, &err) < 0,
        "missing program fails");
  CHECK_STR(err.msg, "exec: \"no-such-prog-xyz\": executable file not found in $PATH",
            "not in PATH text");
  CHECK(cell_find_executable("sh", NULL, path, sizeof path, &err) < 0 &&
            !strcmp(err.msg, "exec: \"sh\": executable file not found in $PATH"),
        "no PATH: not found");
  CHECK(cell_find_executable("/bin/foo-no-such", "/bin", path, sizeof path, &err) < 0, "missing path fails");
  CHECK_STR(err.msg, "exec: \"/bin/foo-no-such\": stat /bin/foo-no-such: no such file or directory",
            "missing path text");
  CHECK(err.errnum == ENOENT, "missing path errnum");
  CHECK(cell_find_executable("/etc/passwd", "/bin", path, sizeof path, &err) < 0, "non-executable fails");
  CHECK_STR(err.msg, "exec: \"/etc/passwd\": permission denied", "non-executable text");
  CHECK(cell_find_executable("/tmp", "/bin", path, sizeof path, &err) < 0 &&
            !strcmp(err.msg, "exec: \"/tmp\": permission denied"),
        "directory: permission denied");
  CHECK(cell_find_executable("/etc/passwd/x", "/bin", path, sizeof path, &err) < 0 &&
            !strcmp(err.msg, "exec: \"/etc/passwd/x\": stat /etc/passwd/x: not a directory"),
        "stat errors use Go's lower-case text");
  CHECK(cell_find_executable("/bin/sh", NULL, path, sizeof path, &err) == 0 &&
            !strcmp(path, "/bin/sh"),
        "absolute executable returned as is");

  /* a non-executable file earlier in PATH is skipped; "" in PATH means "." */
  char tmpl[] = "/tmp/cell-pa-XXXXXX";
  char *dir = mkdtemp(tmpl);
  CHECK(dir != NULL, "temp dir");
  if (dir) {
    char f1[256], d2[256], f2[256], old[4096];
    snprintf(f1, sizeof f1, "%s/prog", dir);
    snprintf(d2, sizeof d2, "%s/b", dir);
    snprintf(f2, sizeof f2, "%s/b/prog", dir);
    mkdir(d2, 0755);
    close(open(f1, O_CREAT | O_WRONLY, 0644));
    close(open(f2, O_CREAT | O_WRONLY, 0755));
    char pe[600];
    snprintf(pe, sizeof pe, "%s:%s", dir, d2);
    CHECK(cell_find_executable("prog", pe, path, sizeof path, &err) == 0 && !strcmp(path, f2),
          "non-executable candidate skipped");
    CHECK(getcwd(old, sizeof old) && chdir(d2) == 0, "chdir to temp dir");
    CHECK(cell_find_executable("prog", "/nonexistent:", path, sizeof path, &err) < 0 &&
              !strcmp(err.msg,
                      "exec: \"prog\": cannot run executable found relative to current directory"),
          "empty PATH element: relative result refused like Go's ErrDot");
    if (chdir(old) < 0) perror("chdir");
    unlink(f2);
    unlink(f1);
    rmdir(d2);
    rmdir(dir);
  }
  UNIT_DONE();
}
