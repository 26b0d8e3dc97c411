/* clip_layers.c — see clip_layers.h. */
#include "cpu/clip_layers.h"
#include "cpu/row_ops.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

/* ---- LayerNorm ---------------------------------------------------------------------------------- */

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
		       const float *bias, size_t N, int C)
{
	for (size_t n = 0; n < N; n++) {
		const float *x = inp + n * C;
		float *o = out + n * C;
		/* Two passes in double: the mean and variance of activations whose mean dwarfs their spread
		 * (residual streams grow) lose nothing to cancellation. */
		double s = 0;
		for (int i = 0; i < C; i++)
			s += x[i];
		double m = s / C;
		double v = 0;
		for (int i = 0; i < C; i++) {
			double d = x[i] - m;
			v += d * d;
		}
		v /= C;
		float fm = (float)m;
		float r = (float)(1.0 / sqrt(v + CLIP_LN_EPS));
		for (int i = 0; i < C; i++)
			o[i] = (x[i] - fm) * r * weight[i] + bias[i];
		if (mean)
			mean[n] = fm;
		if (rstd)
			rstd[n] = r;
	}
}

void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
			const float *weight, const float *mean, const float *rstd, size_t N, int C)
{
	for (size_t n = 0; n < N; n++) {
		const float *x = inp + n * C, *dy = dout + n * C;
		float m = mean[n], r = rstd[n];
		/* dx = r * (g - mean(g) - xhat * mean(g * xhat)) with g = weight * dy, xhat the normalised input */
		double g_mean = 0, gx_mean = 0;
		for (int i = 0; i < C; i++) {
			float xhat = (x[i] - m) * r;
			float g = weight[i] * dy[i];
			g_mean += g;
			gx_mean += g * xhat;
		}
		g_mean /= C;
		gx_mean /= C;
		float fg = (float)g_mean, fgx = (float)gx_mean;
		for (int i = 0; i < C; i++) {
			float xhat = (x[i] - m) * r;
			if (dbias)
				dbias[i] += dy[i];
			if (dweight)
				dweight[i] += xhat * dy[i];
			if (dinp)
				dinp[n * C + i] += (weight[i] * dy[i] - fg - xhat * fgx) * r;
		}
	}
}

/* ---- matrix products ---------------------------------------------------------------------------- */

void matmul_forward(float *out, const float *inp, const float *weight, const float *bias, size_t N, int C,
		    int OC)
{
	if (N == 0)
		return;
	float beta = 0;
	if (bias) {
		for (size_t n = 0; n < N; n++)
			memcpy(out + n * OC, bias, (size_t)OC * sizeof *out);
		beta = 1;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, OC, C, 1.0f, inp, C, weight, C, beta, out,
		    OC);
}

static void column_sums_add(float *dst, const float *m, size_t N, int C)
{
	for (size_t n = 0; n < N; n++)
		for (int i = 0; i < C; i++)
			dst[i] += m[n * C + i];
}

void matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
		     const float *weight, size_t N, int C, int OC)
{
	if (N == 0)
		return;
	if (dinp) /* dinp[N,C] += dout[N,OC] @ weight[OC,C] */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, C, OC, 1.0f, dout, OC, weight,
			    C, 1.0f, dinp, C);
	if (dweight) /* dweight[OC,C] += dout^T @ inp */
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, (int)N, 1.0f, dout, OC, inp, C,
			    1.0f, dweight, C);
	if (dbias)
		column_sums_add(dbias, dout, N, OC);
}

void projection_forward(float *out, const float *inp, const float *proj, size_t N, int C, int OC)
{
	if (N == 0)
		return;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, OC, C, 1.0f, inp, C, proj, OC, 0.0f,
		    out, OC);
}

void projection_backward(float *dinp, float *dproj, const float *dout, const float *inp, const float *proj,
			 size_t N, int C, int OC)
{
	if (N == 0)
		return;
	if (dinp) /* dinp[N,C] += dout[N,OC] @ proj[C,OC]^T */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, C, OC, 1.0f, dout, OC, proj, OC,
			    1.0f, dinp, C);
	if (dproj) /* dproj[C,OC] += inp^T @ dout */
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, OC, (int)N, 1.0f, inp, C, dout, OC,
			    1.0f, dproj, OC);
}

/* ---- attention ---------------------------------------------------------------------------------- */

/* Softmax of each row of a [T,T] score matrix in place; with causal, row i covers columns 0..i and the
 * rest become 0. */
