/* test_update.c - `cell update`'s flags turned into linux.resources
 * (runtime/update.c): each flag's place, sizes and -1, bad values named by
 * their flag, the Intel RDT flags refused, and --resources FILE replacing
 * the flags. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "runtime/update.h"

/* The JSON text the flags make ("ERR: message" on failure). */
static char *convert(const char *const *kv, size_t n) {
  struct cell_update_flags f = {0};
  struct cell_err err = {0};
  static char buf[CELL_ERR_MAX + 16];
  for (size_t i = 0; i + 1 < n; i += 2)
    if (cell_update_flags_add(&f, kv[i], kv[i + 1], &err) < 0) {
      snprintf(buf, sizeof buf, "ERR: %s", err.msg);
      return strdup(buf);
    }
  cJSON *res = NULL;
  int r = cell_update_resources_from_flags(&f, &res, &err);
  if (r < 0) {
    CHECK(res == NULL, "no object on failure");
    snprintf(buf, sizeof buf, "ERR%s: %s", r == CELL_UPDATE_BAD_VALUE ? "(usage)" : "", err.msg);
    return strdup(buf);
  }
  char *t = cJSON_PrintUnformatted(res);
  cJSON_Delete(res);
  return t;
}

#define CONVERTS(name, want, ...)                                  \
  do {                                                             \
    const char *kv_[] = {__VA_ARGS__};                             \
    char *got_ = convert(kv_, sizeof kv_ / sizeof *kv_);           \
    CHECK_STR(got_, want, name);                                   \
    free(got_);                                                    \
  } while (0)

static void each_flag(void) {
  CONVERTS("--memory", "{\"memory\":{\"limit\":1048576}}", "memory", "1048576");
  CONVERTS("--memory-reservation", "{\"memory\":{\"reservation\":4096}}", "memory-reservation", "4096");
  CONVERTS("--memory-swap", "{\"memory\":{\"swap\":-1}}", "memory-swap", "-1");
  CONVERTS("--kernel-memory", "{\"memory\":{\"kernel\":8192}}", "kernel-memory", "8192");
  CONVERTS("--kernel-memory-tcp", "{\"memory\":{\"kernelTCP\":8192}}", "kernel-memory-tcp", "8192");
  CONVERTS("--cpu-shares", "{\"cpu\":{\"shares\":512}}", "cpu-shares", "512");
  CONVERTS("--cpu-quota", "{\"cpu\":{\"quota\":50000}}", "cpu-quota", "50000");
  CONVERTS("--cpu-period", "{\"cpu\":{\"period\":100000}}", "cpu-period", "100000");
  CONVERTS("--cpu-rt-period", "{\"cpu\":{\"realtimePeriod\":1000000}}", "cpu-rt-period", "1000000");
  CONVERTS("--cpu-rt-runtime", "{\"cpu\":{\"realtimeRuntime\":950000}}", "cpu-rt-runtime", "950000");
  CONVERTS("--cpuset-cpus is a string", "{\"cpu\":{\"cpus\":\"0-1\"}}", "cpuset-cpus", "0-1");
  CONVERTS("--cpuset-mems is a string", "{\"cpu\":{\"mems\":\"0\"}}", "cpuset-mems", "0");
  CONVERTS("--pids-limit", "{\"pids\":{\"limit\":100}}", "pids-limit", "100");
  CONVERTS("--blkio-weight", "{\"blockIO\":{\"weight\":300}}", "blkio-weight", "300");
  CONVERTS("no flags: an empty object", "{}", NULL);
  CONVERTS("flags of one group share its object, in order",
           "{\"memory\":{\"limit\":2097152,\"swap\":4194304},\"pids\":{\"limit\":-1}}", "memory", "2m", "pids-limit",
           "-1", "memory-swap", "4M");
}

