/* test_oci.c - the image formats' parsers (images/oci.h): manifest, index, config, docker-archive's
 * manifest.json, references, chain ids. */
#include <string.h>

#include "images/images.h"
#include "images/oci.h"
#include "unit.h"

#define A64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B64 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static int manifest(const char *j, struct img_manifest *m, struct cell_err *e) {
  return img_manifest_parse(j, strlen(j), m, e);
}

static void test_manifest(void) {
  struct img_manifest m;
  struct cell_err e = {0};
  const char *ok = "{\"schemaVersion\":2,\"mediaType\":\"" IMG_MT_OCI_MANIFEST "\","
                   "\"config\":{\"mediaType\":\"" IMG_MT_OCI_CONFIG "\",\"digest\":\"sha256:" A64 "\",\"size\":12},"
                   "\"layers\":[{\"mediaType\":\"" IMG_MT_OCI_LAYER "+gzip\",\"digest\":\"sha256:" B64 "\",\"size\":99},"
                   "{\"mediaType\":\"" IMG_MT_DOCKER_LAYER ".gzip\",\"digest\":\"sha256:" A64 "\",\"size\":0}]}";
  CHECK(manifest(ok, &m, &e) == 0, "manifest: a valid one parses");
  CHECK(m.n_layers == 2 && m.layers[0].size == 99 && !strcmp(m.layers[1].digest, "sha256:" A64), "manifest: layers");
  CHECK(m.config.size == 12, "manifest: config size");
  img_manifest_free(&m);

  CHECK(manifest("{\"schemaVersion\":1}", &m, &e) < 0 && strstr(e.msg, "\"schemaVersion\" is not 2"),
        "manifest: schemaVersion 1 refused");
  CHECK(manifest("{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:" A64 "\",\"size\":1}}", &m, &e) < 0 &&
            strstr(e.msg, "\"layers\" missing"),
        "manifest: missing layers named");
  CHECK(manifest("{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:" A64 "\",\"size\":1},\"layers\":["
                 "{\"mediaType\":\"" IMG_MT_OCI_LAYER "\",\"digest\":\"md5:abc\",\"size\":1}]}", &m, &e) < 0 &&
            strstr(e.msg, "\"layers\"[0]: \"digest\" 'md5:abc'"),
        "manifest: a bad layer digest names the layer");
  CHECK(manifest("{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:" A64 "\",\"size\":-1},\"layers\":[]}", &m, &e) < 0 &&
            strstr(e.msg, "\"config\": \"size\""),
        "manifest: negative size refused");
  CHECK(manifest("{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:" A64 "\",\"size\":1.5},\"layers\":[]}", &m, &e) < 0,
        "manifest: fractional size refused");
  CHECK(manifest("{\"schemaVersion\":2,\"mediaType\":\"" IMG_MT_OCI_INDEX "\",\"config\":{},\"layers\":[]}", &m, &e) < 0 &&
            strstr(e.msg, "is not an image manifest"),
        "manifest: an index mediaType refused");
  CHECK(manifest("{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:" A64 "\",\"size\":1},\"layers\":["
                 "{\"mediaType\":\"" IMG_MT_OCI_LAYER "+lz4\",\"digest\":\"sha256:" A64 "\",\"size\":1}]}", &m, &e) < 0 &&
            strstr(e.msg, "is not a layer type"),
        "manifest: unknown layer mediaType refused");
  CHECK(manifest("[1,2", &m, &e) < 0 && strstr(e.msg, "not valid JSON"), "manifest: broken JSON");
  CHECK(manifest("{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:" A64 "x\",\"size\":1},\"layers\":[]}", &m, &e) < 0,
        "manifest: 65-hex digest refused");
}

static void test_index(void) {
  struct img_index ix;
  struct cell_err e = {0};
  const char *j = "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" IMG_MT_OCI_MANIFEST "\",\"digest\":\"sha256:" A64
                  "\",\"size\":5,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
                  "{\"digest\":\"sha256:" B64 "\",\"size\":6,\"annotations\":{\"" IMG_REF_ANNOTATION "\":\"x:1\"}}]}";
  CHECK(img_index_parse(j, strlen(j), &ix, &e) == 0 && ix.n == 2, "index: parses");
  CHECK(!strcmp(ix.m[0].arch, "arm64") && !strcmp(ix.m[0].variant, "v8") && !strcmp(ix.m[0].os, "linux"), "index: platform");
  CHECK(!strcmp(ix.m[1].ref_name, "x:1"), "index: ref name annotation");
  img_index_free(&ix);
  const char *bad = "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"sha256:" A64 "\",\"size\":1,\"annotations\":[]}]}";
  CHECK(img_index_parse(bad, strlen(bad), &ix, &e) < 0 && strstr(e.msg, "\"manifests\"[0]: \"annotations\""),
        "index: annotations must be an object");
  CHECK(img_index_parse("{\"schemaVersion\":2}", 19, &ix, &e) < 0 && strstr(e.msg, "\"manifests\" missing"),
        "index: manifests missing");
}

