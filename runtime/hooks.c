/* hooks.c - run OCI hooks (see hooks.h). */
#include "runtime/hooks.h"
#include "lib/log.h"
#include "runtime/procattr.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static const char *const hook_kinds[] = {"prestart",        "createRuntime", "createContainer",
                                         "startContainer",  "poststart",     "poststop", NULL};

static int validate_one(const cJSON *h, const char *which, int i, struct cell_err *err) {
  char f[96];
  if (!cJSON_IsObject(h)) return cell_error(err, 0, "hooks.%s[%d]: must be an object", which, i);
  const cJSON *path = cJSON_GetObjectItemCaseSensitive(h, "path");
  if (!path || cJSON_IsNull(path)) return cell_error(err, 0, "hooks.%s[%d].path: missing", which, i);
  if (!cJSON_IsString(path)) return cell_error(err, 0, "hooks.%s[%d].path: must be a string", which, i);
  if (path->valuestring[0] != '/')
    return cell_error(err, 0, "hooks.%s[%d].path: must be an absolute path (got \"%s\")", which, i,
                      path->valuestring);
  snprintf(f, sizeof f, "hooks.%s[%d].args", which, i);
  if (cell_strings_validate(cJSON_GetObjectItemCaseSensitive(h, "args"), f, false, err) < 0) return -1;
  snprintf(f, sizeof f, "hooks.%s[%d].env", which, i);
  if (cell_env_validate(cJSON_GetObjectItemCaseSensitive(h, "env"), f, err) < 0) return -1;
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(h, "timeout");
  if (t && !cJSON_IsNull(t)) {
    if (!cJSON_IsNumber(t))
      return cell_error(err, 0, "hooks.%s[%d].timeout: must be an integer", which, i);
    if (t->valuedouble <= 0)
      return cell_error(err, 0, "hooks.%s[%d].timeout: must be > 0 (got %g)", which, i,
                        t->valuedouble);
    if (t->valuedouble > 2147483)
      return cell_error(err, 0, "hooks.%s[%d].timeout: %g is too large", which, i, t->valuedouble);
    /* only now in range for the conversion */
    if (t->valuedouble != (double)(long long)t->valuedouble)
      return cell_error(err, 0, "hooks.%s[%d].timeout: must be an integer", which, i);
  }
  return 0;
}

int cell_hooks_validate(const cJSON *hooks, struct cell_err *err) {
  if (!hooks || cJSON_IsNull(hooks)) return 0;
  if (!cJSON_IsObject(hooks)) return cell_error(err, 0, "hooks: must be an object");
  for (int k = 0; hook_kinds[k]; k++) {
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(hooks, hook_kinds[k]);
    if (!arr || cJSON_IsNull(arr)) continue;
    if (!cJSON_IsArray(arr)) return cell_error(err, 0, "hooks.%s: must be an array", hook_kinds[k]);
    int i = 0;
    const cJSON *h;
    cJSON_ArrayForEach(h, arr) {
      if (validate_one(h, hook_kinds[k], i, err) < 0) return -1;
      i++;
    }
  }
  return 0;
}

/* ---------- running ---------- */

static char **string_vector(const cJSON *arr, const char *first) {
  int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
  char **v = calloc((size_t)n + 2, sizeof *v);
  if (!v) return NULL;
  int k = 0;
  const cJSON *it;
  if (n > 0) {
    cJSON_ArrayForEach(it, arr) if (cJSON_IsString(it)) v[k++] = it->valuestring;
  }
  if (k == 0 && first) v[k++] = (char *)first;
  v[k] = NULL;
  return v;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define TAIL_MAX 512
struct tail {
  char buf[TAIL_MAX];
  size_t len;
};

static void tail_add(struct tail *t, const char *p, size_t n) {
  if (n >= TAIL_MAX) {
    memcpy(t->buf, p + n - TAIL_MAX, TAIL_MAX);
    t->len = TAIL_MAX;
    return;
  }
  if (t->len + n > TAIL_MAX) {
    size_t drop = t->len + n - TAIL_MAX;
    memmove(t->buf, t->buf + drop, t->len - drop);
    t->len -= drop;
  }
  memcpy(t->buf + t->len, p, n);
  t->len += n;
}

/* Reads what is available from the stderr pipe; returns false at EOF. */
static bool pump_stderr(int fd, struct tail *t) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      tail_add(t, buf, (size_t)n);
      ssize_t off = 0;
      while (off < n) {
        ssize_t w = write(STDERR_FILENO, buf + off, (size_t)(n - off));
        if (w <= 0) break;
        off += w;
      }
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN;
  }
}

