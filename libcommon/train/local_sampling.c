/* local_sampling.c — see local_sampling.h. */
#include "train/local_sampling.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

/* a . b in a fixed order (four interleaved partial sums, then the tail), so the result is the same on
 * every machine; four chains instead of one make it about four times faster (C^2 d products: 0.5 G for
 * ImageNet-LT's 1000 classes). */
static double dot(const double *a, const double *b, int d)
{
	double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	int m = 0;
	for (; m + 4 <= d; m += 4) {
		s0 += a[m] * b[m];
		s1 += a[m + 1] * b[m + 1];
		s2 += a[m + 2] * b[m + 2];
		s3 += a[m + 3] * b[m + 3];
	}
	for (; m < d; m++)
		s0 += a[m] * b[m];
	return (s0 + s1) + (s2 + s3);
}

int ls_partner_probs(const float *features, int C, int d, double tau, int top_k, const int64_t *counts,
		     double *p, char *err, size_t errsz)
{
	if (C < 2) {
		snprintf(err, errsz, "local sampling needs at least 2 classes, got %d", C);
		return -1;
	}
	if (!(tau > 0) || !isfinite(tau)) {
		snprintf(err, errsz, "tau must be a positive number, got %g", tau);
		return -1;
	}
	double *f = xmalloc_array((size_t)C * (size_t)d, sizeof *f);
	for (int c = 0; c < C; c++) {
		double ss = 0;
		for (int k = 0; k < d; k++) {
			double v = features[(size_t)c * d + k];
			if (!isfinite(v)) {
				snprintf(err, errsz, "text feature row %d has a non-finite value", c);
				free(f);
				return -1;
			}
			ss += v * v;
		}
		if (!(ss > 0)) {
			snprintf(err, errsz, "text feature row %d is all zeros", c);
			free(f);
			return -1;
		}
		double inv = 1.0 / sqrt(ss);
		for (int k = 0; k < d; k++)
			f[(size_t)c * d + k] = features[(size_t)c * d + k] * inv;
	}
	int *order = xmalloc_array((size_t)C, sizeof *order);
	double *logit = xmalloc_array((size_t)C, sizeof *logit);
	for (int y = 0; y < C; y++) {
		double *row = p + (size_t)y * C;
		double mx = -INFINITY;
		for (int k = 0; k < C; k++) {
			int usable = k != y && (!counts || counts[k] > 0);
			if (!usable) {
				logit[k] = -INFINITY;
				continue;
			}
			logit[k] = dot(f + (size_t)y * d, f + (size_t)k * d, d) / tau;
			if (logit[k] > mx)
				mx = logit[k];
		}
		if (mx == -INFINITY) {
			snprintf(err, errsz, "class %d has no possible partner class (all others empty)", y);
			free(f), free(order), free(logit);
			return -1;
		}
		if (top_k > 0 && top_k < C - 1) {
			/* Keep the top_k largest logits: rank by logit, ties by lower index (stable). */
			for (int k = 0; k < C; k++)
				order[k] = k;
			for (int a = 1; a < C; a++) { /* insertion sort, descending; C is at most a few thousand */
				int v = order[a], b = a;
				while (b > 0 && (logit[order[b - 1]] < logit[v] ||
						 (logit[order[b - 1]] == logit[v] && order[b - 1] > v))) {
					order[b] = order[b - 1];
					b--;
				}
				order[b] = v;
			}
			for (int r = top_k; r < C; r++)
				logit[order[r]] = -INFINITY;
		}
		double sum = 0;
		for (int k = 0; k < C; k++) {
			row[k] = logit[k] == -INFINITY ? 0.0 : exp(logit[k] - mx);
			sum += row[k];
		}
		for (int k = 0; k < C; k++)
			row[k] /= sum;
	}
	free(f), free(order), free(logit);
	return 0;
}

double ls_effective_imbalance(const double *p, const int64_t *counts, int C, double *q)
{
	double N = 0;
	for (int k = 0; k < C; k++)
		N += (double)counts[k];
	double mx = 0, mn = INFINITY;
	for (int y = 0; y < C; y++) {
		double pi = counts[y] / N, mixin = 0;
		for (int k = 0; k < C; k++)
			mixin += p[(size_t)k * C + y] * (counts[k] / N);
		q[y] = pi + (1 - pi) * mixin;
		if (counts[y] > 0) {
			if (q[y] > mx)
				mx = q[y];
			if (q[y] < mn)
				mn = q[y];
		}
	}
	return mx / mn;
}

