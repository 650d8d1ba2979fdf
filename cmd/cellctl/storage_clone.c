/* storage_clone.c - `cellctl clone NAME NEW [--hostname H]`: a new
 * environment sharing NAME's lower layers (its image or rootfs: overlayfs
 * lowers, nothing copied) with an exact copy of NAME's upper dir (on a disk
 * of the same size when NAME has one), its own hostname (NEW unless
 * --hostname) and its own id range (the layers are idmapped at start, so the
 * files need no shifting).  A running NAME is frozen during the copy. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cmd/cellctl/cellctl.h"
#include "cmd/cellctl/env_cmd.h"
#include "cmd/cellctl/storage_cmd.h"
#include "storage/storage.h"

/* Keys that identify one environment on the host: a clone must not share
 * them (its hostname defaults to its name, env_create allocates its id
 * range; host port forwards can be had by one environment only). */
static const char *const own_keys[] = {"hostname", "idrange", "forward", "onboot"};

/* net = "NETWORK[,ip=A][,ip6=A][,rate-in=R][,rate-out=R] ...": the clone
 * joins the same networks with addresses of its own (allocated), so the
 * ip= and ip6= options go; the rest stays. */
static int clone_net(struct env_config *cfg, struct cell_err *err) {
  const char *net = env_config_get(cfg, "net");
  if (!net) return 0;
  size_t n = strlen(net);
  cleanup_free char *out = calloc(1, n + 1);
  if (!out) return cell_error(err, ENOMEM, "net");
  size_t o = 0;
  for (const char *p = net; *p;) {
    size_t len = strcspn(p, " ,");
    bool addr = (len >= 3 && !strncmp(p, "ip=", 3)) || (len >= 4 && !strncmp(p, "ip6=", 4));
    if (!addr) {
      if (o && p > net && p[-1] == ',') out[o++] = ',';
      else if (o) out[o++] = ' ';
      memcpy(out + o, p, len);
      o += len;
    }
    p += len;
    if (*p) p++;
  }
  out[o] = 0;
  return env_config_set(cfg, "net", out, err);
}

static int clone_config(struct env *src, const char *new_name, const char *hostname, struct env_config **out,
                        struct cell_err *err) {
  *out = env_config_new(new_name); /* its own header; every key of the source's copied over */
  if (!*out) return cell_error(err, ENOMEM, "config of %s", new_name);
  size_t nk;
  const struct env_key *k = env_keys(&nk);
  for (size_t i = 0; i < nk; i++) {
    const char *v = env_config_get(src->cfg, k[i].name);
    bool own = false;
    for (size_t j = 0; j < sizeof own_keys / sizeof own_keys[0]; j++) own |= !strcmp(k[i].name, own_keys[j]);
    if (v && !own && env_config_set(*out, k[i].name, v, err) < 0) goto fail;
  }
  if (clone_net(*out, err) < 0) goto fail;
  if (hostname && env_config_set(*out, "hostname", hostname, err) < 0) goto fail;
  return 0;
fail:
  cell_error_wrap(err, "%s", src->cfg_path);
  env_config_free(*out);
  *out = NULL;
  return -1;
}

/* The clone's overlay gets its own identity: overlayfs writes a fresh
 * trusted.overlay.uuid on the upper dir at the first mount. */
static int new_identity(const char *upper, struct cell_err *err) {
  if (removexattr(upper, "trusted.overlay.uuid") < 0 && errno != ENODATA)
    return cell_error(err, errno, "remove trusted.overlay.uuid of %s", upper);
  return 0;
}

/* The copy into the new environment's upper dir (its disk first when the
 * source has one). */
static int clone_files(struct storcmd_hold *h, const char *newdir, struct cell_err *err) {
  char upper[4096 + 32];
  snprintf(upper, sizeof upper, "%s/data/upper", newdir);
  if (!storage_env_has_disk(h->e->dir))
    return storage_replace_contents(h->upper, upper, 0, err) < 0 ? -1 : new_identity(upper, err);
  struct storage_env_disk d;
  if (storage_env_disk_describe(h->e->dir, &d, err) < 0) return -1;
  if (storage_env_disk_create(newdir, d.info.size, err) < 0 || storage_env_disk_attach(newdir, err) < 0) return -1;
  int r = storage_replace_contents(h->upper, upper, 0, err);
  if (r == 0) r = new_identity(upper, err);
  struct cell_err e2;
  if (storage_env_disk_detach(newdir, &e2) < 0 && r == 0) {
    *err = e2;
    r = -1;
  }
  return r;
}

