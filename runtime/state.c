#include "runtime/state.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/file.h"

int cell_id_valid(const char *id, struct cell_err *err) {
  if (!id || !*id) return cell_error(err, 0, "container id must not be empty");
  if (strlen(id) >= 256) return cell_error(err, 0, "invalid container id %.40s...: too long", id);
  if (!strcmp(id, ".") || !strcmp(id, ".."))
    return cell_error(err, 0, "invalid container id \"%s\"", id);
  for (const char *p = id; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '/' || c <= ' ' || c >= 0x7f)
      return cell_error(err, 0, "invalid container id \"%s\": only printable characters without '/' allowed", id);
  }
  return 0;
}

int cell_root_open(const char *root, bool create, struct cell_err *err) {
  int fd = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && create) {
    if (cell_mkdir_p(root, 0700) < 0) return cell_error(err, errno, "create state root %s", root);
    fd = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) return cell_error(err, errno, "open state root %s", root);
  return fd;
}

int cell_state_create_dir(int rootfd, const char *id, struct cell_err *err) {
  if (mkdirat(rootfd, id, 0711) < 0) {
    if (errno == EEXIST) return cell_error(err, 0, "container with id %s already exists", id);
    return cell_error(err, errno, "create state directory for %s", id);
  }
  /* From here on the directory is the container: whatever happens to this
   * process, state, list and delete --force find it. */
  int fd = openat(rootfd, id, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cell_error(err, errno, "open state directory for %s", id);
  if (flock(fd, LOCK_EX) < 0) {
    close(fd);
    return cell_error(err, errno, "lock state directory for %s", id);
  }
  int m = openat(fd, CELL_STATE_CREATING, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (m < 0) {
    close(fd);
    return cell_error(err, errno, "create %s/%s", id, CELL_STATE_CREATING);
  }
  close(m);
  return fd;
}

int cell_state_created(int dirfd, const char *id, struct cell_err *err) {
  if (unlinkat(dirfd, CELL_STATE_CREATING, 0) < 0 && errno != ENOENT)
    return cell_error(err, errno, "remove %s/%s", id, CELL_STATE_CREATING);
  return 0;
}

bool cell_state_half_made(int dirfd) {
  struct stat sb;
  return fstatat(dirfd, CELL_STATE_CREATING, &sb, 0) == 0;
}

int cell_state_lock(int rootfd, const char *id, struct cell_err *err) {
  int fd = openat(rootfd, id, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return cell_error(err, 0, "container does not exist: %s", id);
    return cell_error(err, errno, "open state directory for %s", id);
  }
  if (flock(fd, LOCK_EX) < 0) {
    close(fd);
    return cell_error(err, errno, "lock state directory for %s", id);
  }
  /* A concurrent delete may have removed it while we waited (a directory
   * still in place is a container, however far its create got). */
  struct stat locked, now;
  if (fstat(fd, &locked) < 0 || fstatat(rootfd, id, &now, AT_SYMLINK_NOFOLLOW) < 0 || locked.st_ino != now.st_ino ||
      locked.st_dev != now.st_dev) {
    close(fd);
    return cell_error(err, 0, "container does not exist: %s", id);
  }
  return fd;
}

static void add_str(cJSON *o, const char *k, const char *v) {
  if (v) cJSON_AddStringToObject(o, k, v);
}

int cell_state_save(int dirfd, const struct cell_state *st, struct cell_err *err) {
  cJSON *o = cJSON_CreateObject();
  add_str(o, "id", st->id);
  cJSON_AddNumberToObject(o, "pid", st->pid);
  cJSON_AddNumberToObject(o, "start_time", (double)st->start_time);
  add_str(o, "bundle", st->bundle);
  add_str(o, "rootfs", st->rootfs);
  add_str(o, "created", st->created);
  add_str(o, "cgroup", st->cgroup);
  add_str(o, "annotations", st->annotations);
  cJSON_AddNumberToObject(o, "owner", st->owner);
  cJSON_AddBoolToObject(o, "no_pivot", st->no_pivot);
  cleanup_free char *text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (!text) return cell_error(err, ENOMEM, "render state.json");
  if (cell_write_atomic_at(dirfd, "state.json", text, strlen(text), 0600, err) < 0)
    return cell_error_wrap(err, "write state of %s", st->id);
  return 0;
}

static char *dup_str(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

int cell_state_load(int dirfd, const char *id, struct cell_state *st, struct cell_err *err) {
  memset(st, 0, sizeof *st);
  cleanup_close int fd = openat(dirfd, "state.json", O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    /* a create killed before its first save: no cgroup, no process yet */
    snprintf(st->id, sizeof st->id, "%s", id);
    return 0;
  }
  if (fd < 0) return cell_error(err, errno, "read state of %s", id);
  cleanup_free char *text = cell_read_fd(fd, NULL);
  if (!text) return cell_error(err, errno, "read state of %s", id);
  cJSON *o = cJSON_Parse(text);
  if (!o) return cell_error(err, 0, "state.json of %s is corrupt", id);
  snprintf(st->id, sizeof st->id, "%s", id);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "pid");
  st->pid = cJSON_IsNumber(v) ? (pid_t)v->valuedouble : 0;
  v = cJSON_GetObjectItemCaseSensitive(o, "start_time");
  st->start_time = cJSON_IsNumber(v) ? (unsigned long long)v->valuedouble : 0;
  v = cJSON_GetObjectItemCaseSensitive(o, "owner");
  st->owner = cJSON_IsNumber(v) ? (uid_t)v->valuedouble : 0;
  st->no_pivot = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "no_pivot"));
  st->bundle = dup_str(o, "bundle");
  st->rootfs = dup_str(o, "rootfs");
  st->created = dup_str(o, "created");
  st->cgroup = dup_str(o, "cgroup");
  st->annotations = dup_str(o, "annotations");
  cJSON_Delete(o);
  return 0;
}

