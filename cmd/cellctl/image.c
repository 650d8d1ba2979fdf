/* image.c - `cellctl image import|ls|inspect|rm|unpack|export` over the image store (images/images.h).
 * (`image pull` and `image bootstrap` are their own files.) */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cellctl/cellctl.h"
#include "images/images.h"

static struct img_store *open_store(struct cell_err *err) {
  struct img_store *s = NULL;
  if (img_store_open(cg.root, &s, err) < 0) return NULL;
  return s;
}

/* getopt over a verb's argv (argv[0] is the verb's word); returns optind or -1 (usage error printed). */
static int parse(const char *verb, int argc, char **argv, const struct option *lo, const char *so,
                 int (*on)(int c, const char *arg, void *ctx), void *ctx) {
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
    if (c == '?' || c == ':') {
      cellctl_usage(verb, "unknown or incomplete option '%s'", argv[optind - 1]);
      return -1;
    }
    if (on(c, optarg, ctx) < 0) return -1;
  }
  return optind;
}

static int on_json(int c, const char *arg, void *ctx) {
  (void)arg;
  (void)ctx;
  if (c == 'j') cg.json = true;
  return 0;
}

static const struct option json_opts[] = {{"json", no_argument, 0, 'j'}, {0, 0, 0, 0}};

/* ---- import ---- */
struct import_opts {
  const char *name;
};
static int on_import(int c, const char *arg, void *ctx) {
  struct import_opts *o = ctx;
  if (c == 'n') o->name = arg;
  return 0;
}

static int cmd_import(int argc, char **argv) {
  static const struct option lo[] = {{"name", required_argument, 0, 'n'}, {0, 0, 0, 0}};
  struct import_opts o = {0};
  int i = parse("image import", argc, argv, lo, "+n:", on_import, &o);
  if (i < 0) return 2;
  if (argc - i != 1) return cellctl_usage("image import", "expects one PATH");
  struct cell_err err = {0};
  struct img_store *s = open_store(&err);
  if (!s) return cellctl_fail(&err);
  char id[72];
  int r = img_import_path(s, argv[i], o.name, id, &err);
  img_store_close(s);
  if (r < 0) return cellctl_fail(&err);
  printf("%s\n", id);
  return 0;
}
CELLCTL_VERB(image_import, "image import", "image import PATH [--name NAME[:TAG]]",
             "import a docker-archive, OCI layout (dir or tar) or rootfs tarball (.tar, .tar.gz, .tar.zst)",
             cmd_import)

/* ---- ls ---- */
static void human_size(double b, char *out, size_t n) {
  const char *u[] = {"B", "kB", "MB", "GB", "TB"};
  int k = 0;
  while (b >= 1000 && k < 4) b /= 1000, k++;
  snprintf(out, n, k ? "%.1f %s" : "%.0f %s", b, u[k]);
}

static int cmd_ls(int argc, char **argv) {
  int i = parse("image ls", argc, argv, json_opts, "+", on_json, NULL);
  if (i < 0) return 2;
  if (i != argc) return cellctl_usage("image ls", "takes no arguments");
  struct cell_err err = {0};
  struct img_store *s = open_store(&err);
  if (!s) return cellctl_fail(&err);
  cJSON *list = NULL;
  int r = img_list(s, &list, &err);
  img_store_close(s);
  if (r < 0) return cellctl_fail(&err);
  if (cg.json) {
    char *t = cJSON_Print(list);
    printf("%s\n", t ? t : "[]");
    free(t);
  } else {
    printf("%-14s %-40s %-20s %10s %6s %s\n", "ID", "NAMES", "CREATED", "SIZE", "LAYERS", "USERS");
    const cJSON *e;
    cJSON_ArrayForEach(e, list) {
      char names[1024] = "", sz[32];
      const cJSON *n;
      cJSON_ArrayForEach(n, cJSON_GetObjectItem(e, "names")) {
        size_t l = strlen(names);
        snprintf(names + l, sizeof names - l, "%s%s", l ? "," : "", n->valuestring);
      }
      human_size(cJSON_GetObjectItem(e, "size")->valuedouble, sz, sizeof sz);
      printf("%-14.12s %-40s %-20.19s %10s %6d %d\n", cJSON_GetObjectItem(e, "id")->valuestring + 7,
             names[0] ? names : "<none>", cJSON_GetObjectItem(e, "created")->valuestring, sz,
             cJSON_GetObjectItem(e, "layers")->valueint, cJSON_GetArraySize(cJSON_GetObjectItem(e, "users")));
    }
  }
  cJSON_Delete(list);
  return 0;
}
CELLCTL_VERB(image_ls, "image ls", "image ls [--json]", "list the images of the store", cmd_ls)

