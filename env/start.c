/* start.c - start an environment: the rootfs overlay (idmapped layers when
 * unprivileged) in a child's private mount namespace, the spec, the
 * in-process create and start, the wait for the init to be ready. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <sys/fsuid.h>

#include "env/env.h"
#include "env/env_internal.h"
#include "env/idrange.h"
#include "env/spec.h"
#include "lib/file.h"
#include "lib/log.h"
#include "runtime/container.h"
#include "storage/storage.h"

long long env_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* fsuid/fsgid to base (on) or back to 0, effective capabilities = permitted. */
int env_as_range_root(unsigned base, bool on, struct cell_err *err) {
  setfsgid(on ? base : 0);
  setfsuid(on ? base : 0);
  if ((unsigned)setfsuid((uid_t)-1) != (on ? base : 0)) return cell_error(err, errno, "setfsuid %u", base);
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d) < 0) return cell_error(err, errno, "capget");
  d[0].effective = d[0].permitted;
  d[1].effective = d[1].permitted;
  if (syscall(SYS_capset, &h, d) < 0) return cell_error(err, errno, "capset");
  return 0;
}

/* In the child: the overlay of the lower layers at e->dir/rootfs. */
static int mount_rootfs(struct env *e, char **lowers, size_t n, bool privileged, unsigned base, struct cell_err *err) {
  if (unshare(CLONE_NEWNS) < 0) return cell_error(err, errno, "unshare the mount namespace");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) return cell_error(err, errno, "make / private");
  char upper[PATH_MAX + 32], work[PATH_MAX + 32], merged[PATH_MAX + 32], data[PATH_MAX + 32];
  snprintf(data, sizeof data, "%s/data", e->dir);
  cleanup_free char *low = NULL;
  size_t lowlen = 1;
  for (size_t i = 0; i < n; i++) lowlen += strlen(lowers[i]) + strlen(e->dir) + 32; /* a layer, or its idmapped mount */
  low = calloc(1, lowlen);
  if (!low) return cell_error(err, ENOMEM, "rootfs");
  if (!privileged) {
    char mp[PATH_MAX + 32];
    snprintf(mp, sizeof mp, "%s/data-map", e->dir);
    if (mkdir(mp, 0755) < 0 && errno != EEXIST) return cell_error(err, errno, "mkdir %s", mp);
    if (env_idrange_idmap_mount(data, mp, base, 65536, err) < 0) return -1;
    snprintf(data, sizeof data, "%s", mp);
    for (size_t i = 0; i < n; i++) {
      snprintf(mp, sizeof mp, "%s/layers/%zu", e->dir, i);
      if (mkdir(mp, 0755) < 0 && errno != EEXIST) return cell_error(err, errno, "mkdir %s", mp);
      if (env_idrange_idmap_mount(lowers[i], mp, base, 65536, err) < 0) return -1;
      if (i) strcat(low, ":");
      strcat(low, mp);
    }
  } else {
    for (size_t i = 0; i < n; i++) {
      if (i) strcat(low, ":");
      strcat(low, lowers[i]);
    }
  }
  snprintf(upper, sizeof upper, "%s/upper", data);
  snprintf(work, sizeof work, "%s/work", data);
  snprintf(merged, sizeof merged, "%s/rootfs", e->dir);
  size_t ol = strlen(low) + strlen(upper) + strlen(work) + 64;
  cleanup_free char *opts = malloc(ol);
  if (!opts) return cell_error(err, ENOMEM, "rootfs");
  snprintf(opts, ol, "lowerdir=%s,upperdir=%s,workdir=%s", low, upper, work);
  /* The overlay works in its upper layer with its mounter's credentials; on
   * the idmapped upper (host 0 shows as base) only ids of the range map, so
   * it is mounted as fsuid/fsgid base, with the capabilities put back that
   * the fsuid change drops (copy-up chowns). */
  if (!privileged && env_as_range_root(base, true, err) < 0) return -1;
  int r = mount("overlay", merged, "overlay", 0, opts);
  int en = errno;
  if (!privileged) env_as_range_root(0, false, NULL);
  if (r < 0) return cell_error(err, en, "mount the rootfs overlay on %s (%s)", merged, opts);
  return 0;
}

/* The notify socket the init reports READY=1 on (bound before the create). */
static int notify_socket(struct env *e, char *path, size_t n, struct cell_err *err) {
  if (cell_mkdir_p(e->aux, 0755) < 0) return cell_error(err, errno, "create %s", e->aux);
  chmod(e->aux, 0755);
  snprintf(path, n, "%s/notify", e->aux);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) return cell_error(err, ENAMETOOLONG, "notify socket %s", path);
  strcpy(sa.sun_path, path);
  unlink(path);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return cell_error(err, errno, "socket");
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(path, 0777) < 0) {
    int en = errno;
    close(fd);
    return cell_error(err, en, "bind %s", path);
  }
  return fd;
}