void cell_state_free(struct cell_state *st) {
  free(st->bundle);
  free(st->rootfs);
  free(st->created);
  free(st->cgroup);
  free(st->annotations);
  st->bundle = st->rootfs = st->created = st->cgroup = st->annotations = NULL;
}

/* state.json and the creating marker go last, then the directory: a delete
 * killed half-way leaves a record that the next one completes. */
int cell_state_remove(int rootfd, const char *id, struct cell_err *err) {
  int fd = openat(rootfd, id, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return 0;
    return cell_error(err, errno, "remove state directory of %s", id);
  }
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return cell_error(err, errno, "remove state directory of %s", id);
  }
  struct dirent *de;
  while ((de = readdir(d))) {
    const char *n = de->d_name;
    if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "state.json") || !strcmp(n, CELL_STATE_CREATING)) continue;
    if (de->d_type == DT_DIR) cell_rm_rf_at(fd, n);
    else unlinkat(fd, n, 0);
  }
  unlinkat(fd, "state.json", 0);
  unlinkat(fd, CELL_STATE_CREATING, 0);
  closedir(d);
  if (unlinkat(rootfd, id, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return cell_error(err, errno, "remove state directory of %s", id);
  return 0;
}

unsigned long long cell_proc_start_time(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  if (cell_read_small(path, buf, sizeof buf) <= 0) return 0;
  char *p = strrchr(buf, ')');
  if (!p) return 0;
  p += 2; /* state */
  if (*p == 'Z' || *p == 'X') return 0;
  /* fields after ')' : state(3) ... starttime(22) */
  int field = 3;
  while (*p && field < 22) {
    if (*p == ' ') field++;
    p++;
  }
  return strtoull(p, NULL, 10);
}

bool cell_state_pid_alive(const struct cell_state *st) {
  if (st->pid <= 0) return false;
  unsigned long long t = cell_proc_start_time(st->pid);
  return t != 0 && t == st->start_time;
}

const char *cell_status_name(enum cell_status s) {
  switch (s) {
    case CELL_CREATING: return "creating";
    case CELL_CREATED: return "created";
    case CELL_RUNNING: return "running";
    case CELL_PAUSED: return "paused";
    default: return "stopped";
  }
}

cJSON *cell_oci_state(const char *id, pid_t pid, const char *status, const char *bundle,
                      const char *rootfs, const char *created, const cJSON *annotations) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return NULL;
  cJSON_AddStringToObject(o, "ociVersion", "1.2.0");
  cJSON_AddStringToObject(o, "id", id);
  cJSON_AddNumberToObject(o, "pid", pid);
  cJSON_AddStringToObject(o, "status", status);
  add_str(o, "bundle", bundle);
  add_str(o, "rootfs", rootfs);
  add_str(o, "created", created);
  if (annotations) cJSON_AddItemToObject(o, "annotations", cJSON_Duplicate(annotations, 1));
  return o;
}

char *cell_state_json(const struct cell_state *st, enum cell_status status) {
  cJSON *ann = st->annotations ? cJSON_Parse(st->annotations) : NULL;
  cJSON *o = cell_oci_state(st->id, status == CELL_STOPPED ? 0 : st->pid, cell_status_name(status),
                            st->bundle, st->rootfs, st->created, ann);
  cJSON_Delete(ann);
  if (!o) return NULL;
  cJSON_AddStringToObject(o, "owner", ""); /* runc's state output has it */
  char *text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return text;
}
