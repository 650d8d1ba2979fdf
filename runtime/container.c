/* container.c - create / start / run: the runtime side and the container init. */
#include "runtime/container.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/affinity.h"
#include "runtime/caps.h"
#include "cgroups/cgroup.h"
#include "runtime/console.h"
#include "runtime/hooks.h"
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

/* Everything prepared in the runtime before any process is made. */
struct prepared {
  struct cell_spec spec;
  struct cell_caps caps;
  bool has_caps;
  struct cell_procattr pa;
  struct cell_seccomp *seccomp;
  const struct cell_create_opts *o;
  int sock;     /* init's end */
  int fifo_fd;  /* O_PATH of exec.fifo */
  int clone_flags, unshare_flags;
  bool user_join, need_fork;
  int lock_fd, root_fd; /* the runtime's; the init must not keep the state lock */
};

/* --debug timings of the create phases, in microseconds since create began. */
static struct timespec t0;
static void phase(const char *what) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  cell_debug("create: %s at %ld us", what, (long)((t.tv_sec - t0.tv_sec) * 1000000 + (t.tv_nsec - t0.tv_nsec) / 1000));
}

void cell_now_rfc3339(char *buf, size_t n) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  size_t l = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + l, n - l, ".%09ldZ", ts.tv_nsec);
}

int cell_write_pid_file(const char *path, pid_t pid, struct cell_err *err) {
  char tmp[PATH_MAX], buf[32];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return cell_error(err, errno, "--pid-file: open %s", tmp);
  int n = snprintf(buf, sizeof buf, "%d", (int)pid);
  if (write(fd, buf, (size_t)n) != n) {
    int e = errno;
    close(fd);
    return cell_error(err, e, "--pid-file: write %s", tmp);
  }
  close(fd);
  if (rename(tmp, path) < 0) return cell_error(err, errno, "--pid-file: rename %s", path);
  return 0;
}

static int write_file(const char *path, const char *data, struct cell_err *err) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return cell_error(err, errno, "open %s", path);
  size_t len = strlen(data);
  ssize_t w = write(fd, data, len);
  int e = errno;
  close(fd);
  if (w != (ssize_t)len) return cell_error(err, w < 0 ? e : EIO, "write %s", path);
  return 0;
}

static int write_idmap(pid_t pid, const char *file, const struct cell_idmap *m, size_t n, struct cell_err *err) {
  const char *field = !strcmp(file, "uid_map") ? "linux.uidMappings" : "linux.gidMappings";
  struct cell_err first = {0};
  if (cell_idmap_write(pid, file, m, n, field, &first) == 0) return 0;
  if (first.errnum == 0 || geteuid() == 0) {
    *err = first;
    return -1;
  }
  /* Not privileged over those ids: use the setuid helpers, as rootless runc does. */
  const char *helper = !strcmp(file, "uid_map") ? "newuidmap" : "newgidmap";
  char *argv[3 + 3 * 340 + 1];
  char numbuf[3 * 340 + 1][16];
  int a = 0, k = 0;
  argv[a++] = (char *)helper;
  snprintf(numbuf[k], 16, "%d", (int)pid);
  argv[a++] = numbuf[k++];
  for (size_t i = 0; i < n && k < 3 * 340; i++) {
    snprintf(numbuf[k], 16, "%lu", m[i].container);
    argv[a++] = numbuf[k++];
    snprintf(numbuf[k], 16, "%lu", m[i].host);
    argv[a++] = numbuf[k++];
    snprintf(numbuf[k], 16, "%lu", m[i].size);
    argv[a++] = numbuf[k++];
  }
  argv[a] = NULL;
  pid_t h = fork();
  if (h == 0) {
    execvp(helper, argv);
    _exit(127);
  }
  int st;
  if (h > 0 && waitpid(h, &st, 0) == h && WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
  return cell_error(err, 0, "%s: %s failed for pid %d (%s)", field, helper, (int)pid, first.msg);
}

static char *state_json_for(const char *id, pid_t pid, const char *bundle, const char *status,
                            const cJSON *annotations) {
  cJSON *o = cell_oci_state(id, pid, status, bundle, NULL, NULL, annotations);
  if (!o) return NULL;
  char *t = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return t;
}

static int run_hooks(const cJSON *hooks, const char *which, const char *state, struct cell_err *err) {
  if (!hooks) return 0;
  const cJSON *h = cJSON_GetObjectItem(hooks, which);
  if (!h) return 0;
  return cell_hooks_run(h, which, state, err);
}

/* ---------- the container's init ---------- */

static void init_fail(int sock, struct cell_err *err) { cell_sync_fail(sock, err->msg); }

static const char *env_get(char **env, const char *key) {
  size_t kl = strlen(key);
  for (char **e = env; e && *e; e++)
    if (!strncmp(*e, key, kl) && (*e)[kl] == '=') return *e + kl + 1;
  return NULL;
}

/* A new network namespace starts with lo down: bring it up, as crun does. */
static int loopback_up(struct cell_err *err) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return cell_error(err, errno, "linux.namespaces: network: socket for lo");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
  if (rc == 0 && !(ifr.ifr_flags & IFF_UP)) {
    ifr.ifr_flags |= IFF_UP;
    rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
  }
  int e = errno;
  close(fd);
  return rc < 0 ? cell_error(err, e, "linux.namespaces: network: bring lo up") : 0;
}

