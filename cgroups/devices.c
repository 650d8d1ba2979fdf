/* devices.c - linux.resources.devices: parsing, v1 rule lines, and the
 * cgroup v2 BPF_PROG_TYPE_CGROUP_DEVICE program.
 *
 * Semantics (as in the v1 devices controller): rules apply in order, the
 * last matching rule wins, nothing matches -> deny.  The program therefore
 * checks the rules last-to-first and returns the first match's verdict;
 * after all rules it returns 0 (deny).  Rules before an unconditional one
 * (e.g. a trailing "allow all") can never match and are not emitted.  An allow rule matches when every
 * requested access bit is in its access set; a deny rule matches when any
 * requested bit is in its set.
 */
#include "cgroups/cgroup_internal.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int cell_dev_rules_parse(const cJSON *devices, struct cell_dev_rule **out, size_t *n,
                         struct cell_err *err) {
  const char *F = "linux.resources.devices";
  *out = NULL;
  *n = 0;
  if (!devices || cJSON_IsNull(devices)) return 0;
  if (!cJSON_IsArray(devices)) return cell_error(err, 0, "%s: must be an array", F);
  size_t cnt = (size_t)cJSON_GetArraySize(devices), i = 0;
  struct cell_dev_rule *r = calloc(cnt ? cnt : 1, sizeof *r);
  if (!r) return cell_error(err, ENOMEM, "%s", F);
  const cJSON *d;
  cJSON_ArrayForEach(d, devices) {
    struct cell_dev_rule *x = &r[i];
    if (!cJSON_IsObject(d)) {
      free(r);
      return cell_error(err, 0, "%s[%zu]: must be an object", F, i);
    }
    const cJSON *allow = cJSON_GetObjectItemCaseSensitive(d, "allow");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(d, "type");
    const cJSON *maj = cJSON_GetObjectItemCaseSensitive(d, "major");
    const cJSON *min = cJSON_GetObjectItemCaseSensitive(d, "minor");
    const cJSON *acc = cJSON_GetObjectItemCaseSensitive(d, "access");
    const char *bad = NULL;
    if (!cJSON_IsBool(allow)) bad = "allow: required boolean";
    else if (type && !(cJSON_IsString(type) && strlen(type->valuestring) == 1 && strchr("abc", type->valuestring[0])))
      bad = "type: must be \"a\", \"b\" or \"c\"";
    else if (maj && !cJSON_IsNull(maj) && (!cJSON_IsNumber(maj) || maj->valuedouble < -1 || maj->valuedouble > 0xfffff))
      bad = "major: must be an integer (-1 = any)";
    else if (min && !cJSON_IsNull(min) && (!cJSON_IsNumber(min) || min->valuedouble < -1 || min->valuedouble > 0xfffff))
      bad = "minor: must be an integer (-1 = any)";
    else if (acc && !cJSON_IsString(acc))
      bad = "access: must be a string of r, w, m";
    if (bad) {
      free(r);
      return cell_error(err, 0, "%s[%zu].%s", F, i, bad);
    }
    x->allow = cJSON_IsTrue(allow);
    x->type = type ? type->valuestring[0] : 'a';
    x->major = (maj && cJSON_IsNumber(maj)) ? (long long)maj->valuedouble : -1;
    x->minor = (min && cJSON_IsNumber(min)) ? (long long)min->valuedouble : -1;
    const char *a = acc ? acc->valuestring : "rwm";
    if (!*a) a = "rwm";
    x->access = 0;
    for (const char *c = a; *c; c++) {
      unsigned bit = *c == 'r' ? BPF_DEVCG_ACC_READ : *c == 'w' ? BPF_DEVCG_ACC_WRITE : *c == 'm' ? BPF_DEVCG_ACC_MKNOD : 0;
      if (!bit) {
        free(r);
        return cell_error(err, 0, "%s[%zu].access: \"%s\": unknown access '%c' (use r, w, m)", F, i, a, *c);
      }
      x->access |= bit;
    }
    i++;
  }
  *out = r;
  *n = cnt;
  return 0;
}

