/* affinity.h - the CPU affinity that makes nproc show a container's CPU
 * limit (fsview_bind.c).  nproc (coreutils, busybox) counts
 * sched_getaffinity, which cellfs cannot change: when cellfs's views are
 * bound in a container whose CPU quota (cpu.cfs_quota_us/cfs_period_us or
 * cpu.max, the smallest over its cgroup and its parents) allows fewer CPUs
 * than its cpuset, its processes get ceil(quota/period) CPUs of the cpuset,
 * starting at an offset chosen by a hash of the container id.  Annotation
 * run.cell.cpu-affinity = "none" opts out ("auto" is the default). */
#ifndef CELL_AFFINITY_H
#define CELL_AFFINITY_H
#include <sched.h>
#include <sys/types.h>
#include <cjson/cJSON.h>

#include "cgroups/cgroup.h"
#include "lib/error.h"

#define CELL_AFFINITY_ANNOTATION "run.cell.cpu-affinity"

enum cell_affinity { CELL_AFFINITY_OFF, CELL_AFFINITY_FULL, CELL_AFFINITY_NARROW };

/* Checks the annotation's value (create refuses an unknown one). */
int cell_affinity_check_annotation(const cJSON *annotations, struct cell_err *err);

/* What the container's processes get.  init is its init's host pid and
 * root the rootfs as the init sees it ("" after pivot_root): its
 * root/proc/meminfo on FUSE means the views are bound.  OFF: not managed
 * (opted out, no views); FULL: *set is the whole cpuset; NARROW: *set is
 * the quota's share of it. */
int cell_affinity_compute(const struct cell_cgroup *cg, const char *id, const cJSON *annotations, pid_t init,
                          const char *root, cpu_set_t *set, enum cell_affinity *out, struct cell_err *err);

/* Sets set on every thread of every process of the cgroup (update). */
int cell_affinity_apply_cgroup(const struct cell_cgroup *cg, const cpu_set_t *set, struct cell_err *err);

/* The pure part, for the unit tests: ncpus of the CPUs in allowed, from the
 * offset hash(id) % count(allowed), wrapping. */
void cell_affinity_pick(const cpu_set_t *allowed, int ncpus, const char *id, cpu_set_t *out);
/* "0-3,8" -> set; -1 on a malformed list. */
int cell_affinity_parse_list(const char *text, cpu_set_t *set);

#endif
