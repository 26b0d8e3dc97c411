/* rng.c — Philox-4x32-10 streams and the draws derived from them (see rng.h for the word accounting).
 *
 * Everything here is a function of (seed, stream, word position): no state survives a draw except the
 * position itself, and the floating-point work is restricted to operations IEEE-754 rounds the same way
 * everywhere, with our own log and exp, so a tool's random choices are the same on every machine.
 */
#include "base/rng.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/* Philox of PHILOX_LANES blocks under one key, the lanes interleaved round by round: one block is ten
 * dependent multiply rounds (latency-bound), so computing several at once overlaps them (and lets the
 * compiler use vector multiplies). Lane l of the result is exactly philox4x32_10 of counter l. */
enum { PHILOX_LANES = 8 };

#if defined(__SSE2__)
/* x86-64 always has SSE2: four lanes a vector, two vectors interleaved. _mm_mul_epu32 multiplies the
 * even 32-bit lanes into 64-bit products; the odd lanes go through a shift. */
static void philox_lanes(uint32_t c0[PHILOX_LANES], uint32_t c1[PHILOX_LANES], uint32_t c2[PHILOX_LANES],
			 uint32_t c3[PHILOX_LANES], const uint32_t key[2])
{
	_Static_assert(PHILOX_LANES == 8, "two vectors of four lanes");
	const __m128i m0 = _mm_set1_epi32((int)PHILOX_M0), m1 = _mm_set1_epi32((int)PHILOX_M1);
	const __m128i low = _mm_set1_epi64x(0xffffffff);
	const __m128i w0 = _mm_set1_epi32((int)PHILOX_W0), w1 = _mm_set1_epi32((int)PHILOX_W1);
	__m128i k0 = _mm_set1_epi32((int)key[0]), k1 = _mm_set1_epi32((int)key[1]);
	__m128i x0[2], x1[2], x2[2], x3[2];
	for (int v = 0; v < 2; v++) {
		x0[v] = _mm_loadu_si128((const __m128i *)(c0 + 4 * v));
		x1[v] = _mm_loadu_si128((const __m128i *)(c1 + 4 * v));
		x2[v] = _mm_loadu_si128((const __m128i *)(c2 + 4 * v));
		x3[v] = _mm_loadu_si128((const __m128i *)(c3 + 4 * v));
	}
	for (int round = 0; round < 10; round++) {
		for (int v = 0; v < 2; v++) {
			__m128i pe0 = _mm_mul_epu32(x0[v], m0), po0 = _mm_mul_epu32(_mm_srli_epi64(x0[v], 32), m0);
			__m128i pe1 = _mm_mul_epu32(x2[v], m1), po1 = _mm_mul_epu32(_mm_srli_epi64(x2[v], 32), m1);
			__m128i hi0 = _mm_or_si128(_mm_srli_epi64(pe0, 32), _mm_andnot_si128(low, po0));
			__m128i lo0 = _mm_or_si128(_mm_and_si128(pe0, low), _mm_slli_epi64(po0, 32));
			__m128i hi1 = _mm_or_si128(_mm_srli_epi64(pe1, 32), _mm_andnot_si128(low, po1));
			__m128i lo1 = _mm_or_si128(_mm_and_si128(pe1, low), _mm_slli_epi64(po1, 32));
			x0[v] = _mm_xor_si128(_mm_xor_si128(hi1, x1[v]), k0);
			x2[v] = _mm_xor_si128(_mm_xor_si128(hi0, x3[v]), k1);
			x1[v] = lo1;
			x3[v] = lo0;
		}
		k0 = _mm_add_epi32(k0, w0);
		k1 = _mm_add_epi32(k1, w1);
	}
	for (int v = 0; v < 2; v++) {
		_mm_storeu_si128((__m128i *)(c0 + 4 * v), x0[v]);
		_mm_storeu_si128((__m128i *)(c1 + 4 * v), x1[v]);
		_mm_storeu_si128((__m128i *)(c2 + 4 * v), x2[v]);
		_mm_storeu_si128((__m128i *)(c3 + 4 * v), x3[v]);
	}
}
#else
static void philox_lanes(uint32_t c0[PHILOX_LANES], uint32_t c1[PHILOX_LANES], uint32_t c2[PHILOX_LANES],
			 uint32_t c3[PHILOX_LANES], const uint32_t key[2])
{
	uint32_t k0 = key[0], k1 = key[1];
	for (int round = 0; round < 10; round++) {
		for (int l = 0; l < PHILOX_LANES; l++) {
			uint64_t p0 = (uint64_t)PHILOX_M0 * c0[l];
			uint64_t p1 = (uint64_t)PHILOX_M1 * c2[l];
			uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[l] ^ k0;
			uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3[l] ^ k1;
			c1[l] = (uint32_t)p1;
			c3[l] = (uint32_t)p0;
			c0[l] = n0;
			c2[l] = n2;
		}
		k0 += PHILOX_W0;
		k1 += PHILOX_W1;
	}
}
#endif

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

