/* spec.c - the OCI runtime spec of a VPS-style environment (see spec.h). */
#include "env/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENV_DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The capabilities a full OS container gets: every one the kernel knows up to
 * CAP_CHECKPOINT_RESTORE except LXC's default drops. */
static const char *const cap_names[] = {
    "CAP_CHOWN",          "CAP_DAC_OVERRIDE",  "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",         "CAP_KILL",          "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",        "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",      "CAP_NET_RAW",       "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",     "CAP_SYS_RAWIO",     "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",      "CAP_SYS_ADMIN",     "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",   "CAP_SYS_TIME",      "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",          "CAP_AUDIT_WRITE",   "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",   "CAP_MAC_ADMIN",     "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",  "CAP_AUDIT_READ",    "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};
#define NCAPS ((int)(sizeof cap_names / sizeof *cap_names))
static const char *const cap_drops[] = {"CAP_MAC_ADMIN", "CAP_MAC_OVERRIDE", "CAP_SYS_TIME", "CAP_SYS_MODULE",
                                        "CAP_SYS_RAWIO"};

int env_init_parse(const char *s, enum env_init_kind *kind, struct cell_err *err) {
  if (!s || !strcmp(s, "systemd")) *kind = ENV_INIT_SYSTEMD;
  else if (!strcmp(s, "busybox")) *kind = ENV_INIT_BUSYBOX;
  else if (s[0] == '/' && strlen(s) < 4096 && !strstr(s, "/../") && strcmp(s + strlen(s) - (strlen(s) >= 3 ? 3 : 0), "/.."))
    *kind = ENV_INIT_PATH;
  else
    return cell_error(err, EINVAL, "init: \"%s\" must be systemd, busybox or an absolute path", s);
  return 0;
}

int env_init_halt_signal(enum env_init_kind kind) {
  switch (kind) {
  case ENV_INIT_SYSTEMD: return SIGRTMIN + 3;
  case ENV_INIT_BUSYBOX: return SIGUSR2;
  default: return SIGPWR;
  }
}

/* ---------- small cJSON builders (NULL-safe: a failed add is caught at the end) ---------- */

static cJSON *str_array(const char *const *v, size_t n) {
  cJSON *a = cJSON_CreateArray();
  for (size_t i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
  return a;
}

static void add_mount(cJSON *mounts, const char *dst, const char *type, const char *src, const char *const *opts,
                      size_t nopts) {
  cJSON *m = cJSON_CreateObject();
  cJSON_AddStringToObject(m, "destination", dst);
  if (type) cJSON_AddStringToObject(m, "type", type);
  cJSON_AddStringToObject(m, "source", src);
  cJSON_AddItemToObject(m, "options", str_array(opts, nopts));
  cJSON_AddItemToArray(mounts, m);
}
#define MOUNT(ms, dst, type, src, ...)                                                                        \
  do {                                                                                                        \
    static const char *const o_[] = {__VA_ARGS__};                                                           \
    add_mount(ms, dst, type, src, o_, sizeof o_ / sizeof *o_);                                               \
  } while (0)

static void add_env(cJSON *env, const char *fmt, const char *v) {
  char buf[4200];
  snprintf(buf, sizeof buf, fmt, v);
  cJSON_AddItemToArray(env, cJSON_CreateString(buf));
}

/* ---------- validation ---------- */

static bool hostname_ok(const char *h) {
  size_t n = strlen(h);
  if (n == 0 || n > 64 || h[0] == '-' || h[0] == '.') return false;
  for (const char *p = h; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
      return false;
  return true;
}

static bool uuid_ok(const char *u) {
  size_t hex = 0, n = strlen(u);
  for (const char *p = u; *p; p++) {
    if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')) hex++;
    else if (*p != '-') return false;
  }
  return hex == 32 && (n == 32 || (n == 36 && u[8] == '-' && u[13] == '-' && u[18] == '-' && u[23] == '-'));
}

static bool cpuset_ok(const char *s) {
  if (!*s) return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= '0' && *p <= '9') || *p == ',' || *p == '-')) return false;
  return true;
}

