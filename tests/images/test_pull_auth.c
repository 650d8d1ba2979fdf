/* test_pull_auth.c - WWW-Authenticate challenges (RFC 7235 auth-params). */
#include <string.h>

#include "images/pull.h"
#include "unit.h"

int main(void) {
  struct img_challenge c;
  struct cell_err err = {0};
  CHECK(img_challenge_parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                            "scope=\"repository:library/busybox:pull\"",
                            &c, &err) == 0,
        "docker hub's challenge parses");
  CHECK_STR(c.scheme, "Bearer", "scheme");
  CHECK_STR(c.realm, "https://auth.docker.io/token", "realm");
  CHECK_STR(c.service, "registry.docker.io", "service");
  CHECK_STR(c.scope, "repository:library/busybox:pull", "scope");
  CHECK(img_challenge_parse("bearer  scope=\"a,b\" , Realm=http://127.0.0.1:1/t?x=1, error=\"insufficient_scope\"",
                            &c, &err) == 0,
        "spaces, any case, a comma inside quotes, a token value, an unknown param");
  CHECK_STR(c.scope, "a,b", "quoted comma kept");
  CHECK_STR(c.realm, "http://127.0.0.1:1/t?x=1", "unquoted realm");
  CHECK(c.service[0] == '\0', "no service");
  CHECK(img_challenge_parse("Bearer realm=\"a\\\"b\\\\c\"", &c, &err) == 0, "escapes in a quoted string");
  CHECK_STR(c.realm, "a\"b\\c", "escaped quote and backslash");
  CHECK(img_challenge_parse("Basic realm=\"Registry Realm\"", &c, &err) == 0 && !strcmp(c.scheme, "Basic") &&
            !strcmp(c.realm, "Registry Realm"),
        "a Basic challenge");
  CHECK(img_challenge_parse("Bearer realm=\"https://a/t\", Basic realm=\"x\"", &c, &err) == 0 &&
            !strcmp(c.realm, "https://a/t"),
        "the first of two challenges is read");
  CHECK(img_challenge_parse("Bearer service=\"x\"", &c, &err) == -1 && strstr(err.msg, "without a realm"),
        "a Bearer challenge without a realm is refused");
  CHECK(img_challenge_parse("Bearer realm=\"unterminated", &c, &err) == -1 && strstr(err.msg, "unterminated"),
        "an unterminated quote is refused");
  CHECK(img_challenge_parse("", &c, &err) == -1 && strstr(err.msg, "no auth scheme"), "an empty header is refused");
  char big[3000];
  memset(big, 'a', sizeof big);
  memcpy(big, "Bearer realm=\"", 14);
  big[sizeof big - 2] = '"';
  big[sizeof big - 1] = '\0';
  CHECK(img_challenge_parse(big, &c, &err) == -1 && strstr(err.msg, "too long"), "an oversized realm is refused");
  UNIT_DONE();
}
