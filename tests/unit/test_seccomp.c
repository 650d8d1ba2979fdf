/* test_seccomp.c - linux.seccomp: validation messages, real filters loaded in
 * fork()ed children, and the SCMP_ACT_NOTIFY listener protocol end to end. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <seccomp.h>

#include "runtime/cell_seccomp.h" /* runtime/seccomp.h, which also pulls in libseccomp */

#include "unit.h"

/* ---- helpers ---------------------------------------------------------- */

/* JSON written with single quotes for readability; ' becomes ". */
static cJSON *J(const char *text) {
  char *t = strdup(text);
  for (char *p = t; *p; p++)
    if (*p == '\'') *p = '"';
  cJSON *j = cJSON_Parse(t);
  if (!j) printf("# bad test JSON: %s\n", t);
  free(t);
  return j;
}

/* Build from JSON text; returns the filter or NULL and fills err. */
static struct cell_seccomp *build(const char *text, struct cell_err *err) {
  cJSON *j = J(text);
  struct cell_seccomp *s = (struct cell_seccomp *)0x1;
  memset(err, 0, sizeof *err);
  int rc = cell_seccomp_build(j, &s, err);
  cJSON_Delete(j);
  if (rc < 0) {
    if (s != NULL) printf("# build failed but *out was not reset\n");
    return NULL;
  }
  return s;
}

/* Expect build to fail with exactly `want`. */
static void expect_error(const char *text, const char *want, const char *name) {
  struct cell_err err;
  struct cell_seccomp *s = build(text, &err);
  CHECK_STR(s ? "(built fine)" : err.msg, want, name);
  cell_seccomp_free(s);
}

static int read_file(const char *path, char **out) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  size_t n;
  while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
    len += n;
    if (cap - len < 2) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  buf[len] = 0;
  *out = buf;
  return 0;
}

typedef int (*child_fn)(void);

/* Build `text`, fork, load it in the child (with no_new_privs when nnp) and
 * run fn there; returns the child's wait status or -1 if build failed. */
static int run_filtered(const char *text, int nnp, child_fn fn) {
  struct cell_err err;
  struct cell_seccomp *s = build(text, &err);
  if (!s) {
    printf("# build: %s\n", err.msg);
    return -1;
  }
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(10);
    if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) _exit(120);
    int nfd;
    if (cell_seccomp_load(s, &nfd, &err) < 0) {
      fprintf(stderr, "# load: %s\n", err.msg);
      _exit(121);
    }
    /* raw exit_group: sanitizer runtimes hook _exit() and make syscalls a
     * deny-by-default filter refuses */
    syscall(SYS_exit_group, fn());
  }
  cell_seccomp_free(s);
  int st = -1;
  if (pid < 0 || waitpid(pid, &st, 0) < 0) return -1;
  if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
    if (WIFEXITED(st)) printf("# child exited %d\n", WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("# child killed by signal %d\n", WTERMSIG(st));
  }
  return st;
}

#define CHILD_OK(st) ((st) != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0)

/* Inside children: the raw syscall must fail with errno e, else return code. */
#define EXPECT_ERR(call, e, code)              \
  do {                                         \
    errno = 0;                                 \
    long r_ = (call);                          \
    if (r_ != -1 || errno != (e)) return code; \
  } while (0)

static char cwdbuf[4096];
#define GETCWD() syscall(SYS_getcwd, cwdbuf, sizeof cwdbuf)

/* ---- validation ------------------------------------------------------- */

