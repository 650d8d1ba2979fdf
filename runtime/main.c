/* main.c - the `cell` command line: runc-compatible verbs and flags. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <seccomp.h>

#include "cgroup.h"
#include "container.h"
#include "error.h"
#include "log.h"
#include "spec.h"

/* The build force-includes build/version.h (from VERSION and git). */
#ifndef CELL_VERSION
#define CELL_VERSION "unknown"
#endif
#ifndef CELL_COMMIT
#define CELL_COMMIT "unknown"
#endif

struct globals {
  const char *root;
  const char *log;
  int log_json;
  int debug;
  int systemd;
  int rootless;
  const char *cgroup_manager;
};

static struct globals g = {.root = "/run/cell"};

static int fail(struct cell_err *err) {
  cell_log_fatal(err->msg);
  return 1;
}

static int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const char *cmd, const char *fmt, ...) {
  struct cell_err err;
  char m[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m, sizeof m, fmt, ap);
  va_end(ap);
  cell_error(&err, 0, "%s: %s (see `cell %s --help`)", cmd, m, cmd);
  return fail(&err);
}

struct command {
  const char *name;
  const char *usage;
  int (*fn)(int argc, char **argv);
};

static int wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--")) break;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
    if (argv[i][0] != '-') break;
  }
  return 0;
}

static int parse_int(const char *s, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < 0 || v > 65536) return -1;
  *out = (int)v;
  return 0;
}

/* ---------- create / run ---------- */

static int cmd_create_run(int argc, char **argv, bool run) {
  struct cell_create_opts o = {.root = g.root, .bundle = "."};
  bool detach = false, keep = false;
  static const struct option opts[] = {
      {"bundle", required_argument, 0, 'b'}, {"pid-file", required_argument, 0, 'p'},
      {"console-socket", required_argument, 0, 'c'}, {"preserve-fds", required_argument, 0, 'f'},
      {"no-pivot", no_argument, 0, 'P'}, {"no-new-keyring", no_argument, 0, 'K'},
      {"detach", no_argument, 0, 'd'}, {"keep", no_argument, 0, 'k'},
      {"no-subreaper", no_argument, 0, 'S'}, {"systemd-cgroup", no_argument, 0, 's'}, {0, 0, 0, 0}};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+b:dp:", opts, NULL)) != -1) {
    switch (c) {
      case 'b': o.bundle = optarg; break;
      case 'p': o.pid_file = optarg; break;
      case 'c': o.console_socket = optarg; break;
      case 'f':
        if (parse_int(optarg, &o.preserve_fds) < 0) return usage_error(argv[0], "--preserve-fds: invalid number \"%s\"", optarg);
        break;
      case 'P': o.no_pivot = true; break;
      case 'K': o.no_new_keyring = true; break;
      case 'd':
        if (!run) return usage_error(argv[0], "unknown option -d");
        detach = true;
        break;
      case 'k': keep = true; break;
      case 'S': break;
      case 's': g.systemd = 1; break;
      default: return usage_error(argv[0], "invalid option");
    }
  }
  if (optind != argc - 1) return usage_error(argv[0], "requires exactly one argument: the container id");
  o.id = argv[optind];
  char pidbuf[PATH_MAX];
  if (o.pid_file && o.pid_file[0] != '/') {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd)) {
      snprintf(pidbuf, sizeof pidbuf, "%s/%s", cwd, o.pid_file);
      o.pid_file = pidbuf;
    }
  }
  if (g.cgroup_manager && !strcmp(g.cgroup_manager, "disabled")) o.no_cgroups = true;
  struct cell_err err = {0};
  if (run) {
    int code = 0;
    if (cell_container_run(&o, detach, keep, &code, &err) < 0) return fail(&err);
    return code;
  }
  struct cell_created cr;
  if (cell_container_create(&o, &cr, &err) < 0) return fail(&err);
  return 0;
}

static int cmd_create(int argc, char **argv) { return cmd_create_run(argc, argv, false); }
static int cmd_run(int argc, char **argv) { return cmd_create_run(argc, argv, true); }

static int one_id(int argc, char **argv, const struct option *opts, const char *shortopts, int (*on)(int, const char *),
                  const char **id) {
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
    if (c == '?' || on(c, optarg) < 0) return usage_error(argv[0], "invalid option");
  }
  if (optind != argc - 1) return usage_error(argv[0], "requires exactly one argument: the container id");
  *id = argv[optind];
  return 0;
}

static int no_opt(int c, const char *a) {
  (void)c;
  (void)a;
  return -1;
}
static const struct option none[] = {{0, 0, 0, 0}};

static int cmd_start(int argc, char **argv) {
  const char *id;
  if (one_id(argc, argv, none, "+", no_opt, &id)) return 1;
  struct cell_err err = {0};
  return cell_container_start(g.root, id, &err) < 0 ? fail(&err) : 0;
}

