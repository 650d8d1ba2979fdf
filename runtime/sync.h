/* sync.h - messages between the runtime and the container's init over a
 * SOCK_SEQPACKET socketpair, optionally carrying one fd. */
#ifndef CELL_SYNC_H
#define CELL_SYNC_H
#include <stddef.h>

int cell_sync_send(int sock, const char *msg, int fd);
/* Returns the message length, 0 on EOF, -1 on error; *fd gets a passed fd or -1. */
int cell_sync_recv(int sock, char *buf, size_t len, int *fd);
/* Sends "E<msg>" and exits the process with status 1 (only in forked children). */
void cell_sync_fail(int sock, const char *msg) __attribute__((noreturn));
#endif
