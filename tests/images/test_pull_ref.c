/* test_pull_ref.c - image references (docker's normalization), the registry
 * endpoints and mirrors from registries.conf, and bootstrap's DIST[:SUITE]. */
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "images/pull.h"
#include "unit.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void ok_ref(const char *s, const char *reg, const char *repo, const char *tag, const char *dig,
                   const char *familiar) {
  struct img_ref r;
  struct cell_err err = {0};
  char name[200], buf[700];
  snprintf(name, sizeof name, "parse %s", s);
  int rc = img_ref_parse(s, &r, &err);
  CHECK(rc == 0, name);
  if (rc) {
    printf("#   %s\n", err.msg);
    return;
  }
  snprintf(buf, sizeof buf, "%s|%s|%s|%s", r.registry, r.repository, r.tag, r.digest);
  char want[700];
  snprintf(want, sizeof want, "%s|%s|%s|%s", reg, repo, tag, dig);
  snprintf(name, sizeof name, "%s -> registry|repository|tag|digest", s);
  CHECK_STR(buf, want, name);
  img_ref_familiar(&r, buf, sizeof buf);
  snprintf(name, sizeof name, "%s familiar name", s);
  CHECK_STR(buf, familiar, name);
  char canon[700];
  snprintf(want, sizeof want, "%s/%s%s%s%s%s", reg, repo, *tag ? ":" : "", tag, *dig ? "@" : "", dig);
  img_ref_canonical(&r, canon, sizeof canon);
  snprintf(name, sizeof name, "%s canonical name", s);
  CHECK_STR(canon, want, name);
}

static void bad_ref(const char *s, const char *needle) {
  struct img_ref r;
  struct cell_err err = {0};
  char name[300];
  snprintf(name, sizeof name, "refuse '%s' (%s)", s, needle);
  int rc = img_ref_parse(s, &r, &err);
  CHECK(rc == -1 && strstr(err.msg, needle), name);
  if (rc != -1 || !strstr(err.msg, needle)) printf("#   got: %s\n", err.msg);
}

static void conf_tests(void) {
  char path[] = "/tmp/test_pull_conf.XXXXXX";
  int fd = mkstemp(path);
  const char *text = "{\"registries\": {\"docker.io\": {\"mirrors\": [\"mirror.example:5000\", "
                     "\"http://127.0.0.1:5999/\"]}, \"reg.example\": {\"insecure\": true, \"username\": \"u\", "
                     "\"password\": \"p\", \"ca\": \"/etc/ca.pem\"}, \"badca.example\": {\"ca\": 1}, \"bad.example\": {\"mirrors\": [\"http://far.example\"]}}}";
  CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write a registries.conf");
  close(fd);
  struct img_ref r;
  struct img_registry_conf rc;
  struct cell_err err = {0};
  img_ref_parse("busybox", &r, &err);
  CHECK(img_registry_conf_load(path, &r, false, &rc, &err) == 0 && rc.n == 3, "docker.io: two mirrors + the hub");
  CHECK_STR(rc.ep[0].base, "https://mirror.example:5000", "a bare mirror is HTTPS");
  CHECK_STR(rc.ep[1].base, "http://127.0.0.1:5999", "a URL mirror keeps its scheme, no trailing slash");
  CHECK_STR(rc.ep[2].base, "https://registry-1.docker.io", "the registry itself comes last");
  CHECK(rc.ep[0].mirror && rc.ep[1].mirror && !rc.ep[2].mirror, "mirror flags");
  img_ref_parse("reg.example/a/b:1", &r, &err);
  CHECK(img_registry_conf_load(path, &r, false, &rc, &err) == 0 && rc.n == 1, "reg.example: no mirrors");
  CHECK_STR(rc.ep[0].base, "http://reg.example", "\"insecure\": true means HTTP");
  CHECK_STR(rc.username, "u", "username from the config");
  CHECK_STR(rc.password, "p", "password from the config");
  CHECK_STR(rc.ca_file, "/etc/ca.pem", "CA bundle from the config");
  img_ref_parse("badca.example/x", &r, &err);
  CHECK(img_registry_conf_load(path, &r, false, &rc, &err) == -1 && strstr(err.msg, "registries.badca.example.ca"),
        "a \"ca\" that is not a string is refused, naming the key");
  img_ref_parse("bad.example/x", &r, &err);
  CHECK(img_registry_conf_load(path, &r, false, &rc, &err) == -1 && strstr(err.msg, "plain HTTP") &&
            strstr(err.msg, "registries.bad.example"),
        "an HTTP mirror of a secure registry is refused, naming the key");
  img_ref_parse("127.0.0.1:5000/x", &r, &err);
  CHECK(img_registry_conf_load(path, &r, false, &rc, &err) == 0 && !strcmp(rc.ep[0].base, "http://127.0.0.1:5000"),
        "a 127.0.0.1 registry is HTTP");
  img_ref_parse("quay.io/x", &r, &err);
  CHECK(img_registry_conf_load(path, &r, true, &rc, &err) == 0 && !strcmp(rc.ep[0].base, "http://quay.io"),
        "--insecure means HTTP");
  CHECK(img_registry_conf_load("/nonexistent/registries.conf", &r, false, &rc, &err) == 0 &&
            !strcmp(rc.ep[0].base, "https://quay.io"),
        "a missing config is no mirrors");
  fd = open(path, O_WRONLY | O_TRUNC);
  CHECK(fd >= 0 && write(fd, "{\"registries\": [", 16) == 16, "write a broken config");
  close(fd);
  CHECK(img_registry_conf_load(path, &r, false, &rc, &err) == -1 && strstr(err.msg, path) &&
            strstr(err.msg, "not valid JSON"),
        "a broken config is an error naming the file");
  unlink(path);
}

