/* console.h - pseudo-terminals for process.terminal.
 *
 * Detached (`create`/`run -d` with --console-socket): the container
 * process allocates a pty, makes the slave its controlling terminal and
 * sends the master to the console socket (cell_console_send), as runc does.
 * Foreground `run -t` without a socket: the runtime keeps the master and
 * runs cell_console_proxy() until the container process exits.
 */
#ifndef CELL_CONSOLE_H
#define CELL_CONSOLE_H

#include <stddef.h>
#include <sys/types.h>

#include "lib/error.h"

/* posix_openpt/grantpt/unlockpt/ptsname_r; both ends O_NOCTTY|O_CLOEXEC.
 * slave_name receives "/dev/pts/N". */
int cell_console_new(int *master, int *slave, char *slave_name, size_t n, struct cell_err *err);

/* Connect (AF_UNIX, SOCK_STREAM) to socket_path and send one message whose
 * data is `name` (no NUL) and which carries exactly one SCM_RIGHTS fd,
 * master_fd. */
int cell_console_send(const char *socket_path, int master_fd, const char *name,
                      struct cell_err *err);

/* Receiving side (tests, `run -t` helpers): accept-ed/connected socket ->
 * the fd and the name.  Fails unless exactly one fd arrived. */
int cell_console_recv(int sock, int *fd, char *name, size_t n, struct cell_err *err);

/* process.consoleSize: TIOCSWINSZ on a pty end. */
int cell_console_set_size(int fd, unsigned height, unsigned width, struct cell_err *err);

/* In the container process: setsid(), TIOCSCTTY on slave_fd, dup2 onto
 * 0, 1, 2 (slave_fd is closed if it is above 2). */
int cell_console_make_controlling(int slave_fd, struct cell_err *err);

/* Foreground proxy: copies in_fd -> master and master -> out_fd until
 * `child` exits, then drains the master and reaps the child (*status gets
 * its wait status if status is non-NULL).  When in_fd is a terminal it is
 * put in raw mode (restored afterwards), its window size is copied to the
 * pty at start and on every SIGWINCH.  EOF on in_fd sends the VEOF
 * character to the pty.  Normal use: in_fd 0, out_fd 1. */
int cell_console_proxy(int master_fd, pid_t child, int in_fd, int out_fd, int *status,
                       struct cell_err *err);

#endif
