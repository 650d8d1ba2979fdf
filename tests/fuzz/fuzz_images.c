/* fuzz_images.c - the image formats' JSON parsers (images/oci.h): an OCI manifest, an index, a config
 * and docker-archive's manifest.json, each from the same input; and the input's first line as an image
 * reference.  Built by mk/images.mk (it links images/oci.c, images/digest.c and libcrypto). */
#include <string.h>

#include "fuzz.h"
#include "images/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct cell_err err;
  struct img_manifest m;
  if (img_manifest_parse((const char *)data, size, &m, &err) == 0) {
    for (size_t i = 0; i < m.n_layers; i++)
      if (!img_digest_valid(m.layers[i].digest) || !img_layer_compression(m.layers[i].media_type)) abort();
    img_manifest_free(&m);
  } else {
    fuzz_report("manifest", err.msg);
  }
  struct img_index ix;
  if (img_index_parse((const char *)data, size, &ix, &err) == 0) img_index_free(&ix);
  char (*ids)[72] = NULL;
  size_t n = 0;
  if (img_config_parse((const char *)data, size, &ids, &n, &err) == 0) {
    char chain[72] = "";
    for (size_t i = 0; i < n; i++) img_chain_id(i ? chain : NULL, ids[i], chain);
    free(ids);
  }
  struct img_docker_manifest dm;
  if (img_docker_manifest_parse((const char *)data, size, &dm, &err) == 0) {
    for (size_t i = 0; i < dm.n_layers; i++)
      if (dm.layers[i][0] == '/' || strstr(dm.layers[i], "../") == dm.layers[i]) abort();
    img_docker_manifest_free(&dm);
  }
  char *s = fuzz_str(data, size < 300 ? size : 300);
  if (s) {
    s[strcspn(s, "\n")] = 0;
    char out[300];
    if (img_ref_normalize(s, out, sizeof out, &err) == 0 && !strchr(out, ':')) abort();
    free(s);
  }
  return 0;
}
