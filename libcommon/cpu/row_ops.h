/* row_ops.h — per-row arithmetic of the reference layers that the CUDA kernels run unchanged, one thread a
 * row (cuda/attention.cu, cuda/head.cu), so that both compute the same thing in the same order: the
 * attention softmax (cpu/clip_layers.c) and the cosine head's L2 normalisation (train/cosine_head.c). */
#ifndef LFM_ROW_OPS_H
#define LFM_ROW_OPS_H

#include <math.h>

#include "base/host_device.h"

/* softmax over the first n of a row's T entries in place (float32, the row maximum subtracted), the rest
 * set to 0 (the causal mask: n = position + 1). */
LFM_HD static inline void softmax_row(float *row, int n, int T)
{
	float mx = row[0];
	for (int j = 1; j < n; j++)
		if (row[j] > mx)
			mx = row[j];
	float sum = 0;
	for (int j = 0; j < n; j++) {
		row[j] = expf(row[j] - mx);
		sum += row[j];
	}
	float inv = 1.0f / sum;
	for (int j = 0; j < n; j++)
		row[j] *= inv;
	for (int j = n; j < T; j++)
		row[j] = 0;
}

/* o = x / ||x|| over D values, the norm in double; returns the norm. A zero row stays zero (norm 0). */
LFM_HD static inline double l2norm_row(float *o, const float *x, int D)
{
	double ss = 0;
	for (int i = 0; i < D; i++)
		ss += (double)x[i] * x[i];
	double nrm = sqrt(ss);
	if (nrm == 0) {
		for (int i = 0; i < D; i++)
			o[i] = 0;
		return 0;
	}
	double inv = 1.0 / nrm;
	for (int i = 0; i < D; i++)
		o[i] = (float)(x[i] * inv);
	return nrm;
}

/* d += (g − o·(o·g)) / norm over D values: the backward of l2norm_row (nothing for a zero row). */
LFM_HD static inline void l2norm_row_backward(float *d, const float *g, const float *o, float norm, int D)
{
	if (norm == 0)
		return;
	double dot = 0;
	for (int i = 0; i < D; i++)
		dot += (double)o[i] * g[i];
	double inv = 1.0 / norm;
	for (int i = 0; i < D; i++)
		d[i] += (float)(((double)g[i] - o[i] * dot) * inv);
}

#endif
