/* fsview_bind.c - bind cellfs's per-container views over /proc and
 * /sys/devices/system/cpu inside a container, lxcfs-style.
 * Annotations: run.cell.fsview = "false" opts out, "true" makes a missing
 * cellfs an error; run.cell.fsview.path overrides /var/lib/cellfs. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/fsview_files.h"
#include "lib/log.h"
#include "runtime/affinity.h"
#include "runtime/mounts.h"

#define FUSE_SUPER_MAGIC 0x65735546

static const char *ann(const struct cell_spec *s, const char *key) {
  const cJSON *v = s->annotations ? cJSON_GetObjectItemCaseSensitive(s->annotations, key) : NULL;
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool has_mount(const struct cell_spec *s, const char *dest, const char *type) {
  for (size_t i = 0; i < s->nmounts; i++)
    if (!strcmp(s->mounts[i].destination, dest) && s->mounts[i].type && !strcmp(s->mounts[i].type, type)) return true;
  return false;
}

#define NAME(n) n,
static const char *proc_files[] = {CELL_FSVIEW_PROC_FILES(NAME)};
static const char *cpu_files[] = {CELL_FSVIEW_CPU_FILES(NAME)};
#undef NAME

/* Bind <dir>/<sub>/<name> over /<sub>/<name> in the rootfs, when both exist.
 * dir is cellfs's "<mountpoint>/.self-<random>": the tree of our cgroup (we
 * are the container's init, already placed), whose files are inodes of their
 * own, so sendfile readers never share page cache with another cgroup's. */
static int bind_view(int rootfd, const char *dir, const char *sub, const char *name, struct cell_err *err) {
  char src[PATH_MAX], dst[PATH_MAX];
  snprintf(src, sizeof src, "%s/%s/%s", dir, sub, name);
  snprintf(dst, sizeof dst, "/%s/%s", sub, name);
  if (access(src, R_OK) < 0) return 0;
  int fd = cell_open_in_root(rootfd, dst, false, false, err);
  if (fd < 0) return 0; /* the kernel has no such file: nothing to cover */
  char t[64];
  snprintf(t, sizeof t, "/proc/self/fd/%d", fd);
  int r = mount(src, t, NULL, MS_BIND, NULL);
  int e = errno;
  close(fd);
  if (r < 0) return cell_error(err, e, "fsview: bind %s over %s", src, dst);
  return 0;
}

int cell_fsview_bind(const struct cell_spec *s, int rootfd, struct cell_err *err) {
  const char *mode = ann(s, "run.cell.fsview");
  if (mode && !strcmp(mode, "false")) return 0;
  bool required = mode && !strcmp(mode, "true");
  if (mode && !required) return cell_error(err, 0, "annotations.run.cell.fsview: \"%s\" must be \"true\" or \"false\"", mode);
  const char *dir = ann(s, "run.cell.fsview.path");
  if (!dir) dir = CELL_FSVIEW_DEFAULT_MOUNT;
  if (!has_mount(s, "/proc", "proc")) return 0;
  struct statfs sf;
  char probe[PATH_MAX];
  snprintf(probe, sizeof probe, "%s/proc/meminfo", dir);
  if (statfs(dir, &sf) < 0 || (unsigned long)sf.f_type != FUSE_SUPER_MAGIC || access(probe, R_OK) < 0) {
    if (required)
      return cell_error(err, errno ? errno : ENOENT, "annotations.run.cell.fsview: cellfs is not mounted at %s", dir);
    return 0;
  }
  char self[PATH_MAX];
  unsigned long long id = 0;
  if (getrandom(&id, sizeof id, 0) != (ssize_t)sizeof id) id = (unsigned long long)getpid() << 32 ^ (unsigned long long)time(NULL);
  snprintf(self, sizeof self, "%s/.self-%016llx", dir, id);
  snprintf(probe, sizeof probe, "%s/proc/meminfo", self);
  if (access(probe, R_OK) == 0) dir = self; /* an older cellfs has no .self: the shared tree */
  for (size_t i = 0; i < sizeof proc_files / sizeof *proc_files; i++)
    if (bind_view(rootfd, dir, "proc", proc_files[i], err) < 0) return -1;
  if (!has_mount(s, "/sys", "sysfs")) return 0;
  for (size_t i = 0; i < sizeof cpu_files / sizeof *cpu_files; i++)
    if (bind_view(rootfd, dir, CELL_FSVIEW_CPU_DIR, cpu_files[i], err) < 0) return -1;
  return 0;
}

