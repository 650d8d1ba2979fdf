/* caps.c - capability sets: parsing and application (see caps.h). */
#include "runtime/caps.h"
#include "lib/file.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *const cap_names[] = {
    "CAP_CHOWN",            "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",           "CAP_FSETID",         "CAP_KILL",
    "CAP_SETGID",           "CAP_SETUID",         "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",  "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",        "CAP_NET_RAW",        "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",        "CAP_SYS_MODULE",     "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",       "CAP_SYS_PTRACE",     "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",        "CAP_SYS_BOOT",       "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",     "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",            "CAP_LEASE",          "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",    "CAP_SETFCAP",        "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",        "CAP_SYSLOG",         "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",    "CAP_AUDIT_READ",     "CAP_PERFMON",
    "CAP_BPF",              "CAP_CHECKPOINT_RESTORE",
};
#define NCAPS ((int)(sizeof cap_names / sizeof cap_names[0]))

static const char *const set_names[CELL_CAPS_NSETS] = {
    "bounding", "effective", "inheritable", "permitted", "ambient"};

const char *cell_caps_set_name(enum cell_cap_set s) {
  return (unsigned)s < CELL_CAPS_NSETS ? set_names[s] : "?";
}

const char *cell_cap_name(int cap) {
  return cap >= 0 && cap < NCAPS ? cap_names[cap] : NULL;
}

int cell_cap_from_name(const char *name) {
  if (!name) return -1;
  for (int i = 0; i < NCAPS; i++)
    if (strcmp(name, cap_names[i]) == 0) return i;
  return -1;
}

int cell_cap_max_known(void) { return NCAPS - 1; }

int cell_cap_last_cap(void) {
  char buf[32];
  if (cell_read_small("/proc/sys/kernel/cap_last_cap", buf, sizeof buf) <= 0) return NCAPS - 1;
  char *end;
  long v = strtol(buf, &end, 10);
  if (end == buf || v < 0 || v > 63) return NCAPS - 1;
  return (int)v;
}

int cell_caps_parse_last(const cJSON *caps, int last_cap, struct cell_caps *out,
                         struct cell_err *err) {
  memset(out, 0, sizeof *out);
  if (!caps || cJSON_IsNull(caps)) return 0;
  if (!cJSON_IsObject(caps))
    return cell_error(err, 0, "process.capabilities: must be an object");
  for (int s = 0; s < CELL_CAPS_NSETS; s++) {
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(caps, set_names[s]);
    if (!arr || cJSON_IsNull(arr)) continue;
    if (!cJSON_IsArray(arr))
      return cell_error(err, 0, "process.capabilities.%s: must be an array of strings",
                        set_names[s]);
    out->present[s] = true;
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
      if (!cJSON_IsString(it))
        return cell_error(err, 0, "process.capabilities.%s[%d]: must be a string",
                          set_names[s], i);
      int cap = cell_cap_from_name(it->valuestring);
      if (cap < 0)
        return cell_error(err, 0, "process.capabilities.%s[%d]: unknown capability \"%s\"",
                          set_names[s], i, it->valuestring);
      if (cap > last_cap) {
        cell_warn("process.capabilities.%s[%d]: %s is not supported by this kernel (cap_last_cap %d), ignoring it",
                  set_names[s], i, it->valuestring, last_cap);
      } else {
        out->set[s] |= UINT64_C(1) << cap;
      }
      i++;
    }
  }
  return 0;
}

int cell_caps_parse(const cJSON *caps, struct cell_caps *out, struct cell_err *err) {
  return cell_caps_parse_last(caps, cell_cap_last_cap(), out, err);
}

int cell_caps_from_names(const char *const *names, size_t n, struct cell_caps *c,
                         struct cell_err *err) {
  int last = cell_cap_last_cap();
  for (size_t i = 0; i < n; i++) {
    int cap = cell_cap_from_name(names[i]);
    if (cap < 0)
      return cell_error(err, 0, "--cap[%zu]: unknown capability \"%s\"", i,
                        names[i] ? names[i] : "");
    if (cap > last) {
      cell_warn("--cap %s is not supported by this kernel, ignoring it", names[i]);
      continue;
    }
    uint64_t bit = UINT64_C(1) << cap;
    c->set[CELL_CAPS_BOUNDING] |= bit;
    c->set[CELL_CAPS_EFFECTIVE] |= bit;
    c->set[CELL_CAPS_PERMITTED] |= bit;
    c->present[CELL_CAPS_BOUNDING] = c->present[CELL_CAPS_EFFECTIVE] =
        c->present[CELL_CAPS_PERMITTED] = true;
    if (c->present[CELL_CAPS_INHERITABLE]) {
      c->set[CELL_CAPS_AMBIENT] |= bit;
      c->present[CELL_CAPS_AMBIENT] = true;
    }
  }
  return 0;
}