/* In the init: wait until the runtime has placed us in our cgroup, then make
 * the cgroup namespace (its root must be that cgroup). */
static int wait_cgroup(void *arg, struct cell_err *err) {
  struct prepared *p = arg;
  struct cell_sync_msg m;
  if (cell_sync_expect(p->sock, CELL_SYNC_CGROUP, &m) != 1)
    return cell_error(err, 0, "the runtime did not place the container in its cgroup (%s)", m.error);
  if ((p->unshare_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
    return cell_error(err, errno, "linux.namespaces: new cgroup namespace");
  return 0;
}

/* Init phase 1: wait for "go", become root of a new user namespace, join the
 * namespaces given by path (the user namespace first), unshare the rest and
 * fork when a new pid namespace was unshared (the parent reports the pid). */
static void init_enter_namespaces(struct prepared *p) {
  struct cell_spec *s = &p->spec;
  int sock = p->sock;
  struct cell_err err = {0};
  struct cell_sync_msg m;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (cell_sync_expect(sock, CELL_SYNC_GO, &m) != 1) _exit(1);
  prctl(PR_SET_PDEATHSIG, 0);
  if (cell_spec_has_ns(s, CLONE_NEWUSER)) {
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
      cell_error(&err, errno, "become root in the user namespace");
      init_fail(sock, &err);
    }
  }
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < s->nns; i++) {
      const struct cell_ns *n = &s->ns[i];
      if (!n->path || n->type == CLONE_NEWPID) continue;
      if ((pass == 0) != (n->type == CLONE_NEWUSER)) continue;
      int nsfd = open(n->path, O_RDONLY | O_CLOEXEC);
      if (nsfd < 0 || setns(nsfd, n->type) < 0) {
        cell_error(&err, errno, "linux.namespaces[%zu].path: join %s", i, n->path);
        init_fail(sock, &err);
      }
      close(nsfd);
    }
  }
  if ((p->unshare_flags & ~CLONE_NEWCGROUP) && unshare(p->unshare_flags & ~CLONE_NEWCGROUP) < 0) {
    cell_error(&err, errno, "linux.namespaces: unshare");
    init_fail(sock, &err);
  }
  if (p->need_fork) {
    pid_t child = fork();
    if (child < 0) {
      cell_error(&err, errno, "fork the container init");
      init_fail(sock, &err);
    }
    if (child > 0) {
      cell_sync_send_int(sock, CELL_SYNC_PID, (int32_t)child);
      _exit(0);
    }
  }
}

/* Init phase 2: session, lo, keyring, host and domain names, the rootfs
 * mounts; then the runtime runs its hooks (and the network hook) and answers
 * with our host pid.  Returns the state text for the in-container hooks. */
static char *init_setup_environment(struct prepared *p) {
  struct cell_spec *s = &p->spec;
  int sock = p->sock;
  struct cell_err err = {0};
  /* With a terminal, cell_console_make_controlling() makes the session. */
  if (!s->terminal && setsid() < 0) {
    cell_error(&err, errno, "setsid");
    init_fail(sock, &err);
  }
  const struct cell_ns *netns = cell_spec_ns(s, CLONE_NEWNET);
  if (netns && !netns->path && loopback_up(&err) < 0) init_fail(sock, &err);
  if (!p->o->no_new_keyring) syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, NULL);
  if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0) {
    cell_error(&err, errno, "hostname: set \"%s\"", s->hostname);
    init_fail(sock, &err);
  }
  if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0) {
    cell_error(&err, errno, "domainname: set \"%s\"", s->domainname);
    init_fail(sock, &err);
  }
  if (cell_rootfs_mount_all(s, cell_spec_has_ns(s, CLONE_NEWUSER), wait_cgroup, p, &err) < 0) init_fail(sock, &err);
  /* prestart / createRuntime hooks run in the runtime now. */
  cell_sync_send(sock, CELL_SYNC_MOUNTED, NULL, 0, -1);
  /* The runtime sends the init's host pid; the state (which may be large with
   * annotations) is built here, not cut to fit a message. */
  struct cell_sync_msg m;
  int32_t host_pid;
  if (cell_sync_expect(sock, CELL_SYNC_MOUNTED_OK, &m) != 1 || cell_sync_msg_int(&m, &host_pid) < 0) _exit(1);
  char *state_text = state_json_for(p->o->id, (pid_t)host_pid, s->bundle, "created", s->annotations);
  if (!state_text) {
    cell_error(&err, ENOMEM, "hooks: render the container state");
    init_fail(sock, &err);
  }
  return state_text;
}

/* The terminal is also /dev/console, as runc does (an OS container's init
 * writes there; systemd starts its console getty on it).  A /dev that is
 * read-only or absent keeps no console. */
static int bind_console(const char *name, struct cell_err *err) {
  int fd = open("/dev/console", O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) return errno == EROFS || errno == ENOENT ? 0 : cell_error(err, errno, "create /dev/console");
  close(fd);
  if (mount(name, "/dev/console", NULL, MS_BIND, NULL) < 0) return cell_error(err, errno, "bind %s on /dev/console", name);
  return 0;
}

