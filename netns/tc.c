/* tc.c - traffic limits over rtnetlink with libmnl: TBF at the host-side
 * veth's root (traffic into the environment) and, for traffic out of it,
 * an ingress qdisc + u32 match-all + mirred redirect to an IFB device with
 * TBF at its root.  See tc.h. */
#include "netns/tc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TC_ROOT_HANDLE 0x00010000u   /* 1:0 */
#define TC_INGRESS_HANDLE 0xffff0000u /* ffff:0 */
#define TC_FILTER_PRIO 1u
#define TC_U32_HANDLE 0x80000800u     /* 800::800, the one match-all key */

/* --- one netlink request at a time, answered by an ack */

struct nl {
  struct mnl_socket *sock;
  unsigned portid;
  unsigned seq;
  char buf[8192];
};

static int nl_open(struct nl *nl, struct cell_err *err) {
  nl->sock = mnl_socket_open(NETLINK_ROUTE);
  if (!nl->sock) return cell_error(err, errno, "tc: opening an rtnetlink socket");
  if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
    int e = errno;
    mnl_socket_close(nl->sock);
    nl->sock = NULL;
    return cell_error(err, e, "tc: binding the rtnetlink socket");
  }
  nl->portid = mnl_socket_get_portid(nl->sock);
  nl->seq = (unsigned)time(NULL);
  return 0;
}

static void nl_close(struct nl *nl) {
  if (nl->sock) mnl_socket_close(nl->sock);
  nl->sock = NULL;
}

static struct nlmsghdr *nl_msg(struct nl *nl, uint16_t type, uint16_t flags) {
  struct nlmsghdr *h = mnl_nlmsg_put_header(nl->buf);
  h->nlmsg_type = type;
  h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  h->nlmsg_seq = ++nl->seq;
  return h;
}

/* Send h, wait for its ack: 0, or -errno from the kernel. */
static int nl_talk(struct nl *nl, struct nlmsghdr *h) {
  if (mnl_socket_sendto(nl->sock, h, h->nlmsg_len) < 0) return -errno;
  char rbuf[16384];
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl->sock, rbuf, sizeof rbuf);
    if (n < 0) return -errno;
    int rc = mnl_cb_run(rbuf, (size_t)n, h->nlmsg_seq, nl->portid, NULL, NULL);
    if (rc < 0) return -errno;
    if (rc == MNL_CB_STOP) return 0;
  }
}

static struct tcmsg *tc_hdr(struct nlmsghdr *h, int ifindex, uint32_t parent, uint32_t handle) {
  struct tcmsg *t = mnl_nlmsg_put_extra_header(h, sizeof *t);
  t->tcm_family = AF_UNSPEC;
  t->tcm_ifindex = ifindex;
  t->tcm_parent = parent;
  t->tcm_handle = handle;
  return t;
}

/* --- names */

