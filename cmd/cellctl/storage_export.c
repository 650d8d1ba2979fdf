/* storage_export.c - `cellctl export NAME FILE|-` and `cellctl import
 * FILE|- NAME`.  export writes an archive that podman load / docker load
 * take: the environment's image layers plus one layer with its own files
 * (its overlay upper dir; whiteouts become .wh. entries), through the image
 * store's img_export.  A running environment is frozen only while its upper
 * dir is copied aside.  import loads the archive into the image store
 * (img_import_path) and creates an environment from it. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <ctype.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cellctl/cellctl.h"
#include "cmd/cellctl/env_cmd.h"
#include "cmd/cellctl/storage_cmd.h"
#include "images/images.h"
#include "lib/file.h"
#include "storage/storage.h"

#define EXPORT_TMP ".export-files"

/* The upper dir to export: itself when stopped, a copy (made while frozen)
 * when running.  *copied says a copy was made. */
static int export_files(struct env *e, char *dir, size_t n, bool *copied, struct cell_err *err) {
  *copied = false;
  cell_rm_rf_at(e->dirfd, EXPORT_TMP); /* a killed export's leftover */
  struct storcmd_hold h;
  if (storcmd_hold(e, true, &h, err) < 0) return -1;
  int r = 0;
  if (h.running) {
    cleanup_close int src = open(h.upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (src < 0) r = cell_error(err, errno, "open %s", h.upper);
    else if (syncfs(src) < 0) r = cell_error(err, errno, "syncfs %s", h.upper);
    else r = storage_copy_treeat(src, e->dirfd, EXPORT_TMP, 0, NULL, err);
    snprintf(dir, n, "%s/%s", e->dir, EXPORT_TMP);
    *copied = r == 0;
  } else {
    snprintf(dir, n, "%s", h.upper);
  }
  if (h.running || r < 0) {
    if (storcmd_release(&h, err) < 0) r = -1;
  }
  /* stopped with a disk: stays attached until export_done */
  return r < 0 ? -1 : 0;
}

static void export_done(struct env *e, bool copied) {
  struct cell_err ignored;
  if (copied) cell_rm_rf_at(e->dirfd, EXPORT_TMP);
  struct env_status st;
  if (env_status(e, &st, &ignored) == 0 && st.state == ENV_STOPPED) storage_env_disk_detach(e->dir, &ignored);
}

/* "cellctl/NAME:latest", lower-cased (image names are). */
static void default_ref(const char *name, char *out, size_t n) {
  snprintf(out, n, "cellctl/%s:latest", name);
  for (char *p = out; *p; p++) *p = (char)tolower((unsigned char)*p);
}

static int export_main(int argc, char **argv) {
  static const struct option opts[] = {{"format", required_argument, 0, 'f'}, {"name", required_argument, 0, 'n'},
                                       {0, 0, 0, 0}};
  const char *format = "oci", *ref_name = NULL;
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (c == 'f') format = optarg;
    else if (c == 'n') ref_name = optarg;
    else return cellctl_usage("export", "invalid option %s", argv[optind - 1]);
  }
  if (argc - optind != 2) return cellctl_usage("export", "requires exactly two arguments: NAME FILE (or - for stdout)");
  if (strcmp(format, "oci") && strcmp(format, "docker"))
    return cellctl_usage("export", "--format: \"%s\" is neither oci nor docker", format);
  const char *name = argv[optind], *path = argv[optind + 1];
  if (!strcmp(path, "-") && isatty(1)) return cellctl_usage("export", "refusing to write an archive to a terminal");
  struct cell_err err = {0};
  struct env *e;
  if (envcmd_open(name, &e, &err) < 0) return cellctl_fail(&err);
  const char *image = env_config_get(e->cfg, "image");
  if (!image) {
    cell_error(&err, 0, "export: environment \"%s\" has no image (created with --rootfs): export writes the image's "
               "layers plus its own files, so it needs one made with --image", name);
    env_close(e);
    return cellctl_fail(&err);
  }
  char ref[256], files[4096 + 64];
  if (!ref_name) default_ref(name, ref, sizeof ref);
  bool copied = false;
  double t0 = storcmd_now();
  int r = export_files(e, files, sizeof files, &copied, &err);
  struct img_store *s = NULL;
  if (r == 0) r = img_store_open(cg.root, &s, &err);
  if (r == 0) r = img_export(s, image, path, format, files, ref_name ? ref_name : ref, &err);
  if (s) img_store_close(s);
  export_done(e, copied);
  env_close(e);
  if (r < 0) return cellctl_fail(&err);
  if (strcmp(path, "-")) {
    struct stat st;
    double mb = stat(path, &st) == 0 ? (double)st.st_size / 1048576.0 : 0;
    double secs = storcmd_now() - t0;
    if (!cg.json) printf("exported %s to %s (%.1f MiB in %.2f s)\n", name, path, mb, secs);
  }
  return 0;
}

