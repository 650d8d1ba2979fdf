/* listen_unix.h - the listening AF_UNIX stream socket the test tools accept
 * one connection on (an old socket file at the path is replaced). */
#ifndef CELL_TOOLS_LISTEN_UNIX_H
#define CELL_TOOLS_LISTEN_UNIX_H
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int listen_unix(const char *path) {
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  unlink(path);
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 1) < 0) {
    perror("listen");
    return -1;
  }
  return s;
}
#endif
