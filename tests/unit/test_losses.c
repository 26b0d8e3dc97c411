/* test_losses.c — every loss of losses.h against an independent textbook computation in double, on soft
 * targets (two-class mixes, one-hot rows, a three-class row); gradients against central finite
 * differences (of the library's own loss and of the reference); LDAM's margins, BalCE's shift, MMS as the
 * weighted sum of two hard-label losses, the focal loss's stability near p = 1, and NaN propagation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/rng.h"
#include "train/losses.h"
#include "../test.h"

#define B 6
#define C 7
#define TD 5 /* text feature width */

/* ---- fixtures ------------------------------------------------------------------------------------ */

static float g_logits[B * C], g_targets[B * C], g_counts[C], g_text[C * TD];

/* Logits ~ N(0, scale²); targets: rows 0-2 two-class mixes, row 3 one-hot, row 4 a three-class mix (its
 * third class is ignored by MMS), row 5 an even 0.5/0.5 split (a tie for MMS's top-2). */
static void make_fixture(uint64_t seed, double scale)
{
	rng r;
	rng_init(&r, seed, 1);
	for (int i = 0; i < B * C; i++)
		g_logits[i] = (float)(scale * rng_normal(&r));
	memset(g_targets, 0, sizeof g_targets);
	for (int b = 0; b < 3; b++) {
		int i = (int)rng_below(&r, C), j = (i + 1 + (int)rng_below(&r, C - 1)) % C;
		float l = (float)rng_uniform(&r);
		g_targets[b * C + i] = l;
		g_targets[b * C + j] = 1 - l;
	}
	g_targets[3 * C + 2] = 1;
	g_targets[4 * C + 0] = 0.5f;
	g_targets[4 * C + 3] = 0.3f;
	g_targets[4 * C + 6] = 0.2f;
	g_targets[5 * C + 1] = 0.5f;
	g_targets[5 * C + 4] = 0.5f;
	for (int k = 0; k < C; k++)
		g_counts[k] = (float)(500 / (1 + 3 * k)); /* long-tailed: 500 .. 26 */
	for (int i = 0; i < C * TD; i++)
		g_text[i] = (float)rng_normal(&r);
}

static void init_loss(loss_fn *L, loss_kind kind, double gamma)
{
	loss_config c;
	loss_config_defaults(&c, kind, C);
	c.counts = g_counts;
	c.text_features = g_text;
	c.text_dim = TD;
	c.focal_gamma = gamma;
	char err[256];
	if (loss_init(L, &c, err, sizeof err)) {
		fprintf(stderr, "loss_init: %s\n", err);
		exit(1);
	}
}

/* ---- the reference: textbook formulas, double throughout, nothing shared with losses.c ------------ */

static void ref_softmax(const double *a, double *p)
{
	double mx = a[0], s = 0;
	for (int k = 1; k < C; k++)
		if (a[k] > mx)
			mx = a[k];
	for (int k = 0; k < C; k++)
		s += exp(a[k] - mx);
	for (int k = 0; k < C; k++)
		p[k] = exp(a[k] - mx) / s;
}

/* −Σ y log softmax(a) */
static double ref_ce_row(const double *a, const double *y)
{
	double p[C], l = 0;
	ref_softmax(a, p);
	for (int k = 0; k < C; k++)
		if (y[k] != 0)
			l -= y[k] * log(p[k]);
	return l;
}

