/* test_rng.c — Philox known answers, stream layout, determinism and seeking, thread independence, and the
 * distributions of every derived draw.
 *
 * Statistical tests use fixed seeds; each compares with a known distribution so that a correct generator
 * fails with probability below 1e-8 per check (chi-square p-value threshold 1e-8; moment checks at 6.5
 * standard errors, computed from the distribution's own moments), keeping the whole file under 1e-6.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/rng.h"
#include "../test.h"

#define P_MIN 1e-8 /* chi-square p-values below this fail */
#define SE_MAX 6.5 /* moment checks fail beyond this many standard errors */

/* ---- statistics helpers (test side: libm is fine here) ------------------------------------------ */

/* Regularized incomplete gamma functions P(a, x) and Q(a, x) = 1 - P (Numerical Recipes' series and
 * Lentz continued fraction). Q is computed directly where it is small, so tiny p-values are accurate. */
static double gamma_series_p(double a, double x)
{
	double ap = a, del = 1.0 / a, sum = del;
	for (int i = 0; i < 100000; i++) {
		ap += 1;
		del *= x / ap;
		sum += del;
		if (fabs(del) < fabs(sum) * 1e-16)
			break;
	}
	return sum * exp(-x + a * log(x) - lgamma(a));
}

static double gamma_cf_q(double a, double x)
{
	const double tiny = 1e-300;
	double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
	for (int i = 1; i < 100000; i++) {
		double an = -i * (i - a);
		b += 2;
		d = an * d + b;
		if (fabs(d) < tiny)
			d = tiny;
		c = b + an / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		double del = d * c;
		h *= del;
		if (fabs(del - 1) < 1e-16)
			break;
	}
	return exp(-x + a * log(x) - lgamma(a)) * h;
}

static double gamma_p(double a, double x)
{
	if (x <= 0)
		return 0;
	return x < a + 1 ? gamma_series_p(a, x) : 1 - gamma_cf_q(a, x);
}

static double gamma_q(double a, double x)
{
	if (x <= 0)
		return 1;
	return x < a + 1 ? 1 - gamma_series_p(a, x) : gamma_cf_q(a, x);
}

static double chi2_sf(double stat, double dof) { return gamma_q(dof / 2, stat / 2); }

/* Pearson's statistic of counts against probabilities; the p-value with `dof` degrees of freedom
 * (k - 1 for a plain goodness-of-fit test). min_expected receives the smallest expected count. */
static double chi2_pvalue(const uint64_t *counts, const double *probs, size_t k, double dof,
			  double *stat_out, double *min_expected)
{
	uint64_t n = 0;
	for (size_t i = 0; i < k; i++)
		n += counts[i];
	double stat = 0, emin = INFINITY;
	for (size_t i = 0; i < k; i++) {
		double e = probs[i] * (double)n;
		if (e < emin)
			emin = e;
		double d = (double)counts[i] - e;
		stat += d * d / e;
	}
	*stat_out = stat;
	*min_expected = emin;
	return chi2_sf(stat, dof);
}

#define T_CHI2(counts, probs, k, dof)                                                                  \
	do {                                                                                           \
		double stat_, emin_;                                                                   \
		double p_ = chi2_pvalue(counts, probs, k, dof, &stat_, &emin_);                        \
		T_ASSERTF(emin_ >= 5, "expected count %g too small for a chi-square test", emin_);    \
		T_ASSERTF(p_ > P_MIN, "chi-square %.1f with %g dof: p = %.3g", stat_, (double)(dof), p_); \
	} while (0)

/* Sample mean and variance (about the true mean, so its standard error is exactly
 * sqrt((mu4 - var^2) / n)) against the distribution's mean, variance and fourth central moment. */
typedef struct moments_check {
	double mean, var; /* observed */
	double z_mean, z_var;
} moments_check;

static moments_check check_moments(const double *x, size_t n, double mean, double var, double mu4)
{
	double s = 0, s2 = 0;
	for (size_t i = 0; i < n; i++) {
		double d = x[i] - mean;
		s += d;
		s2 += d * d;
	}
	moments_check m;
	m.mean = mean + s / (double)n;
	m.var = s2 / (double)n;
	m.z_mean = (m.mean - mean) / sqrt(var / (double)n);
	m.z_var = (m.var - var) / sqrt((mu4 - var * var) / (double)n);
	return m;
}

#define T_MOMENTS(x, n, want_mean, want_var, want_mu4, what)                                          \
	do {                                                                                           \
		moments_check m_ = check_moments(x, n, want_mean, want_var, want_mu4);                 \
		T_ASSERTF(fabs(m_.z_mean) < SE_MAX, "%s: mean %.6g, want %.6g (%.1f SE)", what, m_.mean, \
			  (double)(want_mean), m_.z_mean);                                             \
		T_ASSERTF(fabs(m_.z_var) < SE_MAX, "%s: variance %.6g, want %.6g (%.1f SE)", what,      \
			  m_.var, (double)(want_var), m_.z_var);                                       \
	} while (0)

/* Goodness of fit against a continuous CDF: k equiprobable bins whose edges are found by bisection on
 * the CDF over [lo, hi], expected probabilities from the CDF at the edges actually used. */
typedef double (*cdf_fn)(double x, const double *param);

enum { CDF_BINS = 40 };