static void bootstrap_tests(void) {
  char d[16], s[40];
  struct cell_err err = {0};
  CHECK(img_bootstrap_parse("debian", d, sizeof d, s, sizeof s, &err) == 0 && !strcmp(d, "debian") &&
            !strcmp(s, "bookworm"),
        "bootstrap debian -> bookworm");
  CHECK(img_bootstrap_parse("ubuntu:jammy", d, sizeof d, s, sizeof s, &err) == 0 && !strcmp(s, "jammy"),
        "bootstrap ubuntu:jammy");
  CHECK(img_bootstrap_parse("ubuntu", d, sizeof d, s, sizeof s, &err) == 0 && !strcmp(s, "noble"),
        "bootstrap ubuntu -> noble");
  CHECK(img_bootstrap_parse("fedora:40", d, sizeof d, s, sizeof s, &err) == -1 && strstr(err.msg, "fedora"),
        "bootstrap fedora refused, naming it");
  CHECK(img_bootstrap_parse("debian:../x", d, sizeof d, s, sizeof s, &err) == -1 && strstr(err.msg, "../x"),
        "bootstrap suite with / refused, naming it");
  CHECK(img_bootstrap_parse("debian:", d, sizeof d, s, sizeof s, &err) == -1, "bootstrap empty suite refused");
}

int main(void) {
  ok_ref("busybox", "docker.io", "library/busybox", "latest", "", "busybox:latest");
  ok_ref("busybox:1.36", "docker.io", "library/busybox", "1.36", "", "busybox:1.36");
  ok_ref("docker.io/busybox", "docker.io", "library/busybox", "latest", "", "busybox:latest");
  ok_ref("index.docker.io/library/busybox:x", "docker.io", "library/busybox", "x", "", "busybox:x");
  ok_ref("user/app", "docker.io", "user/app", "latest", "", "user/app:latest");
  ok_ref("quay.io/a/b/c:v1.2-rc_3", "quay.io", "a/b/c", "v1.2-rc_3", "", "quay.io/a/b/c:v1.2-rc_3");
  ok_ref("127.0.0.1:5000/test/img", "127.0.0.1:5000", "test/img", "latest", "", "127.0.0.1:5000/test/img:latest");
  ok_ref("localhost/img:t", "localhost", "img", "t", "", "localhost/img:t");
  ok_ref("localhost:5000/img", "localhost:5000", "img", "latest", "", "localhost:5000/img:latest");
  ok_ref("[::1]:5000/img", "[::1]:5000", "img", "latest", "", "[::1]:5000/img:latest");
  ok_ref("busybox@sha256:" D64, "docker.io", "library/busybox", "", "sha256:" D64, "busybox@sha256:" D64);
  ok_ref("h.io:443/a/b:t@sha256:" D64, "h.io:443", "a/b", "t", "sha256:" D64, "h.io:443/a/b@sha256:" D64);
  ok_ref("a__b/c--d/e.f", "docker.io", "a__b/c--d/e.f", "latest", "", "a__b/c--d/e.f:latest");
  ok_ref("ns/busybox", "docker.io", "ns/busybox", "latest", "", "ns/busybox:latest");
  bad_ref("", "empty");
  bad_ref("Busybox", "lowercase");
  bad_ref("busybox:", "invalid tag");
  bad_ref("busybox:-x", "invalid tag");
  bad_ref("busybox@sha256:abc", "64");
  bad_ref("busybox@sha512:" D64, "not supported");
  bad_ref("busybox@sha256:" "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", "lowercase hex");
  bad_ref("busybox@" D64, "no algorithm");
  bad_ref("a//b", "invalid repository component");
  bad_ref("a/b/", "invalid repository component");
  bad_ref("-a", "invalid repository component");
  bad_ref("a_/b", "invalid repository component");
  bad_ref("a..b", "invalid repository component");
  bad_ref("h.io:x5/a", "invalid");
  bad_ref("bad_host.io/a", "invalid registry");
  bad_ref("h.io/", "no repository");
  bad_ref("a/b:t:u", "invalid");
  CHECK(img_host_is_local("127.0.0.1:5000") && img_host_is_local("localhost") && img_host_is_local("[::1]:80") &&
            img_host_is_local("127.1.2.3"),
        "localhost, 127/8 and [::1] are local");
  CHECK(!img_host_is_local("127.0.0.1.evil.io") && !img_host_is_local("localhost.io:5000") &&
            !img_host_is_local("10.0.0.1:5000") && !img_host_is_local("[::2]:1"),
        "look-alikes are not local");
  struct img_ref r;
  struct cell_err err = {0};
  img_ref_parse("busybox", &r, &err);
  CHECK_STR(img_ref_api_host(&r), "registry-1.docker.io", "docker.io's API host");
  conf_tests();
  bootstrap_tests();
  UNIT_DONE();
}
