/* cosine_head.c — normalised-feature · normalised-text logits, with the stage-2 linear map W; forward and
 * backward in plain loops with double accumulators (the sizes are small: B·C·D is at most a few times 10^7
 * for ImageNet's 1,000 classes, against the vision tower's 10^12). */
#include "train/cosine_head.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "cpu/row_ops.h"

size_t cosine_l2norm_forward(float *out, float *norm, const float *inp, size_t N, int D)
{
	size_t zero = 0;
	for (size_t n = 0; n < N; n++) {
		double nrm = l2norm_row(out + n * (size_t)D, inp + n * (size_t)D, D);
		if (norm)
			norm[n] = (float)nrm;
		zero += nrm == 0;
	}
	return zero;
}

void cosine_l2norm_backward(float *dinp, const float *dout, const float *out, const float *norm, size_t N,
			    int D)
{
	for (size_t n = 0; n < N; n++)
		l2norm_row_backward(dinp + n * (size_t)D, dout + n * (size_t)D, out + n * (size_t)D, norm[n], D);
}

void cosine_logits_forward(float *logits, const float *fn, const float *text, int B, int D, int C)
{
	for (int b = 0; b < B; b++) {
		const float *x = fn + (size_t)b * D;
		for (int k = 0; k < C; k++) {
			const float *t = text + (size_t)k * D;
			double s = 0;
			for (int i = 0; i < D; i++)
				s += (double)x[i] * t[i];
			logits[(size_t)b * C + k] = (float)s;
		}
	}
}

void cosine_logits_backward(float *dfn, const float *dlogits, const float *text, int B, int D, int C)
{
	double *acc = xmalloc_array((size_t)D, sizeof *acc);
	for (int b = 0; b < B; b++) {
		for (int i = 0; i < D; i++)
			acc[i] = 0;
		for (int k = 0; k < C; k++) {
			double g = dlogits[(size_t)b * C + k];
			const float *t = text + (size_t)k * D;
			for (int i = 0; i < D; i++)
				acc[i] += g * t[i];
		}
		for (int i = 0; i < D; i++)
			dfn[(size_t)b * D + i] += (float)acc[i];
	}
	free(acc);
}

void cosine_fc_forward(float *h, const float *f, const float *W, int B, int D)
{
	for (int b = 0; b < B; b++) {
		const float *x = f + (size_t)b * D;
		for (int o = 0; o < D; o++) {
			const float *w = W + (size_t)o * D;
			double s = 0;
			for (int i = 0; i < D; i++)
				s += (double)w[i] * x[i];
			h[(size_t)b * D + o] = (float)s;
		}
	}
}

void cosine_fc_backward(float *df, float *dW, const float *dh, const float *f, const float *W, int B, int D)
{
	double *acc = xmalloc_array((size_t)D, sizeof *acc);
	if (dW) /* dW[o, i] += Σ_b dh[b, o] f[b, i] */
		for (int o = 0; o < D; o++) {
			for (int i = 0; i < D; i++)
				acc[i] = 0;
			for (int b = 0; b < B; b++) {
				double g = dh[(size_t)b * D + o];
				const float *x = f + (size_t)b * D;
				for (int i = 0; i < D; i++)
					acc[i] += g * x[i];
			}
			for (int i = 0; i < D; i++)
				dW[(size_t)o * D + i] += (float)acc[i];
		}
	if (df) /* df[b, i] += Σ_o dh[b, o] W[o, i] */
		for (int b = 0; b < B; b++) {
			for (int i = 0; i < D; i++)
				acc[i] = 0;
			for (int o = 0; o < D; o++) {
				double g = dh[(size_t)b * D + o];
				const float *w = W + (size_t)o * D;
				for (int i = 0; i < D; i++)
					acc[i] += g * w[i];
			}
			for (int i = 0; i < D; i++)
				df[(size_t)b * D + i] += (float)acc[i];
		}
	free(acc);
}

/* ---- the head ------------------------------------------------------------------------------------- */