uint64_t rng_purpose_hash(const char *purpose)
{
	uint64_t h = 0xCBF29CE484222325u; /* FNV-1a 64 */
	for (const unsigned char *p = (const unsigned char *)(purpose ? purpose : ""); *p; p++) {
		h ^= *p;
		h *= 0x100000001B3u;
	}
	return h;
}

uint64_t rng_stream_id_hashed(uint64_t purpose_hash, uint64_t a, uint64_t b)
{
	const uint64_t golden = 0x9E3779B97F4A7C15u;
	/* Each step is a bijection of the running hash given the other inputs, so ids with one index
	 * fixed and the other different are always different. */
	uint64_t h = mix64(purpose_hash ^ mix64(a + golden));
	return mix64(h ^ mix64(b + 2 * golden));
}

uint64_t rng_stream_id(const char *purpose, uint64_t a, uint64_t b)
{
	return rng_stream_id_hashed(rng_purpose_hash(purpose), a, b);
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

void rng_fill_u32(rng *r, uint32_t *out, size_t n)
{
	size_t k = 0;
	while (k < n && r->used < 4)
		out[k++] = r->buf[r->used++];
	/* Whole blocks, PHILOX_LANES at a time; the buffer stays empty (used == 4), so rng_tell is
	 * counter * 4 as it should be. */
	uint32_t c0[PHILOX_LANES], c1[PHILOX_LANES], c2[PHILOX_LANES], c3[PHILOX_LANES];
	while (n - k >= 4 * PHILOX_LANES) {
		for (int l = 0; l < PHILOX_LANES; l++) {
			uint64_t c = r->counter + (uint64_t)l;
			c0[l] = (uint32_t)c;
			c1[l] = (uint32_t)(c >> 32);
			c2[l] = (uint32_t)r->stream;
			c3[l] = (uint32_t)(r->stream >> 32);
		}
		philox_lanes(c0, c1, c2, c3, r->key);
		for (int l = 0; l < PHILOX_LANES; l++) {
			out[k++] = c0[l];
			out[k++] = c1[l];
			out[k++] = c2[l];
			out[k++] = c3[l];
		}
		r->counter += PHILOX_LANES;
	}
	while (k < n)
		out[k++] = rng_u32(r);
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

/* Sun's fdlibm 5.3 (e_log.c, e_exp.c; "Developed at SunSoft ... Permission to use, copy, modify, and
 * distribute this software is freely granted, provided that this notice is preserved"), with the word
 * access written as 64-bit bit patterns. Both are within 1 ulp; they use only +, -, *, / and exact bit
 * manipulation, so they give the same result on every IEEE-754 machine. */

static uint64_t bits_of(double x)
{
	uint64_t u;
	memcpy(&u, &x, sizeof u);
	return u;
}

static double double_of(uint64_t u)
{
	double x;
	memcpy(&x, &u, sizeof x);
	return x;
}

/* ln 2 split so that k * LN2_HI is exact for |k| < 2^21. */
static const double LN2_HI = 6.93147180369123816490e-01; /* 0x3fe62e42 fee00000 */
static const double LN2_LO = 1.90821492927058770002e-10; /* 0x3dea39ef 35793c76 */

/* Natural logarithm. x = 2^k (1 + f), 1 + f in [sqrt(2)/2, sqrt(2)); log(1 + f) = f - f^2/2 + s (f^2/2 + R)
 * with s = f / (2 + f) and R(s^2) a degree-7 minimax polynomial (error below 2^-58.45 on |s| <= 0.1716). */
static double det_log(double x)
{
	static const double two54 = 1.80143985094819840000e+16, Lg1 = 6.666666666666735130e-01,
			    Lg2 = 3.999999999940941908e-01, Lg3 = 2.857142874366239149e-01,
			    Lg4 = 2.222219843214978396e-01, Lg5 = 1.818357216161805012e-01,
			    Lg6 = 1.531383769920937332e-01, Lg7 = 1.479819860511658591e-01;
	uint64_t ux = bits_of(x);
	int32_t hx = (int32_t)(ux >> 32);
	int k = 0;
	if (hx < 0x00100000) { /* x < 2^-1022: zero, negative or subnormal */
		if ((ux & 0x7fffffffffffffffu) == 0)
			return -INFINITY;
		if (hx < 0)
			return NAN;
		k -= 54;
		x *= two54; /* scale a subnormal up (exact) */
		ux = bits_of(x);
		hx = (int32_t)(ux >> 32);
	}
	if (hx >= 0x7ff00000)
		return x + x; /* inf or NaN */
	k += (hx >> 20) - 1023;
	hx &= 0x000fffff;
	int32_t i = (hx + 0x95f64) & 0x100000; /* mantissa >= sqrt(2): use x/2 and k + 1 */
	ux = ((uint64_t)(uint32_t)(hx | (i ^ 0x3ff00000)) << 32) | (ux & 0xffffffffu);
	x = double_of(ux);
	k += i >> 20;
	double f = x - 1.0, dk = (double)k;
	if ((0x000fffff & (2 + hx)) < 3) { /* |f| < 2^-20 */
		if (f == 0.0)
			return k == 0 ? 0.0 : dk * LN2_HI + dk * LN2_LO;
		double R = f * f * (0.5 - 0.33333333333333333 * f);
		return k == 0 ? f - R : dk * LN2_HI - ((R - dk * LN2_LO) - f);
	}
	double s = f / (2.0 + f);
	double z = s * s;
	int32_t j1 = hx - 0x6147a, j2 = 0x6b851 - hx;
	double w = z * z;
	double t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
	double t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
	double R = t2 + t1;
	if ((j1 | j2) > 0) { /* mantissa far from 1: the f^2/2 split keeps the error small */
		double hfsq = 0.5 * f * f;
		return k == 0 ? f - (hfsq - s * (hfsq + R)) : dk * LN2_HI - ((hfsq - (s * (hfsq + R) + dk * LN2_LO)) - f);
	}
	return k == 0 ? f - s * (f - R) : dk * LN2_HI - ((s * (f - R) - dk * LN2_LO) - f);
}

/* e^x. x = k ln2 + r, |r| <= ln2/2; e^r = 1 + r + r c(r) / (2 - c(r)), c from a degree-5 minimax
 * polynomial in r^2 (error below 2^-59); then 2^k by adding k to the exponent. */
static double det_exp(double x)
{
	static const double o_threshold = 7.09782712893383973096e+02,
			    u_threshold = -7.45133219101941108420e+02, invln2 = 1.44269504088896338700e+00,
			    twom1000 = 9.33263618503218878990e-302, P1 = 1.66666666666666019037e-01,
			    P2 = -2.77777777770155933842e-03, P3 = 6.61375632143793436117e-05,
			    P4 = -1.65339022054652515390e-06, P5 = 4.13813679705723846039e-08;
	uint64_t ux = bits_of(x);
	uint32_t hx = (uint32_t)(ux >> 32);
	int negative = (int)(hx >> 31);
	hx &= 0x7fffffff;
	if (hx >= 0x40862E42) { /* |x| >= 709.78: overflow, underflow, inf or NaN */
		if (hx >= 0x7ff00000) {
			if ((ux & 0x000fffffffffffffu) != 0)
				return x + x; /* NaN */
			return negative ? 0.0 : x;
		}
		if (x > o_threshold)
			return INFINITY;
		if (x < u_threshold)
			return 0.0;
	}
	double hi = 0, lo = 0;
	int k = 0;
	if (hx > 0x3fd62e42) {      /* |x| > ln2/2 */
		if (hx < 0x3FF0A2B2) { /* and < 1.5 ln2: k = +-1 */
			hi = negative ? x + LN2_HI : x - LN2_HI;
			lo = negative ? -LN2_LO : LN2_LO;
			k = negative ? -1 : 1;
		} else {
			k = (int)(invln2 * x + (negative ? -0.5 : 0.5)); /* rounds to nearest (truncation) */
			double t = k;
			hi = x - t * LN2_HI; /* exact */
			lo = t * LN2_LO;
		}
		x = hi - lo;
	} else if (hx < 0x3e300000) { /* |x| < 2^-28 */
		return 1.0 + x;
	}
	double t = x * x;
	double c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
	if (k == 0)
		return 1.0 - ((x * c) / (c - 2.0) - x);
	double y = 1.0 - ((lo - (x * c) / (2.0 - c)) - hi);
	if (k >= -1021)
		return double_of(bits_of(y) + ((uint64_t)(int64_t)k << 52));
	return double_of(bits_of(y) + ((uint64_t)(int64_t)(k + 1000) << 52)) * twom1000;
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

/* Jöhnk (1964): for independent uniforms U, V, X = U^(1/a) and Y = V^(1/b) conditioned on X + Y <= 1 give
 * X / (X + Y) ~ Beta(a, b) (Devroye, "Non-Uniform Random Variate Generation", 1986, IX.3.5). A try
 * succeeds with probability Γ(a+1)Γ(b+1)/Γ(a+b+1): π/4 for a = b = 1/2, 0.95 for a = b = 0.2, at least 1/2
 * whenever a, b <= 1 — so for the shapes mixup uses, about one Philox block and no logarithm per draw.
 * When 1/a (and 1/b) round to integers k <= 16, U^k is formed by k - 1 multiplications (exact enough,
 * and never underflows: U >= 2^-53); otherwise through logarithms, so tiny shapes cannot give 0/0. */
typedef struct johnk {
	double a, b;
	int ka, kb; /* 1/a and 1/b when both are integers in [1, 16], else 0 */
} johnk;

static int integer_reciprocal(double a)
{
	double k = 1.0 / a;
	return k >= 1.0 && k <= 16.0 && k == (double)(int)k ? (int)k : 0;
}

static johnk johnk_params(double a, double b)
{
	johnk j = {a, b, integer_reciprocal(a), integer_reciprocal(b)};
	if (!j.ka || !j.kb)
		j.ka = j.kb = 0;
	return j;
}

static double power_int(double u, int k)
{
	double p = u;
	for (int i = 1; i < k; i++)
		p *= u;
	return p;
}

/* One try from four words (two open uniforms, low word first as rng_uniform_open): 1 and *out on
 * acceptance, 0 on rejection. */
static int johnk_try(const johnk *j, const uint32_t w[4], double *out)
{
	double u = (double)(((((uint64_t)w[1] << 32) | w[0]) >> 11) | 1) * 0x1p-53;
	double v = (double)(((((uint64_t)w[3] << 32) | w[2]) >> 11) | 1) * 0x1p-53;
	if (j->ka) {
		double x = power_int(u, j->ka), y = power_int(v, j->kb), sum = x + y;
		if (!(sum <= 1.0))
			return 0;
		*out = x / sum;
		return 1;
	}
	double lx = det_log(u) / j->a, ly = det_log(v) / j->b;
	if (!(det_exp(lx) + det_exp(ly) <= 1.0))
		return 0;
	/* x / (x + y) = 1 / (1 + e^(ly - lx)), written so the exponential never overflows. */
	if (lx >= ly) {
		*out = 1.0 / (1.0 + det_exp(ly - lx));
	} else {
		double t = det_exp(lx - ly);
		*out = t / (1.0 + t);
	}
	return 1;
}

static double johnk_draw(rng *r, const johnk *j)
{
	for (;;) {
		uint32_t w[4];
		for (int i = 0; i < 4; i++)
			w[i] = rng_u32(r);
		double x;
		if (johnk_try(j, w, &x))
			return x;
	}
}

double rng_beta(rng *r, double a, double b)
{
	if (!shape_ok(a) || !shape_ok(b))
		return NAN;
	if (a <= 1.0 && b <= 1.0) {
		johnk j = johnk_params(a, b);
		return johnk_draw(r, &j);
	}
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

void rng_beta_streams(uint64_t seed, const uint64_t *streams, size_t n, double a, double b, double *out)
{
	size_t k = 0;
	if (shape_ok(a) && shape_ok(b) && a <= 1.0 && b <= 1.0) {
		/* Each stream's first try comes from its block 0, PHILOX_LANES streams at a time; the few
		 * rejected ones go on from word 4 exactly as rng_beta would. */
		johnk j = johnk_params(a, b);
		const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
		uint32_t c0[PHILOX_LANES], c1[PHILOX_LANES], c2[PHILOX_LANES], c3[PHILOX_LANES];
		for (; n - k >= PHILOX_LANES; k += PHILOX_LANES) {
			for (int l = 0; l < PHILOX_LANES; l++) {
				c0[l] = c1[l] = 0;
				c2[l] = (uint32_t)streams[k + l];
				c3[l] = (uint32_t)(streams[k + l] >> 32);
			}
			philox_lanes(c0, c1, c2, c3, key);
			for (int l = 0; l < PHILOX_LANES; l++) {
				const uint32_t w[4] = {c0[l], c1[l], c2[l], c3[l]};
				if (!johnk_try(&j, w, &out[k + l])) {
					rng r;
					rng_init(&r, seed, streams[k + l]);
					rng_seek(&r, 4);
					out[k + l] = johnk_draw(&r, &j);
				}
			}
		}
	}
	for (; k < n; k++) {
		rng r;
		rng_init(&r, seed, streams[k]);
		out[k] = rng_beta(&r, a, b);
	}
}

/* ---- permutations ------------------------------------------------------------------------------ */

/* Words for a run of rng_below draws, generated in bulk (rng_fill_u32) and given back at the end: the
 * generator is left just after the last word used, as if each had come from rng_u32. */
typedef struct word_source {
	rng *r;
	uint64_t start, used;
	uint64_t want; /* words the caller still expects to need: no more are generated */
	unsigned at, len;
	uint32_t buf[64 * PHILOX_LANES];
} word_source;

static uint32_t ws_u32(word_source *s)
{
	if (s->at == s->len) {
		size_t cap = sizeof s->buf / sizeof s->buf[0];
		s->len = (unsigned)(s->want < 4 ? 4 : s->want < cap ? s->want : cap);
		rng_fill_u32(s->r, s->buf, s->len);
		s->at = 0;
	}
	s->used++;
	return s->buf[s->at++];
}

/* rng_below for 0 < n <= 2^32, word for word. */
static uint32_t ws_below(word_source *s, uint64_t n)
{
	if (n == (uint64_t)1 << 32)
		return ws_u32(s);
	uint32_t n32 = (uint32_t)n;
	uint64_t m = (uint64_t)ws_u32(s) * n32;
	if ((uint32_t)m < n32) {
		uint32_t threshold = (uint32_t)-n32 % n32;
		while ((uint32_t)m < threshold)
			m = (uint64_t)ws_u32(s) * n32;
	}
	return (uint32_t)(m >> 32);
}

void rng_shuffle_u32(rng *r, uint32_t *a, size_t n)
{
	size_t i = n;
	/* Arrays beyond 2^32 (two words per try), and short ones (where bulk generation does not pay), one
	 * rng_below at a time. */
	int bulk = n > 4 * PHILOX_LANES;
	for (; i > 1 && (!bulk || (uint64_t)i > (uint64_t)1 << 32); i--) {
		size_t j = (size_t)rng_below(r, i);
		uint32_t t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
	if (i <= 1)
		return;
	word_source s = {.r = r, .start = rng_tell(r)};
	for (; i > 1; i--) {
		s.want = i - 1;
		size_t j = ws_below(&s, i);
		uint32_t t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
	rng_seek(r, s.start + s.used);
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
