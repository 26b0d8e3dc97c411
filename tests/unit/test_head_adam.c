/* test_head_adam.c — the cosine head (both stages) against finite differences and its defining
 * properties; Adam against a hand computation of three steps in double; the cosine schedule at known
 * points and against PyTorch's recursive form. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/rng.h"
#include "train/adam.h"
#include "train/cosine_head.h"
#include "train/lr_schedule.h"
#include "../test.h"

#define B 3
#define D 6
#define C 4

static void fill_normal(float *a, size_t n, double scale, rng *r)
{
	for (size_t i = 0; i < n; i++)
		a[i] = (float)(scale * rng_normal(r));
}

static double rel_l2(const double *a, const double *b, size_t n)
{
	double num = 0, den = 0;
	for (size_t i = 0; i < n; i++) {
		num += (a[i] - b[i]) * (a[i] - b[i]);
		den += b[i] * b[i];
	}
	return sqrt(num / den);
}

/* The scalar objective Σ r ⊙ logits, whose dlogits is r. */
static double objective(cosine_head *hd, const float *f, const float *r)
{
	float logits[B * C];
	cosine_head_forward(hd, f, B, logits);
	double s = 0;
	for (int i = 0; i < B * C; i++)
		s += (double)r[i] * logits[i];
	return s;
}

/* Central difference of the objective in one float (the step actually taken is the denominator). */
static double fd(cosine_head *hd, float *x, const float *f, const float *r, double h)
{
	float keep = *x, xp = (float)(keep + h), xm = (float)(keep - h);
	*x = xp;
	double lp = objective(hd, f, r);
	*x = xm;
	double lm = objective(hd, f, r);
	*x = keep;
	return (lp - lm) / ((double)xp - xm);
}

static void make_head(cosine_head *hd, int stage, rng *r)
{
	float text[C * D];
	fill_normal(text, C * D, 1.0, r);
	char err[200];
	if (cosine_head_init(hd, text, C, D, stage, err, sizeof err)) {
		fprintf(stderr, "cosine_head_init: %s\n", err);
		exit(1);
	}
}

static void test_stage1_backward_fd(void)
{
	rng r;
	rng_init(&r, 1, 0);
	cosine_head hd;
	make_head(&hd, 1, &r);
	float f[B * D], dl[B * C], df[B * D], logits[B * C];
	fill_normal(f, B * D, 2.0, &r);
	fill_normal(dl, B * C, 1.0, &r);
	cosine_head_forward(&hd, f, B, logits);
	cosine_head_backward(&hd, dl, df);
	double ana[B * D], num[B * D];
	for (int i = 0; i < B * D; i++) {
		ana[i] = df[i];
		num[i] = fd(&hd, &f[i], f, dl, 1e-2);
	}
	double e = rel_l2(ana, num, B * D);
	T_ASSERTF(e < 1e-4, "d features: relative L2 error %.3g", e);
	/* the gradient is orthogonal to each feature row (normalisation removes the radial part) */
	for (int b = 0; b < B; b++) {
		double dot = 0, n1 = 0, n2 = 0;
		for (int i = 0; i < D; i++) {
			dot += (double)df[b * D + i] * f[b * D + i];
			n1 += (double)df[b * D + i] * df[b * D + i];
			n2 += (double)f[b * D + i] * f[b * D + i];
		}
		T_ASSERTF(fabs(dot) < 1e-6 * sqrt(n1 * n2), "row %d: <df, f> = %g", b, dot);
	}
	cosine_head_free(&hd);
}

static void test_stage2_backward_fd(void)
{
	rng r;
	rng_init(&r, 2, 0);
	cosine_head hd;
	make_head(&hd, 2, &r);
	for (int i = 0; i < D * D; i++) /* W = I + noise, so the test is not at the identity only */
		hd.fc[i] += (float)(0.3 * rng_normal(&r));
	float f[B * D], dl[B * C], df[B * D], logits[B * C];
	fill_normal(f, B * D, 1.5, &r);
	fill_normal(dl, B * C, 1.0, &r);
	cosine_head_zero_grad(&hd);
	cosine_head_forward(&hd, f, B, logits);
	cosine_head_backward(&hd, dl, df);
	double ana_f[B * D], num_f[B * D], ana_w[D * D], num_w[D * D];
	for (int i = 0; i < B * D; i++) {
		ana_f[i] = df[i];
		num_f[i] = fd(&hd, &f[i], f, dl, 1e-2);
	}
	for (int i = 0; i < D * D; i++) {
		ana_w[i] = hd.fc_grad[i];
		num_w[i] = fd(&hd, &hd.fc[i], f, dl, 1e-2);
	}
	double ef = rel_l2(ana_f, num_f, B * D), ew = rel_l2(ana_w, num_w, D * D);
	T_ASSERTF(ef < 1e-4, "d features: relative L2 error %.3g", ef);
	T_ASSERTF(ew < 1e-4, "d W: relative L2 error %.3g", ew);
	/* the gradient accumulates: a second backward doubles fc_grad; zero_grad clears it */
	cosine_head_forward(&hd, f, B, logits);
	cosine_head_backward(&hd, dl, NULL);
	for (int i = 0; i < D * D; i++)
		T_ASSERT(fabs(hd.fc_grad[i] - 2 * ana_w[i]) <= 1e-6 * fabs(ana_w[i]) + 1e-9);
	cosine_head_zero_grad(&hd);
	for (int i = 0; i < D * D; i++)
		T_ASSERT(hd.fc_grad[i] == 0);
	cosine_head_free(&hd);
}

