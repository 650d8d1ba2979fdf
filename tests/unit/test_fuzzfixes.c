/* test_fuzzfixes.c - regressions for inputs the fuzzers (tests/fuzz) found
 * in the runtime's parsers; each crashing input is also a seed in
 * tests/fuzz/seeds/. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/hooks.h"
#include "runtime/spec.h"
#include "unit.h"

static char bundle[64], rootfs[96];

/* cell_spec_from_json on a minimal config with the given linux.timeOffsets. */
static int spec_with_offsets(const char *offsets, struct cell_spec *s, struct cell_err *err) {
  char text[512];
  snprintf(text, sizeof text,
           "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},\"linux\":{\"namespaces\":"
           "[{\"type\":\"mount\"},{\"type\":\"time\"}],\"timeOffsets\":%s}}",
           offsets);
  cJSON *j = cJSON_Parse(text);
  if (!j) return cell_error(err, 0, "test JSON");
  return cell_spec_from_json(j, bundle, s, err);
}

/* fuzz_spec: secs = 1e300 was converted to long long unchecked (undefined;
 * x86 gives INT64_MIN, accepted) and a fractional secs was truncated
 * silently though the error says it must be an integer. */
static void test_time_offsets(void) {
  struct cell_spec s;
  struct cell_err err = {0};
  int r = spec_with_offsets("{\"boottime\":{\"secs\":1e300}}", &s, &err);
  CHECK(r < 0 && strstr(err.msg, "linux.timeOffsets.boottime"), "timeOffsets: secs 1e300 refused");
  cell_spec_free(&s);
  r = spec_with_offsets("{\"monotonic\":{\"secs\":1.5}}", &s, &err);
  CHECK(r < 0 && strstr(err.msg, "linux.timeOffsets.monotonic"), "timeOffsets: secs 1.5 refused");
  cell_spec_free(&s);
  r = spec_with_offsets("{\"monotonic\":{\"secs\":-9.3e18}}", &s, &err);
  CHECK(r < 0, "timeOffsets: secs below the long long range refused");
  cell_spec_free(&s);
  r = spec_with_offsets("{\"boottime\":{\"nanosecs\":0.5}}", &s, &err);
  CHECK(r < 0, "timeOffsets: fractional nanosecs refused");
  cell_spec_free(&s);
  r = spec_with_offsets("{\"boottime\":{\"secs\":-86400,\"nanosecs\":999999999}}", &s, &err);
  if (r < 0) printf("# %s\n", err.msg);
  CHECK(r == 0 && s.has_time_offsets && s.time_boottime[0] == -86400 && s.time_boottime[1] == 999999999,
        "timeOffsets: valid offsets kept");
  cell_spec_free(&s);
}

static int hook_timeout(const char *t, struct cell_err *err) {
  char text[256];
  snprintf(text, sizeof text, "{\"prestart\":[{\"path\":\"/bin/true\",\"timeout\":%s}]}", t);
  cJSON *j = cJSON_Parse(text);
  int r = j ? cell_hooks_validate(j, err) : cell_error(err, 0, "test JSON");
  cJSON_Delete(j);
  return r;
}

/* fuzz_spec: timeout = 1e300 was converted to long long before the range
 * check (undefined). */
static void test_hook_timeout(void) {
  struct cell_err err = {0};
  CHECK(hook_timeout("1e300", &err) < 0 && strstr(err.msg, "hooks.prestart[0].timeout: 1e+300 is too large"),
        "hooks: timeout 1e300 is too large");
  CHECK(hook_timeout("-1e300", &err) < 0 && strstr(err.msg, "must be > 0"), "hooks: timeout -1e300 must be > 0");
  CHECK(hook_timeout("2.5", &err) < 0 && strstr(err.msg, "must be an integer"), "hooks: timeout 2.5 is no integer");
  CHECK(hook_timeout("30", &err) == 0, "hooks: timeout 30 accepted");
}

int main(void) {
  snprintf(bundle, sizeof bundle, "/tmp/cell-unit-fuzzfix.XXXXXX");
  if (!mkdtemp(bundle)) return 1;
  snprintf(rootfs, sizeof rootfs, "%s/rootfs", bundle);
  mkdir(rootfs, 0755);
  test_time_offsets();
  test_hook_timeout();
  rmdir(rootfs);
  rmdir(bundle);
  UNIT_DONE();
}
