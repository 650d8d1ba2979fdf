/* test_jsondoc.c - cell_json_parse_doc: trailing data and NUL bytes in strings. */
#include <cjson/cJSON.h>
#include <string.h>

#include "runtime/spec.h"
#include "unit.h"

static void fails(const char *text, const char *prefix, const char *want, const char *name) {
  struct cell_err err = {0};
  cJSON *j = cell_json_parse_doc(text, "config.json", prefix, &err);
  if (j) cJSON_Delete(j);
  else if (!strstr(err.msg, want)) printf("#   got: %s\n#   want: %s\n", err.msg, want);
  CHECK(j == NULL && strstr(err.msg, want) != NULL, name);
}

static void parses(const char *text, const char *name) {
  struct cell_err err = {0};
  cJSON *j = cell_json_parse_doc(text, "config.json", NULL, &err);
  if (!j) printf("#   error: %s\n", err.msg);
  CHECK(j != NULL, name);
  cJSON_Delete(j);
}

int main(void) {
  parses("{\"a\": [1, \"x\"]}\n\t \r\n", "trailing whitespace is fine");
  parses("{\"args\": [\"a\\\\u0000b\"]}", "an escaped backslash before u0000 is text, not a NUL");
  parses("{\"args\": [\"\\u0001\", \"x\\\\\\u0041\"]}", "other escapes are left alone");
  fails("{\"a\": 1} {\"b\": 2}", NULL, "unexpected data after the JSON document at byte 9", "a second document");
  fails("{\"a\": 1}x", NULL, "after the JSON document", "trailing garbage");
  fails("{\"a\": ", NULL, "config.json: invalid JSON", "truncated document");
  fails("{\"process\": {\"args\": [\"sh\", \"-c\", \"a\\u0000b\"]}}", NULL, "process.args[2]: a string contains a NUL",
        "NUL in process.args[2]");
  fails("{\"process\": {\"env\": [\"A=1\", \"B=2\\u0000C=3\"]}}", NULL, "process.env[1]: ", "NUL in process.env[1]");
  fails("{\"args\": [\"x\"], \"env\": [\"\\u0000\"]}", "process", "process.env[0]: ", "prefix names the exec process");
  fails("{\"annotations\": {\"k\\u0000ey\": \"v\"}}", NULL, "annotations.k", "NUL in a key");
  fails("{\"a\": {\"b\": [[\"ok\", \"n\\u0000\"]]}}", NULL, "a.b[0][1]: ", "nested arrays are named");
  UNIT_DONE();
}
