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

#include "caps.h"
#include "cgroup.h"
#include "console.h"
#include "container.h"
#include "internal.h"
#include "log.h"
#include "procattr.h"
#include "seccomp.h"
#include "spec.h"
#include "sync.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

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

int cell_container_exec(const struct cell_exec_opts *o, int *exit_code, struct cell_err *err) {
  *exit_code = 0;
  if (cell_id_valid(o->id, err) < 0) return -1;
  int rootfd = cell_root_open(o->root, false, err);
  if (rootfd < 0) return cell_error(err, 0, "container does not exist: %s", o->id);
  int dfd = cell_state_lock(rootfd, o->id, err);
  if (dfd < 0) {
    close(rootfd);
    return -1;
  }
  struct cell_state st;
  int rc = -1;
  cJSON *cfg = NULL, *proc = NULL;
  struct cell_caps caps;
  bool has_caps = false;
  struct cell_procattr pa;
  memset(&pa, 0, sizeof pa);
  bool pa_ok = false;
  struct cell_seccomp *sc = NULL;
  struct cell_cgroup *cg = NULL;
  int socks[2] = {-1, -1}, rootdir = -1;
  char **args = NULL, **env = NULL;
  if (cell_state_load(dfd, o->id, &st, err) < 0) {
    close(dfd);
    close(rootfd);
    return -1;
  }
  enum cell_status status = cell_container_status(dfd, &st);
  if (status == CELL_STOPPED) {
    cell_error(err, 0, "cannot exec in a stopped container: container not running");
    goto out;
  }
  if (status == CELL_PAUSED) {
    cell_error(err, 0, "cannot exec in a paused container");
    goto out;
  }
  {
    int cfd = openat(dfd, "config.json", O_RDONLY | O_CLOEXEC);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", cfd);
    char *text = cfd >= 0 ? cell_read_file(path, NULL, err) : NULL;
    if (cfd >= 0) close(cfd);
    cfg = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!cfg) {
      cell_error(err, 0, "read the configuration of %s", o->id);
      goto out;
    }
  }
  const cJSON *linux_obj = cJSON_GetObjectItem(cfg, "linux");
  if (o->process_json) {
    proc = cell_json_parse_doc(o->process_json, "--process", "process", err);
    if (!proc) goto out;
    if (!cJSON_IsObject(proc)) {
      cell_error(err, 0, "--process: must be a JSON object");
      goto out;
    }
  } else {
    proc = process_from_flags(o, cJSON_GetObjectItem(cfg, "process"), err);
    if (!proc) goto out;
  }
  if (cell_json_strv(cJSON_GetObjectItem(proc, "args"), "process.args", &args, err) < 0) goto out;
  if (!args || !args[0]) {
    cell_error(err, 0, "process.args: must not be empty");
    goto out;
  }
  if (cell_json_strv(cJSON_GetObjectItem(proc, "env"), "process.env", &env, err) < 0) goto out;
  const cJSON *cj = cJSON_GetObjectItem(proc, "capabilities");
  if (cj) {
    if (cell_caps_parse(cj, &caps, err) < 0) goto out;
    has_caps = true;
  }
  if (cell_procattr_prepare(proc, linux_obj, &pa, err) < 0) goto out;
  pa_ok = true;
  if (cell_seccomp_build(cJSON_GetObjectItem(linux_obj, "seccomp"), &sc, err) < 0) goto out;
  bool tty = cJSON_IsTrue(cJSON_GetObjectItem(proc, "terminal"));
  if (tty && !o->console_socket && o->detach) {
    cell_error(err, 0, "cannot allocate tty if cell will detach without setting console socket");
    goto out;
  }
  const cJSON *cwdj = cJSON_GetObjectItem(proc, "cwd");
  const char *cwd = cJSON_IsString(cwdj) ? cwdj->valuestring : "/";
  if (st.cgroup && cell_cg_open(st.cgroup, &cg, err) < 0) goto out;
  int joinflags = ns_flags_to_join(st.pid);
  if (st.no_pivot) {
    char rp[64];
    snprintf(rp, sizeof rp, "/proc/%d/root", (int)st.pid);
    rootdir = open(rp, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  }
  int pidfd = (int)syscall(SYS_pidfd_open, st.pid, 0);
  if (pidfd < 0) {
    cell_error(err, errno, "open the container init %d", (int)st.pid);
    goto out;
  }
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, socks) < 0) {
    cell_error(err, errno, "socketpair");
    close(pidfd);
    goto out;
  }
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  /* As for create: the process moves itself into the container's cgroup
   * (v1 tasks files opened here), avoiding the global threadgroup lock. */
  struct cell_cg_self self = {.v2_dirfd = -1};
  bool self_place = false;
  if (cg) {
    struct cell_err e2;
    self_place = cell_cg_self_prepare(cg, &self, &e2) == 0 && self.v2_dirfd < 0;
    if (!self_place) cell_cg_self_close(&self);
  }
  pid_t c1 = fork();
  if (c1 < 0) {
    cell_error(err, errno, "fork");
    close(pidfd);
    if (self_place) cell_cg_self_close(&self);
    goto out;
  }
  if (c1 == 0) {
    int sock = socks[1];
    close(socks[0]);
    char msg[64];
    struct cell_err e = {0};
    if (self_place) {
      if (cell_cg_self_enter(&self, &e) < 0) cell_sync_fail(sock, e.msg);
      cell_cg_self_close(&self);
    }
    if (cell_sync_recv(sock, msg, sizeof msg, NULL) <= 0) _exit(1);
    if (joinflags && setns(pidfd, joinflags) < 0) {
      cell_error(&e, errno, "join the namespaces of container init %d", (int)st.pid);
      cell_sync_fail(sock, e.msg);
    }
    close(pidfd);
    pid_t c2 = fork();
    if (c2 < 0) {
      cell_error(&e, errno, "fork into the container");
      cell_sync_fail(sock, e.msg);
    }
    if (c2 > 0) {
      snprintf(msg, sizeof msg, "P%d", (int)c2);
      cell_sync_send(sock, msg, -1);
      _exit(0);
    }
    if (rootdir >= 0 && (fchdir(rootdir) < 0 || chroot(".") < 0)) {
      cell_error(&e, errno, "chroot into the container root");
      cell_sync_fail(sock, e.msg);
    }
    if (rootdir >= 0) close(rootdir);
    if (tty) {
      int master, slave;
      char name[PATH_MAX];
      if (cell_console_new(&master, &slave, name, sizeof name, &e) < 0) cell_sync_fail(sock, e.msg);
      if (cell_console_make_controlling(slave, &e) < 0) cell_sync_fail(sock, e.msg);
      char tmsg[PATH_MAX + 2];
      snprintf(tmsg, sizeof tmsg, "T%s", name);
      cell_sync_send(sock, tmsg, master);
      close(master);
    } else {
      setsid();
    }
    int keep[] = {sock, cell_log_fd()};
    cell_close_fds_from(3 + o->preserve_fds, keep, sizeof keep / sizeof *keep);
    if (cell_enter_cwd(cwd, false, o->cwd ? "--cwd" : "process.cwd", &e) < 0) cell_sync_fail(sock, e.msg);
    if (cell_procattr_apply_early(&pa, &e) < 0) cell_sync_fail(sock, e.msg);
    char exe[PATH_MAX];
    if (cell_find_executable(args[0], env_get(cJSON_GetObjectItem(proc, "env"), "PATH"), exe, sizeof exe, &e) < 0)
      cell_sync_fail(sock, e.msg);
    cell_cloexec_from(3 + o->preserve_fds);
    for (int i = 3; i < 3 + o->preserve_fds; i++) {
      int fl = fcntl(i, F_GETFD);
      if (fl >= 0) fcntl(i, F_SETFD, fl & ~FD_CLOEXEC);
    }
    cell_finish_exec(sock, exe, args, env, &pa, &caps, has_caps, sc, false);
  }
  close(pidfd);
  close(socks[1]);
  socks[1] = -1;
  if (self_place) cell_cg_self_close(&self);
  if (cg && !self_place && cell_cg_enter(cg, c1, err) < 0) {
    kill(c1, SIGKILL);
    waitpid(c1, NULL, 0);
    goto out;
  }
  /* The lock is not needed while the process runs. */
  close(dfd);
  dfd = -1;
  cell_sync_send(socks[0], "go", -1);
  pid_t child = -1;
  int master = -1;
  char msg[4200];
  for (;;) {
    int fd = -1;
    int n = cell_sync_recv(socks[0], msg, sizeof msg, &fd);
    if (n <= 0) break; /* execve closed the socket: success */
    if (msg[0] == 'E') {
      cell_error(err, 0, "%s", msg + 1);
      if (child > 0) waitpid(child, NULL, 0);
      waitpid(c1, NULL, WNOHANG);
      goto out;
    } else if (msg[0] == 'P') {
      child = (pid_t)atoi(msg + 1);
      waitpid(c1, NULL, 0);
    } else if (msg[0] == 'T') {
      if (o->console_socket) {
        int r = cell_console_send(o->console_socket, fd, msg + 1, err);
        close(fd);
        if (r < 0) {
          cell_error_wrap(err, "--console-socket");
          if (child > 0) kill(child, SIGKILL);
          goto out;
        }
      } else {
        master = fd;
      }
    }
  }
  if (child <= 0) {
    cell_error(err, 0, "exec: the process did not start");
    goto out;
  }
  if (o->pid_file && cell_write_pid_file(o->pid_file, child, err) < 0) goto out;
  rc = 0;
  if (o->detach) {
    if (master >= 0) close(master);
    goto out;
  }
  int wst = 0;
  if (master >= 0) {
    if (cell_console_proxy(master, child, 0, 1, &wst, err) < 0) cell_warn("%s", err->msg);
    close(master);
  } else {
    while (waitpid(child, &wst, 0) < 0 && errno == EINTR) {
    }
  }
  *exit_code = WIFEXITED(wst) ? WEXITSTATUS(wst) : WIFSIGNALED(wst) ? 128 + WTERMSIG(wst) : 1;
out:
  if (rootdir >= 0) close(rootdir);
  if (socks[0] >= 0) close(socks[0]);
  if (socks[1] >= 0) close(socks[1]);
  if (cg) cell_cg_free(cg);
  cell_seccomp_free(sc);
  if (pa_ok) cell_procattr_free(&pa);
  cell_strv_free(args);
  cell_strv_free(env);
  cJSON_Delete(proc);
  cJSON_Delete(cfg);
  cell_state_free(&st);
  if (dfd >= 0) close(dfd);
  close(rootfd);
  return rc;
}