/* Init phase 3: createContainer hooks (before pivot_root), pivot, the final
 * mounts and the console. */
static void init_enter_rootfs(struct prepared *p, const char *state_text) {
  struct cell_spec *s = &p->spec;
  int sock = p->sock;
  struct cell_err err = {0};
  if (run_hooks(s->hooks, "createContainer", state_text, &err) < 0) init_fail(sock, &err);
  if (cell_rootfs_pivot(s, p->o->no_pivot, &err) < 0) init_fail(sock, &err);
  if (cell_rootfs_finalize(s, &err) < 0) init_fail(sock, &err);
  if (s->terminal) {
    int master, slave;
    char name[PATH_MAX];
    if (cell_console_new(&master, &slave, name, sizeof name, &err) < 0) init_fail(sock, &err);
    if ((s->console_height || s->console_width) &&
        cell_console_set_size(master, s->console_height, s->console_width, &err) < 0)
      init_fail(sock, &err);
    if (bind_console(name, &err) < 0) init_fail(sock, &err);
    if (cell_console_make_controlling(slave, &err) < 0) init_fail(sock, &err);
    cell_sync_send_str(sock, CELL_SYNC_CONSOLE, name, master);
    close(master);
  }
}

/* Init phase 4: close inherited fds, cwd, early process attributes, find the
 * executable, a seccomp notify filter; then report ready.  Returns whether
 * seccomp is loaded; exe gets the executable's path. */
static bool init_prepare_exec(struct prepared *p, char *exe, size_t exelen) {
  struct cell_spec *s = &p->spec;
  int sock = p->sock;
  struct cell_err err = {0};
  int keep[] = {sock, p->fifo_fd, cell_log_fd(), cell_detached_proc_fd()};
  cell_close_fds_from(3 + p->o->preserve_fds, keep, sizeof keep / sizeof *keep);
  if (cell_enter_cwd(s->cwd, true, "process.cwd", &err) < 0) init_fail(sock, &err);
  if (cell_procattr_apply_early(&p->pa, &err) < 0) init_fail(sock, &err);
  if (cell_find_executable(s->args[0], env_get(s->env, "PATH"), exe, exelen, &err) < 0) init_fail(sock, &err);
  bool seccomp_loaded = false;
  if (p->seccomp && cell_seccomp_uses_notify(p->seccomp)) {
    int nfd = -1;
    if (cell_seccomp_load(p->seccomp, &nfd, &err) < 0) init_fail(sock, &err);
    cell_sync_send(sock, CELL_SYNC_NOTIFY, NULL, 0, nfd);
    close(nfd);
    seccomp_loaded = true;
  }
  cell_cloexec_from(3 + p->o->preserve_fds);
  for (int i = 3; i < 3 + p->o->preserve_fds; i++) {
    int fl = fcntl(i, F_GETFD);
    if (fl >= 0) fcntl(i, F_SETFD, fl & ~FD_CLOEXEC);
  }
  cell_sync_send(sock, CELL_SYNC_READY, NULL, 0, -1);
  return seccomp_loaded;
}

static void container_init(struct prepared *p) {
  struct cell_spec *s = &p->spec;
  struct cell_err err = {0};
  int fd;

  close(p->lock_fd);
  close(p->root_fd);
  init_enter_namespaces(p);
  char *state_text = init_setup_environment(p);
  init_enter_rootfs(p, state_text);
  char exe[PATH_MAX];
  bool seccomp_loaded = init_prepare_exec(p, exe, sizeof exe);
  /* Wait for `start`. */
  do fd = cell_reopen_fd(p->fifo_fd, O_WRONLY | O_CLOEXEC, &err);
  while (fd < 0 && err.errnum == EINTR);
  if (fd < 0) {
    dprintf(2, "cell: open exec fifo: %s\n", err.msg);
    _exit(1);
  }
  if (write(fd, "0", 1) != 1) _exit(1);
  close(fd);
  close(p->fifo_fd);
  close(p->sock);
  if (s->hooks) {
    const cJSON *sc = cJSON_GetObjectItem(s->hooks, "startContainer");
    if (sc && cell_hooks_run(sc, "startContainer", state_text, &err) < 0) {
      dprintf(2, "cell: %s\n", err.msg);
      _exit(1);
    }
  }
  cell_finish_exec(-1, exe, s->args, s->env, &p->pa, &p->caps, p->has_caps, p->seccomp, seccomp_loaded);
}

/* ---------- the runtime side of create ---------- */

