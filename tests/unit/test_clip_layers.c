/* test_clip_layers.c — every CLIP layer against an independent double-precision reference written here:
 * the float forward must match the reference, and every backward must match central finite differences of
 * the reference (h = 1e-5 in double, so the numeric gradients are exact to ~1e-9) for the scalar loss
 * L = sum(out * R), R fixed random. Small sizes keep each test well under a second. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/rng.h"
#include "cpu/clip_layers.h"
#include "../test.h"

#define FD_H 1e-5
#define TOL_FWD 1e-5  /* relative L2, float vs double */
#define TOL_GRAD 1e-4 /* relative L2, float backward vs double finite differences */

static rng gen;

static double *rand_d(size_t n, double scale)
{
	double *a = xmalloc_array(n, sizeof *a);
	for (size_t i = 0; i < n; i++)
		a[i] = scale * rng_normal(&gen);
	return a;
}

static float *to_f(const double *a, size_t n)
{
	float *f = xmalloc_array(n, sizeof *f);
	for (size_t i = 0; i < n; i++)
		f[i] = (float)a[i];
	return f;
}

/* The double arrays hold float-representable values, so float and double layers see the same inputs. */
static void round_to_float(double *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		a[i] = (float)a[i];
}

static double rel_l2_fd(const float *a, const double *b, size_t n)
{
	double num = 0, den = 0;
	for (size_t i = 0; i < n; i++) {
		num += (a[i] - b[i]) * (a[i] - b[i]);
		den += b[i] * b[i];
	}
	return den == 0 ? sqrt(num) : sqrt(num / den);
}

/* A layer's reference forward: reads its inputs from ctx, writes n_out doubles. */
typedef void (*ref_fn)(const void *ctx, double *out);

static double loss_of(ref_fn f, const void *ctx, const double *r, size_t n_out, double *scratch)
{
	f(ctx, scratch);
	double l = 0;
	for (size_t i = 0; i < n_out; i++)
		l += scratch[i] * r[i];
	return l;
}

/* Relative L2 error of the analytic gradient of input x[0..n) against central differences. */
static double fd_error(ref_fn f, const void *ctx, double *x, size_t n, const float *analytic, const double *r,
		       size_t n_out)
{
	double *scratch = xmalloc_array(n_out, sizeof *scratch);
	double *num = xmalloc_array(n, sizeof *num);
	for (size_t i = 0; i < n; i++) {
		double save = x[i];
		x[i] = save + FD_H;
		double lp = loss_of(f, ctx, r, n_out, scratch);
		x[i] = save - FD_H;
		double lm = loss_of(f, ctx, r, n_out, scratch);
		x[i] = save;
		num[i] = (lp - lm) / (2 * FD_H);
	}
	double e = rel_l2_fd(analytic, num, n);
	free(num);
	free(scratch);
	return e;
}

static double fwd_error(ref_fn f, const void *ctx, const float *out, size_t n_out)
{
	double *ref = xmalloc_array(n_out, sizeof *ref);
	f(ctx, ref);
	double e = rel_l2_fd(out, ref, n_out);
	free(ref);
	return e;
}

/* ---- LayerNorm ---- */

typedef struct ln_ctx {
	double *inp, *w, *b;
	int N, C;
} ln_ctx;

static void ln_ref(const void *vctx, double *out)
{
	const ln_ctx *c = vctx;
	for (int n = 0; n < c->N; n++) {
		const double *x = c->inp + (size_t)n * c->C;
		double m = 0, v = 0;
		for (int i = 0; i < c->C; i++)
			m += x[i];
		m /= c->C;
		for (int i = 0; i < c->C; i++)
			v += (x[i] - m) * (x[i] - m);
		v /= c->C;
		for (int i = 0; i < c->C; i++)
			out[(size_t)n * c->C + i] = (x[i] - m) / sqrt(v + 1e-5) * c->w[i] + c->b[i];
	}
}

