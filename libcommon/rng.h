/* rng.h — counter-based random numbers: Philox-4x32-10 (Salmon et al., SC'11, "Parallel random numbers:
 * as easy as 1, 2, 3"), keyed by (seed, stream).
 *
 * A generator is a position in a deterministic sequence of 128-bit blocks:
 *   block(seed, stream, counter) = Philox4x32-10(key = seed [2x32],
 *                                                ctr = {counter lo, counter hi, stream lo, stream hi})
 * so any draw can be recomputed from (seed, stream, counter) without replaying what came before, and
 * results never depend on thread count or machine. Each tool gives each independent purpose (an epoch's
 * permutation, a record's partner, a batch's lambda) its own stream id, derived with rng_stream_id().
 * Derived draws (uniform, normal, gamma, ...) consume whole 32-bit words in order; the word position is
 * rng_tell() and can be restored with rng_seek().
 */
#ifndef LFM_RNG_H
#define LFM_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct rng {
	uint32_t key[2];
	uint64_t stream;
	uint64_t counter; /* index of the next 128-bit block to generate */
	uint32_t buf[4];  /* the current block */
	unsigned used;    /* words of buf already consumed (4 = empty) */
	int has_spare_normal;
	double spare_normal;
} rng;

/* The raw bijection, exposed for known-answer tests against the Random123 reference vectors. */
void philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

void rng_init(rng *r, uint64_t seed, uint64_t stream);
/* Position in 32-bit words since the start of the stream; rng_seek(r, rng_tell(r)) is a no-op. */
uint64_t rng_tell(const rng *r);
void rng_seek(rng *r, uint64_t word);
/* A stream id from a purpose tag and up to two indices (e.g. "pairs.perm", epoch, 0); a hash, so ids of
 * different purposes do not collide in practice. */
uint64_t rng_stream_id(const char *purpose, uint64_t a, uint64_t b);

uint32_t rng_u32(rng *r);
uint64_t rng_u64(rng *r);
double rng_uniform(rng *r);          /* [0, 1), 53 random bits */
double rng_uniform_open(rng *r);     /* (0, 1) */
uint64_t rng_below(rng *r, uint64_t n); /* uniform integer in [0, n), unbiased (Lemire); n > 0 */
double rng_normal(rng *r);           /* standard normal */
double rng_gamma(rng *r, double shape); /* Gamma(shape, 1), shape > 0 (Marsaglia-Tsang; boost for < 1) */
double rng_beta(rng *r, double a, double b); /* Beta(a, b) from two gammas, a, b > 0 */
/* Fisher-Yates: out[0..n) becomes a uniform permutation of 0..n-1. */
void rng_permutation(rng *r, uint32_t *out, size_t n);
/* Fisher-Yates shuffle of an existing array. */
void rng_shuffle_u32(rng *r, uint32_t *a, size_t n);

/* Walker/Vose alias table for O(1) draws from a fixed categorical distribution. Weights must be finite
 * and >= 0 with a positive sum; returns -1 (and builds nothing) otherwise. */
typedef struct alias_table {
	size_t n;
	double *prob;    /* acceptance probability of each bucket */
	uint32_t *alias; /* the other outcome of each bucket */
} alias_table;
int alias_build(alias_table *t, const double *weights, size_t n);
size_t alias_draw(const alias_table *t, rng *r); /* consumes exactly 2 words... see rng.c */
void alias_free(alias_table *t);

#endif