/* Appends ": stderr: \"...\"" with the tail (trailing newlines trimmed,
 * control characters escaped). */
static void append_tail(struct cell_err *err, const struct tail *t) {
  size_t len = t->len;
  while (len && (t->buf[len - 1] == '\n' || t->buf[len - 1] == '\r')) len--;
  if (!len) return;
  size_t o = strlen(err->msg);
  size_t cap = sizeof err->msg;
  int w = snprintf(err->msg + o, cap - o, ": stderr: \"");
  if (w < 0 || (size_t)w >= cap - o) return;
  o += (size_t)w;
  for (size_t i = 0; i < len && o + 6 < cap; i++) {
    unsigned char c = (unsigned char)t->buf[i];
    if (c == '\n') { err->msg[o++] = '\\'; err->msg[o++] = 'n'; }
    else if (c == '"' || c == '\\') { err->msg[o++] = '\\'; err->msg[o++] = (char)c; }
    else if (c < 0x20) o += (size_t)snprintf(err->msg + o, cap - o, "\\x%02x", c);
    else err->msg[o++] = (char)c;
  }
  if (o + 2 <= cap) {
    err->msg[o++] = '"';
    err->msg[o] = 0;
  } else {
    err->msg[cap - 1] = 0;
  }
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static int run_one(const cJSON *h, const char *which, int idx, const char *state,
                   struct cell_err *err) {
  if (validate_one(h, which, idx, err) < 0) return -1;
  const char *path = cJSON_GetObjectItemCaseSensitive(h, "path")->valuestring;
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(h, "timeout");
  long timeout_s = cJSON_IsNumber(t) ? (long)t->valuedouble : 0;
  char **argv = string_vector(cJSON_GetObjectItemCaseSensitive(h, "args"), path);
  char **envp = string_vector(cJSON_GetObjectItemCaseSensitive(h, "env"), NULL);
  int in[2] = {-1, -1}, ep[2] = {-1, -1}, xp[2] = {-1, -1}, pidfd = -1;
  int rc = -1;
  pid_t pid = -1;
  if (!argv || !envp) {
    cell_error(err, errno, "hooks.%s[%d] (%s): allocating arguments", which, idx, path);
    goto out;
  }
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0 || pipe2(xp, O_CLOEXEC) < 0) {
    cell_error(err, errno, "hooks.%s[%d] (%s): pipe", which, idx, path);
    goto out;
  }
  pid = fork();
  if (pid < 0) {
    cell_error(err, errno, "hooks.%s[%d] (%s): fork", which, idx, path);
    goto out;
  }
  if (pid == 0) {
    /* child: async-signal-safe calls only */
    setpgid(0, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++) sigaction(s, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (dup2(in[0], STDIN_FILENO) < 0 || dup2(ep[1], STDERR_FILENO) < 0) {
      int e = errno;
      if (write(xp[1], &e, sizeof e) < 0) {}
      _exit(127);
    }
    execve(path, argv, envp);
    int e = errno;
    if (write(xp[1], &e, sizeof e) < 0) {}
    _exit(127);
  }
  close_fd(&in[0]);
  close_fd(&ep[1]);
  close_fd(&xp[1]);
  int child_errno = 0;
  ssize_t xn;
  do xn = read(xp[0], &child_errno, sizeof child_errno);
  while (xn < 0 && errno == EINTR);
  close_fd(&xp[0]);
  if (xn == (ssize_t)sizeof child_errno) {
    waitpid(pid, NULL, 0);
    pid = -1;
    cell_error(err, child_errno, "hooks.%s[%d] (%s): exec", which, idx, path);
    goto out;
  }

  /* The state goes to stdin; block SIGPIPE so a hook that exits without
   * reading only gives us EPIPE. */
  sigset_t pipeset, oldmask, pending;
  sigemptyset(&pipeset);
  sigaddset(&pipeset, SIGPIPE);
  sigpending(&pending);
  bool pipe_was_pending = sigismember(&pending, SIGPIPE);
  sigprocmask(SIG_BLOCK, &pipeset, &oldmask);
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  fcntl(ep[0], F_SETFL, O_NONBLOCK);
  pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  const char *data = state ? state : "";
  size_t left = strlen(data);
  if (left == 0) close_fd(&in[1]);
  struct tail tail = {.len = 0};
  long long deadline = timeout_s > 0 ? now_ms() + timeout_s * 1000LL : -1;
  int status = 0;
  bool exited = false, timed_out = false;
  while (!exited) {
    struct pollfd pf[3];
    int n = 0, ipid = -1, iin = -1, ierr = -1;
    if (pidfd >= 0) { pf[n] = (struct pollfd){pidfd, POLLIN, 0}; ipid = n++; }
    if (in[1] >= 0) { pf[n] = (struct pollfd){in[1], POLLOUT, 0}; iin = n++; }
    if (ep[0] >= 0) { pf[n] = (struct pollfd){ep[0], POLLIN, 0}; ierr = n++; }
    int wait_ms = -1;
    if (deadline >= 0) {
      long long r = deadline - now_ms();
      wait_ms = r < 0 ? 0 : (int)r;
    }
    if (pidfd < 0 && (wait_ms < 0 || wait_ms > 20)) wait_ms = 20; /* no pidfd: poll waitpid */
    int pr = poll(pf, (nfds_t)n, wait_ms);
    if (pr < 0 && errno != EINTR) {
      cell_error(err, errno, "hooks.%s[%d] (%s): poll", which, idx, path);
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      pid = -1;
      goto restore;
    }
    if (pr > 0 && iin >= 0 && pf[iin].revents) {
      ssize_t w = write(in[1], data, left);
      if (w > 0) {
        data += w;
        left -= (size_t)w;
        if (!left) close_fd(&in[1]);
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        close_fd(&in[1]); /* EPIPE: the hook does not read its stdin */
      }
    }
    if (pr > 0 && ierr >= 0 && pf[ierr].revents && !pump_stderr(ep[0], &tail)) close_fd(&ep[0]);
    if (ipid < 0 || (pr > 0 && pf[ipid].revents)) {
      pid_t w = waitpid(pid, &status, ipid < 0 ? WNOHANG : 0);
      if (w == pid) exited = true;
      else if (w < 0 && errno != EINTR) {
        cell_error(err, errno, "hooks.%s[%d] (%s): waitpid", which, idx, path);
        pid = -1;
        goto restore;
      }
    }
    if (!exited && deadline >= 0 && now_ms() >= deadline) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      exited = timed_out = true;
    }
  }
  pid = -1;
  if (ep[0] >= 0) pump_stderr(ep[0], &tail); /* whatever is left, without blocking */
  if (timed_out) {
    cell_error(err, 0, "hooks.%s[%d]: timeout after %ld seconds", which, idx, timeout_s);
    err->errnum = ETIMEDOUT;
    goto restore;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    rc = 0;
  } else if (WIFEXITED(status)) {
    cell_error(err, 0, "hooks.%s[%d] (%s): exit status %d", which, idx, path, WEXITSTATUS(status));
    append_tail(err, &tail);
  } else if (WIFSIGNALED(status)) {
    cell_error(err, 0, "hooks.%s[%d] (%s): killed by signal %d (%s)", which, idx, path,
               WTERMSIG(status), strsignal(WTERMSIG(status)));
    append_tail(err, &tail);
  }
restore:
  close_fd(&in[1]);
  if (!pipe_was_pending) {
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE)) {
      struct timespec zero = {0, 0};
      sigtimedwait(&pipeset, NULL, &zero);
    }
  }
  sigprocmask(SIG_SETMASK, &oldmask, NULL);
out:
  if (pid > 0) waitpid(pid, NULL, 0);
  close_fd(&pidfd);
  close_fd(&in[0]);
  close_fd(&in[1]);
  close_fd(&ep[0]);
  close_fd(&ep[1]);
  close_fd(&xp[0]);
  close_fd(&xp[1]);
  free(argv);
  free(envp);
  return rc;
}

int cell_hooks_run(const cJSON *hooks, const char *which, const char *state_json,
                   struct cell_err *err) {
  if (!hooks || cJSON_IsNull(hooks)) return 0;
  if (!which) which = "?";
  if (!cJSON_IsArray(hooks)) return cell_error(err, 0, "hooks.%s: must be an array", which);
  /* poststart and poststop: a failure is a warning and the later hooks still run (runtime-spec). */
  bool warn_only = !strcmp(which, "poststart") || !strcmp(which, "poststop");
  int i = 0;
  const cJSON *h;
  cJSON_ArrayForEach(h, hooks) {
    if (run_one(h, which, i, state_json, err) < 0) {
      if (!warn_only) return -1;
      cell_warn("%s", err->msg);
    }
    i++;
  }
  return 0;
}
