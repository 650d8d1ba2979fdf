/* pull_layers.c - test helper: `pull_layers ROOT REF` prints the image's
 * layer dirs (img_rootfs_layers, top first), one a line. */
#include <stdio.h>

#include "images/images.h"

int main(int argc, char **argv) {
  struct cell_err err = {0};
  struct img_store *s = NULL;
  char **dirs = NULL;
  if (argc != 3) {
    fprintf(stderr, "usage: pull_layers ROOT REF\n");
    return 2;
  }
  if (img_store_open(argv[1], &s, &err) < 0 || img_rootfs_layers(s, argv[2], &dirs, &err) < 0) {
    fprintf(stderr, "pull_layers: %s\n", err.msg);
    img_store_close(s);
    return 1;
  }
  for (char **d = dirs; *d; d++) printf("%s\n", *d);
  img_free_strv(dirs);
  img_store_close(s);
  return 0;
}
