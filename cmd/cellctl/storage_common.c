/* storage_common.c - holding an environment's files still for a copy:
 * attach its disk, freeze it when running, and undo both. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cellctl/cellctl.h"
#include "cmd/cellctl/storage_cmd.h"
#include "runtime/container.h"
#include "storage/storage.h"

#define FROZEN_MARK ".frozen-by-cellctl"

double storcmd_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int storcmd_repair(struct env *e, struct cell_err *err) {
  if (faccessat(e->dirfd, FROZEN_MARK, F_OK, 0) != 0) return 0;
  /* we hold the environment's lock: whoever froze it is gone */
  struct env_status st;
  if (env_status(e, &st, err) < 0) return -1;
  if (st.state != ENV_STOPPED && cell_container_pause(e->rt_root, e->name, false, err) < 0)
    return cell_error_wrap(err, "thaw %s, left frozen by a killed cellctl", e->name);
  if (unlinkat(e->dirfd, FROZEN_MARK, 0) < 0 && errno != ENOENT)
    return cell_error(err, errno, "remove %s/%s", e->dir, FROZEN_MARK);
  return 0;
}

int storcmd_hold(struct env *e, bool freeze, struct storcmd_hold *h, struct cell_err *err) {
  memset(h, 0, sizeof *h);
  h->e = e;
  snprintf(h->upper, sizeof h->upper, "%s/data/upper", e->dir);
  if (storcmd_repair(e, err) < 0) return -1;
  struct env_status st;
  if (env_status(e, &st, err) < 0) return -1;
  h->running = st.state != ENV_STOPPED;
  if (storage_env_has_disk(e->dir)) {
    char data[4096 + 16];
    snprintf(data, sizeof data, "%s/data", e->dir);
    struct storage_env_disk d;
    if (storage_env_disk_describe(e->dir, &d, err) < 0) return -1;
    if (!d.info.mounted) {
      if (h->running)
        return cell_error(err, 0, "environment \"%s\" runs but its disk is not mounted on %s (started before "
                          "storage was wired into start?)", e->name, data);
      if (storage_env_disk_attach(e->dir, err) < 0) return -1;
      h->attached = true;
    }
  }
  if (h->running && freeze) {
    int fd = openat(e->dirfd, FROZEN_MARK, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      cell_error(err, errno, "create %s/%s", e->dir, FROZEN_MARK);
      storcmd_release(h, err);
      return -1;
    }
    close(fd);
    if (cell_container_pause(e->rt_root, e->name, true, err) < 0) {
      cell_error_wrap(err, "freeze %s", e->name);
      unlinkat(e->dirfd, FROZEN_MARK, 0);
      struct cell_err e2;
      storcmd_release(h, &e2);
      return -1;
    }
    h->frozen = true;
  }
  return 0;
}

int storcmd_release(struct storcmd_hold *h, struct cell_err *err) {
  int rc = 0;
  struct cell_err e2 = {0};
  if (h->frozen) {
    if (cell_container_pause(h->e->rt_root, h->e->name, false, &e2) < 0) {
      rc = -1;
      *err = e2;
    } else {
      unlinkat(h->e->dirfd, FROZEN_MARK, 0);
    }
    h->frozen = false;
  }
  if (h->attached) {
    if (storage_env_disk_detach(h->e->dir, &e2) < 0 && rc == 0) {
      rc = -1;
      *err = e2;
    }
    h->attached = false;
  }
  return rc;
}
