/* ops.c - start, run, state, kill, delete, pause/resume, ps, list, update, events. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/cgroup.h"
#include "runtime/affinity.h"
#include "runtime/console.h"
#include "runtime/sysinit.h"
#include "lib/file.h"
#include "runtime/container.h"
#include "runtime/hooks.h"
#include "runtime/internal.h"
#include "lib/log.h"
#include "runtime/spec.h"

enum cell_status cell_container_status(int dirfd, const struct cell_state *st) {
  /* a create that did not finish (its lock is ours now): nothing to start */
  if (cell_state_half_made(dirfd) || !cell_state_pid_alive(st)) return CELL_STOPPED;
  struct stat sb;
  if (fstatat(dirfd, "exec.fifo", &sb, 0) == 0) return CELL_CREATED;
  if (st->cgroup) {
    struct cell_cgroup *cg;
    struct cell_err e;
    if (cell_cg_open(st->cgroup, &cg, &e) == 0) {
      bool frozen = false;
      int r = cell_cg_is_frozen(cg, &frozen, &e);
      cell_cg_free(cg);
      if (r == 0 && frozen) return CELL_PAUSED;
    }
  }
  return CELL_RUNNING;
}

/* Open + lock + load; returns the locked dirfd. */
static int load_locked(const char *root, const char *id, int *rootfd, struct cell_state *st, struct cell_err *err) {
  *rootfd = -1;
  if (cell_id_valid(id, err) < 0) return -1;
  int rfd = cell_root_open(root, false, err);
  if (rfd < 0) {
    if (err->errnum == ENOENT) cell_error(err, 0, "container does not exist: %s", id);
    return -1;
  }
  int dfd = cell_state_lock(rfd, id, err);
  if (dfd < 0) {
    close(rfd);
    return -1;
  }
  if (cell_state_load(dfd, id, st, err) < 0) {
    close(dfd);
    close(rfd);
    return -1;
  }
  *rootfd = rfd;
  return dfd;
}

static cJSON *load_config_copy(int dirfd) {
  int fd = openat(dirfd, "config.json", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  char *text = cell_read_file(path, NULL, NULL);
  close(fd);
  if (!text) return NULL;
  cJSON *j = cJSON_Parse(text);
  free(text);
  return j;
}

static void hooks_warn(int dirfd, const struct cell_state *st, const char *which, enum cell_status status) {
  cJSON *cfg = load_config_copy(dirfd);
  const cJSON *h = cfg ? cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "hooks"), which) : NULL;
  if (h) {
    char *sj = cell_state_json(st, status);
    struct cell_err e = {0};
    if (cell_hooks_run(h, which, sj, &e) < 0) cell_warn("%s", e.msg);
    free(sj);
  }
  cJSON_Delete(cfg);
}

static long us_since(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long)((t.tv_sec - t0->tv_sec) * 1000000 + (t.tv_nsec - t0->tv_nsec) / 1000);
}

