/* mountinfo.c - the one mountinfo line parser and unescape. */
#include "lib/mountinfo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void cell_mountinfo_unescape(char *s) {
  char *o = s;
  for (char *p = s; *p; p++) {
    if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
        p[3] <= '7') {
      *o++ = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
      p += 3;
    } else {
      *o++ = *p;
    }
  }
  *o = '\0';
}

/* The next space-separated field of *s (NULL at the end); *s moves past it. */
static char *field(char **s) {
  char *p = *s;
  while (*p == ' ') p++;
  if (!*p) return NULL;
  char *start = p;
  while (*p && *p != ' ') p++;
  if (*p) *p++ = '\0';
  *s = p;
  return start;
}

static int parse_uint(const char *s, char stop, unsigned *out, const char **end) {
  char *e;
  errno = 0;
  unsigned long v = strtoul(s, &e, 10);
  if (e == s || *s == '-' || *s == '+' || errno || v > 0xffffffffUL || *e != stop) return -1;
  *out = (unsigned)v;
  if (end) *end = e;
  return 0;
}

int cell_mountinfo_parse(char *line, struct cell_mountinfo *m) {
  memset(m, 0, sizeof *m);
  char *nl = strchr(line, '\n');
  if (nl) *nl = '\0';
  char *s = line;
  char *id = field(&s), *parent = field(&s), *dev = field(&s);
  m->root = field(&s);
  m->point = field(&s);
  m->opts = field(&s);
  if (!m->opts) return errno = EINVAL, -1;
  const char *colon;
  if (parse_uint(id, '\0', &m->id, NULL) < 0 || parse_uint(parent, '\0', &m->parent, NULL) < 0 ||
      parse_uint(dev, ':', &m->major, &colon) < 0 || parse_uint(colon + 1, '\0', &m->minor, NULL) < 0)
    return errno = EINVAL, -1;
  /* optional fields up to the lone "-" */
  char *opt_start = NULL, *opt_end = NULL, *f;
  for (;;) {
    f = field(&s);
    if (!f) return errno = EINVAL, -1;
    if (!strcmp(f, "-")) break;
    if (!opt_start) opt_start = f;
    opt_end = f + strlen(f);
  }
  if (opt_start) {
    for (char *p = opt_start; p < opt_end; p++)
      if (*p == '\0') *p = ' '; /* rejoin "shared:1 master:2" */
    m->optional = opt_start;
  } else {
    m->optional = f + 1; /* the NUL after "-": an empty string */
  }
  m->fstype = field(&s);
  m->source = field(&s);
  m->super = field(&s);
  if (!m->super) return errno = EINVAL, -1;
  cell_mountinfo_unescape(m->root);
  cell_mountinfo_unescape(m->point);
  cell_mountinfo_unescape(m->source);
  return 0;
}