/* JSON with two-space indentation, as runc prints state. */
static void print_json(const cJSON *v, int depth) {
  if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
    bool obj = cJSON_IsObject(v);
    if (!v->child) {
      printf(obj ? "{}" : "[]");
      return;
    }
    printf(obj ? "{\n" : "[\n");
    for (const cJSON *c = v->child; c; c = c->next) {
      printf("%*s", (depth + 1) * 2, "");
      if (obj) {
        cJSON *tmp = cJSON_CreateString(c->string);
        char *key = cJSON_PrintUnformatted(tmp);
        printf("%s: ", key);
        free(key);
        cJSON_Delete(tmp);
      }
      print_json(c, depth + 1);
      printf(c->next ? ",\n" : "\n");
    }
    printf("%*s%s", depth * 2, "", obj ? "}" : "]");
    return;
  }
  char *t = cJSON_PrintUnformatted(v);
  printf("%s", t);
  free(t);
}

static int cmd_state(int argc, char **argv) {
  const char *id;
  if (one_id(argc, argv, none, "+", no_opt, &id)) return 1;
  struct cell_err err = {0};
  char *json;
  if (cell_container_state(g.root, id, &json, &err) < 0) return fail(&err);
  cJSON *o = cJSON_Parse(json);
  print_json(o, 0);
  printf("\n");
  cJSON_Delete(o);
  free(json);
  return 0;
}

static const struct {
  const char *name;
  int sig;
} signals[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ILL", SIGILL},     {"TRAP", SIGTRAP},
               {"ABRT", SIGABRT}, {"IOT", SIGIOT},   {"BUS", SIGBUS},   {"FPE", SIGFPE},     {"KILL", SIGKILL},
               {"USR1", SIGUSR1}, {"SEGV", SIGSEGV}, {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},
               {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
               {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU},
               {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
               {"POLL", SIGPOLL}, {"PWR", SIGPWR},   {"SYS", SIGSYS}};

static int parse_signal(const char *s) {
  char *end;
  long v = strtol(s, &end, 10);
  if (end != s && !*end) return v > 0 && v < 65 ? (int)v : -1;
  if (!strncasecmp(s, "SIG", 3)) s += 3;
  for (size_t i = 0; i < sizeof signals / sizeof *signals; i++)
    if (!strcasecmp(s, signals[i].name)) return signals[i].sig;
  if (!strncasecmp(s, "RTMIN", 5)) {
    long off = s[5] == '+' ? strtol(s + 6, NULL, 10) : 0;
    return SIGRTMIN + (int)off <= SIGRTMAX ? SIGRTMIN + (int)off : -1;
  }
  if (!strncasecmp(s, "RTMAX", 5)) {
    long off = s[5] == '-' ? strtol(s + 6, NULL, 10) : 0;
    return SIGRTMAX - (int)off >= SIGRTMIN ? SIGRTMAX - (int)off : -1;
  }
  return -1;
}

static int cmd_kill(int argc, char **argv) {
  static const struct option opts[] = {{"all", no_argument, 0, 'a'}, {0, 0, 0, 0}};
  bool all = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+a", opts, NULL)) != -1) {
    if (c == 'a') all = true;
    else return usage_error(argv[0], "invalid option");
  }
  if (optind >= argc || argc - optind > 2) return usage_error(argv[0], "usage: kill [--all] ID [SIGNAL]");
  const char *id = argv[optind];
  int sig = SIGTERM;
  if (argc - optind == 2 && (sig = parse_signal(argv[optind + 1])) < 0)
    return usage_error(argv[0], "unknown signal \"%s\"", argv[optind + 1]);
  struct cell_err err = {0};
  return cell_container_kill(g.root, id, sig, all, &err) < 0 ? fail(&err) : 0;
}

static int cmd_delete(int argc, char **argv) {
  static const struct option opts[] = {{"force", no_argument, 0, 'f'}, {0, 0, 0, 0}};
  bool force = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
    if (c == 'f') force = true;
    else return usage_error(argv[0], "invalid option");
  }
  if (optind != argc - 1) return usage_error(argv[0], "requires exactly one argument: the container id");
  struct cell_err err = {0};
  return cell_container_delete(g.root, argv[optind], force, &err) < 0 ? fail(&err) : 0;
}

static int cmd_pause(int argc, char **argv) {
  const char *id;
  if (one_id(argc, argv, none, "+", no_opt, &id)) return 1;
  struct cell_err err = {0};
  return cell_container_pause(g.root, id, true, &err) < 0 ? fail(&err) : 0;
}