static double cdf_fit_pvalue(const double *x, size_t n, cdf_fn cdf, const double *param, double lo,
			     double hi, double *stat, double *emin)
{
	double edge[CDF_BINS + 1], prob[CDF_BINS];
	uint64_t counts[CDF_BINS] = {0};
	edge[0] = lo;
	edge[CDF_BINS] = hi;
	for (int j = 1; j < CDF_BINS; j++) {
		double a = lo, b = hi, target = (double)j / CDF_BINS;
		for (int it = 0; it < 200; it++) {
			double mid = 0.5 * (a + b);
			if (mid <= a || mid >= b)
				break;
			if (cdf(mid, param) < target)
				a = mid;
			else
				b = mid;
		}
		edge[j] = b;
	}
	for (int j = 0; j < CDF_BINS; j++)
		prob[j] = (j == CDF_BINS - 1 ? 1.0 : cdf(edge[j + 1], param)) -
			  (j == 0 ? 0.0 : cdf(edge[j], param));
	for (size_t i = 0; i < n; i++) {
		int a = 0, b = CDF_BINS; /* bin j holds edge[j] <= x < edge[j+1] */
		while (b - a > 1) {
			int mid = (a + b) / 2;
			if (x[i] >= edge[mid])
				a = mid;
			else
				b = mid;
		}
		counts[a]++;
	}
	return chi2_pvalue(counts, prob, CDF_BINS, CDF_BINS - 1, stat, emin);
}

#define T_CDF_FIT(x, n, cdf, param, lo, hi, what)                                                      \
	do {                                                                                           \
		double stat_, emin_;                                                                   \
		double p_ = cdf_fit_pvalue(x, n, cdf, param, lo, hi, &stat_, &emin_);                  \
		T_ASSERTF(emin_ >= 5, "%s: expected count %g too small", what, emin_);                \
		T_ASSERTF(p_ > P_MIN, "%s: chi-square %.1f with %d dof: p = %.3g", what, stat_,        \
			  CDF_BINS - 1, p_);                                                           \
	} while (0)

static double cdf_normal(double x, const double *param) { return 0.5 * erfc(-x / sqrt(2.0)); }
static double cdf_gamma(double x, const double *param) { return gamma_p(param[0], x); }
static double cdf_uniform(double x, const double *param) { return x < 0 ? 0 : x > 1 ? 1 : x; }
static double cdf_arcsine(double x, const double *param) /* Beta(1/2, 1/2) */
{
	return x <= 0 ? 0 : x >= 1 ? 1 : 2 / M_PI * asin(sqrt(x));
}
static double cdf_beta_2_5(double x, const double *param) /* I_x(2, 5) = 1 - (1-x)^6 - 6x(1-x)^5 */
{
	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	double y = 1 - x;
	return 1 - pow(y, 6) - 6 * x * pow(y, 5);
}

static rng test_rng(const char *purpose) /* a fixed seed, one stream per test */
{
	rng r;
	rng_init(&r, 20240917, rng_stream_id(purpose, 0, 0));
	return r;
}

/* ---- Philox and the stream layout ---------------------------------------------------------------- */

static void test_philox_known_answers(void)
{
	/* Random123 kat_vectors, philox4x32_10 */
	static const struct {
		uint32_t ctr[4], key[2], out[4];
	} kat[] = {
	    {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
	    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
	     {0xffffffff, 0xffffffff},
	     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
	    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
	     {0xa4093822, 0x299f31d0},
	     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	};
	for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
		uint32_t out[4];
		philox4x32_10(kat[i].ctr, kat[i].key, out);
		for (int j = 0; j < 4; j++)
			T_ASSERTF(out[j] == kat[i].out[j], "vector %zu word %d: %08x, want %08x", i, j, out[j],
				  kat[i].out[j]);
	}
}

static void test_stream_layout(void)
{
	/* word w of (seed, stream) is word w%4 of Philox(ctr = {c lo, c hi, stream lo, stream hi},
	 * key = {seed lo, seed hi}) with c = w/4, as rng.h promises; counter's high half included. */
	const uint64_t seed = 0x0123456789ABCDEFu, stream = 0xFEDCBA9876543210u;
	const uint32_t key[2] = {0x89ABCDEF, 0x01234567};
	const uint64_t blocks[] = {0, 1, 2, 0x100000005u, 0x3FFFFFFFFFFFFFFFu}; /* the last block of 2^64 words */
	rng r;
	rng_init(&r, seed, stream);
	T_ASSERT(rng_tell(&r) == 0);
	for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
		uint32_t ctr[4] = {(uint32_t)blocks[b], (uint32_t)(blocks[b] >> 32), 0x76543210, 0xFEDCBA98};
		uint32_t want[4];
		philox4x32_10(ctr, key, want);
		rng_seek(&r, blocks[b] * 4);
		for (int j = 0; j < 4; j++) {
			uint32_t got = rng_u32(&r);
			T_ASSERTF(got == want[j], "block %llx word %d", (unsigned long long)blocks[b], j);
		}
		T_ASSERT(rng_tell(&r) == blocks[b] * 4 + 4);
	}
}

static void test_word_accounting(void)
{
	rng r = test_rng("accounting");
	rng c = r;
	uint32_t w0 = rng_u32(&c), w1 = rng_u32(&c);
	uint64_t t = rng_tell(&r);
	T_ASSERT(rng_u64(&r) == ((uint64_t)w0 | (uint64_t)w1 << 32)); /* first word is the low half */
	T_ASSERT(rng_tell(&r) == t + 2);

	rng_seek(&r, 5);
	c = r;
	uint64_t u = rng_u64(&c);
	T_ASSERT(rng_uniform(&r) == (double)(u >> 11) * 0x1p-53);
	T_ASSERT(rng_tell(&r) == 7);
	t = rng_tell(&r);
	double o = rng_uniform_open(&r);
	T_ASSERT(rng_tell(&r) == t + 2);
	double k = o * 0x1p53; /* an odd integer */
	T_ASSERT(k == floor(k) && fmod(k, 2) == 1);

	double weights[3] = {1, 2, 3};
	alias_table at;
	T_ASSERT(alias_build(&at, weights, 3) == 0);
	for (int i = 0; i < 100; i++) {
		t = rng_tell(&r);
		alias_draw(&at, &r);
		T_ASSERT(rng_tell(&r) == t + 2);
	}
	alias_free(&at);

	for (int i = 0; i < 100; i++) {
		t = rng_tell(&r);
		rng_normal(&r);
		T_ASSERT((rng_tell(&r) - t) % 4 == 0 && rng_tell(&r) > t);
	}
	t = rng_tell(&r);
	rng_below(&r, 0);
	uint32_t one = 7;
	rng_shuffle_u32(&r, &one, 1);
	rng_permutation(&r, &one, 1);
	rng_shuffle_u32(&r, NULL, 0);
	T_ASSERT(rng_tell(&r) == t);
}