static void softmax_rows(float *s, int T, int causal)
{
	for (int i = 0; i < T; i++)
		softmax_row(s + (size_t)i * T, causal ? i + 1 : T, T);
}

void attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH, int causal)
{
	int hs = C / NH;
	float scale = 1.0f / sqrtf((float)hs);
	size_t C3 = 3 * (size_t)C;
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++) {
			const float *q = qkv + (size_t)b * T * C3 + (size_t)h * hs;
			const float *k = q + C, *v = q + 2 * (size_t)C;
			float *p = att + ((size_t)b * NH + h) * T * T;
			/* p = softmax(scale * q k^T); o = p v, the head's slice of out */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, scale, q, (int)C3, k, (int)C3,
				    0.0f, p, T);
			softmax_rows(p, T, causal);
			float *o = out + (size_t)b * T * C + (size_t)h * hs;
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1.0f, p, T, v, (int)C3,
				    0.0f, o, C);
		}
}

void attention_backward(float *dqkv, float *scratch, const float *dout, const float *qkv, const float *att,
			int B, int T, int C, int NH, int causal)
{
	(void)causal; /* masked probabilities are 0, so their gradients vanish by themselves */
	int hs = C / NH;
	float scale = 1.0f / sqrtf((float)hs);
	size_t C3 = 3 * (size_t)C;
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++) {
			size_t off = (size_t)b * T * C3 + (size_t)h * hs;
			const float *q = qkv + off, *k = q + C, *v = q + 2 * (size_t)C;
			float *dq = dqkv + off, *dk = dq + C, *dv = dq + 2 * (size_t)C;
			const float *p = att + ((size_t)b * NH + h) * T * T;
			const float *dO = dout + (size_t)b * T * C + (size_t)h * hs;
			float *ds = scratch + ((size_t)b * NH + h) * T * T;
			/* dp = dO v^T; ds = p * (dp - rowsum(p * dp)) */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, 1.0f, dO, C, v, (int)C3, 0.0f,
				    ds, T);
			for (int i = 0; i < T; i++) {
				const float *pr = p + (size_t)i * T;
				float *dr = ds + (size_t)i * T;
				float dot = 0;
				for (int j = 0; j < T; j++)
					dot += pr[j] * dr[j];
				for (int j = 0; j < T; j++)
					dr[j] = pr[j] * (dr[j] - dot);
			}
			/* dq += scale ds k; dk += scale ds^T q; dv += p^T dO */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, scale, ds, T, k, (int)C3,
				    1.0f, dq, (int)C3);
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, scale, ds, T, q, (int)C3,
				    1.0f, dk, (int)C3);
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, 1.0f, p, T, dO, C, 1.0f, dv,
				    (int)C3);
		}
}

void prefix_attention_forward(float *out, const float *qkv, const int32_t *parent, size_t N, int C, int NH)
{
	if (N == 0)
		return;
	int hs = C / NH;
	float scale = 1.0f / sqrtf((float)hs);
	size_t C3 = 3 * (size_t)C;
	size_t *chain = xmalloc_array(N, sizeof *chain);
	float *s = xmalloc_array(N, sizeof *s);
	for (size_t r = 0; r < N; r++) {
		/* The path root .. r, i.e. the positions 0 .. depth of r's sequence. */
		size_t len = 0;
		for (int64_t a = (int64_t)r; a >= 0; a = parent[a])
			chain[len++] = (size_t)a;
		for (size_t i = 0; i < len / 2; i++) {
			size_t t = chain[i];
			chain[i] = chain[len - 1 - i];
			chain[len - 1 - i] = t;
		}
		for (int h = 0; h < NH; h++) {
			const float *q = qkv + r * C3 + (size_t)h * hs;
			float mx = -INFINITY;
			for (size_t j = 0; j < len; j++) {
				const float *k = qkv + chain[j] * C3 + C + (size_t)h * hs;
				float d = 0;
				for (int i = 0; i < hs; i++)
					d += q[i] * k[i];
				s[j] = d * scale;
				if (s[j] > mx)
					mx = s[j];
			}
			float sum = 0;
			for (size_t j = 0; j < len; j++) {
				s[j] = expf(s[j] - mx);
				sum += s[j];
			}
			float inv = 1.0f / sum;
			float *o = out + r * C + (size_t)h * hs;
			memset(o, 0, (size_t)hs * sizeof *o);
			for (size_t j = 0; j < len; j++) {
				const float *v = qkv + chain[j] * C3 + 2 * (size_t)C + (size_t)h * hs;
				float w = s[j] * inv;
				for (int i = 0; i < hs; i++)
					o[i] += w * v[i];
			}
		}
	}
	free(s);
	free(chain);
}

