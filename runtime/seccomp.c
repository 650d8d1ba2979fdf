/* seccomp.c - OCI `linux.seccomp` -> libseccomp filter -> BPF -> seccomp(2).
 * See cell_seccomp.h for the semantics and the integration notes. */
#include <seccomp.h>

#include "runtime/cell_seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef BPF_MAXINSNS
#define BPF_MAXINSNS 4096
#endif

#define FIELD "linux.seccomp"
#define OCI_VERSION "1.2.0"

struct cell_seccomp {
  struct sock_filter *prog; /* compiled BPF program */
  size_t prog_len;          /* instructions */
  unsigned int flags;       /* seccomp(2) flags requested by `flags` */
  int uses_notify;
  char *listener_path;
  char *listener_metadata;
};

/* ---- name tables ------------------------------------------------------ */

enum { ACT_PLAIN, ACT_WITH_ERRNO };

static const struct {
  const char *name;
  uint32_t action;
  int kind;
} actions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL, ACT_PLAIN},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, ACT_PLAIN},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, ACT_PLAIN},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, ACT_PLAIN},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), ACT_WITH_ERRNO},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), ACT_WITH_ERRNO},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, ACT_PLAIN},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, ACT_PLAIN},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, ACT_PLAIN},
};

static const struct {
  const char *name;
  uint32_t arch;
} arches[] = {
    {"SCMP_ARCH_NATIVE", SCMP_ARCH_NATIVE},
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
#ifdef SCMP_ARCH_LOONGARCH64
    {"SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64},
#endif
#ifdef SCMP_ARCH_M68K
    {"SCMP_ARCH_M68K", SCMP_ARCH_M68K},
#endif
#ifdef SCMP_ARCH_SH
    {"SCMP_ARCH_SH", SCMP_ARCH_SH},
#endif
#ifdef SCMP_ARCH_SHEB
    {"SCMP_ARCH_SHEB", SCMP_ARCH_SHEB},
#endif
};

static const struct {
  const char *name;
  unsigned int flag;
} flag_names[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

static const struct {
  const char *name;
  enum scmp_compare op;
} ops[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- JSON helpers ----------------------------------------------------- */

/* An unsigned integer no larger than max.  2^64 (what cJSON makes of
 * 18446744073709551615) is accepted as UINT64_MAX when max is UINT64_MAX. */
static int get_uint(const cJSON *item, const char *field, uint64_t max,
                    uint64_t *out, struct cell_err *err) {
  if (!cJSON_IsNumber(item))
    return cell_error(err, 0, "%s: must be an unsigned integer", field);
  double v = item->valuedouble;
  if (!(v >= 0))
    return cell_error(err, 0, "%s: must be an unsigned integer, got %g", field, v);
  if (v >= 18446744073709551616.0) {
    if (v == 18446744073709551616.0 && max == UINT64_MAX) {
      *out = UINT64_MAX;
      return 0;
    }
    return cell_error(err, 0, "%s: %g is out of range (max %llu)", field, v,
                      (unsigned long long)max);
  }
  uint64_t u = (uint64_t)v;
  if ((double)u != v)
    return cell_error(err, 0, "%s: must be an unsigned integer, got %g", field, v);
  if (u > max)
    return cell_error(err, 0, "%s: %llu is out of range (max %llu)", field,
                      (unsigned long long)u, (unsigned long long)max);
  *out = u;
  return 0;
}

/* Optional string member: NULL if absent, error if present and not a string. */
static int get_opt_string(const cJSON *obj, const char *key, const char *field,
                          const char **out, struct cell_err *err) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
  *out = NULL;
  if (!it || cJSON_IsNull(it)) return 0;
  if (!cJSON_IsString(it) || !it->valuestring)
    return cell_error(err, 0, "%s.%s: must be a string", field, key);
  *out = it->valuestring;
  return 0;
}

/* Resolve action name + optional errnoRet member into a libseccomp action.
 * `field` names the object holding them ("linux.seccomp" or
 * "linux.seccomp.syscalls[3]"), act_key/errno_key the member names. */
static int parse_action(const cJSON *obj, const char *field, const char *act_key,
                        const char *errno_key, uint32_t *out, int *is_notify,
                        struct cell_err *err) {
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, act_key);
  if (!a) return cell_error(err, 0, "%s.%s: required", field, act_key);
  if (!cJSON_IsString(a) || !a->valuestring)
    return cell_error(err, 0, "%s.%s: must be a string", field, act_key);
  size_t i;
  for (i = 0; i < N_ELEM(actions); i++)
    if (strcmp(actions[i].name, a->valuestring) == 0) break;
  if (i == N_ELEM(actions))
    return cell_error(err, 0, "%s.%s: unknown action \"%s\"", field, act_key,
                      a->valuestring);

  const cJSON *e = cJSON_GetObjectItemCaseSensitive(obj, errno_key);
  if (e && cJSON_IsNull(e)) e = NULL;
  uint64_t errno_ret = EPERM;
  if (e) {
    char f[256];
    snprintf(f, sizeof f, "%s.%s", field, errno_key);
    if (actions[i].kind != ACT_WITH_ERRNO)
      return cell_error(err, 0, "%s: not valid with action %s (only SCMP_ACT_ERRNO "
                        "and SCMP_ACT_TRACE take an errno)", f, actions[i].name);
    if (get_uint(e, f, 0xffff, &errno_ret, err) < 0) return -1;
  }
  *out = actions[i].action;
  if (actions[i].kind == ACT_WITH_ERRNO) *out |= (uint32_t)errno_ret;
  *is_notify = actions[i].action == SCMP_ACT_NOTIFY;
  return 0;
}

/* ---- build ------------------------------------------------------------ */

static int parse_args(const cJSON *args, const char *field,
                      struct scmp_arg_cmp *cmp, unsigned *n_out, int *or_rules,
                      struct cell_err *err) {
  unsigned per_index[6] = {0};
  unsigned n = 0;
  *or_rules = 0;
  *n_out = 0;
  if (!args || cJSON_IsNull(args)) return 0;
  if (!cJSON_IsArray(args))
    return cell_error(err, 0, "%s.args: must be an array", field);
  const cJSON *arg;
  cJSON_ArrayForEach(arg, args) {
    char f[256];
    snprintf(f, sizeof f, "%s.args[%u]", field, n);
    if (!cJSON_IsObject(arg)) return cell_error(err, 0, "%s: must be an object", f);
    if (n >= 6)
      return cell_error(err, 0, "%s: too many argument conditions (at most 6)", f);

    char ff[300];
    uint64_t index, value, value2 = 0;
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(arg, "index");
    snprintf(ff, sizeof ff, "%s.index", f);
    if (!it) return cell_error(err, 0, "%s: required", ff);
    if (get_uint(it, ff, UINT32_MAX, &index, err) < 0) return -1;
    if (index > 5)
      return cell_error(err, 0, "%s: %llu is out of range (syscall arguments are 0-5)",
                        ff, (unsigned long long)index);

    it = cJSON_GetObjectItemCaseSensitive(arg, "value");
    snprintf(ff, sizeof ff, "%s.value", f);
    if (!it) return cell_error(err, 0, "%s: required", ff);
    if (get_uint(it, ff, UINT64_MAX, &value, err) < 0) return -1;

    it = cJSON_GetObjectItemCaseSensitive(arg, "valueTwo");
    snprintf(ff, sizeof ff, "%s.valueTwo", f);
    if (it && !cJSON_IsNull(it) && get_uint(it, ff, UINT64_MAX, &value2, err) < 0)
      return -1;

    it = cJSON_GetObjectItemCaseSensitive(arg, "op");
    snprintf(ff, sizeof ff, "%s.op", f);
    if (!it) return cell_error(err, 0, "%s: required", ff);
    if (!cJSON_IsString(it) || !it->valuestring)
      return cell_error(err, 0, "%s: must be a string", ff);
    size_t k;
    for (k = 0; k < N_ELEM(ops); k++)
      if (strcmp(ops[k].name, it->valuestring) == 0) break;
    if (k == N_ELEM(ops))
      return cell_error(err, 0, "%s: unknown operator \"%s\"", ff, it->valuestring);

    cmp[n].arg = (unsigned)index;
    cmp[n].op = ops[k].op;
    cmp[n].datum_a = value;
    cmp[n].datum_b = value2;
    if (++per_index[index] > 1) *or_rules = 1;
    n++;
  }
  *n_out = n;
  return 0;
}

static int add_syscall_entry(scmp_filter_ctx ctx, const cJSON *entry, size_t idx,
                             uint32_t default_action, int *uses_notify,
                             struct cell_err *err) {
  char field[64];
  snprintf(field, sizeof field, FIELD ".syscalls[%zu]", idx);
  if (!cJSON_IsObject(entry)) return cell_error(err, 0, "%s: must be an object", field);

  const cJSON *names = cJSON_GetObjectItemCaseSensitive(entry, "names");
  if (!names) return cell_error(err, 0, "%s.names: required", field);
  if (!cJSON_IsArray(names))
    return cell_error(err, 0, "%s.names: must be an array of strings", field);
  if (cJSON_GetArraySize(names) == 0)
    return cell_error(err, 0, "%s.names: must contain at least one syscall name", field);
  size_t j = 0;
  const cJSON *nm;
  cJSON_ArrayForEach(nm, names) {
    if (!cJSON_IsString(nm) || !nm->valuestring)
      return cell_error(err, 0, "%s.names[%zu]: must be a string", field, j);
    j++;
  }

  uint32_t action;
  int notify;
  if (parse_action(entry, field, "action", "errnoRet", &action, &notify, err) < 0)
    return -1;
  if (notify) *uses_notify = 1;

  struct scmp_arg_cmp cmp[6];
  unsigned n_cmp;
  int or_rules;
  if (parse_args(cJSON_GetObjectItemCaseSensitive(entry, "args"), field, cmp, &n_cmp,
                 &or_rules, err) < 0)
    return -1;

  /* libseccomp refuses rules equal to the default action; they are no-ops. */
  if (action == default_action) return 0;

  j = 0;
  cJSON_ArrayForEach(nm, names) {
    int nr = seccomp_syscall_resolve_name(nm->valuestring);
    if (nr == __NR_SCMP_ERROR) { j++; continue; } /* unknown here: skip */
    int rc = 0;
    if (!or_rules) {
      rc = seccomp_rule_add_array(ctx, action, nr, n_cmp, n_cmp ? cmp : NULL);
    } else {
      for (unsigned k = 0; k < n_cmp && rc == 0; k++)
        rc = seccomp_rule_add_array(ctx, action, nr, 1, &cmp[k]);
    }
    if (rc < 0)
      return cell_error(err, -rc, "%s.names[%zu]: adding seccomp rule for \"%s\"", field,
                        j, nm->valuestring);
    j++;
  }
  return 0;
}

/* seccomp_export_bpf() writes to an fd: compile into a memfd and read back. */
static int export_bpf(scmp_filter_ctx ctx, struct cell_seccomp *s, struct cell_err *err) {
  cleanup_close int fd = memfd_create("cell-seccomp-bpf", MFD_CLOEXEC);
  if (fd < 0) return cell_error(err, errno, FIELD ": memfd_create for the BPF program");
  int rc = seccomp_export_bpf(ctx, fd);
  if (rc < 0) return cell_error(err, -rc, FIELD ": compiling the filter to BPF");
  struct stat st;
  if (fstat(fd, &st) < 0) return cell_error(err, errno, FIELD ": fstat BPF memfd");
  size_t size = (size_t)st.st_size;
  if (size == 0 || size % sizeof(struct sock_filter))
    return cell_error(err, 0, FIELD ": libseccomp produced a BPF program of %zu bytes",
                      size);
  s->prog_len = size / sizeof(struct sock_filter);
  if (s->prog_len > BPF_MAXINSNS)
    return cell_error(err, 0, FIELD ": compiled filter has %zu BPF instructions, the "
                      "kernel accepts at most %d", s->prog_len, BPF_MAXINSNS);
  s->prog = malloc(size);
  if (!s->prog) return cell_error(err, ENOMEM, FIELD ": BPF program");
  size_t got = 0;
  while (got < size) {
    ssize_t r = pread(fd, (char *)s->prog + got, size - got, (off_t)got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return cell_error(err, r < 0 ? errno : EIO, FIELD ": reading BPF program");
    got += (size_t)r;
  }
  return 0;
}

/* listenerPath and listenerMetadata into s */
static int parse_listener(const cJSON *sc, struct cell_seccomp *s, struct cell_err *err) {
  const char *lp, *lm;
  if (get_opt_string(sc, "listenerPath", FIELD, &lp, err) < 0) return -1;
  if (get_opt_string(sc, "listenerMetadata", FIELD, &lm, err) < 0) return -1;
  if (lp && !*lp) return cell_error(err, 0, FIELD ".listenerPath: must not be empty");
  if (lp && strlen(lp) >= sizeof(((struct sockaddr_un *)0)->sun_path))
    return cell_error(err, 0, FIELD ".listenerPath: \"%s\" is longer than %zu bytes", lp,
                      sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
  if (lm && !lp)
    return cell_error(err, 0, FIELD ".listenerMetadata: must not be set without "
                      "listenerPath");
  if (lp && !(s->listener_path = strdup(lp)))
    return cell_error(err, ENOMEM, FIELD ".listenerPath");
  if (lm && !(s->listener_metadata = strdup(lm)))
    return cell_error(err, ENOMEM, FIELD ".listenerMetadata");
  return 0;
}

static int build_ctx(const cJSON *sc, struct cell_seccomp *s, scmp_filter_ctx *ctxp,
                     struct cell_err *err) {
  uint32_t def;
  int notify;
  if (parse_action(sc, FIELD, "defaultAction", "defaultErrnoRet", &def, &notify, err) < 0)
    return -1;
  if (notify)
    return cell_error(err, 0, FIELD ".defaultAction: SCMP_ACT_NOTIFY cannot be the "
                      "default action (the runtime's own syscalls would be trapped)");

  /* flags */
  const cJSON *flags = cJSON_GetObjectItemCaseSensitive(sc, "flags");
  if (flags && !cJSON_IsNull(flags)) {
    if (!cJSON_IsArray(flags))
      return cell_error(err, 0, FIELD ".flags: must be an array of strings");
    size_t i = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, flags) {
      if (!cJSON_IsString(f) || !f->valuestring)
        return cell_error(err, 0, FIELD ".flags[%zu]: must be a string", i);
      size_t k;
      for (k = 0; k < N_ELEM(flag_names); k++)
        if (strcmp(flag_names[k].name, f->valuestring) == 0) break;
      if (k == N_ELEM(flag_names))
        return cell_error(err, 0, FIELD ".flags[%zu]: unknown flag \"%s\"", i,
                          f->valuestring);
      s->flags |= flag_names[k].flag;
      i++;
    }
  }

  if (parse_listener(sc, s, err) < 0) return -1;

  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx)
    return cell_error(err, EINVAL, FIELD ".defaultAction: libseccomp rejected the action "
                      "(not supported by this kernel?)");
  *ctxp = ctx;
  /* The caller owns no_new_privs; the kernel checks it at load time. */
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  if (rc < 0) return cell_error(err, -rc, FIELD ": clearing SCMP_FLTATR_CTL_NNP");

  /* architectures */
  const cJSON *archs = cJSON_GetObjectItemCaseSensitive(sc, "architectures");
  if (archs && !cJSON_IsNull(archs)) {
    if (!cJSON_IsArray(archs))
      return cell_error(err, 0, FIELD ".architectures: must be an array of strings");
    size_t i = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, archs) {
      if (!cJSON_IsString(a) || !a->valuestring)
        return cell_error(err, 0, FIELD ".architectures[%zu]: must be a string", i);
      size_t k;
      for (k = 0; k < N_ELEM(arches); k++)
        if (strcmp(arches[k].name, a->valuestring) == 0) break;
      if (k == N_ELEM(arches))
        return cell_error(err, 0, FIELD ".architectures[%zu]: unknown architecture \"%s\"",
                          i, a->valuestring);
      rc = seccomp_arch_add(ctx, arches[k].arch);
      if (rc == -EDOM)
        return cell_error(err, 0, FIELD ".architectures[%zu]: %s cannot share one filter "
                          "with the native architecture (different byte order)", i,
                          a->valuestring);
      if (rc < 0 && rc != -EEXIST)
        return cell_error(err, -rc, FIELD ".architectures[%zu]: adding %s", i,
                          a->valuestring);
      i++;
    }
  }

  /* syscalls */
  const cJSON *calls = cJSON_GetObjectItemCaseSensitive(sc, "syscalls");
  if (calls && !cJSON_IsNull(calls)) {
    if (!cJSON_IsArray(calls))
      return cell_error(err, 0, FIELD ".syscalls: must be an array");
    size_t i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, calls) {
      if (add_syscall_entry(ctx, c, i, def, &s->uses_notify, err) < 0) return -1;
      i++;
    }
  }

  if (s->uses_notify && !s->listener_path)
    return cell_error(err, 0, FIELD ".listenerPath: required when SCMP_ACT_NOTIFY is used");
  /* WAIT_KILLABLE_RECV only changes how notifications are waited for; the
   * kernel refuses it without a listener, and without SCMP_ACT_NOTIFY it
   * means nothing, so it is dropped then. */
  if (!s->uses_notify) s->flags &= ~(unsigned)SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
  return 0;
}

