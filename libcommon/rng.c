/* rng.c — Philox-4x32-10 streams and the draws derived from them (see rng.h for the word accounting).
 *
 * Everything here is a function of (seed, stream, word position): no state survives a draw except the
 * position itself, and the floating-point work is restricted to operations IEEE-754 rounds the same way
 * everywhere, with our own log and exp, so a tool's random choices are the same on every machine.
 */
#include "rng.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "errors.h"

#ifdef __clang__
/* clang contracts a * b + c into one fused multiply-add where the target has one, which rounds once
 * instead of twice and so changes results between machines. gcc with -std=c11 never contracts. */
#pragma STDC FP_CONTRACT OFF
#endif

#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD != 0
#warning "FLT_EVAL_METHOD != 0: rng.c results will differ from other machines (excess precision)"
#endif

/* ---- Philox-4x32-10 ---------------------------------------------------------------------------- */

enum {
	PHILOX_M0 = 0xD2511F53u,
	PHILOX_M1 = 0xCD9E8D57u,
	PHILOX_W0 = 0x9E3779B9u, /* golden ratio */
	PHILOX_W1 = 0xBB67AE85u, /* sqrt(3) - 1 */
};

void philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
	uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
	uint32_t k0 = key[0], k1 = key[1];
	for (int round = 0; round < 10; round++) {
		if (round > 0) { /* the key schedule bumps between rounds, not before the first */
			k0 += PHILOX_W0;
			k1 += PHILOX_W1;
		}
		uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
		uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
		uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
		uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
		c0 = hi1 ^ c1 ^ k0;
		c1 = lo1;
		c2 = hi0 ^ c3 ^ k1;
		c3 = lo0;
	}
	out[0] = c0;
	out[1] = c1;
	out[2] = c2;
	out[3] = c3;
}

static void next_block(rng *r)
{
	uint32_t ctr[4] = {(uint32_t)r->counter, (uint32_t)(r->counter >> 32), (uint32_t)r->stream,
			   (uint32_t)(r->stream >> 32)};
	philox4x32_10(ctr, r->key, r->buf);
	r->counter++;
	r->used = 0;
}

void rng_init(rng *r, uint64_t seed, uint64_t stream)
{
	r->key[0] = (uint32_t)seed;
	r->key[1] = (uint32_t)(seed >> 32);
	r->stream = stream;
	r->counter = 0;
	r->buf[0] = r->buf[1] = r->buf[2] = r->buf[3] = 0;
	r->used = 4;
}

uint64_t rng_tell(const rng *r)
{
	/* counter is the next block; the current one (counter - 1) has `used` words gone. An empty buffer
	 * (used == 4) gives counter * 4 by the same formula. */
	return r->counter * 4 - (4 - r->used);
}

void rng_seek(rng *r, uint64_t word)
{
	r->counter = word / 4;
	r->used = 4;
	if (word % 4) {
		next_block(r);
		r->used = (unsigned)(word % 4);
	}
}

/* SplitMix64's finalizer (Steele, Lea, Flood 2014): a bijection of 64-bit words with good avalanche. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

uint64_t rng_stream_id(const char *purpose, uint64_t a, uint64_t b)
{
	const uint64_t golden = 0x9E3779B97F4A7C15u;
	uint64_t h = 0xCBF29CE484222325u; /* FNV-1a 64 */
	for (const unsigned char *p = (const unsigned char *)(purpose ? purpose : ""); *p; p++) {
		h ^= *p;
		h *= 0x100000001B3u;
	}
	/* Each step is a bijection of the running hash given the other inputs, so ids with one index
	 * fixed and the other different are always different. */
	h = mix64(h ^ mix64(a + golden));
	h = mix64(h ^ mix64(b + 2 * golden));
	return h;
}

uint32_t rng_u32(rng *r)
{
	if (r->used >= 4)
		next_block(r);
	return r->buf[r->used++];
}

uint64_t rng_u64(rng *r)
{
	uint64_t lo = rng_u32(r); /* separate statements: the order of the two words is fixed */
	uint64_t hi = rng_u32(r);
	return lo | hi << 32;
}

