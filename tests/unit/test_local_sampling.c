/* test_local_sampling.c — lfm-pairs' and lfm-mix's mathematics: the partner distribution p_ls, the pair
 * generator (permutations, partner-class frequencies, within-class cycling, seeking), the effective
 * imbalance gamma', the label shift and Theorem 1, and the baselines' label rules. Statistical tests use
 * fixed seeds and thresholds whose false-failure probability is below 1e-6. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/rng.h"
#include "train/local_sampling.h"
#include "train/mix.h"
#include "train/mix_lambdas.h"
#include "../test.h"

/* Upper 1e-7 quantile of chi-square with df degrees of freedom (Wilson-Hilferty; z = 5.199). */
static double chi2_limit(double df)
{
	double z = 5.199, a = 2.0 / (9.0 * df);
	double c = 1 - a + z * sqrt(a);
	return df * c * c * c;
}

static void random_features(float *f, int C, int d, uint64_t seed)
{
	rng r;
	rng_init(&r, seed, 99);
	for (int k = 0; k < C * d; k++)
		f[k] = (float)rng_normal(&r);
}

static void test_probs_rows_are_distributions_without_diagonal(void)
{
	int C = 12, d = 8;
	float f[12 * 8];
	random_features(f, C, d, 1);
	double p[12 * 12];
	char err[128];
	T_ASSERT(ls_partner_probs(f, C, d, 0.05, 0, NULL, p, err, sizeof err) == 0);
	for (int y = 0; y < C; y++) {
		double s = 0;
		for (int k = 0; k < C; k++) {
			T_ASSERT(p[y * C + k] >= 0);
			s += p[y * C + k];
		}
		T_ASSERTF(fabs(s - 1) < 1e-12, "row %d sums to %.17g", y, s);
		T_ASSERT(p[y * C + y] == 0);
	}
}

/* Independent computation: normalise in long double, softmax over k != y without max-subtraction
 * (safe in long double's range for these tau), compare. */
static void test_probs_match_independent_softmax(void)
{
	int C = 9, d = 5;
	float f[9 * 5];
	random_features(f, C, d, 2);
	double taus[] = {1.0, 0.05, 0.01, 0.002};
	for (size_t ti = 0; ti < 4; ti++) {
		double p[81];
		char err[128];
		T_ASSERT(ls_partner_probs(f, C, d, taus[ti], 0, NULL, p, err, sizeof err) == 0);
		for (int y = 0; y < C; y++) {
			long double sims[9], ny = 0, sum = 0;
			for (int m = 0; m < d; m++)
				ny += (long double)f[y * d + m] * f[y * d + m];
			for (int k = 0; k < C; k++) {
				long double nk = 0, dot = 0;
				for (int m = 0; m < d; m++) {
					nk += (long double)f[k * d + m] * f[k * d + m];
					dot += (long double)f[y * d + m] * f[k * d + m];
				}
				sims[k] = dot / sqrtl(ny * nk);
				if (k != y)
					sum += expl(sims[k] / taus[ti]);
			}
			for (int k = 0; k < C; k++) {
				long double want = k == y ? 0 : expl(sims[k] / taus[ti]) / sum;
				T_ASSERTF(fabsl(p[y * C + k] - want) <= 1e-9L * (want > 1e-300L ? 1 : 0) + 1e-300L ||
					      fabsl(p[y * C + k] - want) / want < 1e-9L,
					  "tau %g row %d col %d: %.17g vs %.17Lg", taus[ti], y, k, p[y * C + k], want);
			}
		}
	}
}

static void test_probs_stable_at_tiny_tau(void)
{
	int C = 4, d = 2;
	/* Nearly parallel features: logits differ by thousands at tau = 0.002; no NaN, no division by 0. */
	float f[] = {1, 0, 0.999f, 0.0447f, -1, 0, 0, 1};
	double p[16];
	char err[128];
	T_ASSERT(ls_partner_probs(f, C, d, 0.002, 0, NULL, p, err, sizeof err) == 0);
	for (int k = 0; k < 16; k++)
		T_ASSERT(isfinite(p[k]));
	T_ASSERTF(p[0 * 4 + 1] > 0.999999, "p(1|0) = %g", p[1]);
}

