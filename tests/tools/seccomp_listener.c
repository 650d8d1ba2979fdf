/* seccomp_listener SOCKET STATEFILE - a seccomp user-notification agent for
 * tests: accepts one connection on SOCKET, saves the container process state
 * JSON it receives to STATEFILE, then answers every notification on the
 * received fd with EXDEV until the fd closes. */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen_unix.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s SOCKET STATEFILE\n", argv[0]);
    return 2;
  }
  int s = listen_unix(argv[1]);
  if (s < 0) return 1;
  fprintf(stdout, "ready\n");
  fflush(stdout);
  int c = accept(s, NULL, NULL);
  if (c < 0) {
    perror("accept");
    return 1;
  }
  static char buf[65536];
  char cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf - 1};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  ssize_t n = recvmsg(c, &mh, 0);
  if (n <= 0) {
    perror("recvmsg");
    return 1;
  }
  buf[n] = 0;
  int fd = -1;
  for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h))
    if (h->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(h), sizeof fd);
  FILE *f = fopen(argv[2], "w");
  if (f) {
    fprintf(f, "%s\n", buf);
    fclose(f);
  }
  if (fd < 0) return 1;
  struct seccomp_notif *req;
  struct seccomp_notif_resp *resp;
  if (seccomp_notify_alloc(&req, &resp) < 0) return 1;
  for (;;) {
    memset(req, 0, sizeof *req);
    if (seccomp_notify_receive(fd, req) < 0) break;
    resp->id = req->id;
    resp->val = 0;
    resp->error = -EXDEV;
    resp->flags = 0;
    if (seccomp_notify_respond(fd, resp) < 0 && errno != ENOENT) break;
  }
  seccomp_notify_free(req, resp);
  return 0;
}