/* ---- elementwise -------------------------------------------------------------------------------- */

#define GELU_K 1.702f

void quick_gelu_forward(float *out, const float *inp, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float x = inp[i];
		out[i] = x / (1.0f + expf(-GELU_K * x));
	}
}

void quick_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float x = inp[i];
		float s = 1.0f / (1.0f + expf(-GELU_K * x));
		dinp[i] += dout[i] * (s + GELU_K * x * s * (1.0f - s));
	}
}

void residual_forward(float *out, const float *a, const float *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = a[i] + b[i];
}

void residual_backward(float *da, float *db, const float *dout, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (da)
			da[i] += dout[i];
		if (db)
			db[i] += dout[i];
	}
}

/* ---- vision embeddings -------------------------------------------------------------------------- */

void patch_unfold(float *patches, const float *pixels, int B, int R, int P)
{
	int G = R / P;
	size_t pd = 3 * (size_t)P * P;
	for (int b = 0; b < B; b++)
		for (int gy = 0; gy < G; gy++)
			for (int gx = 0; gx < G; gx++) {
				float *dst = patches + (((size_t)b * G + gy) * G + gx) * pd;
				for (int c = 0; c < 3; c++)
					for (int y = 0; y < P; y++) {
						const float *src = pixels + (((size_t)b * 3 + c) * R + (size_t)gy * P + y) * R +
								   (size_t)gx * P;
						memcpy(dst, src, (size_t)P * sizeof *dst);
						dst += P;
					}
			}
}

void patch_embed_forward(float *out, const float *patches, const float *conv1, size_t n_patches,
			 int patch_dim, int W)
{
	matmul_forward(out, patches, conv1, NULL, n_patches, patch_dim, W);
}

void patch_embed_backward(float *dconv1, const float *dout, const float *patches, size_t n_patches,
			  int patch_dim, int W)
{
	matmul_backward(NULL, dconv1, NULL, dout, patches, NULL, n_patches, patch_dim, W);
}

void vision_embed_forward(float *x, const float *patch_out, const float *class_emb, const float *pos_emb,
			  int B, int T, int C)
{
	for (int b = 0; b < B; b++) {
		float *xb = x + (size_t)b * T * C;
		for (int i = 0; i < C; i++)
			xb[i] = class_emb[i] + pos_emb[i];
		const float *pb = patch_out + (size_t)b * (T - 1) * C;
		for (size_t i = 0; i < (size_t)(T - 1) * C; i++)
			xb[C + i] = pb[i] + pos_emb[C + i];
	}
}

void vision_embed_backward(float *dpatch_out, float *dclass_emb, float *dpos_emb, const float *dx, int B,
			   int T, int C)
{
	for (int b = 0; b < B; b++) {
		const float *db = dx + (size_t)b * T * C;
		if (dclass_emb)
			for (int i = 0; i < C; i++)
				dclass_emb[i] += db[i];
		if (dpos_emb)
			for (size_t i = 0; i < (size_t)T * C; i++)
				dpos_emb[i] += db[i];
		if (dpatch_out) {
			float *dp = dpatch_out + (size_t)b * (T - 1) * C;
			for (size_t i = 0; i < (size_t)(T - 1) * C; i++)
				dp[i] += db[C + i];
		}
	}
}

/* ---- L2 normalisation --------------------------------------------------------------------------- */

void l2norm_forward(float *out, float *norm, const float *inp, size_t N, int C)
{
	for (size_t n = 0; n < N; n++) {
		const float *x = inp + n * C;
		double s = 0;
		for (int i = 0; i < C; i++)
			s += (double)x[i] * x[i];
		float nr = (float)sqrt(s);
		float inv = nr > 0 ? 1.0f / nr : 0.0f;
		for (int i = 0; i < C; i++)
			out[n * C + i] = x[i] * inv;
		if (norm)
			norm[n] = nr;
	}
}

void l2norm_backward(float *dinp, const float *dout, const float *out, const float *norm, size_t N, int C)
{
	for (size_t n = 0; n < N; n++) {
		if (!(norm[n] > 0))
			continue;
		const float *y = out + n * C, *dy = dout + n * C;
		double dot = 0;
		for (int i = 0; i < C; i++)
			dot += (double)y[i] * dy[i];
		float inv = 1.0f / norm[n], fd = (float)dot;
		for (int i = 0; i < C; i++)
			dinp[n * C + i] += (dy[i] - y[i] * fd) * inv;
	}
}
