/* sync.c - typed runtime <-> child messages (see sync.h). */
#include "lib/sync.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const type_names[CELL_SYNC_TYPE_END] = {
    [CELL_SYNC_GO] = "go",           [CELL_SYNC_CGROUP] = "cgroup",   [CELL_SYNC_PID] = "pid",
    [CELL_SYNC_MOUNTED] = "mounted", [CELL_SYNC_MOUNTED_OK] = "mounted-ok", [CELL_SYNC_CONSOLE] = "console",
    [CELL_SYNC_NOTIFY] = "notify",   [CELL_SYNC_READY] = "ready",     [CELL_SYNC_ERROR] = "error",
};

static int type_valid(uint32_t t) { return t > 0 && t < CELL_SYNC_TYPE_END; }

const char *cell_sync_type_name(enum cell_sync_type t) {
  return type_valid((uint32_t)t) ? type_names[t] : "unknown";
}

int cell_sync_send(int sock, enum cell_sync_type type, const void *payload, size_t len, int fd) {
  if (!type_valid((uint32_t)type)) {
    errno = EINVAL;
    return -1;
  }
  if (len > CELL_SYNC_MAX) {
    errno = EMSGSIZE;
    return -1;
  }
  struct cell_sync_hdr h = {.type = (uint32_t)type, .len = (uint32_t)len};
  struct iovec iov[2] = {{.iov_base = &h, .iov_len = sizeof h}, {.iov_base = (void *)payload, .iov_len = len}};
  char cbuf[CMSG_SPACE(sizeof(int))];
  struct msghdr mh = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
  if (fd >= 0) {
    memset(cbuf, 0, sizeof cbuf);
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  ssize_t r;
  do r = sendmsg(sock, &mh, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  if (r < 0) return -1;
  if ((size_t)r != sizeof h + len) {
    errno = EMSGSIZE;
    return -1;
  }
  return 0;
}

int cell_sync_send_int(int sock, enum cell_sync_type type, int32_t v) {
  return cell_sync_send(sock, type, &v, sizeof v, -1);
}

int cell_sync_send_str(int sock, enum cell_sync_type type, const char *s, int fd) {
  size_t n = strlen(s);
  return cell_sync_send(sock, type, s, n > CELL_SYNC_MAX ? CELL_SYNC_MAX : n, fd);
}

static int refuse(struct cell_sync_msg *m, int e, const char *fmt, long a, long b) {
  if (m->fd >= 0) close(m->fd);
  m->fd = -1;
  snprintf(m->error, sizeof m->error, fmt, a, b);
  errno = e;
  return -1;
}

int cell_sync_recv(int sock, struct cell_sync_msg *m) {
  struct cell_sync_hdr h;
  char extra; /* a byte past the maximum: a datagram this long is oversized */
  struct iovec iov[3] = {{.iov_base = &h, .iov_len = sizeof h},
                         {.iov_base = m->payload, .iov_len = CELL_SYNC_MAX},
                         {.iov_base = &extra, .iov_len = 1}};
  char cbuf[CMSG_SPACE(sizeof(int) * 4)];
  struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 3, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  m->fd = -1;
  m->len = 0;
  m->type = 0;
  m->payload[0] = 0;
  m->error[0] = 0;
  ssize_t r;
  do r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_TRUNC);
  while (r < 0 && errno == EINTR);
  if (r < 0 && errno == ECONNRESET) {
    /* the peer died with messages of ours unread (e.g. OOM-killed): closed */
    snprintf(m->error, sizeof m->error, "sync: the peer closed the channel (connection reset)");
    return 0;
  }
  if (r < 0) {
    int e = errno;
    snprintf(m->error, sizeof m->error, "sync: receive: %s", strerror(e));
    errno = e;
    return -1;
  }
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; i++) {
      int got;
      memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
      if (m->fd < 0 && i == 0) m->fd = got;
      else close(got); /* only one fd is ever passed */
    }
  }
  if (r == 0) {
    snprintf(m->error, sizeof m->error, "sync: the peer closed the channel");
    if (m->fd >= 0) close(m->fd);
    m->fd = -1;
    return 0;
  }
  if (mh.msg_flags & MSG_CTRUNC) return refuse(m, EBADMSG, "sync: message with more than one fd%.0ld%.0ld", 0, 0);
  if ((size_t)r < sizeof h) return refuse(m, EBADMSG, "sync: short message (%ld bytes, header is %ld)", (long)r, (long)sizeof h);
  if ((size_t)r > sizeof h + CELL_SYNC_MAX)
    return refuse(m, EMSGSIZE, "sync: oversized message (%ld bytes, at most %ld)", (long)r, (long)(sizeof h + CELL_SYNC_MAX));
  if (!type_valid(h.type)) return refuse(m, EBADMSG, "sync: unknown message type %ld%.0ld", (long)h.type, 0);
  if ((size_t)h.len != (size_t)r - sizeof h)
    return refuse(m, EBADMSG, "sync: garbled message (header says %ld payload bytes, got %ld)", (long)h.len,
                  (long)((size_t)r - sizeof h));
  m->type = (enum cell_sync_type)h.type;
  m->len = h.len;
  m->payload[m->len] = 0;
  return 1;
}

int cell_sync_expect(int sock, enum cell_sync_type type, struct cell_sync_msg *m) {
  int r = cell_sync_recv(sock, m);
  if (r <= 0) return r;
  if (m->type == type) return 1;
  if (m->type == CELL_SYNC_ERROR) {
    snprintf(m->error, sizeof m->error, "%s", m->payload);
    if (m->fd >= 0) close(m->fd);
    m->fd = -1;
    errno = EPROTO;
    return -1;
  }
  return refuse(m, EBADMSG, "sync: expected message type %ld, got %ld", (long)type, (long)m->type);
}

int cell_sync_msg_int(struct cell_sync_msg *m, int32_t *v) {
  if (m->len != sizeof *v) {
    snprintf(m->error, sizeof m->error, "sync: %s message has %zu payload bytes, not 4",
             cell_sync_type_name(m->type), m->len);
    errno = EBADMSG;
    return -1;
  }
  memcpy(v, m->payload, sizeof *v);
  return 0;
}

void cell_sync_fail(int sock, const char *msg) {
  cell_sync_send_str(sock, CELL_SYNC_ERROR, msg, -1);
  _exit(1);
}
