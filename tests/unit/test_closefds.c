/* test_closefds.c - cell_close_fds_from keeps exactly the listed fds. */
#include <fcntl.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "unit.h"

static int is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

int main(void) {
  int fds[12];
  for (int i = 0; i < 12; i++) fds[i] = dup2(0, 20 + i); /* 20..31 */
  int keep[] = {27, -1, 22, 31, 27, 5};
  cell_close_fds_from(21, keep, sizeof keep / sizeof *keep);
  CHECK(is_open(20), "an fd below `from` stays open");
  CHECK(is_open(22) && is_open(27) && is_open(31), "kept fds stay open (unsorted, duplicated, -1 ignored)");
  int others = 0;
  for (int fd = 21; fd < 32; fd++)
    if (fd != 22 && fd != 27 && fd != 31) others += is_open(fd);
  CHECK(others == 0, "every other fd from `from` up is closed");
  CHECK(is_open(0) && is_open(1) && is_open(2), "stdio untouched");
  int hi = dup2(0, 1000);
  cell_close_fds_from(3, NULL, 0);
  CHECK(!is_open(hi) && !is_open(20) && !is_open(31), "nothing kept: all fds from 3 up are closed");
  (void)fds;
  UNIT_DONE();
}
