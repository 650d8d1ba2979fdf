/* image_pull.c - `cellctl image pull` and `cellctl image bootstrap` (images/pull.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cellctl/cellctl.h"
#include "images/pull.h"

static int print_id(const char *id) {
  if (cg.json) printf("{\"id\":\"%s\"}\n", id);
  else printf("%s\n", id);
  return 0;
}

static int cmd_image_pull(int argc, char **argv) {
  static const struct option opts[] = {{"name", required_argument, 0, 'n'},
                                       {"insecure", no_argument, 0, 'k'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  struct img_pull_opts o = {0};
  int c;
  if (cellctl_wants_help(argc, argv)) return cellctl_print_usage("image pull");
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+n:kq", opts, NULL)) != -1) {
    switch (c) {
      case 'n': o.name = optarg; break;
      case 'k': o.insecure = true; break;
      case 'q': o.quiet = true; break;
      default: return cellctl_usage("image pull", "unknown option %s", argv[optind - 1]);
    }
  }
  if (optind != argc - 1) return cellctl_usage("image pull", "expected one image reference");
  if (o.name && !*o.name) return cellctl_usage("image pull", "--name: empty name");
  struct cell_err err = {0};
  char id[80];
  if (img_pull(cg.root, argv[optind], &o, id, sizeof id, &err) < 0) return cellctl_fail(&err);
  return print_id(id);
}

CELLCTL_VERB(image_pull, "image pull",
             "image pull REF [--name NAME[:TAG]] [--insecure] [--quiet]\n"
             "    REF: [REGISTRY/]REPO[:TAG][@sha256:DIGEST] (docker.io and library/ by default)\n"
             "    --insecure  allow plain HTTP (always allowed for localhost/127.0.0.1)\n"
             "    mirrors and credentials: ROOT/registries.conf (or $CELL_REGISTRIES_CONF), JSON:\n"
             "      {\"registries\": {\"docker.io\": {\"mirrors\": [\"mirror.example:5000\"]},\n"
             "                      \"reg.example\": {\"insecure\": true, \"username\": \"u\", \"password\": \"p\"},\n"
             "                      \"reg.internal\": {\"ca\": \"/etc/ssl/reg-ca.pem\"}}}\n"
             "    for a registry its mirrors are tried in order, then the registry itself",
             "pull an image from an OCI/Docker registry into the store (interrupted downloads resume)",
             cmd_image_pull)

static int cmd_image_bootstrap(int argc, char **argv) {
  static const struct option opts[] = {{"name", required_argument, 0, 'n'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  const char *name = NULL;
  int c;
  if (cellctl_wants_help(argc, argv)) return cellctl_print_usage("image bootstrap");
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+n:", opts, NULL)) != -1) {
    if (c != 'n') return cellctl_usage("image bootstrap", "unknown option %s", argv[optind - 1]);
    name = optarg;
  }
  if (optind != argc - 1) return cellctl_usage("image bootstrap", "expected one DIST[:SUITE]");
  if (name && !*name) return cellctl_usage("image bootstrap", "--name: empty name");
  struct cell_err err = {0};
  char id[80];
  if (img_bootstrap(cg.root, argv[optind], name, id, sizeof id, &err) < 0) return cellctl_fail(&err);
  return print_id(id);
}

CELLCTL_VERB(image_bootstrap, "image bootstrap",
             "image bootstrap DIST[:SUITE] [--name NAME[:TAG]]\n"
             "    DIST: debian (default suite bookworm) or ubuntu (default noble); the image is named\n"
             "    DIST:SUITE unless --name is given.  Uses mmdebstrap (--variant=minbase, with systemd)\n"
             "    and the host's apt sources for that distribution",
             "build a Debian/Ubuntu OS template with systemd (mmdebstrap) and store it as an image",
             cmd_image_bootstrap)
