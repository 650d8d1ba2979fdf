/* fsview_bind.c - bind cellfs's per-container views over /proc and
 * /sys/devices/system/cpu inside a container, lxcfs-style.
 * Annotations: run.cell.fsview = "false" opts out, "true" makes a missing
 * cellfs an error; run.cell.fsview.path overrides /var/lib/cellfs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "lib/fsview_files.h"
#include "lib/log.h"
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
