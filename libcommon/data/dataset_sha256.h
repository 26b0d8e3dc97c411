/* dataset_sha256.h — SHA-256 (FIPS 180-4) for the identity of a dataset source (dataset_sha256.c), through
 * nettle (already linked through libarchive; its x86-64 build uses the CPU's SHA instructions where they
 * exist). A leaf of the data/ graph (dataset_internal.h): it uses nothing of the dataset code. */
#ifndef LFM_DATASET_SHA256_H
#define LFM_DATASET_SHA256_H

#include <nettle/sha2.h>
#include <stddef.h>
#include <stdint.h>

typedef struct source_hash {
	struct sha256_ctx sha; /* nettle's */
} source_hash;
void source_hash_init(source_hash *c);
void source_hash_update(source_hash *c, const void *data, size_t n);
void source_hash_final(source_hash *c, uint8_t digest[32]);
/* "prefix" followed by the 64 lower-case hex digits, in out (at least strlen(prefix) + 65 bytes). */
void source_hash_hex(const uint8_t digest[32], const char *prefix, char *out);

#endif