int cosine_head_init(cosine_head *hd, const float *text_features, int C, int D, int stage, char *err,
		     size_t errsz)
{
	memset(hd, 0, sizeof *hd);
	if (stage != 1 && stage != 2)
		return err_set(err, errsz, "stage %d; must be 1 or 2", stage);
	if (C < 1 || D < 1)
		return err_set(err, errsz, "text features [%d, %d]; need at least one class and one dimension", C, D);
	for (size_t i = 0; i < (size_t)C * D; i++)
		if (!isfinite(text_features[i]))
			return err_set(err, errsz, "text features: row %zu has a non-finite value", i / (size_t)D);
	float *text = xmalloc_array((size_t)C * D, sizeof *text);
	for (int k = 0; k < C; k++)
		if (cosine_l2norm_forward(text + (size_t)k * D, NULL, text_features + (size_t)k * D, 1, D)) {
			free(text);
			return err_set(err, errsz, "text features: row %d is zero", k);
		}
	hd->classes = C;
	hd->dim = D;
	hd->stage = stage;
	hd->text = text;
	if (stage == 2) {
		size_t n = (size_t)D * D;
		hd->fc = xcalloc(n, sizeof *hd->fc);
		hd->fc_grad = xcalloc(n, sizeof *hd->fc_grad);
		hd->fc_m = xcalloc(n, sizeof *hd->fc_m);
		hd->fc_v = xcalloc(n, sizeof *hd->fc_v);
		for (int i = 0; i < D; i++)
			hd->fc[(size_t)i * D + i] = 1.0f; /* nn.init.eye_ */
	}
	return 0;
}

static void free_acts(cosine_head *hd)
{
	free(hd->feat);
	free(hd->h);
	free(hd->hn);
	free(hd->norm);
	free(hd->dhn);
	free(hd->dh);
	hd->feat = hd->h = hd->hn = hd->norm = hd->dhn = hd->dh = NULL;
	hd->act_batch = 0;
}

void cosine_head_free(cosine_head *hd)
{
	free_acts(hd);
	free(hd->text);
	free(hd->fc);
	free(hd->fc_grad);
	free(hd->fc_m);
	free(hd->fc_v);
	memset(hd, 0, sizeof *hd);
}

void cosine_head_forward(cosine_head *hd, const float *features, int B, float *logits)
{
	int D = hd->dim;
	if (B > hd->act_batch) {
		free_acts(hd);
		size_t n = (size_t)B * D;
		hd->feat = xmalloc_array(n, sizeof *hd->feat);
		hd->h = hd->stage == 2 ? xmalloc_array(n, sizeof *hd->h) : NULL;
		hd->hn = xmalloc_array(n, sizeof *hd->hn);
		hd->norm = xmalloc_array((size_t)B, sizeof *hd->norm);
		hd->dhn = xmalloc_array(n, sizeof *hd->dhn);
		hd->dh = xmalloc_array(n, sizeof *hd->dh);
		hd->act_batch = B;
	}
	hd->batch = B;
	memcpy(hd->feat, features, (size_t)B * D * sizeof *hd->feat);
	const float *pre = hd->feat;
	if (hd->stage == 2) {
		cosine_fc_forward(hd->h, hd->feat, hd->fc, B, D);
		pre = hd->h;
	}
	cosine_l2norm_forward(hd->hn, hd->norm, pre, (size_t)B, D);
	cosine_logits_forward(logits, hd->hn, hd->text, B, D, hd->classes);
}

void cosine_head_backward(cosine_head *hd, const float *dlogits, float *dfeatures)
{
	int B = hd->batch, D = hd->dim;
	size_t n = (size_t)B * D;
	memset(hd->dhn, 0, n * sizeof *hd->dhn);
	cosine_logits_backward(hd->dhn, dlogits, hd->text, B, D, hd->classes);
	if (hd->stage == 1) {
		if (dfeatures) {
			memset(dfeatures, 0, n * sizeof *dfeatures);
			cosine_l2norm_backward(dfeatures, hd->dhn, hd->hn, hd->norm, (size_t)B, D);
		}
		return;
	}
	memset(hd->dh, 0, n * sizeof *hd->dh);
	cosine_l2norm_backward(hd->dh, hd->dhn, hd->hn, hd->norm, (size_t)B, D);
	if (dfeatures)
		memset(dfeatures, 0, n * sizeof *dfeatures);
	cosine_fc_backward(dfeatures, hd->fc_grad, hd->dh, hd->feat, hd->fc, B, D);
}

void cosine_head_zero_grad(cosine_head *hd)
{
	if (hd->fc_grad)
		memset(hd->fc_grad, 0, (size_t)hd->dim * hd->dim * sizeof *hd->fc_grad);
}