static void test_probs_reject_bad_input(void)
{
	float f[] = {1, 0, 0, 0, 0, 1};
	double p[9];
	char err[128];
	T_ASSERT(ls_partner_probs(f, 3, 2, 0.05, 0, NULL, p, err, sizeof err) == -1);
	T_ASSERTF(strstr(err, "row 1") != NULL, "%s", err);
	float g[] = {1, 0, 0, 1};
	T_ASSERT(ls_partner_probs(g, 2, 2, 0, 0, NULL, p, err, sizeof err) == -1);
	T_ASSERT(ls_partner_probs(g, 2, 2, -1, 0, NULL, p, err, sizeof err) == -1);
	float h[] = {1, NAN, 0, 1};
	T_ASSERT(ls_partner_probs(h, 2, 2, 1, 0, NULL, p, err, sizeof err) == -1);
}

static void test_top_k_keeps_the_k_nearest(void)
{
	int C = 10, d = 6;
	float f[60];
	random_features(f, C, d, 3);
	double full[100], top[100];
	char err[128];
	T_ASSERT(ls_partner_probs(f, C, d, 0.1, 0, NULL, full, err, sizeof err) == 0);
	T_ASSERT(ls_partner_probs(f, C, d, 0.1, 3, NULL, top, err, sizeof err) == 0);
	for (int y = 0; y < C; y++) {
		int nz = 0;
		double kept = 0, s = 0;
		for (int k = 0; k < C; k++)
			if (top[y * C + k] > 0) {
				nz++;
				kept += full[y * C + k];
				s += top[y * C + k];
			}
		T_ASSERT(nz == 3);
		T_ASSERT(fabs(s - 1) < 1e-12);
		for (int k = 0; k < C; k++) {
			if (top[y * C + k] > 0)
				T_ASSERT(fabs(top[y * C + k] - full[y * C + k] / kept) < 1e-12);
			else if (k != y) /* every dropped class is no more likely than every kept one */
				for (int m = 0; m < C; m++)
					if (top[y * C + m] > 0)
						T_ASSERT(full[y * C + k] <= full[y * C + m]);
		}
	}
}

/* A small long-tailed training set: class c has counts[c] samples with index values 1000 + position. */
typedef struct toy {
	int C;
	size_t n;
	int64_t counts[10];
	uint64_t index[400];
	int32_t label[400];
} toy;

static void make_toy(toy *t)
{
	static const int64_t counts[10] = {100, 70, 50, 35, 25, 17, 12, 8, 5, 3};
	t->C = 10;
	t->n = 0;
	for (int c = 0; c < 10; c++) {
		t->counts[c] = counts[c];
		for (int64_t k = 0; k < counts[c]; k++) {
			/* interleave classes so positions are not sorted by class */
			t->label[t->n] = c;
			t->index[t->n] = 1000 + 7 * t->n;
			t->n++;
		}
	}
	rng r;
	rng_init(&r, 5, 5);
	for (size_t k = t->n - 1; k > 0; k--) { /* shuffle the toy's order, keeping index/label together */
		size_t m = (size_t)rng_below(&r, k + 1);
		int32_t l = t->label[k];
		t->label[k] = t->label[m];
		t->label[m] = l;
	}
}

static int label_of(const toy *t, uint64_t index)
{
	if (index < 1000 || (index - 1000) % 7)
		return -1;
	size_t pos = (index - 1000) / 7;
	return pos < t->n ? t->label[pos] : -1;
}

static void test_partner_classes_follow_p_ls(void)
{
	toy t;
	make_toy(&t);
	float f[10 * 6];
	random_features(f, 10, 6, 4);
	double p[100];
	char err[128];
	T_ASSERT(ls_partner_probs(f, 10, 6, 0.3, 0, t.counts, p, err, sizeof err) == 0);
	pair_generator g;
	T_ASSERT(pairs_init(&g, 42, 10, p, 0, t.n, t.index, t.label, err, sizeof err) == 0);
	static uint64_t obs[10][10];
	memset(obs, 0, sizeof obs);
	uint64_t rows[10] = {0};
	uint32_t epochs = 1000000 / (uint32_t)t.n + 1; /* >= 10^6 draws */
	for (uint32_t e = 0; e < epochs; e++)
		for (size_t k = 0; k < t.n; k++) {
			pair_record r;
			pairs_next(&g, e, k, &r);
			obs[r.yi][r.yj]++;
			rows[r.yi]++;
		}
	double chi2 = 0;
	int df = 0;
	for (int y = 0; y < 10; y++) {
		int cells = 0;
		for (int k = 0; k < 10; k++) {
			double expct = p[y * 10 + k] * (double)rows[y];
			if (expct == 0) {
				T_ASSERTF(obs[y][k] == 0, "class %d drew impossible partner %d", y, k);
				continue;
			}
			chi2 += (obs[y][k] - expct) * (obs[y][k] - expct) / expct;
			cells++;
		}
		df += cells - 1;
	}
	T_ASSERTF(chi2 < chi2_limit(df), "chi2 %.1f with %d df (limit %.1f)", chi2, df, chi2_limit(df));
	pairs_free(&g);
}

