/* unit_child.h - helpers shared by C unit tests: JSON literals and running
 * a function in a forked child with its stdout captured. */
#ifndef CELL_UNIT_CHILD_H
#define CELL_UNIT_CHILD_H
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((unused)) static cJSON *J(const char *s) {
  cJSON *j = cJSON_Parse(s);
  if (!j) {
    fprintf(stderr, "bad test json: %s\n", s);
    exit(2);
  }
  return j;
}

/* Runs fn in a child whose stdout goes to a pipe; returns the child's
 * output (static buffer) and stores its wait status. */
static char child_out[16384];
__attribute__((unused)) static const char *in_child(int (*fn)(void *), void *arg, int *wstatus) {
  int p[2];
  if (pipe(p) < 0) return NULL;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    dup2(p[1], 1);
    int rc = fn(arg);
    fflush(stdout);
    _exit(rc);
  }
  close(p[1]);
  size_t off = 0;
  ssize_t n;
  while (off < sizeof child_out - 1 &&
         (n = read(p[0], child_out + off, sizeof child_out - 1 - off)) > 0)
    off += (size_t)n;
  child_out[off] = 0;
  close(p[0]);
  waitpid(pid, wstatus, 0);
  return child_out;
}

#endif