double rng_uniform(rng *r) { return (double)(rng_u64(r) >> 11) * 0x1p-53; }

double rng_uniform_open(rng *r) { return (double)((rng_u64(r) >> 11) | 1) * 0x1p-53; }

/* The full 128-bit product of two 64-bit words, portably. */
static void mul64x64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
	uint64_t a0 = (uint32_t)a, a1 = a >> 32, b0 = (uint32_t)b, b1 = b >> 32;
	uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
	uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;
	*lo = (mid << 32) | (uint32_t)p00;
	*hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

uint64_t rng_below(rng *r, uint64_t n)
{
	/* Lemire, "Fast random integer generation in an interval" (2019): the high half of x * n is the
	 * draw; the low half tells the few x that would make some outcomes one count more likely. */
	if (n == 0)
		return 0;
	if (n == (uint64_t)1 << 32)
		return rng_u32(r);
	if (n < (uint64_t)1 << 32) {
		uint32_t n32 = (uint32_t)n;
		uint64_t m = (uint64_t)rng_u32(r) * n32;
		if ((uint32_t)m < n32) {
			uint32_t threshold = (uint32_t)-n32 % n32; /* 2^32 mod n */
			while ((uint32_t)m < threshold)
				m = (uint64_t)rng_u32(r) * n32;
		}
		return m >> 32;
	}
	uint64_t hi, lo;
	mul64x64(rng_u64(r), n, &hi, &lo);
	if (lo < n) {
		uint64_t threshold = -n % n; /* 2^64 mod n */
		while (lo < threshold)
			mul64x64(rng_u64(r), n, &hi, &lo);
	}
	return hi;
}

/* ---- log and exp from + - * / only ------------------------------------------------------------- */

/* ln 2 split so that k * LN2_HI is exact for |k| < 2^21 (fdlibm's constants). */
static const double LN2_HI = 0x1.62e42feep-1;
static const double LN2_LO = 0x1.a39ef35793c76p-33;

/* Natural logarithm, within about 1 ulp. fdlibm's reduction: x = 2^k (1 + f) with 1 + f in
 * [sqrt(1/2), sqrt(2)); log(1 + f) = f - f^2/2 + s (f^2/2 + R), s = f / (2 + f), where
 * R = 2 s^2/3 + 2 s^4/5 + ... (|s| <= 0.172, so ten Taylor terms reach 2^-60). Only the small correction
 * term carries rounding from s; f itself is exact. */
static double det_log(double x)
{
	if (!(x > 0))
		return x == 0 ? -INFINITY : NAN;
	if (x == INFINITY)
		return x;
	int k;
	double m = frexp(x, &k); /* [0.5, 1), exact */
	if (m < 0x1.6a09e667f3bcdp-1) { /* sqrt(1/2) */
		m *= 2;
		k--;
	}
	double f = m - 1.0; /* exact (Sterbenz) */
	double s = f / (2.0 + f);
	double z = s * s;
	double poly = 2.0 / 21;
	static const double coef[] = {2.0 / 19, 2.0 / 17, 2.0 / 15, 2.0 / 13, 2.0 / 11,
				      2.0 / 9,  2.0 / 7,  2.0 / 5,  2.0 / 3};
	for (size_t i = 0; i < sizeof coef / sizeof coef[0]; i++)
		poly = poly * z + coef[i];
	double R = poly * z;
	double hfsq = 0.5 * f * f;
	double dk = (double)k;
	return dk * LN2_HI - ((hfsq - (s * (hfsq + R) + dk * LN2_LO)) - f);
}

/* e^x, within a few ulp: x = k ln2 + r, |r| <= ln2/2 (plus rounding), e^r by its Taylor series to r^13
 * (remainder < 2^-57), then scaled by 2^k exactly. */