/* Raw capget/capset with the v3 (64-bit) ABI. */
static int caps_get(uint64_t *eff, uint64_t *prm, uint64_t *inh) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  memset(d, 0, sizeof d);
  if (syscall(SYS_capget, &h, d) < 0) return -1;
  *eff = d[0].effective | (uint64_t)d[1].effective << 32;
  *prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
  *inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
  return 0;
}

static int caps_set(uint64_t eff, uint64_t prm, uint64_t inh) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  d[0].effective = (uint32_t)eff;
  d[1].effective = (uint32_t)(eff >> 32);
  d[0].permitted = (uint32_t)prm;
  d[1].permitted = (uint32_t)(prm >> 32);
  d[0].inheritable = (uint32_t)inh;
  d[1].inheritable = (uint32_t)(inh >> 32);
  return (int)syscall(SYS_capset, &h, d);
}

static const char *first_cap_name(uint64_t mask) {
  for (int i = 0; i < 64; i++)
    if (mask & (UINT64_C(1) << i)) return cell_cap_name(i) ? cell_cap_name(i) : "?";
  return "none";
}

int cell_caps_apply_bounding(const struct cell_caps *c, struct cell_err *err) {
  int last = cell_cap_last_cap();
  for (int cap = 0; cap <= last; cap++) {
    if (c->set[CELL_CAPS_BOUNDING] & (UINT64_C(1) << cap)) continue;
    int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (r == 0) continue; /* already dropped */
    if (r < 0 && errno == EINVAL) continue; /* unknown to the kernel */
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      const char *name = cell_cap_name(cap);
      return cell_error(err, errno, "dropping %s (%d) from the bounding set",
                        name ? name : "capability", cap);
    }
  }
  return 0;
}

int cell_caps_apply(const struct cell_caps *c, struct cell_err *err) {
  uint64_t eff, prm, inh;
  if (caps_get(&eff, &prm, &inh) < 0)
    return cell_error(err, errno, "capget");
  /* After a switch away from uid 0 with KEEPCAPS the effective set is
   * empty; raise it from the kept permitted set so that CAP_SETPCAP is
   * usable for the bounding drops below. */
  if (eff != prm && caps_set(prm, prm, inh) < 0)
    return cell_error(err, errno, "capset: raising effective from permitted");
  if (cell_caps_apply_bounding(c, err) < 0) return -1;
  uint64_t want_e = c->set[CELL_CAPS_EFFECTIVE];
  uint64_t want_p = c->set[CELL_CAPS_PERMITTED];
  uint64_t want_i = c->set[CELL_CAPS_INHERITABLE];
  if (caps_set(want_e, want_p, want_i) < 0) {
    int e = errno;
    if (want_e & ~want_p)
      return cell_error(err, e,
                        "capset: process.capabilities.effective has %s which is not in "
                        "process.capabilities.permitted",
                        first_cap_name(want_e & ~want_p));
    if (want_p & ~prm)
      return cell_error(err, e,
                        "capset: process.capabilities.permitted has %s which this "
                        "process does not hold",
                        first_cap_name(want_p & ~prm));
    return cell_error(err, e, "capset (effective %#llx, permitted %#llx, inheritable %#llx)",
                      (unsigned long long)want_e, (unsigned long long)want_p,
                      (unsigned long long)want_i);
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return cell_error(err, errno, "clearing the ambient capability set");
  uint64_t amb = c->set[CELL_CAPS_AMBIENT];
  for (int cap = 0; cap < 64; cap++) {
    if (!(amb & (UINT64_C(1) << cap))) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) {
      int e = errno;
      const char *name = cell_cap_name(cap);
      /* As runc: an ambient capability the kernel refuses (not in the
       * permitted and inheritable sets) is a warning, not an error, since
       * `runc spec` itself writes ambient without inheritable. */
      if (e == EPERM) {
        cell_debug("cannot raise ambient capability %s: it must also be in the permitted and inheritable sets",
                  name ? name : "?");
        continue;
      }
      return cell_error(err, e, "raising ambient capability %s", name ? name : "?");
    }
  }
  return 0;
}