static void test_reference_profiles(void) {
  glob_t g;
  int n = 0;
  if (glob("tests/fixtures/seccomp/*.json", 0, NULL, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; i++) {
      char *text, name[512];
      snprintf(name, sizeof name, "builds %s", g.gl_pathv[i]);
      if (read_file(g.gl_pathv[i], &text) < 0) {
        CHECK(0, name);
        continue;
      }
      cJSON *j = cJSON_Parse(text);
      struct cell_seccomp *s = NULL;
      struct cell_err err = {0};
      struct timespec a, b;
      clock_gettime(CLOCK_MONOTONIC, &a);
      int rc = cell_seccomp_build(j, &s, &err);
      clock_gettime(CLOCK_MONOTONIC, &b);
      if (rc < 0) printf("# %s\n", err.msg);
      else
        printf("# %s: %zu BPF instructions, built in %.2f ms\n", g.gl_pathv[i],
               cell_seccomp_bpf_len(s),
               (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
      CHECK(j && rc == 0 && s && cell_seccomp_bpf_len(s) > 50 && !cell_seccomp_uses_notify(s),
            name);
      cell_seccomp_free(s);
      cJSON_Delete(j);
      free(text);
      n++;
    }
    globfree(&g);
  }
  CHECK(n >= 2, "docker and podman profile fixtures present");

  /* The engines' own config.json files (tests/fixtures/engine-configs, made by
   * capture.sh there): their linux.seccomp as the engines wrote it. */
  n = 0;
  if (glob("tests/fixtures/engine-configs/*config*.json", 0, NULL, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; i++, n++) {
      char *text, name[512];
      snprintf(name, sizeof name, "linux.seccomp of %s", g.gl_pathv[i]);
      if (read_file(g.gl_pathv[i], &text) < 0) {
        CHECK(0, name);
        continue;
      }
      cJSON *j = cJSON_Parse(text);
      const cJSON *sc = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "linux"), "seccomp");
      struct cell_seccomp *s = (struct cell_seccomp *)0x1;
      struct cell_err err = {0};
      int rc = cell_seccomp_build(sc, &s, &err);
      if (rc < 0) printf("# %s\n", err.msg);
      /* absent seccomp (containerd's example) must give rc 0 and no filter */
      CHECK(j && rc == 0 && (sc ? s && cell_seccomp_bpf_len(s) > 50 : s == NULL), name);
      cell_seccomp_free(sc ? s : NULL);
      cJSON_Delete(j);
      free(text);
    }
    globfree(&g);
  }
  CHECK(n >= 6, "podman, docker and containerd config.json fixtures present");
}