static void test_config(void) {
  char (*ids)[72];
  size_t n;
  struct cell_err e = {0};
  const char *j = "{\"config\":{\"Cmd\":[\"sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:" A64 "\",\"sha256:" B64 "\"]}}";
  CHECK(img_config_parse(j, strlen(j), &ids, &n, &e) == 0 && n == 2 && !strcmp(ids[1], "sha256:" B64), "config: diff_ids");
  free(ids);
  const char *b1 = "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:" A64 "\",7]}}";
  CHECK(img_config_parse(b1, strlen(b1), &ids, &n, &e) < 0 && strstr(e.msg, "\"rootfs.diff_ids\"[1]"),
        "config: a bad diff_id is named by index");
  const char *b2 = "{\"rootfs\":{\"type\":\"tree\",\"diff_ids\":[]}}";
  CHECK(img_config_parse(b2, strlen(b2), &ids, &n, &e) < 0 && strstr(e.msg, "rootfs.type"), "config: rootfs.type");
  const char *b3 = "{\"config\":\"x\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
  CHECK(img_config_parse(b3, strlen(b3), &ids, &n, &e) < 0 && strstr(e.msg, "\"config\" is not an object"),
        "config: config must be an object");
  const char *ok0 = "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
  CHECK(img_config_parse(ok0, strlen(ok0), &ids, &n, &e) == 0 && n == 0, "config: no layers is fine");
  free(ids);
}

static void test_docker(void) {
  struct img_docker_manifest dm;
  struct cell_err e = {0};
  const char *j = "[{\"Config\":\"abc.json\",\"RepoTags\":[\"busybox:latest\"],\"Layers\":[\"l1/layer.tar\",\"l2.tar\"]}]";
  CHECK(img_docker_manifest_parse(j, strlen(j), &dm, &e) == 0, "docker: parses");
  CHECK(!strcmp(dm.config, "abc.json") && dm.n_tags == 1 && dm.n_layers == 2 && !strcmp(dm.layers[1], "l2.tar"),
        "docker: fields");
  img_docker_manifest_free(&dm);
  const char *t = "[{\"Config\":\"abc.json\",\"Layers\":[\"ok\",\"a/../../x\"]}]";
  CHECK(img_docker_manifest_parse(t, strlen(t), &dm, &e) < 0 && strstr(e.msg, "\"Layers\"[1]"), "docker: ../ layer refused");
  const char *a = "[{\"Config\":\"/etc/passwd\",\"Layers\":[]}]";
  CHECK(img_docker_manifest_parse(a, strlen(a), &dm, &e) < 0 && strstr(e.msg, "\"Config\""), "docker: absolute config refused");
  const char *nt = "[{\"Config\":\"c.json\",\"RepoTags\":null,\"Layers\":[]}]";
  CHECK(img_docker_manifest_parse(nt, strlen(nt), &dm, &e) == 0 && dm.n_tags == 0, "docker: RepoTags null");
  img_docker_manifest_free(&dm);
  CHECK(img_docker_manifest_parse("{}", 2, &dm, &e) < 0 && strstr(e.msg, "not an array"), "docker: an object refused");
}

static void test_refs(void) {
  char out[300];
  struct cell_err e = {0};
  CHECK(img_ref_normalize("busybox", out, sizeof out, &e) == 0 && !strcmp(out, "busybox:latest"), "ref: default tag");
  CHECK(img_ref_normalize("localhost:5000/a/b:v1.2", out, sizeof out, &e) == 0 && !strcmp(out, "localhost:5000/a/b:v1.2"),
        "ref: host:port and tag");
  CHECK(img_ref_normalize("localhost:5000/a", out, sizeof out, &e) == 0 && !strcmp(out, "localhost:5000/a:latest"),
        "ref: the port is no tag");
  CHECK(img_ref_normalize("Quay.IO/x/y", out, sizeof out, &e) == 0, "ref: uppercase host");
  CHECK(img_ref_normalize("Busybox", out, sizeof out, &e) < 0 && strstr(e.msg, "character 'B'"), "ref: uppercase name refused");
  CHECK(img_ref_normalize("a:b:c", out, sizeof out, &e) < 0, "ref: two colons refused");
  CHECK(img_ref_normalize("a:", out, sizeof out, &e) < 0 && strstr(e.msg, "tag"), "ref: empty tag");
  CHECK(img_ref_normalize("a//b", out, sizeof out, &e) < 0, "ref: empty component");
  CHECK(img_ref_normalize("", out, sizeof out, &e) < 0, "ref: empty");
  CHECK(img_ref_normalize("a:-x", out, sizeof out, &e) < 0, "ref: tag starting with -");
}

static void test_misc(void) {
  char c[72];
  CHECK(img_chain_id(NULL, "sha256:" A64, c) == 0 && !strcmp(c, "sha256:" A64), "chain: first = diff_id");
  CHECK(img_chain_id("sha256:" A64, "sha256:" B64, c) == 0 &&
            !strcmp(c, "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c"),
        "chain: sha256(parent + ' ' + diff_id)");
  CHECK(img_layer_compression(IMG_MT_OCI_LAYER) == IMG_COMP_NONE, "mediaType: tar");
  CHECK(img_layer_compression(IMG_MT_OCI_LAYER "+zstd") == IMG_COMP_ZSTD, "mediaType: zstd");
  CHECK(img_layer_compression(IMG_MT_DOCKER_LAYER ".gzip") == IMG_COMP_GZIP, "mediaType: docker gzip");
  CHECK(img_layer_compression("text/plain") == 0, "mediaType: unknown");
  CHECK(img_digest_valid("sha256:" A64) && !img_digest_valid("sha256:" A64 "0") && !img_digest_valid("sha512:" A64) &&
            !img_digest_valid("sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        "digest: sha256 + 64 lowercase hex only");
}

int main(void) {
  test_manifest();
  test_index();
  test_config();
  test_docker();
  test_refs();
  test_misc();
  UNIT_DONE();
}