/* One alias draw from exactly two 32-bit words (one 53-bit uniform, low word first as rng_uniform):
 * bucket = floor(u n), accept the bucket when the fractional part is below its probability. Fixed width
 * keeps (e, t) -> words [2t, 2t+2). */
static size_t draw_alias(const alias_table *t, uint32_t w0, uint32_t w1)
{
	double u = (double)((((uint64_t)w1 << 32) | w0) >> 11) * 0x1p-53 * (double)t->n;
	size_t b = (size_t)u;
	if (b >= t->n)
		b = t->n - 1;
	return (u - (double)b) < t->prob[b] ? b : t->alias[b];
}

static void reshuffle_class(pair_generator *g, int c)
{
	/* Start from the canonical (source) order so a cycle's order depends only on (seed, class, cycle). */
	memcpy(g->members[c], g->canon[c], g->class_size[c] * sizeof(uint32_t));
	rng r;
	rng_init(&r, g->seed, rng_stream_id_hashed(g->purpose_cycle, (uint64_t)c, g->cycle[c]));
	rng_shuffle_u32(&r, g->members[c], g->class_size[c]);
}

int pairs_init(pair_generator *g, uint64_t seed, int C, const double *p, int uniform, size_t n,
	       const uint64_t *index, const int32_t *label, char *err, size_t errsz)
{
	memset(g, 0, sizeof *g);
	g->seed = seed;
	g->uniform = uniform;
	g->C = C;
	g->n = n;
	g->index = index;
	g->label = label;
	g->perm_epoch = UINT32_MAX;
	g->words_epoch = UINT32_MAX;
	g->purpose_perm = rng_purpose_hash("pairs.perm");
	g->purpose_class = rng_purpose_hash("pairs.class");
	g->purpose_cycle = rng_purpose_hash("pairs.cycle");
	g->purpose_uniform = rng_purpose_hash("pairs.uniform");
	if (n == 0 || n > UINT32_MAX) {
		snprintf(err, errsz, "the samples stream has %zu samples (need 1 .. %u)", n, UINT32_MAX);
		return -1;
	}
	g->class_size = xcalloc((size_t)C, sizeof *g->class_size);
	g->cursor = xcalloc((size_t)C, sizeof *g->cursor);
	g->cycle = xcalloc((size_t)C, sizeof *g->cycle);
	g->members = xcalloc((size_t)C, sizeof *g->members);
	g->canon = xcalloc((size_t)C, sizeof *g->canon);
	g->perm = xmalloc_array(n, sizeof *g->perm);
	g->words = xmalloc_array(2 * PAIRS_CHUNK, sizeof *g->words);
	for (size_t s = 0; s < n; s++) {
		if (label[s] < 0 || label[s] >= C) {
			snprintf(err, errsz, "sample %zu has label %d outside 0 .. %d", s, label[s], C - 1);
			pairs_free(g);
			return -1;
		}
		g->class_size[label[s]]++;
	}
	for (int c = 0; c < C; c++) {
		g->members[c] = xmalloc_array(g->class_size[c] ? g->class_size[c] : 1, sizeof(uint32_t));
		g->canon[c] = xmalloc_array(g->class_size[c] ? g->class_size[c] : 1, sizeof(uint32_t));
	}
	size_t *fill = xcalloc((size_t)C, sizeof *fill);
	for (size_t s = 0; s < n; s++)
		g->canon[label[s]][fill[label[s]]++] = (uint32_t)s;
	free(fill);
	if (uniform)
		return 0;
	g->rows = xcalloc((size_t)C, sizeof *g->rows);
	for (int y = 0; y < C; y++) {
		const double *row = p + (size_t)y * C;
		for (int k = 0; k < C; k++)
			if (row[k] > 0 && g->class_size[k] == 0) {
				snprintf(err, errsz, "class %d has no samples but is a partner of class %d", k, y);
				pairs_free(g);
				return -1;
			}
		if (alias_build(&g->rows[y], row, (size_t)C) != 0) {
			snprintf(err, errsz, "partner probabilities of class %d are not a distribution", y);
			pairs_free(g);
			return -1;
		}
	}
	for (int c = 0; c < C; c++)
		if (g->class_size[c])
			reshuffle_class(g, c);
	return 0;
}

