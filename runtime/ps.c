/* ps.c - `cell ps`: a container's processes, as pids or as a ps(1) table. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/container.h"
#include "runtime/ps.h"

int cell_ps_table(char **args, int nargs, const pid_t *pids, size_t n, struct cell_err *err) {
  char **av = calloc((size_t)nargs + 3, sizeof *av);
  if (!av) return cell_error(err, ENOMEM, "ps");
  int a = 0;
  av[a++] = "ps";
  if (nargs == 0) av[a++] = "-ef";
  for (int i = 0; i < nargs; i++) av[a++] = args[i];
  av[a] = NULL;
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0) {
    free(av);
    return cell_error(err, errno, "ps: pipe");
  }
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    if (dup2(pfd[1], 1) < 0) _exit(127);
    execvp("ps", av);
    dprintf(2, "cell: exec ps: %s\n", strerror(errno));
    _exit(127);
  }
  int e = errno;
  free(av);
  close(pfd[1]);
  if (child < 0) {
    close(pfd[0]);
    return cell_error(err, e, "ps: fork");
  }
  FILE *f = fdopen(pfd[0], "r");
  if (!f) close(pfd[0]);
  char *line = NULL, *tmp = NULL;
  size_t cap = 0;
  int pidcol = -1;
  while (f && getline(&line, &cap, f) > 0) {
    free(tmp);
    tmp = strdup(line);
    if (!tmp) break;
    int col = 0;
    char *save;
    if (pidcol < 0) { /* the header: find the PID column */
      for (char *t = strtok_r(tmp, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save), col++)
        if (!strcmp(t, "PID")) pidcol = col;
      fputs(line, stdout);
      if (pidcol < 0) break;
      continue;
    }
    for (char *t = strtok_r(tmp, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save), col++) {
      if (col != pidcol) continue;
      int p = atoi(t);
      for (size_t i = 0; i < n; i++)
        if (pids[i] == p) fputs(line, stdout);
      break;
    }
  }
  free(tmp);
  free(line);
  if (f) fclose(f);
  int st = 0;
  while (waitpid(child, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 127) return cell_error(err, 0, "ps: could not run ps");
  return 0;
}

int cell_ps_print(const char *root, const char *id, bool json, char **args, int nargs, struct cell_err *err) {
  pid_t *pids;
  size_t n;
  if (cell_container_pids(root, id, &pids, &n, err) < 0) return -1;
  if (json) {
    printf("[");
    for (size_t i = 0; i < n; i++) printf("%s%d", i ? "," : "", (int)pids[i]);
    printf("]\n");
    free(pids);
    return 0;
  }
  /* table: the host's ps output restricted to the container's pids, as runc does */
  int r = cell_ps_table(args, nargs, pids, n, err);
  free(pids);
  return r;
}
