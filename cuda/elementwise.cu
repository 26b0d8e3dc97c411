// elementwise.cu — residual adds, accumulation, fills and the roundings to bf16 / TF32 (cuda_kernels.h).
// One thread an element, a grid-stride loop.
#include "cuda_common.h"
#include "cuda_kernels.h"

#define ELEMENTWISE_THREADS 256

#define GRID_STRIDE(i, n) for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

__global__ static void residual_kernel(float *out, const float *a, const float *b, size_t n)
{
	GRID_STRIDE(i, n) out[i] = a[i] + b[i];
}
__global__ static void accumulate_kernel(float *acc, const float *x, size_t n)
{
	GRID_STRIDE(i, n) acc[i] += x[i];
}
__global__ static void fill_kernel(float *p, float v, size_t n)
{
	GRID_STRIDE(i, n) p[i] = v;
}
__global__ static void round_bf16_kernel(uint16_t *out, const float *in, size_t n)
{
	GRID_STRIDE(i, n)
	{
		__nv_bfloat16 b = __float2bfloat16(in[i]);
		uint16_t u;
		memcpy(&u, &b, 2);
		out[i] = u;
	}
}
// TF32: the mantissa rounded to 10 bits, nearest even; NaN and infinities pass unchanged.
__device__ static inline float tf32_of(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	if ((u & 0x7f800000u) != 0x7f800000u)
		u = (u + 0xfffu + ((u >> 13) & 1u)) & ~0x1fffu;
	memcpy(&f, &u, 4);
	return f;
}
__global__ static void round_tf32_kernel(float *out, const float *in, size_t n)
{
	GRID_STRIDE(i, n) out[i] = tf32_of(in[i]);
}

extern "C" void cuda_residual_forward(lfm_cuda_context *ctx, float *out, const float *a, const float *b, size_t n)
{
	LFM_CUDA_REQUIRE(out && a && b);
	if (n)
		LFM_LAUNCH(residual_kernel, lfm_grid_blocks(n, ELEMENTWISE_THREADS), ELEMENTWISE_THREADS, 0, ctx->stream, out, a, b, n);
}
extern "C" void cuda_accumulate(lfm_cuda_context *ctx, float *acc, const float *x, size_t n)
{
	LFM_CUDA_REQUIRE(acc && x);
	if (n)
		LFM_LAUNCH(accumulate_kernel, lfm_grid_blocks(n, ELEMENTWISE_THREADS), ELEMENTWISE_THREADS, 0, ctx->stream, acc, x, n);
}
extern "C" void cuda_fill(lfm_cuda_context *ctx, float *p, float value, size_t n)
{
	LFM_CUDA_REQUIRE(p);
	if (n)
		LFM_LAUNCH(fill_kernel, lfm_grid_blocks(n, ELEMENTWISE_THREADS), ELEMENTWISE_THREADS, 0, ctx->stream, p, value, n);
}
extern "C" void cuda_round_bf16(lfm_cuda_context *ctx, uint16_t *out, const float *in, size_t n)
{
	LFM_CUDA_REQUIRE(out && in);
	if (n)
		LFM_LAUNCH(round_bf16_kernel, lfm_grid_blocks(n, ELEMENTWISE_THREADS), ELEMENTWISE_THREADS, 0, ctx->stream, out, in, n);
}
extern "C" void cuda_round_tf32(lfm_cuda_context *ctx, float *out, const float *in, size_t n)
{
	LFM_CUDA_REQUIRE(out && in);
	if (n)
		LFM_LAUNCH(round_tf32_kernel, lfm_grid_blocks(n, ELEMENTWISE_THREADS), ELEMENTWISE_THREADS, 0, ctx->stream, out, in, n);
}
