/* seccomp_cache.c - compiled seccomp filters kept in the state root.
 *
 * Compiling a real profile with libseccomp (podman's or Docker's default,
 * some 300 syscalls on three architectures) costs 20-30 ms, more than the
 * rest of a create, and exec compiles the same filter again.  The BPF
 * program of a profile that compiled once is kept in ROOT/.seccomp/, one
 * file per profile:
 *
 *   "CELLSBPF" | u32 key length | key | u32 flags | u32 uses_notify |
 *   u32 instructions | instructions
 *
 * The key is the whole input of the compile: this build of cell, the
 * libseccomp version and API level, and the `linux.seccomp` object as
 * compact JSON.  The file name is only a hash of the key; an entry is used
 * only when its stored key equals ours byte for byte, so a hash collision
 * costs a compile, never a wrong filter.  An entry must be a regular file of
 * our own uid that nobody else may write, in a directory of ours likewise;
 * anything else is ignored (and a compile done).  Only filters that compiled
 * are stored, so a profile with an error is validated, and reported, every
 * time.  Storing is best effort: a full or read-only root only costs speed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/version.h" /* fallbacks where the build does not force-include build/version.h */
#include "runtime/cell_seccomp.h"
#include "runtime/seccomp_cache.h"

#define MAGIC "CELLSBPF"
#define CACHE_DIR ".seccomp"
#define MAX_ENTRIES 256
#define MAX_FILE (1u << 20)

#ifndef BPF_MAXINSNS
#define BPF_MAXINSNS 4096
#endif

static char *cache_key(const cJSON *seccomp) {
  cleanup_free char *json = cJSON_PrintUnformatted(seccomp);
  if (!json) return NULL;
  const struct scmp_version *v = seccomp_version();
  char *key = NULL;
  if (asprintf(&key, "cell %s %s\nlibseccomp %u.%u.%u api %u\n%s", CELL_VERSION, CELL_COMMIT, v ? v->major : 0,
               v ? v->minor : 0, v ? v->micro : 0, (unsigned)seccomp_api_get(), json) < 0)
    return NULL;
  return key;
}

static void entry_name(const char *key, char *name, size_t n) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a: a file name, not a check */
  for (const unsigned char *p = (const unsigned char *)key; *p; p++) h = (h ^ *p) * 1099511628211ULL;
  snprintf(name, n, "%016llx.bpf", (unsigned long long)h);
}

static bool ours(int fd, bool dir) {
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022)) return false;
  return dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size <= MAX_FILE;
}

static int open_dir(const char *root, bool create) {
  if (!root) return -1;
  cleanup_close int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0) return -1;
  if (create && mkdirat(rfd, CACHE_DIR, 0700) < 0 && errno != EEXIST) return -1;
  int fd = openat(rfd, CACHE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0 && !ours(fd, true)) {
    close(fd);
    return -1;
  }
  return fd;
}

static bool get_u32(const unsigned char **p, const unsigned char *end, uint32_t *v) {
  if ((size_t)(end - *p) < sizeof *v) return false;
  memcpy(v, *p, sizeof *v);
  *p += sizeof *v;
  return true;
}

/* The entry for key, or NULL (absent, foreign, damaged or another key). */
static struct cell_seccomp *load(int dfd, const char *name, const char *key, const cJSON *seccomp) {
  cleanup_close int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || !ours(fd, false)) return NULL;
  struct stat st;
  if (fstat(fd, &st) < 0) return NULL;
  size_t size = (size_t)st.st_size;
  cleanup_free unsigned char *buf = malloc(size);
  if (!buf || pread(fd, buf, size, 0) != (ssize_t)size) return NULL;
  const unsigned char *p = buf, *end = buf + size;
  size_t klen = strlen(key);
  uint32_t stored_klen, flags, notify, len;
  if (size < sizeof MAGIC - 1 || memcmp(p, MAGIC, sizeof MAGIC - 1)) return NULL;
  p += sizeof MAGIC - 1;
  if (!get_u32(&p, end, &stored_klen) || stored_klen != klen || (size_t)(end - p) < klen || memcmp(p, key, klen))
    return NULL;
  p += klen;
  if (!get_u32(&p, end, &flags) || !get_u32(&p, end, &notify) || !get_u32(&p, end, &len)) return NULL;
  if (len == 0 || len > BPF_MAXINSNS || (size_t)(end - p) != len * sizeof(struct sock_filter)) return NULL;
  struct cell_err e = {0};
  struct sock_filter *prog = malloc(len * sizeof *prog);
  if (!prog) return NULL;
  memcpy(prog, p, len * sizeof *prog);
  struct cell_seccomp *s = cell_seccomp_from_bpf(seccomp, prog, len, flags, (int)notify, &e);
  free(prog);
  return s;
}

static bool put(int fd, const void *data, size_t n) {
  const char *p = data;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

static size_t count_entries(int dfd) {
  int fd = dup(dfd);
  if (fd < 0) return MAX_ENTRIES;
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return MAX_ENTRIES;
  }
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d))) n += de->d_name[0] != '.';
  closedir(d);
  return n;
}

/* Written under a private name, then renamed in: a reader sees a whole
 * entry or none. */
static void store(int dfd, const char *name, const char *key, const struct cell_seccomp *s) {
  if (count_entries(dfd) >= MAX_ENTRIES) return;
  unsigned int flags;
  const struct sock_filter *prog = cell_seccomp_bpf(s, &flags);
  uint32_t len = (uint32_t)cell_seccomp_bpf_len(s), klen = (uint32_t)strlen(key), fl = flags,
           notify = (uint32_t)cell_seccomp_uses_notify(s);
  char tmp[64];
  snprintf(tmp, sizeof tmp, ".%s.%d", name, (int)getpid());
  int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return;
  bool ok = put(fd, MAGIC, sizeof MAGIC - 1) && put(fd, &klen, sizeof klen) && put(fd, key, klen) &&
            put(fd, &fl, sizeof fl) && put(fd, &notify, sizeof notify) && put(fd, &len, sizeof len) &&
            put(fd, prog, len * sizeof *prog);
  close(fd);
  if (!ok || renameat(dfd, tmp, dfd, name) < 0) unlinkat(dfd, tmp, 0);
}

int cell_seccomp_build_cached(const cJSON *seccomp, const char *root, struct cell_seccomp **out,
                              struct cell_err *err) {
  *out = NULL;
  if (!seccomp || cJSON_IsNull(seccomp) || !cJSON_IsObject(seccomp) || !root)
    return cell_seccomp_build(seccomp, out, err);
  cleanup_free char *key = cache_key(seccomp);
  if (!key) return cell_seccomp_build(seccomp, out, err);
  char name[64];
  entry_name(key, name, sizeof name);
  cleanup_close int dfd = open_dir(root, false);
  if (dfd >= 0 && (*out = load(dfd, name, key, seccomp))) {
    cell_debug("seccomp: compiled filter %s/%s/%s reused", root, CACHE_DIR, name);
    return 0;
  }
  if (cell_seccomp_build(seccomp, out, err) < 0) return -1;
  if (*out && cell_seccomp_bpf_len(*out) > 0) {
    if (dfd < 0) dfd = open_dir(root, true);
    if (dfd >= 0) store(dfd, name, key, *out);
  }
  return 0;
}
