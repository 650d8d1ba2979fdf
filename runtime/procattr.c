/* procattr.c - process attributes: prepare (validate config) and apply. */
#include "runtime/procattr.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/file.h"

/* ---------- small JSON helpers ---------- */

/* A non-negative integral number; values >= 2^64 saturate (RLIM_INFINITY
 * is written as 18446744073709551615, which a double rounds up to 2^64). */
static int json_u64(const cJSON *v, const char *field, uint64_t *out, struct cell_err *err) {
  if (!cJSON_IsNumber(v))
    return cell_error(err, 0, "%s: must be a non-negative integer", field);
  double d = v->valuedouble;
  if (d < 0 || d != __builtin_floor(d))
    return cell_error(err, 0, "%s: must be a non-negative integer (got %g)", field, d);
  if (d >= 18446744073709551615.0) *out = UINT64_MAX;
  else *out = (uint64_t)d;
  return 0;
}

static int json_int(const cJSON *v, const char *field, long lo, long hi, long *out,
                    struct cell_err *err) {
  if (!cJSON_IsNumber(v) || v->valuedouble != __builtin_floor(v->valuedouble))
    return cell_error(err, 0, "%s: must be an integer", field);
  double d = v->valuedouble;
  if (d < (double)lo || d > (double)hi)
    return cell_error(err, 0, "%s: %g is out of range (%ld to %ld)", field, d, lo, hi);
  *out = (long)d;
  return 0;
}

static const cJSON *get(const cJSON *obj, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsNull(v) ? NULL : v;
}

/* ---------- name tables ---------- */

struct named { const char *name; long value; };

static const struct named rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
    {NULL, 0}};

#define CELL_SCHED_OTHER 0
#define CELL_SCHED_FIFO 1
#define CELL_SCHED_RR 2
#define CELL_SCHED_BATCH 3
#define CELL_SCHED_ISO 4
#define CELL_SCHED_IDLE 5
#define CELL_SCHED_DEADLINE 6
static const struct named sched_policies[] = {
    {"SCHED_OTHER", CELL_SCHED_OTHER}, {"SCHED_FIFO", CELL_SCHED_FIFO},
    {"SCHED_RR", CELL_SCHED_RR},       {"SCHED_BATCH", CELL_SCHED_BATCH},
    {"SCHED_ISO", CELL_SCHED_ISO},     {"SCHED_IDLE", CELL_SCHED_IDLE},
    {"SCHED_DEADLINE", CELL_SCHED_DEADLINE}, {NULL, 0}};

static const struct named sched_flags[] = {
    {"SCHED_FLAG_RESET_ON_FORK", 0x01}, {"SCHED_FLAG_RECLAIM", 0x02},
    {"SCHED_FLAG_DL_OVERRUN", 0x04},    {"SCHED_FLAG_KEEP_POLICY", 0x08},
    {"SCHED_FLAG_KEEP_PARAMS", 0x10},   {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40}, {NULL, 0}};

#define CELL_IOPRIO_CLASS_SHIFT 13
static const struct named ioprio_classes[] = {
    {"IOPRIO_CLASS_RT", 1}, {"IOPRIO_CLASS_BE", 2}, {"IOPRIO_CLASS_IDLE", 3}, {NULL, 0}};

static const struct named personality_domains[] = {
    {"LINUX", PER_LINUX}, {"LINUX32", PER_LINUX32}, {NULL, 0}};

static const struct named personality_flags[] = {
    {"ADDR_NO_RANDOMIZE", ADDR_NO_RANDOMIZE}, {"ADDR_COMPAT_LAYOUT", ADDR_COMPAT_LAYOUT},
    {"ADDR_LIMIT_32BIT", ADDR_LIMIT_32BIT},   {"ADDR_LIMIT_3GB", ADDR_LIMIT_3GB},
    {"FDPIC_FUNCPTRS", FDPIC_FUNCPTRS},       {"MMAP_PAGE_ZERO", MMAP_PAGE_ZERO},
    {"READ_IMPLIES_EXEC", READ_IMPLIES_EXEC}, {"SHORT_INODE", SHORT_INODE},
    {"STICKY_TIMEOUTS", STICKY_TIMEOUTS},     {"UNAME26", UNAME26},
    {"WHOLE_SECONDS", WHOLE_SECONDS},         {NULL, 0}};

static const struct named *lookup(const struct named *t, const char *name) {
  for (; name && t->name; t++)
    if (strcmp(t->name, name) == 0) return t;
  return NULL;
}

static const char *name_of(const struct named *t, long value) {
  for (; t->name; t++)
    if (t->value == value) return t->name;
  return "?";
}