static void test_layernorm(void)
{
	int N = 5, C = 16;
	size_t NC = (size_t)N * C;
	ln_ctx c = {rand_d(NC, 1.0), rand_d(C, 0.5), rand_d(C, 0.5), N, C};
	for (size_t i = 0; i < NC; i++)
		c.inp[i] += 3.0; /* an offset mean, as residual streams have */
	for (int i = 0; i < C; i++)
		c.w[i] += 1.0;
	round_to_float(c.inp, NC);
	round_to_float(c.w, C);
	round_to_float(c.b, C);
	double *r = rand_d(NC, 1.0);
	float *inp = to_f(c.inp, NC), *w = to_f(c.w, C), *b = to_f(c.b, C), *dout = to_f(r, NC);
	float *out = xmalloc_array(NC, sizeof *out), mean[5], rstd[5];
	layernorm_forward(out, mean, rstd, inp, w, b, (size_t)N, C);
	double e = fwd_error(ln_ref, &c, out, NC);
	T_ASSERTF(e < TOL_FWD, "forward %g", e);
	float *dinp = xcalloc(NC, sizeof *dinp), *dw = xcalloc(C, sizeof *dw), *db = xcalloc(C, sizeof *db);
	layernorm_backward(dinp, dw, db, dout, inp, w, mean, rstd, (size_t)N, C);
	e = fd_error(ln_ref, &c, c.inp, NC, dinp, r, NC);
	T_ASSERTF(e < TOL_GRAD, "dinp %g", e);
	e = fd_error(ln_ref, &c, c.w, C, dw, r, NC);
	T_ASSERTF(e < TOL_GRAD, "dweight %g", e);
	e = fd_error(ln_ref, &c, c.b, C, db, r, NC);
	T_ASSERTF(e < TOL_GRAD, "dbias %g", e);
	/* accumulation: a second backward doubles the gradients */
	layernorm_backward(dinp, dw, db, dout, inp, w, mean, rstd, (size_t)N, C);
	e = fd_error(ln_ref, &c, c.b, C, db, r, NC);
	T_ASSERTF(fabs(e - 1.0) < 1e-4, "accumulated dbias should be twice the gradient (relative error %g)", e);
	free(c.inp), free(c.w), free(c.b), free(r), free(inp), free(w), free(b), free(dout), free(out);
	free(dinp), free(dw), free(db);
}

/* ---- matmul and projection ---- */

typedef struct mm_ctx {
	double *inp, *w, *b; /* b may be NULL */
	int N, C, OC, proj;  /* proj: w is [C, OC] and out = inp @ w */
} mm_ctx;

static void mm_ref(const void *vctx, double *out)
{
	const mm_ctx *c = vctx;
	for (int n = 0; n < c->N; n++)
		for (int o = 0; o < c->OC; o++) {
			double s = c->b ? c->b[o] : 0;
			for (int i = 0; i < c->C; i++)
				s += c->inp[(size_t)n * c->C + i] *
				     (c->proj ? c->w[(size_t)i * c->OC + o] : c->w[(size_t)o * c->C + i]);
			out[(size_t)n * c->OC + o] = s;
		}
}

static void test_matmul(void)
{
	int N = 6, C = 7, OC = 5;
	size_t NC = (size_t)N * C, WC = (size_t)OC * C, NO = (size_t)N * OC;
	mm_ctx c = {rand_d(NC, 1), rand_d(WC, 1), rand_d(OC, 1), N, C, OC, 0};
	round_to_float(c.inp, NC);
	round_to_float(c.w, WC);
	round_to_float(c.b, OC);
	double *r = rand_d(NO, 1);
	float *inp = to_f(c.inp, NC), *w = to_f(c.w, WC), *b = to_f(c.b, OC), *dout = to_f(r, NO);
	float *out = xmalloc_array(NO, sizeof *out);
	matmul_forward(out, inp, w, b, (size_t)N, C, OC);
	double e = fwd_error(mm_ref, &c, out, NO);
	T_ASSERTF(e < TOL_FWD, "forward %g", e);
	float *dinp = xcalloc(NC, sizeof *dinp), *dw = xcalloc(WC, sizeof *dw), *db = xcalloc(OC, sizeof *db);
	matmul_backward(dinp, dw, db, dout, inp, w, (size_t)N, C, OC);
	e = fd_error(mm_ref, &c, c.inp, NC, dinp, r, NO);
	T_ASSERTF(e < TOL_GRAD, "dinp %g", e);
	e = fd_error(mm_ref, &c, c.w, WC, dw, r, NO);
	T_ASSERTF(e < TOL_GRAD, "dweight %g", e);
	e = fd_error(mm_ref, &c, c.b, OC, db, r, NO);
	T_ASSERTF(e < TOL_GRAD, "dbias %g", e);
	/* without bias */
	mm_ctx c2 = c;
	c2.b = NULL;
	matmul_forward(out, inp, w, NULL, (size_t)N, C, OC);
	e = fwd_error(mm_ref, &c2, out, NO);
	T_ASSERTF(e < TOL_FWD, "forward without bias %g", e);
	free(c.inp), free(c.w), free(c.b), free(r), free(inp), free(w), free(b), free(dout), free(out);
	free(dinp), free(dw), free(db);
}

