/* sync.h - typed messages between the runtime and a process it forks (the
 * container's init, an exec'd process) over a SOCK_SEQPACKET socketpair.
 *
 * Each message is one datagram: a fixed header {type, len} and len bytes of
 * payload (at most CELL_SYNC_MAX), optionally with one fd (SCM_RIGHTS).  A
 * receiver refuses short, oversized, garbled (len not matching the datagram)
 * and unknown messages with an error naming what was wrong. */
#ifndef CELL_SYNC_H
#define CELL_SYNC_H
#include <stddef.h>
#include <stdint.h>

#define CELL_SYNC_MAX 4096 /* payload bytes */

enum cell_sync_type {
  CELL_SYNC_GO = 1,     /* runtime -> init: start (namespaces are set up by the runtime) */
  CELL_SYNC_CGROUP,     /* runtime -> init: you are placed in your cgroups */
  CELL_SYNC_PID,        /* child -> runtime: pid of the process it forked (int32) */
  CELL_SYNC_MOUNTED,    /* init -> runtime: rootfs mounted; run the runtime-side hooks */
  CELL_SYNC_MOUNTED_OK, /* runtime -> init: hooks done; the init's host pid (int32) */
  CELL_SYNC_CONSOLE,    /* child -> runtime: pty master fd, payload the pty name */
  CELL_SYNC_NOTIFY,     /* init -> runtime: seccomp notify listener fd */
  CELL_SYNC_READY,      /* init -> runtime: waiting on exec.fifo */
  CELL_SYNC_ERROR,      /* child -> runtime: the error text; the child exits */
  CELL_SYNC_TYPE_END
};

struct cell_sync_hdr {
  uint32_t type;
  uint32_t len;
};

struct cell_sync_msg {
  enum cell_sync_type type;
  size_t len;
  char payload[CELL_SYNC_MAX + 1]; /* always NUL-terminated after len bytes */
  int fd;                          /* a passed fd (close-on-exec) or -1 */
  char error[160];                 /* why a receive failed */
};

/* Name of a message type ("go", "pid", ...), "unknown" for others. */
const char *cell_sync_type_name(enum cell_sync_type t);

/* 0 on success; -1 with errno (EINVAL for an unknown type, EMSGSIZE for a
 * payload over CELL_SYNC_MAX, or sendmsg's errno). fd < 0: no fd. */
int cell_sync_send(int sock, enum cell_sync_type type, const void *payload, size_t len, int fd);
int cell_sync_send_int(int sock, enum cell_sync_type type, int32_t v);
int cell_sync_send_str(int sock, enum cell_sync_type type, const char *s, int fd);

/* 1: a message in *m.  0: the peer closed the channel.  -1: an error with
 * errno (EBADMSG short/garbled/unknown, EMSGSIZE oversized, or recvmsg's).
 * In both 0 and -1, m->error says what happened and no fd is left open. */
int cell_sync_recv(int sock, struct cell_sync_msg *m);
/* Receive a message of the given type; anything else is an error (an
 * CELL_SYNC_ERROR's text is copied to m->error). 1 / 0 / -1 as above. */
int cell_sync_expect(int sock, enum cell_sync_type type, struct cell_sync_msg *m);
/* The int32 payload of m, -1 (errno EBADMSG, m->error set) when len is not 4. */
int cell_sync_msg_int(struct cell_sync_msg *m, int32_t *v);

/* Sends CELL_SYNC_ERROR with msg and exits the process with status 1 (only
 * in forked children). */
void cell_sync_fail(int sock, const char *msg) __attribute__((noreturn));
#endif
