/* storagetool - drives storage/ from the bats tests (tests/storage/ bats files)
 * before and besides cellctl:
 *   storagetool disk-create IMG SIZE | disk-mount IMG MNT | disk-umount IMG MNT
 *   storagetool disk-grow IMG MNT SIZE | disk-info IMG MNT | loop-find IMG
 *   storagetool quota-method DIR
 *   storagetool env-disk-create ENVDIR SIZE | env-disk-attach ENVDIR | env-disk-detach ENVDIR
 *   storagetool env-disk-resize ENVDIR SIZE | env-disk-show ENVDIR
 *   storagetool copy [--oci] SRC DST | treesum DIR
 *   storagetool snap-create SNAPDIR SNAP FILES | snap-list SNAPDIR
 *   storagetool snap-restore SNAPDIR SNAP FILES | snap-rm SNAPDIR SNAP */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/storage.h"
#include "treesum.h"

static int fail(struct cell_err *err) {
  fprintf(stderr, "storagetool: %s\n", err->msg);
  return 1;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The calls env/ makes (create, start, stop/destroy, set, show). */
static int env_cmd(const char *cmd, int argc, char **argv, struct cell_err *err) {
  uint64_t size;
  if (!strcmp(cmd, "env-disk-create") && argc == 4) {
    if (storage_parse_size(argv[3], "disk", &size, err) < 0) return -1;
    return storage_env_disk_create(argv[2], size, err);
  }
  if (!strcmp(cmd, "env-disk-resize") && argc == 4) {
    if (storage_parse_size(argv[3], "disk", &size, err) < 0) return -1;
    return storage_env_disk_resize(argv[2], size, err);
  }
  if (!strcmp(cmd, "env-disk-attach") && argc == 3) return storage_env_disk_attach(argv[2], err);
  if (!strcmp(cmd, "env-disk-detach") && argc == 3) return storage_env_disk_detach(argv[2], err);
  if (!strcmp(cmd, "env-disk-show") && argc == 3) {
    struct storage_env_disk d;
    if (storage_env_disk_describe(argv[2], &d, err) < 0) return -1;
    printf("method=%s\nproject_quota=%s\ndisk=%d\nsize=%" PRIu64 "\nallocated=%" PRIu64 "\nmounted=%d\n", d.method,
           d.project_quota, d.has_disk, d.info.size, d.info.allocated, d.info.mounted);
    return 0;
  }
  return 1;
}

static int disk_cmd(const char *cmd, int argc, char **argv, struct cell_err *err) {
  uint64_t size;
  if (!strcmp(cmd, "disk-create") && argc == 4) {
    if (storage_parse_size(argv[3], "SIZE", &size, err) < 0) return -1;
    return storage_disk_create(argv[2], size, err);
  }
  if (!strcmp(cmd, "disk-mount") && argc == 4) return storage_disk_mount(argv[2], argv[3], err);
  if (!strcmp(cmd, "disk-umount") && argc == 4) return storage_disk_umount(argv[2], argv[3], err);
  if (!strcmp(cmd, "disk-grow") && argc == 5) {
    if (storage_parse_size(argv[4], "SIZE", &size, err) < 0) return -1;
    return storage_disk_grow(argv[2], argv[3], size, err);
  }
  if (!strcmp(cmd, "disk-info") && argc == 4) {
    struct storage_disk_info i;
    if (storage_disk_info(argv[2], argv[3], &i, err) < 0) return -1;
    printf("size=%" PRIu64 "\nallocated=%" PRIu64 "\nmounted=%d\nloop=%s\nfs_total=%" PRIu64 "\nfs_used=%" PRIu64
           "\nfs_avail=%" PRIu64 "\n",
           i.size, i.allocated, i.mounted, i.loop_dev, i.fs_total, i.fs_used, i.fs_avail);
    return 0;
  }
  if (!strcmp(cmd, "loop-find") && argc == 3) {
    char dev[64];
    if (storage_loop_find(argv[2], dev, sizeof dev, err) < 0) return -1;
    printf("%s\n", dev);
    return 0;
  }
  if (!strcmp(cmd, "quota-method") && argc == 3) {
    char prj[256];
    const char *m = storage_quota_method(argv[2], true, prj, sizeof prj);
    printf("method=%s\nproject_quota=%s\n", m, prj);
    return 0;
  }
  return env_cmd(cmd, argc, argv, err);
}

static int tree_cmd(const char *cmd, int argc, char **argv, struct cell_err *err) {
  if (!strcmp(cmd, "copy") && (argc == 4 || (argc == 5 && !strcmp(argv[2], "--oci")))) {
    struct storage_copy_stats s = {0};
    double t0 = now();
    if (storage_copy_tree(argv[argc - 2], argv[argc - 1], argc == 5 ? STORAGE_COPY_OCI_WHITEOUTS : 0, &s, err) < 0)
      return -1;
    fprintf(stderr, "copied %" PRIu64 " files, %" PRIu64 " dirs, %" PRIu64 " hardlinks, %" PRIu64 " bytes in %.3f s\n",
            s.files, s.dirs, s.hardlinks, s.bytes, now() - t0);
    return 0;
  }
  if (!strcmp(cmd, "treesum") && argc == 3) {
    char *m = treesum(argv[2]);
    if (!m) return cell_error(err, errno, "walk %s", argv[2]);
    fputs(m, stdout);
    free(m);
    return 0;
  }
  if (!strcmp(cmd, "snap-create") && argc == 5) return storage_snap_create(argv[2], argv[3], argv[4], NULL, err);
  if (!strcmp(cmd, "snap-restore") && argc == 5) return storage_snap_restore(argv[2], argv[3], argv[4], err);
  if (!strcmp(cmd, "snap-rm") && argc == 4) return storage_snap_rm(argv[2], argv[3], err);
  if (!strcmp(cmd, "snap-list") && argc == 3) {
    struct storage_snap *v;
    size_t n;
    if (storage_snap_list(argv[2], &v, &n, err) < 0) return -1;
    for (size_t i = 0; i < n; i++) printf("%s %" PRId64 " %" PRIu64 "\n", v[i].name, v[i].created, v[i].bytes);
    free(v);
    return 0;
  }
  return 1;
}

int main(int argc, char **argv) {
  struct cell_err err = {0};
  if (argc < 2) {
    fprintf(stderr, "usage: storagetool COMMAND ARGS (see the source)\n");
    return 2;
  }
  int r = strncmp(argv[1], "disk-", 5) == 0 || strncmp(argv[1], "env-", 4) == 0 || !strcmp(argv[1], "loop-find") ||
                  !strcmp(argv[1], "quota-method")
              ? disk_cmd(argv[1], argc, argv, &err)
              : tree_cmd(argv[1], argc, argv, &err);
  if (r < 0) return fail(&err);
  if (r > 0) fprintf(stderr, "storagetool: bad command or arguments: %s\n", argv[1]);
  return r > 0 ? 2 : 0;
}
