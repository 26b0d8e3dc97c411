// layernorm.cu — LayerNorm forward and backward (cpu/clip_layers.c's arithmetic): one warp a row, the
// row's sums in double as the CPU's two passes, reduced across the warp by xor shuffles (a fixed tree:
// the same bits on every run). The weight and bias gradients are column sums over rows: per chunk of
// rows into scratch, then the chunks in order (as reduce.cu), never atomics.
#include "cuda_common.h"
#include "cuda_kernels.h"

#define ROWS_PER_BLOCK 8 // warps per block, one row each
#define GRAD_ROW_CHUNK 64
#define CLIP_LN_EPS_DEVICE ((double)1e-5f) // CLIP_LN_EPS of cpu/clip_layers.h (a float), added in double as the CPU adds it

__device__ static inline double warp_sum(double v)
{
	for (int o = 16; o > 0; o /= 2)
		v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}

// One row by one warp: x's statistics, the normalised row into o. Every lane of the warp must call it
// (the shuffles), live or not.
__device__ static inline void layernorm_row(float *out, float *mean, float *rstd, const float *x, const float *weight,
					    const float *bias, size_t n, int live, int C)
{
	int lane = threadIdx.x % 32;
	double s = 0;
	if (live)
		for (int i = lane; i < C; i += 32)
			s += x[i];
	double m = warp_sum(s) / C;
	double v = 0;
	if (live)
		for (int i = lane; i < C; i += 32) {
			double d = x[i] - m;
			v += d * d;
		}
	v = warp_sum(v) / C;
	if (!live)
		return;
	float fm = (float)m;
	float r = (float)(1.0 / sqrt(v + CLIP_LN_EPS_DEVICE));
	float *o = out + n * C;
	for (int i = lane; i < C; i += 32)
		o[i] = (x[i] - fm) * r * weight[i] + bias[i];
	if (lane == 0) {
		if (mean)
			mean[n] = fm;
		if (rstd)
			rstd[n] = r;
	}
}

__global__ static void layernorm_forward_kernel(float *out, float *mean, float *rstd, const float *inp,
						const float *weight, const float *bias, size_t N, int C)
{
	size_t n = (size_t)blockIdx.x * ROWS_PER_BLOCK + threadIdx.x / 32;
	// a whole warp shuffles, so no lane leaves early: rows past the end compute nothing and write nothing
	int live = n < N;
	layernorm_row(out, mean, rstd, inp + (live ? n : 0) * C, weight, bias, n, live, C);
}

// res = a + b, then LayerNorm(res): the residual add of a block and the next LayerNorm in one pass over
// the row (the sum written once and read back by the lane that wrote it, so no barrier is needed).
__global__ static void residual_layernorm_forward_kernel(float *res, float *out, float *mean, float *rstd, const float *a,
							 const float *b, const float *weight, const float *bias, size_t N,
							 int C)
{
	int lane = threadIdx.x % 32;
	size_t n = (size_t)blockIdx.x * ROWS_PER_BLOCK + threadIdx.x / 32;
	int live = n < N;
	size_t row = (live ? n : 0) * C;
	if (live)
		for (int i = lane; i < C; i += 32)
			res[row + i] = a[row + i] + b[row + i];
	layernorm_row(out, mean, rstd, res + row, weight, bias, n, live, C);
}

__global__ static void layernorm_dinp_kernel(float *dinp, const float *dout, const float *inp, const float *weight,
					     const float *mean, const float *rstd, size_t N, int C)
{
	int lane = threadIdx.x % 32;
	size_t n = (size_t)blockIdx.x * ROWS_PER_BLOCK + threadIdx.x / 32;
	int live = n < N;
	size_t row = live ? n : 0;
	const float *x = inp + row * C, *dy = dout + row * C;
	float m = mean[row], r = rstd[row];
	double g_sum = 0, gx_sum = 0;
	if (live)
		for (int i = lane; i < C; i += 32) {
			float xhat = (x[i] - m) * r;
			float g = weight[i] * dy[i];
			g_sum += g;
			gx_sum += g * xhat;
		}
	float fg = (float)(warp_sum(g_sum) / C), fgx = (float)(warp_sum(gx_sum) / C);
	if (!live)
		return;
	for (int i = lane; i < C; i += 32) {
		float xhat = (x[i] - m) * r;
		dinp[row * C + i] += (weight[i] * dy[i] - fg - xhat * fgx) * r;
	}
}

