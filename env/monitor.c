/* monitor.c - reboot and poweroff from inside an environment.
 *
 * A pid namespace's init that calls reboot(2) is killed by the kernel:
 * SIGHUP for a restart, SIGINT for a halt or power-off.  Only the init's
 * parent (here: the process that created it, its child subreaper) can see
 * that.  With `reboot = restart` (the default) that process stays as a
 * small waiter: when the init dies it takes the environment's lock and,
 * unless a cellctl command already dealt with it (the runtime state is gone
 * or names another init), restarts the environment after a reboot or
 * removes its runtime state after a power-off.  With `reboot = stop` no
 * host process stays: a reboot inside stops the environment, and the next
 * command repairs the runtime state it left. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "env/env.h"
#include "env/env_internal.h"
#include "lib/log.h"
#include "runtime/internal.h"

bool env_wants_monitor(const struct env *e) {
  const char *r = env_config_get(e->cfg, "reboot");
  return !r || !strcmp(r, "restart");
}

void env_monitor(struct env *e, pid_t init, int master, int host_mntns) {
  prctl(PR_SET_NAME, "cellctl-reboot");
  /* nothing of the start's: its notify socket (systemd would block on a full queue), pipes, locks */
  int keep[2], nkeep = 0;
  if (master >= 0) keep[nkeep++] = master;
  if (host_mntns >= 0) keep[nkeep++] = host_mntns;
  cell_close_fds_from(3, keep, nkeep);
  e->dirfd = -1;
  int status = 0;
  if (master >= 0) {
    status = env_console_serve(e, init, master, 1 /* console.log */);
  } else {
    for (;;) {
      pid_t w = waitpid(-1, &status, 0);
      if (w == init) break;
      if (w < 0 && errno == ECHILD) _exit(0);
    }
  }
  bool reboot = WIFSIGNALED(status) && WTERMSIG(status) == SIGHUP;
  /* Back to the start's mount namespace: our private one (the overlay of
   * this boot, the idmapped layers, a copy of the disk mount) goes with us
   * leaving it, before we wait for the lock a stop holds while it waits for
   * the disk's loop device to be free. */
  bool back = host_mntns >= 0 && setns(host_mntns, CLONE_NEWNS) == 0;
  if (host_mntns >= 0) close(host_mntns);
  if (!back) {
    static const char *const mps[] = {"rootfs", "data-map", "data"};
    for (size_t i = 0; i < sizeof mps / sizeof *mps; i++) {
      char p[PATH_MAX + 16];
      snprintf(p, sizeof p, "%s/%s", e->dir, mps[i]);
      umount2(p, MNT_DETACH);
    }
  }
  struct env *e2;
  struct cell_err err = {0};
  if (env_open_lenient(e->root, e->run, e->name, &e2, &err) < 0) _exit(0); /* destroyed meanwhile */
  /* still in the private namespace: a mount of the disk here would be one the host does not see */
  e2->keep_disk = !back;
  if (!back) reboot = false;
  struct env_status st;
  /* still the state of our init (dead, not cleaned): a command that stopped
   * or restarted the environment meanwhile removed or replaced it */
  if (env_status(e2, &st, &err) == 0 && st.state == ENV_STOPPED && st.leftover) {
    if (env_repair(e2, &err) < 0) cell_warn("%s", err.msg);
    else if (reboot && env_start(e2, false, 120, &err) < 0) cell_warn("reboot: %s", err.msg);
  }
  env_close(e2);
  _exit(0);
}