static int prepare(const struct cell_create_opts *o, struct prepared *p, struct cell_err *err) {
  memset(p, 0, sizeof *p);
  p->o = o;
  p->sock = p->fifo_fd = -1;
  if (o->config) {
    /* a config built in memory: validated like config.json, relative to bundle */
    if (!o->bundle) return cell_error(err, EINVAL, "bundle: needed with an in-memory config");
    cJSON *copy = cJSON_Duplicate(o->config, 1);
    if (!copy) return cell_error(err, ENOMEM, "copy the in-memory config");
    if (cell_spec_from_json(copy, o->bundle, &p->spec, err) < 0) return -1;
  } else if (cell_spec_load(o->bundle, &p->spec, err) < 0) {
    return -1;
  }
  struct cell_spec *s = &p->spec;
  if (!s->process) return cell_error(err, 0, "process: required object is missing");
  if (cell_affinity_check_annotation(s->annotations, err) < 0) return -1;
  const cJSON *caps = cJSON_GetObjectItem(s->process, "capabilities");
  if (caps) {
    if (cell_caps_parse(caps, &p->caps, err) < 0) return -1;
    p->has_caps = true;
  }
  if (cell_procattr_prepare(s->process, s->linux_obj, &p->pa, err) < 0) return -1;
  if (cell_seccomp_build_cached(s->seccomp, o->root, &p->seccomp, err) < 0) return -1;
  if (s->hooks && cell_hooks_validate(s->hooks, err) < 0) return -1;
  if (!cell_spec_has_ns(s, CLONE_NEWNS)) {
    /* Runs in the runtime's mount namespace, chrooted, as runc and crun do;
     * nothing that would change the host's own mounts. */
    if (s->masked_paths && s->masked_paths[0])
      return cell_error(err, 0, "linux.maskedPaths: needs a mount namespace in linux.namespaces");
    if (s->readonly_paths && s->readonly_paths[0])
      return cell_error(err, 0, "linux.readonlyPaths: needs a mount namespace in linux.namespaces");
    if (s->rootfs_propagation)
      return cell_error(err, 0, "linux.rootfsPropagation: needs a mount namespace in linux.namespaces");
    /* a read-only bind would stay on the host's rootfs after the container */
    if (s->root_readonly) cell_warn("root.readonly: ignored without a mount namespace (as runc and crun do)");
    s->root_readonly = false;
  }
  if (s->terminal && !o->console_socket && !o->foreground)
    return cell_error(err, 0, "cannot allocate tty if cell will detach without setting console socket");
  if (!s->terminal && o->console_socket)
    return cell_error(err, 0, "cannot use console socket if cell will not detach or allocate tty");
  /* Which namespaces clone() creates and which the init unshares after joining. */
  const struct cell_ns *user = cell_spec_ns(s, CLONE_NEWUSER);
  p->user_join = user && user->path;
  for (size_t i = 0; i < s->nns; i++) {
    int t = s->ns[i].type;
    if (s->ns[i].path || t == CLONE_NEWTIME) continue;
    if (t == CLONE_NEWCGROUP || p->user_join) p->unshare_flags |= t;
    else p->clone_flags |= t;
  }
  p->need_fork = (p->unshare_flags & CLONE_NEWPID) != 0;
  return 0;
}

static void prepared_free(struct prepared *p) {
  cell_procattr_free(&p->pa);
  cell_seccomp_free(p->seccomp);
  cell_spec_free(&p->spec);
}

static int save_config_copy(int dirfd, const struct cell_spec *s, struct cell_err *err) {
  char *text = cJSON_PrintUnformatted(s->json);
  if (!text) return cell_error(err, ENOMEM, "render config copy");
  int fd = openat(dirfd, "config.json", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    free(text);
    return cell_error(err, errno, "save config copy");
  }
  size_t len = strlen(text);
  ssize_t w = write(fd, text, len);
  close(fd);
  free(text);
  if (w != (ssize_t)len) return cell_error(err, EIO, "save config copy");
  return 0;
}

/* linux.resources plus the device rules every container needs: the default
 * /dev nodes and the ones in linux.devices are allowed after the configured
 * rules (later rules win), as runc and crun do. */
static cJSON *resources_with_default_devices(const struct cell_spec *s) {
  cJSON *res = s->resources ? cJSON_Duplicate(s->resources, 1) : cJSON_CreateObject();
  cJSON *devs = cJSON_GetObjectItem(res, "devices");
  if (!devs) return res; /* no device rules configured: leave the device cgroup alone */
  /* runc's defaults: mknod of any character device, the standard nodes, and ptys. */
  static const struct {
    long major, minor;
    const char *access;
  } defaults[] = {{-1, -1, "m"}, {1, 3, "rwm"}, {1, 5, "rwm"}, {1, 7, "rwm"}, {1, 8, "rwm"},
                  {1, 9, "rwm"}, {5, 0, "rwm"}, {5, 1, "rwm"}, {5, 2, "rwm"}, {136, -1, "rwm"}};
  size_t nd = sizeof defaults / sizeof *defaults;
  for (size_t i = 0; i < nd + s->ndevices; i++) {
    char type[2] = "c";
    long major, minor;
    const char *access = "rwm";
    if (i < nd) {
      major = defaults[i].major;
      minor = defaults[i].minor;
      access = defaults[i].access;
    } else {
      const struct cell_device *d = &s->devices[i - nd];
      if (d->type == 'p') continue;
      type[0] = d->type == 'b' ? 'b' : 'c';
      major = (long)d->major;
      minor = (long)d->minor;
    }
    cJSON *r = cJSON_CreateObject();
    cJSON_AddBoolToObject(r, "allow", 1);
    cJSON_AddStringToObject(r, "type", type);
    if (major >= 0) cJSON_AddNumberToObject(r, "major", (double)major);
    if (minor >= 0) cJSON_AddNumberToObject(r, "minor", (double)minor);
    cJSON_AddStringToObject(r, "access", access);
    cJSON_AddItemToArray(devs, r);
  }
  return res;
}