static void test_every_name(void) {
  static const char *acts[] = {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                               "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE",
                               "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY"};
  /* name, little endian? (libseccomp cannot mix byte orders in one filter) */
  static const struct {
    const char *name;
    int le;
  } archs[] = {{"SCMP_ARCH_X86", 1},       {"SCMP_ARCH_X86_64", 1},   {"SCMP_ARCH_X32", 1},
               {"SCMP_ARCH_ARM", 1},       {"SCMP_ARCH_AARCH64", 1},  {"SCMP_ARCH_MIPS", 0},
               {"SCMP_ARCH_MIPS64", 0},    {"SCMP_ARCH_MIPS64N32", 0}, {"SCMP_ARCH_MIPSEL", 1},
               {"SCMP_ARCH_MIPSEL64", 1},  {"SCMP_ARCH_MIPSEL64N32", 1}, {"SCMP_ARCH_PPC", 0},
               {"SCMP_ARCH_PPC64", 0},     {"SCMP_ARCH_PPC64LE", 1},  {"SCMP_ARCH_S390", 0},
               {"SCMP_ARCH_S390X", 0},     {"SCMP_ARCH_PARISC", 0},   {"SCMP_ARCH_PARISC64", 0},
               {"SCMP_ARCH_RISCV64", 1}};
  static const char *cmps[] = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
                               "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};
  static const char *flags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  char text[1024], failed[CELL_ERR_MAX + 512] = "";
  struct cell_err err;
  struct cell_seccomp *s;
  for (size_t i = 0; i < sizeof acts / sizeof *acts; i++) {
    /* as a rule action */
    snprintf(text, sizeof text,
             "{'defaultAction':'%s','listenerPath':'/x','syscalls':[{'names':['getcwd'],"
             "'action':'%s'}]}",
             strcmp(acts[i], "SCMP_ACT_ALLOW") ? "SCMP_ACT_ALLOW" : "SCMP_ACT_ERRNO", acts[i]);
    if (!(s = build(text, &err))) snprintf(failed, sizeof failed, "%s: %s", acts[i], err.msg);
    else if (cell_seccomp_uses_notify(s) != !strcmp(acts[i], "SCMP_ACT_NOTIFY"))
      snprintf(failed, sizeof failed, "%s: uses_notify wrong", acts[i]);
    cell_seccomp_free(s);
    /* as the default action (NOTIFY is refused there, see below) */
    if (strcmp(acts[i], "SCMP_ACT_NOTIFY")) {
      snprintf(text, sizeof text, "{'defaultAction':'%s'}", acts[i]);
      if (!(s = build(text, &err)))
        snprintf(failed, sizeof failed, "default %s: %s", acts[i], err.msg);
      cell_seccomp_free(s);
    }
  }
  CHECK(!failed[0], "every action is accepted as rule and default action");
  if (failed[0]) printf("# %s\n", failed);

  failed[0] = 0;
  int host_le = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
  for (size_t i = 0; i < sizeof archs / sizeof *archs; i++) {
    snprintf(text, sizeof text,
             "{'defaultAction':'SCMP_ACT_ALLOW','architectures':['%s'],"
             "'syscalls':[{'names':['getcwd','socketcall','open'],'action':'SCMP_ACT_ERRNO'}]}",
             archs[i].name);
    s = build(text, &err);
    if (archs[i].le == host_le && !s)
      snprintf(failed, sizeof failed, "%s: %s", archs[i].name, err.msg);
    if (archs[i].le != host_le) {
      char want[256];
      snprintf(want, sizeof want, "linux.seccomp.architectures[0]: %s cannot share one "
               "filter with the native architecture (different byte order)", archs[i].name);
      if (s || strcmp(err.msg, want))
        snprintf(failed, sizeof failed, "%s: want error '%s', got '%s'", archs[i].name, want,
                 s ? "(built)" : err.msg);
    }
    cell_seccomp_free(s);
  }
  CHECK(!failed[0], "every spec architecture: same byte order builds, other is a clear error");
  if (failed[0]) printf("# %s\n", failed);

  failed[0] = 0;
  for (size_t i = 0; i < sizeof cmps / sizeof *cmps; i++) {
    snprintf(text, sizeof text,
             "{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['close'],"
             "'action':'SCMP_ACT_ERRNO','args':[{'index':0,'value':7,'valueTwo':7,'op':'%s'}]}]}",
             cmps[i]);
    if (!(s = build(text, &err))) snprintf(failed, sizeof failed, "%s: %s", cmps[i], err.msg);
    cell_seccomp_free(s);
  }
  CHECK(!failed[0], "every comparison operator is accepted");
  if (failed[0]) printf("# %s\n", failed);

  failed[0] = 0;
  for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
    snprintf(text, sizeof text, "{'defaultAction':'SCMP_ACT_ALLOW','flags':['%s']}", flags[i]);
    if (!(s = build(text, &err))) snprintf(failed, sizeof failed, "%s: %s", flags[i], err.msg);
    cell_seccomp_free(s);
  }
  CHECK(!failed[0], "every spec flag is accepted");
  if (failed[0]) printf("# %s\n", failed);

  struct cell_seccomp *none = (struct cell_seccomp *)0x1;
  CHECK(cell_seccomp_build(NULL, &none, &err) == 0 && none == NULL, "NULL seccomp: no filter");
  int nfd = 7;
  CHECK(cell_seccomp_load(NULL, &nfd, &err) == 0 && nfd == -1, "loading no filter is a no-op");
}