static double ref_loss(loss_kind kind, double gamma, const double *z, const float *targets)
{
	double total = 0;
	/* LDAM margins and MMS offsets from their definitions */
	double m[C], mmax = 0, t[C][TD], off[C][C];
	for (int k = 0; k < C; k++) {
		m[k] = pow(g_counts[k], -0.25);
		mmax = fmax(mmax, m[k]);
	}
	for (int k = 0; k < C; k++)
		m[k] *= 0.5 / mmax;
	for (int a = 0; a < C; a++) {
		double n = 0;
		for (int i = 0; i < TD; i++)
			n += (double)g_text[a * TD + i] * g_text[a * TD + i];
		for (int i = 0; i < TD; i++)
			t[a][i] = g_text[a * TD + i] / sqrt(n);
	}
	for (int a = 0; a < C; a++)
		for (int k = 0; k < C; k++) {
			double d = 0;
			for (int i = 0; i < TD; i++)
				d += t[a][i] * t[k][i];
			off[a][k] = 0.3 * (1 - d);
		}
	for (int b = 0; b < B; b++) {
		const double *zr = z + b * C;
		double y[C], a[C], p[C];
		for (int k = 0; k < C; k++)
			y[k] = targets[b * C + k];
		switch (kind) {
		case LOSS_CE:
			total += ref_ce_row(zr, y);
			break;
		case LOSS_BALCE:
			for (int k = 0; k < C; k++)
				a[k] = zr[k] + log(g_counts[k]);
			total += ref_ce_row(a, y);
			break;
		case LOSS_FOCAL:
			ref_softmax(zr, p);
			for (int k = 0; k < C; k++)
				if (y[k] != 0)
					total -= y[k] * pow(1 - p[k], gamma) * log(p[k]);
			break;
		case LOSS_LDAM:
			for (int k = 0; k < C; k++)
				a[k] = 30 * (zr[k] - y[k] * m[k]);
			total += ref_ce_row(a, y);
			break;
		case LOSS_MMS: {
			/* top two by a stable selection sort: larger weight first, ties to the lower index */
			int order[C];
			for (int k = 0; k < C; k++)
				order[k] = k;
			for (int i = 0; i < 2; i++)
				for (int k = i + 1; k < C; k++)
					if (y[order[k]] > y[order[i]] || (y[order[k]] == y[order[i]] && order[k] < order[i])) {
						int s = order[i];
						order[i] = order[k];
						order[k] = s;
					}
			for (int i = 0; i < 2; i++) {
				int c = order[i];
				if (y[c] == 0)
					continue;
				double hard[C] = {0};
				hard[c] = 1;
				for (int k = 0; k < C; k++)
					a[k] = (zr[k] + off[c][k]) / 0.01;
				total += y[c] * ref_ce_row(a, hard);
			}
			break;
		}
		default:
			break;
		}
	}
	return total / B;
}

static double rel_l2(const double *a, const double *b, int n)
{
	double num = 0, den = 0;
	for (int i = 0; i < n; i++) {
		num += (a[i] - b[i]) * (a[i] - b[i]);
		den += b[i] * b[i];
	}
	return sqrt(num / den);
}

static const struct {
	loss_kind kind;
	double gamma;
} cases[] = {{LOSS_CE, 0}, {LOSS_BALCE, 0}, {LOSS_FOCAL, 2}, {LOSS_FOCAL, 0.5}, {LOSS_FOCAL, 0},
	     {LOSS_LDAM, 0}, {LOSS_MMS, 0}};
#define NCASES (int)(sizeof cases / sizeof cases[0])

/* ---- tests --------------------------------------------------------------------------------------- */

static void test_names(void)
{
	for (int k = 0; k < LOSS_KIND_COUNT; k++) {
		loss_kind got;
		T_ASSERT(loss_kind_parse(loss_kind_names[k], &got) == 0 && got == (loss_kind)k);
		T_ASSERT(strcmp(loss_kind_name((loss_kind)k), loss_kind_names[k]) == 0);
	}
	loss_kind got;
	T_ASSERT(loss_kind_parse("CE", &got) == -1);
	T_ASSERT(loss_kind_parse("", &got) == -1);
	T_ASSERT(loss_kind_names[LOSS_KIND_COUNT] == NULL);
	T_ASSERT(strcmp(loss_kind_names[LOSS_MMS], "mms") == 0 && strcmp(loss_kind_names[LOSS_BALCE], "balce") == 0);
}

/* Value against the reference, two logit scales (cosine-like and wide). */
static void test_values_match_reference(void)
{
	for (int s = 0; s < 2; s++) {
		make_fixture(11 + s, s ? 3.0 : 0.4);
		double z[B * C];
		for (int i = 0; i < B * C; i++)
			z[i] = g_logits[i];
		for (int ci = 0; ci < NCASES; ci++) {
			loss_fn L;
			init_loss(&L, cases[ci].kind, cases[ci].gamma);
			double got = loss_forward_backward(&L, g_logits, g_targets, B, NULL);
			double want = ref_loss(cases[ci].kind, cases[ci].gamma, z, g_targets);
			loss_free(&L);
			/* the library keeps log n, margins and offsets as float: ~1e-7 relative in the logits */
			T_ASSERTF(fabs(got - want) <= 1e-6 * fabs(want) + 1e-12, "%s gamma %g scale %d: %.12g vs %.12g",
				  loss_kind_name(cases[ci].kind), cases[ci].gamma, s, got, want);
			T_ASSERT(want > 0);
		}
	}
}