/* Enter the time namespace for our children and join a pid namespace by path. */
static int parent_namespaces(struct prepared *p, struct cell_err *err) {
  struct cell_spec *s = &p->spec;
  const struct cell_ns *t = cell_spec_ns(s, CLONE_NEWTIME);
  if (t && t->path) {
    int fd = open(t->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWTIME) < 0) return cell_error(err, errno, "linux.namespaces: join %s", t->path);
    close(fd);
  } else if (t) {
    if (unshare(CLONE_NEWTIME) < 0) return cell_error(err, errno, "linux.namespaces: new time namespace");
    if (s->has_time_offsets) {
      char buf[128];
      snprintf(buf, sizeof buf, "monotonic %lld %lld\nboottime %lld %lld\n", s->time_monotonic[0], s->time_monotonic[1],
               s->time_boottime[0], s->time_boottime[1]);
      if (write_file("/proc/self/timens_offsets", buf, err) < 0) return cell_error_wrap(err, "linux.timeOffsets");
    }
  }
  const struct cell_ns *pn = cell_spec_ns(s, CLONE_NEWPID);
  if (pn && pn->path) {
    int fd = open(pn->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWPID) < 0) return cell_error(err, errno, "linux.namespaces: join %s", pn->path);
    close(fd);
  }
  return 0;
}

/* The init closed its socket before it was ready: reap it (it is exiting)
 * and say why it died; a SIGKILL with an OOM kill counted in the container's
 * memory cgroup names the memory limit.  Returns true once reaped. */
static bool init_died(pid_t pid, struct cell_cgroup *cg, const struct cell_spec *s, struct cell_err *err) {
  int status = 0;
  bool reaped = false;
  for (int i = 0; i < 200 && pid > 0 && !reaped; i++) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) reaped = true;
    else if (r < 0) break;
    else usleep(5000);
  }
  unsigned long long ooms = 0;
  struct cell_err e2;
  bool killed = reaped && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  if (killed && cg && cell_cg_oom_kill_count(cg, &ooms, &e2) == 0 && ooms > 0) {
    const cJSON *mem = s->resources ? cJSON_GetObjectItem(s->resources, "memory") : NULL;
    const cJSON *lim = mem ? cJSON_GetObjectItem(mem, "limit") : NULL;
    if (cJSON_IsNumber(lim))
      cell_error(err, 0, "container init was OOM-killed during setup: linux.resources.memory.limit %.0f is too low",
                 lim->valuedouble);
    else
      cell_error(err, 0, "container init was OOM-killed during setup: the memory cgroup limit is too low");
    return reaped;
  }
  if (killed) cell_error(err, 0, "container init was killed (SIGKILL) before it was ready");
  else if (reaped && WIFSIGNALED(status))
    cell_error(err, 0, "container init was killed by signal %d before it was ready", WTERMSIG(status));
  else cell_error(err, 0, "container init exited before it was ready (status %d)", reaped ? WEXITSTATUS(status) : -1);
  return reaped;
}

/* Everything create holds between its phases. */
struct create_ctx {
  const struct cell_create_opts *o;
  struct cell_created *out;
  struct prepared p;
  struct cell_state st;
  char created[64];
  char *ann;
  int rootfd, dirfd, socks[2];
  pid_t pid;  /* our child: the init, or the process that forks it */
  pid_t init; /* the container init */
  struct cell_cgroup *cg;
  bool dir_made, born_in_cgroup;
};

static const char *const phase_names[] = {
    [CELL_CREATE_PREPARED] = "config prepared",
    [CELL_CREATE_STATE_SAVED] = "cgroup created",
    [CELL_CREATE_INIT_SPAWNED] = "init cloned",
    [CELL_CREATE_INIT_PLACED] = "init placed in its cgroup",
    [CELL_CREATE_INIT_MOUNTED] = "init mounted its rootfs",
    [CELL_CREATE_NETWORK_READY] = "network and runtime hooks done",
    [CELL_CREATE_INIT_READY] = "init ready",
    [CELL_CREATE_CREATED] = "created",
};

const char *cell_create_phase_name(enum cell_create_phase ph) {
  return (unsigned)ph < sizeof phase_names / sizeof *phase_names ? phase_names[ph] : "unknown";
}

/* A phase is done: the --debug timing and the caller's on_phase. */
static int create_phase(struct create_ctx *c, enum cell_create_phase ph, struct cell_err *err) {
  phase(cell_create_phase_name(ph));
  const struct cell_create_hooks *h = c->o->hooks;
  if (!h || !h->on_phase) return 0;
  err->msg[0] = 0;
  err->errnum = 0;
  if (h->on_phase(ph, c->init, h->data, err) == 0) return 0;
  if (!err->msg[0]) cell_error(err, 0, "failed");
  return cell_error_wrap(err, "create hook at \"%s\"", cell_create_phase_name(ph));
}

/* Phase: the state dir, the cgroups (recorded in state.json before they are
 * made, so that delete --force cleans a create killed at any point), the
 * config copy and the resources. */