/* ---------- nproc: the CPU affinity of a container with a CPU quota ---------- */

int cell_affinity_parse_list(const char *text, cpu_set_t *set) {
  CPU_ZERO(set);
  const char *p = text;
  while (*p && *p != '\n') {
    char *end;
    errno = 0;
    long a = strtol(p, &end, 10), b;
    if (errno || end == p || a < 0) return -1;
    b = a;
    if (*end == '-') {
      p = end + 1;
      b = strtol(p, &end, 10);
      if (errno || end == p || b < a) return -1;
    }
    for (long i = a; i <= b && i < CPU_SETSIZE; i++) CPU_SET((int)i, set);
    p = end;
    if (*p == ',') p++;
    else if (*p && *p != '\n') return -1;
  }
  return 0;
}

void cell_affinity_pick(const cpu_set_t *allowed, int ncpus, const char *id, cpu_set_t *out) {
  int cpus[CPU_SETSIZE], m = 0;
  for (int i = 0; i < CPU_SETSIZE; i++)
    if (CPU_ISSET(i, allowed)) cpus[m++] = i;
  CPU_ZERO(out);
  if (m == 0) return;
  uint32_t h = 2166136261u; /* FNV-1a */
  for (const unsigned char *c = (const unsigned char *)id; *c; c++) h = (h ^ *c) * 16777619u;
  for (int i = 0; i < ncpus && i < m; i++) CPU_SET(cpus[(h % (uint32_t)m + (uint32_t)i) % (uint32_t)m], out);
}

int cell_affinity_check_annotation(const cJSON *annotations, struct cell_err *err) {
  const cJSON *v = annotations ? cJSON_GetObjectItemCaseSensitive(annotations, CELL_AFFINITY_ANNOTATION) : NULL;
  if (!v) return 0;
  if (!cJSON_IsString(v) || (strcmp(v->valuestring, "none") && strcmp(v->valuestring, "auto")))
    return cell_error(err, 0, "annotations." CELL_AFFINITY_ANNOTATION ": must be \"none\" or \"auto\"");
  return 0;
}

/* The first line of dir/name, NUL-terminated; -1 when it cannot be read. */
static int read_line(const char *dir, const char *name, char *buf, size_t len) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, len - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = 0;
  return 0;
}

/* CPUs the quota of one cgroup allows (ceil(quota/period)); 0 for none,
 * -1 when the directory has no such file (above the hierarchy's root). */
static int quota_cpus(const char *dir, bool v2) {
  char buf[128];
  long long q = -1, p = 0;
  if (v2) {
    if (read_line(dir, "cpu.max", buf, sizeof buf) < 0) return -1;
    if (!strncmp(buf, "max", 3)) return 0;
    if (sscanf(buf, "%lld %lld", &q, &p) != 2) return 0;
  } else {
    if (read_line(dir, "cpu.cfs_quota_us", buf, sizeof buf) < 0) return -1;
    q = strtoll(buf, NULL, 10);
    if (read_line(dir, "cpu.cfs_period_us", buf, sizeof buf) < 0) return -1;
    p = strtoll(buf, NULL, 10);
  }
  if (q <= 0 || p <= 0) return 0;
  long long n = (q + p - 1) / p;
  return n > CPU_SETSIZE ? CPU_SETSIZE : (int)n;
}

/* The smallest quota over the cgroup and its parents (a pod's limit is on
 * its sandbox's cgroup parent); 0 for none. */