/* Central differences of the library's loss itself (float logits; the step actually taken is used as
 * the denominator) and of the double reference, against the analytic dlogits. */
static void test_gradients_finite_differences(void)
{
	make_fixture(21, 0.5);
	for (int k = 0; k < C; k++) /* one row whose weights do not sum to 1: gradient p·Σy − y */
		g_targets[4 * C + k] *= 1.25f;
	for (int ci = 0; ci < NCASES; ci++) {
		loss_fn L;
		loss_kind kind = cases[ci].kind;
		init_loss(&L, kind, cases[ci].gamma);
		float dl[B * C];
		double ana[B * C], fd_lib[B * C], fd_ref[B * C], z[B * C];
		double loss = loss_forward_backward(&L, g_logits, g_targets, B, dl);
		T_ASSERT(isfinite(loss));
		for (int i = 0; i < B * C; i++) {
			ana[i] = dl[i];
			z[i] = g_logits[i];
		}
		/* the curvature grows with the logit scale: 1/τ = 100 for MMS, s = 30 for LDAM */
		double h = kind == LOSS_MMS ? 2e-5 : kind == LOSS_LDAM ? 1e-4 : 1e-3;
		for (int i = 0; i < B * C; i++) {
			float x[B * C];
			memcpy(x, g_logits, sizeof x);
			float zp = (float)(g_logits[i] + h), zm = (float)(g_logits[i] - h);
			x[i] = zp;
			double lp = loss_forward_backward(&L, x, g_targets, B, NULL);
			x[i] = zm;
			double lm = loss_forward_backward(&L, x, g_targets, B, NULL);
			fd_lib[i] = (lp - lm) / ((double)zp - zm);
			double hr = h * 1e-2, zz[B * C];
			memcpy(zz, z, sizeof zz);
			zz[i] = z[i] + hr;
			lp = ref_loss(kind, cases[ci].gamma, zz, g_targets);
			zz[i] = z[i] - hr;
			lm = ref_loss(kind, cases[ci].gamma, zz, g_targets);
			fd_ref[i] = (lp - lm) / (2 * hr);
		}
		loss_free(&L);
		double e_lib = rel_l2(ana, fd_lib, B * C), e_ref = rel_l2(ana, fd_ref, B * C);
		T_ASSERTF(e_lib < 2e-6, "%s gamma %g: analytic vs finite differences of the library: %.3g",
			  loss_kind_name(kind), cases[ci].gamma, e_lib);
		T_ASSERTF(e_ref < 2e-6, "%s gamma %g: analytic vs finite differences of the reference: %.3g",
			  loss_kind_name(kind), cases[ci].gamma, e_ref);
	}
}

/* Soft targets that sum to 1: every row's gradient sums to 0 (softmax shift invariance) for ce, balce,
 * focal and mms; ldam's too (its margin depends on y only). */
static void test_gradient_rows_sum_to_zero(void)
{
	make_fixture(31, 1.0);
	for (int ci = 0; ci < NCASES; ci++) {
		loss_fn L;
		init_loss(&L, cases[ci].kind, cases[ci].gamma);
		float dl[B * C];
		loss_forward_backward(&L, g_logits, g_targets, B, dl);
		loss_free(&L);
		for (int b = 0; b < B; b++) {
			double s = 0, a = 0;
			for (int k = 0; k < C; k++) {
				s += dl[b * C + k];
				a += fabs(dl[b * C + k]);
			}
			T_ASSERTF(fabs(s) <= 1e-6 * a, "%s row %d: sum %g of |.| %g", loss_kind_name(cases[ci].kind), b, s, a);
		}
	}
}

/* LDAM: m_k ∝ n_k^(-1/4), the rarest class gets exactly 0.5; on a one-hot row the loss is CE of
 * 30·(z − m_t e_t), i.e. only the target logit moves. */
