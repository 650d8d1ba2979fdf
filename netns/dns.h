/* dns.h - a dnsmasq per network that answers the names of the environments
 * attached to it (an addn-hosts file), nothing else: no DHCP, no upstream
 * servers (--no-resolv), not /etc/hosts (--no-hosts).
 *
 * Files, all under RUNDIR/dns-NETWORK/ (created by start, removed by stop):
 *   pid    dnsmasq's pid (written by cell after fork, before exec)
 *   hosts  the addn-hosts file ("ADDR NAME" lines), replaced atomically
 *   log    dnsmasq's stderr
 * dnsmasq runs in the caller's network namespace, bound only to the given
 * listen addresses (--bind-dynamic, so an address that appears later is
 * picked up), as user nobody: RUNDIR and its parents must be searchable by
 * others (mode o+x), start checks it and says which one is not.
 * It is started with fork+execvp (no shell), in its own session, with
 * --keep-in-foreground; stop checks that the pid is still that dnsmasq
 * (its /proc/PID/exe and start time, recorded in the pid file) before
 * SIGTERM, waits for it to go, and removes the directory.  A start when one
 * is already running for the network is a no-op (0); a stale pid file is
 * replaced. */
#ifndef CELL_NETNS_DNS_H
#define CELL_NETNS_DNS_H

#include <stddef.h>
#include <sys/types.h>

#include "lib/error.h"

struct netns_dns_host {
  const char *name; /* a DNS label or name: [A-Za-z0-9.-] */
  const char *addr; /* IPv4 or IPv6 address */
};

/* listen_addr: one address or several separated by commas
 * ("10.0.3.1,fd42::1"); bridge: the network's bridge or NULL, not used
 * (dnsmasq binds by address only: --interface would add loopback too).
 * The hosts file starts empty unless update_hosts wrote one before. */
int netns_dns_start(const char *rundir, const char *network, const char *listen_addr,
                    const char *bridge, struct cell_err *err);

/* Write the hosts file (atomically) and SIGHUP dnsmasq so it re-reads it.
 * Works (writes the file) when dnsmasq is not running. */
int netns_dns_update_hosts(const char *rundir, const char *network,
                           const struct netns_dns_host *hosts, size_t n, struct cell_err *err);

/* Stop the network's dnsmasq (if it runs and is ours) and remove
 * RUNDIR/dns-NETWORK.  No error when nothing runs. */
int netns_dns_stop(const char *rundir, const char *network, struct cell_err *err);

/* The running dnsmasq's pid, 0 if none (for status and tests). */
pid_t netns_dns_pid(const char *rundir, const char *network);

#endif