static double det_exp(double x)
{
	if (x != x)
		return x;
	if (x > 709.8)
		return INFINITY;
	if (x < -746.0)
		return 0.0;
	double k = floor(x * 1.4426950408889634 + 0.5); /* round(x / ln 2) */
	double r = (x - k * LN2_HI) - k * LN2_LO;
	double p = 1.0 / 6227020800; /* 1/13! */
	static const double inv_fact[] = {1.0 / 479001600, 1.0 / 39916800, 1.0 / 3628800, 1.0 / 362880,
					  1.0 / 40320,     1.0 / 5040,     1.0 / 720,     1.0 / 120,
					  1.0 / 24,        1.0 / 6,        1.0 / 2,       1.0};
	for (size_t i = 0; i < sizeof inv_fact / sizeof inv_fact[0]; i++)
		p = p * r + inv_fact[i];
	double expm1_r = p * r;
	return ldexp(1.0 + expm1_r, (int)k);
}

/* ---- continuous distributions ------------------------------------------------------------------ */

/* A uniform in [-1, 1) with 53 bits, exactly: (integer in [-2^53, 2^53)) * 2^-53. */
static double uniform_signed(rng *r)
{
	return (double)((int64_t)(rng_u64(r) >> 10) - ((int64_t)1 << 53)) * 0x1p-53;
}

double rng_normal(rng *r)
{
	/* Marsaglia's polar method: no trigonometry (so no libm), and the second normal of the pair is
	 * dropped rather than cached, keeping every draw a function of its starting position alone. */
	for (;;) {
		double u = uniform_signed(r);
		double v = uniform_signed(r);
		double s = u * u + v * v;
		if (s < 1.0 && s > 0.0)
			return u * sqrt(-2.0 * det_log(s) / s);
	}
}

/* Marsaglia & Tsang (2000), "A simple method for generating gamma variables", shape >= 1. */
static double gamma_mt(rng *r, double shape)
{
	double d = shape - 1.0 / 3.0;
	double c = 1.0 / sqrt(9.0 * d);
	for (;;) {
		double x, v;
		do {
			x = rng_normal(r);
			v = 1.0 + c * x;
		} while (v <= 0.0);
		v = v * v * v;
		double u = rng_uniform_open(r);
		double x2 = x * x;
		if (u < 1.0 - 0.0331 * (x2 * x2))
			return d * v;
		if (det_log(u) < 0.5 * x2 + d * (1.0 - v + det_log(v)))
			return d * v;
	}
}

static int shape_ok(double shape) { return shape > 0 && shape <= DBL_MAX; }

double rng_gamma(rng *r, double shape)
{
	if (!shape_ok(shape))
		return NAN;
	if (shape >= 1.0)
		return gamma_mt(r, shape);
	/* Boost: if G ~ Gamma(shape + 1) and U uniform, G U^(1/shape) ~ Gamma(shape). */
	double g = gamma_mt(r, shape + 1.0);
	double u = rng_uniform_open(r);
	return g * det_exp(det_log(u) / shape);
}

/* log of a Gamma(shape) draw, consuming exactly the words rng_gamma would; finite even where the draw
 * itself would underflow to 0 (small shapes). */
static double log_gamma_draw(rng *r, double shape)
{
	if (shape >= 1.0)
		return det_log(gamma_mt(r, shape));
	double g = gamma_mt(r, shape + 1.0);
	double u = rng_uniform_open(r);
	return det_log(g) + det_log(u) / shape;
}

double rng_beta(rng *r, double a, double b)
{
	if (!shape_ok(a) || !shape_ok(b))
		return NAN;
	if (a >= 1.0 && b >= 1.0) {
		double x = gamma_mt(r, a);
		double y = gamma_mt(r, b);
		double sum = x + y;
		return sum > 0 ? x / sum : 0.5; /* both 0 needs v^3 to underflow: not in this universe */
	}
	double lx = log_gamma_draw(r, a);
	double ly = log_gamma_draw(r, b);
	/* x / (x + y) = 1 / (1 + e^(ly - lx)), written so the exponential never overflows. */
	if (lx >= ly)
		return 1.0 / (1.0 + det_exp(ly - lx));
	double t = det_exp(lx - ly);
	return t / (1.0 + t);
}