/* ---- determinism, seeking ------------------------------------------------------------------------ */

enum { N_KINDS = 10 };

/* One draw of kind k, returned as 64 bits so doubles are compared exactly. */
static uint64_t draw_kind(rng *r, int k, const alias_table *at)
{
	double d;
	uint32_t perm[9];
	switch (k) {
	case 0: return rng_u32(r);
	case 1: return rng_u64(r);
	case 2: d = rng_uniform(r); break;
	case 3: return rng_below(r, 1000003);
	case 4: return rng_below(r, ((uint64_t)3 << 62) + 12345); /* > 2^32: two words per try */
	case 5: d = rng_normal(r); break;
	case 6: d = rng_gamma(r, 0.3); break;
	case 7: d = rng_beta(r, 0.2, 0.2); break;
	case 8: return alias_draw(at, r);
	default:
		rng_permutation(r, perm, 9);
		{
			uint64_t h = 0;
			for (int i = 0; i < 9; i++)
				h = h * 9 + perm[i];
			return h;
		}
	}
	uint64_t bits;
	memcpy(&bits, &d, sizeof bits);
	return bits;
}

static void test_determinism_and_seek(void)
{
	enum { N = 3000 };
	static uint64_t val[N], pos[N + 1];
	static int kind[N];
	double weights[5] = {0.5, 0, 3, 1, 2};
	alias_table at;
	T_ASSERT(alias_build(&at, weights, 5) == 0);

	rng r = test_rng("seek"), chooser = test_rng("seek.kinds");
	for (int i = 0; i < N; i++) {
		kind[i] = (int)rng_below(&chooser, N_KINDS);
		pos[i] = rng_tell(&r);
		val[i] = draw_kind(&r, kind[i], &at);
	}
	pos[N] = rng_tell(&r);

	/* A fresh generator replays the same sequence. */
	rng again = test_rng("seek");
	for (int i = 0; i < N; i++)
		T_ASSERTF(draw_kind(&again, kind[i], &at) == val[i], "draw %d (kind %d) differs", i, kind[i]);

	/* Seeking anywhere (backwards, forwards, mid-block) and drawing gives the recorded value and ends at
	 * the recorded next position: a draw depends on nothing but its starting position. */
	for (int step = 0; step < N; step++) {
		int i = (int)rng_below(&chooser, N);
		rng_seek(&r, pos[i]);
		T_ASSERT(rng_tell(&r) == pos[i]);
		uint64_t v = draw_kind(&r, kind[i], &at);
		T_ASSERTF(v == val[i], "draw %d (kind %d) after seek to %llu differs", i, kind[i],
			  (unsigned long long)pos[i]);
		T_ASSERTF(rng_tell(&r) == pos[i + 1], "draw %d ends at %llu, want %llu", i,
			  (unsigned long long)rng_tell(&r), (unsigned long long)pos[i + 1]);
	}

	/* seek(tell()) is a no-op at every offset inside a block. */
	for (int k = 0; k < 8; k++) {
		rng a = test_rng("noop"), b;
		for (int j = 0; j < k; j++)
			rng_u32(&a);
		b = a;
		rng_seek(&b, rng_tell(&b));
		for (int j = 0; j < 9; j++)
			T_ASSERT(rng_u32(&a) == rng_u32(&b));
	}
	alias_free(&at);
}

