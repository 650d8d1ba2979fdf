/* nl.c - rtnetlink requests over libmnl (nl.h). */
#include "netns/nl.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "lib/file.h"

#define NL_BUF 8192

int nl_open(struct nl *nl, struct cell_err *err) {
  nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!nl->sock) return cell_error(err, errno, "netlink: socket");
  if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
    int e = errno;
    mnl_socket_close(nl->sock);
    nl->sock = NULL;
    return cell_error(err, e, "netlink: bind");
  }
  nl->portid = mnl_socket_get_portid(nl->sock);
  nl->seq = (unsigned)time(NULL);
  return 0;
}

struct open_in_ns {
  struct nl *nl;
  int netns_fd;
  struct cell_err *err;
  int rc;
};

/* A thread of its own: setns() moves only this thread, which then ends. */
static void *open_in_ns_thread(void *p) {
  struct open_in_ns *a = p;
  if (setns(a->netns_fd, CLONE_NEWNET) < 0) {
    a->rc = cell_error(a->err, errno, "netlink: setns into the target network namespace");
    return NULL;
  }
  a->rc = nl_open(a->nl, a->err);
  return NULL;
}

int nl_open_netns(struct nl *nl, int netns_fd, struct cell_err *err) {
  struct open_in_ns a = {nl, netns_fd, err, -1};
  pthread_t t;
  int e = pthread_create(&t, NULL, open_in_ns_thread, &a);
  if (e) return cell_error(err, e, "netlink: thread to enter the network namespace");
  pthread_join(t, NULL);
  return a.rc;
}

void nl_close(struct nl *nl) {
  if (nl->sock) mnl_socket_close(nl->sock);
  nl->sock = NULL;
}

/* Sends one request with NLM_F_ACK and reads the answer; cb (may be NULL)
 * sees data messages.  Returns 0 or -errno from the kernel (err not set). */
static int nl_talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data) {
  char buf[NL_BUF];
  nlh->nlmsg_flags |= NLM_F_ACK;
  nlh->nlmsg_seq = ++nl->seq;
  if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0) return -errno;
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl->sock, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    int r = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, nl->portid, cb, data);
    if (r < 0) return -errno;
    if (r == MNL_CB_STOP) return 0;
  }
}

static struct nlmsghdr *put_hdr(char *buf, int type, int flags) {
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = (uint16_t)type;
  nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
  return nlh;
}

static int addr_len(int family) { return family == AF_INET ? 4 : 16; }

int nl_link_index(struct nl *nl, const char *name, struct cell_err *err) {
  char buf[NL_BUF];
  struct nlmsghdr *nlh = put_hdr(buf, RTM_GETLINK, 0);
  struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  char rbuf[NL_BUF];
  nlh->nlmsg_seq = ++nl->seq;
  if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0) return cell_error(err, errno, "netlink: get link %s", name);
  ssize_t n;
  do n = mnl_socket_recvfrom(nl->sock, rbuf, sizeof rbuf);
  while (n < 0 && errno == EINTR);
  if (n < 0) return cell_error(err, errno, "netlink: get link %s", name);
  struct nlmsghdr *r = (struct nlmsghdr *)rbuf;
  if (r->nlmsg_type == NLMSG_ERROR) {
    struct nlmsgerr *e = mnl_nlmsg_get_payload(r);
    if (e->error == -ENODEV) return 0;
    return cell_error(err, -e->error, "netlink: get link %s", name);
  }
  if (r->nlmsg_type != RTM_NEWLINK) return cell_error(err, EPROTO, "netlink: get link %s", name);
  struct ifinfomsg *ri = mnl_nlmsg_get_payload(r);
  return ri->ifi_index;
}

static int link_new(struct nl *nl, struct nlmsghdr *nlh, const char *what, const char *name, struct cell_err *err) {
  int r = nl_talk(nl, nlh, NULL, NULL);
  if (r < 0) return cell_error(err, -r, "netlink: create %s %s", what, name);
  return 0;
}