static int cmd_resume(int argc, char **argv) {
  const char *id;
  if (one_id(argc, argv, none, "+", no_opt, &id)) return 1;
  struct cell_err err = {0};
  return cell_container_pause(g.root, id, false, &err) < 0 ? fail(&err) : 0;
}

/* Print the header and the lines of `ps ARGS` (`ps -ef` without ARGS) whose
 * PID column is one of pids.  ps runs with an argv, no shell, as runc does. */
static int ps_table(char **args, int nargs, const pid_t *pids, size_t n, struct cell_err *err) {
  char **av = calloc((size_t)nargs + 3, sizeof *av);
  if (!av) return cell_error(err, ENOMEM, "ps");
  int a = 0;
  av[a++] = "ps";
  if (nargs == 0) av[a++] = "-ef";
  for (int i = 0; i < nargs; i++) av[a++] = args[i];
  av[a] = NULL;
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0) {
    free(av);
    return cell_error(err, errno, "ps: pipe");
  }
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    if (dup2(pfd[1], 1) < 0) _exit(127);
    execvp("ps", av);
    dprintf(2, "cell: exec ps: %s\n", strerror(errno));
    _exit(127);
  }
  int e = errno;
  free(av);
  close(pfd[1]);
  if (child < 0) {
    close(pfd[0]);
    return cell_error(err, e, "ps: fork");
  }
  FILE *f = fdopen(pfd[0], "r");
  if (!f) close(pfd[0]);
  char *line = NULL, *tmp = NULL;
  size_t cap = 0;
  int pidcol = -1;
  while (f && getline(&line, &cap, f) > 0) {
    free(tmp);
    tmp = strdup(line);
    if (!tmp) break;
    int col = 0;
    char *save;
    if (pidcol < 0) { /* the header: find the PID column */
      for (char *t = strtok_r(tmp, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save), col++)
        if (!strcmp(t, "PID")) pidcol = col;
      fputs(line, stdout);
      if (pidcol < 0) break;
      continue;
    }
    for (char *t = strtok_r(tmp, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save), col++) {
      if (col != pidcol) continue;
      int p = atoi(t);
      for (size_t i = 0; i < n; i++)
        if (pids[i] == p) fputs(line, stdout);
      break;
    }
  }
  free(tmp);
  free(line);
  if (f) fclose(f);
  int st = 0;
  while (waitpid(child, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 127) return cell_error(err, 0, "ps: could not run ps");
  return 0;
}

static int cmd_ps(int argc, char **argv) {
  static const struct option opts[] = {{"format", required_argument, 0, 'f'}, {0, 0, 0, 0}};
  const char *format = "table";
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+f:", opts, NULL)) != -1) {
    if (c == 'f') format = optarg;
    else return usage_error(argv[0], "invalid option");
  }
  if (optind >= argc) return usage_error(argv[0], "requires the container id");
  if (strcmp(format, "table") && strcmp(format, "json")) return usage_error(argv[0], "invalid format \"%s\"", format);
  const char *id = argv[optind];
  struct cell_err err = {0};
  pid_t *pids;
  size_t n;
  if (cell_container_pids(g.root, id, &pids, &n, &err) < 0) return fail(&err);
  if (!strcmp(format, "json")) {
    printf("[");
    for (size_t i = 0; i < n; i++) printf("%s%d", i ? "," : "", (int)pids[i]);
    printf("]\n");
    free(pids);
    return 0;
  }
  /* table: the host's ps output restricted to the container's pids, as runc does */
  int r = ps_table(argv + optind + 1, argc - optind - 1, pids, n, &err);
  free(pids);
  return r < 0 ? fail(&err) : 0;
}

static int cmd_list(int argc, char **argv) {
  static const struct option opts[] = {{"format", required_argument, 0, 'f'}, {"quiet", no_argument, 0, 'q'}, {0, 0, 0, 0}};
  const char *format = "table";
  bool quiet = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+f:q", opts, NULL)) != -1) {
    if (c == 'f') format = optarg;
    else if (c == 'q') quiet = true;
    else return usage_error(argv[0], "invalid option");
  }
  if (strcmp(format, "table") && strcmp(format, "json")) return usage_error(argv[0], "invalid format \"%s\"", format);
  struct cell_err err = {0};
  struct cell_state *sts;
  enum cell_status *ss;
  size_t n;
  if (cell_container_list(g.root, &sts, &ss, &n, &err) < 0) return fail(&err);
  if (quiet) {
    for (size_t i = 0; i < n; i++) printf("%s\n", sts[i].id);
  } else if (!strcmp(format, "json")) {
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
      char *j = cell_state_json(&sts[i], ss[i]);
      cJSON_AddItemToArray(arr, cJSON_Parse(j));
      free(j);
    }
    char *t = cJSON_PrintUnformatted(arr);
    printf("%s\n", t);
    free(t);
    cJSON_Delete(arr);
  } else {
    printf("%-12s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
    for (size_t i = 0; i < n; i++)
      printf("%-12s %-8d %-10s %-40s %-30s %s\n", sts[i].id, ss[i] == CELL_STOPPED ? 0 : (int)sts[i].pid,
             cell_status_name(ss[i]), sts[i].bundle ? sts[i].bundle : "", sts[i].created ? sts[i].created : "",
             sts[i].owner == 0 ? "root" : "user");
  }
  for (size_t i = 0; i < n; i++) cell_state_free(&sts[i]);
  free(sts);
  free(ss);
  return 0;
}