static void sizes(void) {
  CONVERTS("k suffix", "{\"memory\":{\"limit\":65536}}", "memory", "64k");
  CONVERTS("kb suffix", "{\"memory\":{\"limit\":65536}}", "memory", "64kb");
  CONVERTS("g suffix", "{\"memory\":{\"limit\":2147483648}}", "memory", "2g");
  CONVERTS("GB suffix", "{\"memory\":{\"limit\":1073741824}}", "memory", "1GB");
  CONVERTS("b suffix", "{\"memory\":{\"limit\":512}}", "memory", "512b");
}

static void bad_values(void) {
  CONVERTS("bad --memory named", "ERR(usage): --memory: invalid value \"abc\"", "memory", "abc");
  CONVERTS("bad --pids-limit named by its flag", "ERR(usage): --pids-limit: invalid value \"ten\"", "pids-limit", "ten");
  CONVERTS("bad --cpu-quota named by its flag", "ERR(usage): --cpu-quota: invalid value \"1x\"", "cpu-quota", "1x");
  CONVERTS("bad suffix tail", "ERR(usage): --memory-swap: invalid value \"1mx\"", "memory-swap", "1mx");
  CONVERTS("empty value", "ERR(usage): --blkio-weight: invalid value \"\"", "blkio-weight", "");
  CONVERTS("out of range", "ERR(usage): --cpu-shares: invalid value \"99999999999999999999\"", "cpu-shares",
           "99999999999999999999");
  CONVERTS("the first bad flag is the one named", "ERR(usage): --cpu-period: invalid value \"p\"", "memory", "1m",
           "cpu-period", "p", "pids-limit", "q");
  CONVERTS("unknown flag", "ERR(usage): --bogus: unknown update flag", "bogus", "1");
  CONVERTS("Intel RDT L3 refused", "ERR: update: Intel RDT is not supported on this host", "l3-cache-schema", "L3:0=f");
  CONVERTS("Intel RDT MB refused", "ERR: update: Intel RDT is not supported on this host", "mem-bw-schema", "MB:0=50");
}

static void too_many(void) {
  struct cell_update_flags f = {0};
  struct cell_err err = {0};
  int r = 0;
  for (int i = 0; i <= CELL_UPDATE_MAX_FLAGS && r == 0; i++) r = cell_update_flags_add(&f, "memory", "1", &err);
  CHECK(r < 0 && f.n == CELL_UPDATE_MAX_FLAGS, "flags past the maximum are refused");
  CHECK(strstr(err.msg, "--memory: too many flags") != NULL, "the refusal names the flag");
}

static void resources_file(void) {
  char path[] = "/tmp/cell-test-update-XXXXXX";
  int fd = mkstemp(path);
  const char *doc = "{\"memory\": {\"limit\": 123456}}\n";
  CHECK(fd >= 0 && write(fd, doc, strlen(doc)) == (ssize_t)strlen(doc), "write a resources file");
  if (fd >= 0) close(fd);
  struct cell_update_flags f = {0};
  struct cell_err err = {0};
  cell_update_flags_add(&f, "pids-limit", "10", &err);
  f.resources = path;
  char *t = cell_update_resources_text(&f, &err);
  CHECK_STR(t, doc, "--resources FILE: its text, replacing the flags");
  free(t);
  unlink(path);
  t = cell_update_resources_text(&f, &err);
  CHECK(t == NULL && !strncmp(err.msg, "--resources: ", 13) && strstr(err.msg, path), "a missing file names --resources and the path");
  free(t);
  f.resources = NULL;
  t = cell_update_resources_text(&f, &err);
  CHECK_STR(t, "{\"pids\":{\"limit\":10}}", "without --resources: the flags' JSON");
  free(t);
  cell_update_flags_add(&f, "memory", "zz", &err);
  t = cell_update_resources_text(&f, &err);
  CHECK(t == NULL && strstr(err.msg, "--memory: invalid value \"zz\""), "a bad flag fails the text");
  free(t);
}

int main(void) {
  each_flag();
  sizes();
  bad_values();
  too_many();
  resources_file();
  UNIT_DONE();
}
