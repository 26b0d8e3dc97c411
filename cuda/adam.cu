// adam.cu — torch.optim.Adam's update (train/adam.h) over a flat parameter block, one thread an element;
// the scalars computed on the host in double exactly as adam.c computes them, rounded where it rounds.
#include <math.h>

#include "cuda_common.h"
#include "cuda_kernels.h"

__device__ static inline void adam_element(float *p, const float *g, float *m, float *v, size_t i,
					   const cuda_adam_scalars &s)
{
	float gi = g[i];
	if (s.weight_decay != 0.0f)
		gi = gi + s.weight_decay * p[i];
	float mi = m[i] * s.beta1 + s.one_minus_beta1 * gi;
	float vi = v[i] * s.beta2 + (s.one_minus_beta2 * gi) * gi;
	m[i] = mi;
	v[i] = vi;
	float denom = sqrtf(vi) / s.sqrt_bc2 + s.eps;
	p[i] = p[i] + (s.neg_step_size * mi) / denom;
}

// The scalars as arguments (an eager update)...
__global__ static void adam_kernel(float *p, const float *g, float *m, float *v, size_t n, cuda_adam_scalars s)
{
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
		adam_element(p, g, m, v, i, s);
}

// ... or read from device memory when the kernel runs, so that one captured graph serves every step; the
// parameters' bf16 copy (what the bf16 products read) written in the same pass when there is one.
__global__ static void adam_kernel_dev(float *p, const float *g, float *m, float *v, size_t n,
				       const cuda_adam_scalars *scalars, uint16_t *p_bf16)
{
	cuda_adam_scalars s = *scalars;
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
		adam_element(p, g, m, v, i, s);
		if (p_bf16) {
			__nv_bfloat16 b = __float2bfloat16(p[i]);
			memcpy(p_bf16 + i, &b, 2);
		}
	}
}

extern "C" void cuda_adam_scalars_for(cuda_adam_scalars *s, const adam_config *c, long t)
{
	double bc1 = 1.0 - pow(c->beta1, (double)t), bc2 = 1.0 - pow(c->beta2, (double)t);
	double step_size = c->lr / bc1;
	*s = cuda_adam_scalars{(float)c->beta1,        (float)c->beta2, (float)(1.0 - c->beta1),
			       (float)(1.0 - c->beta2), (float)c->weight_decay, (float)(-step_size),
			       (float)sqrt(bc2),        (float)c->eps};
}

extern "C" void cuda_adam_step(lfm_cuda_context *ctx, float *params, const float *grads, float *m, float *v, size_t n,
			       const adam_config *c, long t)
{
	LFM_CUDA_REQUIRE(params && grads && m && v && c && t >= 1);
	if (!n)
		return;
	cuda_adam_scalars s;
	cuda_adam_scalars_for(&s, c, t);
	LFM_LAUNCH(adam_kernel, lfm_grid_blocks(n, 256), 256, 0, ctx->stream, params, grads, m, v, n, s);
}

extern "C" void cuda_adam_step_device(lfm_cuda_context *ctx, float *params, const float *grads, float *m, float *v,
				      size_t n, const cuda_adam_scalars *scalars, uint16_t *params_bf16)
{
	LFM_CUDA_REQUIRE(params && grads && m && v && scalars);
	if (!n)
		return;
	LFM_LAUNCH(adam_kernel_dev, lfm_grid_blocks(n, 256), 256, 0, ctx->stream, params, grads, m, v, n, scalars,
		   params_bf16);
}