static void test_projection(void)
{
	int N = 4, C = 6, OC = 3;
	size_t NC = (size_t)N * C, WC = (size_t)OC * C, NO = (size_t)N * OC;
	mm_ctx c = {rand_d(NC, 1), rand_d(WC, 1), NULL, N, C, OC, 1};
	round_to_float(c.inp, NC);
	round_to_float(c.w, WC);
	double *r = rand_d(NO, 1);
	float *inp = to_f(c.inp, NC), *w = to_f(c.w, WC), *dout = to_f(r, NO);
	float *out = xmalloc_array(NO, sizeof *out);
	projection_forward(out, inp, w, (size_t)N, C, OC);
	double e = fwd_error(mm_ref, &c, out, NO);
	T_ASSERTF(e < TOL_FWD, "forward %g", e);
	float *dinp = xcalloc(NC, sizeof *dinp), *dw = xcalloc(WC, sizeof *dw);
	projection_backward(dinp, dw, dout, inp, w, (size_t)N, C, OC);
	e = fd_error(mm_ref, &c, c.inp, NC, dinp, r, NO);
	T_ASSERTF(e < TOL_GRAD, "dinp %g", e);
	e = fd_error(mm_ref, &c, c.w, WC, dw, r, NO);
	T_ASSERTF(e < TOL_GRAD, "dproj %g", e);
	free(c.inp), free(c.w), free(r), free(inp), free(w), free(dout), free(out), free(dinp), free(dw);
}

/* ---- attention ---- */

typedef struct att_ctx {
	double *qkv;
	int B, T, C, NH, causal;
} att_ctx;

static void att_ref(const void *vctx, double *out)
{
	const att_ctx *c = vctx;
	int hs = c->C / c->NH;
	size_t C3 = 3 * (size_t)c->C;
	double p[64];
	for (int b = 0; b < c->B; b++)
		for (int h = 0; h < c->NH; h++)
			for (int i = 0; i < c->T; i++) {
				const double *q = c->qkv + ((size_t)b * c->T + i) * C3 + (size_t)h * hs;
				int n = c->causal ? i + 1 : c->T;
				double mx = -INFINITY, sum = 0;
				for (int j = 0; j < n; j++) {
					const double *k = c->qkv + ((size_t)b * c->T + j) * C3 + c->C + (size_t)h * hs;
					double s = 0;
					for (int d = 0; d < hs; d++)
						s += q[d] * k[d];
					p[j] = s / sqrt((double)hs);
					mx = p[j] > mx ? p[j] : mx;
				}
				for (int j = 0; j < n; j++)
					sum += (p[j] = exp(p[j] - mx));
				for (int d = 0; d < hs; d++) {
					double o = 0;
					for (int j = 0; j < n; j++)
						o += p[j] / sum *
						     c->qkv[((size_t)b * c->T + j) * C3 + 2 * (size_t)c->C + (size_t)h * hs + d];
					out[((size_t)b * c->T + i) * c->C + (size_t)h * hs + d] = o;
				}
			}
}