int cell_rlimit_from_name(const char *name) {
  const struct named *n = lookup(rlimit_names, name);
  return n ? (int)n->value : -1;
}

/* ---------- CPU lists ---------- */

static int parse_cpu_num(const char **p, const char *field, const char *s, long *out,
                         struct cell_err *err) {
  if (!isdigit((unsigned char)**p))
    return cell_error(err, 0, "%s: invalid CPU list \"%s\": expected a number at \"%s\"", field, s,
                      *p);
  errno = 0;
  char *end;
  long v = strtol(*p, &end, 10);
  if (errno || v >= CPU_SETSIZE)
    return cell_error(err, 0, "%s: invalid CPU list \"%s\": CPU %.20s is out of range (max %d)",
                      field, s, *p, CPU_SETSIZE - 1);
  *p = end;
  *out = v;
  return 0;
}

int cell_parse_cpu_list(const char *s, const char *field, cpu_set_t *out, struct cell_err *err) {
  CPU_ZERO(out);
  if (!s || !*s) return cell_error(err, 0, "%s: empty CPU list", field);
  const char *p = s;
  for (;;) {
    long a, b;
    if (parse_cpu_num(&p, field, s, &a, err) < 0) return -1;
    b = a;
    if (*p == '-') {
      p++;
      if (parse_cpu_num(&p, field, s, &b, err) < 0) return -1;
      if (b < a)
        return cell_error(err, 0, "%s: invalid CPU list \"%s\": range %ld-%ld is reversed", field,
                          s, a, b);
    }
    for (long c = a; c <= b; c++) CPU_SET((int)c, out);
    if (*p == 0) break;
    if (*p != ',')
      return cell_error(err, 0, "%s: invalid CPU list \"%s\": unexpected \"%s\"", field, s, p);
    p++;
  }
  return 0;
}

/* ---------- env ---------- */

int cell_strings_validate(const cJSON *arr, const char *field, bool kv, struct cell_err *err) {
  if (!arr || cJSON_IsNull(arr)) return 0;
  if (!cJSON_IsArray(arr)) return cell_error(err, 0, "%s: must be an array of strings", field);
  int i = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, arr) {
    if (!cJSON_IsString(it))
      return cell_error(err, 0, "%s[%d]: must be a string", field, i);
    const char *eq = kv ? strchr(it->valuestring, '=') : NULL;
    if (kv && (!eq || eq == it->valuestring))
      return cell_error(err, 0, "%s[%d]: \"%s\" is not in KEY=VALUE form", field, i,
                        it->valuestring);
    i++;
  }
  return 0;
}

int cell_env_validate(const cJSON *env, const char *field, struct cell_err *err) {
  return cell_strings_validate(env, field, true, err);
}

/* ---------- LSM ---------- */

static bool file_starts_with(const char *path, char c) {
  char buf[4];
  return cell_read_small(path, buf, sizeof buf) > 0 && buf[0] == c;
}

bool cell_apparmor_enabled(void) {
  return access("/sys/kernel/security/apparmor", F_OK) == 0 &&
         file_starts_with("/sys/module/apparmor/parameters/enabled", 'Y');
}

bool cell_selinux_enabled(void) {
  return access("/sys/fs/selinux/enforce", F_OK) == 0;
}

/* ---------- prepare ---------- */

static int prepare_rlimits(const cJSON *arr, struct cell_procattr *pa, struct cell_err *err) {
  if (!arr) return 0;
  if (!cJSON_IsArray(arr)) return cell_error(err, 0, "process.rlimits: must be an array");
  int n = cJSON_GetArraySize(arr);
  if (n == 0) return 0;
  pa->rlimits = calloc((size_t)n, sizeof *pa->rlimits);
  if (!pa->rlimits) return cell_error(err, errno, "allocating rlimits");
  char field[64];
  int i = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, arr) {
    if (!cJSON_IsObject(it)) return cell_error(err, 0, "process.rlimits[%d]: must be an object", i);
    const cJSON *type = get(it, "type");
    if (!cJSON_IsString(type))
      return cell_error(err, 0, "process.rlimits[%d].type: must be a string", i);
    const struct named *nm = lookup(rlimit_names, type->valuestring);
    if (!nm)
      return cell_error(err, 0, "process.rlimits[%d].type: unknown rlimit \"%s\"", i,
                        type->valuestring);
    for (size_t k = 0; k < pa->n_rlimits; k++)
      if (pa->rlimits[k].resource == (int)nm->value)
        return cell_error(err, 0, "process.rlimits[%d].type: duplicate rlimit %s (also rlimits[%d])",
                          i, nm->name, pa->rlimits[k].index);
    uint64_t soft, hard;
    const cJSON *v = get(it, "soft");
    snprintf(field, sizeof field, "process.rlimits[%d].soft", i);
    if (!v) return cell_error(err, 0, "%s: missing", field);
    if (json_u64(v, field, &soft, err) < 0) return -1;
    v = get(it, "hard");
    snprintf(field, sizeof field, "process.rlimits[%d].hard", i);
    if (!v) return cell_error(err, 0, "%s: missing", field);
    if (json_u64(v, field, &hard, err) < 0) return -1;
    if (soft > hard)
      return cell_error(err, 0, "process.rlimits[%d]: %s soft limit %llu exceeds hard limit %llu",
                        i, nm->name, (unsigned long long)soft, (unsigned long long)hard);
    struct cell_rlimit *r = &pa->rlimits[pa->n_rlimits++];
    r->resource = (int)nm->value;
    r->name = nm->name;
    r->index = i;
    r->lim.rlim_cur = soft == UINT64_MAX ? RLIM_INFINITY : (rlim_t)soft;
    r->lim.rlim_max = hard == UINT64_MAX ? RLIM_INFINITY : (rlim_t)hard;
    i++;
  }
  return 0;
}

