/* storage_snapshot.c - `cellctl snapshot create|list|restore|rm NAME [SNAP]`:
 * exact copies of an environment's own files (its overlay upper dir, on its
 * disk when it has one) in ROOT/vps/NAME/snapshots/SNAP.  A running
 * environment is frozen (its cgroup) and its filesystem synced for create;
 * restore needs it stopped. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cmd/cellctl/cellctl.h"
#include "cmd/cellctl/env_cmd.h"
#include "cmd/cellctl/storage_cmd.h"
#include "storage/storage.h"

static void snapdir_of(struct env *e, char *buf, size_t n) { snprintf(buf, n, "%s/snapshots", e->dir); }

/* argv: VERB NAME [SNAP]; opens NAME. */
static int snap_args(const char *verb, int argc, char **argv, bool snap_required, bool snap_allowed, struct env **e,
                     const char **snap) {
  int pos = 1;
  if (argc > 1 && !strcmp(argv[1], "--")) pos++;
  int n = argc - pos;
  if (n < 1 || n > 2 || (n == 2 && !snap_allowed) || (n == 1 && snap_required))
    return cellctl_usage(verb, "%s", snap_required ? "requires NAME and SNAP" : snap_allowed ? "requires NAME [SNAP]"
                                                                                               : "requires NAME");
  if (argv[pos][0] == '-') return cellctl_usage(verb, "invalid option %s", argv[pos]);
  *snap = n == 2 ? argv[pos + 1] : NULL;
  struct cell_err err = {0};
  if (*snap && storage_snap_name_ok(*snap, &err) < 0) return cellctl_usage(verb, "%s", err.msg);
  if (envcmd_open(argv[pos], e, &err) < 0) return cellctl_fail(&err);
  return 0;
}

static int create_main(int argc, char **argv) {
  if (cellctl_wants_help(argc, argv)) return cellctl_print_usage("snapshot create");
  struct env *e;
  const char *snap;
  int r = snap_args("snapshot create", argc, argv, false, true, &e, &snap);
  if (r) return r;
  char name[64], sd[4096 + 16];
  if (!snap) { /* default: the time */
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(name, sizeof name, "snap-%Y%m%d-%H%M%S", &tm);
    snap = name;
  }
  snapdir_of(e, sd, sizeof sd);
  struct cell_err err = {0};
  struct storcmd_hold h;
  struct storage_copy_stats st = {0};
  double t0 = storcmd_now(), t1 = t0;
  r = storcmd_hold(e, true, &h, &err);
  if (r == 0) {
    r = storage_snap_create(sd, snap, h.upper, &st, &err);
    t1 = storcmd_now();
    if (storcmd_release(&h, &err) < 0) r = -1;
  }
  bool running = h.running;
  char ename[ENV_NAME_MAX + 1];
  snprintf(ename, sizeof ename, "%s", e->name);
  env_close(e);
  if (r < 0) return cellctl_fail(&err);
  if (cg.json) {
    printf("{\"snapshot\":\"%s\",\"files\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"seconds\":%.3f,\"frozen\":%s}\n", snap,
           st.files + st.links + st.dirs, st.bytes, t1 - t0, running ? "true" : "false");
  } else {
    printf("snapshot %s of %s: %" PRIu64 " entries, %" PRIu64 " bytes in %.3f s%s\n", snap, ename,
           st.files + st.links + st.dirs, st.bytes, t1 - t0, running ? " (frozen meanwhile)" : "");
  }
  return 0;
}

static int list_main(int argc, char **argv) {
  if (cellctl_wants_help(argc, argv)) return cellctl_print_usage("snapshot list");
  bool json = cg.json;
  if (argc > 1 && !strcmp(argv[1], "--json")) {
    json = true;
    argv++;
    argc--;
  }
  struct env *e;
  const char *snap;
  int r = snap_args("snapshot list", argc, argv, false, false, &e, &snap);
  if (r) return r;
  char sd[4096 + 16];
  snapdir_of(e, sd, sizeof sd);
  struct cell_err err = {0};
  struct storage_snap *v = NULL;
  size_t n = 0;
  r = storcmd_repair(e, &err);
  if (r == 0) r = storage_snap_list(sd, &v, &n, &err);
  env_close(e);
  if (r < 0) return cellctl_fail(&err);
  if (json) {
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "name", v[i].name);
      cJSON_AddNumberToObject(o, "created", (double)v[i].created);
      cJSON_AddNumberToObject(o, "bytes", (double)v[i].bytes);
      cJSON_AddItemToArray(a, o);
    }
    char *s = cJSON_PrintUnformatted(a);
    printf("%s\n", s ? s : "[]");
    cJSON_free(s);
    cJSON_Delete(a);
  } else {
    printf("%-32s %-20s %s\n", "SNAPSHOT", "CREATED (UTC)", "SIZE");
    for (size_t i = 0; i < n; i++) {
      char when[32], sz[32];
      time_t t = (time_t)v[i].created;
      struct tm tm;
      gmtime_r(&t, &tm);
      strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
      printf("%-32s %-20s %s\n", v[i].name, when, storage_format_size(v[i].bytes, sz, sizeof sz));
    }
  }
  free(v);
  return 0;
}

static int restore_main(int argc, char **argv) {
  if (cellctl_wants_help(argc, argv)) return cellctl_print_usage("snapshot restore");
  struct env *e;
  const char *snap;
  int r = snap_args("snapshot restore", argc, argv, true, true, &e, &snap);
  if (r) return r;
  char sd[4096 + 16];
  snapdir_of(e, sd, sizeof sd);
  struct cell_err err = {0};
  struct storcmd_hold h;
  r = storcmd_hold(e, false, &h, &err);
  if (r == 0 && h.running)
    r = cell_error(&err, 0, "environment \"%s\" is running: stop it before restoring a snapshot", e->name);
  if (r == 0) r = storage_snap_restore(sd, snap, h.upper, &err);
  if (h.e && storcmd_release(&h, &err) < 0) r = -1;
  char name[ENV_NAME_MAX + 1];
  snprintf(name, sizeof name, "%s", e->name);
  env_close(e);
  if (r < 0) return cellctl_fail(&err);
  if (!cg.json) printf("restored %s from snapshot %s\n", name, snap);
  return 0;
}

static int rm_main(int argc, char **argv) {
  if (cellctl_wants_help(argc, argv)) return cellctl_print_usage("snapshot rm");
  struct env *e;
  const char *snap;
  int r = snap_args("snapshot rm", argc, argv, true, true, &e, &snap);
  if (r) return r;
  char sd[4096 + 16];
  snapdir_of(e, sd, sizeof sd);
  struct cell_err err = {0};
  r = storage_snap_rm(sd, snap, &err);
  env_close(e);
  if (r < 0) return cellctl_fail(&err);
  if (!cg.json) printf("removed snapshot %s\n", snap);
  return 0;
}

CELLCTL_VERB(snapshot_create, "snapshot create", "snapshot create NAME [SNAP]",
             "snapshot an environment's own files (frozen and synced while it runs)", create_main)
CELLCTL_VERB(snapshot_list, "snapshot list", "snapshot list NAME [--json]", "list an environment's snapshots",
             list_main)
CELLCTL_VERB(snapshot_restore, "snapshot restore", "snapshot restore NAME SNAP",
             "bring an environment's files back exactly as in SNAP (stopped)", restore_main)
CELLCTL_VERB(snapshot_rm, "snapshot rm", "snapshot rm NAME SNAP", "remove a snapshot", rm_main)
