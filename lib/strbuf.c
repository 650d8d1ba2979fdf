/* strbuf.c - see strbuf.h. */
#include "lib/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(struct strbuf *sb, size_t max) {
  sb->buf = NULL;
  sb->len = sb->cap = 0;
  sb->max = max;
  sb->err = 0;
}

static int fail(struct strbuf *sb, int e) {
  if (!sb->err) sb->err = e;
  errno = e;
  return -1;
}

/* Room for `extra` more bytes of text plus the NUL. */
static int reserve(struct strbuf *sb, size_t extra) {
  if (extra > sb->max || sb->len > sb->max - extra) return fail(sb, E2BIG);
  size_t need = sb->len + extra + 1;
  if (need <= sb->cap) return 0;
  size_t cap = sb->cap ? sb->cap : 64;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  if (cap > sb->max + 1) cap = sb->max + 1;
  char *nb = realloc(sb->buf, cap);
  if (!nb) return fail(sb, ENOMEM);
  sb->buf = nb;
  sb->cap = cap;
  return 0;
}

int strbuf_append(struct strbuf *sb, const char *s, size_t n) {
  if (reserve(sb, n) < 0) return -1;
  memcpy(sb->buf + sb->len, s, n);
  sb->len += n;
  sb->buf[sb->len] = 0;
  return 0;
}

int strbuf_puts(struct strbuf *sb, const char *s) { return strbuf_append(sb, s, strlen(s)); }

int strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap) {
  va_list aq;
  va_copy(aq, ap);
  char small[1];
  int n = vsnprintf(small, sizeof small, fmt, aq);
  va_end(aq);
  if (n < 0) return fail(sb, EINVAL);
  if (reserve(sb, (size_t)n) < 0) return -1;
  int m = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
  if (m != n) {
    sb->buf[sb->len] = 0;
    return fail(sb, EINVAL);
  }
  sb->len += (size_t)n;
  return 0;
}

int strbuf_printf(struct strbuf *sb, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = strbuf_vprintf(sb, fmt, ap);
  va_end(ap);
  return r;
}

const char *strbuf_str(const struct strbuf *sb) { return sb->buf ? sb->buf : ""; }

char *strbuf_take(struct strbuf *sb) {
  char *t = sb->buf ? sb->buf : strdup("");
  strbuf_init(sb, sb->max);
  return t;
}

void strbuf_reset(struct strbuf *sb) {
  sb->len = 0;
  sb->err = 0;
  if (sb->buf) sb->buf[0] = 0;
}

void strbuf_free(struct strbuf *sb) {
  free(sb->buf);
  strbuf_init(sb, sb->max);
}