static int prepare_sched(const cJSON *s, struct cell_procattr *pa, struct cell_err *err) {
  if (!s) return 0;
  if (!cJSON_IsObject(s)) return cell_error(err, 0, "process.scheduler: must be an object");
  struct cell_sched_attr *a = &pa->sched;
  memset(a, 0, sizeof *a);
  a->size = sizeof *a;
  const cJSON *pol = get(s, "policy");
  if (!pol) return cell_error(err, 0, "process.scheduler.policy: missing");
  if (!cJSON_IsString(pol)) return cell_error(err, 0, "process.scheduler.policy: must be a string");
  const struct named *nm = lookup(sched_policies, pol->valuestring);
  if (!nm)
    return cell_error(err, 0, "process.scheduler.policy: unknown policy \"%s\"", pol->valuestring);
  a->sched_policy = (uint32_t)nm->value;
  long l;
  const cJSON *v;
  if ((v = get(s, "nice"))) {
    if (json_int(v, "process.scheduler.nice", -20, 19, &l, err) < 0) return -1;
    a->sched_nice = (int32_t)l;
  }
  if ((v = get(s, "priority"))) {
    if (json_int(v, "process.scheduler.priority", 0, 99, &l, err) < 0) return -1;
    a->sched_priority = (uint32_t)l;
  }
  bool rt = a->sched_policy == CELL_SCHED_FIFO || a->sched_policy == CELL_SCHED_RR;
  if (rt && a->sched_priority < 1)
    return cell_error(err, 0, "process.scheduler.priority: must be 1-99 for %s (got %u)",
                      nm->name, a->sched_priority);
  if (!rt && a->sched_priority != 0)
    return cell_error(err, 0, "process.scheduler.priority: must be 0 for %s (got %u)", nm->name,
                      a->sched_priority);
  if ((v = get(s, "flags"))) {
    if (!cJSON_IsArray(v)) return cell_error(err, 0, "process.scheduler.flags: must be an array");
    int i = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, v) {
      const struct named *fl = cJSON_IsString(f) ? lookup(sched_flags, f->valuestring) : NULL;
      if (!fl)
        return cell_error(err, 0, "process.scheduler.flags[%d]: unknown flag \"%s\"", i,
                          cJSON_IsString(f) ? f->valuestring : "(not a string)");
      a->sched_flags |= (uint64_t)fl->value;
      i++;
    }
  }
  uint64_t u;
  if ((v = get(s, "runtime"))) {
    if (json_u64(v, "process.scheduler.runtime", &u, err) < 0) return -1;
    a->sched_runtime = u;
  }
  if ((v = get(s, "deadline"))) {
    if (json_u64(v, "process.scheduler.deadline", &u, err) < 0) return -1;
    a->sched_deadline = u;
  }
  if ((v = get(s, "period"))) {
    if (json_u64(v, "process.scheduler.period", &u, err) < 0) return -1;
    a->sched_period = u;
  }
  if (a->sched_policy == CELL_SCHED_DEADLINE) {
    if (a->sched_runtime == 0)
      return cell_error(err, 0, "process.scheduler.runtime: must be > 0 for SCHED_DEADLINE");
    if (a->sched_deadline < a->sched_runtime)
      return cell_error(err, 0,
                        "process.scheduler.deadline: must be >= runtime for SCHED_DEADLINE "
                        "(runtime %llu, deadline %llu)",
                        (unsigned long long)a->sched_runtime,
                        (unsigned long long)a->sched_deadline);
    if (a->sched_period && a->sched_period < a->sched_deadline)
      return cell_error(err, 0,
                        "process.scheduler.period: must be >= deadline for SCHED_DEADLINE "
                        "(deadline %llu, period %llu)",
                        (unsigned long long)a->sched_deadline,
                        (unsigned long long)a->sched_period);
  } else if (a->sched_runtime || a->sched_deadline || a->sched_period) {
    return cell_error(err, 0,
                      "process.scheduler: runtime/deadline/period are only valid for "
                      "SCHED_DEADLINE (policy is %s)",
                      nm->name);
  }
  pa->has_sched = true;
  return 0;
}

