/* env.c - environment names, directories, locks, create, status, destroy. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "env/env.h"
#include "env/env_internal.h"
#include "env/idrange.h"
#include "images/images.h"
#include "lib/file.h"
#include "lib/log.h"
#include "runtime/container.h"
#include "runtime/state.h"
#include "storage/storage.h"

int env_name_valid(const char *name, struct cell_err *err) {
  size_t n = strlen(name);
  if (n == 0) return cell_error(err, 0, "environment name: empty");
  if (n > ENV_NAME_MAX)
    return cell_error(err, 0, "environment name: %zu characters, at most %d allowed", n, ENV_NAME_MAX);
  if (!isalnum((unsigned char)name[0]))
    return cell_error(err, 0, "environment name \"%.*s\": must start with a letter or digit", ENV_NAME_MAX, name);
  for (const char *p = name; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
      return cell_error(err, 0, "environment name \"%s\": character '%c' not allowed (letters, digits, '-', '_', '.')",
                        name, isprint((unsigned char)*p) ? *p : '?');
  if (strstr(name, "..")) return cell_error(err, 0, "environment name \"%s\": \"..\" not allowed", name);
  return 0;
}

static int fill_paths(struct env *e, const char *root, const char *run, const char *name, struct cell_err *err) {
  if (env_name_valid(name, err) < 0) return -1;
  snprintf(e->name, sizeof e->name, "%s", name);
  if (snprintf(e->root, sizeof e->root, "%s", root) >= (int)sizeof e->root ||
      snprintf(e->run, sizeof e->run, "%s", run) >= (int)sizeof e->run ||
      snprintf(e->dir, sizeof e->dir, "%s/vps/%s", root, name) >= (int)sizeof e->dir ||
      snprintf(e->cfg_path, sizeof e->cfg_path, "%s/config", e->dir) >= (int)sizeof e->cfg_path ||
      snprintf(e->rt_root, sizeof e->rt_root, "%s/env", run) >= (int)sizeof e->rt_root ||
      snprintf(e->aux, sizeof e->aux, "%s/env-run/%s", run, name) >= (int)sizeof e->aux)
    return cell_error(err, ENAMETOOLONG, "--root %s", root);
  e->dirfd = -1;
  return 0;
}

static int lock_timeout(void) {
  const char *s = getenv("CELLCTL_LOCK_TIMEOUT");
  int t = s ? atoi(s) : 0;
  return t > 0 ? t : ENV_LOCK_TIMEOUT;
}

/* flock with a bounded wait. */
static int lock_fd(int fd, const char *what, struct cell_err *err) {
  long waited_ms = 0, limit = lock_timeout() * 1000L;
  while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) return cell_error(err, errno, "lock %s", what);
    if (waited_ms >= limit)
      return cell_error(err, 0, "%s is busy: another cellctl held its lock for %d s", what, lock_timeout());
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
    waited_ms += 20;
  }
  return 0;
}

static int open_env(const char *root, const char *run, const char *name, bool lenient, struct env **out,
                    struct cell_err *err);
int env_open(const char *root, const char *run, const char *name, struct env **out, struct cell_err *err) {
  return open_env(root, run, name, false, out, err);
}
int env_open_lenient(const char *root, const char *run, const char *name, struct env **out, struct cell_err *err) {
  return open_env(root, run, name, true, out, err);
}

