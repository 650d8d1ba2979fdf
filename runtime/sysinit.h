/* sysinit.h - containers whose init is systemd ("systemd mode", as podman's
 * --systemd): chosen by the annotation run.cell.init=systemd, or
 * automatically when process.args[0] is a file named systemd, or
 * /sbin/init, /usr/sbin/init or /usr/local/sbin/init resolving inside the
 * rootfs to a file named systemd (busybox's or sysvinit's init is left
 * alone; run.cell.init=none turns the automatic choice off).  The runtime then provides what systemd needs
 * as PID 1 of a container:
 *   - tmpfs on /run, /run/lock and /tmp (unless the config mounts them);
 *   - container=cell in the environment (unless container= is set);
 *   - a cgroup namespace (unless the config mounts something below
 *     /sys/fs/cgroup: the engine set systemd's cgroups up itself) and a
 *     writable cgroup subtree of its own: the
 *     name=systemd and controller-less cgroup2 hierarchies are mounted
 *     read-write, the controllers stay read-only (a container must not
 *     raise its own limits); on a cgroup2 host the cgroup2 mount is rw;
 *   - SIGRTMIN+3 (systemd's "halt") when it is asked to stop with SIGTERM
 *     (`cell kill ID TERM`, what the engines send).
 * The choice is recorded as the annotation run.cell.init=systemd in the
 * container's config and state. */
#ifndef CELL_RUNTIME_SYSINIT_H
#define CELL_RUNTIME_SYSINIT_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "lib/error.h"

#define CELL_SYSINIT_ANNOTATION "run.cell.init"

/* Rewrites the config (cJSON, before its process, mounts and linux are
 * parsed) for systemd mode when it applies; rootfs is the resolved
 * root.path.  *on tells whether it does.  Errors name the annotation. */
int cell_sysinit_prepare(cJSON *config, const char *rootfs, bool *on, struct cell_err *err);

/* The signal to deliver for sig to a container with these annotations
 * (JSON object text from its state, may be NULL). */
int cell_sysinit_stop_signal(const char *annotations_json, int sig);

#endif