int cell_seccomp_build(const cJSON *seccomp, struct cell_seccomp **out,
                       struct cell_err *err) {
  *out = NULL;
  if (!seccomp || cJSON_IsNull(seccomp)) return 0;
  if (!cJSON_IsObject(seccomp)) return cell_error(err, 0, FIELD ": must be an object");
  struct cell_seccomp *s = calloc(1, sizeof *s);
  if (!s) return cell_error(err, ENOMEM, FIELD);
  scmp_filter_ctx ctx = NULL;
  int rc = build_ctx(seccomp, s, &ctx, err);
  if (rc == 0) rc = export_bpf(ctx, s, err);
  if (ctx) seccomp_release(ctx);
  if (rc < 0) {
    cell_seccomp_free(s);
    return -1;
  }
  *out = s;
  return 0;
}

struct cell_seccomp *cell_seccomp_from_bpf(const cJSON *seccomp, const struct sock_filter *prog, size_t len,
                                           unsigned int flags, int uses_notify, struct cell_err *err) {
  struct cell_seccomp *s = calloc(1, sizeof *s);
  if (!s || !(s->prog = malloc(len * sizeof *prog))) {
    free(s);
    cell_error(err, ENOMEM, FIELD ": BPF program");
    return NULL;
  }
  memcpy(s->prog, prog, len * sizeof *prog);
  s->prog_len = len;
  s->flags = flags;
  s->uses_notify = uses_notify;
  if (parse_listener(seccomp, s, err) < 0) {
    cell_seccomp_free(s);
    return NULL;
  }
  return s;
}