static int validate(const struct env_spec_in *in, struct cell_err *err) {
  if (!in->name || !*in->name) return cell_error(err, EINVAL, "name: must not be empty");
  if (!in->rootfs || in->rootfs[0] != '/') return cell_error(err, EINVAL, "rootfs: \"%s\" must be an absolute path", in->rootfs ? in->rootfs : "");
  const char *h = in->hostname ? in->hostname : in->name;
  if (!hostname_ok(h)) return cell_error(err, EINVAL, "hostname: \"%s\" is not a valid host name (1-64 of a-z A-Z 0-9 - .)", h);
  if (!in->privileged) {
    unsigned count = in->uid_count ? in->uid_count : 65536;
    if (in->uid_base == 0) return cell_error(err, EINVAL, "uid_base: 0 would map the environment's root to the host's root (use privileged)");
    if (count < 65536) return cell_error(err, EINVAL, "uid_count: %u is smaller than 65536 (the range systemd needs)", count);
    if ((unsigned long long)in->uid_base + count > 4294967295ULL)
      return cell_error(err, EINVAL, "uid_base: %u + %u passes the last uid", in->uid_base, count);
  }
  if (in->uuid && !uuid_ok(in->uuid)) return cell_error(err, EINVAL, "uuid: \"%s\" is not a UUID (32 hex digits, dashes allowed)", in->uuid);
  const struct env_limits *l = &in->limits;
  if (l->swap && !l->memory) return cell_error(err, EINVAL, "swap: needs memory (swap is on top of the memory limit)");
  if (l->memory && l->memory < 4096) return cell_error(err, EINVAL, "memory: %llu bytes is less than a page", (unsigned long long)l->memory);
  if (l->cpus < 0 || l->cpus > 4096 || isnan(l->cpus)) return cell_error(err, EINVAL, "cpus: %g must be between 0 and 4096", l->cpus);
  if (l->cpu_period && (l->cpu_period < 1000 || l->cpu_period > 1000000))
    return cell_error(err, EINVAL, "cpu_period: %llu must be 1000..1000000 microseconds", (unsigned long long)l->cpu_period);
  if (l->cpus > 0 && l->cpus * (double)(l->cpu_period ? l->cpu_period : 100000) < 1000)
    return cell_error(err, EINVAL, "cpus: %g gives a quota under 1 ms per period", l->cpus);
  if (l->cpu_weight && l->cpu_weight > 10000) return cell_error(err, EINVAL, "cpu_weight: %llu must be 1..10000", (unsigned long long)l->cpu_weight);
  if (l->cpuset && !cpuset_ok(l->cpuset)) return cell_error(err, EINVAL, "cpuset: \"%s\" must be a CPU list like 0-1,3", l->cpuset);
  if (l->pids < -1) return cell_error(err, EINVAL, "pids: %lld must be positive or -1 (no limit)", (long long)l->pids);
  if (l->io_weight && (l->io_weight < 10 || l->io_weight > 1000)) return cell_error(err, EINVAL, "io_weight: %u must be 10..1000", l->io_weight);
  if (in->notify_socket && in->notify_socket[0] != '/')
    return cell_error(err, EINVAL, "notify_socket: \"%s\" must be an absolute path", in->notify_socket);
  if (in->netns_path && in->netns_path[0] != '/')
    return cell_error(err, EINVAL, "netns_path: \"%s\" must be an absolute path", in->netns_path);
  for (const char *const *e = in->env; e && *e; e++)
    if (!strchr(*e, '=') || **e == '=') return cell_error(err, EINVAL, "env: \"%s\" must be KEY=VALUE", *e);
  return 0;
}

/* ---------- the parts ---------- */

static cJSON *build_caps(const struct env_spec_in *in) {
  uint64_t avail = in->caps_avail ? in->caps_avail : ~UINT64_C(0);
  const char *list[NCAPS];
  size_t n = 0;
  for (int c = 0; c < NCAPS; c++) {
    bool drop = !(avail & (UINT64_C(1) << c));
    for (size_t k = 0; k < sizeof cap_drops / sizeof *cap_drops; k++) drop = drop || !strcmp(cap_names[c], cap_drops[k]);
    if (!drop) list[n++] = cap_names[c];
  }
  cJSON *caps = cJSON_CreateObject();
  cJSON_AddItemToObject(caps, "bounding", str_array(list, n));
  cJSON_AddItemToObject(caps, "effective", str_array(list, n));
  cJSON_AddItemToObject(caps, "permitted", str_array(list, n));
  return caps;
}

