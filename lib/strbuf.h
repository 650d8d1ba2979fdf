/* strbuf.h - a growable string buffer with a hard maximum size.
 *
 * Appends that would make the text longer than `max` bytes (the terminating
 * NUL not counted) fail with -1 and leave the buffer unchanged, instead of
 * truncating or wrapping a size: a caller can never write a partial line.
 * The buffer is always NUL-terminated once initialised. */
#ifndef CELL_STRBUF_H
#define CELL_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
  char *buf;   /* NUL-terminated text, or NULL before the first append */
  size_t len;  /* bytes of text */
  size_t cap;  /* bytes allocated */
  size_t max;  /* hard limit on len */
  int err;     /* first failure: E2BIG (over max) or ENOMEM; sticky */
};

#define STRBUF_INIT(maxlen) {NULL, 0, 0, (maxlen), 0}

void strbuf_init(struct strbuf *sb, size_t max);
/* 0 on success; -1 with errno and sb->err set (E2BIG past max, ENOMEM). */
int strbuf_append(struct strbuf *sb, const char *s, size_t n);
int strbuf_puts(struct strbuf *sb, const char *s);
int strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* The text ("" when nothing was appended); valid until the next append. */
const char *strbuf_str(const struct strbuf *sb);
/* Hand the text over (caller frees; never NULL unless out of memory) and reset. */
char *strbuf_take(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb); /* empty, keeps max */
void strbuf_free(struct strbuf *sb);
#define cleanup_strbuf __attribute__((cleanup(strbuf_free)))

#endif
