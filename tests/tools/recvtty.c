/* recvtty SOCKET OUTFILE - a console-socket receiver for tests (like runc's
 * recvtty): accepts one connection, checks it carries exactly one fd and a
 * pty name, writes "name: NAME" to OUTFILE and then copies everything the pty
 * master delivers to OUTFILE until the container side closes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen_unix.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s SOCKET OUTFILE\n", argv[0]);
    return 2;
  }
  int s = listen_unix(argv[1]);
  if (s < 0) return 1;
  int c = accept(s, NULL, NULL);
  if (c < 0) return 1;
  char name[4096];
  char cbuf[CMSG_SPACE(4 * sizeof(int))];
  struct iovec iov = {.iov_base = name, .iov_len = sizeof name - 1};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  ssize_t n = recvmsg(c, &mh, 0);
  if (n < 0) return 1;
  name[n] = 0;
  int fds = 0, fd = -1;
  for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h))
    if (h->cmsg_type == SCM_RIGHTS) {
      fds += (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      memcpy(&fd, CMSG_DATA(h), sizeof fd);
    }
  FILE *out = fopen(argv[2], "w");
  if (!out) return 1;
  fprintf(out, "name: %s\nfds: %d\n", name, fds);
  fflush(out);
  if (fd < 0) return 1;
  char buf[4096];
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break; /* EIO once the last slave fd closes */
    fwrite(buf, 1, (size_t)r, out);
    fflush(out);
  }
  fclose(out);
  return 0;
}