const struct sock_filter *cell_seccomp_bpf(const struct cell_seccomp *s, unsigned int *flags) {
  *flags = s->flags;
  return s->prog;
}

int cell_seccomp_uses_notify(const struct cell_seccomp *s) {
  return s ? s->uses_notify : 0;
}

const char *cell_seccomp_listener_path(const struct cell_seccomp *s) {
  return s ? s->listener_path : NULL;
}

size_t cell_seccomp_bpf_len(const struct cell_seccomp *s) {
  return s ? s->prog_len : 0;
}

void cell_seccomp_free(struct cell_seccomp *s) {
  if (!s) return;
  free(s->prog);
  free(s->listener_path);
  free(s->listener_metadata);
  free(s);
}

/* ---- load ------------------------------------------------------------- */

static void flags_str(unsigned int flags, char *buf, size_t len) {
  static const struct {
    unsigned int f;
    const char *n;
  } all[] = {
      {SECCOMP_FILTER_FLAG_TSYNC, "TSYNC"},
      {SECCOMP_FILTER_FLAG_LOG, "LOG"},
      {SECCOMP_FILTER_FLAG_SPEC_ALLOW, "SPEC_ALLOW"},
      {SECCOMP_FILTER_FLAG_NEW_LISTENER, "NEW_LISTENER"},
      {SECCOMP_FILTER_FLAG_TSYNC_ESRCH, "TSYNC_ESRCH"},
      {SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, "WAIT_KILLABLE_RECV"},
  };
  size_t off = 0;
  buf[0] = 0;
  for (size_t i = 0; i < N_ELEM(all); i++) {
    if (!(flags & all[i].f)) continue;
    int n = snprintf(buf + off, len - off, "%sSECCOMP_FILTER_FLAG_%s", off ? "|" : "",
                     all[i].n);
    if (n < 0 || (size_t)n >= len - off) break;
    off += (size_t)n;
  }
  if (!off) snprintf(buf, len, "none");
}