void netns_tc_ifb_name(const char *veth, char out[IFNAMSIZ]) {
  size_t l = strlen(veth);
  if (l + 2 < IFNAMSIZ) {
    snprintf(out, IFNAMSIZ, "i-%s", veth);
    return;
  }
  uint32_t h = 2166136261u; /* FNV-1a */
  for (const char *p = veth; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
  snprintf(out, IFNAMSIZ, "i-%.5s%08x", veth, h);
}

/* --- qdiscs */

/* TBF at the root of ifindex (created or replaced in place). Burst: 10 ms
 * at the rate, at least 4 full-size frames; queue: 50 ms more. */
static int tbf_replace(struct nl *nl, int ifindex, uint64_t bps) {
  uint64_t Bps = bps / 8;
  if (Bps == 0) Bps = 1;
  uint64_t burst = Bps / 100;
  if (burst < 4 * 1514) burst = 4 * 1514;
  if (burst > 64u << 20) burst = 64u << 20;
  uint64_t limit = burst + Bps / 20;
  if (limit > UINT32_MAX) limit = UINT32_MAX;
  struct tc_tbf_qopt q;
  memset(&q, 0, sizeof q);
  q.rate.linklayer = TC_LINKLAYER_ETHERNET;
  q.rate.rate = Bps >= UINT32_MAX ? UINT32_MAX : (uint32_t)Bps;
  q.limit = (uint32_t)limit;
  struct nlmsghdr *h = nl_msg(nl, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE);
  tc_hdr(h, ifindex, TC_H_ROOT, TC_ROOT_HANDLE);
  mnl_attr_put_strz(h, TCA_KIND, "tbf");
  struct nlattr *opt = mnl_attr_nest_start(h, TCA_OPTIONS);
  mnl_attr_put(h, TCA_TBF_PARMS, sizeof q, &q);
  if (Bps >= UINT32_MAX) mnl_attr_put_u64(h, TCA_TBF_RATE64, Bps);
  mnl_attr_put_u32(h, TCA_TBF_BURST, (uint32_t)burst);
  mnl_attr_nest_end(h, opt);
  return nl_talk(nl, h);
}

/* Delete the qdisc at parent (TC_H_ROOT or TC_H_INGRESS); absent is fine. */
static int qdisc_del(struct nl *nl, int ifindex, uint32_t parent) {
  struct nlmsghdr *h = nl_msg(nl, RTM_DELQDISC, 0);
  tc_hdr(h, ifindex, parent, parent == TC_H_INGRESS ? TC_INGRESS_HANDLE : 0);
  int rc = nl_talk(nl, h);
  return rc == -ENOENT || rc == -EINVAL || rc == -ENODEV ? 0 : rc;
}

static int ingress_add(struct nl *nl, int ifindex) {
  struct nlmsghdr *h = nl_msg(nl, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL);
  tc_hdr(h, ifindex, TC_H_INGRESS, TC_INGRESS_HANDLE);
  mnl_attr_put_strz(h, TCA_KIND, "ingress");
  int rc = nl_talk(nl, h);
  return rc == -EEXIST ? 0 : rc;
}

/* u32 match-all on ifindex's ingress: mirred egress redirect to ifb. */
static int redirect_filter(struct nl *nl, int ifindex, int ifb, uint16_t flags) {
  struct nlmsghdr *h = nl_msg(nl, RTM_NEWTFILTER, flags);
  struct tcmsg *t = tc_hdr(h, ifindex, TC_INGRESS_HANDLE, TC_U32_HANDLE);
  t->tcm_info = TC_H_MAKE(TC_FILTER_PRIO << 16, htons(ETH_P_ALL));
  mnl_attr_put_strz(h, TCA_KIND, "u32");
  struct nlattr *opt = mnl_attr_nest_start(h, TCA_OPTIONS);
  struct {
    struct tc_u32_sel sel;
    struct tc_u32_key key;
  } s;
  memset(&s, 0, sizeof s);
  s.sel.flags = TC_U32_TERMINAL;
  s.sel.nkeys = 1; /* mask 0, value 0 at offset 0: every packet */
  mnl_attr_put(h, TCA_U32_SEL, sizeof s, &s);
  struct nlattr *acts = mnl_attr_nest_start(h, TCA_U32_ACT);
  struct nlattr *act = mnl_attr_nest_start(h, 1);
  mnl_attr_put_strz(h, TCA_ACT_KIND, "mirred");
  struct nlattr *aopt = mnl_attr_nest_start(h, TCA_ACT_OPTIONS);
  struct tc_mirred m;
  memset(&m, 0, sizeof m);
  m.action = TC_ACT_STOLEN;
  m.eaction = TCA_EGRESS_REDIR;
  m.ifindex = (uint32_t)ifb;
  mnl_attr_put(h, TCA_MIRRED_PARMS, sizeof m, &m);
  mnl_attr_nest_end(h, aopt);
  mnl_attr_nest_end(h, act);
  mnl_attr_nest_end(h, acts);
  mnl_attr_nest_end(h, opt);
  return nl_talk(nl, h);
}

/* --- the IFB device */

static int ifb_create(struct nl *nl, const char *name) {
  struct nlmsghdr *h = nl_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(h, IFLA_IFNAME, name);
  struct nlattr *li = mnl_attr_nest_start(h, IFLA_LINKINFO);
  mnl_attr_put_strz(h, IFLA_INFO_KIND, "ifb");
  mnl_attr_nest_end(h, li);
  int rc = nl_talk(nl, h);
  return rc == -EEXIST ? 0 : rc;
}

/* Up, with the veth's name as its alias (set here: the kernel ignores an
 * alias given at creation). */
static int link_up(struct nl *nl, int ifindex, const char *alias) {
  struct nlmsghdr *h = nl_msg(nl, RTM_NEWLINK, 0);
  struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = ifindex;
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  mnl_attr_put_strz(h, IFLA_IFALIAS, alias);
  return nl_talk(nl, h);
}

static int link_del_name(struct nl *nl, const char *name) {
  struct nlmsghdr *h = nl_msg(nl, RTM_DELLINK, 0);
  struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(h, IFLA_IFNAME, name);
  int rc = nl_talk(nl, h);
  return rc == -ENODEV || rc == -ENOENT ? 0 : rc;
}

/* The ingress direction: IFB with TBF, ingress qdisc, redirect filter.
 * Ordered so that a live change never leaves the traffic unlimited: the
 * IFB's TBF is replaced in place, the filter replaced in place. */
static int set_egress_of_env(struct nl *nl, int ifindex, const char *veth, uint64_t bps, struct cell_err *err) {
  char ifb[IFNAMSIZ];
  netns_tc_ifb_name(veth, ifb);
  int rc = ifb_create(nl, ifb);
  if (rc < 0) return cell_error(err, -rc, "tc: creating IFB device %s for %s", ifb, veth);
  int ifbidx = (int)if_nametoindex(ifb);
  if (ifbidx <= 0) return cell_error(err, errno, "tc: IFB device %s", ifb);
  if ((rc = tbf_replace(nl, ifbidx, bps)) < 0) return cell_error(err, -rc, "tc: TBF qdisc on %s", ifb);
  if ((rc = link_up(nl, ifbidx, veth)) < 0) return cell_error(err, -rc, "tc: setting %s up", ifb);
  if ((rc = ingress_add(nl, ifindex)) < 0) return cell_error(err, -rc, "tc: ingress qdisc on %s", veth);
  rc = redirect_filter(nl, ifindex, ifbidx, NLM_F_CREATE | NLM_F_REPLACE);
  if (rc < 0) return cell_error(err, -rc, "tc: u32/mirred filter on %s ingress to %s", veth, ifb);
  return 0;
}

int netns_tc_set(int ifindex, uint64_t rate_out, uint64_t rate_in, struct cell_err *err) {
  char veth[IFNAMSIZ];
  if (!if_indextoname((unsigned)ifindex, veth)) return cell_error(err, errno, "tc: link index %d", ifindex);
  struct nl nl;
  if (nl_open(&nl, err) < 0) return -1;
  int rc = 0;
  if (rate_in) {
    int r = tbf_replace(&nl, ifindex, rate_in);
    if (r < 0) rc = cell_error(err, -r, "tc: TBF qdisc on %s (rate in %llu bit/s)", veth, (unsigned long long)rate_in);
  } else {
    int r = qdisc_del(&nl, ifindex, TC_H_ROOT);
    if (r < 0) rc = cell_error(err, -r, "tc: removing the root qdisc of %s", veth);
  }
  if (rc == 0 && rate_out) {
    rc = set_egress_of_env(&nl, ifindex, veth, rate_out, err);
  } else if (rc == 0) {
    char ifb[IFNAMSIZ];
    netns_tc_ifb_name(veth, ifb);
    int r = qdisc_del(&nl, ifindex, TC_H_INGRESS);
    if (r == 0) r = link_del_name(&nl, ifb);
    if (r < 0) rc = cell_error(err, -r, "tc: removing the ingress limit of %s (%s)", veth, ifb);
  }
  nl_close(&nl);
  return rc;
}

int netns_tc_clear(int ifindex, struct cell_err *err) {
  char veth[IFNAMSIZ];
  if (!if_indextoname((unsigned)ifindex, veth)) return cell_error(err, errno, "tc: link index %d", ifindex);
  return netns_tc_set(ifindex, 0, 0, err);
}

int netns_tc_clear_name(const char *veth, struct cell_err *err) {
  char ifb[IFNAMSIZ];
  netns_tc_ifb_name(veth, ifb);
  struct nl nl;
  if (nl_open(&nl, err) < 0) return -1;
  int r = link_del_name(&nl, ifb);
  nl_close(&nl);
  return r < 0 ? cell_error(err, -r, "tc: deleting IFB device %s", ifb) : 0;
}

/* --- rates */

int netns_rate_parse(const char *what, const char *text, uint64_t *bps, struct cell_err *err) {
  static const struct {
    const char *unit;
    double mult;
  } units[] = {
      {"", 1},          {"bit", 1},           {"kbit", 1e3},        {"mbit", 1e6},          {"gbit", 1e9},
      {"tbit", 1e12},   {"kibit", 1024.0},    {"mibit", 1048576.0}, {"gibit", 1073741824.0},
      {"tibit", 1099511627776.0}, {"bps", 8}, {"kbps", 8e3},        {"mbps", 8e6},          {"gbps", 8e9},
      {"tbps", 8e12},
  };
  if (!text || !*text || !(isdigit((unsigned char)text[0]) || text[0] == '.'))
    return cell_error(err, EINVAL, "%s: rate '%s' is not a number with a unit (e.g. 10mbit)", what, text ? text : "");
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || end == text || !(v < 1e300) || v < 0)
    return cell_error(err, EINVAL, "%s: rate '%s' is not a number with a unit (e.g. 10mbit)", what, text);
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strcasecmp(end, units[i].unit) != 0) continue;
    double r = v * units[i].mult;
    if (r >= 1.8e19) return cell_error(err, ERANGE, "%s: rate '%s' is too large", what, text);
    if (r > 0 && r < 8) return cell_error(err, ERANGE, "%s: rate '%s' is below 8 bit/s", what, text);
    *bps = (uint64_t)(r + 0.5);
    return 0;
  }
  return cell_error(err, EINVAL, "%s: rate '%s' has an unknown unit '%s' (bit, kbit, mbit, gbit, kibit, bps, mbps ...)",
                    what, text, end);
}
