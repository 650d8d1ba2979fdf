/* digest.c - streaming SHA-256 through OpenSSL EVP. */
#include "images/digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

int img_hash_init(struct img_hash *h) {
  h->n = 0;
  h->ctx = EVP_MD_CTX_new();
  if (!h->ctx) return -1;
  if (!EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL)) {
    img_hash_free(h);
    return -1;
  }
  return 0;
}

void img_hash_update(struct img_hash *h, const void *p, size_t n) {
  if (h->ctx && n) EVP_DigestUpdate(h->ctx, p, n);
  h->n += n;
}

void img_hash_final(struct img_hash *h, char out[72]) {
  unsigned char md[32];
  unsigned int len = 0;
  strcpy(out, "sha256:");
  if (!h->ctx || !EVP_DigestFinal_ex(h->ctx, md, &len)) memset(md, 0, sizeof md);
  for (int i = 0; i < 32; i++) sprintf(out + 7 + 2 * i, "%02x", md[i]);
  img_hash_free(h);
}

void img_hash_free(struct img_hash *h) {
  if (h->ctx) EVP_MD_CTX_free(h->ctx);
  h->ctx = NULL;
}

int img_sha256_buf(const void *p, size_t n, char out[72]) {
  struct img_hash h;
  if (img_hash_init(&h) < 0) return -1;
  img_hash_update(&h, p, n);
  img_hash_final(&h, out);
  return 0;
}