static int open_env(const char *root, const char *run, const char *name, bool lenient, struct env **out,
                    struct cell_err *err) {
  struct env *e = calloc(1, sizeof *e);
  if (!e) return cell_error(err, ENOMEM, "environment %s", name);
  if (fill_paths(e, root, run, name, err) < 0) {
    free(e);
    return -1;
  }
  e->dirfd = open(e->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (e->dirfd < 0) {
    int en = errno;
    free(e);
    if (en == ENOENT) return cell_error(err, 0, "environment \"%s\" does not exist", name);
    return cell_error(err, en, "open %s/vps/%s", root, name);
  }
  char what[128];
  snprintf(what, sizeof what, "environment \"%s\"", name);
  if (lock_fd(e->dirfd, what, err) < 0) {
    env_close(e);
    return -1;
  }
  /* destroyed while we waited for the lock */
  struct stat a, b;
  if (fstat(e->dirfd, &a) < 0 || stat(e->dir, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
    env_close(e);
    return cell_error(err, 0, "environment \"%s\" does not exist", name);
  }
  if (env_config_load(e->cfg_path, &e->cfg, err) < 0) {
    if (!lenient || !(e->cfg = env_config_new(name))) {
      env_close(e);
      return -1;
    }
    cell_warn("%s (going on without it)", err->msg);
  }
  *out = e;
  return 0;
}

void env_close(struct env *e) {
  if (!e) return;
  env_config_free(e->cfg);
  if (e->dirfd >= 0) close(e->dirfd);
  free(e);
}

const char *env_state_name(enum env_state s) {
  switch (s) {
  case ENV_RUNNING: return "running";
  case ENV_STARTING: return "starting";
  default: return "stopped";
  }
}

int env_status(struct env *e, struct env_status *st, struct cell_err *err) {
  memset(st, 0, sizeof *st);
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", e->rt_root, e->name);
  struct stat sb;
  if (stat(path, &sb) < 0) {
    if (errno == ENOENT) return 0;
    return cell_error(err, errno, "stat %s", path);
  }
  char *json = NULL;
  if (cell_container_state(e->rt_root, e->name, &json, err) < 0) {
    /* a directory the runtime cannot read is a leftover of a killed create */
    st->leftover = true;
    return 0;
  }
  cJSON *j = cJSON_Parse(json);
  free(json);
  const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(j, "status"));
  const cJSON *pid = cJSON_GetObjectItem(j, "pid");
  if (status && (!strcmp(status, "running") || !strcmp(status, "paused"))) {
    st->state = ENV_RUNNING;
    st->pid = cJSON_IsNumber(pid) ? (pid_t)pid->valuedouble : 0;
    st->start_time = cell_proc_start_time(st->pid);
  } else if (status && (!strcmp(status, "created") || !strcmp(status, "creating"))) {
    st->state = ENV_STARTING;
    st->pid = cJSON_IsNumber(pid) ? (pid_t)pid->valuedouble : 0;
  } else {
    st->leftover = true;
    st->pid = cJSON_IsNumber(pid) ? (pid_t)pid->valuedouble : 0;
  }
  cJSON_Delete(j);
  return 0;
}

int env_repair(struct env *e, struct cell_err *err) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", e->rt_root, e->name);
  if (access(path, F_OK) == 0 && cell_container_delete(e->rt_root, e->name, true, err) < 0)
    return cell_error_wrap(err, "environment \"%s\": remove its runtime state", e->name);
  if (cell_rm_rf_at(AT_FDCWD, e->aux) < 0 && errno != ENOENT)
    return cell_error(err, errno, "remove %s", e->aux);
  /* the container is gone: its disk's host mount and loop device go too */
  if (!e->keep_disk && storage_env_disk_detach(e->dir, err) < 0)
    return cell_error_wrap(err, "environment \"%s\": detach its disk", e->name);
  return env_net_release(e, -1, err);
}

/* Leftover temp dirs of killed creates/destroys: ROOT/vps/.new-* and .gone-* nobody locks. */
static void sweep_temps(const char *vps) {
  cleanup_closedir DIR *d = opendir(vps);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (strncmp(de->d_name, ".new-", 5) && strncmp(de->d_name, ".gone-", 6)) continue;
    int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) continue;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
      /* a disk being made or an environment's disk (killed create, destroy) may still be mounted */
      char p[PATH_MAX], img[PATH_MAX + 16], mnt[PATH_MAX + 16];
      struct cell_err e2;
      snprintf(p, sizeof p, "%s/%s", vps, de->d_name);
      snprintf(img, sizeof img, "%s/disk.img.new", p);
      snprintf(mnt, sizeof mnt, "%s/.disk-new", p);
      storage_disk_umount(img, mnt, &e2);
      storage_env_disk_detach(p, &e2);
      cell_rm_rf_at(dirfd(d), de->d_name);
    }
    close(fd);
  }
}

/* img_use / img_unuse of the environment's image (none: nothing). */
static int image_use(const char *root, const char *image, const char *name, bool use, struct cell_err *err) {
  if (!image) return 0;
  struct img_store *s;
  if (img_store_open(root, &s, err) < 0) return cell_error_wrap(err, "image %s", image);
  int r = use ? img_use(s, image, name, err) : img_unuse(s, image, name, err);
  img_store_close(s);
  if (r < 0 && !use) {
    /* an image removed with --force: nothing to release */
    cell_debug("release image %s: %s", image, err->msg);
    return 0;
  }
  return r < 0 ? cell_error_wrap(err, "image \"%s\"", image) : 0;
}