/* ---- inspect ---- */
static int cmd_inspect(int argc, char **argv) {
  int i = parse("image inspect", argc, argv, json_opts, "+", on_json, NULL);
  if (i < 0) return 2;
  if (argc - i != 1) return cellctl_usage("image inspect", "expects one image (NAME[:TAG], ID or ID prefix)");
  struct cell_err err = {0};
  struct img_store *s = open_store(&err);
  if (!s) return cellctl_fail(&err);
  cJSON *o = NULL;
  int r = img_inspect(s, argv[i], &o, &err);
  img_store_close(s);
  if (r < 0) return cellctl_fail(&err);
  if (cg.json) {
    char *t = cJSON_Print(o);
    printf("%s\n", t ? t : "{}");
    free(t);
  } else {
    const cJSON *n, *l;
    printf("ID:       %s\nNames:   ", cJSON_GetObjectItem(o, "id")->valuestring);
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(o, "names")) printf(" %s", n->valuestring);
    printf("\nCreated:  %s\nLayers:\n", cJSON_GetObjectItem(o, "created")->valuestring);
    cJSON_ArrayForEach(l, cJSON_GetObjectItem(o, "layer_list"))
      printf("  %s  %s  %.0f bytes%s\n", cJSON_GetObjectItem(l, "digest")->valuestring,
             cJSON_GetObjectItem(l, "mediaType")->valuestring, cJSON_GetObjectItem(l, "size")->valuedouble,
             cJSON_IsTrue(cJSON_GetObjectItem(l, "unpacked")) ? "  (unpacked)" : "");
    char *cfg = cJSON_Print(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "config"), "config"));
    printf("Config:   %s\n", cfg ? cfg : "{}");
    free(cfg);
    char *u = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, "users"));
    printf("Users:    %s\n", u ? u : "[]");
    free(u);
  }
  cJSON_Delete(o);
  return 0;
}
CELLCTL_VERB(image_inspect, "image inspect", "image inspect IMAGE [--json]",
             "show an image: id, names, layers, config, users", cmd_inspect)

/* ---- rm ---- */
static int on_force(int c, const char *arg, void *ctx) {
  (void)arg;
  if (c == 'f') *(bool *)ctx = true;
  return 0;
}

static int cmd_rm(int argc, char **argv) {
  static const struct option lo[] = {{"force", no_argument, 0, 'f'}, {0, 0, 0, 0}};
  bool force = false;
  int i = parse("image rm", argc, argv, lo, "+f", on_force, &force);
  if (i < 0) return 2;
  if (i >= argc) return cellctl_usage("image rm", "expects at least one image");
  struct cell_err err = {0};
  struct img_store *s = open_store(&err);
  if (!s) return cellctl_fail(&err);
  int rc = 0;
  for (; i < argc; i++) {
    if (img_remove(s, argv[i], force, &err) < 0) rc = cellctl_fail(&err);
    else printf("%s\n", argv[i]);
  }
  img_store_close(s);
  return rc;
}
CELLCTL_VERB(image_rm, "image rm", "image rm IMAGE... [--force]",
             "remove images (refused while an environment uses one, unless --force)", cmd_rm)

/* ---- unpack ---- */
static int on_none(int c, const char *arg, void *ctx) {
  (void)c;
  (void)arg;
  (void)ctx;
  return 0;
}

static int cmd_unpack(int argc, char **argv) {
  static const struct option lo[] = {{0, 0, 0, 0}};
  int i = parse("image unpack", argc, argv, lo, "+", on_none, NULL);
  if (i < 0) return 2;
  if (argc - i != 2) return cellctl_usage("image unpack", "expects IMAGE and DIR");
  struct cell_err err = {0};
  struct img_store *s = open_store(&err);
  if (!s) return cellctl_fail(&err);
  int r = img_unpack(s, argv[i], argv[i + 1], &err);
  img_store_close(s);
  return r < 0 ? cellctl_fail(&err) : 0;
}
CELLCTL_VERB(image_unpack, "image unpack", "image unpack IMAGE DIR",
             "write the image's root filesystem into DIR (new or empty), for `cell run` or anything else", cmd_unpack)

/* ---- export ---- */
struct export_opts {
  const char *format, *name, *layer;
};
static int on_export(int c, const char *arg, void *ctx) {
  struct export_opts *o = ctx;
  if (c == 'f') o->format = arg;
  else if (c == 'n') o->name = arg;
  else if (c == 'l') o->layer = arg;
  return 0;
}

static int cmd_export(int argc, char **argv) {
  static const struct option lo[] = {{"format", required_argument, 0, 'f'}, {"name", required_argument, 0, 'n'},
                                     {"add-layer", required_argument, 0, 'l'}, {0, 0, 0, 0}};
  struct export_opts o = {.format = "oci"};
  int i = parse("image export", argc, argv, lo, "+f:n:l:", on_export, &o);
  if (i < 0) return 2;
  if (argc - i != 2) return cellctl_usage("image export", "expects IMAGE and FILE (- for stdout)");
  if (strcmp(o.format, "oci") && strcmp(o.format, "docker"))
    return cellctl_usage("image export", "--format: '%s' is neither oci nor docker", o.format);
  struct cell_err err = {0};
  struct img_store *s = open_store(&err);
  if (!s) return cellctl_fail(&err);
  int r = img_export(s, argv[i], argv[i + 1], o.format, o.layer, o.name, &err);
  img_store_close(s);
  return r < 0 ? cellctl_fail(&err) : 0;
}
CELLCTL_VERB(image_export, "image export", "image export IMAGE FILE [--format oci|docker] [--name NAME[:TAG]] [--add-layer DIR]",
             "write an archive that `podman load` and `docker load` accept (FILE - is stdout); --add-layer: "
             "DIR (an overlayfs upper dir) as one more layer", cmd_export)