static int words_equal(uint64_t seed_a, uint64_t stream_a, uint64_t seed_b, uint64_t stream_b)
{
	rng a, b;
	rng_init(&a, seed_a, stream_a);
	rng_init(&b, seed_b, stream_b);
	int same = 0;
	for (int i = 0; i < 64; i++)
		same += rng_u32(&a) == rng_u32(&b);
	return same;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static void test_streams_and_seeds_differ(void)
{
	/* 64 words agreeing by chance in more than 2 places: probability ~ 64^3 / 6 / 2^96 */
	T_ASSERT(words_equal(1, 0, 1, 0) == 64);
	T_ASSERT(words_equal(1, 0, 2, 0) <= 2);
	T_ASSERT(words_equal(1, 0, 1, 1) <= 2);
	T_ASSERT(words_equal(0, 1, 1, 0) <= 2); /* seed and stream are not interchangeable */
	T_ASSERT(words_equal(1, 0, (uint64_t)1 << 32, 0) <= 2);
	T_ASSERT(words_equal(0, 1, 0, (uint64_t)1 << 32) <= 2);

	T_ASSERT(rng_stream_id("pairs.perm", 3, 0) == rng_stream_id("pairs.perm", 3, 0));
	T_ASSERT(rng_stream_id(NULL, 1, 2) == rng_stream_id("", 1, 2));
	T_ASSERT(rng_stream_id("pairs.perm", 0, 0) != rng_stream_id("pairs.lambda", 0, 0));
	T_ASSERT(rng_stream_id("a", 1, 2) != rng_stream_id("a", 2, 1));

	/* No collisions among many ids: each index alone (guaranteed, a bijection), a grid, purposes. */
	enum { G = 120 };
	static uint64_t ids[3 * G + G * G + 2];
	size_t n = 0;
	for (uint64_t i = 0; i < G; i++) {
		ids[n++] = rng_stream_id("x", i + 1000, 0);
		ids[n++] = rng_stream_id("x", 0, i + 1000);
		char purpose[32];
		snprintf(purpose, sizeof purpose, "purpose%llu", (unsigned long long)i);
		ids[n++] = rng_stream_id(purpose, 0, 0);
	}
	for (uint64_t a = 0; a < G; a++)
		for (uint64_t b = 0; b < G; b++)
			ids[n++] = rng_stream_id("grid", a, b);
	ids[n++] = rng_stream_id("x", UINT64_MAX, 0);
	ids[n++] = rng_stream_id("x", 0, UINT64_MAX);
	qsort(ids, n, sizeof ids[0], cmp_u64);
	for (size_t i = 1; i < n; i++)
		T_ASSERTF(ids[i] != ids[i - 1], "stream id collision %016llx", (unsigned long long)ids[i]);
}

/* ---- threads ------------------------------------------------------------------------------------- */

enum { T_STREAMS = 48, T_DRAWS = 1500, T_THREADS = 4 };

typedef struct thread_job {
	uint64_t (*out)[T_DRAWS];
	int first, step;
	const alias_table *at;
} thread_job;

static void fill_stream(uint64_t *out, int s, const alias_table *at)
{
	rng r;
	rng_init(&r, 777, rng_stream_id("threads", (uint64_t)s, 0));
	for (int i = 0; i < T_DRAWS; i++)
		out[i] = draw_kind(&r, (i * 7 + s) % N_KINDS, at);
}

static void *thread_main(void *arg)
{
	thread_job *job = arg;
	for (int s = job->first; s < T_STREAMS; s += job->step)
		fill_stream(job->out[s], s, job->at);
	return NULL;
}

static void test_threads_match_single_thread(void)
{
	static uint64_t one[T_STREAMS][T_DRAWS], many[T_STREAMS][T_DRAWS];
	double weights[4] = {1, 0, 2, 5};
	alias_table at;
	T_ASSERT(alias_build(&at, weights, 4) == 0);
	/* Single thread, streams in reverse order: order of computation must not matter either. */
	for (int s = T_STREAMS - 1; s >= 0; s--)
		fill_stream(one[s], s, &at);
	pthread_t th[T_THREADS];
	thread_job jobs[T_THREADS];
	for (int t = 0; t < T_THREADS; t++) {
		jobs[t] = (thread_job){many, t, T_THREADS, &at};
		T_ASSERT(pthread_create(&th[t], NULL, thread_main, &jobs[t]) == 0);
	}
	for (int t = 0; t < T_THREADS; t++)
		T_ASSERT(pthread_join(th[t], NULL) == 0);
	T_ASSERT(memcmp(one, many, sizeof one) == 0);
	alias_free(&at);
}

/* ---- uniform and integers ------------------------------------------------------------------------ */

enum { N_BIG = 1000000 };
static double samples[N_BIG];

static void test_uniform(void)
{
	rng r = test_rng("uniform");
	for (size_t i = 0; i < N_BIG; i++) {
		samples[i] = rng_uniform(&r);
		T_ASSERT(samples[i] >= 0 && samples[i] < 1);
	}
	T_MOMENTS(samples, N_BIG, 0.5, 1.0 / 12, 1.0 / 80, "uniform");
	T_CDF_FIT(samples, N_BIG, cdf_uniform, NULL, 0, 1, "uniform");
	/* Pairs of successive uniforms: 10x10 cells, catches a generator that repeats or correlates. */
	uint64_t cells[100] = {0};
	double probs[100];
	for (int i = 0; i < 100; i++)
		probs[i] = 0.01;
	for (size_t i = 0; i + 1 < N_BIG; i += 2)
		cells[(int)(samples[i] * 10) * 10 + (int)(samples[i + 1] * 10)]++;
	T_CHI2(cells, probs, 100, 99);

	for (size_t i = 0; i < N_BIG / 4; i++) {
		samples[i] = rng_uniform_open(&r);
		T_ASSERT(samples[i] > 0 && samples[i] < 1);
	}
	T_MOMENTS(samples, N_BIG / 4, 0.5, 1.0 / 12, 1.0 / 80, "uniform_open");
}

static void test_u32_bits(void)
{
	/* Every bit of the raw words is a fair coin. */
	rng r = test_rng("bits");
	enum { N = 200000 };
	uint64_t ones[32] = {0};
	for (int i = 0; i < N; i++) {
		uint32_t w = rng_u32(&r);
		for (int b = 0; b < 32; b++)
			ones[b] += (w >> b) & 1;
	}
	for (int b = 0; b < 32; b++) {
		uint64_t counts[2] = {ones[b], N - ones[b]};
		double probs[2] = {0.5, 0.5};
		T_CHI2(counts, probs, 2, 1);
	}
}

static void test_below(void)
{
	rng r = test_rng("below");
	const uint64_t small[] = {1, 2, 3, 7, 10, 16, 1000};
	static uint64_t counts[1000];
	static double probs[1000];
	for (size_t c = 0; c < sizeof small / sizeof small[0]; c++) {
		uint64_t n = small[c];
		memset(counts, 0, sizeof counts);
		for (uint64_t i = 0; i < 20000 * n && i < 2000000; i++) {
			uint64_t v = rng_below(&r, n);
			T_ASSERT(v < n);
			counts[v]++;
		}
		if (n == 1) {
			T_ASSERT(counts[0] == 20000);
			continue;
		}
		for (uint64_t i = 0; i < n; i++)
			probs[i] = 1.0 / (double)n;
		T_CHI2(counts, probs, (size_t)n, (double)(n - 1));
	}

	/* Large n that do not divide the word range: reducing by modulo would give the first third of the
	 * range twice the weight of the others; a chi-square over the thirds sees that at once. The same
	 * for 64-bit n, and for n = 2^32 exactly (one whole word). */
	const struct {
		uint64_t n;
		int shift;
	} big[] = {
	    {(uint64_t)3 << 30, 30},
	    {(uint64_t)3 << 32, 32},
	    {(uint64_t)3 << 62, 62},
	    {(uint64_t)1 << 32, 30},
	    {((uint64_t)3 << 62) + 1, 62}, /* last third one short: invisible at this sample size */
	};
	for (size_t c = 0; c < sizeof big / sizeof big[0]; c++) {
		uint64_t third[4] = {0}, mod3[3] = {0};
		size_t k = big[c].n >> big[c].shift == 4 ? 4 : 3;
		for (int i = 0; i < 300000; i++) {
			uint64_t v = rng_below(&r, big[c].n);
			T_ASSERT(v < big[c].n);
			third[v >> big[c].shift]++;
			mod3[v % 3]++;
		}
		double p[4] = {1.0 / k, 1.0 / k, 1.0 / k, 1.0 / k};
		T_CHI2(third, p, k, (double)(k - 1));
		/* Multiply-shift without Lemire's rejection maps 4 words onto 3 values for n = 3 * 2^30,
		 * hitting multiples of 3 twice as often: visible in the residues. */
		double p3[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
		T_CHI2(mod3, p3, 3, 2);
	}
	for (int i = 0; i < 1000; i++)
		T_ASSERT(rng_below(&r, UINT64_MAX) < UINT64_MAX);
}

/* ---- normal, gamma, beta ------------------------------------------------------------------------- */

static void test_normal(void)
{
	rng r = test_rng("normal");
	for (size_t i = 0; i < N_BIG; i++) {
		samples[i] = rng_normal(&r);
		T_ASSERT(isfinite(samples[i]));
	}
	T_MOMENTS(samples, N_BIG, 0, 1, 3, "normal");
	/* Third and fourth moments: E x^3 = 0 (variance 15), E x^4 = 3 (variance 105 - 9 = 96). */
	double s3 = 0, s4 = 0;
	for (size_t i = 0; i < N_BIG; i++) {
		double x2 = samples[i] * samples[i];
		s3 += x2 * samples[i];
		s4 += x2 * x2;
	}
	double m3 = s3 / N_BIG, m4 = s4 / N_BIG;
	T_ASSERTF(fabs(m3) < SE_MAX * sqrt(15.0 / N_BIG), "skewness moment %g", m3);
	T_ASSERTF(fabs(m4 - 3) < SE_MAX * sqrt(96.0 / N_BIG), "fourth moment %g", m4);
	T_CDF_FIT(samples, N_BIG, cdf_normal, NULL, -40, 40, "normal");
}

/* The documented algorithms, recomputed from the same words with libm's log, exp and pow: checks the
 * method, the word consumption and the accuracy of rng.c's own log and exp (to ~1e-14 relative). */
static double ref_signed_uniform(rng *r) /* [-1, 1), 53 bits */
{
	return (double)((int64_t)(rng_u64(r) >> 10) - ((int64_t)1 << 53)) * 0x1p-53;
}

static double ref_normal(rng *r)
{
	for (;;) {
		double u = ref_signed_uniform(r);
		double v = ref_signed_uniform(r);
		double s = u * u + v * v;
		if (s < 1 && s > 0)
			return u * sqrt(-2 * log(s) / s);
	}
}

static double ref_gamma(rng *r, double k)
{
	if (k < 1) {
		double g = ref_gamma(r, k + 1);
		return g * pow(rng_uniform_open(r), 1 / k);
	}
	double d = k - 1.0 / 3, c = 1 / sqrt(9 * d);
	for (;;) {
		double x, v;
		do {
			x = ref_normal(r);
			v = 1 + c * x;
		} while (v <= 0);
		v = v * v * v;
		double u = rng_uniform_open(r);
		if (u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v)))
			return d * v;
	}
}

