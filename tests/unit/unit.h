/* unit.h - a tiny TAP producer for C unit tests.
 * Each test binary prints "ok N - name" / "not ok N - name" lines and a plan. */
#ifndef CELL_UNIT_H
#define CELL_UNIT_H
#include <stdio.h>
#include <string.h>

static int unit_n, unit_failed;

#define CHECK(cond, name)                                                   \
  do {                                                                      \
    ++unit_n;                                                               \
    if (cond) printf("ok %d - %s\n", unit_n, name);                         \
    else {                                                                  \
      ++unit_failed;                                                        \
      printf("not ok %d - %s\n#   %s:%d: %s\n", unit_n, name, __FILE__,     \
             __LINE__, #cond);                                              \
    }                                                                       \
  } while (0)

#define CHECK_STR(got, want, name)                                          \
  do {                                                                      \
    const char *g_ = (got), *w_ = (want);                                   \
    int ok_ = g_ && w_ && strcmp(g_, w_) == 0;                              \
    CHECK(ok_, name);                                                       \
    if (!ok_) printf("#   got:  '%s'\n#   want: '%s'\n", g_ ? g_ : "(null)", w_); \
  } while (0)

#define UNIT_DONE()                                                         \
  do {                                                                      \
    printf("1..%d\n", unit_n);                                              \
    return unit_failed ? 1 : 0;                                             \
  } while (0)
#endif