static void test_ldam_margins(void)
{
	float counts[4] = {10000, 625, 16, 1};
	loss_config c;
	loss_config_defaults(&c, LOSS_LDAM, 4);
	c.counts = counts;
	loss_fn L;
	char err[200];
	T_ASSERT(loss_init(&L, &c, err, sizeof err) == 0);
	/* n^(-1/4) = 0.1, 0.2, 0.5, 1 → scaled by 0.5 */
	const double want[4] = {0.05, 0.1, 0.25, 0.5};
	for (int k = 0; k < 4; k++)
		T_ASSERTF(fabs(L.margins[k] - want[k]) < 1e-7, "margin %d: %g vs %g", k, L.margins[k], want[k]);
	float z[4] = {0.2f, -0.1f, 0.3f, 0.05f}, y[4] = {0, 0, 1, 0};
	double got = loss_forward_backward(&L, z, y, 1, NULL);
	double a[4], mx = -1e300, s = 0;
	for (int k = 0; k < 4; k++) {
		a[k] = 30.0 * (z[k] - (k == 2 ? 0.25 : 0));
		mx = fmax(mx, a[k]);
	}
	for (int k = 0; k < 4; k++)
		s += exp(a[k] - mx);
	double want_loss = mx + log(s) - a[2];
	T_ASSERTF(fabs(got - want_loss) < 1e-9 * want_loss, "%.12g vs %.12g", got, want_loss);
	/* a soft row subtracts y_k·m_k from every class it covers */
	float y2[4] = {0, 0.4f, 0, 0.6f};
	got = loss_forward_backward(&L, z, y2, 1, NULL);
	mx = -1e300;
	s = 0;
	for (int k = 0; k < 4; k++) {
		a[k] = 30.0 * ((double)z[k] - (double)y2[k] * want[k]);
		mx = fmax(mx, a[k]);
	}
	for (int k = 0; k < 4; k++)
		s += exp(a[k] - mx);
	double lse = mx + log(s);
	want_loss = (double)y2[1] * (lse - a[1]) + (double)y2[3] * (lse - a[3]);
	T_ASSERTF(fabs(got - want_loss) < 1e-6 * want_loss, "%.12g vs %.12g", got, want_loss);
	loss_free(&L);
}

/* BalCE(z) = CE(z + log n), loss and gradient; with equal counts it is CE (a constant shift). */
static void test_balce_shift(void)
{
	make_fixture(41, 1.0);
	loss_fn bal, ce;
	init_loss(&bal, LOSS_BALCE, 0);
	init_loss(&ce, LOSS_CE, 0);
	float shifted[B * C], d1[B * C], d2[B * C];
	for (int b = 0; b < B; b++)
		for (int k = 0; k < C; k++)
			shifted[b * C + k] = g_logits[b * C + k] + (float)log(g_counts[k]);
	double l1 = loss_forward_backward(&bal, g_logits, g_targets, B, d1);
	double l2 = loss_forward_backward(&ce, shifted, g_targets, B, d2);
	T_ASSERTF(fabs(l1 - l2) < 1e-6 * l2, "%.10g vs %.10g", l1, l2);
	for (int i = 0; i < B * C; i++)
		T_ASSERTF(fabs(d1[i] - d2[i]) < 1e-6, "dlogits[%d] %g vs %g", i, d1[i], d2[i]);
	/* the shift favours the rare classes: the rarest class's probability drops, so its gradient for a
	 * target on it grows more negative */
	float z[C] = {0}, y[C] = {0};
	y[C - 1] = 1;
	loss_forward_backward(&bal, z, y, 1, d1);
	loss_forward_backward(&ce, z, y, 1, d2);
	T_ASSERT(d1[C - 1] < d2[C - 1]);
	loss_free(&bal);
	loss_free(&ce);

	float equal[C];
	for (int k = 0; k < C; k++)
		equal[k] = 37;
	loss_config c;
	loss_config_defaults(&c, LOSS_BALCE, C);
	c.counts = equal;
	char err[200];
	T_ASSERT(loss_init(&bal, &c, err, sizeof err) == 0);
	init_loss(&ce, LOSS_CE, 0);
	l1 = loss_forward_backward(&bal, g_logits, g_targets, B, d1);
	l2 = loss_forward_backward(&ce, g_logits, g_targets, B, d2);
	T_ASSERTF(fabs(l1 - l2) < 1e-6 * l2, "%.10g vs %.10g", l1, l2);
	loss_free(&bal);
	loss_free(&ce);
}

/* MMS = w0·MMS(one-hot c0) + w1·MMS(one-hot c1) (the official code's two hard-label losses); weight
 * beyond the top two is ignored; a one-hot row is CE((z + O[t]) / τ, t). */
