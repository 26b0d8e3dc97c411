// adam.cu — torch.optim.Adam's update (train/adam.h) over a flat parameter block, one thread an element;
// the scalars computed on the host in double exactly as adam.c computes them, rounded where it rounds.
#include <math.h>

#include "cuda_common.h"
#include "cuda_kernels.h"

__global__ static void adam_kernel(float *p, const float *g, float *m, float *v, size_t n, float beta1, float beta2,
				   float one_minus_beta1, float one_minus_beta2, float weight_decay, float neg_step_size,
				   float sqrt_bc2, float eps)
{
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
		float gi = g[i];
		if (weight_decay != 0.0f)
			gi = gi + weight_decay * p[i];
		float mi = m[i] * beta1 + one_minus_beta1 * gi;
		float vi = v[i] * beta2 + (one_minus_beta2 * gi) * gi;
		m[i] = mi;
		v[i] = vi;
		float denom = sqrtf(vi) / sqrt_bc2 + eps;
		p[i] = p[i] + (neg_step_size * mi) / denom;
	}
}

extern "C" void cuda_adam_step(lfm_cuda_context *ctx, float *params, const float *grads, float *m, float *v, size_t n,
			       const adam_config *c, long t)
{
	LFM_CUDA_REQUIRE(params && grads && m && v && c && t >= 1);
	if (!n)
		return;
	double bc1 = 1.0 - pow(c->beta1, (double)t), bc2 = 1.0 - pow(c->beta2, (double)t);
	double step_size = c->lr / bc1;
	size_t blocks = (n + 255) / 256;
	LFM_LAUNCH(adam_kernel, (unsigned)(blocks < 65535 ? blocks : 65535), 256, 0, ctx->stream, params, grads, m, v, n,
		   (float)c->beta1, (float)c->beta2, (float)(1.0 - c->beta1), (float)(1.0 - c->beta2),
		   (float)c->weight_decay, (float)(-step_size), (float)sqrt(bc2), (float)c->eps);
}