static int cgroup_quota_cpus(const struct cell_cgroup *cg) {
  bool v2 = cell_cg_get_layout(cg) == CELL_CG_UNIFIED;
  const char *p = cell_cg_path(cg, v2 ? "" : "cpu");
  if (!p) return 0;
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", p);
  int best = 0;
  for (;;) {
    int n = quota_cpus(dir, v2);
    if (n < 0) break;
    if (n > 0 && (best == 0 || n < best)) best = n;
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) break;
    *slash = 0;
  }
  return best;
}

/* The cpuset's effective CPUs; else the online CPUs. */
static int cgroup_cpuset(const struct cell_cgroup *cg, cpu_set_t *set, struct cell_err *err) {
  bool v2 = cell_cg_get_layout(cg) == CELL_CG_UNIFIED;
  const char *p = cell_cg_path(cg, v2 ? "" : "cpuset");
  char buf[4096];
  if (p && read_line(p, v2 ? "cpuset.cpus.effective" : "cpuset.effective_cpus", buf, sizeof buf) == 0 &&
      cell_affinity_parse_list(buf, set) == 0 && CPU_COUNT(set) > 0)
    return 0;
  if (read_line("/sys/devices/system/cpu", "online", buf, sizeof buf) < 0)
    return cell_error(err, errno, "cpu affinity: read /sys/devices/system/cpu/online");
  if (cell_affinity_parse_list(buf, set) < 0 || CPU_COUNT(set) == 0)
    return cell_error(err, 0, "cpu affinity: /sys/devices/system/cpu/online: malformed \"%s\"", buf);
  return 0;
}

int cell_affinity_compute(const struct cell_cgroup *cg, const char *id, const cJSON *annotations, pid_t init,
                          const char *root, cpu_set_t *set, enum cell_affinity *out, struct cell_err *err) {
  *out = CELL_AFFINITY_OFF;
  const cJSON *v = annotations ? cJSON_GetObjectItemCaseSensitive(annotations, CELL_AFFINITY_ANNOTATION) : NULL;
  if (cJSON_IsString(v) && !strcmp(v->valuestring, "none")) return 0;
  if (!cg || init <= 0) return 0;
  char probe[PATH_MAX];
  struct statfs sf;
  snprintf(probe, sizeof probe, "/proc/%d/root%s/proc/meminfo", (int)init, root);
  if (statfs(probe, &sf) < 0 || (unsigned long)sf.f_type != FUSE_SUPER_MAGIC) return 0; /* no views */
  cpu_set_t all;
  if (cgroup_cpuset(cg, &all, err) < 0) return -1;
  int n = cgroup_quota_cpus(cg);
  if (n == 0 || n >= CPU_COUNT(&all)) {
    *set = all;
    *out = CELL_AFFINITY_FULL;
    return 0;
  }
  cell_affinity_pick(&all, n, id, set);
  *out = CELL_AFFINITY_NARROW;
  return 0;
}

/* Every thread of pid; a process that exits meanwhile is skipped. */
static int apply_threads(pid_t pid, const cpu_set_t *set, struct cell_err *err) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *d = opendir(path);
  if (!d) return errno == ENOENT ? 0 : cell_error(err, errno, "cpu affinity: open %s", path);
  int rc = 0;
  struct dirent *de;
  while (rc == 0 && (de = readdir(d))) {
    if (!isdigit((unsigned char)de->d_name[0])) continue;
    pid_t tid = (pid_t)atoi(de->d_name);
    if (sched_setaffinity(tid, sizeof *set, set) < 0 && errno != ESRCH)
      rc = cell_error(err, errno, "cpu affinity: sched_setaffinity of task %d", (int)tid);
  }
  closedir(d);
  return rc;
}

int cell_affinity_apply_cgroup(const struct cell_cgroup *cg, const cpu_set_t *set, struct cell_err *err) {
  pid_t *pids = NULL;
  size_t n = 0;
  if (cell_cg_pids(cg, &pids, &n, err) < 0) return -1;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) rc = apply_threads(pids[i], set, err);
  free(pids);
  return rc;
}
