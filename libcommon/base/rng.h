/* rng.h — counter-based random numbers: Philox-4x32-10 (Salmon et al., SC'11, "Parallel random numbers:
 * as easy as 1, 2, 3"), keyed by (seed, stream).
 *
 * A generator is a position in a deterministic sequence of 128-bit blocks:
 *   block(seed, stream, counter) = Philox4x32-10(key = {seed lo, seed hi},
 *                                                ctr = {counter lo, counter hi, stream lo, stream hi})
 * and word w of a stream is 32-bit word (w mod 4) of block w / 4. Any draw can be recomputed from
 * (seed, stream, word position) without replaying what came before, and results never depend on thread
 * count or machine. Each tool gives each independent purpose (an epoch's permutation, a record's partner,
 * a batch's lambda) its own stream id, derived with rng_stream_id().
 *
 * Derived draws consume whole 32-bit words in order; the word position is rng_tell() and can be restored
 * with rng_seek(). A draw's value, and how many words it consumes, depend only on (seed, stream, the word
 * position where it starts) and its arguments: nothing is cached between draws (the polar normal method's
 * second value is discarded), so seeking anywhere and drawing gives what a fresh generator would.
 * Words consumed: rng_u32 1; rng_u64, rng_uniform, rng_uniform_open 2; rng_below 1 per try when
 * n <= 2^32, else 2 per try (a retry happens with probability < n / 2^32, resp. n / 2^64); rng_normal 4
 * per try (about 5.09 on average); rng_gamma and rng_beta a variable number (rejection; rng_beta with
 * a, b <= 1 four per try); a permutation or shuffle of n items one rng_below(i + 1) for i = n-1 down to
 * 1; alias_draw exactly 2. Functions that generate words in bulk (rng_fill_u32, rng_shuffle_u32,
 * rng_beta_streams) give exactly what the one-word-at-a-time definitions give.
 *
 * Machine independence: only IEEE-754 double +, -, *, /, sqrt, exact conversions and bit manipulation
 * are used; log and exp are fdlibm's algorithms (within 1 ulp) compiled into rng.c rather than libm's,
 * whose results differ between libraries. This needs FLT_EVAL_METHOD == 0 (any x86-64 or AArch64 build), no
 * -ffast-math, and no fused multiply-add contraction (gcc -std=c11 does not contract; rng.c turns
 * contraction off for clang).
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
} rng;

/* The raw bijection, exposed for known-answer tests against the Random123 reference vectors. */
void philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

void rng_init(rng *r, uint64_t seed, uint64_t stream);
/* Position in 32-bit words since the start of the stream (a stream has 2^64 words); rng_seek(r,
 * rng_tell(r)) is a no-op. */
uint64_t rng_tell(const rng *r);
void rng_seek(rng *r, uint64_t word);
/* A stream id from a purpose tag and up to two indices (e.g. "pairs.perm", epoch, 0); a hash (FNV-1a of
 * the tag, then SplitMix64 mixing), so ids of different purposes do not collide in practice, and for a
 * fixed tag and one index fixed, different values of the other index never collide. NULL means "". */
uint64_t rng_stream_id(const char *purpose, uint64_t a, uint64_t b);
/* The same in two steps, for hot loops: rng_stream_id_hashed(rng_purpose_hash(p), a, b) ==
 * rng_stream_id(p, a, b). */
uint64_t rng_purpose_hash(const char *purpose);
uint64_t rng_stream_id_hashed(uint64_t purpose_hash, uint64_t a, uint64_t b);

uint32_t rng_u32(rng *r);
uint64_t rng_u64(rng *r);            /* first word is the low half */
/* out[0..n) = the next n words, as n calls of rng_u32 would give them (generated several blocks at a
 * time, several times faster). */
void rng_fill_u32(rng *r, uint32_t *out, size_t n);
double rng_uniform(rng *r);          /* [0, 1), 53 random bits: multiples of 2^-53 */
double rng_uniform_open(rng *r);     /* (0, 1): odd multiples of 2^-53 */
uint64_t rng_below(rng *r, uint64_t n); /* uniform integer in [0, n), unbiased (Lemire); n > 0 (n = 0
                                           returns 0 and consumes nothing) */
double rng_normal(rng *r);           /* standard normal (Marsaglia polar method, no cached spare) */
/* Gamma(shape, 1), shape > 0 (Marsaglia-Tsang; shape < 1 as Gamma(shape + 1) * U^(1/shape), the
 * gamma drawn first); NaN for a shape that is not a positive finite number. */
double rng_gamma(rng *r, double shape);
/* Beta(a, b), a, b > 0 (NaN otherwise). For a, b <= 1 Jöhnk's method: U^(1/a) / (U^(1/a) + V^(1/b))
 * given U^(1/a) + V^(1/b) <= 1, U then V open uniforms (four words per try; U^k by multiplication when
 * 1/a and 1/b round to integers k <= 16, else through logarithms). Otherwise X / (X + Y), X ~ Gamma(a)
 * drawn before Y ~ Gamma(b), formed from the gammas' logarithms when a or b is < 1 so tiny draws do
 * not underflow to 0/0. */
double rng_beta(rng *r, double a, double b);
/* out[k] = rng_beta of a fresh generator (seed, streams[k]), for k < n: exactly what rng_init then
 * rng_beta give, computed several streams at a time (one Philox pass for all first tries). */
void rng_beta_streams(uint64_t seed, const uint64_t *streams, size_t n, double a, double b, double *out);
/* Fisher-Yates: out[0..n) becomes a uniform permutation of 0..n-1; n <= 2^32. */
void rng_permutation(rng *r, uint32_t *out, size_t n);
/* Fisher-Yates shuffle of an existing array. */
void rng_shuffle_u32(rng *r, uint32_t *a, size_t n);

/* Walker/Vose alias table for O(1) draws from a fixed categorical distribution. Weights must be finite
 * and >= 0 with a positive sum, 0 < n <= 2^32; returns -1 (and builds nothing) otherwise, 0 on success.
 * Allocation failure dies (xmalloc). alias_free releases the table and zeroes it. */
typedef struct alias_table {
	size_t n;
	double *prob;    /* acceptance probability of each bucket */
	uint32_t *alias; /* the other outcome of each bucket */
} alias_table;
int alias_build(alias_table *t, const double *weights, size_t n);
/* Consumes exactly 2 words (one rng_u64): the high half of u * n picks the bucket, the low half decides
 * between the bucket and its alias, so each outcome's probability is exact up to about 2n * 2^-64 —
 * far below the rounding of the weights themselves. A zero-weight outcome is never drawn. */
size_t alias_draw(const alias_table *t, rng *r);
void alias_free(alias_table *t);

#endif