/* Stage 2 starts at W = I and then equals stage 1; logits are cosines: a feature parallel to a text row
 * scores 1 on it, whatever the lengths. */
static void test_head_properties(void)
{
	rng r;
	rng_init(&r, 3, 0);
	float text[C * D];
	fill_normal(text, C * D, 1.0, &r);
	cosine_head h1, h2;
	char err[200];
	T_ASSERT(cosine_head_init(&h1, text, C, D, 1, err, sizeof err) == 0);
	T_ASSERT(cosine_head_init(&h2, text, C, D, 2, err, sizeof err) == 0);
	T_ASSERT(h1.fc == NULL);
	for (int i = 0; i < D; i++)
		for (int j = 0; j < D; j++)
			T_ASSERT(h2.fc[i * D + j] == (i == j ? 1.0f : 0.0f));
	float f[B * D], l1[B * C], l2[B * C];
	fill_normal(f, B * D, 3.0, &r);
	for (int i = 0; i < D; i++)
		f[i] = 7.5f * text[2 * D + i]; /* row 0 along class 2 */
	cosine_head_forward(&h1, f, B, l1);
	cosine_head_forward(&h2, f, B, l2);
	for (int i = 0; i < B * C; i++) {
		T_ASSERT(fabsf(l1[i] - l2[i]) < 1e-6f);
		T_ASSERT(l1[i] >= -1.0f - 1e-6f && l1[i] <= 1.0f + 1e-6f);
	}
	T_ASSERTF(fabsf(l1[2] - 1.0f) < 1e-6f, "%g", l1[2]);
	/* a zero feature row: zero logits and zero gradients, no NaN */
	for (int i = 0; i < D; i++)
		f[D + i] = 0;
	float dl[B * C], df[B * D];
	for (int i = 0; i < B * C; i++)
		dl[i] = 1;
	cosine_head_forward(&h2, f, B, l2);
	cosine_head_backward(&h2, dl, df);
	for (int k = 0; k < C; k++)
		T_ASSERT(l2[C + k] == 0);
	for (int i = 0; i < D; i++)
		T_ASSERT(df[D + i] == 0);
	for (int i = 0; i < D * D; i++)
		T_ASSERT(isfinite(h2.fc_grad[i]));
	/* a larger batch after a smaller one regrows the activations */
	float fb[5 * D], lb[5 * C];
	fill_normal(fb, 5 * D, 1.0, &r);
	cosine_head_forward(&h1, fb, 5, lb);
	T_ASSERT(h1.act_batch >= 5 && h1.batch == 5);
	cosine_head_free(&h1);
	cosine_head_free(&h2);
	/* bad text features */
	text[D + 3] = NAN;
	T_ASSERT(cosine_head_init(&h1, text, C, D, 1, err, sizeof err) == -1 && strstr(err, "row 1"));
	for (int i = 0; i < D; i++)
		text[D + i] = 0;
	T_ASSERT(cosine_head_init(&h1, text, C, D, 1, err, sizeof err) == -1 && strstr(err, "row 1 is zero"));
	T_ASSERT(cosine_head_init(&h1, text, C, D, 3, err, sizeof err) == -1 && strstr(err, "stage"));
}

