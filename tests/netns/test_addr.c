/* test_addr - CIDR parsing, membership, the n-th address, allocation. */
#include <arpa/inet.h>

#include "netns/addr.h"
#include "unit.h"

static const char *str(const struct nl_addr *a) {
  static char buf[64];
  return netns_addr_str(a, buf, sizeof buf);
}

int main(void) {
  struct cell_err err = {0};
  struct nl_addr net, a, out;
  int p = -1;

  CHECK(netns_cidr_parse("10.1.2.0/24", &net, &p, "--subnet", &err) == 0 && p == 24 && net.family == AF_INET,
        "v4 subnet parses");
  CHECK(netns_cidr_parse("10.1.2.5/24", &net, &p, "--subnet", &err) < 0 && strstr(err.msg, "host bits"),
        "host bits set are refused");
  CHECK(netns_cidr_parse("10.1.2.0/31", &net, &p, "--subnet", &err) < 0 && strstr(err.msg, "8..30"),
        "a /31 network is refused");
  CHECK(netns_cidr_parse("10.1.2.0", &net, &p, "--subnet", &err) < 0 && strstr(err.msg, "--subnet"),
        "a missing prefix is refused and names the option");
  CHECK(netns_cidr_parse("10.1.2.0/2x", &net, &p, "--subnet", &err) < 0, "a bad prefix is refused");
  CHECK(netns_cidr_parse("nonsense/24", &net, &p, "--subnet", &err) < 0 && strstr(err.msg, "nonsense"),
        "a bad address is refused");
  CHECK(netns_cidr_parse("fd00:1::/64", &net, &p, "--subnet6", &err) == 0 && p == 64 && net.family == AF_INET6,
        "v6 subnet parses");
  CHECK(netns_cidr_parse("fd00:1::/48", &net, &p, "--subnet6", &err) < 0, "a v6 prefix under 64 is refused");
  CHECK(netns_cidr_parse("fd00:1::1/64", &net, &p, "--subnet6", &err) < 0, "v6 host bits are refused");

  netns_cidr_parse("10.1.2.0/24", &net, &p, "s", &err);
  netns_addr_parse("10.1.2.200", &a, "ip", &err);
  CHECK(netns_cidr_contains(&net, p, &a), "10.1.2.200 is in 10.1.2.0/24");
  netns_addr_parse("10.1.3.1", &a, "ip", &err);
  CHECK(!netns_cidr_contains(&net, p, &a), "10.1.3.1 is not in 10.1.2.0/24");
  netns_addr_parse("fd00::1", &a, "ip", &err);
  CHECK(!netns_cidr_contains(&net, p, &a), "an IPv6 address is not in an IPv4 subnet");
  CHECK(netns_cidr_nth(&net, p, 1, &out) && !strcmp(str(&out), "10.1.2.1"), "1st address is .1");
  CHECK(netns_cidr_nth(&net, p, 255, &out) && !strcmp(str(&out), "10.1.2.255"), "255th address is .255");
  CHECK(!netns_cidr_nth(&net, p, 256, &out), "256th address is outside");
  netns_cidr_parse("10.1.0.0/16", &net, &p, "s", &err);
  CHECK(netns_cidr_nth(&net, p, 300, &out) && !strcmp(str(&out), "10.1.1.44"), "carry across bytes");

  /* allocation: lowest free, skipping used, never the broadcast */
  netns_cidr_parse("10.9.0.0/29", &net, &p, "s", &err);
  struct nl_addr used[8];
  netns_addr_parse("10.9.0.1", &used[0], "u", &err);
  netns_addr_parse("10.9.0.3", &used[1], "u", &err);
  CHECK(netns_addr_alloc(&net, p, 2, used, 2, &out, &err) == 0 && !strcmp(str(&out), "10.9.0.2"), "first free .2");
  netns_addr_parse("10.9.0.2", &used[2], "u", &err);
  CHECK(netns_addr_alloc(&net, p, 2, used, 3, &out, &err) == 0 && !strcmp(str(&out), "10.9.0.4"), "skips used .3");
  netns_addr_parse("10.9.0.4", &used[3], "u", &err);
  netns_addr_parse("10.9.0.5", &used[4], "u", &err);
  netns_addr_parse("10.9.0.6", &used[5], "u", &err);
  CHECK(netns_addr_alloc(&net, p, 2, used, 6, &out, &err) < 0 && err.errnum == ENOSPC,
        "a full /29 says ENOSPC (no .7 broadcast)");
  /* 50 allocations in a row never clash */
  netns_cidr_parse("10.8.0.0/24", &net, &p, "s", &err);
  struct nl_addr many[60];
  int clash = 0, fail = 0;
  for (int i = 0; i < 50; i++) {
    if (netns_addr_alloc(&net, p, 2, many, (size_t)i, &many[i], &err) < 0) fail++;
    for (int k = 0; k < i; k++) clash += netns_addr_eq(&many[k], &many[i]);
  }
  CHECK(!fail && !clash && !strcmp(str(&many[49]), "10.8.0.51"), "50 allocations: distinct, .2 .. .51");
  netns_cidr_parse("fd00:5::/64", &net, &p, "s", &err);
  netns_addr_parse("fd00:5::2", &used[0], "u", &err);
  CHECK(netns_addr_alloc(&net, p, 2, used, 1, &out, &err) == 0 && !strcmp(str(&out), "fd00:5::3"), "v6 allocation");
  netns_cidr_parse("fd00:5::/120", &net, &p, "s", &err);
  CHECK(netns_cidr_nth(&net, p, 255, &out) && !strcmp(str(&out), "fd00:5::ff"), "v6 last of /120");
  CHECK(!netns_cidr_nth(&net, p, 256, &out), "v6 past /120 is outside");
  UNIT_DONE();
}
