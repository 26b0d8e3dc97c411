// head.cu — the cosine head (train/cosine_head.h) on the device: a few hundred FLOPs an image, so written
// for exactness, not speed: every output element is one thread's dot product accumulated in double in the
// CPU's order, then rounded once, which gives the CPU's bits; the L2 norms one thread a row with the CPU's own
// code (cpu/row_ops.h).
#include "cuda_common.h"
#include "cuda_kernels.h"
extern "C" {
#include "cpu/row_ops.h"
}

// out[r, c] (+)= Σ_k A[r·a_rs + k·a_ks] · B[k·b_ks + c·b_cs], k in order, in double
__global__ static void dot_kernel(float *out, const float *A, size_t a_rs, size_t a_ks, const float *B, size_t b_ks,
				  size_t b_cs, int R, int Cc, int K, int accumulate)
{
	size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (idx >= (size_t)R * Cc)
		return;
	size_t r = idx / Cc, c = idx % Cc;
	double s = 0;
	for (int k = 0; k < K; k++)
		s += (double)A[r * a_rs + k * a_ks] * B[k * b_ks + c * b_cs];
	out[idx] = accumulate ? out[idx] + (float)s : (float)s;
}

static void dot(lfm_cuda_context *ctx, float *out, const float *A, size_t a_rs, size_t a_ks, const float *B, size_t b_ks,
		size_t b_cs, int R, int Cc, int K, int accumulate)
{
	LFM_CUDA_REQUIRE(out && A && B && R > 0 && Cc > 0 && K > 0);
	LFM_LAUNCH(dot_kernel, lfm_ceil_div((size_t)R * Cc, 128), 128, 0, ctx->stream, out, A, a_rs, a_ks, B, b_ks, b_cs, R,
		   Cc, K, accumulate);
}

__global__ static void l2norm_forward_kernel(float *out, float *norm, const float *inp, size_t N, int D)
{
	size_t n = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (n >= N)
		return;
	double nrm = l2norm_row(out + n * D, inp + n * D, D);
	if (norm)
		norm[n] = (float)nrm;
}

__global__ static void l2norm_backward_kernel(float *dinp, const float *dout, const float *out, const float *norm, size_t N,
					      int D)
{
	size_t n = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (n < N)
		l2norm_row_backward(dinp + n * D, dout + n * D, out + n * D, norm[n], D);
}

extern "C" void cuda_l2norm_forward(lfm_cuda_context *ctx, float *out, float *norm, const float *inp, size_t N, int D)
{
	LFM_CUDA_REQUIRE(out && inp && D > 0);
	if (N)
		LFM_LAUNCH(l2norm_forward_kernel, lfm_ceil_div(N, 64), 64, 0, ctx->stream, out, norm, inp, N, D);
}

extern "C" void cuda_l2norm_backward(lfm_cuda_context *ctx, float *dinp, const float *dout, const float *out,
				     const float *norm, size_t N, int D)
{
	LFM_CUDA_REQUIRE(dinp && dout && out && norm && D > 0);
	if (N)
		LFM_LAUNCH(l2norm_backward_kernel, lfm_ceil_div(N, 64), 64, 0, ctx->stream, dinp, dout, out, norm, N, D);
}

extern "C" void cuda_cosine_logits_forward(lfm_cuda_context *ctx, float *logits, const float *fn, const float *text, int B,
					   int D, int C)
{
	dot(ctx, logits, fn, (size_t)D, 1, text, 1, (size_t)D, B, C, D, 0);
}

extern "C" void cuda_cosine_logits_backward(lfm_cuda_context *ctx, float *dfn, const float *dlogits, const float *text,
					    int B, int D, int C)
{
	dot(ctx, dfn, dlogits, (size_t)C, 1, text, (size_t)D, 1, B, D, C, 1);
}

extern "C" void cuda_cosine_fc_forward(lfm_cuda_context *ctx, float *h, const float *f, const float *W, int B, int D)
{
	dot(ctx, h, f, (size_t)D, 1, W, 1, (size_t)D, B, D, D, 0);
}

extern "C" void cuda_cosine_fc_backward(lfm_cuda_context *ctx, float *df, float *dW, const float *dh, const float *f,
					const float *W, int B, int D)
{
	if (dW) // dW[o, i] += Σ_b dh[b, o] f[b, i]
		dot(ctx, dW, dh, 1, (size_t)D, f, (size_t)D, 1, D, D, B, 1);
	if (df) // df[b, i] += Σ_o dh[b, o] W[o, i]
		dot(ctx, df, dh, (size_t)D, 1, W, (size_t)D, 1, B, D, D, 1);
}