static void test_each_epoch_is_a_permutation_and_labels_match(void)
{
	toy t;
	make_toy(&t);
	float f[60];
	random_features(f, 10, 6, 5);
	double p[100];
	char err[128];
	T_ASSERT(ls_partner_probs(f, 10, 6, 0.05, 0, t.counts, p, err, sizeof err) == 0);
	pair_generator g;
	T_ASSERT(pairs_init(&g, 7, 10, p, 0, t.n, t.index, t.label, err, sizeof err) == 0);
	uint64_t first_of_epoch[5];
	for (uint32_t e = 0; e < 5; e++) {
		static unsigned char seen[400];
		memset(seen, 0, sizeof seen);
		for (size_t k = 0; k < t.n; k++) {
			pair_record r;
			pairs_next(&g, e, k, &r);
			int li = label_of(&t, r.i), lj = label_of(&t, r.j);
			T_ASSERTF(li >= 0 && lj >= 0, "unknown index %llu or %llu", (unsigned long long)r.i,
				  (unsigned long long)r.j);
			T_ASSERT(li == r.yi && lj == r.yj);
			T_ASSERT(r.yi != r.yj);
			size_t pos = (r.i - 1000) / 7;
			T_ASSERTF(!seen[pos], "epoch %u visits sample %zu twice", e, pos);
			seen[pos] = 1;
			if (k == 0)
				first_of_epoch[e] = r.i;
		}
	}
	/* Fresh permutations: five epochs starting on the same sample is a 1/n^4 event. */
	T_ASSERT(!(first_of_epoch[0] == first_of_epoch[1] && first_of_epoch[1] == first_of_epoch[2] &&
		   first_of_epoch[2] == first_of_epoch[3] && first_of_epoch[3] == first_of_epoch[4]));
	pairs_free(&g);
}

static void test_partners_cycle_within_their_class(void)
{
	toy t;
	make_toy(&t);
	float f[60];
	random_features(f, 10, 6, 6);
	double p[100];
	char err[128];
	T_ASSERT(ls_partner_probs(f, 10, 6, 1.0, 0, t.counts, p, err, sizeof err) == 0);
	pair_generator g;
	T_ASSERT(pairs_init(&g, 11, 10, p, 0, t.n, t.index, t.label, err, sizeof err) == 0);
	/* Per class, the j's in drawing order (across epochs): each block of n_c is a permutation. */
	static uint64_t seq[10][20000];
	size_t len[10] = {0};
	for (uint32_t e = 0; e < 40; e++)
		for (size_t k = 0; k < t.n; k++) {
			pair_record r;
			pairs_next(&g, e, k, &r);
			if (len[r.yj] < 20000)
				seq[r.yj][len[r.yj]++] = r.j;
		}
	int different_orders = 0;
	for (int c = 0; c < 10; c++) {
		size_t nc = (size_t)t.counts[c];
		T_ASSERTF(len[c] >= 2 * nc, "class %d drawn only %zu times", c, len[c]);
		for (size_t b = 0; b + nc <= len[c]; b += nc) {
			for (size_t a = b; a < b + nc; a++)
				for (size_t a2 = a + 1; a2 < b + nc; a2++)
					T_ASSERTF(seq[c][a] != seq[c][a2], "class %d repeats a sample within cycle %zu", c,
						  b / nc);
			if (b > 0 && memcmp(&seq[c][b], &seq[c][b - nc], nc * sizeof(uint64_t)) != 0)
				different_orders = 1;
		}
	}
	T_ASSERTF(different_orders, "cycles are never reshuffled");
	pairs_free(&g);
}