/* Jöhnk (1964) for a, b <= 1: U^(1/a) / (U^(1/a) + V^(1/b)) once the sum is <= 1; else the gamma ratio. */
static double ref_beta(rng *r, double a, double b)
{
	if (a <= 1 && b <= 1) {
		for (;;) {
			double u = rng_uniform_open(r), v = rng_uniform_open(r);
			double x = pow(u, 1 / a), y = pow(v, 1 / b);
			if (x + y <= 1)
				return x / (x + y);
		}
	}
	double gx = ref_gamma(r, a);
	double gy = ref_gamma(r, b);
	return gx / (gx + gy);
}

static int close_rel(double a, double b, double tol) { return fabs(a - b) <= tol * fabs(b); }

static void test_matches_reference_algorithms(void)
{
	rng r = test_rng("reference"), ref = r;
	for (int i = 0; i < 100000; i++) {
		double z = rng_normal(&r), want = ref_normal(&ref);
		T_ASSERTF(close_rel(z, want, 1e-14), "normal %d: %.17g, libm gives %.17g", i, z, want);
		T_ASSERT(rng_tell(&r) == rng_tell(&ref));
	}
	const double shapes[] = {0.05, 0.3, 0.9, 1, 2.5, 40};
	for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++)
		for (int i = 0; i < 20000; i++) {
			/* U^(1/k) magnifies any rounding of log U by |log U| / k <= 37 / k */
			double tol = 1e-14 * (1 + 37 / shapes[c]);
			double g = rng_gamma(&r, shapes[c]), want = ref_gamma(&ref, shapes[c]);
			T_ASSERTF(close_rel(g, want, tol), "gamma(%g) %d: %.17g, libm gives %.17g", shapes[c], i,
				  g, want);
			T_ASSERT(rng_tell(&r) == rng_tell(&ref));
		}
	/* Beta: Jöhnk's method for a, b <= 1 (through the integer-power and the logarithmic paths), else
	 * X / (X + Y) with X drawn first (through the logarithmic path for a shape < 1). */
	const double ab[][2] = {{0.2, 0.2}, {0.5, 0.5}, {1, 1}, {0.3, 0.7}, {0.05, 0.9}, {0.5, 3}, {2, 5}};
	for (size_t c = 0; c < sizeof ab / sizeof ab[0]; c++)
		for (int i = 0; i < 20000; i++) {
			double x = rng_beta(&r, ab[c][0], ab[c][1]);
			double want = ref_beta(&ref, ab[c][0], ab[c][1]);
			/* relative to the smaller of x and 1 - x, where the information is, plus a few ulps of 1
			 * (the reference's own x / (x + y) rounds there too); U^(1/a) through logarithms
			 * magnifies their rounding by |log U| / a <= 37 / a */
			double scale = fmin(want, 1 - want) > 1e-300 ? fmin(want, 1 - want) : 1e-300;
			double tol = 1e-14 * (1 + 37 / fmin(ab[c][0], ab[c][1]));
			T_ASSERTF(fabs(x - want) <= tol * scale + 0x1p-51, "beta(%g,%g) %d: %.17g, want %.17g",
				  ab[c][0], ab[c][1], i, x, want);
			T_ASSERT(rng_tell(&r) == rng_tell(&ref));
		}
}