static int prepare_user(const cJSON *u, struct cell_procattr *pa, struct cell_err *err) {
  if (!u) return 0;
  if (!cJSON_IsObject(u)) return cell_error(err, 0, "process.user: must be an object");
  long l;
  const cJSON *v;
  if ((v = get(u, "uid"))) {
    if (json_int(v, "process.user.uid", 0, 4294967294L, &l, err) < 0) return -1;
    pa->uid = (uid_t)l;
  }
  if ((v = get(u, "gid"))) {
    if (json_int(v, "process.user.gid", 0, 4294967294L, &l, err) < 0) return -1;
    pa->gid = (gid_t)l;
  }
  if ((v = get(u, "umask"))) {
    if (json_int(v, "process.user.umask", 0, 07777, &l, err) < 0) return -1;
    pa->umask = (mode_t)l;
    pa->has_umask = true;
  }
  if ((v = get(u, "additionalGids"))) {
    if (!cJSON_IsArray(v))
      return cell_error(err, 0, "process.user.additionalGids: must be an array of integers");
    int n = cJSON_GetArraySize(v);
    long max = sysconf(_SC_NGROUPS_MAX);
    if (max > 0 && n > max)
      return cell_error(err, 0, "process.user.additionalGids: %d groups exceed NGROUPS_MAX %ld", n,
                        max);
    if (n > 0 && !(pa->gids = calloc((size_t)n, sizeof *pa->gids)))
      return cell_error(err, errno, "allocating additionalGids");
    char field[64];
    int i = 0;
    const cJSON *g;
    cJSON_ArrayForEach(g, v) {
      snprintf(field, sizeof field, "process.user.additionalGids[%d]", i);
      if (json_int(g, field, 0, 4294967294L, &l, err) < 0) return -1;
      pa->gids[pa->n_gids++] = (gid_t)l;
      i++;
    }
  }
  return 0;
}

static int prepare_personality(const cJSON *p, struct cell_procattr *pa, struct cell_err *err) {
  if (!p) return 0;
  if (!cJSON_IsObject(p)) return cell_error(err, 0, "linux.personality: must be an object");
  const cJSON *d = get(p, "domain");
  if (!cJSON_IsString(d)) return cell_error(err, 0, "linux.personality.domain: must be a string");
  const struct named *nm = lookup(personality_domains, d->valuestring);
  if (!nm)
    return cell_error(err, 0,
                      "linux.personality.domain: unknown domain \"%s\" (LINUX or LINUX32)",
                      d->valuestring);
  unsigned long val = (unsigned long)nm->value;
  const cJSON *fl = get(p, "flags");
  if (fl) {
    if (!cJSON_IsArray(fl)) return cell_error(err, 0, "linux.personality.flags: must be an array");
    int i = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, fl) {
      const struct named *fn = cJSON_IsString(f) ? lookup(personality_flags, f->valuestring) : NULL;
      if (!fn)
        return cell_error(err, 0, "linux.personality.flags[%d]: unknown flag \"%s\"", i,
                          cJSON_IsString(f) ? f->valuestring : "(not a string)");
      val |= (unsigned long)fn->value;
      i++;
    }
  }
  pa->personality = val;
  pa->has_personality = true;
  return 0;
}

static int prepare_lsm(const cJSON *process, struct cell_procattr *pa, struct cell_err *err) {
  const cJSON *v = get(process, "apparmorProfile");
  if (v) {
    if (!cJSON_IsString(v)) return cell_error(err, 0, "process.apparmorProfile: must be a string");
    if (*v->valuestring) {
      if (!cell_apparmor_enabled())
        return cell_error(err, 0, "process.apparmorProfile: AppArmor is not enabled on this host");
      if (!(pa->apparmor_profile = strdup(v->valuestring)))
        return cell_error(err, errno, "process.apparmorProfile");
    }
  }
  v = get(process, "selinuxLabel");
  if (v) {
    if (!cJSON_IsString(v)) return cell_error(err, 0, "process.selinuxLabel: must be a string");
    if (*v->valuestring) {
      if (!cell_selinux_enabled())
        return cell_error(err, 0, "process.selinuxLabel: SELinux is not enabled on this host");
      if (!(pa->selinux_label = strdup(v->valuestring)))
        return cell_error(err, errno, "process.selinuxLabel");
    }
  }
  return 0;
}