#define CLONE_MARK ".clone-incomplete"

/* A clone killed midway leaves NEW with CLONE_MARK: a retry destroys it
 * first (under its lock, so never one still being made). */
static int clone_repair(const char *new_name, const char *newdir, struct cell_err *err) {
  char mark[4096 + 128];
  snprintf(mark, sizeof mark, "%s/" CLONE_MARK, newdir);
  if (access(mark, F_OK) != 0) return 0;
  struct env *ne;
  if (envcmd_open(new_name, &ne, err) < 0) return -1;
  if (access(mark, F_OK) != 0) { /* finished meanwhile */
    env_close(ne);
    return 0;
  }
  if (storage_env_disk_detach(newdir, err) < 0) {
    env_close(ne);
    return -1;
  }
  if (env_destroy(ne, true, err) < 0) return cell_error_wrap(err, "remove the half clone %s", new_name);
  return 0;
}

static int clone_main(int argc, char **argv) {
  static const struct option opts[] = {{"hostname", required_argument, 0, 'H'}, {0, 0, 0, 0}};
  const char *hostname = NULL;
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (c == 'H') hostname = optarg;
    else return cellctl_usage("clone", "invalid option %s", argv[optind - 1]);
  }
  if (argc - optind != 2) return cellctl_usage("clone", "requires exactly two arguments: NAME NEW");
  const char *name = argv[optind], *new_name = argv[optind + 1];
  struct cell_err err = {0};
  if (env_name_valid(new_name, &err) < 0) return cellctl_usage("clone", "%s", err.msg);
  double t0 = storcmd_now();
  struct env *e;
  if (envcmd_open(name, &e, &err) < 0) return cellctl_fail(&err);
  struct env_config *cfg = NULL;
  struct storcmd_hold h = {0};
  int r = clone_config(e, new_name, hostname, &cfg, &err);
  if (r == 0) r = storcmd_hold(e, true, &h, &err);
  bool created = false;
  double t1 = 0, t2 = 0;
  char newdir[4096 + 80];
  snprintf(newdir, sizeof newdir, "%s/vps/%s", cg.root, new_name);
  if (r == 0) r = clone_repair(new_name, newdir, &err);
  if (r == 0) {
    r = env_create(cg.root, cg.run_dir, new_name, cfg, &err);
    created = r == 0;
    t1 = storcmd_now();
  }
  char mark[4096 + 128];
  snprintf(mark, sizeof mark, "%s/" CLONE_MARK, newdir);
  if (r == 0) {
    int fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) r = cell_error(&err, errno, "create %s", mark);
    else close(fd);
  }
  if (r == 0) r = clone_files(&h, newdir, &err);
  if (r == 0 && unlink(mark) < 0) r = cell_error(&err, errno, "remove %s", mark);
  t2 = storcmd_now();
  if (h.e && storcmd_release(&h, &err) < 0) r = -1;
  env_config_free(cfg);
  env_close(e);
  if (r < 0 && created) { /* no half clone */
    struct env *ne;
    struct cell_err e2;
    if (envcmd_open(new_name, &ne, &e2) == 0) {
      storage_env_disk_detach(newdir, &e2);
      env_destroy(ne, true, &e2);
    }
  }
  if (r < 0) return cellctl_fail(&err);
  if (cg.json)
    printf("{\"clone\":\"%s\",\"from\":\"%s\",\"create_ms\":%.1f,\"copy_ms\":%.1f,\"total_ms\":%.1f}\n", new_name, name,
           (t1 - t0) * 1e3, (t2 - t1) * 1e3, (storcmd_now() - t0) * 1e3);
  else
    printf("cloned %s to %s in %.1f ms (create %.1f ms, upper copy %.1f ms)\n", name, new_name,
           (storcmd_now() - t0) * 1e3, (t1 - t0) * 1e3, (t2 - t1) * 1e3);
  return 0;
}

CELLCTL_VERB(clone, "clone", "clone NAME NEW [--hostname H]",
             "a new environment sharing NAME's layers with a copy of its own files", clone_main)
