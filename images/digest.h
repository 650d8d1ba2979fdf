/* digest.h - streaming SHA-256 (OpenSSL EVP) as "sha256:<hex>" (images/ only). */
#ifndef CELL_IMAGES_DIGEST_H
#define CELL_IMAGES_DIGEST_H

#include <stddef.h>
#include <stdint.h>

struct img_hash {
  void *ctx; /* EVP_MD_CTX */
  uint64_t n; /* bytes hashed */
};
int img_hash_init(struct img_hash *h);
void img_hash_update(struct img_hash *h, const void *p, size_t n);
/* "sha256:<hex>" of what was hashed; frees the context. */
void img_hash_final(struct img_hash *h, char out[72]);
void img_hash_free(struct img_hash *h);
int img_sha256_buf(const void *p, size_t n, char out[72]);

#endif