static void test_gamma(void)
{
	const double shapes[] = {0.2, 0.5, 1, 3.7, 100};
	enum { N = 400000 };
	rng r = test_rng("gamma");
	for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
		double k = shapes[c];
		for (size_t i = 0; i < N; i++) {
			samples[i] = rng_gamma(&r, k);
			T_ASSERTF(samples[i] > 0 && isfinite(samples[i]), "shape %g: draw %g", k, samples[i]);
		}
		char what[32];
		snprintf(what, sizeof what, "gamma(%g)", k);
		/* Gamma(k, 1): mean k, variance k, fourth central moment 3k^2 + 6k. */
		T_MOMENTS(samples, N, k, k, 3 * k * k + 6 * k, what);
		T_CDF_FIT(samples, N, cdf_gamma, &k, 0, k + 60 * sqrt(k) + 60, what);
	}
	T_ASSERT(isnan(rng_gamma(&r, 0)));
	T_ASSERT(isnan(rng_gamma(&r, -1)));
	T_ASSERT(isnan(rng_gamma(&r, NAN)));
	T_ASSERT(isnan(rng_gamma(&r, INFINITY)));
	/* Very small shapes underflow towards 0 sometimes, but never go negative or NaN. */
	for (int i = 0; i < 10000; i++) {
		double g = rng_gamma(&r, 0.01);
		T_ASSERT(g >= 0 && isfinite(g));
	}
}

static void test_beta(void)
{
	const double ab[][2] = {{0.5, 0.5}, {0.2, 0.2}, {2, 5}, {1, 1}, {0.3, 4}, {0.3, 0.7}};
	enum { N = 400000 };
	rng r = test_rng("beta");
	for (size_t c = 0; c < sizeof ab / sizeof ab[0]; c++) {
		double a = ab[c][0], b = ab[c][1], s = a + b;
		for (size_t i = 0; i < N; i++) {
			samples[i] = rng_beta(&r, a, b);
			T_ASSERTF(samples[i] >= 0 && samples[i] <= 1, "beta(%g,%g) draw %g", a, b, samples[i]);
		}
		double mean = a / s, var = a * b / (s * s * (s + 1));
		double excess = 6 * ((a - b) * (a - b) * (s + 1) - a * b * (s + 2)) / (a * b * (s + 2) * (s + 3));
		char what[32];
		snprintf(what, sizeof what, "beta(%g,%g)", a, b);
		T_MOMENTS(samples, N, mean, var, (excess + 3) * var * var, what);
		if (a == 0.5 && b == 0.5)
			T_CDF_FIT(samples, N, cdf_arcsine, NULL, 0, 1, what);
		if (a == 2 && b == 5)
			T_CDF_FIT(samples, N, cdf_beta_2_5, NULL, 0, 1, what);
		if (a == 1 && b == 1)
			T_CDF_FIT(samples, N, cdf_uniform, NULL, 0, 1, what);
		if (a == b) { /* symmetric: P(x < 1/2) = 1/2 */
			uint64_t half[2] = {0, 0};
			for (size_t i = 0; i < N; i++)
				half[samples[i] < 0.5]++;
			double p[2] = {0.5, 0.5};
			T_CHI2(half, p, 2, 1);
		}
	}
	T_ASSERT(isnan(rng_beta(&r, 0, 1)));
	T_ASSERT(isnan(rng_beta(&r, 1, -2)));
	T_ASSERT(isnan(rng_beta(&r, NAN, 1)));
	for (int i = 0; i < 10000; i++) { /* tiny shapes: no 0/0 */
		double x = rng_beta(&r, 0.005, 0.005);
		T_ASSERT(x >= 0 && x <= 1);
	}
}

/* ---- bulk generation gives exactly the one-at-a-time definitions --------------------------------- */