static int create_state(struct create_ctx *c, struct cell_err *err) {
  const struct cell_create_opts *o = c->o;
  struct cell_spec *s = &c->p.spec;
  c->rootfd = cell_root_open(o->root, true, err);
  if (c->rootfd < 0) return -1;
  c->dirfd = cell_state_create_dir(c->rootfd, o->id, err);
  if (c->dirfd < 0) return -1;
  c->dir_made = true;
  phase("state dir made");
  struct cell_state *st = &c->st;
  snprintf(st->id, sizeof st->id, "%s", o->id);
  st->bundle = s->bundle;
  st->rootfs = s->rootfs;
  cell_now_rfc3339(c->created, sizeof c->created);
  st->created = c->created;
  st->no_pivot = o->no_pivot || !cell_spec_has_ns(s, CLONE_NEWNS); /* exec chroots into /proc/PID/root */
  st->owner = geteuid();
  c->ann = s->annotations ? cJSON_PrintUnformatted(s->annotations) : NULL;
  st->annotations = c->ann;
  bool saved = false;
  if (!o->no_cgroups && cell_cg_plan(s->cgroups_path, o->id, &c->cg, err) == 0) {
    st->cgroup = cell_cg_serialize(c->cg);
    if (cell_state_save(c->dirfd, st, err) < 0) return -1;
    saved = true;
    if (cell_cg_make(c->cg, err) < 0) {
      cell_cg_free(c->cg);
      c->cg = NULL;
    }
    phase("cgroups made");
  }
  if (!o->no_cgroups && !c->cg) {
    /* Rootless without delegated cgroups: run without one, as rootless runc
     * does, unless limits were asked for. */
    bool denied = err->errnum == EACCES || err->errnum == EPERM || err->errnum == EROFS;
    if (!(geteuid() != 0 && denied && !s->resources)) return cell_error_wrap(err, "linux.cgroupsPath");
    cell_debug("rootless: no cgroup (%s)", err->msg);
    free(st->cgroup);
    st->cgroup = NULL;
    saved = false;
  }
  /* Saved before any process exists so that delete --force can clean a
   * half-made container (once: again only when the cgroup was dropped). */
  if ((!saved && cell_state_save(c->dirfd, st, err) < 0) || save_config_copy(c->dirfd, s, err) < 0) return -1;
  if (c->cg) {
    cJSON *res = resources_with_default_devices(s);
    int r = cell_cg_apply_resources(c->cg, res, err);
    cJSON_Delete(res);
    if (r < 0) return -1;
    phase("cgroup resources written");
  }
  return 0;
}

/* Phase: exec.fifo (owned by the container's root), the sync socketpair, the
 * id maps and the namespaces the runtime enters for its children. */
static int create_channels(struct create_ctx *c, struct cell_err *err) {
  struct cell_spec *s = &c->p.spec;
  if (mkfifoat(c->dirfd, "exec.fifo", 0600) < 0) return cell_error(err, errno, "create exec.fifo");
  if (s->nuidmap) {
    /* the init is root of its user namespace: let it open the fifo */
    uid_t hu = 0;
    gid_t hg = 0;
    for (size_t i = 0; i < s->nuidmap; i++)
      if (s->uidmap[i].container == 0) hu = (uid_t)s->uidmap[i].host;
    for (size_t i = 0; i < s->ngidmap; i++)
      if (s->gidmap[i].container == 0) hg = (gid_t)s->gidmap[i].host;
    if (fchownat(c->dirfd, "exec.fifo", hu, hg, 0) < 0)
      return cell_error(err, errno, "chown exec.fifo to the container's root");
  }
  c->p.fifo_fd = openat(c->dirfd, "exec.fifo", O_PATH | O_CLOEXEC);
  if (c->p.fifo_fd < 0) return cell_error(err, errno, "open exec.fifo");
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c->socks) < 0) return cell_error(err, errno, "socketpair");
  if (cell_idmap_prepare(s, err) < 0) return -1;
  if (parent_namespaces(&c->p, err) < 0) return -1;
  if (c->p.need_fork) prctl(PR_SET_CHILD_SUBREAPER, 1);
  c->p.sock = c->socks[1];
  c->p.lock_fd = c->dirfd;
  c->p.root_fd = c->rootfd;
  return 0;
}

/* Phase: clone the init in its new namespaces.  Placement without the runtime
 * writing cgroup.procs: the init is born in the cgroup2 directory (clone3
 * CLONE_INTO_CGROUP) and moves itself into the v1 hierarchies through tasks
 * files opened here (see cgroup.h).  Does not return in the child. */
