/* readbench - open FILE, read to EOF with a 64 KiB buffer, close; repeat for
 * -s seconds in -j concurrent processes.  Prints reads, failed reads, reads/s
 * and the first error seen:  "reads=N errors=E rate=R first_error=..." */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct result {
  long reads, errors, empty;
  int first_errno;
};

int main(int argc, char **argv) {
  int jobs = 1;
  double secs = 3;
  int c;
  while ((c = getopt(argc, argv, "j:s:")) != -1) {
    if (c == 'j') jobs = atoi(optarg);
    else if (c == 's') secs = atof(optarg);
    else {
      fprintf(stderr, "usage: readbench [-j jobs] [-s seconds] FILE\n");
      return 2;
    }
  }
  if (optind != argc - 1 || jobs < 1 || jobs > 256 || secs <= 0) {
    fprintf(stderr, "usage: readbench [-j jobs] [-s seconds] FILE\n");
    return 2;
  }
  const char *file = argv[optind];
  struct result *res = mmap(NULL, sizeof(*res) * (size_t)jobs, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (res == MAP_FAILED) return 1;
  memset(res, 0, sizeof(*res) * (size_t)jobs);
  double t0 = now();
  for (int j = 0; j < jobs; j++) {
    if (fork() == 0) {
      static char buf[65536];
      struct result *r = &res[j];
      double end = t0 + secs;
      while (now() < end) {
        int fd = open(file, O_RDONLY);
        ssize_t n = 0, total = 0;
        if (fd >= 0) {
          while ((n = read(fd, buf, sizeof(buf))) > 0) total += n;
          close(fd);
        }
        if (fd < 0 || n < 0) {
          if (!r->first_errno) r->first_errno = errno;
          r->errors++;
        } else if (total == 0) {
          r->empty++;
        } else {
          r->reads++;
        }
      }
      _exit(0);
    }
  }
  while (wait(NULL) > 0) {
  }
  double el = now() - t0;
  struct result sum = {0};
  for (int j = 0; j < jobs; j++) {
    sum.reads += res[j].reads;
    sum.errors += res[j].errors;
    sum.empty += res[j].empty;
    if (!sum.first_errno) sum.first_errno = res[j].first_errno;
  }
  printf("reads=%ld errors=%ld empty=%ld rate=%.0f first_error=%s\n", sum.reads, sum.errors,
         sum.empty, (double)sum.reads / el,
         sum.first_errno ? strerror(sum.first_errno) : "none");
  return sum.errors || sum.empty ? 1 : 0;
}