static int cmd_spec(int argc, char **argv) {
  static const struct option opts[] = {{"bundle", required_argument, 0, 'b'}, {"rootless", no_argument, 0, 'r'}, {0, 0, 0, 0}};
  const char *bundle = ".";
  bool rootless = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+b:", opts, NULL)) != -1) {
    if (c == 'b') bundle = optarg;
    else if (c == 'r') rootless = true;
    else return usage_error(argv[0], "invalid option");
  }
  struct cell_err err = {0};
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/config.json", bundle);
  if (access(path, F_OK) == 0) {
    cell_error(&err, 0, "File %s exists. Remove it first", path);
    return fail(&err);
  }
  char *text = cell_spec_default(rootless || g.rootless);
  FILE *f = fopen(path, "wx");
  if (!f) {
    free(text);
    cell_error(&err, errno, "write %s", path);
    return fail(&err);
  }
  fprintf(f, "%s\n", text);
  fclose(f);
  free(text);
  return 0;
}

static int cmd_features(int argc, char **argv) {
  (void)argc;
  (void)argv;
  printf("%s\n",
         "{\"ociVersionMin\":\"1.0.0\",\"ociVersionMax\":\"1.2.0\","
         "\"hooks\":[\"prestart\",\"createRuntime\",\"createContainer\",\"startContainer\",\"poststart\",\"poststop\"],"
         "\"mountOptions\":[\"async\",\"atime\",\"bind\",\"defaults\",\"dev\",\"diratime\",\"dirsync\",\"exec\",\"idmap\","
         "\"iversion\",\"lazytime\",\"loud\",\"mand\",\"noatime\",\"nodev\",\"nodiratime\",\"noexec\",\"noiversion\","
         "\"nolazytime\",\"nomand\",\"norelatime\",\"nostrictatime\",\"nosuid\",\"nosymfollow\",\"private\",\"ratime\","
         "\"rbind\",\"rdev\",\"rdiratime\",\"relatime\",\"remount\",\"rexec\",\"ridmap\",\"rnoatime\",\"rnodev\","
         "\"rnodiratime\",\"rnoexec\",\"rnorelatime\",\"rnostrictatime\",\"rnosuid\",\"rnosymfollow\",\"ro\",\"rprivate\","
         "\"rrelatime\",\"rro\",\"rrw\",\"rshared\",\"rslave\",\"rstrictatime\",\"rsuid\",\"rsymfollow\",\"runbindable\","
         "\"rw\",\"shared\",\"silent\",\"slave\",\"strictatime\",\"suid\",\"symfollow\",\"sync\",\"tmpcopyup\","
         "\"unbindable\"],"
         "\"linux\":{\"namespaces\":[\"cgroup\",\"ipc\",\"mount\",\"network\",\"pid\",\"time\",\"user\",\"uts\"],"
         "\"capabilities\":[\"CAP_CHOWN\",\"CAP_DAC_OVERRIDE\",\"CAP_DAC_READ_SEARCH\",\"CAP_FOWNER\",\"CAP_FSETID\","
         "\"CAP_KILL\",\"CAP_SETGID\",\"CAP_SETUID\",\"CAP_SETPCAP\",\"CAP_LINUX_IMMUTABLE\",\"CAP_NET_BIND_SERVICE\","
         "\"CAP_NET_BROADCAST\",\"CAP_NET_ADMIN\",\"CAP_NET_RAW\",\"CAP_IPC_LOCK\",\"CAP_IPC_OWNER\",\"CAP_SYS_MODULE\","
         "\"CAP_SYS_RAWIO\",\"CAP_SYS_CHROOT\",\"CAP_SYS_PTRACE\",\"CAP_SYS_PACCT\",\"CAP_SYS_ADMIN\",\"CAP_SYS_BOOT\","
         "\"CAP_SYS_NICE\",\"CAP_SYS_RESOURCE\",\"CAP_SYS_TIME\",\"CAP_SYS_TTY_CONFIG\",\"CAP_MKNOD\",\"CAP_LEASE\","
         "\"CAP_AUDIT_WRITE\",\"CAP_AUDIT_CONTROL\",\"CAP_SETFCAP\",\"CAP_MAC_OVERRIDE\",\"CAP_MAC_ADMIN\",\"CAP_SYSLOG\","
         "\"CAP_WAKE_ALARM\",\"CAP_BLOCK_SUSPEND\",\"CAP_AUDIT_READ\",\"CAP_PERFMON\",\"CAP_BPF\",\"CAP_CHECKPOINT_RESTORE\"],"
         "\"cgroup\":{\"v1\":true,\"v2\":true,\"systemd\":false,\"systemdUser\":false,\"rdma\":true},"
         "\"seccomp\":{\"enabled\":true,\"actions\":[\"SCMP_ACT_ALLOW\",\"SCMP_ACT_ERRNO\",\"SCMP_ACT_KILL\","
         "\"SCMP_ACT_KILL_PROCESS\",\"SCMP_ACT_KILL_THREAD\",\"SCMP_ACT_LOG\",\"SCMP_ACT_NOTIFY\",\"SCMP_ACT_TRACE\","
         "\"SCMP_ACT_TRAP\"],\"operators\":[\"SCMP_CMP_EQ\",\"SCMP_CMP_GE\",\"SCMP_CMP_GT\",\"SCMP_CMP_LE\",\"SCMP_CMP_LT\","
         "\"SCMP_CMP_MASKED_EQ\",\"SCMP_CMP_NE\"],\"archs\":[\"SCMP_ARCH_X86\",\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X32\","
         "\"SCMP_ARCH_ARM\",\"SCMP_ARCH_AARCH64\"],\"knownFlags\":[\"SECCOMP_FILTER_FLAG_TSYNC\","
         "\"SECCOMP_FILTER_FLAG_LOG\",\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\",\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"],"
         "\"supportedFlags\":[\"SECCOMP_FILTER_FLAG_TSYNC\",\"SECCOMP_FILTER_FLAG_LOG\","
         "\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\",\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"]},"
         "\"apparmor\":{\"enabled\":true},\"selinux\":{\"enabled\":true},"
         "\"intelRdt\":{\"enabled\":false},\"mountExtensions\":{\"idmap\":{\"enabled\":true}}},"
         "\"annotations\":{\"run.cell.version\":\"" CELL_VERSION "\"}}");
  return 0;
}

