/* test_size.c - storage_parse_size / storage_format_size. */
#include <stdint.h>
#include <string.h>

#include "storage/storage.h"
#include "unit.h"

static int parses(const char *s, uint64_t want) {
  struct cell_err err = {0};
  uint64_t got = 0;
  return storage_parse_size(s, "--disk", &got, &err) == 0 && got == want;
}

static int rejects(const char *s, const char *needle) {
  struct cell_err err = {0};
  uint64_t got = 0;
  if (storage_parse_size(s, "--disk", &got, &err) == 0) return 0;
  return strstr(err.msg, "--disk") && strstr(err.msg, needle);
}

int main(void) {
  CHECK(parses("4096", 4096), "plain bytes");
  CHECK(parses("512M", 512ULL << 20), "512M");
  CHECK(parses("10G", 10ULL << 30), "10G");
  CHECK(parses("10g", 10ULL << 30), "lower-case unit");
  CHECK(parses("64KiB", 64ULL << 10), "KiB");
  CHECK(parses("2GB", 2ULL << 30), "GB is binary too");
  CHECK(parses("1.5G", 3ULL << 29), "fraction 1.5G");
  CHECK(parses("0.25M", 256ULL << 10), "fraction 0.25M");
  CHECK(parses("2T", 2ULL << 40), "2T");
  CHECK(parses("100b", 100), "b suffix");
  CHECK(rejects("", "empty"), "empty rejected");
  CHECK(rejects("-5G", "not a size"), "negative rejected");
  CHECK(rejects("G", "not a size"), "unit without number rejected");
  CHECK(rejects("10X", "unknown unit"), "unknown unit rejected");
  CHECK(rejects("10 G", "unknown unit"), "space rejected");
  CHECK(rejects("1.G", "not a size"), "dangling dot rejected");
  CHECK(rejects("99999999999999999999", "too large"), "overflowing digits rejected");
  CHECK(rejects("20000000T", "too large"), "overflowing shift rejected");
  char buf[32];
  CHECK_STR(storage_format_size(10ULL << 30, buf, sizeof buf), "10G", "format 10G");
  CHECK_STR(storage_format_size(3ULL << 29, buf, sizeof buf), "1.5G", "format 1.5G");
  CHECK_STR(storage_format_size(1000, buf, sizeof buf), "1000", "format bytes");
  CHECK_STR(storage_format_size(64ULL << 20, buf, sizeof buf), "64M", "format 64M");
  UNIT_DONE();
}