static void test_bulk_matches_single(void)
{
	static uint32_t bulk[5000];
	const size_t lens[] = {0, 1, 3, 4, 31, 32, 33, 100, 129, 4999};
	for (unsigned off = 0; off < 6; off++)
		for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
			rng a = test_rng("fill"), b;
			for (unsigned i = 0; i < off; i++)
				rng_u32(&a);
			b = a;
			rng_fill_u32(&a, bulk, lens[k]);
			for (size_t i = 0; i < lens[k]; i++)
				T_ASSERTF(bulk[i] == rng_u32(&b), "fill of %zu from offset %u: word %zu", lens[k], off, i);
			T_ASSERT(rng_tell(&a) == rng_tell(&b));
			T_ASSERT(rng_u32(&a) == rng_u32(&b)); /* and the generator goes on the same */
		}

	/* rng_shuffle_u32 against rng.h's definition: rng_below(i) for i = n down to 2. */
	static uint32_t x[100000], y[100000];
	const size_t ns[] = {2, 33, 1000, 100000};
	for (unsigned off = 0; off < 3; off++)
		for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
			rng a = test_rng("shuffle.bulk"), b;
			for (unsigned i = 0; i < off; i++)
				rng_u32(&a);
			b = a;
			for (size_t i = 0; i < ns[k]; i++)
				x[i] = y[i] = (uint32_t)(i * 7 + 1);
			rng_shuffle_u32(&a, x, ns[k]);
			for (size_t i = ns[k]; i > 1; i--) {
				size_t j = (size_t)rng_below(&b, i);
				uint32_t t = y[i - 1];
				y[i - 1] = y[j];
				y[j] = t;
			}
			T_ASSERTF(memcmp(x, y, ns[k] * sizeof x[0]) == 0, "shuffle of %zu from offset %u", ns[k], off);
			T_ASSERT(rng_tell(&a) == rng_tell(&b));
		}

	/* rng_beta_streams against rng_init + rng_beta per stream, with a count not a multiple of the
	 * number of streams done at once, for every path of rng_beta. */
	const double ab[][2] = {{0.5, 0.5}, {0.2, 0.2}, {0.3, 0.7}, {1, 1}, {0.5, 3}, {2, 5}, {0, 1}};
	enum { NS = 203 };
	uint64_t streams[NS];
	double got[NS];
	uint64_t purpose = rng_purpose_hash("beta.streams");
	for (size_t i = 0; i < NS; i++)
		streams[i] = rng_stream_id_hashed(purpose, 7, i);
	for (size_t c = 0; c < sizeof ab / sizeof ab[0]; c++) {
		rng_beta_streams(99, streams, NS, ab[c][0], ab[c][1], got);
		for (size_t i = 0; i < NS; i++) {
			rng r;
			rng_init(&r, 99, streams[i]);
			double want = rng_beta(&r, ab[c][0], ab[c][1]);
			T_ASSERTF(memcmp(&got[i], &want, sizeof want) == 0, "beta(%g,%g) stream %zu: %.17g vs %.17g",
				  ab[c][0], ab[c][1], i, got[i], want);
		}
	}
	/* The two-step stream id is the one-step one. */
	for (uint64_t a = 0; a < 50; a++)
		T_ASSERT(rng_stream_id_hashed(rng_purpose_hash("mix.lambda"), a, a * a) ==
			 rng_stream_id("mix.lambda", a, a * a));
	T_ASSERT(rng_stream_id_hashed(rng_purpose_hash(NULL), 1, 2) == rng_stream_id("", 1, 2));
}

/* ---- alias tables -------------------------------------------------------------------------------- */

static void alias_fit(const double *w, size_t n, int draws, const char *what)
{
	alias_table at;
	T_ASSERTF(alias_build(&at, w, n) == 0, "%s: build failed", what);
	T_ASSERT(at.n == n);
	static uint64_t counts[1024], pos_counts[1024];
	static double probs[1024];
	memset(counts, 0, sizeof counts);
	rng r = test_rng(what);
	for (int i = 0; i < draws; i++) {
		size_t v = alias_draw(&at, &r);
		T_ASSERT(v < n);
		counts[v]++;
	}
	double wmax = 0, sum = 0; /* scaled, as weights near DBL_MAX would overflow the sum */
	for (size_t i = 0; i < n; i++)
		wmax = w[i] > wmax ? w[i] : wmax;
	for (size_t i = 0; i < n; i++)
		sum += w[i] / wmax;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (w[i] == 0) {
			T_ASSERTF(counts[i] == 0, "%s: zero-weight outcome %zu drawn %llu times", what, i,
				  (unsigned long long)counts[i]);
			continue;
		}
		pos_counts[k] = counts[i];
		probs[k++] = w[i] / wmax / sum;
	}
	if (k > 1)
		T_CHI2(pos_counts, probs, k, (double)(k - 1));
	else
		T_ASSERT(pos_counts[0] == (uint64_t)draws);
	alias_free(&at);
	T_ASSERT(at.prob == NULL && at.alias == NULL && at.n == 0);
}

static void test_alias(void)
{
	const double w1[] = {0, 1, 2, 0, 7, 0.5, 3, 0};
	alias_fit(w1, 8, 1000000, "alias.small");
	if (t_case_failed)
		return;
	const double w2[] = {0, 0, 0, 4.5, 0};
	alias_fit(w2, 5, 10000, "alias.single");
	if (t_case_failed)
		return;
	const double w3[] = {3};
	alias_fit(w3, 1, 1000, "alias.one");
	if (t_case_failed)
		return;
	const double w4[] = {1e308, 1e308, 0, 1e308}; /* the sum overflows unless scaled */
	alias_fit(w4, 4, 300000, "alias.huge");
	if (t_case_failed)
		return;
	const double w5[] = {1e-310, 3e-310, 2e-310}; /* subnormal */
	alias_fit(w5, 3, 300000, "alias.tiny");
	if (t_case_failed)
		return;
	/* Many outcomes, a fifth of them zero, the rest spread over a factor of 10. */
	static double w6[1000];
	rng r = test_rng("alias.weights");
	for (int i = 0; i < 1000; i++)
		w6[i] = rng_below(&r, 5) == 0 ? 0 : 0.1 + rng_uniform(&r);
	alias_fit(w6, 1000, 2000000, "alias.many");
	if (t_case_failed)
		return;
	/* A rare outcome next to equal ones (their scaled probabilities end just off 1). */
	const double w7[] = {1, 1, 1, 1e-4};
	alias_fit(w7, 4, 300000, "alias.leftover");
}

