/* seccomp.h - OCI runtime-spec 1.2 `linux.seccomp` through libseccomp.
 *
 * cell_seccomp_build() validates the whole `linux.seccomp` object, builds a
 * libseccomp filter from it and compiles it to a BPF program, so that all
 * parsing, allocation and error reporting happens in the runtime before any
 * namespace work; cell_seccomp_load() then only issues seccomp(2).
 *
 * Semantics (compatible with runc and crun):
 *  - defaultAction / syscalls[].action: SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS,
 *    SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE,
 *    SCMP_ACT_ALLOW, SCMP_ACT_LOG, SCMP_ACT_NOTIFY.  errnoRet/defaultErrnoRet
 *    (default EPERM) are only accepted with SCMP_ACT_ERRNO and SCMP_ACT_TRACE.
 *    SCMP_ACT_NOTIFY is refused as defaultAction (the runtime's own syscalls
 *    between load and execve would be trapped), as runc does.
 *  - Syscall names libseccomp does not know are skipped (profiles list
 *    syscalls of newer kernels); a name that is not a string is an error.
 *    A rule whose action equals the default action is skipped.
 *  - args[]: when no index repeats, all conditions form one rule (AND); when
 *    an index appears more than once, each condition becomes its own rule
 *    (OR), exactly like runc and crun.  For SCMP_CMP_MASKED_EQ `value` is the
 *    mask and `valueTwo` the value compared with (arg & mask).
 *    JSON numbers are doubles: values above 2^53 lose precision in cJSON;
 *    18446744073709551615 (which parses to 2^64) is taken as UINT64_MAX.
 *  - flags: SECCOMP_FILTER_FLAG_TSYNC, _LOG, _SPEC_ALLOW, _WAIT_KILLABLE_RECV
 *    are passed to seccomp(2) directly (the filter is loaded with the raw
 *    syscall, like crun does, so no libseccomp version limits them); a kernel
 *    that rejects one yields an error naming the flags.
 *  - SCMP_ACT_NOTIFY requires listenerPath; listenerMetadata requires
 *    listenerPath.
 *
 * NOTE FOR THE INTEGRATOR: the container init process calls
 * cell_seccomp_load() as the very last step before execve(2), after
 * capabilities, uid/gid and no_new_privs have been set.  This module never
 * sets no_new_privs itself: without NNP the kernel requires CAP_SYS_ADMIN,
 * which init still has at that point only if it loads before dropping
 * capabilities -- so when process.noNewPrivileges is false, load while
 * CAP_SYS_ADMIN is still effective.  Exception: with SCMP_ACT_NOTIFY
 * (cell_seccomp_uses_notify()) the runtime may load earlier, pass the
 * listener fd out to the runtime (e.g. over its sync socket), and the runtime
 * then calls cell_seccomp_send_listener() with the container's state JSON
 * before letting init execve.  The listener fd should be closed in init
 * after it was passed out, and the runtime closes its copy after sending.
 */
#ifndef CELL_SECCOMP_H
#define CELL_SECCOMP_H

#include <seccomp.h> /* libseccomp's: this header no longer shares its name */
#include <sys/types.h>
#include <cjson/cJSON.h>
#include "lib/error.h"

struct cell_seccomp; /* a validated, prepared filter (opaque) */

/* Validate and prepare from the `linux.seccomp` object (NULL -> *out = NULL,
 * returns 0).  Errors name the field, e.g.
 * "linux.seccomp.syscalls[3].action: unknown action \"SCMP_ACT_FOO\"". */
int cell_seccomp_build(const cJSON *seccomp, struct cell_seccomp **out,
                       struct cell_err *err);

/* True if any rule or the default uses SCMP_ACT_NOTIFY. */
int cell_seccomp_uses_notify(const struct cell_seccomp *s);

/* Load into the calling process (never sets no_new_privs: the caller handles
 * NNP; loading without NNP requires CAP_SYS_ADMIN).  Returns the notify
 * listener fd in *notify_fd when the filter uses SCMP_ACT_NOTIFY, else -1.
 * A NULL filter is a no-op. */
int cell_seccomp_load(struct cell_seccomp *s, int *notify_fd,
                      struct cell_err *err);

/* Send the notify fd to listenerPath as the runtime-spec says: connect to
 * the AF_UNIX SOCK_STREAM socket, send the container process state
 * {"ociVersion","fds":["seccompFd"],"pid","metadata","state"} with notify_fd
 * as the single SCM_RIGHTS fd of the first sendmsg, then close.  state_json
 * is the container's state object (JSON text).  Does not close notify_fd. */
int cell_seccomp_send_listener(const struct cell_seccomp *s, int notify_fd,
                               pid_t pid, const char *state_json,
                               struct cell_err *err);

/* Accessors, mainly for the runtime and tests. */
const char *cell_seccomp_listener_path(const struct cell_seccomp *s);
/* Number of BPF instructions in the compiled program. */
size_t cell_seccomp_bpf_len(const struct cell_seccomp *s);

void cell_seccomp_free(struct cell_seccomp *s);

#endif