static char **push(char **v, size_t *n, const char *s) {
  v = realloc(v, (*n + 2) * sizeof *v);
  v[(*n)++] = (char *)s;
  v[*n] = NULL;
  return v;
}

static int cmd_exec(int argc, char **argv) {
  struct cell_exec_opts o = {.root = g.root};
  static const struct option opts[] = {
      {"process", required_argument, 0, 'p'}, {"tty", no_argument, 0, 't'}, {"env", required_argument, 0, 'e'},
      {"cwd", required_argument, 0, 'w'}, {"user", required_argument, 0, 'u'}, {"cap", required_argument, 0, 'c'},
      {"no-new-privs", no_argument, 0, 'N'}, {"detach", no_argument, 0, 'd'}, {"pid-file", required_argument, 0, 'P'},
      {"console-socket", required_argument, 0, 'C'}, {"preserve-fds", required_argument, 0, 'f'},
      {"process-label", required_argument, 0, 'l'}, {"apparmor", required_argument, 0, 'a'},
      {"additional-gids", required_argument, 0, 'g'}, {"ignore-paused", no_argument, 0, 'i'},
      {"cgroup", required_argument, 0, 'G'}, {0, 0, 0, 0}};
  char **env = NULL, **caps = NULL;
  size_t nenv = 0, ncaps = 0;
  const char *process = NULL;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+p:te:w:u:c:dg:", opts, NULL)) != -1) {
    switch (c) {
      case 'p': process = optarg; break;
      case 't': o.tty = true; break;
      case 'e': env = push(env, &nenv, optarg); break;
      case 'w': o.cwd = optarg; break;
      case 'u': o.user = optarg; break;
      case 'c': caps = push(caps, &ncaps, optarg); break;
      case 'N': o.no_new_privs = true; break;
      case 'd': o.detach = true; break;
      case 'P': o.pid_file = optarg; break;
      case 'C': o.console_socket = optarg; break;
      case 'f':
        if (parse_int(optarg, &o.preserve_fds) < 0) return usage_error(argv[0], "--preserve-fds: invalid number");
        break;
      case 'l': case 'a': case 'g': case 'i': case 'G': break;
      default: free(env); free(caps); return usage_error(argv[0], "invalid option");
    }
  }
  o.env = env;
  o.caps = caps;
  if (optind >= argc) {
    free(env);
    free(caps);
    return usage_error(argv[0], "requires the container id");
  }
  o.id = argv[optind++];
  struct cell_err err = {0};
  char *text = NULL;
  if (process) {
    text = cell_read_file(process, NULL, &err);
    if (!text) {
      free(env);
      free(caps);
      cell_error_wrap(&err, "--process");
      return fail(&err);
    }
    o.process_json = text;
  } else {
    if (optind >= argc) {
      free(env);
      free(caps);
      return usage_error(argv[0], "requires a command to run (or --process)");
    }
    o.args = argv + optind;
  }
  int code = 0;
  int r = cell_container_exec(&o, &code, &err);
  free(text);
  free(env);
  free(caps);
  if (r < 0) return fail(&err);
  return code;
}