int cell_seccomp_load(struct cell_seccomp *s, int *notify_fd, struct cell_err *err) {
  if (notify_fd) *notify_fd = -1;
  if (!s) return 0;
  unsigned int flags = s->flags;
  if (s->uses_notify) {
    if (!notify_fd)
      return cell_error(err, EINVAL, "loading seccomp filter: it uses SCMP_ACT_NOTIFY "
                        "but the caller takes no listener fd");
    flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    /* TSYNC normally returns a thread id on failure, which would be
     * ambiguous with the listener fd: ask for -ESRCH instead. */
    if (flags & SECCOMP_FILTER_FLAG_TSYNC) flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  }
  struct sock_fprog prog = {.len = (unsigned short)s->prog_len, .filter = s->prog};
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (rc < 0) {
    int e = errno;
    char fl[256];
    flags_str(flags, fl, sizeof fl);
    if (e == EACCES)
      return cell_error(err, e, "loading seccomp filter: no_new_privs is not set and "
                        "CAP_SYS_ADMIN is missing");
    if (e == ESRCH)
      return cell_error(err, e, "loading seccomp filter: SECCOMP_FILTER_FLAG_TSYNC "
                        "could not synchronize all threads");
    return cell_error(err, e, "loading seccomp filter (%zu BPF instructions, flags %s)",
                      s->prog_len, fl);
  }
  if (s->uses_notify) {
    *notify_fd = (int)rc;
  } else if (rc > 0) {
    /* TSYNC without a listener: rc is the thread that could not sync. */
    return cell_error(err, 0, "loading seccomp filter: SECCOMP_FILTER_FLAG_TSYNC could "
                      "not synchronize thread %ld", rc);
  }
  return 0;
}