static void test_errors(void) {
  expect_error("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':["
               "{'names':['getcwd'],'action':'SCMP_ACT_ERRNO'},"
               "{'names':['chmod'],'action':'SCMP_ACT_ERRNO'},"
               "{'names':['mkdir'],'action':'SCMP_ACT_LOG'},"
               "{'names':['rmdir'],'action':'SCMP_ACT_FOO'}]}",
               "linux.seccomp.syscalls[3].action: unknown action \"SCMP_ACT_FOO\"",
               "bad rule action names the entry");
  expect_error("{'defaultAction':'SCMP_ACT_DENY'}",
               "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_DENY\"",
               "bad default action");
  expect_error("{'syscalls':[]}", "linux.seccomp.defaultAction: required",
               "missing defaultAction");
  expect_error("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['close'],"
               "'action':'SCMP_ACT_ERRNO','args':[{'index':0,'value':1,'op':'SCMP_CMP_EQ'},"
               "{'index':1,'value':1,'op':'SCMP_CMP_APPROX'}]}]}",
               "linux.seccomp.syscalls[0].args[1].op: unknown operator \"SCMP_CMP_APPROX\"",
               "bad op");
  expect_error("{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_X86_64',"
               "'SCMP_ARCH_VAX']}",
               "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_VAX\"",
               "bad architecture");
  expect_error("{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_LOG',"
               "'SECCOMP_FILTER_FLAG_BOGUS']}",
               "linux.seccomp.flags[1]: unknown flag \"SECCOMP_FILTER_FLAG_BOGUS\"", "bad flag");
  expect_error("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getcwd'],"
               "'action':'SCMP_ACT_ERRNO'},{'names':['close'],'action':'SCMP_ACT_ERRNO',"
               "'args':[{'index':6,'value':1,'op':'SCMP_CMP_EQ'}]}]}",
               "linux.seccomp.syscalls[1].args[0].index: 6 is out of range (syscall "
               "arguments are 0-5)",
               "args index > 5");
  expect_error("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':'getcwd',"
               "'action':'SCMP_ACT_ERRNO'}]}",
               "linux.seccomp.syscalls[0].names: must be an array of strings",
               "names not an array");
  expect_error("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getcwd',42],"
               "'action':'SCMP_ACT_ERRNO'}]}",
               "linux.seccomp.syscalls[0].names[1]: must be a string", "name not a string");
  expect_error("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':[],"
               "'action':'SCMP_ACT_ERRNO'}]}",
               "linux.seccomp.syscalls[0].names: must contain at least one syscall name",
               "empty names");
  expect_error("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getcwd'],"
               "'action':'SCMP_ACT_KILL','errnoRet':1}]}",
               "linux.seccomp.syscalls[0].errnoRet: not valid with action SCMP_ACT_KILL "
               "(only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno)",
               "errnoRet with an action that takes none");
  expect_error("{'defaultAction':'SCMP_ACT_ALLOW','defaultErrnoRet':38}",
               "linux.seccomp.defaultErrnoRet: not valid with action SCMP_ACT_ALLOW "
               "(only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno)",
               "defaultErrnoRet with SCMP_ACT_ALLOW");
  expect_error("{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':-1}",
               "linux.seccomp.defaultErrnoRet: must be an unsigned integer, got -1",
               "negative defaultErrnoRet");
  expect_error("{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':70000}",
               "linux.seccomp.defaultErrnoRet: 70000 is out of range (max 65535)",
               "defaultErrnoRet too large");
  expect_error("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['close'],"
               "'action':'SCMP_ACT_ERRNO','args':[{'index':0,'value':1.5,'op':'SCMP_CMP_EQ'}]}]}",
               "linux.seccomp.syscalls[0].args[0].value: must be an unsigned integer, got 1.5",
               "fractional arg value");
  expect_error("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['close'],"
               "'action':'SCMP_ACT_ERRNO','args':[{'index':0,'op':'SCMP_CMP_EQ'}]}]}",
               "linux.seccomp.syscalls[0].args[0].value: required", "missing arg value");
  expect_error("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getcwd'],"
               "'action':'SCMP_ACT_NOTIFY'}]}",
               "linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used",
               "NOTIFY without listenerPath");
  expect_error("{'defaultAction':'SCMP_ACT_ALLOW','listenerMetadata':'x'}",
               "linux.seccomp.listenerMetadata: must not be set without listenerPath",
               "listenerMetadata without listenerPath");
  expect_error("{'defaultAction':'SCMP_ACT_NOTIFY','listenerPath':'/x'}",
               "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action "
               "(the runtime's own syscalls would be trapped)",
               "NOTIFY as default action");
  expect_error("{'defaultAction':'SCMP_ACT_ALLOW','architectures':'SCMP_ARCH_X86'}",
               "linux.seccomp.architectures: must be an array of strings",
               "architectures not an array");
  expect_error("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':{}}",
               "linux.seccomp.syscalls: must be an array", "syscalls not an array");
  expect_error("[]", "linux.seccomp: must be an object", "seccomp not an object");

  /* 18446744073709551615 parses to 2^64 in cJSON: taken as UINT64_MAX */
  struct cell_err err;
  struct cell_seccomp *s = build("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':"
                                 "['close'],'action':'SCMP_ACT_ERRNO','args':[{'index':0,"
                                 "'value':18446744073709551615,'op':'SCMP_CMP_EQ'}]}]}",
                                 &err);
  CHECK(s != NULL, "uint64 max argument value accepted");
  cell_seccomp_free(s);
  expect_error("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['close'],"
               "'action':'SCMP_ACT_ERRNO','args':[{'index':0,'value':1e20,'op':'SCMP_CMP_EQ'}]}]}",
               "linux.seccomp.syscalls[0].args[0].value: 1e+20 is out of range (max "
               "18446744073709551615)",
               "argument value beyond uint64");
}

