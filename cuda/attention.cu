// attention.cu — multi-head self-attention (cpu/clip_layers.c's attention_forward/backward): the products
// through cuda_gemm straight on the strided q, k, v slices of qkv, one batched call per head over the
// batch (no permuted copies), the softmax (cpu/row_ops.h, the CPU's own code) and its backward one thread a row in float32.
#include "cuda_common.h"
#include "cuda_kernels.h"
extern "C" {
#include "cpu/row_ops.h"
}

__global__ static void softmax_rows_kernel(float *s, size_t rows, int T, int causal)
{
	size_t r = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (r < rows) // no barriers
		softmax_row(s + r * T, causal ? (int)(r % T) + 1 : T, T);
}

// ds = p * (ds - Σ_j p·ds), row by row
__global__ static void softmax_backward_kernel(float *ds, const float *p, size_t rows, int T)
{
	size_t r = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	if (r >= rows)
		return;
	const float *pr = p + r * T;
	float *dr = ds + r * T;
	float dot = 0;
	for (int j = 0; j < T; j++)
		dot += pr[j] * dr[j];
	for (int j = 0; j < T; j++)
		dr[j] = pr[j] * (dr[j] - dot);
}

extern "C" size_t cuda_attention_forward_scratch_floats(int B, int T, int C, int NH) { return 1; }

extern "C" void cuda_attention_forward(lfm_cuda_context *ctx, lfm_precision prec, float *out, float *att, const float *qkv,
				       int B, int T, int C, int NH, int causal, float *scratch)
{
	LFM_CUDA_REQUIRE(out && att && qkv && B > 0 && T > 0 && NH > 0 && C % NH == 0);
	int hs = C / NH, C3 = 3 * C;
	float scale = 1.0f / sqrtf((float)hs);
	long long sq = (long long)T * C3, sp = (long long)NH * T * T, so = (long long)T * C;
	for (int h = 0; h < NH; h++) {
		const float *q = qkv + (size_t)h * hs, *k = q + C;
		float *p = att + (size_t)h * T * T;
		// p = scale · q k^T, then softmax; o = p v
		cuda_gemm(ctx, prec, 0, 1, T, T, hs, scale, q, C3, sq, k, C3, sq, 0.0f, p, T, sp, B, NULL);
		if (h == NH - 1) {
			size_t rows = (size_t)B * NH * T;
			LFM_LAUNCH(softmax_rows_kernel, lfm_ceil_div(rows, 64), 64, 0, ctx->stream, att, rows, T, causal);
		}
	}
	for (int h = 0; h < NH; h++) {
		const float *v = qkv + (size_t)h * hs + 2 * (size_t)C;
		cuda_gemm(ctx, prec, 0, 0, T, hs, T, 1.0f, att + (size_t)h * T * T, T, sp, v, C3, sq, 0.0f, out + (size_t)h * hs, C,
			  so, B, NULL);
	}
}

extern "C" size_t cuda_attention_backward_scratch_floats(int B, int T, int C, int NH)
{
	return (size_t)B * NH * T * T;
}

extern "C" void cuda_attention_backward(lfm_cuda_context *ctx, lfm_precision prec, float *dqkv, const float *dout,
					const float *qkv, const float *att, int B, int T, int C, int NH, int causal,
					float *scratch)
{
	(void)causal; // masked probabilities are 0, so their gradients vanish by themselves
	LFM_CUDA_REQUIRE(dqkv && dout && qkv && att && scratch && B > 0 && T > 0 && NH > 0 && C % NH == 0);
	int hs = C / NH, C3 = 3 * C;
	float scale = 1.0f / sqrtf((float)hs);
	long long sq = (long long)T * C3, sp = (long long)NH * T * T, so = (long long)T * C;
	for (int h = 0; h < NH; h++) { // ds = dO v^T
		const float *v = qkv + (size_t)h * hs + 2 * (size_t)C;
		cuda_gemm(ctx, prec, 0, 1, T, T, hs, 1.0f, dout + (size_t)h * hs, C, so, v, C3, sq, 0.0f,
			  scratch + (size_t)h * T * T, T, sp, B, NULL);
	}
	size_t rows = (size_t)B * NH * T;
	LFM_LAUNCH(softmax_backward_kernel, lfm_ceil_div(rows, 64), 64, 0, ctx->stream, scratch, att, rows, T);
	for (int h = 0; h < NH; h++) {
		size_t off = (size_t)h * hs;
		const float *q = qkv + off, *k = q + C;
		float *dq = dqkv + off, *dk = dq + C, *dv = dq + 2 * (size_t)C;
		const float *ds = scratch + (size_t)h * T * T, *p = att + (size_t)h * T * T;
		cuda_gemm(ctx, prec, 0, 0, T, hs, T, scale, ds, T, sp, k, C3, sq, 1.0f, dq, C3, sq, B, NULL); // dq += s·ds k
		cuda_gemm(ctx, prec, 1, 0, T, hs, T, scale, ds, T, sp, q, C3, sq, 1.0f, dk, C3, sq, B, NULL); // dk += s·ds^T q
		cuda_gemm(ctx, prec, 1, 0, T, hs, T, 1.0f, p, T, sp, dout + off, C, so, 1.0f, dv, C3, sq, B, NULL); // dv += p^T dO
	}
}
