/* env_create.c - `cellctl create NAME --rootfs DIR | --image REF [limits...]`. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cellctl/cellctl.h"
#include "cmd/cellctl/env_cmd.h"
#include "images/images.h"

static int check_image(const char *ref, struct cell_err *err) {
  struct img_store *s;
  char **dirs = NULL;
  if (img_store_open(cg.root, &s, err) < 0) return cell_error_wrap(err, "--image %s", ref);
  int r = img_rootfs_layers(s, ref, &dirs, err);
  img_store_close(s);
  img_free_strv(dirs);
  return r < 0 ? cell_error_wrap(err, "--image %s", ref) : 0;
}

static int import_tar(const char *path, char id[72], struct cell_err *err) {
  struct img_store *s;
  if (img_store_open(cg.root, &s, err) < 0) return cell_error_wrap(err, "--rootfs %s", path);
  int r = img_import_path(s, path, NULL, id, err);
  img_store_close(s);
  return r < 0 ? cell_error_wrap(err, "--rootfs %s: import as an image", path) : 0;
}

static int create_main(int argc, char **argv) {
  static const struct option opts[] = {
      {"image", required_argument, 0, 'i'},      {"rootfs", required_argument, 0, 'r'},
      {"memory", required_argument, 0, 'm'},     {"swap", required_argument, 0, 's'},
      {"cpus", required_argument, 0, 'c'},       {"cpu-weight", required_argument, 0, 'w'},
      {"cpuset", required_argument, 0, 'C'},     {"pids", required_argument, 0, 'p'},
      {"io-weight", required_argument, 0, 'W'},  {"io-read-bps", required_argument, 0, '1'},
      {"io-write-bps", required_argument, 0, '2'}, {"io-read-iops", required_argument, 0, '3'},
      {"io-write-iops", required_argument, 0, '4'}, {"hostname", required_argument, 0, 'H'},
      {"init", required_argument, 0, 'I'},       {"privileged", no_argument, 0, 'P'},
      {"onboot", no_argument, 0, 'o'},           {"cellfs", required_argument, 0, 'f'},
      {"net", required_argument, 0, 'n'},        {"forward", required_argument, 0, 'F'},
      {"disk", required_argument, 0, 'd'},
      {0, 0, 0, 0}};
  struct cell_err err = {0};
  const char *keys[32], *vals[32];
  int nkv = 0, c, li;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", opts, &li)) != -1) {
    if (c == '?' || c == ':') return cellctl_usage("create", "invalid option %s", argv[optind - 1]);
    if (nkv == 32) return cellctl_usage("create", "too many options");
    keys[nkv] = opts[li].name;
    vals[nkv++] = c == 'P' || c == 'o' ? "true" : optarg;
  }
  if (optind != argc - 1) return cellctl_usage("create", "requires exactly one argument: the environment's name");
  const char *name = argv[optind];
  if (env_name_valid(name, &err) < 0) return cellctl_usage("create", "%s", err.msg);
  struct env_config *cfg = env_config_new(name);
  if (!cfg) return cellctl_usage("create", "out of memory");
  bool has_src = false;
  for (int i = 0; i < nkv; i++) {
    if (!strcmp(keys[i], "image") || !strcmp(keys[i], "rootfs")) {
      if (has_src) {
        env_config_free(cfg);
        return cellctl_usage("create", "--image and --rootfs: give exactly one");
      }
      has_src = true;
    }
    char abs[PATH_MAX];
    char id[72];
    if (!strcmp(keys[i], "image")) {
      /* it must resolve now: a missing image is an error here, not at start */
      if (check_image(vals[i], &err) < 0) {
        env_config_free(cfg);
        return cellctl_fail(&err);
      }
    }
    if (!strcmp(keys[i], "rootfs")) {
      struct stat sb;
      if (!realpath(vals[i], abs) || stat(abs, &sb) < 0) {
        env_config_free(cfg);
        cell_error(&err, errno, "--rootfs %s", vals[i]);
        return cellctl_fail(&err);
      }
      if (!S_ISDIR(sb.st_mode)) {
        /* a rootfs tar: imported as an image (shared, verified, unpacked once) */
        if (import_tar(abs, id, &err) < 0) {
          env_config_free(cfg);
          return cellctl_fail(&err);
        }
        keys[i] = "image";
        vals[i] = id;
      } else {
        vals[i] = abs;
      }
    }
    char joined[4096];
    const char *prev = (!strcmp(keys[i], "net") || !strcmp(keys[i], "forward")) ? env_config_get(cfg, keys[i]) : NULL;
    if (prev) { /* repeated: space separated */
      snprintf(joined, sizeof joined, "%s %s", prev, vals[i]);
      vals[i] = joined;
    }
    if (env_config_set(cfg, keys[i], vals[i], &err) < 0) {
      env_config_free(cfg);
      return cellctl_usage("create", "--%s", err.msg);
    }
  }
  if (!has_src) {
    env_config_free(cfg);
    return cellctl_usage("create", "--image REF or --rootfs DIR is required");
  }
  if (!env_config_get(cfg, "init")) env_config_set(cfg, "init", "systemd", &err);
  int rc = env_create(cg.root, cg.run_dir, name, cfg, &err);
  env_config_free(cfg);
  if (rc < 0) return cellctl_fail(&err);
  if (!cg.json) printf("created %s\n", name);
  return 0;
}

CELLCTL_VERB(create, "create",
             "create NAME --image REF | --rootfs DIR|TAR [--memory SIZE] [--swap SIZE] [--disk SIZE]\n"
             "       [--cpus N.N] [--cpu-weight N] [--cpuset LIST] [--pids N] [--io-weight N] [--io-read-bps \"MAJ:MIN RATE\"]\n"
             "       [--io-write-bps ...] [--io-read-iops ...] [--io-write-iops ...] [--hostname NAME]\n"
             "       [--init systemd|busybox|PATH] [--privileged] [--onboot] [--cellfs DIR|off]\n"
             "       [--net NETWORK[,ip=A][,ip6=A][,rate-in=R][,rate-out=R]]... [--forward HOSTPORT:PORT[/udp]]...",
             "create an environment (ROOT/vps/NAME/config)", create_main)