static int prepare(const cJSON *process, const cJSON *linux_obj, struct cell_procattr *pa,
                   struct cell_err *err) {
  if (!process || !cJSON_IsObject(process))
    return cell_error(err, 0, "process: must be an object");
  if (cell_env_validate(get(process, "env"), "process.env", err) < 0) return -1;
  if (prepare_rlimits(get(process, "rlimits"), pa, err) < 0) return -1;
  const cJSON *v;
  long l;
  if ((v = get(process, "oomScoreAdj"))) {
    if (json_int(v, "process.oomScoreAdj", -1000, 1000, &l, err) < 0) return -1;
    pa->oom_score_adj = (int)l;
    pa->has_oom_score_adj = true;
  }
  if ((v = get(process, "ioPriority"))) {
    if (!cJSON_IsObject(v)) return cell_error(err, 0, "process.ioPriority: must be an object");
    const cJSON *c = get(v, "class");
    if (!cJSON_IsString(c)) return cell_error(err, 0, "process.ioPriority.class: must be a string");
    const struct named *nm = lookup(ioprio_classes, c->valuestring);
    if (!nm)
      return cell_error(err, 0, "process.ioPriority.class: unknown class \"%s\"", c->valuestring);
    long prio = 0;
    const cJSON *p = get(v, "priority");
    if (p && json_int(p, "process.ioPriority.priority", 0, 7, &prio, err) < 0) return -1;
    pa->ioprio = (int)(nm->value << CELL_IOPRIO_CLASS_SHIFT | prio);
    pa->has_ioprio = true;
  }
  if (prepare_sched(get(process, "scheduler"), pa, err) < 0) return -1;
  if ((v = get(process, "execCPUAffinity"))) {
    if (!cJSON_IsObject(v)) return cell_error(err, 0, "process.execCPUAffinity: must be an object");
    const cJSON *s;
    if ((s = get(v, "initial"))) {
      if (!cJSON_IsString(s))
        return cell_error(err, 0, "process.execCPUAffinity.initial: must be a string");
      if (cell_parse_cpu_list(s->valuestring, "process.execCPUAffinity.initial",
                              &pa->cpu_initial, err) < 0)
        return -1;
      pa->has_cpu_initial = true;
    }
    if ((s = get(v, "final"))) {
      if (!cJSON_IsString(s))
        return cell_error(err, 0, "process.execCPUAffinity.final: must be a string");
      if (cell_parse_cpu_list(s->valuestring, "process.execCPUAffinity.final", &pa->cpu_final,
                              err) < 0)
        return -1;
      pa->has_cpu_final = true;
    }
  }
  if ((v = get(process, "noNewPrivileges"))) {
    if (!cJSON_IsBool(v)) return cell_error(err, 0, "process.noNewPrivileges: must be a boolean");
    pa->no_new_privileges = cJSON_IsTrue(v);
  }
  if (prepare_user(get(process, "user"), pa, err) < 0) return -1;
  if (prepare_lsm(process, pa, err) < 0) return -1;
  if (linux_obj && cJSON_IsObject(linux_obj) &&
      prepare_personality(get(linux_obj, "personality"), pa, err) < 0)
    return -1;
  return 0;
}

int cell_procattr_prepare(const cJSON *process, const cJSON *linux_obj, struct cell_procattr *out,
                          struct cell_err *err) {
  memset(out, 0, sizeof *out);
  if (prepare(process, linux_obj, out, err) < 0) {
    cell_procattr_free(out);
    return -1;
  }
  return 0;
}

void cell_procattr_free(struct cell_procattr *pa) {
  if (!pa) return;
  free(pa->rlimits);
  free(pa->gids);
  free(pa->apparmor_profile);
  free(pa->selinux_label);
  pa->rlimits = NULL;
  pa->gids = NULL;
  pa->apparmor_profile = pa->selinux_label = NULL;
  pa->n_rlimits = pa->n_gids = 0;
}

/* ---------- apply ---------- */

static void fmt_rlim(char *buf, size_t n, rlim_t v) {
  if (v == RLIM_INFINITY) snprintf(buf, n, "unlimited");
  else snprintf(buf, n, "%llu", (unsigned long long)v);
}