/* ---- permutations ------------------------------------------------------------------------------ */

void rng_shuffle_u32(rng *r, uint32_t *a, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)rng_below(r, i);
		uint32_t t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

void rng_permutation(rng *r, uint32_t *out, size_t n)
{
	assert((uint64_t)n <= (uint64_t)UINT32_MAX + 1);
	for (size_t i = 0; i < n; i++)
		out[i] = (uint32_t)i;
	rng_shuffle_u32(r, out, n);
}

/* ---- alias tables ------------------------------------------------------------------------------ */

int alias_build(alias_table *t, const double *weights, size_t n)
{
	if (n == 0 || (uint64_t)n > (uint64_t)UINT32_MAX + 1)
		return -1;
	double wmax = 0;
	size_t heaviest = 0;
	for (size_t i = 0; i < n; i++) {
		if (!(weights[i] >= 0 && weights[i] <= DBL_MAX))
			return -1; /* negative, NaN or infinite */
		if (weights[i] > wmax) {
			wmax = weights[i];
			heaviest = i;
		}
	}
	if (wmax == 0)
		return -1;
	/* Scale by the largest weight first so the sum cannot overflow (it is then in [1, n]). */
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += weights[i] / wmax;

	double *prob = xmalloc_array(n, sizeof *prob);
	uint32_t *alias = xmalloc_array(n, sizeof *alias);
	uint32_t *work = xmalloc_array(n, sizeof *work); /* small items from the front, large from the back */
	size_t nsmall = 0, nlarge = 0;
	for (size_t i = 0; i < n; i++) {
		prob[i] = weights[i] / wmax * (double)n / sum; /* mean 1 */
		alias[i] = (uint32_t)i;
		if (prob[i] < 1.0)
			work[nsmall++] = (uint32_t)i;
		else
			work[n - 1 - nlarge++] = (uint32_t)i;
	}
	/* Vose (1991): pair each small bucket with a large outcome that fills it up to 1. The large one
	 * keeps (p_large + p_small) - 1, the rounding-friendlier form (Schwarz, "Darts, dice and coins"). */
	uint32_t last_large = (uint32_t)heaviest; /* some outcome of positive weight */
	while (nsmall > 0 && nlarge > 0) {
		uint32_t s = work[--nsmall];
		uint32_t l = work[n - nlarge]; /* top of the large stack */
		last_large = l;
		alias[s] = l;
		prob[l] = (prob[l] + prob[s]) - 1.0;
		if (prob[l] < 1.0) {
			nlarge--;
			work[nsmall++] = l;
		}
	}
	/* Leftovers are 1 up to rounding. A zero weight can only be left over through a gross rounding
	 * accident; it still must never be drawn, so it keeps probability 0 and points at a real outcome. */
	while (nlarge > 0)
		prob[work[n - nlarge--]] = 1.0;
	while (nsmall > 0) {
		uint32_t s = work[--nsmall];
		if (weights[s] > 0) {
			prob[s] = 1.0;
		} else {
			prob[s] = 0.0;
			alias[s] = last_large;
		}
	}
	free(work);
	t->n = n;
	t->prob = prob;
	t->alias = alias;
	return 0;
}

size_t alias_draw(const alias_table *t, rng *r)
{
	uint64_t bucket, frac;
	mul64x64(rng_u64(r), (uint64_t)t->n, &bucket, &frac);
	double p = t->prob[bucket];
	if (p >= 1.0)
		return (size_t)bucket;
	/* frac is (nearly) uniform on [0, 2^64) given the bucket; p * 2^64 < 2^64 is exact before the
	 * conversion truncates it. p = 0 (a zero weight) can never be accepted. */
	uint64_t threshold = (uint64_t)(p * 0x1p64);
	return frac < threshold ? (size_t)bucket : (size_t)t->alias[bucket];
}

void alias_free(alias_table *t)
{
	free(t->prob);
	free(t->alias);
	t->n = 0;
	t->prob = NULL;
	t->alias = NULL;
}
