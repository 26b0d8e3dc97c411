/* adam.c — torch.optim.Adam's single-tensor update (see adam.h for the exact order of operations). */
#include "train/adam.h"

#include <math.h>

void adam_config_defaults(adam_config *c)
{
	c->lr = 1e-3;
	c->beta1 = 0.9;
	c->beta2 = 0.999;
	c->eps = 1e-8;
	c->weight_decay = 0;
}

void adam_step(float *params, const float *grads, float *m, float *v, size_t n, const adam_config *c, long t)
{
	/* The Python-float part of PyTorch's step, in double ... */
	double bias_correction1 = 1 - pow(c->beta1, (double)t);
	double bias_correction2 = 1 - pow(c->beta2, (double)t);
	double step_size = c->lr / bias_correction1;
	double bias_correction2_sqrt = sqrt(bias_correction2);
	/* ... and the scalars as the float32 kernels see them (a Python number meeting a float32 tensor is
	 * converted to float32). */
	const float beta1 = (float)c->beta1, one_minus_beta1 = (float)(1 - c->beta1);
	const float beta2 = (float)c->beta2, one_minus_beta2 = (float)(1 - c->beta2);
	const float wd = (float)c->weight_decay, eps = (float)c->eps;
	const float neg_step = (float)(-step_size), bc2_sqrt = (float)bias_correction2_sqrt;
	const int decay = c->weight_decay != 0;
	for (size_t i = 0; i < n; i++) {
		float g = grads[i];
		if (decay)
			g = g + wd * params[i];
		float mi = m[i] * beta1;
		mi = mi + one_minus_beta1 * g;
		float vi = v[i] * beta2;
		vi = vi + one_minus_beta2 * g * g;
		m[i] = mi;
		v[i] = vi;
		float denom = sqrtf(vi) / bc2_sqrt;
		denom = denom + eps;
		params[i] = params[i] + neg_step * mi / denom;
	}
}