static cJSON *build_process(const struct env_spec_in *in, enum env_init_kind kind) {
  cJSON *p = cJSON_CreateObject();
  cJSON_AddBoolToObject(p, "terminal", in->terminal);
  cJSON *user = cJSON_AddObjectToObject(p, "user");
  cJSON_AddNumberToObject(user, "uid", 0);
  cJSON_AddNumberToObject(user, "gid", 0);
  cJSON *args = cJSON_AddArrayToObject(p, "args");
  cJSON_AddItemToArray(args, cJSON_CreateString(kind == ENV_INIT_PATH ? in->init : "/sbin/init"));
  for (const char *const *a = in->init_args; a && *a; a++) cJSON_AddItemToArray(args, cJSON_CreateString(*a));
  cJSON *env = cJSON_AddArrayToObject(p, "env");
  cJSON_AddItemToArray(env, cJSON_CreateString(ENV_DEFAULT_PATH));
  cJSON_AddItemToArray(env, cJSON_CreateString("container=cell"));
  if (in->uuid) add_env(env, "container_uuid=%s", in->uuid);
  if (in->notify_socket && kind == ENV_INIT_SYSTEMD) add_env(env, "NOTIFY_SOCKET=%s", ENV_NOTIFY_SOCKET_PATH);
  if (in->terminal) cJSON_AddItemToArray(env, cJSON_CreateString("TERM=linux"));
  for (const char *const *e = in->env; e && *e; e++) cJSON_AddItemToArray(env, cJSON_CreateString(*e));
  cJSON_AddStringToObject(p, "cwd", "/");
  cJSON_AddItemToObject(p, "capabilities", build_caps(in));
  cJSON_AddBoolToObject(p, "noNewPrivileges", false);
  return p;
}

static cJSON *build_mounts(const struct env_spec_in *in, bool userns) {
  cJSON *ms = cJSON_CreateArray();
  MOUNT(ms, "/proc", "proc", "proc", "nosuid", "noexec", "nodev");
  MOUNT(ms, "/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k");
  /* gid 5 (tty) is mapped in a user namespace too: the range covers 0..65535 */
  MOUNT(ms, "/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5");
  MOUNT(ms, "/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k");
  MOUNT(ms, "/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev");
  /* sysfs needs a network namespace owned by the environment's user
   * namespace; without a new one, bind the host's read-only. */
  if (userns && !in->netns_new)
    MOUNT(ms, "/sys", "none", "/sys", "rbind", "nosuid", "noexec", "nodev", "ro");
  else
    MOUNT(ms, "/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro");
  /* the environment's own cgroup subtree, writable (a cgroup namespace) */
  MOUNT(ms, "/sys/fs/cgroup", "cgroup", "cgroup", "nosuid", "noexec", "nodev", "relatime", "rw");
  MOUNT(ms, "/run", "tmpfs", "tmpfs", "nosuid", "nodev", "mode=755", "size=20%");
  MOUNT(ms, "/run/lock", "tmpfs", "tmpfs", "nosuid", "nodev", "noexec", "mode=1777", "size=5m");
  MOUNT(ms, "/tmp", "tmpfs", "tmpfs", "nosuid", "nodev", "mode=1777", "size=50%");
  if (in->notify_socket) {
    const char *o[] = {"bind", "nosuid", "nodev", "noexec"};
    add_mount(ms, ENV_NOTIFY_SOCKET_PATH, "none", in->notify_socket, o, 4);
  }
  return ms;
}

static void id_mapping(cJSON *lx, const char *key, unsigned base, unsigned count) {
  cJSON *a = cJSON_AddArrayToObject(lx, key);
  cJSON *m = cJSON_CreateObject();
  cJSON_AddNumberToObject(m, "containerID", 0);
  cJSON_AddNumberToObject(m, "hostID", base);
  cJSON_AddNumberToObject(m, "size", count);
  cJSON_AddItemToArray(a, m);
}

