/* internal.h - what the netns/ files share (not part of the API). */
#ifndef CELL_NETNS_INTERNAL_H
#define CELL_NETNS_INTERNAL_H

#include "netns/netns.h"
#include "netns/nl.h"
#include "netns/store.h"

/* The nft table cell owns (nft.h); CELL_NFT_TABLE in the environment
 * overrides it (tests). */
const char *fw_table(void);
/* Re-applies cell's nft table from everything in the store. */
int fw_sync(struct store *st, struct cell_err *err);
/* Rewrites the network's resolver hosts file from the leases l[0..n). */
int dns_sync(struct store *st, const struct netns_network *net, const struct lease *l, size_t n,
             struct cell_err *err);
/* The directory the resolvers keep their files in: ROOT/net/.run */
int dns_rundir(struct store *st, char *out, size_t size, struct cell_err *err);

/* Bridge networks: the bridge exists, carries the gateways, is up. */
int net_bridge_ensure(struct nl *nl, const struct netns_network *net, struct cell_err *err);

/* Undo everything an endpoint may have (any state); best effort, the first
 * error is reported in err and -1 returned, but every step is tried. */
int ep_teardown(struct nl *nl, const struct netns_network *net, const struct lease *l, struct cell_err *err);
/* Under the lock: removes leases whose attach was killed or whose
 * namespace is gone, undoing what they left.  *changed set when any was. */
int repair_locked(struct store *st, struct nl *nl, const struct netns_network *net, bool *changed,
                  struct cell_err *err);

#endif
