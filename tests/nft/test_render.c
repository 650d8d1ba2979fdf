/* test_render.c - netns_nft_render: the rule text for masquerade,
 * anti-spoof, forwards (v4/v6, tcp/udp), hairpin, and the refusals of input
 * that could steer the rule text. */
#include <stdlib.h>
#include <string.h>

#include "netns/nft.h"
#include "unit.h"

static char *render(const char *table, const struct nft_state *st, struct cell_err *err) {
  struct strbuf sb = STRBUF_INIT(1u << 20);
  memset(err, 0, sizeof *err);
  if (netns_nft_render(table, st, &sb, err) < 0) {
    strbuf_free(&sb);
    return NULL;
  }
  return strbuf_take(&sb);
}

static int has(const char *text, const char *needle) { return text && strstr(text, needle) != NULL; }

static int count(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = text; p && (p = strstr(p, needle)); p++) n++;
  return n;
}

int main(void) {
  struct cell_err err;
  struct nft_network nets[] = {
      {"lan", "br-lan", "10.0.3.7/24", "fd42:0:0:1::9/64", true, false},
      {"dmz", "eth9", "192.168.5.0/24", NULL, false, true},
  };
  const char *a1[] = {"10.0.3.2", "fd42:0:0:1::2"};
  const char *a2[] = {"fd42:0:0:1::3"};
  const char *a3[] = {"192.168.5.10"};
  struct nft_endpoint eps[] = {{"lan", "vh1", a1, 2}, {"lan", "vh2", a2, 1}, {"dmz", "vr1", a3, 1}};
  struct nft_forward fwds[] = {
      {"tcp", 4, 8080, "10.0.3.2", 80, "lan"},
      {"udp", 6, 5353, "fd42:0:0:1::2", 53, "lan"},
      {"tcp", 4, 2222, "192.168.5.10", 22, NULL},
  };
  struct nft_state st = {nets, 2, eps, 3, fwds, 3};
  char *t = render("cell", &st, &err);
  CHECK(t != NULL, "a full state renders");
  if (!t) printf("# %s\n", err.msg);
  CHECK(t && strncmp(t, "add table inet cell\ndelete table inet cell\ntable inet cell {\n", 61) == 0,
        "one transaction: add guard, delete, the new table");
  CHECK(count(t, "table inet") == 3 && !has(t, "table ip ") && !has(t, "flush ruleset"), "no other table is named");
  /* masquerade */
  CHECK(has(t, "ip saddr 10.0.3.0/24 ip daddr != 10.0.3.0/24 masquerade"), "NAT v4 egress masqueraded, subnet normalised");
  CHECK(has(t, "ip6 saddr fd42:0:0:1::/64 ip6 daddr != fd42:0:0:1::/64 masquerade"), "NAT v6 egress masqueraded");
  CHECK(!has(t, "ip saddr 192.168.5.0/24 ip daddr != 192.168.5.0/24 masquerade"), "a non-NAT network is not masqueraded");
  /* anti-spoof */
  CHECK(count(t, "type filter hook ingress device") == 3, "one ingress chain per endpoint");
  CHECK(has(t, "device \"vh1\" priority -500; policy accept;\n\t\tip saddr != { 10.0.3.2 } drop\n"
               "\t\tip6 saddr != { ::, fe80::/10, fd42:0:0:1::2 } drop"),
        "vh1: its v4 and v6 addresses, link-local and :: let through");
  CHECK(has(t, "device \"vh2\" priority -500; policy accept;\n\t\tmeta protocol ip drop\n"),
        "an endpoint without IPv4 sends no IPv4 at all");
  CHECK(has(t, "device \"vr1\" priority -500; policy accept;\n\t\tip saddr != { 192.168.5.10 } drop\n"
               "\t\tip6 saddr != { ::, fe80::/10 } drop"),
        "an endpoint without IPv6 sends link-local only");
  /* forwards */
  CHECK(has(t, "fib daddr type local meta nfproto ipv4 tcp dport 8080 dnat ip to 10.0.3.2:80"), "v4 tcp DNAT in prerouting");
  CHECK(has(t, "fib daddr type local meta nfproto ipv6 udp dport 5353 dnat ip6 to [fd42:0:0:1::2]:53"),
        "v6 udp DNAT in prerouting, bracketed");
  CHECK(has(t, "fib daddr type local ip daddr != 127.0.0.0/8 tcp dport 8080 dnat ip to 10.0.3.2:80"),
        "v4 DNAT in output for the host itself");
  CHECK(has(t, "fib daddr type local ip6 daddr != ::1 udp dport 5353 dnat ip6 to [fd42:0:0:1::2]:53"), "v6 DNAT in output");
  CHECK(count(t, "dport 2222 dnat ip to 192.168.5.10:22") == 2, "a forward with no network in both chains");
  CHECK(!has(t, "snat"), "no SNAT: clients keep their address");
  /* hairpin */
  CHECK(has(t, "ip saddr 10.0.3.0/24 ip daddr 10.0.3.0/24 ct status dnat masquerade"), "v4 hairpin for lan");
  CHECK(has(t, "ip6 saddr fd42:0:0:1::/64 ip6 daddr fd42:0:0:1::/64 ct status dnat masquerade"), "v6 hairpin for lan");
  CHECK(!has(t, "ip saddr 192.168.5.0/24 ip daddr 192.168.5.0/24"), "no hairpin where no forward names the network");
  CHECK(strstr(t ? t : "", "hairpin lan") < strstr(t ? t : "", "nat lan"), "hairpin before the egress masquerade");
  /* forward chain */
  CHECK(has(t, "type filter hook forward priority filter; policy accept;\n\t\tct state established,related accept"),
        "forward chain: policy accept, established first");
  CHECK(has(t, "ip daddr 10.0.3.0/24 accept") && has(t, "iifname \"br-lan\" accept") && has(t, "oifname \"vr1\" accept"),
        "forward chain accepts cell's networks");
  CHECK(count(t, "policy drop") == 0, "no chain drops by policy");
  free(t);

  /* empty: the chains, no rules */
  struct nft_state empty = {0};
  t = render("hnft_1", &empty, &err);
  CHECK(t && has(t, "chain prerouting") && !has(t, "dnat ip") && !has(t, "masquerade") && !has(t, "ingress"),
        "an empty state renders bare chains");
  free(t);

  /* refusals */
  struct {
    const char *name;
    const char *table;
    struct nft_state st;
    const char *msg;
  } bad[] = {
      {"table name", "cell; flush ruleset", st, "nft table name 'cell; flush ruleset' is invalid"},
      {"table name digit", "1abc", st, "is invalid"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    t = render(bad[i].table, &bad[i].st, &err);
    CHECK(!t && strstr(err.msg, bad[i].msg), bad[i].name);
    free(t);
  }
  struct nft_network n1[] = {{"lan", "br\"x", "10.0.3.0/24", NULL, true, false}};
  struct nft_state s1 = {n1, 1, NULL, 0, NULL, 0};
  t = render("cell", &s1, &err);
  CHECK(!t && strstr(err.msg, "interface 'br\"x' is invalid"), "a quote in an interface name");
  n1[0].bridge_or_parent = "br0";
  n1[0].subnet4 = "10.0.3.0/33";
  t = render("cell", &s1, &err);
  CHECK(!t && strstr(err.msg, "subnet '10.0.3.0/33' is not an IPv4 CIDR"), "a bad prefix length");
  n1[0].subnet4 = "10.0.3.0/24";
  n1[0].subnet6 = "10.0.3.0/24";
  t = render("cell", &s1, &err);
  CHECK(!t && strstr(err.msg, "subnet6 '10.0.3.0/24' is not an IPv6 CIDR"), "v4 given as subnet6");
  n1[0].subnet6 = NULL;
  const char *inj[] = {"10.0.3.2 } accept; {"};
  struct nft_endpoint e1[] = {{"lan", "vh1", inj, 1}};
  struct nft_state s2 = {n1, 1, e1, 1, NULL, 0};
  t = render("cell", &s2, &err);
  CHECK(!t && strstr(err.msg, "is not a plain IPv4/IPv6 address"), "rule text in an endpoint address");
  const char *ok[] = {"10.0.3.2"};
  struct nft_endpoint e2[] = {{"lan", "vh1", ok, 1}, {"lan", "vh1", ok, 1}};
  struct nft_state s3 = {n1, 1, e2, 2, NULL, 0};
  t = render("cell", &s3, &err);
  CHECK(!t && strstr(err.msg, "endpoint interface vh1 is listed twice"), "an endpoint twice");
  struct nft_forward f[] = {{"sctp", 4, 80, "10.0.3.2", 80, "lan"}};
  struct nft_state s4 = {n1, 1, NULL, 0, f, 1};
  t = render("cell", &s4, &err);
  CHECK(!t && strstr(err.msg, "protocol 'sctp' is not tcp or udp"), "protocol sctp");
  f[0] = (struct nft_forward){"tcp", 4, 0, "10.0.3.2", 80, "lan"};
  t = render("cell", &s4, &err);
  CHECK(!t && strstr(err.msg, "ports must be 1-65535"), "host port 0");
  f[0] = (struct nft_forward){"tcp", 4, 80, "10.0.3.2", 70000, "lan"};
  t = render("cell", &s4, &err);
  CHECK(!t && strstr(err.msg, "ports must be 1-65535"), "port 70000");
  f[0] = (struct nft_forward){"tcp", 6, 80, "10.0.3.2", 80, "lan"};
  t = render("cell", &s4, &err);
  CHECK(!t && strstr(err.msg, "'10.0.3.2' is not an IPv6 address"), "family 6 with a v4 address");
  f[0] = (struct nft_forward){"tcp", 4, 80, "10.0.3.2", 80, "wan"};
  t = render("cell", &s4, &err);
  CHECK(!t && strstr(err.msg, "network wan is not in the state"), "a forward on an unknown network");
  struct nft_forward f2[] = {{"tcp", 4, 80, "10.0.3.2", 80, "lan"}, {"tcp", 4, 80, "10.0.3.3", 81, "lan"}};
  struct nft_state s5 = {n1, 1, NULL, 0, f2, 2};
  t = render("cell", &s5, &err);
  CHECK(!t && strstr(err.msg, "forward tcp/80 (IPv4) is listed twice"), "a host port forwarded twice");
  f2[1].proto = "udp";
  t = render("cell", &s5, &err);
  CHECK(t != NULL, "the same port over tcp and udp is fine");
  free(t);
  UNIT_DONE();
}