static int parse_u64(const char *s, long long *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s) return -1;
  /* sizes like 64m / 1g as docker/runc accept */
  long long mul = 1;
  if (*end) {
    switch (*end | 0x20) {
      case 'k': mul = 1024; break;
      case 'm': mul = 1024 * 1024; break;
      case 'g': mul = 1024LL * 1024 * 1024; break;
      case 'b': break;
      default: return -1;
    }
    if (end[1] && (end[1] | 0x20) != 'b') return -1;
  }
  *out = v * mul;
  return 0;
}

static int cmd_update(int argc, char **argv) {
  static const struct option opts[] = {
      {"resources", required_argument, 0, 'r'}, {"memory", required_argument, 0, 'm'},
      {"memory-reservation", required_argument, 0, 'R'}, {"memory-swap", required_argument, 0, 's'},
      {"cpu-shares", required_argument, 0, 'S'}, {"cpu-quota", required_argument, 0, 'q'},
      {"cpu-period", required_argument, 0, 'p'}, {"cpuset-cpus", required_argument, 0, 'c'},
      {"cpuset-mems", required_argument, 0, 'M'}, {"pids-limit", required_argument, 0, 'P'},
      {"blkio-weight", required_argument, 0, 'b'}, {"kernel-memory", required_argument, 0, 'k'},
      {"kernel-memory-tcp", required_argument, 0, 'K'}, {"cpu-rt-period", required_argument, 0, 'T'},
      {"cpu-rt-runtime", required_argument, 0, 'U'}, {"l3-cache-schema", required_argument, 0, 'L'},
      {"mem-bw-schema", required_argument, 0, 'B'}, {0, 0, 0, 0}};
  cJSON *res = cJSON_CreateObject();
  const char *file = NULL;
  int c;
  optind = 1;
  struct cell_err err = {0};
  while ((c = getopt_long(argc, argv, "+r:", opts, NULL)) != -1) {
    long long v = 0;
    const char *grp = NULL, *key = NULL;
    bool str = false;
    switch (c) {
      case 'r': file = optarg; continue;
      case 'm': grp = "memory"; key = "limit"; break;
      case 'R': grp = "memory"; key = "reservation"; break;
      case 's': grp = "memory"; key = "swap"; break;
      case 'k': grp = "memory"; key = "kernel"; break;
      case 'K': grp = "memory"; key = "kernelTCP"; break;
      case 'S': grp = "cpu"; key = "shares"; break;
      case 'q': grp = "cpu"; key = "quota"; break;
      case 'p': grp = "cpu"; key = "period"; break;
      case 'T': grp = "cpu"; key = "realtimePeriod"; break;
      case 'U': grp = "cpu"; key = "realtimeRuntime"; break;
      case 'c': grp = "cpu"; key = "cpus"; str = true; break;
      case 'M': grp = "cpu"; key = "mems"; str = true; break;
      case 'P': grp = "pids"; key = "limit"; break;
      case 'b': grp = "blockIO"; key = "weight"; break;
      case 'L': case 'B':
        cJSON_Delete(res);
        cell_error(&err, 0, "update: Intel RDT is not supported on this host");
        return fail(&err);
      default: cJSON_Delete(res); return usage_error(argv[0], "invalid option");
    }
    cJSON *gobj = cJSON_GetObjectItem(res, grp);
    if (!gobj) gobj = cJSON_AddObjectToObject(res, grp);
    if (str) {
      cJSON_AddStringToObject(gobj, key, optarg);
    } else {
      if (!strcmp(optarg, "-1")) v = -1;
      else if (parse_u64(optarg, &v) < 0) {
        cJSON_Delete(res);
        return usage_error(argv[0], "--%s: invalid value \"%s\"", opts[c == 'm' ? 1 : 0].name, optarg);
      }
      cJSON_AddNumberToObject(gobj, key, (double)v);
    }
  }
  if (optind != argc - 1) {
    cJSON_Delete(res);
    return usage_error(argv[0], "requires exactly one argument: the container id");
  }
  char *text;
  if (file) {
    cJSON_Delete(res);
    text = cell_read_file(!strcmp(file, "-") ? "/dev/stdin" : file, NULL, &err);
    if (!text) {
      cell_error_wrap(&err, "--resources");
      return fail(&err);
    }
  } else {
    text = cJSON_PrintUnformatted(res);
    cJSON_Delete(res);
  }
  int r = cell_container_update(g.root, argv[optind], text, &err);
  free(text);
  return r < 0 ? fail(&err) : 0;
}

