/* stop.c - halt an environment's init the way it understands, bounded. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "env/env.h"
#include "env/env_internal.h"
#include "lib/file.h"
#include "lib/log.h"
#include "runtime/container.h"
#include "runtime/state.h"

/* A field of /proc/PID/status as a signal mask; 0 when unknown. */
static unsigned long long sig_mask(const char *buf, const char *field) {
  const char *p = strstr(buf, field);
  return p ? strtoull(p + strlen(field), NULL, 16) : 0;
}

static bool catches(unsigned long long mask, int sig) { return sig > 0 && sig <= 64 && (mask >> (sig - 1)) & 1; }

/* An init takes a signal when it has a handler (SigCgt) or waits for it
 * blocked (SigBlk: signalfd as systemd does, or sigtimedwait as busybox
 * does; the kernel drops an unhandled, unblocked signal sent to a pid
 * namespace's init).  busybox waits in sigtimedwait, when its halt signals
 * show in neither mask: its SIGTSTP handler, installed in the same step as
 * their blocking, says it is ready. */
int env_halt_signal(const char *init, pid_t pid) {
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  if (cell_read_small(path, buf, sizeof buf) <= 0) return 0;
  unsigned long long cgt = sig_mask(buf, "\nSigCgt:"), m = cgt | sig_mask(buf, "\nSigBlk:");
  if (init && !strcmp(init, "busybox") && catches(cgt, SIGTSTP)) return SIGUSR2;
  if (!init || !strcmp(init, "systemd")) return catches(m, SIGRTMIN + 3) ? SIGRTMIN + 3 : 0;
  if (!strcmp(init, "busybox")) return catches(m, SIGUSR2) ? SIGUSR2 : 0;
  if (catches(m, SIGPWR)) return SIGPWR;
  if (catches(m, SIGRTMIN + 3)) return SIGRTMIN + 3;
  return catches(m, SIGTERM) ? SIGTERM : 0;
}

/* Wait for the init (a pidfd: it is not our child) to exit, bounded. */
static bool wait_exit(int pidfd, pid_t pid, unsigned long long start, int ms) {
  if (pidfd >= 0) {
    struct pollfd pf = {.fd = pidfd, .events = POLLIN};
    return poll(&pf, 1, ms) > 0;
  }
  usleep((useconds_t)ms * 1000);
  return cell_proc_start_time(pid) != start;
}

int env_stop(struct env *e, int timeout, bool force, bool *clean, struct cell_err *err) {
  *clean = false;
  struct env_status st;
  if (env_status(e, &st, err) < 0) return -1;
  if (st.state == ENV_STOPPED || st.pid <= 0) {
    *clean = true;
    return env_repair(e, err);
  }
  const char *init = env_config_get(e->cfg, "init");
  /* its network namespace, to detach its endpoints once it is gone */
  char nsp[64];
  snprintf(nsp, sizeof nsp, "/proc/%d/ns/net", (int)st.pid);
  int nsfd = open(nsp, O_RDONLY | O_CLOEXEC);
  int pidfd = (int)syscall(SYS_pidfd_open, st.pid, 0);
  unsigned long long start = cell_proc_start_time(st.pid);
  bool gone = pidfd < 0 && errno == ESRCH;
  if (!force && !gone && st.state == ENV_RUNNING) {
    long long end = env_now_ms() + timeout * 1000LL, last = 0;
    while (!gone && env_now_ms() < end) {
      int sig = env_halt_signal(init, st.pid);
      /* sent again while the init is not ready: one sent before its handler was in is lost */
      if (sig > 0 && (last == 0 || env_now_ms() - last > 5000)) {
        kill(st.pid, sig);
        last = env_now_ms();
      }
      long long left = end - env_now_ms();
      gone = wait_exit(pidfd, st.pid, start, left > 100 ? 100 : (int)(left > 0 ? left : 1));
    }
    *clean = gone;
  }
  if (!gone) {
    struct cell_err e2;
    cell_container_kill(e->rt_root, e->name, SIGKILL, true, &e2);
    if (cell_state_pid_alive(&(struct cell_state){.pid = st.pid, .start_time = start}))
      kill(st.pid, SIGKILL);
    wait_exit(pidfd, st.pid, start, 5000);
  }
  if (pidfd >= 0) close(pidfd);
  struct cell_err e2;
  if (nsfd >= 0 && env_net_release(e, nsfd, &e2) < 0) cell_warn("%s", e2.msg);
  if (nsfd >= 0) close(nsfd);
  return env_repair(e, err);
}
