/* exec.c - `cell exec`: run another process in a running container's
 * namespaces and cgroup, with its own capabilities, user and seccomp. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/affinity.h"
#include "runtime/caps.h"
#include "cgroups/cgroup.h"
#include "runtime/console.h"
#include "runtime/container.h"
#include "runtime/internal.h"
#include "lib/log.h"
#include "runtime/mounts.h"
#include "runtime/procattr.h"
#include "runtime/cell_seccomp.h"
#include "runtime/seccomp_cache.h"
#include "runtime/spec.h"
#include "lib/sync.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* ---------- shared by the container init and exec ---------- */

/* Mark every fd from `from` up close-on-exec. */
void cell_cloexec_from(int from) {
  if (syscall(SYS_close_range, (unsigned)from, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  for (int fd = from; fd < 65536; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* Close every fd from `from` up except those in keep[]: the caller's fds must
 * be gone before anything resolves a path the config names (process.cwd as
 * /proc/self/fd/N would otherwise enter a host directory). */
void cell_close_fds_from(int from, const int *keep, size_t nkeep) {
  int k[8];
  size_t n = 0;
  for (size_t i = 0; i < nkeep && n < sizeof k / sizeof *k; i++)
    if (keep[i] >= from) k[n++] = keep[i];
  for (size_t i = 1; i < n; i++) /* insertion sort: a handful of fds */
    for (size_t j = i; j > 0 && k[j - 1] > k[j]; j--) {
      int t = k[j];
      k[j] = k[j - 1];
      k[j - 1] = t;
    }
  unsigned lo = (unsigned)from;
  for (size_t i = 0; i <= n; i++) {
    unsigned hi = i < n ? (unsigned)k[i] : ~0U; /* close [lo, hi) */
    if (hi > lo && syscall(SYS_close_range, lo, hi - 1, 0U) < 0)
      for (unsigned fd = lo; fd < hi && fd < 65536; fd++) close((int)fd);
    if (i < n) lo = (unsigned)k[i] + 1;
  }
}

/* chdir to process.cwd resolved inside the current root (openat2
 * RESOLVE_IN_ROOT, no magic links), creating it when asked; a cwd that ends
 * up outside the root is refused. */
int cell_enter_cwd(const char *cwd, bool create, const char *field, struct cell_err *err) {
  cleanup_close int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return cell_error(err, errno, "%s: open the container's root", field);
  cleanup_close int fd = cell_open_in_root(root, cwd, create, false, err);
  if (fd < 0) return cell_error_wrap(err, "%s: \"%s\"", field, cwd);
  struct stat sb;
  if (fstat(fd, &sb) < 0) return cell_error(err, errno, "%s: stat %s", field, cwd);
  if (!S_ISDIR(sb.st_mode)) return cell_error(err, ENOTDIR, "%s: chdir to %s", field, cwd);
  if (fchdir(fd) < 0) return cell_error(err, errno, "%s: chdir to %s", field, cwd);
  /* getcwd fails (ENOENT) for a directory the root cannot reach. */
  char here[PATH_MAX];
  if (!getcwd(here, sizeof here) && errno == ENOENT)
    return cell_error(err, 0, "%s: \"%s\" is outside the container's root", field, cwd);
  return 0;
}

/* The final steps shared by init and exec: user, capabilities, NNP, seccomp, execve. */
/* HOME from the container's /etc/passwd when the environment has none, as runc does. */
static char **env_with_home(char **env, uid_t uid) {
  size_t n = 0;
  for (char **e = env; e && *e; e++, n++)
    if (!strncmp(*e, "HOME=", 5)) return env;
  const char *home = "/";
  char line[1024], found[PATH_MAX];
  FILE *f = fopen("/etc/passwd", "re");
  while (f && fgets(line, sizeof line, f)) {
    char *fields[7];
    int k = 0;
    char *save, *t = line;
    for (; k < 7; k++) {
      fields[k] = strsep(&t, ":");
      if (!fields[k]) break;
    }
    (void)save;
    if (k == 7 && (uid_t)strtoul(fields[2], NULL, 10) == uid && fields[5][0]) {
      snprintf(found, sizeof found, "%s", fields[5]);
      home = found;
      break;
    }
  }
  if (f) fclose(f);
  char **out = calloc(n + 2, sizeof *out);
  if (!out) return env;
  for (size_t i = 0; i < n; i++) out[i] = env[i];
  if (asprintf(&out[n], "HOME=%s", home) < 0) return env;
  return out;
}

void cell_finish_exec(int sock, const char *path, char **args, char **env, struct cell_procattr *pa,
                      struct cell_caps *caps, bool has_caps, struct cell_seccomp *sc, bool seccomp_loaded) {
  struct cell_err err = {0};
  int nfd;
  env = env_with_home(env, pa->uid);
  if (!pa->no_new_privileges && sc && !seccomp_loaded) {
    if (cell_seccomp_load(sc, &nfd, &err) < 0) goto fail;
    seccomp_loaded = true;
  }
  if (cell_procattr_apply_user(pa, &err) < 0) goto fail;
  if (has_caps && cell_caps_apply(caps, &err) < 0) goto fail;
  if (cell_procattr_apply_final(pa, &err) < 0) goto fail;
  if (sc && !seccomp_loaded && cell_seccomp_load(sc, &nfd, &err) < 0) goto fail;
  execve(path, args, env ? env : (char *[]){NULL});
  cell_error(&err, errno, "exec: \"%s\"", args[0]);
fail:
  if (sock >= 0) cell_sync_fail(sock, err.msg);
  dprintf(2, "cell: %s\n", err.msg);
  _exit(127);
}


static const struct {
  const char *name;
  int flag;
} ns_files[] = {{"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS},   {"pid", CLONE_NEWPID},
                {"net", CLONE_NEWNET},   {"ipc", CLONE_NEWIPC},  {"uts", CLONE_NEWUTS},
                {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME}};

static int ns_flags_to_join(pid_t pid) {
  int flags = 0;
  for (size_t i = 0; i < sizeof ns_files / sizeof *ns_files; i++) {
    char a[64], b[64];
    struct stat sa, sb;
    snprintf(a, sizeof a, "/proc/self/ns/%s", ns_files[i].name);
    snprintf(b, sizeof b, "/proc/%d/ns/%s", (int)pid, ns_files[i].name);
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0 && (sa.st_ino != sb.st_ino || sa.st_dev != sb.st_dev))
      flags |= ns_files[i].flag;
  }
  return flags;
}

/* Build the process object from the command line, on top of the container's process. */
static cJSON *process_from_flags(const struct cell_exec_opts *o, const cJSON *base, struct cell_err *err) {
  cJSON *p = base ? cJSON_Duplicate(base, 1) : cJSON_CreateObject();
  cJSON *args = cJSON_CreateArray();
  for (char **a = o->args; a && *a; a++) cJSON_AddItemToArray(args, cJSON_CreateString(*a));
  cJSON_ReplaceItemInObject(p, "args", args);
  if (!cJSON_GetObjectItem(p, "args")) cJSON_AddItemToObject(p, "args", args);
  cJSON_DeleteItemFromObject(p, "terminal");
  cJSON_AddBoolToObject(p, "terminal", o->tty);
  cJSON_DeleteItemFromObject(p, "consoleSize");
  if (o->env && *o->env) {
    cJSON *env = cJSON_GetObjectItem(p, "env");
    if (!env) env = cJSON_AddArrayToObject(p, "env");
    for (char **e = o->env; *e; e++) {
      size_t kl = strcspn(*e, "=");
      for (int i = cJSON_GetArraySize(env) - 1; i >= 0; i--) {
        const char *v = cJSON_GetArrayItem(env, i)->valuestring;
        if (v && !strncmp(v, *e, kl) && v[kl] == '=') cJSON_DeleteItemFromArray(env, i);
      }
      cJSON_AddItemToArray(env, cJSON_CreateString(*e));
    }
  }
  if (o->cwd) {
    cJSON_DeleteItemFromObject(p, "cwd");
    cJSON_AddStringToObject(p, "cwd", o->cwd);
  }
  if (o->user) {
    char *end;
    unsigned long uid = strtoul(o->user, &end, 10);
    unsigned long gid = 0;
    if (end == o->user || (*end && *end != ':')) {
      cJSON_Delete(p);
      cell_error(err, 0, "--user: \"%s\" must be UID[:GID] (numeric)", o->user);
      return NULL;
    }
    if (*end == ':') {
      char *e2;
      gid = strtoul(end + 1, &e2, 10);
      if (e2 == end + 1 || *e2) {
        cJSON_Delete(p);
        cell_error(err, 0, "--user: \"%s\" must be UID[:GID] (numeric)", o->user);
        return NULL;
      }
    }
    cJSON_DeleteItemFromObject(p, "user");
    cJSON *u = cJSON_AddObjectToObject(p, "user");
    cJSON_AddNumberToObject(u, "uid", (double)uid);
    cJSON_AddNumberToObject(u, "gid", (double)gid);
  }
  if (o->caps && *o->caps) {
    cJSON *c = cJSON_GetObjectItem(p, "capabilities");
    if (!c) c = cJSON_AddObjectToObject(p, "capabilities");
    const char *sets[] = {"bounding", "effective", "permitted", "ambient", "inheritable"};
    for (size_t s = 0; s < 5; s++) {
      cJSON *arr = cJSON_GetObjectItem(c, sets[s]);
      if (!arr) arr = cJSON_AddArrayToObject(c, sets[s]);
      for (char **cap = o->caps; *cap; cap++) cJSON_AddItemToArray(arr, cJSON_CreateString(*cap));
    }
  }
  if (o->no_new_privs) {
    cJSON_DeleteItemFromObject(p, "noNewPrivileges");
    cJSON_AddBoolToObject(p, "noNewPrivileges", 1);
  }
  return p;
}

static const char *env_get(const cJSON *env, const char *key) {
  size_t kl = strlen(key);
  const cJSON *it;
  cJSON_ArrayForEach(it, env) {
    if (cJSON_IsString(it) && !strncmp(it->valuestring, key, kl) && it->valuestring[kl] == '=')
      return it->valuestring + kl + 1;
  }
  return NULL;
}

/* Everything exec holds between its phases. */
struct exec_ctx {
  const struct cell_exec_opts *o;
  int rootfd, dfd;
  struct cell_state st;
  bool st_ok;
  cJSON *cfg, *proc;
  struct cell_caps caps;
  bool has_caps;
  struct cell_procattr pa;
  bool pa_ok;
  struct cell_seccomp *sc;
  struct cell_cgroup *cg;
  int socks[2], rootdir, pidfd;
  char **args, **env;
  bool tty;
  const char *cwd;
  int joinflags;
  struct cell_cg_self self;
  bool self_place;
  pid_t c1, child; /* the process in the container (the same pid once spawned) */
  int master;
  enum cell_affinity aff; /* NARROW: the child takes cpus (affinity.h) */
  cpu_set_t cpus;
};

/* Phase: the container's state (running, not paused) and its saved config. */
static int exec_load_state(struct exec_ctx *x, struct cell_err *err) {
  const struct cell_exec_opts *o = x->o;
  if (cell_id_valid(o->id, err) < 0) return -1;
  x->rootfd = cell_root_open(o->root, false, err);
  if (x->rootfd < 0) return cell_error(err, 0, "container does not exist: %s", o->id);
  x->dfd = cell_state_lock(x->rootfd, o->id, err);
  if (x->dfd < 0) return -1;
  if (cell_state_load(x->dfd, o->id, &x->st, err) < 0) return -1;
  x->st_ok = true;
  enum cell_status status = cell_container_status(x->dfd, &x->st);
  if (status == CELL_STOPPED) return cell_error(err, 0, "cannot exec in a stopped container: container not running");
  if (status == CELL_PAUSED) return cell_error(err, 0, "cannot exec in a paused container");
  int cfd = openat(x->dfd, "config.json", O_RDONLY | O_CLOEXEC);
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", cfd);
  char *text = cfd >= 0 ? cell_read_file(path, NULL, err) : NULL;
  if (cfd >= 0) close(cfd);
  x->cfg = text ? cJSON_Parse(text) : NULL;
  free(text);
  if (!x->cfg) return cell_error(err, 0, "read the configuration of %s", o->id);
  return 0;
}

/* Phase: the process (--process or the flags over the config's), its
 * capabilities, attributes and seccomp filter, and what to join. */
static int exec_prepare(struct exec_ctx *x, struct cell_err *err) {
  const struct cell_exec_opts *o = x->o;
  const cJSON *linux_obj = cJSON_GetObjectItem(x->cfg, "linux");
  if (o->process_json) {
    x->proc = cell_json_parse_doc(o->process_json, "--process", "process", err);
    if (!x->proc) return -1;
    if (!cJSON_IsObject(x->proc)) return cell_error(err, 0, "--process: must be a JSON object");
  } else {
    x->proc = process_from_flags(o, cJSON_GetObjectItem(x->cfg, "process"), err);
    if (!x->proc) return -1;
  }
  if (cell_json_strv(cJSON_GetObjectItem(x->proc, "args"), "process.args", &x->args, err) < 0) return -1;
  if (!x->args || !x->args[0]) return cell_error(err, 0, "process.args: must not be empty");
  if (cell_json_strv(cJSON_GetObjectItem(x->proc, "env"), "process.env", &x->env, err) < 0) return -1;
  const cJSON *cj = cJSON_GetObjectItem(x->proc, "capabilities");
  if (cj) {
    if (cell_caps_parse(cj, &x->caps, err) < 0) return -1;
    x->has_caps = true;
  }
  if (cell_procattr_prepare(x->proc, linux_obj, &x->pa, err) < 0) return -1;
  x->pa_ok = true;
  if (cell_seccomp_build_cached(cJSON_GetObjectItem(linux_obj, "seccomp"), o->root, &x->sc, err) < 0) return -1;
  x->tty = cJSON_IsTrue(cJSON_GetObjectItem(x->proc, "terminal"));
  if (x->tty && !o->console_socket && o->detach)
    return cell_error(err, 0, "cannot allocate tty if cell will detach without setting console socket");
  const cJSON *cwdj = cJSON_GetObjectItem(x->proc, "cwd");
  x->cwd = cJSON_IsString(cwdj) ? cwdj->valuestring : "/";
  if (x->st.cgroup && cell_cg_open(x->st.cgroup, &x->cg, err) < 0) return -1;
  cJSON *ann = x->st.annotations ? cJSON_Parse(x->st.annotations) : NULL;
  int ar = cell_affinity_compute(x->cg, o->id, ann, x->st.pid, "", &x->cpus, &x->aff, err);
  cJSON_Delete(ann);
  if (ar < 0) return -1;
  x->joinflags = ns_flags_to_join(x->st.pid);
  if (x->st.no_pivot) {
    char rp[64];
    snprintf(rp, sizeof rp, "/proc/%d/root", (int)x->st.pid);
    x->rootdir = open(rp, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  }
  return 0;
}

/* In the child, born in the container's pid namespace (the runtime joined
 * it for its children): join the other namespaces, chroot, the console,
 * and exec. */
static void exec_child(struct exec_ctx *x) {
  const struct cell_exec_opts *o = x->o;
  int sock = x->socks[1];
  struct cell_err e = {0};
  struct cell_sync_msg m;
  close(x->socks[0]);
  if (x->self_place) {
    if (cell_cg_self_enter(&x->self, &e) < 0) cell_sync_fail(sock, e.msg);
    cell_cg_self_close(&x->self);
  }
  if (cell_sync_expect(sock, CELL_SYNC_GO, &m) != 1) _exit(1);
  /* after the cgroup move, which resets the affinity to the cpuset */
  if (x->aff == CELL_AFFINITY_NARROW && sched_setaffinity(0, sizeof x->cpus, &x->cpus) < 0) {
    cell_error(&e, errno, "cpu affinity: sched_setaffinity");
    cell_sync_fail(sock, e.msg);
  }
  int rest = x->joinflags & ~CLONE_NEWPID;
  if (rest && setns(x->pidfd, rest) < 0) {
    cell_error(&e, errno, "join the namespaces of container init %d", (int)x->st.pid);
    cell_sync_fail(sock, e.msg);
  }
  close(x->pidfd);
  if (x->rootdir >= 0 && (fchdir(x->rootdir) < 0 || chroot(".") < 0)) {
    cell_error(&e, errno, "chroot into the container root");
    cell_sync_fail(sock, e.msg);
  }
  if (x->rootdir >= 0) close(x->rootdir);
  if (x->tty) {
    int master, slave;
    char name[PATH_MAX];
    if (cell_console_new(&master, &slave, name, sizeof name, &e) < 0) cell_sync_fail(sock, e.msg);
    if (cell_console_make_controlling(slave, &e) < 0) cell_sync_fail(sock, e.msg);
    cell_sync_send_str(sock, CELL_SYNC_CONSOLE, name, master);
    close(master);
  } else {
    setsid();
  }
  int keep[] = {sock, cell_log_fd()};
  cell_close_fds_from(3 + o->preserve_fds, keep, sizeof keep / sizeof *keep);
  if (cell_enter_cwd(x->cwd, false, o->cwd ? "--cwd" : "process.cwd", &e) < 0) cell_sync_fail(sock, e.msg);
  if (cell_procattr_apply_early(&x->pa, &e) < 0) cell_sync_fail(sock, e.msg);
  char exe[PATH_MAX];
  if (cell_find_executable(x->args[0], env_get(cJSON_GetObjectItem(x->proc, "env"), "PATH"), exe, sizeof exe, &e) < 0)
    cell_sync_fail(sock, e.msg);
  cell_cloexec_from(3 + o->preserve_fds);
  for (int i = 3; i < 3 + o->preserve_fds; i++) {
    int fl = fcntl(i, F_GETFD);
    if (fl >= 0) fcntl(i, F_SETFD, fl & ~FD_CLOEXEC);
  }
  cell_finish_exec(sock, exe, x->args, x->env, &x->pa, &x->caps, x->has_caps, x->sc, false);
}

/* Phase: fork the child that joins the container, place it in the cgroup
 * and let it go.  As for create: the process moves itself into the
 * container's cgroup (v1 tasks files opened here), avoiding the global
 * threadgroup lock. */
static int exec_spawn(struct exec_ctx *x, struct cell_err *err) {
  x->pidfd = (int)syscall(SYS_pidfd_open, x->st.pid, 0);
  if (x->pidfd < 0) return cell_error(err, errno, "open the container init %d", (int)x->st.pid);
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, x->socks) < 0) return cell_error(err, errno, "socketpair");
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  if (x->cg) {
    struct cell_err e2;
    x->self_place = cell_cg_self_prepare(x->cg, &x->self, &e2) == 0;
    if (!x->self_place) cell_cg_self_close(&x->self);
  }
  /* Born in the cgroup2 directory, moving itself into the v1 ones: writing
   * its pid to cgroup.procs from here cost 10 ms per exec (the RCU grace
   * period of cgroup_threadgroup_rwsem).  A cgroup2 directory that refuses
   * processes (EBUSY: controllers enabled below it, systemd inside) or an
   * old kernel: fork, and the runtime places it beside the init. */
  /* The process is born in the container's pid namespace: the runtime
   * joins it for its children only (its own pid stays the host's) and goes
   * back right after, one fork fewer than a child that forks again. */
  cleanup_close int own_pidns = -1;
  if (x->joinflags & CLONE_NEWPID) {
    own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    if (own_pidns < 0) return cell_error(err, errno, "open /proc/self/ns/pid");
    if (setns(x->pidfd, CLONE_NEWPID) < 0)
      return cell_error(err, errno, "join the pid namespace of container init %d", (int)x->st.pid);
  }
  x->c1 = -1;
  if (x->self_place && x->self.v2_dirfd >= 0) {
    x->c1 = cell_cg_clone_into(x->self.v2_dirfd, 0);
    if (x->c1 < 0) {
      x->self_place = false;
      cell_cg_self_close(&x->self);
    }
  }
  if (x->c1 < 0) x->c1 = fork();
  int fork_errno = errno;
  if (x->c1 == 0) exec_child(x);
  if (own_pidns >= 0 && setns(own_pidns, CLONE_NEWPID) < 0) {
    cell_error(err, errno, "return to the runtime's own pid namespace");
    if (x->c1 > 0) {
      kill(x->c1, SIGKILL);
      waitpid(x->c1, NULL, 0);
    }
    return -1;
  }
  if (x->c1 < 0) return cell_error(err, fork_errno, "fork into the container");
  x->child = x->c1;
  close(x->pidfd);
  x->pidfd = -1;
  close(x->socks[1]);
  x->socks[1] = -1;
  bool placed = x->self_place;
  if (x->self_place) cell_cg_self_close(&x->self);
  x->self_place = false;
  if (x->cg && !placed && cell_cg_enter_beside(x->cg, x->c1, x->st.pid, err) < 0) {
    kill(x->c1, SIGKILL);
    waitpid(x->c1, NULL, 0);
    return -1;
  }
  /* The lock is not needed while the process runs. */
  close(x->dfd);
  x->dfd = -1;
  cell_sync_send(x->socks[0], CELL_SYNC_GO, NULL, 0, -1);
  return 0;
}

/* Phase: serve the child until execve closes the channel. */
static int exec_await(struct exec_ctx *x, struct cell_err *err) {
  struct cell_sync_msg m;
  for (;;) {
    int n = cell_sync_recv(x->socks[0], &m);
    if (n == 0) break; /* execve closed the socket: success */
    if (n < 0) return cell_error(err, 0, "exec: %s", m.error);
    if (m.type == CELL_SYNC_ERROR) {
      cell_error(err, 0, "%s", m.payload);
      if (m.fd >= 0) close(m.fd);
      if (x->child > 0) waitpid(x->child, NULL, 0);
      return -1;
    } else if (m.type == CELL_SYNC_CONSOLE && m.fd >= 0) {
      if (x->o->console_socket) {
        int r = cell_console_send(x->o->console_socket, m.fd, m.payload, err);
        close(m.fd);
        if (r < 0) {
          cell_error_wrap(err, "--console-socket");
          if (x->child > 0) kill(x->child, SIGKILL);
          return -1;
        }
      } else {
        if (x->master >= 0) close(x->master);
        x->master = m.fd;
      }
    } else if (m.fd >= 0) {
      close(m.fd);
    }
  }
  if (x->child <= 0) return cell_error(err, 0, "exec: the process did not start");
  return 0;
}

/* Phase: the pid file, then (not detached) proxy the console and wait. */
static int exec_wait(struct exec_ctx *x, int *exit_code, struct cell_err *err) {
  if (x->o->pid_file && cell_write_pid_file(x->o->pid_file, x->child, err) < 0) return -1;
  if (x->o->detach) return 0;
  int wst = 0;
  if (x->master >= 0) {
    if (cell_console_proxy(x->master, x->child, 0, 1, &wst, err) < 0) cell_warn("%s", err->msg);
  } else {
    while (waitpid(x->child, &wst, 0) < 0 && errno == EINTR) {
    }
  }
  *exit_code = WIFEXITED(wst) ? WEXITSTATUS(wst) : WIFSIGNALED(wst) ? 128 + WTERMSIG(wst) : 1;
  return 0;
}

static void exec_close(struct exec_ctx *x) {
  if (x->master >= 0) close(x->master);
  if (x->pidfd >= 0) close(x->pidfd);
  if (x->self_place) cell_cg_self_close(&x->self);
  if (x->rootdir >= 0) close(x->rootdir);
  if (x->socks[0] >= 0) close(x->socks[0]);
  if (x->socks[1] >= 0) close(x->socks[1]);
  if (x->cg) cell_cg_free(x->cg);
  cell_seccomp_free(x->sc);
  if (x->pa_ok) cell_procattr_free(&x->pa);
  cell_strv_free(x->args);
  cell_strv_free(x->env);
  cJSON_Delete(x->proc);
  cJSON_Delete(x->cfg);
  if (x->st_ok) cell_state_free(&x->st);
  if (x->dfd >= 0) close(x->dfd);
  if (x->rootfd >= 0) close(x->rootfd);
}

int cell_container_exec(const struct cell_exec_opts *o, int *exit_code, struct cell_err *err) {
  struct exec_ctx x;
  memset(&x, 0, sizeof x);
  x.o = o;
  x.rootfd = x.dfd = x.rootdir = x.pidfd = x.master = -1;
  x.socks[0] = x.socks[1] = -1;
  x.self.v2_dirfd = -1;
  x.c1 = x.child = -1;
  *exit_code = 0;
  int rc = -1;
  if (exec_load_state(&x, err) == 0 && exec_prepare(&x, err) == 0 && exec_spawn(&x, err) == 0 &&
      exec_await(&x, err) == 0 && exec_wait(&x, exit_code, err) == 0)
    rc = 0;
  exec_close(&x);
  return rc;
}