static int cmd_events(int argc, char **argv) {
  static const struct option opts[] = {{"stats", no_argument, 0, 's'}, {"interval", required_argument, 0, 'i'}, {0, 0, 0, 0}};
  bool stats = false;
  double interval = 5;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
    if (c == 's') stats = true;
    else if (c == 'i') {
      char *end;
      interval = strtod(optarg, &end);
      if (end == optarg || interval <= 0) return usage_error(argv[0], "--interval: invalid duration \"%s\"", optarg);
      if (*end == 'm' && end[1] == 's') interval /= 1000;
      else if (*end == 'm') interval *= 60;
      else if (*end && *end != 's') return usage_error(argv[0], "--interval: invalid duration \"%s\"", optarg);
    } else return usage_error(argv[0], "invalid option");
  }
  if (optind != argc - 1) return usage_error(argv[0], "requires exactly one argument: the container id");
  const char *id = argv[optind];
  unsigned long long last_oom = 0;
  bool first = true;
  for (;;) {
    struct cell_err err = {0};
    char *data;
    unsigned long long oom = 0;
    if (cell_container_stats(g.root, id, &data, &oom, &err) < 0) {
      if (!first && !stats) return 0; /* the container went away */
      return fail(&err);
    }
    if (!first && oom > last_oom) printf("{\"type\":\"oom\",\"id\":\"%s\"}\n", id);
    last_oom = oom;
    printf("{\"type\":\"stats\",\"id\":\"%s\",\"data\":%s}\n", id, data);
    fflush(stdout);
    free(data);
    if (stats) return 0;
    first = false;
    struct timespec ts = {(time_t)interval, (long)((interval - (double)(time_t)interval) * 1e9)};
    nanosleep(&ts, NULL);
  }
}

static int cmd_checkpoint(int argc, char **argv) {
  (void)argc;
  struct cell_err err;
  cell_error(&err, 0, "%s: checkpoint/restore is not supported by cell (no CRIU integration)", argv[0]);
  return fail(&err);
}

static const struct command commands[] = {
    {"create", "create [--bundle DIR] [--pid-file F] [--console-socket S] [--preserve-fds N] [--no-pivot] [--no-new-keyring] ID", cmd_create},
    {"start", "start ID", cmd_start},
    {"run", "run [--bundle DIR] [--detach] [--keep] [--pid-file F] [--console-socket S] [--preserve-fds N] [--no-pivot] ID", cmd_run},
    {"exec", "exec [--process FILE] [--tty] [--env K=V] [--cwd DIR] [--user UID[:GID]] [--cap CAP] [--no-new-privs] [--detach] [--pid-file F] [--console-socket S] [--preserve-fds N] ID [COMMAND ARGS...]", cmd_exec},
    {"kill", "kill [--all] ID [SIGNAL]   (default SIGTERM; names or numbers)", cmd_kill},
    {"delete", "delete [--force] ID", cmd_delete},
    {"state", "state ID", cmd_state},
    {"list", "list [--format table|json] [--quiet]", cmd_list},
    {"ps", "ps [--format table|json] ID [PS-ARGS...]", cmd_ps},
    {"pause", "pause ID", cmd_pause},
    {"resume", "resume ID", cmd_resume},
    {"update", "update [--resources FILE|-] [--memory N] [--memory-reservation N] [--memory-swap N] [--cpu-shares N] [--cpu-quota N] [--cpu-period N] [--cpuset-cpus L] [--cpuset-mems L] [--pids-limit N] [--blkio-weight N] ID", cmd_update},
    {"events", "events [--stats] [--interval 5s] ID", cmd_events},
    {"spec", "spec [--bundle DIR] [--rootless]", cmd_spec},
    {"features", "features", cmd_features},
    {"checkpoint", "checkpoint [options] ID   (not supported)", cmd_checkpoint},
    {"restore", "restore [options] ID   (not supported)", cmd_checkpoint},
};