static void check_attention(int causal)
{
	int B = 2, T = 5, C = 8, NH = 2;
	size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C, na = (size_t)B * NH * T * T;
	att_ctx c = {rand_d(nq, 1.0), B, T, C, NH, causal};
	round_to_float(c.qkv, nq);
	double *r = rand_d(no, 1);
	float *qkv = to_f(c.qkv, nq), *dout = to_f(r, no);
	float *out = xmalloc_array(no, sizeof *out), *att = xmalloc_array(na, sizeof *att);
	float *scratch = xmalloc_array(na, sizeof *scratch), *dqkv = xcalloc(nq, sizeof *dqkv);
	attention_forward(out, att, qkv, B, T, C, NH, causal);
	double e = fwd_error(att_ref, &c, out, no);
	T_ASSERTF(e < TOL_FWD, "forward %g (causal %d)", e, causal);
	for (size_t row = 0; row < (size_t)B * NH * T; row++) {
		double s = 0;
		int i = (int)(row % T);
		for (int j = 0; j < T; j++) {
			s += att[row * T + j];
			if (causal && j > i)
				T_ASSERTF(att[row * T + j] == 0, "masked probability %g", att[row * T + j]);
		}
		T_ASSERTF(fabs(s - 1) < 1e-6, "row sums to %g", s);
	}
	attention_backward(dqkv, scratch, dout, qkv, att, B, T, C, NH, causal);
	e = fd_error(att_ref, &c, c.qkv, nq, dqkv, r, no);
	T_ASSERTF(e < TOL_GRAD, "dqkv %g (causal %d)", e, causal);
	free(c.qkv), free(r), free(qkv), free(dout), free(out), free(att), free(scratch), free(dqkv);
}

static void test_attention(void) { check_attention(0); }
static void test_attention_causal(void) { check_attention(1); }

/* Prefix-tree attention = causal attention of each sequence on its own. Sequences (as token positions):
 * s0 = rows 0 1 2 3, s1 = rows 0 1 4, s2 = rows 5 6, s3 = rows 0 1 2 7 8. */
static void test_prefix_attention(void)
{
	int C = 8, NH = 2;
	size_t C3 = 3 * (size_t)C;
	const int32_t parent[9] = {-1, 0, 1, 2, 1, -1, 5, 2, 7};
	const int seqs[4][5] = {{0, 1, 2, 3}, {0, 1, 4}, {5, 6}, {0, 1, 2, 7, 8}};
	const int lens[4] = {4, 3, 2, 5};
	double *d = rand_d(9 * C3, 1.0);
	float *qkv = to_f(d, 9 * C3), *out = xmalloc_array(9 * (size_t)C, sizeof *out);
	prefix_attention_forward(out, qkv, parent, 9, C, NH);
	for (int s = 0; s < 4; s++) {
		int T = lens[s];
		float seq_qkv[5 * 24], seq_out[5 * 8], att[2 * 25];
		for (int t = 0; t < T; t++)
			memcpy(seq_qkv + t * C3, qkv + (size_t)seqs[s][t] * C3, C3 * sizeof(float));
		attention_forward(seq_out, att, seq_qkv, 1, T, C, NH, 1);
		for (int t = 0; t < T; t++)
			for (int i = 0; i < C; i++) {
				float a = out[(size_t)seqs[s][t] * C + i], b = seq_out[t * C + i];
				T_ASSERTF(fabsf(a - b) <= 1e-6f * (1 + fabsf(b)), "sequence %d position %d: %g vs %g", s,
					  t, a, b);
			}
	}
	free(d), free(qkv), free(out);
}

/* ---- QuickGELU, residual ---- */

typedef struct ew_ctx {
	double *x;
	size_t n;
} ew_ctx;

static void gelu_ref(const void *vctx, double *out)
{
	const ew_ctx *c = vctx;
	for (size_t i = 0; i < c->n; i++)
		out[i] = c->x[i] / (1 + exp(-1.702 * c->x[i]));
}

static void test_quick_gelu(void)
{
	size_t n = 64;
	ew_ctx c = {rand_d(n, 3.0), n};
	c.x[0] = 0;
	c.x[1] = -30;
	c.x[2] = 30;
	round_to_float(c.x, n);
	double *r = rand_d(n, 1);
	float *x = to_f(c.x, n), *dout = to_f(r, n), *out = xmalloc_array(n, sizeof *out);
	float *dx = xcalloc(n, sizeof *dx);
	quick_gelu_forward(out, x, n);
	double e = fwd_error(gelu_ref, &c, out, n);
	T_ASSERTF(e < TOL_FWD, "forward %g", e);
	quick_gelu_backward(dx, x, dout, n);
	e = fd_error(gelu_ref, &c, c.x, n, dx, r, n);
	T_ASSERTF(e < TOL_GRAD, "dinp %g", e);
	/* in place, as the text tower uses it */
	quick_gelu_forward(x, x, n);
	T_ASSERT(memcmp(x, out, n * sizeof *x) == 0);
	free(c.x), free(r), free(x), free(dout), free(out), free(dx);
}