/* ---- filters loaded in children --------------------------------------- */

static int child_errno42(void) {
  EXPECT_ERR(GETCWD(), 42, 1);
  if (syscall(SYS_getppid) <= 0) return 2; /* untouched syscalls still work */
  return 0;
}

static int child_args(void) {
  /* EQ on arg0 */
  EXPECT_ERR(syscall(SYS_close, 9999), 43, 1);
  EXPECT_ERR(syscall(SYS_close, 9998), EBADF, 2);
  /* same index twice -> separate rules, OR'ed */
  EXPECT_ERR(syscall(SYS_fsync, 9001), 44, 3);
  EXPECT_ERR(syscall(SYS_fsync, 9002), 44, 4);
  EXPECT_ERR(syscall(SYS_fsync, 9003), EBADF, 5);
  /* different indexes -> one rule, AND'ed */
  EXPECT_ERR(syscall(SYS_dup3, 9100, 9101, 0), 45, 6);
  EXPECT_ERR(syscall(SYS_dup3, 9100, 9102, 0), EBADF, 7);
  EXPECT_ERR(syscall(SYS_dup3, 9103, 9101, 0), EBADF, 8);
  /* MASKED_EQ: (arg0 & 0xff00) == 0x2300 */
  EXPECT_ERR(syscall(SYS_fdatasync, 0x2342), 46, 9);
  EXPECT_ERR(syscall(SYS_fdatasync, 0x2442), EBADF, 10);
  /* GE / GT / LT / LE / NE */
  EXPECT_ERR(syscall(SYS_syncfs, 9500), 47, 11);
  EXPECT_ERR(syscall(SYS_syncfs, 9499), EBADF, 12);
  EXPECT_ERR(syscall(SYS_fchdir, 9601), 48, 13);
  EXPECT_ERR(syscall(SYS_fchdir, 9600), EBADF, 14);
  EXPECT_ERR(syscall(SYS_dup, 9699), 49, 15); /* LT 9700 */
  EXPECT_ERR(syscall(SYS_dup, 9700), EBADF, 16);
  EXPECT_ERR(syscall(SYS_flock, 9800, 1 /* LOCK_SH */), 50, 17); /* LE 9800 */
  EXPECT_ERR(syscall(SYS_flock, 9801, 1), EBADF, 18);
  EXPECT_ERR(syscall(SYS_fstatfs, 9900, NULL), EBADF, 19); /* NE 9900 */
  EXPECT_ERR(syscall(SYS_fstatfs, 9901, NULL), 51, 20);
  return 0;
}

static int child_default_errno(void) {
  EXPECT_ERR(GETCWD(), 47, 1);
  EXPECT_ERR(syscall(SYS_getpid), 47, 2);
  if (syscall(SYS_getppid) <= 0) return 3; /* allowed by a rule */
  return 0;
}

static int child_default_eperm(void) {
  EXPECT_ERR(GETCWD(), EPERM, 1);
  return 0;
}

static int child_trace(void) {
  /* SCMP_ACT_TRACE without a tracer: the kernel fails the call with ENOSYS */
  EXPECT_ERR(GETCWD(), ENOSYS, 1);
  return 0;
}

static int child_getcwd_works(void) {
  if (GETCWD() <= 0) return 1;
  return 0;
}

static int child_call_getcwd(void) {
  GETCWD();
  return 3; /* must not be reached */
}

