/* loss_rows.h — the per-row arithmetic of the losses of losses.h, in double: one definition for the CPU
 * (losses.c) and the GPU (cuda/loss.cu, one thread a row), so the two compute the same thing the same way.
 * Compiled by nvcc the functions are __host__ __device__; elsewhere plain static inline C. */
#ifndef LFM_LOSS_ROWS_H
#define LFM_LOSS_ROWS_H

#include <math.h>
#include <stddef.h>

#include "base/host_device.h"

/* The constants a row needs: losses.h's loss_fn without its ownership (the arrays may be device memory). */
typedef struct loss_row_params {
	int kind; /* loss_kind */
	int classes;
	const float *class_shift, *margins, *offsets;
	double gamma, scale, temperature;
} loss_row_params;

/* ---- per-row kernels ------------------------------------------------------------------------------ */

/* The transformed logit of row_soft_ce. */
LFM_HD static inline double shifted_logit(const float *z, const float *y, int k, double scale, const float *shift,
				   const float *margin)
{
	double a = z[k];
	if (shift)
		a += shift[k];
	if (margin)
		a -= (double)y[k] * margin[k];
	return scale * a;
}

/* Soft CE on a_k = scale · (z_k + shift_k − y_k·margin_k) (shift, margin NULL = 0): covers ce, balce and
 * ldam. Returns the row's loss; writes d(row loss)/dz · inv_B to dz when dz is not NULL. */
LFM_HD static inline double row_soft_ce(const float *z, const float *y, int C, double scale, const float *shift,
			  const float *margin, double inv_B, float *dz)
{
	double mx = -INFINITY;
	for (int k = 0; k < C; k++)
		mx = fmax(mx, shifted_logit(z, y, k, scale, shift, margin));
	double sum = 0, ysum = 0;
	for (int k = 0; k < C; k++) {
		sum += exp(shifted_logit(z, y, k, scale, shift, margin) - mx);
		ysum += y[k];
	}
	double lse = mx + log(sum), loss = 0;
	for (int k = 0; k < C; k++) {
		double a = shifted_logit(z, y, k, scale, shift, margin);
		if (y[k] != 0)
			loss += (double)y[k] * (lse - a);
		if (dz) /* d/da_k = p_k·Σy − y_k; da_k/dz_k = scale (the margin depends on y only) */
			dz[k] = (float)(scale * (exp(a - lse) * ysum - y[k]) * inv_B);
	}
	return loss;
}

/* −Σ_k y_k (1 − p_k)^γ log p_k. With q_k = 1 − p_k computed as −expm1(log p_k) (accurate near p = 1) and
 * r_k = −log p_k / q_k (→ 1 as q → 0), the derivative of the row loss with respect to z_j is
 *   g_j − p_j Σ_k g_k,   g_k = −y_k q_k^γ (1 + γ p_k r_k),
 * finite for every γ >= 0 (the (1 − p)^(γ−1) of the textbook form never appears).
 * focal_term gives one class's loss −y_k q_k^γ log p_k and its g_k, for y_k != 0. */
LFM_HD static inline double focal_term(double logp, double y, double gamma, double *g)
{
	double p = exp(logp), q = -expm1(logp), qg = pow(q, gamma);
	double r = q > 0 ? -logp / q : 1.0;
	*g = -y * qg * (1 + gamma * p * r);
	return -y * qg * logp;
}

LFM_HD static inline double row_focal(const float *z, const float *y, int C, double gamma, double inv_B, float *dz)
{
	double mx = -INFINITY;
	for (int k = 0; k < C; k++)
		mx = fmax(mx, (double)z[k]);
	double sum = 0;
	for (int k = 0; k < C; k++)
		sum += exp((double)z[k] - mx);
	double lse = mx + log(sum), loss = 0, gsum = 0, g;
	for (int k = 0; k < C; k++)
		if (y[k] != 0) {
			loss += focal_term((double)z[k] - lse, y[k], gamma, &g);
			gsum += g;
		}
	if (dz)
		for (int k = 0; k < C; k++) {
			double logp = (double)z[k] - lse;
			g = 0;
			if (y[k] != 0)
				focal_term(logp, y[k], gamma, &g);
			dz[k] = (float)((g - exp(logp) * gsum) * inv_B);
		}
	return loss;
}

/* The two largest target weights of a row (ties: lower index first); c1 = -1 when C < 2. */
LFM_HD static inline void top2(const float *y, int C, int *c0, int *c1)
{
	int a = 0, b = -1;
	for (int k = 1; k < C; k++) {
		if (y[k] > y[a]) {
			b = a;
			a = k;
		} else if (b < 0 || y[k] > y[b]) {
			b = k;
		}
	}
	*c0 = a;
	*c1 = b;
}

/* w0·CE((z + O[c0])/τ, c0) + w1·CE((z + O[c1])/τ, c1), see losses.h. */
LFM_HD static inline double row_mms(const loss_row_params *L, const float *z, const float *y, double inv_B, float *dz)
{
	int C = L->classes, lab[2];
	double inv_t = 1.0 / L->temperature, loss = 0;
	top2(y, C, &lab[0], &lab[1]);
	if (dz)
		for (int k = 0; k < C; k++)
			dz[k] = 0;
	for (int i = 0; i < 2; i++) {
		if (lab[i] < 0 || y[lab[i]] == 0)
			continue;
		int c = lab[i];
		double w = y[c];
		const float *off = L->offsets + (size_t)c * C;
		double mx = -INFINITY;
		for (int k = 0; k < C; k++)
			mx = fmax(mx, ((double)z[k] + off[k]) * inv_t);
		double sum = 0;
		for (int k = 0; k < C; k++)
			sum += exp(((double)z[k] + off[k]) * inv_t - mx);
		double lse = mx + log(sum);
		loss += w * (lse - ((double)z[c] + off[c]) * inv_t);
		if (dz)
			for (int k = 0; k < C; k++) {
				double p = exp(((double)z[k] + off[k]) * inv_t - lse);
				dz[k] += (float)(w * (p - (k == c)) * inv_t * inv_B);
			}
	}
	return loss;
}

/* One row's loss; d(row loss)/dz · inv_B into dz (NULL: none). kind: 0 ce, 1 balce, 2 focal, 3 ldam, 4 mms
 * (loss_kind's order). NaN for an unknown kind. */
LFM_HD static inline double loss_row(const loss_row_params *L, const float *z, const float *y, double inv_B, float *dz)
{
	switch (L->kind) {
	case 0: return row_soft_ce(z, y, L->classes, 1.0, NULL, NULL, inv_B, dz);
	case 1: return row_soft_ce(z, y, L->classes, 1.0, L->class_shift, NULL, inv_B, dz);
	case 2: return row_focal(z, y, L->classes, L->gamma, inv_B, dz);
	case 3: return row_soft_ce(z, y, L->classes, L->scale, NULL, L->margins, inv_B, dz);
	case 4: return row_mms(L, z, y, inv_B, dz);
	}
	return NAN;
}

#endif
