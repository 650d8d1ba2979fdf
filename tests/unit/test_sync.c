/* test_sync.c - the typed runtime <-> init messages of lib/sync: every type
 * round trips (with and without an fd), the maximum payload passes, and
 * short, oversized, garbled, unknown and closed-peer cases are clean errors. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/sync.h"
#include "unit.h"

static int pair(int sv[2]) { return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv); }

/* Sends raw bytes (bypassing the header logic). */
static void send_raw(int s, const void *buf, size_t len) {
  ssize_t r = send(s, buf, len, MSG_NOSIGNAL);
  (void)r;
}

static int same_file(int a, int b) {
  struct stat sa, sb;
  return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int open_fds(void) {
  int n = 0;
  for (int fd = 0; fd < 256; fd++)
    if (fcntl(fd, F_GETFD) >= 0) n++;
  return n;
}

int main(void) {
  int sv[2];
  struct cell_sync_msg m;
  char name[160];
  if (pair(sv) < 0) {
    perror("socketpair");
    return 1;
  }
  int fds_before = open_fds();

  /* every type, without and with an fd */
  for (int t = CELL_SYNC_GO; t < CELL_SYNC_TYPE_END; t++) {
    const char *tn = cell_sync_type_name((enum cell_sync_type)t);
    char payload[32];
    snprintf(payload, sizeof payload, "payload-%d", t);
    snprintf(name, sizeof name, "%s: round trip without an fd", tn);
    int ok = cell_sync_send(sv[0], (enum cell_sync_type)t, payload, strlen(payload), -1) == 0 &&
             cell_sync_recv(sv[1], &m) == 1 && (int)m.type == t && m.len == strlen(payload) &&
             !strcmp(m.payload, payload) && m.fd == -1;
    CHECK(ok, name);
    int pfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    snprintf(name, sizeof name, "%s: round trip with an fd", tn);
    ok = cell_sync_send(sv[0], (enum cell_sync_type)t, NULL, 0, pfd) == 0 && cell_sync_recv(sv[1], &m) == 1 &&
         (int)m.type == t && m.len == 0 && m.fd >= 0 && m.fd != pfd && same_file(m.fd, pfd) &&
         (fcntl(m.fd, F_GETFD) & FD_CLOEXEC);
    CHECK(ok, name);
    if (m.fd >= 0) close(m.fd);
    close(pfd);
  }
  CHECK_STR(cell_sync_type_name((enum cell_sync_type)99), "unknown", "an unknown type has a name");

  /* ints */
  int32_t v = 0;
  CHECK(cell_sync_send_int(sv[0], CELL_SYNC_PID, 4242) == 0 && cell_sync_recv(sv[1], &m) == 1 &&
            m.type == CELL_SYNC_PID && cell_sync_msg_int(&m, &v) == 0 && v == 4242,
        "pid: int payload round trips");
  CHECK(cell_sync_send_str(sv[0], CELL_SYNC_PID, "12", -1) == 0 && cell_sync_recv(sv[1], &m) == 1 &&
            cell_sync_msg_int(&m, &v) == -1 && errno == EBADMSG && strstr(m.error, "not 4"),
        "pid: a payload of the wrong size is refused");

  /* payload at the maximum; one byte over is refused by the sender */
  char *big = malloc(CELL_SYNC_MAX + 1);
  memset(big, 'x', CELL_SYNC_MAX + 1);
  CHECK(cell_sync_send(sv[0], CELL_SYNC_ERROR, big, CELL_SYNC_MAX, -1) == 0 && cell_sync_recv(sv[1], &m) == 1 &&
            m.len == CELL_SYNC_MAX && !memcmp(m.payload, big, CELL_SYNC_MAX) && m.payload[CELL_SYNC_MAX] == 0,
        "payload of exactly CELL_SYNC_MAX round trips");
  errno = 0;
  CHECK(cell_sync_send(sv[0], CELL_SYNC_ERROR, big, CELL_SYNC_MAX + 1, -1) == -1 && errno == EMSGSIZE,
        "send of CELL_SYNC_MAX+1 bytes fails with EMSGSIZE");
  errno = 0;
  CHECK(cell_sync_send(sv[0], (enum cell_sync_type)0, NULL, 0, -1) == -1 && errno == EINVAL,
        "send of type 0 fails with EINVAL");
  CHECK(cell_sync_send(sv[0], CELL_SYNC_TYPE_END, NULL, 0, -1) == -1 && errno == EINVAL,
        "send of an unknown type fails with EINVAL");

  /* an oversized datagram (a peer not using this code) */
  char *raw = malloc(sizeof(struct cell_sync_hdr) + CELL_SYNC_MAX + 10);
  struct cell_sync_hdr h = {.type = CELL_SYNC_ERROR, .len = CELL_SYNC_MAX + 10};
  memcpy(raw, &h, sizeof h);
  memset(raw + sizeof h, 'y', CELL_SYNC_MAX + 10);
  send_raw(sv[0], raw, sizeof h + CELL_SYNC_MAX + 10);
  CHECK(cell_sync_recv(sv[1], &m) == -1 && errno == EMSGSIZE && strstr(m.error, "oversized"),
        "an oversized message is refused");
  /* with an fd attached: the fd is not leaked */
  {
    int pfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = {.iov_base = raw, .iov_len = sizeof h + CELL_SYNC_MAX + 10};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &pfd, sizeof pfd);
    ssize_t r = sendmsg(sv[0], &mh, MSG_NOSIGNAL);
    close(pfd);
    CHECK(r > 0 && cell_sync_recv(sv[1], &m) == -1 && m.fd == -1, "an oversized message with an fd: fd closed");
  }
  free(raw);
  free(big);

  /* short: fewer bytes than the header */
  send_raw(sv[0], "abc", 3);
  CHECK(cell_sync_recv(sv[1], &m) == -1 && errno == EBADMSG && strstr(m.error, "short"), "a short message is refused");
  /* garbled: the header's len does not match the datagram */
  struct {
    struct cell_sync_hdr h;
    char p[8];
  } g = {{CELL_SYNC_CONSOLE, 20}, "ttyname"};
  send_raw(sv[0], &g, sizeof g);
  CHECK(cell_sync_recv(sv[1], &m) == -1 && errno == EBADMSG && strstr(m.error, "garbled"),
        "a message whose len disagrees with its size is refused");
  /* unknown type */
  struct cell_sync_hdr u = {.type = 77, .len = 0};
  send_raw(sv[0], &u, sizeof u);
  CHECK(cell_sync_recv(sv[1], &m) == -1 && errno == EBADMSG && strstr(m.error, "unknown message type 77"),
        "an unknown message type is refused");
  /* the old one-letter protocol is refused, not misread */
  send_raw(sv[0], "P123", 5);
  CHECK(cell_sync_recv(sv[1], &m) == -1 && errno == EBADMSG, "an old one-letter message is refused");

  /* expect */
  cell_sync_send(sv[0], CELL_SYNC_READY, NULL, 0, -1);
  CHECK(cell_sync_expect(sv[1], CELL_SYNC_GO, &m) == -1 && strstr(m.error, "expected"),
        "expect refuses a message of another type");
  cell_sync_send_str(sv[0], CELL_SYNC_ERROR, "mount /proc: EPERM", -1);
  CHECK(cell_sync_expect(sv[1], CELL_SYNC_GO, &m) == -1 && !strcmp(m.error, "mount /proc: EPERM"),
        "expect returns an error message's text");
  cell_sync_send(sv[0], CELL_SYNC_GO, NULL, 0, -1);
  CHECK(cell_sync_expect(sv[1], CELL_SYNC_GO, &m) == 1, "expect accepts the type asked for");

  CHECK(open_fds() == fds_before, "no fd leaked by any of the above");

  /* peer closed */
  close(sv[0]);
  CHECK(cell_sync_recv(sv[1], &m) == 0 && strstr(m.error, "peer closed") && m.fd == -1,
        "peer closed: 0 and a clean error");
  CHECK(cell_sync_expect(sv[1], CELL_SYNC_READY, &m) == 0, "expect after the peer closed: 0");
  errno = 0;
  CHECK(cell_sync_send(sv[1], CELL_SYNC_GO, NULL, 0, -1) == -1 && errno == EPIPE,
        "send to a closed peer fails with EPIPE (no SIGPIPE)");
  close(sv[1]);

  /* a peer that dies with our messages unread (an OOM-killed init) resets the
   * channel: that is a close too, so the runtime asks why the init died */
  if (pair(sv) == 0) {
    cell_sync_send(sv[0], CELL_SYNC_GO, NULL, 0, -1); /* never read by sv[1] */
    close(sv[1]);
    CHECK(cell_sync_recv(sv[0], &m) == 0 && strstr(m.error, "peer closed"),
          "peer closed with unread messages (ECONNRESET): 0, a close");
    close(sv[0]);
  }
  UNIT_DONE();
}