static bool cellfs_mounted(const char *path) {
  char p[PATH_MAX + 32];
  snprintf(p, sizeof p, "%s/proc/meminfo", path);
  struct statfs sf;
  return statfs(p, &sf) == 0 && sf.f_type == 0x65735546 /* FUSE */;
}

/* The config's limits in the spec builder's terms. */
static void spec_limits(const struct env_config *c, struct env_limits *l) {
  memset(l, 0, sizeof *l);
  unsigned long long v;
  const char *s;
  if ((s = env_config_get(c, "memory")) && env_parse_size(s, &v) == 0 && v != ~0ULL) l->memory = v;
  if ((s = env_config_get(c, "swap")) && env_parse_size(s, &v) == 0) l->swap = v;
  if ((s = env_config_get(c, "cpus")) && env_parse_cpus(s, &v) == 0) l->cpus = (double)v / 1000.0;
  if ((s = env_config_get(c, "cpu-weight"))) l->cpu_weight = strtoull(s, NULL, 10);
  l->cpuset = env_config_get(c, "cpuset");
  if ((s = env_config_get(c, "pids"))) l->pids = strtoll(s, NULL, 10);
  if ((s = env_config_get(c, "io-weight"))) l->io_weight = (uint16_t)strtoul(s, NULL, 10);
}