void cell_dev_rule_v1(const struct cell_dev_rule *r, char *buf, size_t len) {
  char maj[24], min[24], acc[4];
  size_t k = 0;
  if (r->major < 0) snprintf(maj, sizeof maj, "*");
  else snprintf(maj, sizeof maj, "%lld", r->major);
  if (r->minor < 0) snprintf(min, sizeof min, "*");
  else snprintf(min, sizeof min, "%lld", r->minor);
  if (r->access & BPF_DEVCG_ACC_READ) acc[k++] = 'r';
  if (r->access & BPF_DEVCG_ACC_WRITE) acc[k++] = 'w';
  if (r->access & BPF_DEVCG_ACC_MKNOD) acc[k++] = 'm';
  acc[k] = 0;
  if (r->type == 'a') snprintf(buf, len, "a");
  else snprintf(buf, len, "%c %s:%s %s", r->type, maj, min, acc);
}

/* ---- instruction helpers (like the kernel's filter.h macros) ---- */
#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define LDX_W(d, s, o) INSN(BPF_LDX | BPF_MEM | BPF_W, d, s, o, 0)
#define MOV64_REG(d, s) INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV64_IMM(d, i) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ALU32_IMM(op, d, i) INSN(BPF_ALU | (op) | BPF_K, d, 0, 0, i)
#define JMP_IMM(op, d, i, o) INSN(BPF_JMP | (op) | BPF_K, d, 0, o, i)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

int cell_dev_bpf_generate(const struct cell_dev_rule *rules, size_t n, void **insns, size_t *ninsns,
                          struct cell_err *err) {
  size_t cap = 6 + n * 9 + 2;
  struct bpf_insn *p = calloc(cap, sizeof *p);
  if (!p) return cell_error(err, ENOMEM, "generating device program");
  size_t k = 0;
  /* r2 = type, r3 = access, r4 = major, r5 = minor */
  p[k++] = LDX_W(BPF_REG_2, BPF_REG_1, 0);
  p[k++] = ALU32_IMM(BPF_AND, BPF_REG_2, 0xffff);
  p[k++] = LDX_W(BPF_REG_3, BPF_REG_1, 0);
  p[k++] = ALU32_IMM(BPF_RSH, BPF_REG_3, 16);
  p[k++] = LDX_W(BPF_REG_4, BPF_REG_1, 4);
  p[k++] = LDX_W(BPF_REG_5, BPF_REG_1, 8);
  bool terminal = false; /* an unconditional rule ends the program */
  for (size_t ri = n; ri-- > 0 && !terminal;) {
    const struct cell_dev_rule *r = &rules[ri];
    size_t start = k;
    size_t jumps[8], nj = 0;
    if (r->type != 'a') {
      jumps[nj++] = k;
      p[k++] = JMP_IMM(BPF_JNE, BPF_REG_2, r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, 0);
    }
    unsigned all = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;
    if ((r->access & all) != all) {
      p[k++] = MOV64_REG(BPF_REG_1, BPF_REG_3);
      if (r->allow) {
        /* requested & ~allowed must be 0 */
        p[k++] = ALU32_IMM(BPF_AND, BPF_REG_1, (int32_t)(~r->access & all));
        jumps[nj++] = k;
        p[k++] = JMP_IMM(BPF_JNE, BPF_REG_1, 0, 0);
      } else {
        /* requested & denied must be non-zero */
        p[k++] = ALU32_IMM(BPF_AND, BPF_REG_1, (int32_t)r->access);
        jumps[nj++] = k;
        p[k++] = JMP_IMM(BPF_JEQ, BPF_REG_1, 0, 0);
      }
    }
    if (r->major >= 0) {
      jumps[nj++] = k;
      p[k++] = JMP_IMM(BPF_JNE, BPF_REG_4, (int32_t)r->major, 0);
    }
    if (r->minor >= 0) {
      jumps[nj++] = k;
      p[k++] = JMP_IMM(BPF_JNE, BPF_REG_5, (int32_t)r->minor, 0);
    }
    p[k++] = MOV64_IMM(BPF_REG_0, r->allow ? 1 : 0);
    p[k++] = EXIT();
    for (size_t j = 0; j < nj; j++) p[jumps[j]].off = (int16_t)(k - jumps[j] - 1);
    (void)start;
    terminal = nj == 0;
  }
  if (!terminal) {
    p[k++] = MOV64_IMM(BPF_REG_0, 0);
    p[k++] = EXIT();
  }
  *insns = p;
  *ninsns = k;
  return 0;
}