static void test_residual(void)
{
	float a[3] = {1, 2, 3}, b[3] = {0.5f, -1, 4}, out[3], da[3] = {1, 1, 1}, db[3] = {0}, dout[3] = {2, 3, 4};
	residual_forward(out, a, b, 3);
	T_ASSERT(out[0] == 1.5f && out[1] == 1 && out[2] == 7);
	residual_backward(da, db, dout, 3);
	T_ASSERT(da[0] == 3 && da[1] == 4 && da[2] == 5);
	T_ASSERT(db[0] == 2 && db[1] == 3 && db[2] == 4);
}

/* ---- patch embedding: a direct strided convolution as the reference ---- */

typedef struct pe_ctx {
	double *pix, *w;
	int B, R, P, W;
} pe_ctx;

static void pe_ref(const void *vctx, double *out)
{
	const pe_ctx *c = vctx;
	int G = c->R / c->P;
	for (int b = 0; b < c->B; b++)
		for (int gy = 0; gy < G; gy++)
			for (int gx = 0; gx < G; gx++)
				for (int o = 0; o < c->W; o++) {
					double s = 0;
					for (int ch = 0; ch < 3; ch++)
						for (int ky = 0; ky < c->P; ky++)
							for (int kx = 0; kx < c->P; kx++)
								s += c->w[((size_t)(o * 3 + ch) * c->P + ky) * c->P + kx] *
								     c->pix[(((size_t)b * 3 + ch) * c->R + gy * c->P + ky) * c->R +
									    gx * c->P + kx];
					out[(((size_t)b * G + gy) * G + gx) * c->W + o] = s;
				}
}

static void test_patch_embed(void)
{
	int B = 2, R = 12, P = 4, W = 5, G = R / P, pd = 3 * P * P;
	size_t npix = (size_t)B * 3 * R * R, nw = (size_t)W * pd, np = (size_t)B * G * G, no = np * W;
	pe_ctx c = {rand_d(npix, 1), rand_d(nw, 0.2), B, R, P, W};
	round_to_float(c.pix, npix);
	round_to_float(c.w, nw);
	double *r = rand_d(no, 1);
	float *pix = to_f(c.pix, npix), *w = to_f(c.w, nw), *dout = to_f(r, no);
	float *patches = xmalloc_array(np * pd, sizeof *patches), *out = xmalloc_array(no, sizeof *out);
	float *dw = xcalloc(nw, sizeof *dw);
	patch_unfold(patches, pix, B, R, P);
	patch_embed_forward(out, patches, w, np, pd, W);
	double e = fwd_error(pe_ref, &c, out, no);
	T_ASSERTF(e < TOL_FWD, "forward %g", e);
	patch_embed_backward(dw, dout, patches, np, pd, W);
	e = fd_error(pe_ref, &c, c.w, nw, dw, r, no);
	T_ASSERTF(e < TOL_GRAD, "dconv1 %g", e);
	free(c.pix), free(c.w), free(r), free(pix), free(w), free(dout), free(patches), free(out), free(dw);
}

/* ---- class + positional embedding ---- */

typedef struct ve_ctx {
	double *patch, *cls, *pos;
	int B, T, C;
} ve_ctx;

static void ve_ref(const void *vctx, double *out)
{
	const ve_ctx *c = vctx;
	for (int b = 0; b < c->B; b++)
		for (int t = 0; t < c->T; t++)
			for (int i = 0; i < c->C; i++)
				out[((size_t)b * c->T + t) * c->C + i] =
					(t ? c->patch[((size_t)b * (c->T - 1) + t - 1) * c->C + i] : c->cls[i]) +
					c->pos[(size_t)t * c->C + i];
}