static void test_seek_recomputes_the_stream(void)
{
	toy t;
	make_toy(&t);
	float f[60];
	random_features(f, 10, 6, 7);
	double p[100];
	char err[128];
	T_ASSERT(ls_partner_probs(f, 10, 6, 0.1, 0, t.counts, p, err, sizeof err) == 0);
	pair_generator a, b;
	T_ASSERT(pairs_init(&a, 3, 10, p, 0, t.n, t.index, t.label, err, sizeof err) == 0);
	T_ASSERT(pairs_init(&b, 3, 10, p, 0, t.n, t.index, t.label, err, sizeof err) == 0);
	static pair_record all[3][400];
	for (uint32_t e = 0; e < 3; e++)
		for (size_t k = 0; k < t.n; k++)
			pairs_next(&a, e, k, &all[e][k]);
	pairs_seek(&b, 1, 37);
	for (uint32_t e = 1; e < 3; e++)
		for (size_t k = e == 1 ? 37 : 0; k < t.n; k++) {
			pair_record r;
			pairs_next(&b, e, k, &r);
			const pair_record *w = &all[e][k]; /* field by field: the struct has padding */
			T_ASSERTF(r.epoch == w->epoch && r.i == w->i && r.j == w->j && r.yi == w->yi && r.yj == w->yj,
				  "epoch %u position %zu differs after seek", e, k);
		}
	pairs_free(&a);
	pairs_free(&b);
}

/* The same over several chunks of generated words (1500 samples, seeks into the middle of an epoch and
 * back), for local and uniform partners. */
static void test_seek_across_chunks(void)
{
	enum { N = 1500, C = 7, E = 3 };
	static uint64_t index[N];
	static int32_t label[N];
	int64_t counts[C] = {0};
	for (int k = 0; k < N; k++) {
		label[k] = (int32_t)((k * k + 3 * k) % C);
		index[k] = 5 + 2 * (uint64_t)k;
		counts[label[k]]++;
	}
	float f[C * 3];
	random_features(f, C, 3, 9);
	double p[C * C];
	char err[128];
	T_ASSERT(ls_partner_probs(f, C, 3, 0.2, 0, counts, p, err, sizeof err) == 0);
	static pair_record all[E][N];
	for (int uniform = 0; uniform <= 1; uniform++) {
		pair_generator a;
		T_ASSERT(pairs_init(&a, 77, C, p, uniform, N, index, label, err, sizeof err) == 0);
		for (uint32_t e = 0; e < E; e++)
			for (size_t k = 0; k < N; k++)
				pairs_next(&a, e, k, &all[e][k]);
		static const size_t at[][2] = {{2, 700}, {0, 1499}, {1, 0}, {2, 1023}, {0, 0}};
		for (size_t s = 0; s < sizeof at / sizeof at[0]; s++) {
			pairs_seek(&a, (uint32_t)at[s][0], at[s][1]);
			for (uint32_t e = (uint32_t)at[s][0]; e < E; e++)
				for (size_t k = e == at[s][0] ? at[s][1] : 0; k < N; k++) {
					pair_record r;
					pairs_next(&a, e, k, &r);
					const pair_record *w = &all[e][k];
					T_ASSERTF(r.i == w->i && r.j == w->j && r.yi == w->yi && r.yj == w->yj,
						  "uniform %d, seek to (%zu, %zu): (%u, %zu) differs", uniform, at[s][0],
						  at[s][1], e, k);
					if (t_case_failed)
						return;
				}
		}
		pairs_free(&a);
	}
}

static void test_uniform_partners(void)
{
	toy t;
	make_toy(&t);
	pair_generator g;
	char err[128];
	T_ASSERT(pairs_init(&g, 9, 10, NULL, 1, t.n, t.index, t.label, err, sizeof err) == 0);
	/* Partner classes follow the class frequencies n_k / N. */
	uint64_t obs[10] = {0}, total = 0;
	for (uint32_t e = 0; e < 1000; e++)
		for (size_t k = 0; k < t.n; k++) {
			pair_record r;
			pairs_next(&g, e, k, &r);
			T_ASSERT(label_of(&t, r.j) == r.yj);
			obs[r.yj]++;
			total++;
		}
	double chi2 = 0;
	for (int c = 0; c < 10; c++) {
		double expct = (double)total * t.counts[c] / (double)t.n;
		chi2 += (obs[c] - expct) * (obs[c] - expct) / expct;
	}
	T_ASSERTF(chi2 < chi2_limit(9), "chi2 %.1f", chi2);
	pairs_free(&g);
}

