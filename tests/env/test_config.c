/* test_config.c - env/config: parse, check, rewrite keeping comments; limits to resources. */
#include <stdlib.h>
#include <string.h>

#include "env/config.h"
#include "env/env.h"
#include "unit.h"

int main(void) {
  struct cell_err err = {0};
  struct env_config *c = NULL;
  const char *text = "# my box\n[env]\n; the image\nrootfs = /srv/rfs\ninit = busybox\n\n[limits]\n"
                     "# half a CPU\ncpus = 0.5\nmemory = \"64M\"\n";
  CHECK(env_config_parse(text, "/x/config", &c, &err) == 0, "parse a valid config");
  CHECK_STR(env_config_get(c, "cpus"), "0.5", "get a value");
  CHECK_STR(env_config_get(c, "memory"), "64M", "quotes are removed");
  CHECK(env_config_get(c, "pids") == NULL, "unset key is NULL");
  CHECK(env_config_set(c, "memory", "128M", &err) == 0, "set an existing key");
  CHECK(env_config_set(c, "pids", "100", &err) == 0, "set a new key");
  CHECK(env_config_set(c, "hostname", "box1", &err) == 0, "set a new key of another section");
  char *out = env_config_text(c);
  CHECK_STR(out,
            "# my box\n[env]\n; the image\nrootfs = /srv/rfs\ninit = busybox\nhostname = box1\n\n[limits]\n"
            "# half a CPU\ncpus = 0.5\nmemory = 128M\npids = 100\n",
            "rewrite keeps comments and order, appends new keys to their section");
  free(out);
  CHECK(env_config_set(c, "memory", "lots", &err) < 0 && strstr(err.msg, "memory") && strstr(err.msg, "lots"),
        "bad value names the key and the value");
  CHECK(env_config_set(c, "colour", "red", &err) < 0 && strstr(err.msg, "colour"), "unknown key is named");
  CHECK(env_config_set(c, "pids", NULL, &err) == 0 && !env_config_get(c, "pids"), "remove a key");
  cJSON *res = NULL;
  CHECK(env_resources(c, &res, &err) == 0 && res, "resources from limits");
  char *rj = cJSON_PrintUnformatted(res);
  CHECK_STR(rj, "{\"memory\":{\"limit\":134217728,\"swap\":134217728},\"cpu\":{\"quota\":50000,\"period\":100000}}",
            "memory+swap and the CFS quota");
  free(rj);
  cJSON_Delete(res);
  env_config_free(c);

  CHECK(env_config_parse("[env]\ncpus = 1\n", "/x/config", &c, &err) < 0 && strstr(err.msg, "/x/config:2") &&
            strstr(err.msg, "[limits]"),
        "a key in the wrong section names file, line and section");
  CHECK(env_config_parse("[limits]\ncpus = zero\n", "/x/config", &c, &err) < 0 && strstr(err.msg, "/x/config:2") &&
            strstr(err.msg, "cpus"),
        "a bad value names file, line and key");
  CHECK(env_config_parse("[limits]\nfoo = 1\n", "/x/config", &c, &err) < 0 && strstr(err.msg, "\"foo\""),
        "an unknown key is named");
  CHECK(env_config_parse("[nope]\n", "/x/config", &c, &err) < 0 && strstr(err.msg, "[nope]"), "unknown section");
  CHECK(env_config_parse("[limits]\npids = 1\npids = 2\n", "/x/config", &c, &err) < 0 && strstr(err.msg, "twice"),
        "a key set twice");
  CHECK(env_config_parse("[limits]\njust words\n", "/x/config", &c, &err) < 0, "a line without =");

  unsigned long long v;
  CHECK(env_parse_size("1G", &v) == 0 && v == 1ULL << 30, "1G");
  CHECK(env_parse_size("512MiB", &v) == 0 && v == 512ULL << 20, "512MiB");
  CHECK(env_parse_size("12x", &v) < 0 && env_parse_size("", &v) < 0 && env_parse_size("-1", &v) < 0, "bad sizes");
  CHECK(env_parse_size("99999999999999999999", &v) < 0, "overflow");
  CHECK(env_parse_cpus("1.5", &v) == 0 && v == 1500, "1.5 CPUs");
  CHECK(env_parse_cpus("0.25", &v) == 0 && v == 250, "0.25 CPUs");
  CHECK(env_parse_cpus("0", &v) < 0 && env_parse_cpus("1.", &v) < 0 && env_parse_cpus("x", &v) < 0, "bad cpus");

  CHECK(env_name_valid("henv-1_a.b", &err) == 0, "a valid name");
  CHECK(env_name_valid("../x", &err) < 0, "../x refused");
  CHECK(env_name_valid("a/b", &err) < 0 && strstr(err.msg, "'/'"), "a slash is named");
  char longname[301];
  memset(longname, 'a', 300);
  longname[300] = 0;
  CHECK(env_name_valid(longname, &err) < 0 && strstr(err.msg, "300"), "300 characters refused");
  CHECK(env_name_valid("", &err) < 0 && env_name_valid(".x", &err) < 0 && env_name_valid("a..b", &err) < 0,
        "empty, dot-first and .. refused");
  UNIT_DONE();
}