int env_create(const char *root, const char *run, const char *name, struct env_config *cfg, struct cell_err *err) {
  struct env e0;
  if (fill_paths(&e0, root, run, name, err) < 0) return -1;
  char vps[PATH_MAX + 8];
  snprintf(vps, sizeof vps, "%s/vps", root);
  if (cell_mkdir_p(vps, 0711) < 0) return cell_error(err, errno, "create %s", vps);
  sweep_temps(vps);
  if (access(e0.dir, F_OK) == 0) return cell_error(err, 0, "environment \"%s\" already exists", name);
  const char *priv = env_config_get(cfg, "privileged");
  bool privileged = false;
  if (priv) env_parse_bool(priv, &privileged);
  unsigned base = 0;
  if (!privileged) {
    if (env_idrange_alloc(root, name, &base, err) < 0) return cell_error_wrap(err, "environment \"%s\"", name);
    char b[32];
    snprintf(b, sizeof b, "%u", base);
    if (env_config_set(cfg, "idrange", b, err) < 0) goto fail_range;
  }
  char tmp[PATH_MAX + 64];
  snprintf(tmp, sizeof tmp, "%s/.new-%s-%d", vps, name, (int)getpid());
  if (mkdir(tmp, 0711) < 0) {
    cell_error(err, errno, "create %s", tmp);
    goto fail_range;
  }
  int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || flock(fd, LOCK_EX) < 0) {
    cell_error(err, errno, "open %s", tmp);
    goto fail_tmp;
  }
  static const char *const dirs[] = {"data", "data/upper", "data/work", "rootfs", "layers"};
  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
    if (mkdirat(fd, dirs[i], 0755) < 0) {
      cell_error(err, errno, "create %s/%s", tmp, dirs[i]);
      goto fail_tmp;
    }
  if (env_config_save(cfg, fd, "config", err) < 0) goto fail_tmp;
  const char *disk = env_config_get(cfg, "disk");
  if (disk) {
    uint64_t sz;
    if (storage_parse_size(disk, "--disk", &sz, err) < 0 || storage_env_disk_create(tmp, sz, err) < 0) goto fail_tmp;
  }
  /* the image is in use by this environment (`image rm` refuses) before it exists under its name;
   * a create killed after this leaves a use the next destroy or create of the name drops */
  if (image_use(root, env_config_get(cfg, "image"), name, true, err) < 0) goto fail_tmp;
  if (renameat2(AT_FDCWD, tmp, AT_FDCWD, e0.dir, RENAME_NOREPLACE) < 0) {
    if (errno == EEXIST || errno == ENOTEMPTY) cell_error(err, 0, "environment \"%s\" already exists", name);
    else cell_error(err, errno, "rename %s to %s", tmp, e0.dir);
    struct cell_err e3;
    image_use(root, env_config_get(cfg, "image"), name, false, &e3);
    goto fail_tmp;
  }
  close(fd);
  return 0;
fail_tmp:
  cell_rm_rf_at(AT_FDCWD, tmp);
  if (fd >= 0) close(fd);
fail_range:
  if (!privileged) {
    /* the range is ours only if no environment of that name exists now */
    struct cell_err e2;
    if (access(e0.dir, F_OK) != 0) env_idrange_free(root, name, &e2);
  }
  return -1;
}

int env_destroy(struct env *e, bool force, struct cell_err *err) {
  struct env_status st;
  if (env_status(e, &st, err) < 0) goto fail;
  if (st.state != ENV_STOPPED) {
    if (!force) {
      cell_error(err, 0, "environment \"%s\" is %s: stop it first, or destroy --force", e->name,
                 env_state_name(st.state));
      goto fail;
    }
    bool clean;
    if (env_stop(e, 0, true, &clean, err) < 0) goto fail;
  }
  if (env_repair(e, err) < 0) goto fail; /* detaches its disk too */
  /* rename away first: a killed destroy leaves a .gone- dir the next create sweeps */
  char gone[PATH_MAX + 64];
  snprintf(gone, sizeof gone, "%s/vps/.gone-%s-%d", e->root, e->name, (int)getpid());
  if (rename(e->dir, gone) < 0) {
    cell_error(err, errno, "rename %s", e->dir);
    goto fail;
  }
  if (env_idrange_free(e->root, e->name, err) < 0) goto fail;
  if (image_use(e->root, env_config_get(e->cfg, "image"), e->name, false, err) < 0) goto fail;
  if (cell_rm_rf_at(AT_FDCWD, gone) < 0) {
    cell_error(err, errno, "remove %s", gone);
    goto fail;
  }
  env_close(e);
  return 0;
fail:
  env_close(e);
  return -1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int env_list_names(const char *root, char ***names, size_t *n, struct cell_err *err) {
  *names = NULL;
  *n = 0;
  char vps[PATH_MAX + 8];
  snprintf(vps, sizeof vps, "%s/vps", root);
  cleanup_closedir DIR *d = opendir(vps);
  if (!d) return errno == ENOENT ? 0 : cell_error(err, errno, "open %s", vps);
  size_t cap = 0;
  struct dirent *de;
  struct cell_err e2;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.' || env_name_valid(de->d_name, &e2) < 0) continue;
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      char **nn = realloc(*names, cap * sizeof *nn);
      if (!nn) return cell_error(err, ENOMEM, "list %s", vps);
      *names = nn;
    }
    (*names)[(*n)++] = strdup(de->d_name);
  }
  if (*n) qsort(*names, *n, sizeof **names, cmp_str);
  return 0;
}
