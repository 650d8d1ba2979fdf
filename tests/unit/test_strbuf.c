/* test_strbuf.c - the bounded string builder at and beyond its limit. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "unit.h"

int main(void) {
  struct strbuf sb;
  strbuf_init(&sb, 10);
  CHECK_STR(strbuf_str(&sb), "", "empty buffer reads as \"\"");
  CHECK(strbuf_printf(&sb, "%s-%d", "abc", 42) == 0, "printf within the limit");
  CHECK_STR(strbuf_str(&sb), "abc-42", "printf text");
  CHECK(strbuf_puts(&sb, "wxyz") == 0 && sb.len == 10, "append up to exactly max");
  CHECK_STR(strbuf_str(&sb), "abc-42wxyz", "text at max");
  errno = 0;
  CHECK(strbuf_puts(&sb, "!") == -1 && errno == E2BIG && sb.err == E2BIG, "one byte past max fails with E2BIG");
  CHECK_STR(strbuf_str(&sb), "abc-42wxyz", "a failed append leaves the text unchanged");
  CHECK(strbuf_printf(&sb, "%s", "") == 0, "an empty printf at max still succeeds");
  CHECK(sb.err == E2BIG, "the first error is sticky");
  strbuf_reset(&sb);
  CHECK(sb.len == 0 && sb.err == 0 && !strcmp(strbuf_str(&sb), ""), "reset empties and clears the error");
  CHECK(strbuf_printf(&sb, "%0*d", 11, 7) == -1 && sb.len == 0, "a printf longer than max fails, nothing written");
  CHECK(strbuf_append(&sb, "x", (size_t)-1) == -1 && errno == E2BIG, "a huge length does not wrap the size check");
  CHECK(strbuf_printf(&sb, "%0*d", 10, 7) == 0 && !strcmp(strbuf_str(&sb), "0000000007"), "printf of exactly max");
  char *t = strbuf_take(&sb);
  CHECK_STR(t, "0000000007", "take hands the text over");
  CHECK(sb.buf == NULL && sb.len == 0 && sb.max == 10, "take resets the buffer, keeps max");
  free(t);
  t = strbuf_take(&sb);
  CHECK_STR(t, "", "take of an empty buffer gives \"\"");
  free(t);

  /* The idmap case that used to overflow an 8 KiB stack buffer: 340 long lines. */
  struct strbuf m = STRBUF_INIT(8192);
  int rc = 0, i;
  for (i = 0; i < 340 && rc == 0; i++) rc = strbuf_printf(&m, "%lu %lu %lu\n", 4294967295UL, 4294967295UL, 4294967295UL);
  CHECK(rc == -1 && m.err == E2BIG, "340 long idmap lines do not fit 8 KiB and report E2BIG");
  CHECK(m.len <= 8192 && m.len == strlen(strbuf_str(&m)), "length stays within max and matches the text");
  CHECK(m.len % 33 == 0 && m.len > 8192 - 33, "only whole lines were written, as many as fit");
  strbuf_free(&m);

  /* Growth across many reallocations keeps every byte. */
  struct strbuf g = STRBUF_INIT(1 << 20);
  for (i = 0; i < 10000; i++) strbuf_printf(&g, "%04d,", i % 10000);
  int ok = g.len == 50000 && g.err == 0;
  for (i = 0; ok && i < 10000; i++) {
    char want[16];
    snprintf(want, sizeof want, "%04d,", i);
    ok = !memcmp(g.buf + 5 * i, want, 5);
  }
  CHECK(ok, "10000 appends grow the buffer and keep the text");
  strbuf_free(&g);
  strbuf_free(&sb);
  UNIT_DONE();
}