static int apply_rlimits(const struct cell_procattr *pa, struct cell_err *err) {
  for (size_t i = 0; i < pa->n_rlimits; i++) {
    const struct cell_rlimit *r = &pa->rlimits[i];
    if (setrlimit(r->resource, &r->lim) == 0) continue;
    int e = errno;
    char soft[32], hard[32], cur[32] = "?";
    fmt_rlim(soft, sizeof soft, r->lim.rlim_cur);
    fmt_rlim(hard, sizeof hard, r->lim.rlim_max);
    struct rlimit now;
    if (getrlimit(r->resource, &now) == 0) fmt_rlim(cur, sizeof cur, now.rlim_max);
    if (e == EPERM)
      cell_error(err, 0,
                 "process.rlimits[%d]: setting %s to soft %s, hard %s: operation not "
                 "permitted (raising the hard limit above the current %s needs "
                 "CAP_SYS_RESOURCE)",
                 r->index, r->name, soft, hard, cur);
    else
      cell_error(err, 0, "process.rlimits[%d]: setting %s to soft %s, hard %s: %s", r->index,
                 r->name, soft, hard, strerror(e));
    err->errnum = e;
    return -1;
  }
  return 0;
}

static int apply_oom(const struct cell_procattr *pa, struct cell_err *err) {
  if (!pa->has_oom_score_adj) return 0;
  const char *path = "/proc/self/oom_score_adj";
  char buf[16];
  int len = snprintf(buf, sizeof buf, "%d", pa->oom_score_adj);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return cell_error(err, errno, "process.oomScoreAdj: opening %s", path);
  ssize_t n = write(fd, buf, (size_t)len);
  int e = errno;
  close(fd);
  if (n == len) return 0;
  if (n >= 0) return cell_error(err, EIO, "process.oomScoreAdj: short write to %s", path);
  if (e == EACCES || e == EPERM) {
    cell_error(err, 0,
               "process.oomScoreAdj: writing %d to %s: %s (lowering the OOM score "
               "adjustment needs CAP_SYS_RESOURCE)",
               pa->oom_score_adj, path, strerror(e));
    err->errnum = e;
    return -1;
  }
  return cell_error(err, e, "process.oomScoreAdj: writing %d to %s", pa->oom_score_adj, path);
}

static int apply_ioprio(const struct cell_procattr *pa, struct cell_err *err) {
  if (!pa->has_ioprio) return 0;
  if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, pa->ioprio) < 0)
    return cell_error(err, errno, "process.ioPriority: ioprio_set(class %s, priority %d)",
                      name_of(ioprio_classes, pa->ioprio >> CELL_IOPRIO_CLASS_SHIFT),
                      pa->ioprio & 0xff);
  return 0;
}

static int apply_sched(const struct cell_procattr *pa, struct cell_err *err) {
  if (!pa->has_sched) return 0;
  struct cell_sched_attr a = pa->sched;
  if (syscall(SYS_sched_setattr, 0, &a, 0) < 0) {
    int e = errno;
    const char *pol = name_of(sched_policies, (long)a.sched_policy);
    bool rt = a.sched_policy == CELL_SCHED_FIFO || a.sched_policy == CELL_SCHED_RR;
    /* cgroup v1 with RT group scheduling: a new cpu cgroup has cpu.rt_runtime_us 0 */
    if (e == EPERM && rt)
      return cell_error(err, e, "process.scheduler: sched_setattr(policy %s, priority %u): needs CAP_SYS_NICE "
                        "and, on a cgroup v1 cpu hierarchy, realtime runtime for the container's cgroup "
                        "(linux.resources.cpu.realtimeRuntime)", pol, a.sched_priority);
    if (e == EPERM)
      return cell_error(err, e, "process.scheduler: sched_setattr(policy %s, nice %d, priority %u) "
                        "needs CAP_SYS_NICE or a matching RLIMIT_RTPRIO/RLIMIT_NICE",
                        pol, a.sched_nice, a.sched_priority);
    return cell_error(err, e, "process.scheduler: sched_setattr(policy %s, nice %d, priority %u)",
                      pol, a.sched_nice, a.sched_priority);
  }
  return 0;
}

static int apply_affinity(const cpu_set_t *set, const char *field, struct cell_err *err) {
  if (sched_setaffinity(0, sizeof *set, set) < 0) {
    int e = errno;
    if (e == EINVAL)
      return cell_error(err, e, "%s: sched_setaffinity: none of the CPUs is online or allowed",
                        field);
    return cell_error(err, e, "%s: sched_setaffinity", field);
  }
  return 0;
}

int cell_procattr_apply_cpu_initial(const struct cell_procattr *pa, struct cell_err *err) {
  if (!pa->has_cpu_initial) return 0;
  return apply_affinity(&pa->cpu_initial, "process.execCPUAffinity.initial", err);
}

