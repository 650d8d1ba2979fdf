/* tc.h - traffic limits on an environment's host-side veth, over rtnetlink
 * (libmnl), no `tc` binary.
 *
 * Directions, seen from the environment:
 *  - rate_in  (traffic INTO the environment, its download) = egress of the
 *    host-side veth: a TBF qdisc at the veth's root.
 *  - rate_out (traffic OUT OF the environment, its upload) = ingress of the
 *    host-side veth: an ingress qdisc with a u32 match-all filter whose
 *    mirred action redirects every packet to an IFB device, and a TBF qdisc
 *    at the IFB's root (act_police is not available).
 * The IFB device is named after the veth (netns_tc_ifb_name) and carries the
 * veth's name as its alias; netns_tc_clear removes it, and so does
 * netns_tc_clear_name once the veth is gone.
 * Rates are bits per second; 0 means no limit in that direction.  Calling
 * netns_tc_set again changes the limits live (qdiscs replaced in place). */
#ifndef CELL_NETNS_TC_H
#define CELL_NETNS_TC_H

#include <net/if.h>
#include <stdint.h>

#include "lib/error.h"

/* Set (or change, or with 0 remove) the limits on the host-side link
 * ifindex_host_side in the calling thread's network namespace. */
int netns_tc_set(int ifindex_host_side, uint64_t rate_out_bps, uint64_t rate_in_bps,
                 struct cell_err *err);

/* Remove both limits: the root and ingress qdiscs of ifindex and its IFB
 * device.  No error when nothing is set. */
int netns_tc_clear(int ifindex, struct cell_err *err);

/* Remove the IFB device that belongs to the veth named veth_name (for
 * cleanup after the veth is gone, e.g. a killed attach). No error if absent. */
int netns_tc_clear_name(const char *veth_name, struct cell_err *err);

/* The IFB device's name for veth_name: "i-" + the veth name when it fits in
 * IFNAMSIZ, else "i-" + its first 5 characters + 8 hex digits of a hash of
 * the whole name. out must hold IFNAMSIZ bytes. */
void netns_tc_ifb_name(const char *veth_name, char out[IFNAMSIZ]);

/* Parse a rate: a decimal number with an optional unit, case-insensitive:
 * bit, kbit, mbit, gbit, tbit (powers of 1000), kibit, mibit, gibit, tibit
 * (powers of 1024), bps, kbps, mbps, gbps, tbps (bytes per second, as tc),
 * e.g. "10mbit", "1gbit", "1.5mbit", "800000". No unit means bit/s.  "0"
 * means no limit.  -1 with err naming the text (what names the option in
 * the message, e.g. "--rate-in"). */
int netns_rate_parse(const char *what, const char *text, uint64_t *bps, struct cell_err *err);

#endif
