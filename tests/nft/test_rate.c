/* test_rate.c - netns_rate_parse and netns_tc_ifb_name. */
#include <string.h>

#include "netns/tc.h"
#include "unit.h"

static int rate(const char *s, uint64_t want) {
  struct cell_err err = {0};
  uint64_t v = 1;
  return netns_rate_parse("--rate-in", s, &v, &err) == 0 && v == want;
}

static int bad(const char *s, const char *msg) {
  struct cell_err err = {0};
  uint64_t v = 7;
  return netns_rate_parse("--rate-out", s, &v, &err) < 0 && v == 7 && strstr(err.msg, msg) != NULL;
}

int main(void) {
  CHECK(rate("10mbit", 10000000), "10mbit");
  CHECK(rate("1gbit", 1000000000), "1gbit");
  CHECK(rate("1Gbit", 1000000000), "case-insensitive");
  CHECK(rate("100kbit", 100000), "100kbit");
  CHECK(rate("2.5mbit", 2500000), "decimals");
  CHECK(rate("1mibit", 1048576), "binary units");
  CHECK(rate("1mbps", 8000000), "bytes per second as tc");
  CHECK(rate("800000", 800000), "no unit: bit/s");
  CHECK(rate("12bit", 12), "bit");
  CHECK(rate("0", 0), "0 is no limit");
  CHECK(rate("40gbit", 40000000000ull), "beyond 32 bits of bytes/s");
  CHECK(bad("10parsecs", "--rate-out: rate '10parsecs' has an unknown unit 'parsecs'"), "unknown unit named");
  CHECK(bad("", "is not a number"), "empty");
  CHECK(bad("mbit", "is not a number"), "unit only");
  CHECK(bad("-1mbit", "is not a number"), "negative");
  CHECK(bad("4bit", "below 8 bit/s"), "too small to set");
  CHECK(bad("1e30tbit", "too large"), "too large");
  CHECK(bad("10 mbit", "unknown unit"), "space inside");
  char n[IFNAMSIZ], m[IFNAMSIZ];
  netns_tc_ifb_name("vh1", n);
  CHECK_STR(n, "i-vh1", "short veth: i- + its name");
  netns_tc_ifb_name("abcdefghijklm", n);
  CHECK_STR(n, "i-abcdefghijklm", "13 characters still fit");
  netns_tc_ifb_name("abcdefghijklmn", n);
  netns_tc_ifb_name("abcdefghijklmo", m);
  CHECK(strlen(n) == 15 && strncmp(n, "i-abcde", 7) == 0 && strcmp(n, m) != 0, "long names: prefix + hash, distinct");
  UNIT_DONE();
}