int nl_veth_add(struct nl *nl, const char *name, const char *peer, int peer_netns_fd, unsigned mtu,
                struct cell_err *err) {
  char buf[NL_BUF];
  struct nlmsghdr *nlh = put_hdr(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  if (mtu) mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
  struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
  struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
  struct nlattr *pi = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
  struct ifinfomsg *pifi = mnl_nlmsg_put_extra_header(nlh, sizeof *pifi);
  pifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
  if (mtu) mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
  if (peer_netns_fd >= 0) mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
  mnl_attr_nest_end(nlh, pi);
  mnl_attr_nest_end(nlh, data);
  mnl_attr_nest_end(nlh, li);
  return link_new(nl, nlh, "veth", name, err);
}

int nl_bridge_add(struct nl *nl, const char *name, unsigned mtu, struct cell_err *err) {
  char buf[NL_BUF];
  struct nlmsghdr *nlh = put_hdr(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  if (mtu) mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
  struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
  struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
  mnl_attr_put_u32(nlh, IFLA_BR_FORWARD_DELAY, 0);
  mnl_attr_put_u32(nlh, IFLA_BR_STP_STATE, 0);
  mnl_attr_nest_end(nlh, data);
  mnl_attr_nest_end(nlh, li);
  return link_new(nl, nlh, "bridge", name, err);
}

int nl_link_del(struct nl *nl, const char *name, struct cell_err *err) {
  char buf[NL_BUF];
  struct nlmsghdr *nlh = put_hdr(buf, RTM_DELLINK, 0);
  struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  int r = nl_talk(nl, nlh, NULL, NULL);
  if (r < 0 && r != -ENODEV) return cell_error(err, -r, "netlink: delete link %s", name);
  return 0;
}

int nl_link_set(struct nl *nl, int ifindex, const struct nl_link_set *s, struct cell_err *err) {
  char buf[NL_BUF];
  struct nlmsghdr *nlh = put_hdr(buf, RTM_NEWLINK, 0);
  struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = ifindex;
  if (s->up >= 0) {
    ifi->ifi_change = IFF_UP;
    ifi->ifi_flags = s->up ? IFF_UP : 0;
  }
  if (s->mtu) mnl_attr_put_u32(nlh, IFLA_MTU, s->mtu);
  if (s->master) mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)s->master);
  if (s->netns_fd >= 0) mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)s->netns_fd);
  if (s->name) mnl_attr_put_strz(nlh, IFLA_IFNAME, s->name);
  int r = nl_talk(nl, nlh, NULL, NULL);
  if (r < 0) return cell_error(err, -r, "netlink: set link #%d", ifindex);
  return 0;
}

static void fmt_addr(const struct nl_addr *a, char *out, size_t size) {
  if (!a || !a->family || !inet_ntop(a->family, a->u.b, out, (socklen_t)size)) snprintf(out, size, "default");
}

static int addr_req(struct nl *nl, int type, int flags, int ifindex, const struct nl_addr *a, int prefix,
                    bool nodad) {
  char buf[NL_BUF];
  struct nlmsghdr *nlh = put_hdr(buf, type, flags);
  struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
  ifa->ifa_family = (uint8_t)a->family;
  ifa->ifa_prefixlen = (uint8_t)prefix;
  ifa->ifa_index = (uint32_t)ifindex;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  if (a->family == AF_INET6 && a->u.b[0] == 0xfe && (a->u.b[1] & 0xc0) == 0x80) ifa->ifa_scope = RT_SCOPE_LINK;
  if (nodad) ifa->ifa_flags = IFA_F_NODAD;
  mnl_attr_put(nlh, IFA_LOCAL, (size_t)addr_len(a->family), a->u.b);
  mnl_attr_put(nlh, IFA_ADDRESS, (size_t)addr_len(a->family), a->u.b);
  return nl_talk(nl, nlh, NULL, NULL);
}

int nl_addr_add(struct nl *nl, int ifindex, const struct nl_addr *a, int prefix, bool nodad, struct cell_err *err) {
  int r = addr_req(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, ifindex, a, prefix, nodad);
  if (r < 0 && r != -EEXIST) {
    char s[64];
    fmt_addr(a, s, sizeof s);
    return cell_error(err, -r, "netlink: add address %s/%d to link #%d", s, prefix, ifindex);
  }
  return 0;
}

int nl_addr_del(struct nl *nl, int ifindex, const struct nl_addr *a, int prefix, struct cell_err *err) {
  int r = addr_req(nl, RTM_DELADDR, 0, ifindex, a, prefix, false);
  if (r < 0 && r != -EADDRNOTAVAIL && r != -ENODEV) {
    char s[64];
    fmt_addr(a, s, sizeof s);
    return cell_error(err, -r, "netlink: delete address %s/%d from link #%d", s, prefix, ifindex);
  }
  return 0;
}