static int create_spawn(struct create_ctx *c, struct cell_err *err) {
  struct cell_cg_self self = {.v2_dirfd = -1};
  bool self_place = false;
  unsigned long flags = (unsigned long)c->p.clone_flags;
  if (c->cg) {
    struct cell_err e2;
    self_place = cell_cg_self_prepare(c->cg, &self, &e2) == 0;
  }
  pid_t pid = -1;
  if (self_place && self.v2_dirfd >= 0) {
    pid = cell_cg_clone_into(self.v2_dirfd, flags);
    if (pid < 0 && errno != ENOSYS && errno != E2BIG && errno != EINVAL) {
      cell_error(err, errno, "linux.namespaces: clone3 the container init into its cgroup");
      cell_cg_self_close(&self);
      return -1;
    }
    if (pid < 0) {
      self_place = false; /* an old kernel: the runtime places the init */
      cell_cg_self_close(&self);
    }
  } else if (self_place && self.v2_dirfd < 0) {
    pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
  }
  if (!self_place) pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid == 0) {
    if (self_place) {
      struct cell_err e2 = {0};
      if (cell_cg_self_enter(&self, &e2) < 0) cell_sync_fail(c->socks[1], e2.msg);
      cell_cg_self_close(&self);
    }
    close(c->socks[0]);
    container_init(&c->p);
    _exit(1);
  }
  if (self_place) cell_cg_self_close(&self);
  c->born_in_cgroup = self_place;
  if (pid < 0) return cell_error(err, errno, "linux.namespaces: clone the container init");
  c->pid = c->init = pid;
  close(c->socks[1]);
  c->socks[1] = -1;
  /* the init's pid, for a delete --force after this process is killed */
  c->st.pid = pid;
  c->st.start_time = cell_proc_start_time(pid);
  return cell_state_save(c->dirfd, &c->st, err);
}

/* Phase: the id maps, then the cgroups.  The init sets up its mounts while we
 * write its pid into the cgroups (the first write to a v1 cgroup.procs can
 * wait 10-20 ms for an RCU grace period); it waits for CGROUP before anything
 * that needs its cgroup.  When it must fork again (a joined user namespace),
 * it is placed before it forks. */
static int create_place(struct create_ctx *c, struct cell_err *err) {
  struct cell_spec *s = &c->p.spec;
  pid_t pid = c->pid;
  if (cell_spec_has_ns(s, CLONE_NEWUSER) && !c->p.user_join) {
    if (s->ngidmap) {
      /* Without privilege over the gid range the kernel wants setgroups denied. */
      char path[64];
      snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
      if (geteuid() != 0) write_file(path, "deny", NULL);
    }
    if (write_idmap(pid, "uid_map", s->uidmap, s->nuidmap, err) < 0 ||
        write_idmap(pid, "gid_map", s->gidmap, s->ngidmap, err) < 0)
      return -1;
  }
  bool place_first = c->p.need_fork, enter = c->cg && !c->born_in_cgroup;
  if (place_first && enter && cell_cg_enter(c->cg, pid, err) < 0) return -1;
  if (cell_sync_send(c->socks[0], CELL_SYNC_GO, NULL, 0, -1) < 0)
    return cell_error(err, errno, "signal the container init");
  if (!place_first && enter && cell_cg_enter(c->cg, pid, err) < 0) return -1;
  /* A failed send means the init already died: its error is read later. */
  cell_sync_send(c->socks[0], CELL_SYNC_CGROUP, NULL, 0, -1);
  return 0;
}

/* The init mounted its rootfs and waits: the caller's network hook, then the
 * prestart and createRuntime hooks, then it gets its host pid. */
static int create_network_and_hooks(struct create_ctx *c, struct cell_err *err) {
  struct cell_spec *s = &c->p.spec;
  const struct cell_create_hooks *h = c->o->hooks;
  if (create_phase(c, CELL_CREATE_INIT_MOUNTED, err) < 0) return -1;
  if (h && h->netns && cell_spec_has_ns(s, CLONE_NEWNET)) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int)c->init);
    int nfd = open(path, O_RDONLY | O_CLOEXEC);
    if (nfd < 0) return cell_error(err, errno, "network hook: open %s", path);
    err->msg[0] = 0;
    err->errnum = 0;
    int r = h->netns(c->init, nfd, h->data, err);
    close(nfd);
    if (r < 0) {
      if (!err->msg[0]) cell_error(err, 0, "failed");
      return cell_error_wrap(err, "network hook");
    }
  }
  /* nproc shows the CPU quota (affinity.h); the init has bound the views */
  cpu_set_t cpus;
  enum cell_affinity aff;
  if (cell_affinity_compute(c->cg, c->o->id, s->annotations, c->init, s->rootfs, &cpus, &aff, err) < 0) return -1;
  if (aff == CELL_AFFINITY_NARROW && sched_setaffinity(c->init, sizeof cpus, &cpus) < 0)
    return cell_error(err, errno, "cpu affinity: sched_setaffinity of the init %d", (int)c->init);
  c->st.pid = c->init;
  char *sj = state_json_for(c->o->id, c->init, s->bundle, "created", s->annotations);
  int hr = run_hooks(s->hooks, "prestart", sj, err);
  if (hr == 0) hr = run_hooks(s->hooks, "createRuntime", sj, err);
  free(sj);
  if (hr < 0) return -1;
  if (create_phase(c, CELL_CREATE_NETWORK_READY, err) < 0) return -1;
  cell_sync_send_int(c->socks[0], CELL_SYNC_MOUNTED_OK, (int32_t)c->init);
  return 0;
}