int cell_procattr_apply_cpu_final(const struct cell_procattr *pa, struct cell_err *err) {
  if (!pa->has_cpu_final) return 0;
  return apply_affinity(&pa->cpu_final, "process.execCPUAffinity.final", err);
}

int cell_procattr_apply_early(const struct cell_procattr *pa, struct cell_err *err) {
  if (apply_rlimits(pa, err) < 0) return -1;
  if (apply_oom(pa, err) < 0) return -1;
  if (apply_ioprio(pa, err) < 0) return -1;
  if (apply_sched(pa, err) < 0) return -1;
  if (pa->has_personality && personality(pa->personality) < 0)
    return cell_error(err, errno, "linux.personality: personality(%#lx)", pa->personality);
  if (cell_procattr_apply_cpu_initial(pa, err) < 0) return -1;
  if (pa->has_umask) umask(pa->umask);
  return 0;
}

static bool setgroups_denied(void) {
  char buf[16];
  return cell_read_small("/proc/self/setgroups", buf, sizeof buf) > 0 && strncmp(buf, "deny", 4) == 0;
}

int cell_procattr_apply_user(const struct cell_procattr *pa, struct cell_err *err) {
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return cell_error(err, errno, "prctl(PR_SET_KEEPCAPS, 1)");
  if (setgroups(pa->n_gids, pa->gids) < 0) {
    int e = errno;
    /* In a user namespace with setgroups denied an empty list is the
     * only possible state anyway. */
    if (!(e == EPERM && pa->n_gids == 0 && setgroups_denied()))
      return cell_error(err, e, "process.user.additionalGids: setgroups (%zu groups)", pa->n_gids);
  }
  if (setresgid(pa->gid, pa->gid, pa->gid) < 0)
    return cell_error(err, errno, "process.user.gid: setresgid(%u)", (unsigned)pa->gid);
  if (setresuid(pa->uid, pa->uid, pa->uid) < 0)
    return cell_error(err, errno, "process.user.uid: setresuid(%u)", (unsigned)pa->uid);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return cell_error(err, errno, "prctl(PR_SET_KEEPCAPS, 0)");
  return 0;
}

static int write_attr(const char *const *paths, const char *value, const char *field,
                      struct cell_err *err) {
  int fd = -1, e = ENOENT;
  const char *used = paths[0];
  for (; *paths; paths++) {
    fd = open(*paths, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      used = *paths;
      break;
    }
    e = errno;
  }
  if (fd < 0) return cell_error(err, e, "%s: opening %s", field, used);
  size_t len = strlen(value);
  ssize_t n = write(fd, value, len);
  e = errno;
  close(fd);
  if (n < 0) return cell_error(err, e, "%s: writing \"%s\" to %s", field, value, used);
  if ((size_t)n != len) return cell_error(err, EIO, "%s: short write to %s", field, used);
  return 0;
}

int cell_procattr_apply_final(const struct cell_procattr *pa, struct cell_err *err) {
  if (cell_procattr_apply_cpu_final(pa, err) < 0) return -1;
  if (pa->apparmor_profile) {
    static const char *const paths[] = {"/proc/thread-self/attr/apparmor/exec",
                                        "/proc/thread-self/attr/exec", NULL};
    size_t n = strlen(pa->apparmor_profile) + 6;
    char *v = malloc(n);
    if (!v) return cell_error(err, errno, "process.apparmorProfile");
    snprintf(v, n, "exec %s", pa->apparmor_profile);
    int r = write_attr(paths, v, "process.apparmorProfile", err);
    free(v);
    if (r < 0) return -1;
  }
  if (pa->selinux_label) {
    static const char *const paths[] = {"/proc/thread-self/attr/exec", NULL};
    if (write_attr(paths, pa->selinux_label, "process.selinuxLabel", err) < 0) return -1;
  }
  if (pa->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return cell_error(err, errno, "process.noNewPrivileges: prctl(PR_SET_NO_NEW_PRIVS)");
  return 0;
}

/* ---------- executable lookup (Go's exec.LookPath, as runc uses it) ---------- */

/* strconv.Quote-like quoting. */
static void go_quote(const char *s, char *out, size_t n) {
  size_t o = 0;
  if (n < 3) {
    if (n) out[0] = 0;
    return;
  }
  out[o++] = '"';
  for (; *s && o + 6 < n; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      out[o++] = '\\';
      out[o++] = (char)c;
    } else if (c == '\n') {
      out[o++] = '\\';
      out[o++] = 'n';
    } else if (c == '\t') {
      out[o++] = '\\';
      out[o++] = 't';
    } else if (c < 0x20 || c == 0x7f) {
      o += (size_t)snprintf(out + o, n - o, "\\x%02x", c);
    } else {
      out[o++] = (char)c;
    }
  }
  out[o++] = '"';
  out[o] = 0;
}