static void print_help(void) {
  printf("cell - an OCI container runtime (runc-compatible command line)\n\n"
         "Usage: cell [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n\n"
         "Global options:\n"
         "  --root DIR              state directory (default /run/cell)\n"
         "  --log FILE              log file\n"
         "  --log-format text|json  log format (default text)\n"
         "  --debug                 debug logging\n"
         "  --systemd-cgroup        use the systemd cgroup manager (needs a running systemd)\n"
         "  --cgroup-manager M      cgroupfs, systemd or disabled\n"
         "  --rootless true|false|auto\n"
         "  --version, --help\n\nCommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) printf("  %s\n", commands[i].usage);
}

/* cgroup warnings (fields ignored on this cgroup version) go to the logger. */
static void cg_warn(const char *msg) { cell_warn("%s", msg); }

static bool systemd_running(void) {
  struct stat sb;
  return stat("/run/systemd/system", &sb) == 0 && S_ISDIR(sb.st_mode);
}

int main(int argc, char **argv) {
  static const struct option gopts[] = {
      {"root", required_argument, 0, 'r'}, {"log", required_argument, 0, 'l'},
      {"log-format", required_argument, 0, 'f'}, {"debug", no_argument, 0, 'D'},
      {"systemd-cgroup", no_argument, 0, 's'}, {"cgroup-manager", required_argument, 0, 'c'},
      {"rootless", required_argument, 0, 'R'}, {"version", no_argument, 0, 'v'},
      {"help", no_argument, 0, 'h'}, {"criu", required_argument, 0, 'C'}, {0, 0, 0, 0}};
  int c;
  bool root_given = false;
  const char *log_format = "text";
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+vh", gopts, NULL)) != -1) {
    switch (c) {
      case 'r': g.root = optarg; root_given = true; break;
      case 'l': g.log = optarg; break;
      case 'f': log_format = optarg; break;
      case 'D': g.debug = 1; break;
      case 's': g.systemd = 1; break;
      case 'c': g.cgroup_manager = optarg; break;
      case 'R': g.rootless = !strcmp(optarg, "true"); break;
      case 'C': break;
      case 'v':
        {
          const struct scmp_version *sv = seccomp_version();
          printf("cell version %s\ncommit: %s\nspec: 1.2.0\nlibseccomp: %u.%u.%u\n", CELL_VERSION, CELL_COMMIT,
                 sv ? sv->major : 0, sv ? sv->minor : 0, sv ? sv->micro : 0);
        }
        return 0;
      case 'h': print_help(); return 0;
      default:
        fprintf(stderr, "cell: unknown global option %s\n", argv[optind - 1]);
        return 1;
    }
  }
  struct cell_err err = {0};
  if (!root_given && geteuid() != 0) {
    /* rootless: a state root the user owns, as runc uses $XDG_RUNTIME_DIR/runc */
    static char rootbuf[4096];
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg && *xdg) snprintf(rootbuf, sizeof rootbuf, "%s/cell", xdg);
    else snprintf(rootbuf, sizeof rootbuf, "/tmp/cell-%u", (unsigned)geteuid());
    g.root = rootbuf;
  }
  if (strcmp(log_format, "text") && strcmp(log_format, "json")) {
    fprintf(stderr, "cell: --log-format: unknown format \"%s\" (text or json)\n", log_format);
    return 1;
  }
  if (cell_log_open(g.log, !strcmp(log_format, "json"), g.debug, &err) < 0) {
    fprintf(stderr, "cell: %s\n", err.msg);
    return 1;
  }
  cell_cg_set_warn(cg_warn);
  if (optind >= argc) {
    print_help();
    return 1;
  }
  const char *name = argv[optind];
  const struct command *cmd = NULL;
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (!strcmp(commands[i].name, name)) cmd = &commands[i];
  if (!cmd) {
    cell_error(&err, 0, "unknown command \"%s\" (see cell --help)", name);
    return fail(&err);
  }
  int cargc = argc - optind;
  char **cargv = argv + optind;
  if (wants_help(cargc, cargv)) {
    printf("Usage: cell %s\n", cmd->usage);
    return 0;
  }
  if (g.cgroup_manager && strcmp(g.cgroup_manager, "cgroupfs") && strcmp(g.cgroup_manager, "systemd") &&
      strcmp(g.cgroup_manager, "disabled")) {
    cell_error(&err, 0, "--cgroup-manager: unknown manager \"%s\" (cgroupfs, systemd or disabled)", g.cgroup_manager);
    return fail(&err);
  }
  if ((g.systemd || (g.cgroup_manager && !strcmp(g.cgroup_manager, "systemd"))) && !systemd_running() &&
      (!strcmp(name, "create") || !strcmp(name, "run"))) {
    cell_error(&err, 0, "systemd cgroup manager requested (--systemd-cgroup) but systemd is not running on this host");
    return fail(&err);
  }
  if (!strcmp(name, "create") || !strcmp(name, "run") || !strcmp(name, "exec")) {
    if (cell_protect_self_exe(argv, &err) < 0) return fail(&err);
  }
  return cmd->fn(cargc, cargv);
}