int env_cgroups_path(const struct env *e, char *out, size_t n) {
  /* one parent per cellctl root, so two roots never share a cgroup */
  unsigned h = 2166136261u;
  for (const char *p = e->root; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
  return snprintf(out, n, "/cellctl-%08x/%s", h, e->name) >= (int)n ? -1 : 0;
}

static int build_spec(struct env *e, const char *notify, cJSON **spec, struct cell_err *err) {
  const struct env_config *c = e->cfg;
  struct env_spec_in in;
  memset(&in, 0, sizeof in);
  char rootfs[PATH_MAX + 16], cgp[256];
  snprintf(rootfs, sizeof rootfs, "%s/rootfs", e->dir);
  if (env_cgroups_path(e, cgp, sizeof cgp) < 0) return cell_error(err, ENAMETOOLONG, "cgroup of %s", e->name);
  bool b = false;
  const char *s;
  in.name = e->name;
  in.hostname = env_config_get(c, "hostname");
  in.rootfs = rootfs;
  in.init = env_config_get(c, "init");
  if ((s = env_config_get(c, "privileged"))) env_parse_bool(s, &b);
  in.privileged = b;
  if (!b) {
    s = env_config_get(c, "idrange");
    if (!s) return cell_error(err, 0, "%s: idrange: missing (an unprivileged environment needs its id range)", e->cfg_path);
    in.uid_base = (unsigned)strtoul(s, NULL, 10);
    in.uid_count = 65536;
  }
  in.idmap_rootfs = false; /* the overlay's layers are idmapped already */
  spec_limits(c, &in.limits);
  in.cgroups_path = cgp;
  in.notify_socket = notify;
  const char *fs = env_config_get(c, "cellfs");
  if (!fs) fs = "/var/lib/cellfs";
  if (strcmp(fs, "off") && cellfs_mounted(fs)) {
    in.cellfs_views = true;
    in.cellfs_path = fs;
  }
  in.netns_new = true;
  in.caps_avail = env_spec_host_caps();
  in.terminal = env_wants_monitor(e); /* the reaper keeps the console's master */
  if (env_spec_build(&in, spec, err) < 0) return cell_error_wrap(err, "environment \"%s\"", e->name);
  /* the io limits the spec builder does not know */
  cJSON *res = NULL;
  if (env_resources(c, &res, err) < 0) {
    cJSON_Delete(*spec);
    return -1;
  }
  cJSON *lin = cJSON_GetObjectItem(*spec, "linux");
  cJSON *bio = res ? cJSON_DetachItemFromObject(res, "blockIO") : NULL;
  if (bio && lin) {
    cJSON *r = cJSON_GetObjectItem(lin, "resources");
    if (!r) r = cJSON_AddObjectToObject(lin, "resources");
    cJSON_DeleteItemFromObject(r, "blockIO");
    cJSON_AddItemToObject(r, "blockIO", bio);
  } else cJSON_Delete(bio);
  cJSON_Delete(res);
  return 0;
}

/* The init is in its cgroups: hand them to the environment's root. */
struct start_hook {
  struct env *e;
  unsigned base;
  bool privileged;
};
static int net_hook(pid_t pid, int netns_fd, void *data, struct cell_err *err) {
  struct start_hook *h = data;
  return env_net_attach(h->e, pid, netns_fd, h->base, h->privileged, err);
}
static int on_phase(enum cell_create_phase ph, pid_t pid, void *data, struct cell_err *err) {
  struct start_hook *h = data;
  if (ph != CELL_CREATE_INIT_PLACED || h->base == 0) return 0;
  char cgp[256];
  env_cgroups_path(h->e, cgp, sizeof cgp);
  return env_spec_delegate_cgroups(pid, cgp + 1, h->base, h->base, err);
}

/* The child: rootfs, create, start; reports "ok" or the error on fd. */
static void start_child(struct env *e, char **lowers, size_t n, cJSON *spec, int fd) __attribute__((noreturn));
static void start_child(struct env *e, char **lowers, size_t n, cJSON *spec, int fd) {
  struct cell_err err = {0};
  /* the parent's locked fd: a copy kept here would hold the lock as long as we live */
  close(e->dirfd);
  e->dirfd = -1;
  bool privileged = false;
  const char *s = env_config_get(e->cfg, "privileged");
  if (s) env_parse_bool(s, &privileged);
  s = env_config_get(e->cfg, "idrange");
  unsigned base = s ? (unsigned)strtoul(s, NULL, 10) : 0;
  /* the init's stdio: not ours (a caller's pipe would stay open), a log of this boot */
  char log[PATH_MAX + 16];
  snprintf(log, sizeof log, "%s/console.log", e->dir);
  int nul = open("/dev/null", O_RDONLY | O_CLOEXEC), lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
  if (nul >= 0) dup2(nul, 0);
  if (lfd >= 0) {
    dup2(lfd, 1);
    dup2(lfd, 2);
  }
  /* the monitor's way back to this mount namespace (see env_monitor) */
  int host_mntns = env_wants_monitor(e) ? open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC) : -1;
  int rc = mount_rootfs(e, lowers, n, privileged, base, &err);
  if (rc == 0) {
    struct start_hook sh = {e, privileged ? 0 : base, privileged};
    struct cell_create_hooks hooks = {.on_phase = on_phase, .netns = net_hook, .data = &sh};
    /* foreground: the console master comes back to us (the reaper keeps it) */
    struct cell_create_opts o = {.root = e->rt_root, .id = e->name, .bundle = e->dir, .config = spec, .hooks = &hooks,
                                 .foreground = true};
    struct cell_created out;
    rc = cell_container_create(&o, &out, &err);
    if (rc == 0) rc = cell_container_start(e->rt_root, e->name, &err);
    if (rc == 0 && env_wants_monitor(e)) {
      prctl(PR_SET_PDEATHSIG, 0); /* it outlives cellctl from here */
      if (write(fd, "ok+monitor", 10) < 0) _exit(2);
      close(fd);
      env_monitor(e, out.pid, out.console_master, host_mntns);
    }
    if (rc == 0 && out.console_master >= 0) close(out.console_master);
  }
  const char *msg = rc == 0 ? "ok" : err.msg[0] ? err.msg : "start failed";
  if (write(fd, msg, strlen(msg)) < 0) _exit(2);
  _exit(rc == 0 ? 0 : 1);
}

/* Run the child with a bounded wait; on timeout it is killed. */
static int run_start_child(struct env *e, char **lowers, size_t n, cJSON *spec, int timeout, struct cell_err *err) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return cell_error(err, errno, "pipe");
  pid_t parent = getpid(), pid = fork();
  if (pid < 0) return cell_error(err, errno, "fork");
  if (pid == 0) {
    /* dies with a killed cellctl: the next command repairs a half-made start */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    close(p[0]);
    start_child(e, lowers, n, spec, p[1]);
  }
  close(p[1]);
  char buf[CELL_ERR_MAX] = "";
  size_t got = 0;
  long long end = env_now_ms() + timeout * 1000LL;
  bool timed_out = false;
  for (;;) {
    long long left = end - env_now_ms();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    int r = poll(&pf, 1, (int)(left > 1000 ? 1000 : left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    ssize_t k = read(p[0], buf + got, sizeof buf - 1 - got);
    if (k <= 0) break;
    got += (size_t)k;
  }
  buf[got] = 0;
  close(p[0]);
  if (!timed_out && !strcmp(buf, "ok+monitor")) return 0; /* it stays, as the init's reaper */
  if (timed_out) kill(pid, SIGKILL);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return cell_error(err, 0, "environment \"%s\": the start took longer than %d s", e->name, timeout);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && !strcmp(buf, "ok")) return 0;
  return cell_error(err, 0, "environment \"%s\": %s", e->name, got ? buf : "the start process died");
}