static void test_filters(void) {
  int st;
  st = run_filtered("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':"
                    "['cell_no_such_syscall','getcwd'],'action':'SCMP_ACT_ERRNO','errnoRet':42}]}",
                    1, child_errno42);
  CHECK(CHILD_OK(st), "ERRNO rule with errnoRet 42 (unknown name skipped)");

  st = run_filtered(
      "{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_X86',"
      "'SCMP_ARCH_X32','SCMP_ARCH_AARCH64'],'syscalls':["
      "{'names':['close'],'action':'SCMP_ACT_ERRNO','errnoRet':43,"
      " 'args':[{'index':0,'value':9999,'op':'SCMP_CMP_EQ'}]},"
      "{'names':['fsync'],'action':'SCMP_ACT_ERRNO','errnoRet':44,"
      " 'args':[{'index':0,'value':9001,'op':'SCMP_CMP_EQ'},"
      "         {'index':0,'value':9002,'op':'SCMP_CMP_EQ'}]},"
      "{'names':['dup3'],'action':'SCMP_ACT_ERRNO','errnoRet':45,"
      " 'args':[{'index':0,'value':9100,'op':'SCMP_CMP_EQ'},"
      "         {'index':1,'value':9101,'op':'SCMP_CMP_EQ'}]},"
      "{'names':['fdatasync'],'action':'SCMP_ACT_ERRNO','errnoRet':46,"
      " 'args':[{'index':0,'value':65280,'valueTwo':8960,'op':'SCMP_CMP_MASKED_EQ'}]},"
      "{'names':['syncfs'],'action':'SCMP_ACT_ERRNO','errnoRet':47,"
      " 'args':[{'index':0,'value':9500,'op':'SCMP_CMP_GE'}]},"
      "{'names':['fchdir'],'action':'SCMP_ACT_ERRNO','errnoRet':48,"
      " 'args':[{'index':0,'value':9600,'op':'SCMP_CMP_GT'}]},"
      "{'names':['dup'],'action':'SCMP_ACT_ERRNO','errnoRet':49,"
      " 'args':[{'index':0,'value':9700,'op':'SCMP_CMP_LT'}]},"
      "{'names':['flock'],'action':'SCMP_ACT_ERRNO','errnoRet':50,"
      " 'args':[{'index':0,'value':9800,'op':'SCMP_CMP_LE'}]},"
      "{'names':['fstatfs'],'action':'SCMP_ACT_ERRNO','errnoRet':51,"
      " 'args':[{'index':0,'value':9900,'op':'SCMP_CMP_NE'}]}]}",
      1, child_args);
  CHECK(CHILD_OK(st), "argument comparators EQ/MASKED_EQ/GE/GT/LT/LE/NE, AND and OR rules");

  st = run_filtered("{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':47,'syscalls':["
                    "{'names':['exit_group','exit','rt_sigreturn','getppid'],"
                    "'action':'SCMP_ACT_ALLOW'}]}",
                    1, child_default_errno);
  CHECK(CHILD_OK(st), "defaultAction ERRNO with defaultErrnoRet 47, allow list");

  st = run_filtered("{'defaultAction':'SCMP_ACT_ERRNO','syscalls':["
                    "{'names':['exit_group','exit'],'action':'SCMP_ACT_ALLOW'}]}",
                    1, child_default_eperm);
  CHECK(CHILD_OK(st), "defaultErrnoRet defaults to EPERM");

  st = run_filtered("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getcwd'],"
                    "'action':'SCMP_ACT_KILL_PROCESS'}]}",
                    1, child_call_getcwd);
  CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "KILL_PROCESS kills with SIGSYS");

  st = run_filtered("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getcwd'],"
                    "'action':'SCMP_ACT_TRAP'}]}",
                    1, child_call_getcwd);
  CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "TRAP delivers SIGSYS");

  st = run_filtered("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getcwd'],"
                    "'action':'SCMP_ACT_TRACE'}]}",
                    1, child_trace);
  CHECK(CHILD_OK(st), "TRACE without tracer fails the call with ENOSYS");

  st = run_filtered("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getcwd'],"
                    "'action':'SCMP_ACT_LOG'},{'names':['getcwd'],'action':'SCMP_ACT_ALLOW'}]}",
                    1, child_getcwd_works);
  CHECK(CHILD_OK(st), "LOG lets the call through; rule equal to default is skipped");

  st = run_filtered("{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_TSYNC',"
                    "'SECCOMP_FILTER_FLAG_LOG','SECCOMP_FILTER_FLAG_SPEC_ALLOW',"
                    "'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],'syscalls':[{'names':['getcwd'],"
                    "'action':'SCMP_ACT_ERRNO','errnoRet':42}]}",
                    1, child_errno42);
  CHECK(CHILD_OK(st), "flags TSYNC, LOG, SPEC_ALLOW (+ WAIT_KILLABLE_RECV without notify)");

  /* Without no_new_privs the kernel wants CAP_SYS_ADMIN: as root the load works... */
  st = run_filtered("{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getcwd'],"
                    "'action':'SCMP_ACT_ERRNO','errnoRet':42}]}",
                    0, child_errno42);
  if (geteuid() == 0) CHECK(CHILD_OK(st), "load without no_new_privs as root");

  /* ...and without CAP_SYS_ADMIN it fails with a clear message. */
  struct cell_err err;
  struct cell_seccomp *s = build("{'defaultAction':'SCMP_ACT_ALLOW'}", &err);
  int pfd[2];
  if (!s || pipe(pfd) < 0) {
    CHECK(0, "load without NNP and CAP_SYS_ADMIN fails clearly");
    cell_seccomp_free(s);
    return;
  }
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(pfd[0]);
    cap_t caps = cap_get_proc();
    cap_value_t v = CAP_SYS_ADMIN;
    if (!caps || cap_set_flag(caps, CAP_EFFECTIVE, 1, &v, CAP_CLEAR) < 0 ||
        cap_set_proc(caps) < 0)
      _exit(2);
    int nfd;
    struct cell_err e2 = {0};
    int rc = cell_seccomp_load(s, &nfd, &e2);
    if (write(pfd[1], e2.msg, strlen(e2.msg)) < 0) _exit(3);
    _exit(rc < 0 ? 0 : 1);
  }
  close(pfd[1]);
  char msg[CELL_ERR_MAX] = "";
  ssize_t n = read(pfd[0], msg, sizeof msg - 1);
  if (n > 0) msg[n] = 0;
  close(pfd[0]);
  waitpid(pid, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "load without NNP and CAP_SYS_ADMIN fails");
  CHECK_STR(msg, "loading seccomp filter: no_new_privs is not set and CAP_SYS_ADMIN is "
                 "missing: Permission denied", "... with a message saying why");
  cell_seccomp_free(s);
}

