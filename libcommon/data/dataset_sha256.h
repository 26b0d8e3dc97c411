/* dataset_sha256.h — SHA-256 (FIPS 180-4), for the identity of a dataset source (dataset_sha256.c). A leaf
 * of the data/ graph (dataset_internal.h): it uses nothing of the dataset code. */
#ifndef LFM_DATASET_SHA256_H
#define LFM_DATASET_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
	uint32_t h[8];
	uint64_t bytes;
	uint8_t block[64];
	size_t used;
} sha256_ctx;
void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t n);
void sha256_final(sha256_ctx *c, uint8_t digest[32]);
/* "prefix" followed by the 64 lower-case hex digits, in out (at least strlen(prefix) + 65 bytes). */
void sha256_hex(const uint8_t digest[32], const char *prefix, char *out);

#endif