static void add_ns(cJSON *nss, const char *type, const char *path) {
  cJSON *n = cJSON_CreateObject();
  cJSON_AddStringToObject(n, "type", type);
  if (path) cJSON_AddStringToObject(n, "path", path);
  cJSON_AddItemToArray(nss, n);
}

static void add_dev_rule(cJSON *devs, bool allow, const char *type, long major, long minor, const char *access) {
  cJSON *d = cJSON_CreateObject();
  cJSON_AddBoolToObject(d, "allow", allow);
  if (type) cJSON_AddStringToObject(d, "type", type);
  if (major >= 0) cJSON_AddNumberToObject(d, "major", (double)major);
  if (minor >= 0) cJSON_AddNumberToObject(d, "minor", (double)minor);
  cJSON_AddStringToObject(d, "access", access);
  cJSON_AddItemToArray(devs, d);
}

/* LXC's default device policy: deny, mknod of anything (systemd's
 * PrivateDevices=), the standard character devices, ptys, fuse and tun. */
static cJSON *build_devices(void) {
  cJSON *d = cJSON_CreateArray();
  add_dev_rule(d, false, NULL, -1, -1, "rwm");
  add_dev_rule(d, true, "c", -1, -1, "m");
  add_dev_rule(d, true, "b", -1, -1, "m");
  static const long std[][2] = {{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 1}, {5, 2}, {10, 229}, {10, 200}};
  for (size_t i = 0; i < sizeof std / sizeof *std; i++) add_dev_rule(d, true, "c", std[i][0], std[i][1], "rwm");
  add_dev_rule(d, true, "c", 136, -1, "rwm");
  return d;
}

static cJSON *build_resources(const struct env_limits *l) {
  cJSON *r = cJSON_CreateObject();
  cJSON_AddItemToObject(r, "devices", build_devices());
  if (l->memory) {
    cJSON *m = cJSON_AddObjectToObject(r, "memory");
    cJSON_AddNumberToObject(m, "limit", (double)l->memory);
    if (l->swap) cJSON_AddNumberToObject(m, "swap", (double)(l->memory + l->swap));
  }
  if (l->cpus > 0 || l->cpu_weight || l->cpuset) {
    cJSON *c = cJSON_AddObjectToObject(r, "cpu");
    if (l->cpus > 0) {
      uint64_t period = l->cpu_period ? l->cpu_period : 100000;
      cJSON_AddNumberToObject(c, "quota", (double)llround(l->cpus * (double)period));
      cJSON_AddNumberToObject(c, "period", (double)period);
    }
    /* the runtime maps shares to cpu.weight on v2 (1 + (shares-2)*9999/262142): invert it */
    if (l->cpu_weight) cJSON_AddNumberToObject(c, "shares", (double)(2 + ((l->cpu_weight - 1) * 262142 + 9998) / 9999));
    if (l->cpuset) cJSON_AddStringToObject(c, "cpus", l->cpuset);
  }
  if (l->pids) cJSON_AddNumberToObject(cJSON_AddObjectToObject(r, "pids"), "limit", (double)l->pids);
  if (l->io_weight) cJSON_AddNumberToObject(cJSON_AddObjectToObject(r, "blockIO"), "weight", l->io_weight);
  return r;
}

