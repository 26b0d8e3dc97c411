/* dataset_sha256.c — SHA-256 (FIPS 180-4) for the identity of a dataset source, through nettle.
 *
 * Why SHA-256 rather than a faster 64-bit hash: the value is what `sha256sum` prints and what dataset
 * publishers list, so the samples stream's header can be checked against a published checksum by hand.
 * It is computed during the indexing pass, beside the decompression that pass does anyway. */
#include "data/dataset_sha256.h"

#include <stdio.h>
#include <string.h>

void source_hash_init(source_hash *c)
{
	sha256_init(&c->sha);
}

void source_hash_update(source_hash *c, const void *data, size_t n)
{
	sha256_update(&c->sha, n, data);
}

void source_hash_final(source_hash *c, uint8_t digest[32])
{
	sha256_digest(&c->sha, SHA256_DIGEST_SIZE, digest);
}

void source_hash_hex(const uint8_t digest[32], const char *prefix, char *out)
{
	size_t n = strlen(prefix);
	memcpy(out, prefix, n);
	for (int i = 0; i < 32; i++)
		snprintf(out + n + 2 * i, 3, "%02x", digest[i]);
}