/* --wait: systemd says READY=1; other inits have their halt handler in. */
static int wait_ready(struct env *e, int nfd, int timeout, struct cell_err *err) {
  const char *init = env_config_get(e->cfg, "init");
  bool systemd = !init || !strcmp(init, "systemd");
  long long end = env_now_ms() + timeout * 1000LL;
  while (env_now_ms() < end) {
    struct env_status st;
    if (env_status(e, &st, err) < 0) return -1;
    if (st.state != ENV_RUNNING) return cell_error(err, 0, "environment \"%s\" stopped while starting", e->name);
    if (systemd) {
      struct pollfd pf = {.fd = nfd, .events = POLLIN};
      if (poll(&pf, 1, 200) > 0) {
        char buf[4096];
        ssize_t k = recv(nfd, buf, sizeof buf - 1, 0);
        if (k > 0) {
          buf[k] = 0;
          for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
            if (!strcmp(l, "READY=1")) return 0;
        }
      }
    } else {
      if (env_halt_signal(init, st.pid) > 0) return 0;
      usleep(20000);
    }
  }
  return cell_error(err, 0, "environment \"%s\": the init was not ready within %d s (it keeps running)", e->name,
                    timeout);
}

/* An unprivileged environment's root (a plain id on the host) must be able
 * to walk down to its rootfs: the runtime binds it from inside. */
static int check_reachable(struct env *e, struct cell_err *err) {
  const char *s = env_config_get(e->cfg, "privileged");
  bool b = false;
  if (s) env_parse_bool(s, &b);
  if (b) return 0;
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s", e->dir);
  for (char *slash = p + strlen(p); slash > p; slash = strrchr(p, '/')) {
    *slash = 0;
    struct stat sb;
    const char *d = *p ? p : "/";
    if (stat(d, &sb) == 0 && !(sb.st_mode & S_IXOTH))
      return cell_error(err, 0,
                        "environment \"%s\": %s is mode %04o: the environment's root (an unprivileged id on the host) "
                        "cannot reach its rootfs below it (chmod o+x it, or use --privileged)",
                        e->name, d, (unsigned)(sb.st_mode & 07777));
  }
  return 0;
}

/* The disk of the config's `disk` (made, or grown offline when `set disk`
 * could not grow it live), mounted on DIR/data in the host's mount namespace:
 * the start child's own namespace inherits it. */
static int attach_disk(struct env *e, struct cell_err *err) {
  if (e->keep_disk) return 0; /* the reboot monitor: our namespace has it mounted already */
  const char *v = env_config_get(e->cfg, "disk");
  if (v) {
    uint64_t want;
    char img[PATH_MAX + 16];
    struct stat sb;
    snprintf(img, sizeof img, "%s/disk.img", e->dir);
    if (storage_parse_size(v, "disk", &want, err) < 0) return cell_error_wrap(err, "%s", e->cfg_path);
    bool has = stat(img, &sb) == 0;
    if ((!has || (uint64_t)sb.st_size < want) && storage_env_disk_resize(e->dir, want, err) < 0)
      return cell_error_wrap(err, "environment \"%s\": disk = %s", e->name, v);
  }
  if (storage_env_disk_attach(e->dir, err) < 0) return cell_error_wrap(err, "environment \"%s\": attach its disk", e->name);
  return 0;
}

int env_start(struct env *e, bool wait, int timeout, struct cell_err *err) {
  struct env_status st;
  if (env_status(e, &st, err) < 0) return -1;
  if (st.state == ENV_RUNNING) return cell_error(err, 0, "environment \"%s\" is already running", e->name);
  if (env_repair(e, err) < 0 || check_reachable(e, err) < 0) return -1;
  char **lowers = NULL;
  size_t n = 0;
  if (env_lowers(e, &lowers, &n, err) < 0) return -1;
  int rc = -1;
  char npath[PATH_MAX + 16];
  int nfd = notify_socket(e, npath, sizeof npath, err);
  cJSON *spec = NULL;
  if (nfd >= 0 && attach_disk(e, err) == 0 && build_spec(e, npath, &spec, err) == 0 &&
      run_start_child(e, lowers, n, spec, timeout > 0 ? timeout : 120, err) == 0)
    rc = 0;
  cJSON_Delete(spec);
  env_lowers_free(lowers, n);
  if (rc < 0) {
    struct cell_err e2;
    if (env_repair(e, &e2) < 0) cell_warn("%s", e2.msg);
  } else if (wait) {
    rc = wait_ready(e, nfd, timeout > 0 ? timeout : 120, err);
  }
  if (nfd >= 0) close(nfd);
  return rc;
}