static long sys_bpf(int cmd, union bpf_attr *a) { return syscall(SYS_bpf, cmd, a, sizeof *a); }

int cell_dev_bpf_load(const void *insns, size_t ninsns, struct cell_err *err) {
  static char log[8192];
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  a.insns = (uint64_t)(uintptr_t)insns;
  a.insn_cnt = (uint32_t)ninsns;
  a.license = (uint64_t)(uintptr_t) "Apache";
  log[0] = 0;
  int fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
  if (fd < 0) {
    int e = errno;
    /* retry with a verifier log for the message */
    a.log_buf = (uint64_t)(uintptr_t)log;
    a.log_size = sizeof log;
    a.log_level = 1;
    int again = (int)sys_bpf(BPF_PROG_LOAD, &a);
    if (again >= 0) close(again);
    log[sizeof log - 1] = 0;
    return cell_error(err, e, "loading the device cgroup BPF program (%zu insns)%s%.300s", ninsns,
                      log[0] ? ", verifier: " : "", log);
  }
  return fd;
}

int cell_dev_bpf_apply(int cgroup_fd, const struct cell_dev_rule *rules, size_t n, struct cell_err *err) {
  void *insns = NULL;
  size_t ni = 0;
  if (cell_dev_bpf_generate(rules, n, &insns, &ni, err) < 0) return -1;
  int fd = cell_dev_bpf_load(insns, ni, err);
  free(insns);
  if (fd < 0) return -1;
  /* programs attached before (by an earlier start/update): replaced below */
  uint32_t ids[64], cnt = 64;
  union bpf_attr q;
  memset(&q, 0, sizeof q);
  q.query.target_fd = (uint32_t)cgroup_fd;
  q.query.attach_type = BPF_CGROUP_DEVICE;
  q.query.prog_ids = (uint64_t)(uintptr_t)ids;
  q.query.prog_cnt = cnt;
  if (sys_bpf(BPF_PROG_QUERY, &q) < 0) cnt = 0;
  else cnt = q.query.prog_cnt > 64 ? 64 : q.query.prog_cnt;

  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.target_fd = (uint32_t)cgroup_fd;
  a.attach_bpf_fd = (uint32_t)fd;
  a.attach_type = BPF_CGROUP_DEVICE;
  a.attach_flags = BPF_F_ALLOW_MULTI;
  if (sys_bpf(BPF_PROG_ATTACH, &a) < 0) {
    int e = errno;
    close(fd);
    return cell_error(err, e, "attaching the device cgroup BPF program");
  }
  close(fd);
  for (uint32_t i = 0; i < cnt; i++) {
    union bpf_attr g;
    memset(&g, 0, sizeof g);
    g.prog_id = ids[i];
    int old = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &g);
    if (old < 0) continue;
    union bpf_attr d;
    memset(&d, 0, sizeof d);
    d.target_fd = (uint32_t)cgroup_fd;
    d.attach_bpf_fd = (uint32_t)old;
    d.attach_type = BPF_CGROUP_DEVICE;
    if (sys_bpf(BPF_PROG_DETACH, &d) < 0) {
      int e = errno;
      close(old);
      return cell_error(err, e, "detaching the previous device cgroup BPF program (id %u)", ids[i]);
    }
    close(old);
  }
  return 0;
}