static void ensure_perm(pair_generator *g, uint32_t e)
{
	if (g->perm_epoch == e)
		return;
	rng r;
	rng_init(&r, g->seed, rng_stream_id_hashed(g->purpose_perm, e, 0));
	rng_permutation(&r, g->perm, g->n);
	g->perm_epoch = e;
}

/* Words [2t, 2t + 2) of the epoch's class (or uniform-partner) stream. They are generated for a chunk of
 * positions at once, so the usual in-order walk costs a fraction of a Philox block per record. */
static const uint32_t *record_words(pair_generator *g, uint32_t e, size_t t)
{
	if (e != g->words_epoch || t < g->words_first || t - g->words_first >= g->words_count) {
		rng r;
		uint64_t purpose = g->uniform ? g->purpose_uniform : g->purpose_class;
		rng_init(&r, g->seed, rng_stream_id_hashed(purpose, e, 0));
		rng_seek(&r, 2 * (uint64_t)t);
		size_t count = t < g->n && g->n - t < PAIRS_CHUNK ? g->n - t : PAIRS_CHUNK;
		rng_fill_u32(&r, g->words, 2 * count);
		g->words_epoch = e;
		g->words_first = t;
		g->words_count = count;
	}
	return &g->words[2 * (t - g->words_first)];
}

/* The partner class of record (e, t), a pure function of (seed, e, t). */
static int partner_class(pair_generator *g, uint32_t e, size_t t, int yi)
{
	const uint32_t *w = record_words(g, e, t);
	return (int)draw_alias(&g->rows[yi], w[0], w[1]);
}

static uint32_t take_member(pair_generator *g, int c)
{
	if (g->cursor[c] == g->class_size[c]) {
		g->cycle[c]++;
		g->cursor[c] = 0;
		reshuffle_class(g, c);
	}
	return g->members[c][g->cursor[c]++];
}

void pairs_next(pair_generator *g, uint32_t e, size_t t, pair_record *out)
{
	ensure_perm(g, e);
	uint32_t si = g->perm[t];
	out->epoch = e;
	out->i = g->index[si];
	out->yi = g->label[si];
	uint32_t sj;
	if (g->uniform) {
		/* rng_below(n) from word 2t on: one word per try, a second (and more) only on the rare
		 * rejection (probability < n / 2^32), which then reads on into the stream. */
		const uint32_t *w = record_words(g, e, t);
		uint32_t n32 = (uint32_t)g->n;
		uint64_t m = (uint64_t)w[0] * n32;
		if ((uint32_t)m < n32 && (uint32_t)m < (uint32_t)-n32 % n32) {
			rng r;
			rng_init(&r, g->seed, rng_stream_id_hashed(g->purpose_uniform, e, 0));
			rng_seek(&r, 2 * (uint64_t)t);
			m = (uint64_t)rng_below(&r, g->n) << 32;
		}
		sj = (uint32_t)(m >> 32);
	} else {
		sj = take_member(g, partner_class(g, e, t, out->yi));
	}
	out->j = g->index[sj];
	out->yj = g->label[sj];
}

void pairs_seek(pair_generator *g, uint32_t e, size_t t)
{
	if (g->uniform)
		return;
	/* Count the draws of each class before (e, t), then set each class's cycle and cursor. */
	uint64_t *draws = xcalloc((size_t)g->C, sizeof *draws);
	for (uint32_t ep = 0; ep <= e; ep++) {
		ensure_perm(g, ep);
		size_t end = ep == e ? t : g->n;
		for (size_t k = 0; k < end; k++)
			draws[partner_class(g, ep, k, g->label[g->perm[k]])]++;
	}
	for (int c = 0; c < g->C; c++) {
		if (!g->class_size[c])
			continue;
		uint64_t sz = g->class_size[c];
		g->cycle[c] = draws[c] / sz;
		g->cursor[c] = (size_t)(draws[c] % sz);
		reshuffle_class(g, c);
	}
	free(draws);
}

void pairs_free(pair_generator *g)
{
	if (g->rows)
		for (int y = 0; y < g->C; y++)
			alias_free(&g->rows[y]);
	if (g->members)
		for (int c = 0; c < g->C; c++) {
			free(g->members[c]);
			free(g->canon[c]);
		}
	free(g->canon);
	free(g->rows);
	free(g->members);
	free(g->class_size);
	free(g->cursor);
	free(g->cycle);
	free(g->perm);
	free(g->words);
	memset(g, 0, sizeof *g);
}
