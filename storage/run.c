/* run.c - running a helper program (mke2fs) with fork+execvp and an argv. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/file.h"
#include "storage/storage.h"

/* The last line of the child's stderr (at most ~400 bytes) for the message. */
static void last_line(char *buf, size_t len) {
  while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ')) buf[--len] = 0;
  char *nl = strrchr(buf, '\n');
  if (nl) memmove(buf, nl + 1, strlen(nl + 1) + 1);
}

int storage_run_status(char *const argv[], int *status, struct cell_err *err) {
  int ok_max = *status;
  *status = -1;
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0) return cell_error(err, errno, "pipe for %s", argv[0]);
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(pfd[0]);
    close(pfd[1]);
    return cell_error(err, e, "fork for %s", argv[0]);
  }
  if (pid == 0) {
    int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (nul < 0 || dup2(nul, 0) < 0 || dup2(pfd[1], 1) < 0 || dup2(pfd[1], 2) < 0) _exit(126);
    signal(SIGPIPE, SIG_DFL);
    execvp(argv[0], argv);
    dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  close(pfd[1]);
  char out[4096];
  size_t len = 0;
  for (;;) {
    char tmp[1024];
    ssize_t r = read(pfd[0], tmp, sizeof tmp);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    /* keep the tail */
    if (len + (size_t)r >= sizeof out) {
      size_t drop = len + (size_t)r - (sizeof out - 1);
      if (drop > len) drop = len;
      memmove(out, out + drop, len - drop);
      len -= drop;
    }
    size_t take = (size_t)r < sizeof out - 1 - len ? (size_t)r : sizeof out - 1 - len;
    memcpy(out + len, tmp + (size_t)r - take, take);
    len += take;
  }
  out[len] = 0;
  close(pfd[0]);
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return cell_error(err, errno, "waitpid %s", argv[0]);
  if (WIFEXITED(st) && WEXITSTATUS(st) <= ok_max) return *status = WEXITSTATUS(st);
  last_line(out, len);
  if (WIFEXITED(st))
    return cell_error(err, 0, "%s exited %d%s%s", argv[0], WEXITSTATUS(st), *out ? ": " : "", out);
  return cell_error(err, 0, "%s killed by signal %d", argv[0], WTERMSIG(st));
}

int storage_run(char *const argv[], struct cell_err *err) {
  int ok = 0;
  return storage_run_status(argv, &ok, err) < 0 ? -1 : 0;
}