/* Adam: three steps against the textbook update p -= lr·m̂/(sqrt(v̂) + eps), in double. */
static void test_adam_three_steps(void)
{
	enum { N = 6 };
	const float p0[N] = {0.5f, -1.25f, 2.0f, 0.0f, 1e-3f, -3.0f};
	const float grads[3][N] = {{0.1f, -0.2f, 0.0f, 1e-3f, 5.0f, -1e-6f},
				   {0.05f, 0.3f, -0.01f, 1e-3f, -5.0f, 2e-6f},
				   {-0.2f, 0.1f, 0.02f, 1e-3f, 4.0f, -3e-6f}};
	for (int wd = 0; wd < 2; wd++) {
		adam_config c;
		adam_config_defaults(&c);
		T_ASSERT(c.beta1 == 0.9 && c.beta2 == 0.999 && c.eps == 1e-8 && c.weight_decay == 0 && c.lr == 1e-3);
		c.lr = 1e-2;
		c.weight_decay = wd ? 0.1 : 0;
		float p[N], m[N] = {0}, v[N] = {0};
		double hp[N], hm[N] = {0}, hv[N] = {0};
		for (int i = 0; i < N; i++)
			hp[i] = p[i] = p0[i];
		for (int t = 1; t <= 3; t++) {
			adam_step(p, grads[t - 1], m, v, N, &c, t);
			for (int i = 0; i < N; i++) {
				double g = grads[t - 1][i] + c.weight_decay * hp[i];
				hm[i] = 0.9 * hm[i] + 0.1 * g;
				hv[i] = 0.999 * hv[i] + 0.001 * g * g;
				double mhat = hm[i] / (1 - pow(0.9, t)), vhat = hv[i] / (1 - pow(0.999, t));
				hp[i] -= 1e-2 * mhat / (sqrt(vhat) + 1e-8);
			}
			for (int i = 0; i < N; i++) {
				T_ASSERTF(fabs(p[i] - hp[i]) <= 2e-7 * fabs(hp[i]) + 1e-9, "wd %d step %d p[%d]: %.9g vs %.9g",
					  wd, t, i, p[i], hp[i]);
				T_ASSERTF(fabs(m[i] - hm[i]) <= 1e-6 * fabs(hm[i]) + 1e-12, "m[%d]", i);
				T_ASSERTF(fabs(v[i] - hv[i]) <= 1e-6 * fabs(hv[i]) + 1e-18, "v[%d]", i);
			}
		}
		/* step 1 moves every parameter with a clear gradient by about lr against its sign */
		if (!wd) {
			float q[N], m1[N] = {0}, v1[N] = {0};
			memcpy(q, p0, sizeof q);
			adam_step(q, grads[0], m1, v1, N, &c, 1);
			T_ASSERT(fabs((q[0] - p0[0]) + 1e-2) < 1e-8 && fabs((q[1] - p0[1]) - 1e-2) < 1e-8);
			T_ASSERT(q[2] == p0[2]); /* zero gradient: no move */
		}
	}
}

static void test_cosine_schedule(void)
{
	const double lr0 = 0.5, lo = 5e-4;
	const int T = 10;
	T_ASSERT(lr_cosine(lr0, lo, T, 0) == lr0);
	T_ASSERTF(fabs(lr_cosine(lr0, lo, T, T) - lo) < 1e-18, "%.17g", lr_cosine(lr0, lo, T, T));
	T_ASSERTF(fabs(lr_cosine(lr0, lo, T, 5) - (lr0 + lo) / 2) < 1e-16, "%.17g", lr_cosine(lr0, lo, T, 5));
	/* cos(π/10) = sqrt(10 + 2·sqrt 5) / 4, cos(3π/10) = sqrt(10 − 2·sqrt 5) / 4 */
	double c1 = sqrt(10 + 2 * sqrt(5.0)) / 4, c3 = sqrt(10 - 2 * sqrt(5.0)) / 4;
	T_ASSERT(fabs(lr_cosine(lr0, lo, T, 1) - (lo + (lr0 - lo) * (1 + c1) / 2)) < 1e-15);
	T_ASSERT(fabs(lr_cosine(lr0, lo, T, 3) - (lo + (lr0 - lo) * (1 + c3) / 2)) < 1e-15);
	T_ASSERT(fabs(lr_cosine(lr0, lo, T, 7) - (lo + (lr0 - lo) * (1 - c3) / 2)) < 1e-15);
	/* decreasing over the run, symmetric about T/2, periodic past T_max (PyTorch keeps going) */
	for (int e = 1; e <= T; e++) {
		T_ASSERT(lr_cosine(lr0, lo, T, e) < lr_cosine(lr0, lo, T, e - 1));
		double a = lr_cosine(lr0, lo, T, e) - (lr0 + lo) / 2, b = lr_cosine(lr0, lo, T, T - e) - (lr0 + lo) / 2;
		T_ASSERT(fabs(a + b) < 1e-15);
	}
	T_ASSERT(fabs(lr_cosine(lr0, lo, T, 2 * T) - lr0) < 1e-15);
	T_ASSERT(lr_cosine(lr0, lo, T, T + 1) > lo);
	T_ASSERT(lr_cosine(lr0, lo, 0, 7) == lr0);
	/* PyTorch's recursive form: the same values to the last few bits, including past T_max */
	const int tmax[] = {1, 3, 10, 50};
	for (size_t k = 0; k < sizeof tmax / sizeof tmax[0]; k++)
		for (long e = 0; e <= 3L * tmax[k]; e++) {
			double a = lr_cosine(1e-2, 1e-5, tmax[k], e), b = lr_cosine_recursive(1e-2, 1e-5, tmax[k], e);
			T_ASSERTF(fabs(a - b) <= 1e-13 * a, "T_max %d epoch %ld: %.17g vs %.17g", tmax[k], e, a, b);
		}
}

int main(void)
{
	T_RUN(test_stage1_backward_fd);
	T_RUN(test_stage2_backward_fd);
	T_RUN(test_head_properties);
	T_RUN(test_adam_three_steps);
	T_RUN(test_cosine_schedule);
	return t_summary();
}