/* ---- listener --------------------------------------------------------- */

static int send_all(int sock, const char *buf, size_t len, int fd, const char *path,
                    struct cell_err *err) {
  size_t off = 0;
  int first = 1;
  while (off < len) {
    struct iovec iov = {.iov_base = (char *)buf + off, .iov_len = len - off};
    union {
      char buf[CMSG_SPACE(sizeof(int))];
      struct cmsghdr align;
    } u;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (first) { /* the fd travels with the first sendmsg only */
      memset(&u, 0, sizeof u);
      msg.msg_control = u.buf;
      msg.msg_controllen = sizeof u.buf;
      struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return cell_error(err, errno, FIELD ".listenerPath: sending the container process "
                        "state to %s", path);
    }
    first = 0;
    off += (size_t)n;
  }
  return 0;
}

int cell_seccomp_send_listener(const struct cell_seccomp *s, int notify_fd, pid_t pid,
                               const char *state_json, struct cell_err *err) {
  if (!s || !s->listener_path)
    return cell_error(err, EINVAL, FIELD ".listenerPath: not set, nowhere to send the "
                      "seccomp notify fd");
  if (notify_fd < 0)
    return cell_error(err, EBADF, FIELD ".listenerPath: no seccomp notify fd to send");
  if (!state_json)
    return cell_error(err, EINVAL, FIELD ".listenerPath: container state is missing");

  cJSON *state = cJSON_Parse(state_json);
  if (!state || !cJSON_IsObject(state)) {
    cJSON_Delete(state);
    return cell_error(err, EINVAL, FIELD ".listenerPath: container state is not a JSON "
                      "object");
  }
  cJSON *root = cJSON_CreateObject();
  cJSON *fds = cJSON_CreateArray();
  if (!root || !fds) {
    cJSON_Delete(root);
    cJSON_Delete(fds);
    cJSON_Delete(state);
    return cell_error(err, ENOMEM, FIELD ".listenerPath: building container process state");
  }
  cJSON_AddStringToObject(root, "ociVersion", OCI_VERSION);
  cJSON_AddItemToArray(fds, cJSON_CreateString("seccompFd"));
  cJSON_AddItemToObject(root, "fds", fds);
  cJSON_AddNumberToObject(root, "pid", (double)pid);
  if (s->listener_metadata)
    cJSON_AddStringToObject(root, "metadata", s->listener_metadata);
  cJSON_AddItemToObject(root, "state", state);
  cleanup_free char *text = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  if (!text)
    return cell_error(err, ENOMEM, FIELD ".listenerPath: serializing container process "
                      "state");

  cleanup_close int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return cell_error(err, errno, FIELD ".listenerPath: socket(AF_UNIX)");
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  size_t plen = strlen(s->listener_path);
  if (plen >= sizeof sa.sun_path)
    return cell_error(err, ENAMETOOLONG, FIELD ".listenerPath: %s", s->listener_path);
  memcpy(sa.sun_path, s->listener_path, plen + 1);
  if (connect(sock, (struct sockaddr *)&sa, sizeof sa) < 0)
    return cell_error(err, errno, FIELD ".listenerPath: connecting to %s",
                      s->listener_path);
  return send_all(sock, text, strlen(text), notify_fd, s->listener_path, err);
}