/* Syscalls no OS container needs and whose effect is host-wide. */
static cJSON *build_seccomp(void) {
  cJSON *s = cJSON_CreateObject();
  cJSON_AddStringToObject(s, "defaultAction", "SCMP_ACT_ALLOW");
  static const char *const arches[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  cJSON_AddItemToObject(s, "architectures", str_array(arches, 3));
  cJSON *calls = cJSON_AddArrayToObject(s, "syscalls");
  static const char *const eperm[] = {"kexec_load", "kexec_file_load", "open_by_handle_at", "init_module",
                                      "finit_module", "delete_module"};
  static const char *const enosys[] = {"keyctl", "add_key", "request_key"};
  cJSON *a = cJSON_CreateObject();
  cJSON_AddItemToObject(a, "names", str_array(eperm, sizeof eperm / sizeof *eperm));
  cJSON_AddStringToObject(a, "action", "SCMP_ACT_ERRNO");
  cJSON_AddNumberToObject(a, "errnoRet", EPERM);
  cJSON_AddItemToArray(calls, a);
  cJSON *b = cJSON_CreateObject();
  cJSON_AddItemToObject(b, "names", str_array(enosys, sizeof enosys / sizeof *enosys));
  cJSON_AddStringToObject(b, "action", "SCMP_ACT_ERRNO");
  cJSON_AddNumberToObject(b, "errnoRet", ENOSYS);
  cJSON_AddItemToArray(calls, b);
  return s;
}

static cJSON *build_linux(const struct env_spec_in *in, bool userns) {
  cJSON *lx = cJSON_CreateObject();
  cJSON *nss = cJSON_AddArrayToObject(lx, "namespaces");
  add_ns(nss, "pid", NULL);
  add_ns(nss, "ipc", NULL);
  add_ns(nss, "uts", NULL);
  add_ns(nss, "mount", NULL);
  add_ns(nss, "cgroup", NULL);
  if (in->netns_path) add_ns(nss, "network", in->netns_path);
  else if (in->netns_new) add_ns(nss, "network", NULL);
  if (userns) {
    add_ns(nss, "user", NULL);
    unsigned count = in->uid_count ? in->uid_count : 65536;
    id_mapping(lx, "uidMappings", in->uid_base, count);
    id_mapping(lx, "gidMappings", in->uid_base, count);
  }
  char cg[600];
  if (in->cgroups_path) snprintf(cg, sizeof cg, "%s", in->cgroups_path);
  else snprintf(cg, sizeof cg, "cell-env/%s", in->name);
  cJSON_AddStringToObject(lx, "cgroupsPath", cg);
  cJSON_AddItemToObject(lx, "resources", build_resources(&in->limits));
  static const char *const masked[] = {"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                                       "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                                       "/sys/firmware"};
  cJSON_AddItemToObject(lx, "maskedPaths", str_array(masked, sizeof masked / sizeof *masked));
  static const char *const ro[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  cJSON_AddItemToObject(lx, "readonlyPaths", str_array(ro, sizeof ro / sizeof *ro));
  cJSON_AddItemToObject(lx, "seccomp", build_seccomp());
  return lx;
}

static cJSON *build_annotations(const struct env_spec_in *in, enum env_init_kind kind) {
  cJSON *a = cJSON_CreateObject();
  cJSON_AddStringToObject(a, "run.cell.fsview", in->cellfs_views ? "true" : "false");
  if (in->cellfs_views && in->cellfs_path) cJSON_AddStringToObject(a, "run.cell.fsview.path", in->cellfs_path);
  cJSON_AddStringToObject(a, "run.cell.env.name", in->name);
  cJSON_AddStringToObject(a, "run.cell.env.init",
                          kind == ENV_INIT_SYSTEMD ? "systemd" : kind == ENV_INIT_BUSYBOX ? "busybox" : in->init);
  cJSON_AddStringToObject(a, "run.cell.env.idmapped", in->idmap_rootfs ? "true" : "false");
  return a;
}

int env_spec_build(const struct env_spec_in *in, cJSON **spec_out, struct cell_err *err) {
  *spec_out = NULL;
  enum env_init_kind kind;
  if (env_init_parse(in->init, &kind, err) < 0) return -1;
  if (validate(in, err) < 0) return -1;
  bool userns = !in->privileged;
  cJSON *s = cJSON_CreateObject();
  cJSON_AddStringToObject(s, "ociVersion", "1.2.0");
  cJSON_AddItemToObject(s, "process", build_process(in, kind));
  cJSON *root = cJSON_AddObjectToObject(s, "root");
  cJSON_AddStringToObject(root, "path", in->rootfs);
  cJSON_AddBoolToObject(root, "readonly", false);
  cJSON_AddStringToObject(s, "hostname", in->hostname ? in->hostname : in->name);
  cJSON_AddItemToObject(s, "mounts", build_mounts(in, userns));
  cJSON_AddItemToObject(s, "linux", build_linux(in, userns));
  cJSON_AddItemToObject(s, "annotations", build_annotations(in, kind));
  /* every builder above is NULL-safe; an allocation failure shows as a missing part */
  static const char *const parts[] = {"process", "root", "mounts", "linux", "annotations"};
  for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
    if (!s || !cJSON_GetObjectItemCaseSensitive(s, parts[i])) {
      cJSON_Delete(s);
      return cell_error(err, ENOMEM, "building the spec of %s", in->name);
    }
  *spec_out = s;
  return 0;
}

/* ---------- the two helpers that touch the host (spec.h) ---------- */

uint64_t env_spec_host_caps(void) {
  FILE *f = fopen("/proc/self/status", "re");
  if (!f) return 0;
  char line[256];
  unsigned long long v = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "CapBnd: %llx", &v) == 1) break;
  fclose(f);
  return v;
}

