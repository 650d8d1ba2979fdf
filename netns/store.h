/* store.h - the network store under ROOT/net/ (internal to netns/):
 *   ROOT/net/.lock              flock held by every command that changes anything
 *   ROOT/net/NAME/config.json   the network (struct netns_network)
 *   ROOT/net/NAME/leases.json   its endpoints and their addresses (the lease file)
 *   ROOT/net/forwards.json      port forwards
 * Files are replaced atomically (write + rename). */
#ifndef CELL_NETNS_STORE_H
#define CELL_NETNS_STORE_H

#include <stddef.h>
#include <sys/types.h>

#include "lib/error.h"
#include "netns/netns.h"

enum lease_state { LEASE_ATTACHING, LEASE_ATTACHED };

/* One endpoint in leases.json. */
struct lease {
  struct netns_endpoint ep;
  enum lease_state state;
  pid_t pid; /* the command that attached it */
};

struct store {
  int dirfd;  /* ROOT/net */
  int lockfd; /* ROOT/net/.lock, flocked */
};

/* mkdir -p ROOT/net, lock it (blocks).  store_close unlocks. */
int store_open(const char *root, struct store *st, struct cell_err *err);
void store_close(struct store *st);

int netns_name_check(const char *what, const char *name, struct cell_err *err);

int store_net_load(struct store *st, const char *name, struct netns_network *out, struct cell_err *err);
int store_net_save(struct store *st, const struct netns_network *net, struct cell_err *err);
int store_net_remove(struct store *st, const char *name, struct cell_err *err);
/* Names of the networks (sorted), malloc'd array of malloc'd strings. */
int store_net_names(struct store *st, char ***names, size_t *n, struct cell_err *err);
void store_names_free(char **names, size_t n);

/* The lease file: text <-> array (pure, for the unit tests too). */
char *lease_render(const struct lease *l, size_t n);
int lease_parse(const char *text, struct lease **out, size_t *n, const char *where, struct cell_err *err);
/* Load (a missing file: none) and save under dirfd (ROOT/net/NAME). */
int store_leases_load(struct store *st, const char *net, struct lease **out, size_t *n, struct cell_err *err);
int store_leases_save(struct store *st, const char *net, const struct lease *l, size_t n, struct cell_err *err);
int lease_load_at(int dirfd, const char *file, struct lease **out, size_t *n, struct cell_err *err);
int lease_save_at(int dirfd, const char *file, const struct lease *l, size_t n, struct cell_err *err);

int store_forwards_load(struct store *st, struct netns_forward **out, size_t *n, struct cell_err *err);
int store_forwards_save(struct store *st, const struct netns_forward *f, size_t n, struct cell_err *err);

#endif