// partial[chunk][c] = Σ xhat·dy and partial[chunks + chunk][c] = Σ dy over the chunk's rows, in row order
__global__ static void layernorm_wgrad_partial(float *partial, const float *dout, const float *inp, const float *mean,
					       const float *rstd, size_t N, int C, int chunks)
{
	int c = blockIdx.x * blockDim.x + threadIdx.x;
	if (c >= C)
		return; // no barriers here
	size_t first = (size_t)blockIdx.y * GRAD_ROW_CHUNK, last = first + GRAD_ROW_CHUNK < N ? first + GRAD_ROW_CHUNK : N;
	float sw = 0, sb = 0;
	for (size_t n = first; n < last; n++) {
		float dy = dout[n * C + c];
		float xhat = (inp[n * C + c] - mean[n]) * rstd[n];
		sw += xhat * dy;
		sb += dy;
	}
	partial[(size_t)blockIdx.y * C + c] = sw;
	partial[((size_t)chunks + blockIdx.y) * C + c] = sb;
}

__global__ static void layernorm_wgrad_add(float *dweight, float *dbias, const float *partial, int chunks, int C)
{
	int c = blockIdx.x * blockDim.x + threadIdx.x;
	if (c >= C)
		return;
	float sw = 0, sb = 0;
	for (int k = 0; k < chunks; k++) {
		sw += partial[(size_t)k * C + c];
		sb += partial[((size_t)chunks + k) * C + c];
	}
	if (dweight)
		dweight[c] += sw;
	if (dbias)
		dbias[c] += sb;
}

extern "C" void cuda_layernorm_forward(lfm_cuda_context *ctx, float *out, float *mean, float *rstd, const float *inp,
				       const float *weight, const float *bias, size_t N, int C)
{
	LFM_CUDA_REQUIRE(out && inp && weight && bias && C > 0);
	if (!N)
		return;
	LFM_LAUNCH(layernorm_forward_kernel, lfm_ceil_div(N, ROWS_PER_BLOCK), 32 * ROWS_PER_BLOCK, 0, ctx->stream, out,
		   mean, rstd, inp, weight, bias, N, C);
}

extern "C" void cuda_residual_layernorm_forward(lfm_cuda_context *ctx, float *res, float *out, float *mean, float *rstd,
						const float *a, const float *b, const float *weight, const float *bias,
						size_t N, int C)
{
	LFM_CUDA_REQUIRE(res && out && a && b && weight && bias && C > 0 && res != out);
	if (N)
		LFM_LAUNCH(residual_layernorm_forward_kernel, lfm_ceil_div(N, ROWS_PER_BLOCK), ROWS_PER_BLOCK * 32, 0,
			   ctx->stream, res, out, mean, rstd, a, b, weight, bias, N, C);
}

extern "C" size_t cuda_layernorm_backward_scratch_floats(size_t N, int C)
{
	return 2 * ((N + GRAD_ROW_CHUNK - 1) / GRAD_ROW_CHUNK) * (size_t)C;
}

extern "C" void cuda_layernorm_backward(lfm_cuda_context *ctx, float *dinp, float *dweight, float *dbias,
					const float *dout, const float *inp, const float *weight, const float *mean,
					const float *rstd, size_t N, int C, float *scratch)
{
	LFM_CUDA_REQUIRE(dout && inp && weight && mean && rstd && C > 0);
	if (!N)
		return;
	if (dinp)
		LFM_LAUNCH(layernorm_dinp_kernel, lfm_ceil_div(N, ROWS_PER_BLOCK), 32 * ROWS_PER_BLOCK, 0, ctx->stream, dinp,
			   dout, inp, weight, mean, rstd, N, C);
	if (dweight || dbias) {
		LFM_CUDA_REQUIRE(scratch);
		size_t chunks = (N + GRAD_ROW_CHUNK - 1) / GRAD_ROW_CHUNK;
		LFM_CUDA_REQUIRE(chunks <= 65535);
		LFM_LAUNCH(layernorm_wgrad_partial, dim3(lfm_ceil_div((size_t)C, 256), (unsigned)chunks), 256, 0, ctx->stream,
			   scratch, dout, inp, mean, rstd, N, C, (int)chunks);
		LFM_LAUNCH(layernorm_wgrad_add, lfm_ceil_div((size_t)C, 256), 256, 0, ctx->stream, dweight, dbias, scratch,
			   (int)chunks, C);
	}
}