static void test_vision_embed(void)
{
	int B = 2, T = 5, C = 4;
	size_t np = (size_t)B * (T - 1) * C, nx = (size_t)B * T * C;
	ve_ctx c = {rand_d(np, 1), rand_d(C, 1), rand_d((size_t)T * C, 1), B, T, C};
	round_to_float(c.patch, np);
	round_to_float(c.cls, C);
	round_to_float(c.pos, (size_t)T * C);
	double *r = rand_d(nx, 1);
	float *patch = to_f(c.patch, np), *cls = to_f(c.cls, C), *pos = to_f(c.pos, (size_t)T * C);
	float *dout = to_f(r, nx), *x = xmalloc_array(nx, sizeof *x);
	float *dpatch = xcalloc(np, sizeof *dpatch), *dcls = xcalloc(C, sizeof *dcls);
	float *dpos = xcalloc((size_t)T * C, sizeof *dpos);
	vision_embed_forward(x, patch, cls, pos, B, T, C);
	double e = fwd_error(ve_ref, &c, x, nx);
	T_ASSERTF(e < TOL_FWD, "forward %g", e);
	vision_embed_backward(dpatch, dcls, dpos, dout, B, T, C);
	e = fd_error(ve_ref, &c, c.patch, np, dpatch, r, nx);
	T_ASSERTF(e < TOL_GRAD, "dpatch %g", e);
	e = fd_error(ve_ref, &c, c.cls, C, dcls, r, nx);
	T_ASSERTF(e < TOL_GRAD, "dclass %g", e);
	e = fd_error(ve_ref, &c, c.pos, (size_t)T * C, dpos, r, nx);
	T_ASSERTF(e < TOL_GRAD, "dpos %g", e);
	free(c.patch), free(c.cls), free(c.pos), free(r), free(patch), free(cls), free(pos), free(dout), free(x);
	free(dpatch), free(dcls), free(dpos);
}

/* ---- L2 normalisation ---- */

typedef struct l2_ctx {
	double *x;
	int N, C;
} l2_ctx;

static void l2_ref(const void *vctx, double *out)
{
	const l2_ctx *c = vctx;
	for (int n = 0; n < c->N; n++) {
		double s = 0;
		for (int i = 0; i < c->C; i++)
			s += c->x[(size_t)n * c->C + i] * c->x[(size_t)n * c->C + i];
		for (int i = 0; i < c->C; i++)
			out[(size_t)n * c->C + i] = c->x[(size_t)n * c->C + i] / sqrt(s);
	}
}

static void test_l2norm(void)
{
	int N = 3, C = 7;
	size_t n = (size_t)N * C;
	l2_ctx c = {rand_d(n, 2), N, C};
	round_to_float(c.x, n);
	double *r = rand_d(n, 1);
	float *x = to_f(c.x, n), *dout = to_f(r, n), *out = xmalloc_array(n, sizeof *out), norm[3];
	float *dx = xcalloc(n, sizeof *dx);
	l2norm_forward(out, norm, x, (size_t)N, C);
	double e = fwd_error(l2_ref, &c, out, n);
	T_ASSERTF(e < TOL_FWD, "forward %g", e);
	l2norm_backward(dx, dout, out, norm, (size_t)N, C);
	e = fd_error(l2_ref, &c, c.x, n, dx, r, n);
	T_ASSERTF(e < TOL_GRAD, "dinp %g", e);
	float zero[4] = {0}, zout[4], znorm[1];
	l2norm_forward(zout, znorm, zero, 1, 4);
	T_ASSERT(znorm[0] == 0 && zout[0] == 0 && zout[3] == 0);
	free(c.x), free(r), free(x), free(dout), free(out), free(dx);
}

int main(void)
{
	rng_init(&gen, 12345, rng_stream_id("test_clip_layers", 0, 0));
	T_RUN(test_layernorm);
	T_RUN(test_matmul);
	T_RUN(test_projection);
	T_RUN(test_attention);
	T_RUN(test_attention_causal);
	T_RUN(test_prefix_attention);
	T_RUN(test_quick_gelu);
	T_RUN(test_residual);
	T_RUN(test_patch_embed);
	T_RUN(test_vision_embed);
	T_RUN(test_l2norm);
	return t_summary();
}