/* ---- SCMP_ACT_NOTIFY end to end --------------------------------------- */

static const char *STATE = "{\"ociVersion\":\"1.2.0\",\"id\":\"ctr-1\",\"status\":\"creating\","
                           "\"pid\":1,\"bundle\":\"/b\"}";

static int notify_child(struct cell_seccomp *s) {
  int nfd = -1;
  struct cell_err err = {0};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return 10;
  if (cell_seccomp_load(s, &nfd, &err) < 0) {
    fprintf(stderr, "# %s\n", err.msg);
    return 11;
  }
  if (nfd < 0) return 12;
  if (cell_seccomp_send_listener(s, nfd, getpid(), STATE, &err) < 0) {
    fprintf(stderr, "# %s\n", err.msg);
    return 13;
  }
  close(nfd);
  /* first getppid is answered with a value, the second with an error */
  long r = syscall(SYS_getppid);
  if (r != 4242) return 14;
  EXPECT_ERR(syscall(SYS_getppid), ENOTBLK, 15);
  if (GETCWD() <= 0) return 16; /* not intercepted */
  return 0;
}

/* Receive the container process state and the fd from an accepted socket. */
static int recv_state(int conn, char *buf, size_t len, int *fd) {
  size_t got = 0;
  *fd = -1;
  for (;;) {
    union {
      char b[CMSG_SPACE(sizeof(int) * 4)];
      struct cmsghdr a;
    } u;
    struct iovec iov = {.iov_base = buf + got, .iov_len = len - got - 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
                         .msg_controllen = sizeof u.b};
    struct pollfd p = {.fd = conn, .events = POLLIN};
    if (poll(&p, 1, 5000) <= 0) return -1;
    ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        if (*fd >= 0 || got > 0 || c->cmsg_len != CMSG_LEN(sizeof(int))) return -2;
        memcpy(fd, CMSG_DATA(c), sizeof(int));
      }
    if (n == 0) break; /* the runtime closed the connection */
    got += (size_t)n;
    if (got >= len - 1) return -1;
  }
  buf[got] = 0;
  return 0;
}

static int answer(int nfd, pid_t child, long val, int error) {
  struct seccomp_notif *req;
  struct seccomp_notif_resp *resp;
  if (seccomp_notify_alloc(&req, &resp) < 0) return -1;
  int rc = -1;
  struct pollfd p = {.fd = nfd, .events = POLLIN};
  if (poll(&p, 1, 5000) == 1 && seccomp_notify_receive(nfd, req) == 0 &&
      req->data.nr == seccomp_syscall_resolve_name("getppid") && (pid_t)req->pid == child) {
    resp->id = req->id;
    resp->val = val;
    resp->error = error;
    resp->flags = 0;
    rc = seccomp_notify_respond(nfd, resp);
  }
  seccomp_notify_free(req, resp);
  return rc;
}