static void test_mms_structure(void)
{
	make_fixture(51, 0.3);
	loss_fn L;
	init_loss(&L, LOSS_MMS, 0);
	float y[C] = {0}, e0[C] = {0}, e1[C] = {0}, d[C], d0[C], d1[C];
	y[1] = 0.7f;
	y[5] = 0.25f;
	y[3] = 0.05f; /* third: ignored */
	e0[1] = 1;
	e1[5] = 1;
	double l = loss_forward_backward(&L, g_logits, y, 1, d);
	double l0 = loss_forward_backward(&L, g_logits, e0, 1, d0);
	double l1 = loss_forward_backward(&L, g_logits, e1, 1, d1);
	double want = (double)y[1] * l0 + (double)y[5] * l1;
	T_ASSERTF(fabs(l - want) < 1e-9 * want, "%.12g vs %.12g", l, want);
	for (int k = 0; k < C; k++)
		T_ASSERTF(fabs(d[k] - (y[1] * d0[k] + y[5] * d1[k])) < 1e-5 * (fabs(d0[k]) + fabs(d1[k]) + 1e-3),
			  "d[%d] %g", k, d[k]);
	/* one-hot: CE((z + O[t]) / τ, t), O[t][t] = 0 */
	T_ASSERT(L.offsets[1 * C + 1] == 0);
	double a[C], mx = -1e300, s = 0;
	for (int k = 0; k < C; k++) {
		a[k] = ((double)g_logits[k] + L.offsets[1 * C + k]) / 0.01;
		mx = fmax(mx, a[k]);
	}
	for (int k = 0; k < C; k++)
		s += exp(a[k] - mx);
	T_ASSERTF(fabs(l0 - (mx + log(s) - a[1])) < 1e-9 * l0, "%.12g", l0);
	/* offsets: l·(1 − cos), in [0, 0.6], symmetric */
	for (int i = 0; i < C; i++)
		for (int k = 0; k < C; k++) {
			float o = L.offsets[i * C + k];
			T_ASSERT(o >= -1e-7f && o <= 0.6f + 1e-7f);
			T_ASSERT(fabsf(o - L.offsets[k * C + i]) < 1e-7f);
		}
	loss_free(&L);
}

/* Focal: γ = 0 is CE; a confident correct prediction has a finite, tiny loss and gradient for every γ
 * (the textbook (1 − p)^(γ−1) would be infinite at p = 1 for γ < 1). */
static void test_focal(void)
{
	make_fixture(61, 1.0);
	loss_fn f, ce;
	init_loss(&f, LOSS_FOCAL, 0);
	init_loss(&ce, LOSS_CE, 0);
	float d1[B * C], d2[B * C];
	double l1 = loss_forward_backward(&f, g_logits, g_targets, B, d1);
	double l2 = loss_forward_backward(&ce, g_logits, g_targets, B, d2);
	T_ASSERTF(fabs(l1 - l2) < 1e-12 * l2, "%.15g vs %.15g", l1, l2);
	for (int i = 0; i < B * C; i++)
		T_ASSERT(fabs(d1[i] - d2[i]) < 1e-7);
	loss_free(&f);
	loss_free(&ce);
	const double gammas[] = {0.25, 0.5, 1, 2, 5};
	for (size_t g = 0; g < sizeof gammas / sizeof gammas[0]; g++) {
		init_loss(&f, LOSS_FOCAL, gammas[g]);
		float z[C] = {60, 0, 0, 0, 0, 0, 0}, y[C] = {1, 0, 0, 0, 0, 0, 0}, d[C];
		double l = loss_forward_backward(&f, z, y, 1, d);
		T_ASSERTF(isfinite(l) && l >= 0 && l < 1e-20, "gamma %g: loss %g", gammas[g], l);
		for (int k = 0; k < C; k++)
			T_ASSERTF(isfinite(d[k]) && fabsf(d[k]) < 1e-20f, "gamma %g: d[%d] = %g", gammas[g], k, d[k]);
		/* focusing: a well-classified row weighs less than under CE */
		float z2[C] = {3, 0, 0, 0, 0, 0, 0};
		init_loss(&ce, LOSS_CE, 0);
		T_ASSERT(loss_forward_backward(&f, z2, y, 1, NULL) < loss_forward_backward(&ce, z2, y, 1, NULL));
		loss_free(&ce);
		loss_free(&f);
	}
}