/* The mount point of a hierarchy named by a /proc/PID/cgroup controller field. */
static int hierarchy_dir(const char *ctrls, char *out, size_t n) {
  struct stat sb;
  if (!*ctrls) {
    /* cgroup2: the unified mount of a hybrid host, or the v2 root */
    if (stat("/sys/fs/cgroup/unified/cgroup.procs", &sb) == 0) snprintf(out, n, "/sys/fs/cgroup/unified");
    else snprintf(out, n, "/sys/fs/cgroup");
    return 0;
  }
  snprintf(out, n, "/sys/fs/cgroup/%s", strncmp(ctrls, "name=", 5) ? ctrls : ctrls + 5);
  if (stat(out, &sb) == 0) return 0;
  char first[128];
  snprintf(first, sizeof first, "%.*s", (int)strcspn(ctrls, ","), ctrls);
  snprintf(out, n, "/sys/fs/cgroup/%s", first);
  return stat(out, &sb) == 0 ? 0 : -1;
}

static int chown_cgroup(const char *dir, unsigned uid, unsigned gid, struct cell_err *err) {
  int d = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (d < 0) return cell_error(err, errno, "delegate cgroup: open %s", dir);
  int rc = 0;
  if (fchown(d, uid, gid) < 0) rc = cell_error(err, errno, "delegate cgroup: chown %s to %u:%u", dir, uid, gid);
  static const char *const files[] = {"cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "tasks",
                                      "cgroup.clone_children", "notify_on_release"};
  for (size_t i = 0; rc == 0 && i < sizeof files / sizeof *files; i++)
    if (fchownat(d, files[i], uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT)
      rc = cell_error(err, errno, "delegate cgroup: chown %s/%s to %u:%u", dir, files[i], uid, gid);
  close(d);
  return rc;
}

int env_spec_delegate_cgroups(int init_pid, const char *suffix, unsigned uid, unsigned gid, struct cell_err *err) {
  if (uid == 0) return 0;
  while (suffix && *suffix == '/') suffix++;
  if (!suffix || !*suffix) return cell_error(err, EINVAL, "delegate cgroup: an empty cgroup path suffix");
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/cgroup", init_pid);
  FILE *f = fopen(path, "re");
  if (!f) return cell_error(err, errno, "delegate cgroup: open %s", path);
  char line[4096];
  int rc = 0, done = 0;
  size_t sl = strlen(suffix);
  while (rc == 0 && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c2 = 0;
    const char *ctrls = c1 + 1, *cg = c2 + 1;
    size_t cl = strlen(cg);
    /* only a cgroup the runtime made for this environment */
    if (cl <= sl || strcmp(cg + cl - sl, suffix) || cg[cl - sl - 1] != '/') continue;
    char dir[PATH_MAX], hier[PATH_MAX / 2];
    if (hierarchy_dir(ctrls, hier, sizeof hier) < 0) continue; /* not mounted on the host */
    snprintf(dir, sizeof dir, "%s%s", hier, cg);
    rc = chown_cgroup(dir, uid, gid, err);
    done++;
  }
  fclose(f);
  if (rc == 0 && !done)
    return cell_error(err, ENOENT, "delegate cgroup: pid %d is in no cgroup ending with /%s (%s)", init_pid, suffix, path);
  return rc;
}