static void test_notify(void) {
  char dir[] = "/tmp/cell-seccomp-XXXXXX";
  if (!mkdtemp(dir)) {
    CHECK(0, "notify: mkdtemp");
    return;
  }
  char sock_path[64], text[512];
  snprintf(sock_path, sizeof sock_path, "%s/agent.sock", dir);
  snprintf(text, sizeof text,
           "{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'%s','listenerMetadata':'meta=1',"
           "'flags':['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV','SECCOMP_FILTER_FLAG_TSYNC'],"
           "'syscalls':[{'names':['getppid'],'action':'SCMP_ACT_NOTIFY'}]}",
           sock_path);
  struct cell_err err;
  struct cell_seccomp *s = build(text, &err);
  CHECK(s && cell_seccomp_uses_notify(s), "notify filter builds and reports notify");
  if (!s) {
    printf("# %s\n", err.msg);
    rmdir(dir);
    return;
  }

  int lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
  if (lsock < 0 || bind(lsock, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lsock, 1) < 0) {
    CHECK(0, "notify: listening socket");
    goto out;
  }

  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(10);
    _exit(notify_child(s));
  }

  char buf[8192];
  int nfd = -1, ok_state = 0, ok_answer = 0;
  struct pollfd p = {.fd = lsock, .events = POLLIN};
  int conn = poll(&p, 1, 5000) == 1 ? accept4(lsock, NULL, NULL, SOCK_CLOEXEC) : -1;
  if (conn >= 0 && recv_state(conn, buf, sizeof buf, &nfd) == 0 && nfd >= 0) {
    cJSON *j = cJSON_Parse(buf);
    const cJSON *fds = cJSON_GetObjectItem(j, "fds");
    const cJSON *st = cJSON_GetObjectItem(j, "state");
    ok_state = j && cJSON_GetArraySize(fds) == 1 &&
               !strcmp(cJSON_GetArrayItem(fds, 0)->valuestring, "seccompFd") &&
               !strcmp(cJSON_GetObjectItem(j, "ociVersion")->valuestring, "1.2.0") &&
               cJSON_GetObjectItem(j, "pid")->valuedouble == pid &&
               !strcmp(cJSON_GetObjectItem(j, "metadata")->valuestring, "meta=1") &&
               !strcmp(cJSON_GetObjectItem(st, "id")->valuestring, "ctr-1") &&
               !strcmp(cJSON_GetObjectItem(st, "status")->valuestring, "creating");
    if (!ok_state) printf("# state: %s\n", buf);
    cJSON_Delete(j);
    ok_answer = answer(nfd, pid, 4242, 0) == 0 && answer(nfd, pid, 0, -ENOTBLK) == 0;
  }
  if (conn >= 0) close(conn);
  if (nfd >= 0) close(nfd);
  CHECK(ok_state, "notify: agent receives state JSON + one SCM_RIGHTS fd");
  CHECK(ok_answer, "notify: agent answers two intercepted getppid calls");
  int wst = 0;
  if (!ok_answer) kill(pid, SIGKILL);
  waitpid(pid, &wst, 0);
  if (!(WIFEXITED(wst) && WEXITSTATUS(wst) == 0))
    printf("# child status 0x%x\n", wst);
  CHECK(WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "notify: child sees the agent's answers");

  /* listener errors */
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  unlink(sock_path);
  char want[512];
  snprintf(want, sizeof want,
           "linux.seccomp.listenerPath: connecting to %s: No such file or directory", sock_path);
  memset(&err, 0, sizeof err);
  cell_seccomp_send_listener(s, fd, 1, STATE, &err);
  CHECK_STR(err.msg, want, "send_listener: unreachable socket names the path");
  memset(&err, 0, sizeof err);
  cell_seccomp_send_listener(s, fd, 1, "not json", &err);
  CHECK_STR(err.msg, "linux.seccomp.listenerPath: container state is not a JSON object: "
                     "Invalid argument", "send_listener: bad state JSON");
  close(fd);
out:
  if (lsock >= 0) close(lsock);
  unlink(sock_path);
  rmdir(dir);
  cell_seccomp_free(s);
}

int main(void) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  test_reference_profiles();
  test_every_name();
  test_errors();
  test_filters();
  test_notify();
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("# test_seccomp took %.0f ms\n",
         (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
  UNIT_DONE();
}