static int route_req(struct nl *nl, int type, int flags, int family, const struct nl_addr *dst, int prefix,
                     const struct nl_addr *gw, int ifindex) {
  char buf[NL_BUF];
  struct nlmsghdr *nlh = put_hdr(buf, type, flags);
  struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
  rtm->rtm_family = (uint8_t)family;
  rtm->rtm_dst_len = (uint8_t)(dst && dst->family ? prefix : 0);
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_STATIC;
  rtm->rtm_scope = gw && gw->family ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  rtm->rtm_type = RTN_UNICAST;
  if (type == RTM_DELROUTE) rtm->rtm_scope = RT_SCOPE_NOWHERE;
  if (dst && dst->family && prefix > 0) mnl_attr_put(nlh, RTA_DST, (size_t)addr_len(family), dst->u.b);
  if (gw && gw->family) mnl_attr_put(nlh, RTA_GATEWAY, (size_t)addr_len(family), gw->u.b);
  if (ifindex > 0) mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
  return nl_talk(nl, nlh, NULL, NULL);
}

int nl_route_add(struct nl *nl, int family, const struct nl_addr *dst, int prefix, const struct nl_addr *gw,
                 int ifindex, struct cell_err *err) {
  int r = route_req(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, family, dst, prefix, gw, ifindex);
  if (r < 0) {
    char s[64], g[64];
    fmt_addr(dst, s, sizeof s);
    fmt_addr(gw, g, sizeof g);
    return cell_error(err, -r, "netlink: add route %s/%d via %s dev #%d", s, prefix, gw ? g : "-", ifindex);
  }
  return 0;
}

int nl_route_del(struct nl *nl, int family, const struct nl_addr *dst, int prefix, int ifindex,
                 struct cell_err *err) {
  int r = route_req(nl, RTM_DELROUTE, 0, family, dst, prefix, NULL, ifindex);
  if (r < 0 && r != -ESRCH && r != -ENODEV) {
    char s[64];
    fmt_addr(dst, s, sizeof s);
    return cell_error(err, -r, "netlink: delete route %s/%d", s, prefix);
  }
  return 0;
}

static int proxy_req(struct nl *nl, int type, int flags, int ifindex, const struct nl_addr *a) {
  char buf[NL_BUF];
  struct nlmsghdr *nlh = put_hdr(buf, type, flags);
  struct ndmsg *nd = mnl_nlmsg_put_extra_header(nlh, sizeof *nd);
  nd->ndm_family = (uint8_t)a->family;
  nd->ndm_ifindex = ifindex;
  nd->ndm_state = NUD_PERMANENT;
  nd->ndm_flags = NTF_PROXY;
  mnl_attr_put(nlh, NDA_DST, (size_t)addr_len(a->family), a->u.b);
  return nl_talk(nl, nlh, NULL, NULL);
}

int nl_proxy_add(struct nl *nl, int ifindex, const struct nl_addr *a, struct cell_err *err) {
  int r = proxy_req(nl, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, ifindex, a);
  if (r < 0) {
    char s[64];
    fmt_addr(a, s, sizeof s);
    return cell_error(err, -r, "netlink: add proxy neighbour %s on link #%d", s, ifindex);
  }
  return 0;
}

int nl_proxy_del(struct nl *nl, int ifindex, const struct nl_addr *a, struct cell_err *err) {
  int r = proxy_req(nl, RTM_DELNEIGH, 0, ifindex, a);
  if (r < 0 && r != -ENOENT && r != -ENODEV) {
    char s[64];
    fmt_addr(a, s, sizeof s);
    return cell_error(err, -r, "netlink: delete proxy neighbour %s on link #%d", s, ifindex);
  }
  return 0;
}

int nl_sysctl_write(const char *key, const char *value, struct cell_err *err) {
  char path[256];
  if (snprintf(path, sizeof path, "/proc/sys/%s", key) >= (int)sizeof path)
    return cell_error(err, ENAMETOOLONG, "sysctl %s", key);
  char cur[64];
  if (cell_read_small(path, cur, sizeof cur) >= 0) {
    size_t l = strlen(cur);
    while (l && (cur[l - 1] == '\n' || cur[l - 1] == ' ')) cur[--l] = 0;
    if (!strcmp(cur, value)) return 0; /* already so: no write (works on a read-only /proc/sys too) */
  }
  cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return cell_error(err, errno, "sysctl: open %s", path);
  size_t len = strlen(value);
  if (write(fd, value, len) != (ssize_t)len) return cell_error(err, errno, "sysctl: write %s = %s", path, value);
  return 0;
}

int nl_sysctl_read(const char *key, char *buf, size_t size, struct cell_err *err) {
  char path[256];
  if (snprintf(path, sizeof path, "/proc/sys/%s", key) >= (int)sizeof path)
    return cell_error(err, ENAMETOOLONG, "sysctl %s", key);
  if (cell_read_small(path, buf, size) < 0) return cell_error(err, errno, "sysctl: read %s", path);
  size_t l = strlen(buf);
  while (l && (buf[l - 1] == '\n' || buf[l - 1] == ' ')) buf[--l] = 0;
  return 0;
}
