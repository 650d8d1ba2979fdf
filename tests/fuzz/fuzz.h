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

#endif