/* stdin into an anonymous file under ROOT (nothing left if killed). */
static int spool_stdin(char *path, size_t n, int *fdp, struct cell_err *err) {
  if (cell_mkdir_p(cg.root, 0711) < 0) return cell_error(err, errno, "create %s", cg.root);
  int fd = open(cg.root, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return cell_error(err, errno, "a temporary file in %s for stdin", cg.root);
  char buf[1 << 16];
  for (;;) {
    ssize_t k = read(0, buf, sizeof buf);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      close(fd);
      return cell_error(err, errno, "read stdin");
    }
    if (k == 0) break;
    for (ssize_t w = 0; w < k;) {
      ssize_t m = write(fd, buf + w, (size_t)(k - w));
      if (m < 0) {
        close(fd);
        return cell_error(err, errno, "spool stdin in %s", cg.root);
      }
      w += m;
    }
  }
  *fdp = fd;
  snprintf(path, n, "/proc/self/fd/%d", fd);
  return 0;
}

static int import_main(int argc, char **argv) {
  static const struct option opts[] = {{"init", required_argument, 0, 'i'}, {"hostname", required_argument, 0, 'H'},
                                       {"privileged", no_argument, 0, 'P'}, {0, 0, 0, 0}};
  const char *init = "systemd", *hostname = NULL;
  bool privileged = false;
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (c == 'i') init = optarg;
    else if (c == 'H') hostname = optarg;
    else if (c == 'P') privileged = true;
    else return cellctl_usage("import", "invalid option %s", argv[optind - 1]);
  }
  if (argc - optind != 2) return cellctl_usage("import", "requires exactly two arguments: FILE (or - for stdin) NAME");
  const char *file = argv[optind], *name = argv[optind + 1];
  struct cell_err err = {0};
  if (env_name_valid(name, &err) < 0) return cellctl_usage("import", "%s", err.msg);
  struct env_config *cfg = env_config_new(name);
  if (!cfg) return cellctl_usage("import", "out of memory");
  int r = env_config_set(cfg, "init", init, &err);
  if (r == 0 && hostname) r = env_config_set(cfg, "hostname", hostname, &err);
  if (r == 0 && privileged) r = env_config_set(cfg, "privileged", "true", &err);
  if (r < 0) {
    env_config_free(cfg);
    return cellctl_usage("import", "--%s", err.msg);
  }
  char path[64], id[72] = "";
  cleanup_close int spool = -1;
  if (!strcmp(file, "-")) r = spool_stdin(path, sizeof path, &spool, &err);
  struct img_store *s = NULL;
  if (r == 0) r = img_store_open(cg.root, &s, &err);
  if (r == 0) r = img_import_path(s, spool >= 0 ? path : file, NULL, id, &err);
  if (s) img_store_close(s);
  if (r == 0) r = env_config_set(cfg, "image", id, &err);
  if (r == 0) r = env_create(cg.root, cg.run_dir, name, cfg, &err);
  env_config_free(cfg);
  if (r < 0) return cellctl_fail(&err);
  if (!cg.json) printf("imported %s as %s (image %s)\n", file, name, id);
  else printf("{\"name\":\"%s\",\"image\":\"%s\"}\n", name, id);
  return 0;
}

CELLCTL_VERB(export, "export", "export NAME FILE|- [--format oci|docker] [--name REF]",
             "write an environment as an image archive (its image's layers + its own files) podman/docker load",
             export_main)
CELLCTL_VERB(import, "import", "import FILE|- NAME [--init systemd|busybox|PATH] [--hostname H] [--privileged]",
             "make an environment from an image archive (cellctl export, podman/docker save)", import_main)