static void test_effective_imbalance_independent(void)
{
	toy t;
	make_toy(&t);
	float f[60];
	random_features(f, 10, 6, 8);
	double p[100], q[10];
	char err[128];
	T_ASSERT(ls_partner_probs(f, 10, 6, 0.05, 0, t.counts, p, err, sizeof err) == 0);
	double g = ls_effective_imbalance(p, t.counts, 10, q);
	/* Independently: the expected number of times class y appears in a pair (as i or as partner) per
	 * draw, by the paper's formula written as vector operations in long double. */
	long double N = 0, pi[10], mixin[10] = {0}, mx = 0, mn = 1e300L;
	for (int c = 0; c < 10; c++)
		N += t.counts[c];
	for (int c = 0; c < 10; c++)
		pi[c] = t.counts[c] / N;
	for (int k = 0; k < 10; k++)
		for (int y = 0; y < 10; y++)
			mixin[y] += pi[k] * p[k * 10 + y];
	for (int y = 0; y < 10; y++) {
		long double qy = pi[y] + (1 - pi[y]) * mixin[y];
		T_ASSERT(fabsl(qy - q[y]) < 1e-12L);
		if (qy > mx)
			mx = qy;
		if (qy < mn)
			mn = qy;
	}
	T_ASSERTF(fabsl(g - mx / mn) < 1e-9L, "gamma' %.12g vs %.12Lg", g, mx / mn);
	T_ASSERT(g < 100.0 / 3.0); /* local sampling reduces the imbalance */
}

/* Theorem 1: the label shift is the argmin over [0, 1] of
 *   (l - lx)^2 / 2 + alpha ((l - 1/2)^2 - (l - p)^2),  p = ni / (ni + nj). */
static void test_label_shift_is_theorem_1_argmin(void)
{
	double alphas[] = {0, 0.5, 1, 1.25, 1.5};
	double ns[][2] = {{5000, 50}, {50, 5000}, {100, 100}, {500, 499}, {20, 400}, {7, 3}};
	for (size_t a = 0; a < 5; a++)
		for (size_t m = 0; m < 6; m++)
			for (int xi = 0; xi <= 40; xi++) {
				double lx = xi / 40.0, ni = ns[m][0], nj = ns[m][1], pr = ni / (ni + nj);
				double best = 0, bestf = INFINITY;
				for (int li = 0; li <= 200000; li++) {
					double l = li / 200000.0;
					double fl = (l - lx) * (l - lx) / 2 +
						    alphas[a] * ((l - 0.5) * (l - 0.5) - (l - pr) * (l - pr));
					if (fl < bestf) {
						bestf = fl;
						best = l;
					}
				}
				double got = mix_label_shift(lx, alphas[a], ni, nj);
				T_ASSERTF(fabs(got - best) <= 1e-5, "alpha %g n %g/%g lx %g: %g vs argmin %g", alphas[a],
					  ni, nj, lx, got, best);
			}
}

static void test_baseline_label_rules(void)
{
	mix_params mixup = {.method = MIX_MIXUP};
	T_ASSERT(mix_label(&mixup, 0.3, 1000, 10) == 0.3);
	mix_params none = {.method = MIX_NONE};
	T_ASSERT(mix_label(&none, 0.3, 1000, 10) == 1);
	/* Remix, kappa 3, tau 0.5: the label goes to the minority class. */
	struct { double lx, ni, nj, want, want_official; } cases[] = {
	    {0.3, 300, 100, 0, 1},     /* ni/nj = 3 >= kappa, lx < tau: all to j (minority) */
	    {0.6, 300, 100, 0.6, 0.6}, /* lx >= tau: unchanged */
	    {0.7, 100, 300, 1, 0},     /* ni/nj = 1/3 <= 1/kappa, 1 - lx < tau: all to i (minority) */
	    {0.4, 100, 300, 0.4, 0.4}, /* 1 - lx >= tau */
	    {0.3, 200, 100, 0.3, 0.3}, /* ratio 2 < kappa */
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		T_ASSERTF(mix_label_remix(cases[k].lx, cases[k].ni, cases[k].nj, 3, 0.5, 0) == cases[k].want,
			  "remix case %zu", k);
		T_ASSERTF(mix_label_remix(cases[k].lx, cases[k].ni, cases[k].nj, 3, 0.5, 1) ==
			      cases[k].want_official,
			  "remix-official case %zu", k);
	}
	/* The label shift clamps. */
	T_ASSERT(mix_label_shift(0.1, 1, 5000, 50) == 0);
	T_ASSERT(mix_label_shift(0.9, 1, 50, 5000) == 1);
	T_ASSERT(fabs(mix_label_shift(0.5, 1, 100, 100) - 0.5) < 1e-15);
}