/* Any NaN or infinity in logits or targets gives a NaN loss and NaN gradients, for every loss; B = 0
 * gives NaN. Nothing crashes. */
static void test_nan_propagation(void)
{
	const float bad[] = {NAN, INFINITY, -INFINITY};
	for (int ci = 0; ci < NCASES; ci++) {
		loss_fn L;
		init_loss(&L, cases[ci].kind, cases[ci].gamma);
		for (int where = 0; where < 2; where++)
			for (size_t v = 0; v < sizeof bad / sizeof bad[0]; v++) {
				make_fixture(71, 1.0);
				if (where == 0)
					g_logits[2 * C + 3] = bad[v];
				else
					g_targets[4 * C + 1] = bad[v];
				float d[B * C];
				double l = loss_forward_backward(&L, g_logits, g_targets, B, d);
				T_ASSERTF(isnan(l), "%s: %s = %g gives loss %g", loss_kind_name(cases[ci].kind),
					  where ? "target" : "logit", bad[v], l);
				for (int i = 0; i < B * C; i++)
					T_ASSERT(isnan(d[i]));
				T_ASSERT(isnan(loss_forward_backward(&L, g_logits, g_targets, B, NULL)));
			}
		make_fixture(71, 1.0);
		T_ASSERT(isnan(loss_forward_backward(&L, g_logits, g_targets, 0, NULL)));
		/* huge but finite logits stay finite */
		for (int i = 0; i < B * C; i++)
			g_logits[i] *= 1e30f;
		T_ASSERT(isfinite(loss_forward_backward(&L, g_logits, g_targets, B, NULL)));
		loss_free(&L);
	}
}

static void test_init_errors(void)
{
	loss_config c;
	loss_fn L;
	char err[256];
	loss_config_defaults(&c, LOSS_BALCE, C);
	T_ASSERT(loss_init(&L, &c, err, sizeof err) == -1 && strstr(err, "counts"));
	float counts[C] = {5, 4, 3, 0, 1, 1, 1};
	c.counts = counts;
	T_ASSERT(loss_init(&L, &c, err, sizeof err) == -1 && strstr(err, "class 3"));
	c.kind = LOSS_LDAM;
	counts[3] = -2;
	T_ASSERT(loss_init(&L, &c, err, sizeof err) == -1 && strstr(err, "class 3"));
	counts[3] = 2;
	c.ldam_scale = 0;
	T_ASSERT(loss_init(&L, &c, err, sizeof err) == -1 && strstr(err, "scale"));
	loss_config_defaults(&c, LOSS_FOCAL, C);
	c.focal_gamma = -1;
	T_ASSERT(loss_init(&L, &c, err, sizeof err) == -1 && strstr(err, "gamma"));
	c.focal_gamma = NAN;
	T_ASSERT(loss_init(&L, &c, err, sizeof err) == -1);
	loss_config_defaults(&c, LOSS_MMS, C);
	T_ASSERT(loss_init(&L, &c, err, sizeof err) == -1 && strstr(err, "text"));
	float text[C * TD] = {0};
	for (int i = 0; i < C * TD; i++)
		text[i] = (float)(i % 3) - 1;
	for (int i = 0; i < TD; i++)
		text[2 * TD + i] = 0;
	c.text_features = text;
	c.text_dim = TD;
	T_ASSERT(loss_init(&L, &c, err, sizeof err) == -1 && strstr(err, "row 2"));
	text[2 * TD] = 1;
	c.mms_temperature = 0;
	T_ASSERT(loss_init(&L, &c, err, sizeof err) == -1 && strstr(err, "temperature"));
	c.mms_temperature = 0.01;
	T_ASSERT(loss_init(&L, &c, err, sizeof err) == 0);
	loss_free(&L);
	loss_config_defaults(&c, LOSS_CE, 0);
	T_ASSERT(loss_init(&L, &c, err, sizeof err) == -1);
}

int main(void)
{
	T_RUN(test_names);
	T_RUN(test_values_match_reference);
	T_RUN(test_gradients_finite_differences);
	T_RUN(test_gradient_rows_sum_to_zero);
	T_RUN(test_ldam_margins);
	T_RUN(test_balce_shift);
	T_RUN(test_mms_structure);
	T_RUN(test_focal);
	T_RUN(test_nan_propagation);
	T_RUN(test_init_errors);
	return t_summary();
}
