/* test_pull_platform.c - picking this machine's manifest from an index. */
#include <cjson/cJSON.h>
#include <string.h>
#include <sys/utsname.h>

#include "images/pull.h"
#include "unit.h"

static const char *index_json =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:a0\",\"size\":1,"
    "\"platform\":{\"architecture\":\"unknown\",\"os\":\"unknown\"}},"                                   /* 0 */
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:a1\",\"size\":1,"
    "\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v5\"}},"                       /* 1 */
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:a2\",\"size\":1,"
    "\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v6\"}},"                       /* 2 */
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:a3\",\"size\":1,"
    "\"platform\":{\"architecture\":\"amd64\",\"os\":\"windows\"}},"                                      /* 3 */
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:a4\",\"size\":1,"
    "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"                                        /* 4 */
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:a5\",\"size\":1,"
    "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}},"                     /* 5 */
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:a6\",\"size\":1,"
    "\"platform\":{\"architecture\":\"s390x\",\"os\":\"linux\"}}"                                         /* 6 */
    "]}";

static int pick(cJSON *idx, const char *os, const char *arch, const char *variant, struct cell_err *err) {
  struct img_platform p;
  memset(&p, 0, sizeof p);
  strcpy(p.os, os);
  strcpy(p.arch, arch);
  strcpy(p.variant, variant);
  return img_index_select(idx, &p, err);
}

int main(void) {
  struct cell_err err = {0};
  cJSON *idx = cJSON_Parse(index_json);
  CHECK(idx != NULL, "the test index parses");
  CHECK(pick(idx, "linux", "amd64", "", &err) == 4, "linux/amd64 (windows/amd64 and unknown/unknown skipped)");
  CHECK(pick(idx, "linux", "arm64", "v8", &err) == 5, "linux/arm64/v8");
  CHECK(pick(idx, "linux", "arm64", "", &err) == 5, "linux/arm64 without a variant fits v8");
  CHECK(pick(idx, "linux", "arm", "v6", &err) == 2, "linux/arm/v6 exact");
  CHECK(pick(idx, "linux", "arm", "v7", &err) == 2, "linux/arm/v7 takes the newest older variant, v6");
  CHECK(pick(idx, "linux", "arm", "v5", &err) == 1, "linux/arm/v5 exact");
  CHECK(pick(idx, "linux", "riscv64", "", &err) == -1 && strstr(err.msg, "linux/riscv64") &&
            strstr(err.msg, "linux/arm/v6") && strstr(err.msg, "linux/amd64"),
        "no manifest for linux/riscv64: the error names it and what the index has");
  CHECK(pick(idx, "windows", "amd64", "", &err) == 3, "windows/amd64");
  cJSON_Delete(idx);
  idx = cJSON_Parse("{\"manifests\":{}}");
  CHECK(pick(idx, "linux", "amd64", "", &err) == -1 && strstr(err.msg, "manifests"), "manifests not an array");
  cJSON_Delete(idx);
  idx = cJSON_Parse("{\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"x\","
                    "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\",\"variant\":\"v3\"}},"
                    "{\"digest\":\"y\",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\",\"variant\":\"v2\"}}]}");
  CHECK(pick(idx, "linux", "amd64", "v2", &err) == 1, "an exact variant beats another one");
  cJSON_Delete(idx);

  struct img_platform host;
  struct utsname u;
  uname(&u);
  CHECK(img_platform_host(&host, &err) == 0 && !strcmp(host.os, "linux"), "the host platform is linux/...");
  if (!strcmp(u.machine, "x86_64")) CHECK_STR(host.arch, "amd64", "x86_64 is amd64");
  else if (!strcmp(u.machine, "aarch64")) CHECK_STR(host.arch, "arm64", "aarch64 is arm64");
  else CHECK(host.arch[0] != '\0', "the host has an architecture");
  UNIT_DONE();
}
