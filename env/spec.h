/* spec.h - the OCI runtime spec (cJSON) of a VPS-style environment.
 *
 * A pure function of plain inputs: no file is read, nothing is created.  The
 * result is handed to cell_container_create() (runtime/container.h) as an
 * in-memory config.  It follows systemd's container interface
 * (https://systemd.io/CONTAINER_INTERFACE/): container=cell and
 * container_uuid in the init's environment, /run and /tmp as tmpfs, a
 * cgroup namespace with a writable cgroup mount of the environment's own
 * subtree, /sys and /proc/sys read-only, /dev with /dev/ptmx, devpts and
 * /dev/console (a pty when `terminal`), every namespace (a user namespace
 * with the environment's id range unless privileged), a full OS container's
 * capabilities (LXC's defaults: all but mac_admin, mac_override, sys_time,
 * sys_module, sys_rawio), a seccomp deny list that keeps systemd working
 * (module loading, kexec, open_by_handle_at: EPERM; the kernel keyring, not
 * namespaced: ENOSYS), and NOTIFY_SOCKET for systemd.
 *
 * Unprivileged environments share their rootfs through an idmapped mount
 * (env_idrange_idmap_mount() in env/idrange.h) that the caller makes and
 * passes as `rootfs`: the runtime cannot idmap the root itself.  The
 * environment's cgroups must be delegated to its root after the runtime
 * placed the init: env_spec_delegate_cgroups() (on CELL_CREATE_INIT_PLACED).
 */
#ifndef CELL_ENV_SPEC_H
#define CELL_ENV_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "lib/error.h"

/* The init the environment boots; decides the command, the halt signal and
 * what the spec prepares for it. */
enum env_init_kind {
  ENV_INIT_SYSTEMD, /* /sbin/init (systemd): halts on SIGRTMIN+3 */
  ENV_INIT_BUSYBOX, /* busybox init with /etc/inittab: halts on SIGUSR2 */
  ENV_INIT_PATH,    /* any other program: SIGPWR if it catches it, else SIGTERM */
};

/* "systemd", "busybox" or an absolute PATH; -1 with err naming the value. */
int env_init_parse(const char *s, enum env_init_kind *kind, struct cell_err *err);

/* Limits; 0 (or NULL) means "not set". */
struct env_limits {
  uint64_t memory;      /* bytes (memory.max / limit_in_bytes) */
  uint64_t swap;        /* bytes of swap on top of memory (spec: memory+swap) */
  double cpus;          /* fractional CPUs: quota = cpus * period */
  uint64_t cpu_period;  /* microseconds, 0 = 100000 */
  uint64_t cpu_weight;  /* 1..10000 (cgroup v2 cpu.weight); converted to shares */
  const char *cpuset;   /* "0-1,3" */
  int64_t pids;         /* pids.max */
  uint16_t io_weight;   /* 10..1000 (blkio weight in the spec) */
};

struct env_spec_in {
  const char *name;       /* environment name (annotations, cgroup leaf) */
  const char *hostname;   /* NULL: the name */
  const char *rootfs;     /* absolute: the merged root (overlay mount point) */
  const char *init;       /* "systemd" | "busybox" | absolute PATH; NULL: systemd */
  const char *const *init_args; /* optional extra argv after the init (NULL-terminated) */
  bool privileged;        /* no user namespace, no idmapping */
  unsigned uid_base, uid_count; /* the environment's id range (count 0: 65536) */
  bool idmap_rootfs;      /* rootfs is an idmapped mount (recorded: run.cell.env.idmapped) */
  const char *uuid;       /* container_uuid, 32 hex or 8-4-4-4-12; NULL: none */
  struct env_limits limits;
  const char *cgroups_path; /* linux.cgroupsPath; NULL: "cell-env/<name>" */
  const char *notify_socket; /* host path of a unix socket to bind, or NULL */
  bool cellfs_views;      /* annotations run.cell.fsview=true (else false) */
  const char *cellfs_path;/* run.cell.fsview.path, NULL: default */
  bool netns_new;         /* a new network namespace (the netns hook fills it) */
  const char *netns_path; /* join this network namespace instead (NULL: new/none) */
  bool terminal;          /* process.terminal: the init's console is a pty (console socket) */
  uint64_t caps_avail;    /* capability mask the caller holds (0: every known one);
                           * a privileged environment gets no more than this */
  const char *const *env; /* extra "K=V" for the init, NULL-terminated, or NULL */
};

/* Builds the spec. On success *spec_out is a new cJSON object the caller
 * frees with cJSON_Delete(). -1 with err naming the field at fault. */
int env_spec_build(const struct env_spec_in *in, cJSON **spec_out, struct cell_err *err);

/* The signal that halts this init cleanly (SIGRTMIN+3, SIGUSR2, SIGPWR). */
int env_init_halt_signal(enum env_init_kind kind);

/* The capabilities this process may hand on (its bounding set), for caps_avail. */
uint64_t env_spec_host_caps(void);

/* Delegates the init's cgroups to the environment's root (uid, gid: the
 * host ids of its root): chowns the init's cgroup directory in every
 * hierarchy of /proc/PID/cgroup whose path ends with "/SUFFIX" (the
 * linux.cgroupsPath, or its last components: a hierarchy the runtime did not
 * place the init in is left alone) and the files a manager writes there
 * (cgroup.procs, cgroup.subtree_control, cgroup.threads, tasks...), as
 * systemd's Delegate= does; nothing above it.  uid 0 (privileged): nothing. */
int env_spec_delegate_cgroups(int init_pid, const char *suffix, unsigned uid, unsigned gid, struct cell_err *err);

/* Where NOTIFY_SOCKET is bound inside the environment (as systemd-nspawn does). */
#define ENV_NOTIFY_SOCKET_PATH "/run/host/notify"

#endif