/* lfm-mix's lx of (e, l) is rng_beta of a fresh generator on the stream ("mix.lambda", e, l), whatever
 * the order of the requests and whether a helper thread draws them ahead. */
static double lambda_reference(uint64_t seed, double beta, uint64_t e, uint64_t l)
{
	rng r;
	rng_init(&r, seed, rng_stream_id("mix.lambda", e, l));
	return rng_beta(&r, beta, beta);
}

static void test_mix_lambdas_are_pure_functions(void)
{
	const double betas[] = {0.5, 0.2, 2.0};
	for (size_t b = 0; b < sizeof betas / sizeof betas[0]; b++)
		for (int threads = 1; threads <= 2; threads++) {
			/* the schedule the header promises: 3 epochs of 4500 indices (chunks of 2048 and a rest) */
			mix_lambdas *s = mix_lambdas_open(11, betas[b], 4500, 3, threads);
			for (uint64_t e = 0; e < 3; e++)
				for (uint64_t l = 0; l < 4500; l++) {
					double got = mix_lambdas_get(s, e, l), want = lambda_reference(11, betas[b], e, l);
					T_ASSERTF(memcmp(&got, &want, sizeof got) == 0, "beta %g threads %d (%llu, %llu)",
						  betas[b], threads, (unsigned long long)e, (unsigned long long)l);
				}
			mix_lambdas_close(s);
			/* a stream that strays: a short epoch, an epoch beyond the promise, a step back */
			static const uint64_t req[][3] = {{0, 0, 100}, {1, 0, 4600}, {7, 3, 40}, {2, 0, 5}, {0, 7, 9}};
			s = mix_lambdas_open(11, betas[b], 4500, 3, threads);
			for (size_t k = 0; k < sizeof req / sizeof req[0]; k++)
				for (uint64_t l = req[k][1]; l < req[k][2]; l++) {
					double got = mix_lambdas_get(s, req[k][0], l);
					double want = lambda_reference(11, betas[b], req[k][0], l);
					T_ASSERTF(memcmp(&got, &want, sizeof got) == 0, "stray: beta %g threads %d (%llu, %llu)",
						  betas[b], threads, (unsigned long long)req[k][0], (unsigned long long)l);
				}
			mix_lambdas_close(s);
		}
	/* closing with the helper still ahead (and blocked on a full ring) */
	mix_lambdas *s = mix_lambdas_open(1, 0.5, 100000, 50, 2);
	T_ASSERT(mix_lambdas_get(s, 0, 0) == lambda_reference(1, 0.5, 0, 0));
	mix_lambdas_close(s);
}

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	T_RUN(test_probs_rows_are_distributions_without_diagonal);
	T_RUN(test_probs_match_independent_softmax);
	T_RUN(test_probs_stable_at_tiny_tau);
	T_RUN(test_probs_reject_bad_input);
	T_RUN(test_top_k_keeps_the_k_nearest);
	T_RUN(test_partner_classes_follow_p_ls);
	T_RUN(test_each_epoch_is_a_permutation_and_labels_match);
	T_RUN(test_partners_cycle_within_their_class);
	T_RUN(test_seek_recomputes_the_stream);
	T_RUN(test_seek_across_chunks);
	T_RUN(test_uniform_partners);
	T_RUN(test_effective_imbalance_independent);
	T_RUN(test_label_shift_is_theorem_1_argmin);
	T_RUN(test_baseline_label_rules);
	T_RUN(test_mix_lambdas_are_pure_functions);
	return t_summary();
}