static int release_fifo(int dirfd, const struct cell_state *st, struct cell_err *err) {
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int fd = openat(dirfd, "exec.fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return cell_error(err, errno, "open exec.fifo of %s", st->id);
  for (;;) {
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    int r = poll(&pf, 1, 100);
    if (r > 0 && (pf.revents & POLLIN)) {
      char c;
      if (read(fd, &c, 1) == 1) break;
    }
    if (r > 0 && (pf.revents & POLLHUP) && !(pf.revents & POLLIN)) {
      close(fd);
      return cell_error(err, 0, "container init of %s exited before start", st->id);
    }
    if (!cell_state_pid_alive(st)) {
      close(fd);
      return cell_error(err, 0, "cannot start a container that has stopped");
    }
  }
  close(fd);
  unlinkat(dirfd, "exec.fifo", 0);
  cell_debug("start: exec.fifo of %s released in %ld us", st->id, us_since(&t0));
  return 0;
}

int cell_container_start(const char *root, const char *id, struct cell_err *err) {
  struct cell_state st;
  int rootfd;
  int dfd = load_locked(root, id, &rootfd, &st, err);
  if (dfd < 0) return -1;
  int rc = -1;
  enum cell_status s = cell_container_status(dfd, &st);
  if (s == CELL_STOPPED) cell_error(err, 0, "cannot start a container that has stopped");
  else if (s != CELL_CREATED) cell_error(err, 0, "cannot start an already running container");
  else if (release_fifo(dfd, &st, err) == 0) {
    rc = 0;
    hooks_warn(dfd, &st, "poststart", CELL_RUNNING);
  }
  cell_state_free(&st);
  close(dfd);
  close(rootfd);
  return rc;
}

int cell_container_state(const char *root, const char *id, char **json, struct cell_err *err) {
  struct cell_state st;
  int rootfd;
  int dfd = load_locked(root, id, &rootfd, &st, err);
  if (dfd < 0) return -1;
  *json = cell_state_json(&st, cell_container_status(dfd, &st));
  cell_state_free(&st);
  close(dfd);
  close(rootfd);
  return 0;
}

static int open_cg(const struct cell_state *st, struct cell_cgroup **cg, struct cell_err *err) {
  *cg = NULL;
  if (!st->cgroup) return 0;
  return cell_cg_open(st->cgroup, cg, err);
}

int cell_container_kill(const char *root, const char *id, int sig, bool all, struct cell_err *err) {
  struct cell_state st;
  int rootfd;
  int dfd = load_locked(root, id, &rootfd, &st, err);
  if (dfd < 0) return -1;
  int rc = 0;
  enum cell_status s = cell_container_status(dfd, &st);
  sig = cell_sysinit_stop_signal(st.annotations, sig); /* systemd mode: TERM -> SIGRTMIN+3 */
  if (all) {
    struct cell_cgroup *cg;
    if (open_cg(&st, &cg, err) < 0) rc = -1;
    else if (cg) {
      rc = cell_cg_kill_all(cg, sig, err);
      cell_cg_free(cg);
    } else if (s != CELL_STOPPED && kill(st.pid, sig) < 0) {
      rc = cell_error(err, errno, "kill %d", (int)st.pid);
    }
  } else if (s == CELL_STOPPED) {
    rc = cell_error(err, 0, "container not running");
  } else if (kill(st.pid, sig) < 0) {
    rc = cell_error(err, errno, "signal %d to container init %d", sig, (int)st.pid);
  } else if (s == CELL_PAUSED && sig == SIGKILL) {
    struct cell_cgroup *cg;
    if (open_cg(&st, &cg, err) == 0 && cg) {
      cell_cg_freeze(cg, false, err);
      cell_cg_free(cg);
    }
  }
  cell_state_free(&st);
  close(dfd);
  close(rootfd);
  return rc;
}

/* Past the point of no return of exit (PF_EXITING): a pid namespace's init
 * stays so until every process of the namespace has been reaped, which may
 * take a host's slow reaper a while; it holds no cgroup by then. */
static bool pid_exiting(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  if (cell_read_small(path, buf, sizeof buf) <= 0) return true;
  char *p = strrchr(buf, ')');
  for (int field = 2; p && *p && field < 9; p++)
    if (*p == ' ') field++;
  return p && (strtoul(p, NULL, 10) & 0x4 /* PF_EXITING */);
}

static void wait_gone(const struct cell_state *st) {
  for (int i = 0; i < 2000 && cell_state_pid_alive(st) && !pid_exiting(st->pid); i++) {
    waitpid(st->pid, NULL, WNOHANG);
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
}

/* Kill every process of the container: through its cgroups (strays in other
 * freezer cgroups included) and its init's pid (checked by start time, so a
 * reused pid is never hit), then remove its cgroups.  Every wait is bounded;
 * cgroups that stay busy are an error, and the state is kept for a retry. */
static int delete_processes(const struct cell_state *st, struct cell_err *err) {
  struct cell_cgroup *cg = NULL;
  struct cell_err e = {0};
  if (open_cg(st, &cg, &e) < 0) {
    cell_warn("%s", e.msg);
    cg = NULL;
  }
  int rc = 0;
  /* A stopped container's cgroups are usually empty already: then removing
   * them is the proof that no process is left, and the freeze-and-scan of
   * every hierarchy below is not needed.  A busy one goes the long way. */
  if (cg && !cell_state_pid_alive(st) && cell_cg_try_destroy(cg, &e) == 0) {
    cell_cg_free(cg);
    return 0;
  }
  for (int round = 0; round < 3; round++) {
    if (cg) cell_cg_kill_all(cg, SIGKILL, &e);
    if (cell_state_pid_alive(st)) kill(st->pid, SIGKILL);
    wait_gone(st);
    if (!cg) break;
    int tries;
    for (tries = 0; tries < 10 && cell_cg_destroy(cg, &e) < 0; tries++) {
      struct timespec ts = {0, 10000000};
      nanosleep(&ts, NULL);
    }
    if (tries < 10) break;
    if (round == 2) rc = cell_error(err, e.errnum, "delete %s: %s (state kept: delete --force again)", st->id, e.msg);
  }
  if (cg) cell_cg_free(cg);
  return rc;
}

int cell_container_delete(const char *root, const char *id, bool force, struct cell_err *err) {
  struct cell_state st;
  int rootfd = -1;
  int dfd = -1;
  if (cell_id_valid(id, err) < 0) return -1;
  rootfd = cell_root_open(root, false, err);
  if (rootfd < 0) {
    if (force) return 0;
    return cell_error(err, 0, "container does not exist: %s", id);
  }
  dfd = cell_state_lock(rootfd, id, err);
  if (dfd < 0) {
    close(rootfd);
    return force ? 0 : -1;
  }
  if (cell_state_load(dfd, id, &st, err) < 0) {
    /* state.json unreadable: nothing recorded to clean but the directory */
    close(dfd);
    int r = cell_state_remove(rootfd, id, err);
    close(rootfd);
    return r;
  }
  int rc = 0;
  enum cell_status s = cell_container_status(dfd, &st);
  if (s != CELL_STOPPED && s != CELL_CREATED && !force) {
    rc = cell_error(err, 0, "cannot delete container %s that is not stopped: %s", id, cell_status_name(s));
    goto out;
  }
  /* also for a stopped one: processes left by its init (a shared pid
   * namespace) or by a create that was killed */
  rc = delete_processes(&st, err);
  if (rc < 0) goto out;
  if (!cell_state_half_made(dfd)) hooks_warn(dfd, &st, "poststop", CELL_STOPPED);
  rc = cell_state_remove(rootfd, id, err);
out:
  cell_state_free(&st);
  close(dfd);
  close(rootfd);
  return rc;
}

int cell_container_pause(const char *root, const char *id, bool pause, struct cell_err *err) {
  struct cell_state st;
  int rootfd;
  int dfd = load_locked(root, id, &rootfd, &st, err);
  if (dfd < 0) return -1;
  int rc = -1;
  enum cell_status s = cell_container_status(dfd, &st);
  struct cell_cgroup *cg = NULL;
  if (pause && s != CELL_RUNNING && s != CELL_CREATED) cell_error(err, 0, "container not running");
  else if (!pause && s != CELL_PAUSED) cell_error(err, 0, "container not paused");
  else if (open_cg(&st, &cg, err) < 0) {
  } else if (!cg) cell_error(err, 0, "container %s has no cgroup to freeze", id);
  else rc = cell_cg_freeze(cg, pause, err);
  if (cg) cell_cg_free(cg);
  cell_state_free(&st);
  close(dfd);
  close(rootfd);
  return rc;
}

int cell_container_pids(const char *root, const char *id, pid_t **pids, size_t *n, struct cell_err *err) {
  struct cell_state st;
  int rootfd;
  *pids = NULL;
  *n = 0;
  int dfd = load_locked(root, id, &rootfd, &st, err);
  if (dfd < 0) return -1;
  struct cell_cgroup *cg = NULL;
  int rc = open_cg(&st, &cg, err);
  if (rc == 0 && cg) rc = cell_cg_pids(cg, pids, n, err);
  else if (rc == 0 && cell_state_pid_alive(&st)) {
    *pids = malloc(sizeof **pids);
    (*pids)[0] = st.pid;
    *n = 1;
  }
  if (cg) cell_cg_free(cg);
  cell_state_free(&st);
  close(dfd);
  close(rootfd);
  return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int cell_container_list(const char *root, struct cell_state **out, enum cell_status **status, size_t *n,
                        struct cell_err *err) {
  *out = NULL;
  *status = NULL;
  *n = 0;
  int rfd = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (rfd < 0) return errno == ENOENT ? 0 : cell_error(err, errno, "open state root %s", root);
  DIR *d = fdopendir(dup(rfd));
  if (!d) {
    close(rfd);
    return cell_error(err, errno, "list %s", root);
  }
  char **names = NULL;
  size_t cnt = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.' || de->d_type != DT_DIR) continue;
    names = realloc(names, (cnt + 1) * sizeof *names);
    names[cnt++] = strdup(de->d_name);
  }
  closedir(d);
  if (cnt) qsort(names, cnt, sizeof *names, cmp_str);
  *out = calloc(cnt + 1, sizeof **out);
  *status = calloc(cnt + 1, sizeof **status);
  for (size_t i = 0; i < cnt; i++) {
    int dfd = openat(rfd, names[i], O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    struct cell_err e;
    if (dfd >= 0 && cell_state_load(dfd, names[i], &(*out)[*n], &e) == 0) {
      enum cell_status s = cell_container_status(dfd, &(*out)[*n]);
      /* a create still holding its lock is in progress; one that died is stopped */
      if (cell_state_half_made(dfd) && flock(dfd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK) s = CELL_CREATING;
      (*status)[*n] = s;
      (*n)++;
    }
    if (dfd >= 0) close(dfd);
    free(names[i]);
  }
  free(names);
  close(rfd);
  return 0;
}

int cell_container_update(const char *root, const char *id, const char *resources_json, struct cell_err *err) {
  struct cell_state st;
  int rootfd;
  int dfd = load_locked(root, id, &rootfd, &st, err);
  if (dfd < 0) return -1;
  int rc = -1;
  cJSON *res = cJSON_Parse(resources_json);
  struct cell_cgroup *cg = NULL;
  if (!res || !cJSON_IsObject(res)) cell_error(err, 0, "--resources: invalid JSON object");
  else if (cell_container_status(dfd, &st) == CELL_STOPPED) cell_error(err, 0, "container not running");
  else if (open_cg(&st, &cg, err) < 0) {
  } else if (!cg) cell_error(err, 0, "container %s has no cgroup", id);
  else if ((rc = cell_cg_update(cg, res, err)) == 0) {
    /* a new quota: nproc follows (affinity.h) */
    cJSON *ann = st.annotations ? cJSON_Parse(st.annotations) : NULL;
    cpu_set_t cpus;
    enum cell_affinity aff;
    rc = cell_affinity_compute(cg, id, ann, st.pid, "", &cpus, &aff, err);
    if (rc == 0 && aff != CELL_AFFINITY_OFF) rc = cell_affinity_apply_cgroup(cg, &cpus, err);
    cJSON_Delete(ann);
  }
  if (cg) cell_cg_free(cg);
  cJSON_Delete(res);
  cell_state_free(&st);
  close(dfd);
  close(rootfd);
  return rc;
}

int cell_container_stats(const char *root, const char *id, char **json, unsigned long long *oom, struct cell_err *err) {
  struct cell_state st;
  int rootfd;
  int dfd = load_locked(root, id, &rootfd, &st, err);
  if (dfd < 0) return -1;
  int rc = -1;
  struct cell_cgroup *cg = NULL;
  cJSON *data = NULL;
  if (cell_container_status(dfd, &st) == CELL_STOPPED) cell_error(err, 0, "container not running");
  else if (open_cg(&st, &cg, err) < 0) {
  } else if (!cg) cell_error(err, 0, "container %s has no cgroup", id);
  else if (cell_cg_stats(cg, &data, err) == 0) {
    *oom = 0;
    cell_cg_oom_kill_count(cg, oom, err);
    *json = cJSON_PrintUnformatted(data);
    cJSON_Delete(data);
    rc = 0;
  }
  if (cg) cell_cg_free(cg);
  cell_state_free(&st);
  close(dfd);
  close(rootfd);
  return rc;
}

/* ---------- run ---------- */

static volatile pid_t fwd_pid;
static void forward_signal(int sig) {
  if (fwd_pid > 0) kill(fwd_pid, sig);
}

int cell_container_run(const struct cell_create_opts *o, bool detach, bool keep, int *exit_code, struct cell_err *err) {
  struct cell_create_opts co = *o;
  co.foreground = !detach;
  struct cell_created c;
  *exit_code = 0;
  if (!detach) prctl(PR_SET_CHILD_SUBREAPER, 1);
  if (cell_container_create(&co, &c, err) < 0) return -1;
  if (cell_container_start(o->root, o->id, err) < 0) {
    struct cell_err e2;
    cell_container_delete(o->root, o->id, true, &e2);
    if (c.console_master >= 0) close(c.console_master);
    return -1;
  }
  if (detach) {
    if (c.console_master >= 0) close(c.console_master);
    return 0;
  }
  fwd_pid = c.pid;
  struct sigaction sa = {.sa_handler = forward_signal};
  sigemptyset(&sa.sa_mask);
  int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaction(sigs[i], &sa, NULL);
  int status = 0;
  if (c.console_master >= 0) {
    if (cell_console_proxy(c.console_master, c.pid, 0, 1, &status, err) < 0) cell_warn("%s", err->msg);
    close(c.console_master);
  } else {
    pid_t r;
    for (;;) {
      r = waitpid(-1, &status, 0);
      if (r == c.pid) break;
      if (r < 0 && errno != EINTR) break;
    }
  }
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
  if (!keep) {
    struct cell_err e2;
    if (cell_container_delete(o->root, o->id, true, &e2) < 0) cell_warn("%s", e2.msg);
  }
  return 0;
}
