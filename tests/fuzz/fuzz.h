/* fuzz.h - shared helpers of the libFuzzer harnesses (tests/fuzz/README.md). */
#ifndef CELL_FUZZ_H
#define CELL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a NUL terminated string (malloc'd; NULL when out of memory). */
static inline char *fuzz_str(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s) return NULL;
  memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

/* FUZZ_VERBOSE=1: print each rejected input's error (to check that the
 * seeds get past the first checks). */
#include <stdio.h>
static inline void fuzz_report(const char *what, const char *msg) {
  static int verbose = -1;
  if (verbose < 0) verbose = getenv("FUZZ_VERBOSE") != NULL;
  if (verbose) fprintf(stderr, "fuzz: %s: %s\n", what, msg);
}

#endif