/* Go's errno strings are glibc's with a lower-case first letter. */
static void go_errstr(int e, char *buf, size_t n) {
  snprintf(buf, n, "%s", strerror(e));
  buf[0] = (char)tolower((unsigned char)buf[0]);
}

/* 0, or an errno: the stat error in *stat_err (true) or a permission
 * problem (false). */
static int find_exec_check(const char *path, bool *stat_err) {
  struct stat st;
  *stat_err = false;
  if (stat(path, &st) < 0) {
    *stat_err = true;
    return errno;
  }
  if (S_ISDIR(st.st_mode) || !(st.st_mode & 0111)) return EACCES;
  if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0 && errno != ENOSYS && errno != EPERM)
    return EACCES;
  return 0;
}

/* filepath.Join(dir, file) followed by Clean, for the cases LookPath sees. */
static int join_clean(const char *dir, const char *file, char *out, size_t n) {
  char tmp[PATH_MAX * 2];
  int len = snprintf(tmp, sizeof tmp, "%s/%s", dir, file);
  if (len < 0 || (size_t)len >= sizeof tmp) return -1;
  bool abs = tmp[0] == '/';
  /* split into components, resolve "." and ".." lexically */
  const char *comp[PATH_MAX];
  size_t ncomp = 0;
  char *save = NULL;
  for (char *c = strtok_r(tmp, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
    if (strcmp(c, ".") == 0) continue;
    if (strcmp(c, "..") == 0) {
      if (ncomp > 0 && strcmp(comp[ncomp - 1], "..") != 0) {
        ncomp--;
        continue;
      }
      if (abs) continue;
    }
    if (ncomp < PATH_MAX) comp[ncomp++] = c;
  }
  size_t o = 0;
  out[0] = 0;
  if (abs) {
    if (n < 2) return -1;
    out[o++] = '/';
    out[o] = 0;
  }
  for (size_t i = 0; i < ncomp; i++) {
    int w = snprintf(out + o, n - o, "%s%s", i ? "/" : "", comp[i]);
    if (w < 0 || (size_t)w >= n - o) return -1;
    o += (size_t)w;
  }
  if (o == 0) {
    if (n < 2) return -1;
    strcpy(out, ".");
  }
  return 0;
}

int cell_find_executable(const char *arg0, const char *path_env, char *out, size_t outlen,
                         struct cell_err *err) {
  char q[PATH_MAX + 64], es[128];
  if (!arg0) arg0 = "";
  go_quote(arg0, q, sizeof q);
  bool stat_err;
  if (strchr(arg0, '/')) {
    int e = find_exec_check(arg0, &stat_err);
    if (e == 0) {
      if (strlen(arg0) >= outlen)
        return cell_error(err, ENAMETOOLONG, "exec: %s: path too long", q);
      strcpy(out, arg0);
      return 0;
    }
    go_errstr(e, es, sizeof es);
    if (stat_err) cell_error(err, 0, "exec: %s: stat %s: %s", q, arg0, es);
    else cell_error(err, 0, "exec: %s: %s", q, es);
    err->errnum = e;
    return -1;
  }
  if (*arg0 && path_env && *path_env) { /* Go: SplitList("") is empty */
    const char *p = path_env;
    for (;;) {
      const char *colon = strchr(p, ':');
      size_t dl = colon ? (size_t)(colon - p) : strlen(p);
      char dir[PATH_MAX];
      if (dl >= sizeof dir) dl = sizeof dir - 1;
      memcpy(dir, p, dl);
      dir[dl] = 0;
      if (!*dir) strcpy(dir, ".");
      char cand[PATH_MAX];
      if (join_clean(dir, arg0, cand, sizeof cand) == 0 &&
          find_exec_check(cand, &stat_err) == 0) {
        if (cand[0] != '/') {
          cell_error(err, 0, "exec: %s: cannot run executable found relative to current directory",
                     q);
          err->errnum = EACCES;
          return -1;
        }
        if (strlen(cand) >= outlen)
          return cell_error(err, ENAMETOOLONG, "exec: %s: path too long", q);
        strcpy(out, cand);
        return 0;
      }
      if (!colon) break;
      p = colon + 1;
    }
  }
  cell_error(err, 0, "exec: %s: executable file not found in $PATH", q);
  err->errnum = ENOENT;
  return -1;
}