/* One message from the init: 1 when it is ready, 0 to go on, -1 on error. */
static int create_on_message(struct create_ctx *c, struct cell_sync_msg *m, struct cell_err *err) {
  const struct cell_create_opts *o = c->o;
  struct cell_spec *s = &c->p.spec;
  int32_t v;
  switch (m->type) {
  case CELL_SYNC_ERROR:
    return cell_error(err, 0, "%s", m->payload);
  case CELL_SYNC_PID:
    if (cell_sync_msg_int(m, &v) < 0) return cell_error(err, 0, "container init: %s", m->error);
    c->init = (pid_t)v;
    waitpid(c->pid, NULL, 0);
    c->pid = c->init;
    return 0;
  case CELL_SYNC_MOUNTED:
    return create_network_and_hooks(c, err);
  case CELL_SYNC_CONSOLE:
    if (m->fd < 0) return cell_error(err, 0, "container init sent no console fd");
    if (o->console_socket) {
      int r = cell_console_send(o->console_socket, m->fd, m->payload, err);
      close(m->fd);
      m->fd = -1;
      return r < 0 ? cell_error_wrap(err, "--console-socket") : 0;
    }
    c->out->console_master = m->fd;
    m->fd = -1;
    return 0;
  case CELL_SYNC_NOTIFY: {
    if (m->fd < 0) return cell_error(err, 0, "container init sent no seccomp listener fd");
    char *sj = state_json_for(o->id, c->init, s->bundle, "creating", s->annotations);
    int r = cell_seccomp_send_listener(c->p.seccomp, m->fd, c->init, sj, err);
    free(sj);
    close(m->fd);
    m->fd = -1;
    return r;
  }
  case CELL_SYNC_READY:
    return 1;
  default:
    return cell_error(err, 0, "container init sent an unexpected \"%s\" message", cell_sync_type_name(m->type));
  }
}

/* Phase: serve the init until it is ready (waiting on exec.fifo). */
static int create_await_init(struct create_ctx *c, struct cell_err *err) {
  struct cell_sync_msg m;
  for (;;) {
    int n = cell_sync_recv(c->socks[0], &m);
    if (n == 0) {
      if (init_died(c->pid, c->cg, &c->p.spec, err)) c->pid = -1;
      return -1;
    }
    if (n < 0) return cell_error(err, 0, "container init: %s", m.error);
    int r = create_on_message(c, &m, err);
    if (m.fd >= 0) close(m.fd);
    if (r != 0) return r < 0 ? -1 : 0;
  }
}

/* Phase: record the running init and mark the container created. */
static int create_finish(struct create_ctx *c, struct cell_err *err) {
  c->st.pid = c->init;
  c->st.start_time = cell_proc_start_time(c->init);
  if (cell_state_save(c->dirfd, &c->st, err) < 0) return -1;
  if (c->o->pid_file && cell_write_pid_file(c->o->pid_file, c->init, err) < 0) return -1;
  if (cell_state_created(c->dirfd, c->o->id, err) < 0) return -1;
  c->out->pid = c->init;
  return 0;
}

/* A failed create: kill what was started, remove the cgroups and the state. */
static void create_undo(struct create_ctx *c) {
  if (c->pid > 0) {
    kill(c->pid, SIGKILL);
    waitpid(c->pid, NULL, 0);
  }
  struct cell_err e2;
  if (c->cg && c->init > 0) cell_cg_kill_all(c->cg, SIGKILL, &e2);
  if (c->out->console_master >= 0) close(c->out->console_master);
  c->out->console_master = -1;
  if (c->cg) cell_cg_destroy(c->cg, &e2);
  if (c->dir_made) cell_state_remove(c->rootfd, c->o->id, NULL);
}

static void create_close(struct create_ctx *c) {
  free(c->ann);
  free(c->st.cgroup);
  if (c->cg) cell_cg_free(c->cg);
  if (c->socks[0] >= 0) close(c->socks[0]);
  if (c->socks[1] >= 0) close(c->socks[1]);
  if (c->p.fifo_fd >= 0) close(c->p.fifo_fd);
  if (c->dirfd >= 0) close(c->dirfd);
  if (c->rootfd >= 0) close(c->rootfd);
  prepared_free(&c->p);
}

int cell_container_create(const struct cell_create_opts *o, struct cell_created *out, struct cell_err *err) {
  struct create_ctx c;
  memset(&c, 0, sizeof c);
  c.o = o;
  c.out = out;
  c.p.sock = c.p.fifo_fd = -1;
  c.rootfd = c.dirfd = c.socks[0] = c.socks[1] = -1;
  c.pid = c.init = -1;
  out->pid = -1;
  out->console_master = -1;

  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (cell_id_valid(o->id, err) < 0) return -1;
  int rc = -1;
  if (prepare(o, &c.p, err) == 0 && create_phase(&c, CELL_CREATE_PREPARED, err) == 0 &&
      create_state(&c, err) == 0 && create_phase(&c, CELL_CREATE_STATE_SAVED, err) == 0 &&
      create_channels(&c, err) == 0 && create_spawn(&c, err) == 0 &&
      create_phase(&c, CELL_CREATE_INIT_SPAWNED, err) == 0 && create_place(&c, err) == 0 &&
      create_phase(&c, CELL_CREATE_INIT_PLACED, err) == 0 && create_await_init(&c, err) == 0 &&
      create_phase(&c, CELL_CREATE_INIT_READY, err) == 0 && create_finish(&c, err) == 0 &&
      create_phase(&c, CELL_CREATE_CREATED, err) == 0)
    rc = 0;
  if (rc < 0) create_undo(&c);
  create_close(&c);
  return rc;
}