static void test_alias_refuses_bad_weights(void)
{
	const double neg[] = {1, -1, 2}, nan_w[] = {1, NAN}, inf_w[] = {INFINITY, 1}, zeros[] = {0, 0, 0};
	const struct {
		const double *w;
		size_t n;
	} bad[] = {{neg, 3}, {nan_w, 2}, {inf_w, 2}, {zeros, 3}, {neg, 0}};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		alias_table t = {12345, NULL, NULL};
		T_ASSERTF(alias_build(&t, bad[i].w, bad[i].n) == -1, "case %zu built", i);
		T_ASSERTF(t.n == 12345 && t.prob == NULL && t.alias == NULL, "case %zu touched the table", i);
	}
}

/* ---- permutations -------------------------------------------------------------------------------- */

static int perm_index(const uint32_t *p, int n) /* Lehmer code: a bijection onto 0..n!-1 */
{
	int idx = 0;
	for (int i = 0; i < n; i++) {
		int smaller = 0;
		for (int j = i + 1; j < n; j++)
			smaller += p[j] < p[i];
		idx = idx * (n - i) + smaller;
	}
	return idx;
}

static void test_permutation_valid(void)
{
	rng r = test_rng("perm.valid");
	static uint32_t p[5000];
	static unsigned char seen[5000];
	const size_t sizes[] = {0, 1, 2, 3, 100, 5000};
	for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
		size_t n = sizes[c];
		rng_permutation(&r, p, n);
		memset(seen, 0, sizeof seen);
		for (size_t i = 0; i < n; i++) {
			T_ASSERT(p[i] < n && !seen[p[i]]);
			seen[p[i]] = 1;
		}
	}
	/* rng_permutation is the identity shuffled: same words, same result. */
	rng a = test_rng("perm.same"), b = a;
	static uint32_t q[5000];
	rng_permutation(&a, p, 5000);
	for (uint32_t i = 0; i < 5000; i++)
		q[i] = i;
	rng_shuffle_u32(&b, q, 5000);
	T_ASSERT(memcmp(p, q, sizeof p) == 0 && rng_tell(&a) == rng_tell(&b));
}

static void test_permutation_uniform(void)
{
	rng r = test_rng("perm.uniform");
	/* All 24 permutations of 4 equally often. */
	uint64_t counts[24] = {0};
	double probs[24];
	for (int i = 0; i < 24; i++)
		probs[i] = 1.0 / 24;
	for (int i = 0; i < 240000; i++) {
		uint32_t p[4];
		rng_permutation(&r, p, 4);
		counts[perm_index(p, 4)]++;
	}
	T_CHI2(counts, probs, 24, 23);

	/* Position of each element for n = 7 (an odd size, so rng_below sees n not a power of 2): a 7x7
	 * table with both margins fixed, (n-1)^2 degrees of freedom. */
	enum { n = 7, DRAWS = 140000 };
	uint64_t at[n * n] = {0};
	double p_at[n * n];
	for (int i = 0; i < n * n; i++)
		p_at[i] = 1.0 / (n * n);
	for (int i = 0; i < DRAWS; i++) {
		uint32_t p[n];
		rng_permutation(&r, p, n);
		for (int pos = 0; pos < n; pos++)
			at[p[pos] * n + pos]++;
	}
	T_CHI2(at, p_at, n * n, (n - 1) * (n - 1));
}

static void test_shuffle(void)
{
	rng r = test_rng("shuffle");
	const uint32_t orig[5] = {40, 10, 30, 50, 20}; /* not sorted: the shuffle must not assume 0..n-1 */
	uint64_t counts[120] = {0};
	double probs[120];
	for (int i = 0; i < 120; i++)
		probs[i] = 1.0 / 120;
	for (int i = 0; i < 240000; i++) {
		uint32_t a[5];
		memcpy(a, orig, sizeof a);
		rng_shuffle_u32(&r, a, 5);
		uint32_t sorted_check = 0;
		for (int j = 0; j < 5; j++)
			sorted_check += a[j];
		T_ASSERT(sorted_check == 150);
		/* map values back to ranks in orig, giving a permutation of 0..4 */
		uint32_t rank[5];
		for (int j = 0; j < 5; j++) {
			rank[j] = 5;
			for (uint32_t k = 0; k < 5; k++)
				if (a[j] == orig[k])
					rank[j] = k;
			T_ASSERT(rank[j] < 5);
		}
		int idx = perm_index(rank, 5);
		counts[idx]++;
	}
	for (int i = 0; i < 120; i++)
		T_ASSERTF(counts[i] > 0, "permutation %d never produced", i);
	T_CHI2(counts, probs, 120, 119);
}

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	T_RUN(test_philox_known_answers);
	T_RUN(test_stream_layout);
	T_RUN(test_word_accounting);
	T_RUN(test_determinism_and_seek);
	T_RUN(test_streams_and_seeds_differ);
	T_RUN(test_threads_match_single_thread);
	T_RUN(test_uniform);
	T_RUN(test_u32_bits);
	T_RUN(test_below);
	T_RUN(test_normal);
	T_RUN(test_matches_reference_algorithms);
	T_RUN(test_gamma);
	T_RUN(test_beta);
	T_RUN(test_bulk_matches_single);
	T_RUN(test_alias);
	T_RUN(test_alias_refuses_bad_weights);
	T_RUN(test_permutation_valid);
	T_RUN(test_permutation_uniform);
	T_RUN(test_shuffle);
	return t_summary();
}
