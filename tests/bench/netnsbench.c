/* netnsbench - attach + detach of one endpoint in-process, N rounds, with
 * netns/ (no process start per command): the library's own cost.
 *   netnsbench ROOT NETWORK NETNS_PATH N   -> prints "ms_per_round attach_ms detach_ms" */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "netns/netns.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: netnsbench ROOT NETWORK NETNS_PATH N\n");
    return 2;
  }
  int n = atoi(argv[4]);
  int fd = open(argv[3], O_RDONLY | O_CLOEXEC);
  if (fd < 0 || n <= 0) {
    perror(argv[3]);
    return 1;
  }
  struct cell_err err = {0};
  double ta = 0, td = 0;
  for (int i = 0; i < n; i++) {
    struct netns_attach_opts o = {.network = argv[2], .netns_fd = fd, .endpoint = "bench"};
    double t0 = now_ms();
    if (netns_attach(argv[1], &o, NULL, &err) < 0) {
      fprintf(stderr, "attach: %s\n", err.msg);
      return 1;
    }
    double t1 = now_ms();
    if (netns_detach(argv[1], argv[2], "bench", &err) < 0) {
      fprintf(stderr, "detach: %s\n", err.msg);
      return 1;
    }
    double t2 = now_ms();
    ta += t1 - t0;
    td += t2 - t1;
  }
  printf("%.2f %.2f %.2f\n", (ta + td) / n, ta / n, td / n);
  return 0;
}
