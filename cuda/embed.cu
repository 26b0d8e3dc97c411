// embed.cu — the towers' inputs (cpu/clip_layers.c): patches unfolded from pixels, the class and
// positional embeddings, token embeddings, and row gathers (the class token, each prompt's EOT). One
// thread an element; the embedding gradients sum over the batch in batch order, as the CPU adds them.
#include "cuda_common.h"
#include "cuda_kernels.h"

// patches [B, G*G, 3·P·P] (within a patch c, y, x) from pixels [B, 3, R, R]
__global__ static void patch_unfold_kernel(float *patches, const float *pixels, int B, int R, int P)
{
	int G = R / P;
	size_t pd = 3 * (size_t)P * P, total = (size_t)B * G * G * pd;
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
		size_t patch = i / pd, e = i % pd;
		int c = (int)(e / ((size_t)P * P)), y = (int)(e / P % P), x = (int)(e % P);
		size_t b = patch / ((size_t)G * G);
		int gy = (int)(patch / G % G), gx = (int)(patch % G);
		patches[i] = pixels[((b * 3 + c) * R + (size_t)gy * P + y) * R + (size_t)gx * P + x];
	}
}

__global__ static void vision_embed_forward_kernel(float *x, const float *patch_out, const float *class_emb,
						   const float *pos_emb, int B, int T, int C)
{
	size_t total = (size_t)B * T * C;
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
		size_t b = i / ((size_t)T * C), tc = i % ((size_t)T * C);
		x[i] = tc < (size_t)C ? class_emb[tc] + pos_emb[tc] : patch_out[b * (T - 1) * C + tc - C] + pos_emb[tc];
	}
}

// dpos[t,c] += Σ_b dx[b,t,c] and dclass[c] += Σ_b dx[b,0,c], b in order; dpatch_out += dx's patch rows
__global__ static void vision_embed_backward_kernel(float *dpatch_out, float *dclass_emb, float *dpos_emb,
						    const float *dx, int B, int T, int C)
{
	size_t TC = (size_t)T * C;
	for (size_t tc = (size_t)blockIdx.x * blockDim.x + threadIdx.x; tc < TC; tc += (size_t)gridDim.x * blockDim.x) {
		if (dpos_emb) {
			float acc = dpos_emb[tc];
			for (int b = 0; b < B; b++)
				acc += dx[(size_t)b * TC + tc];
			dpos_emb[tc] = acc;
		}
		if (dclass_emb && tc < (size_t)C) {
			float acc = dclass_emb[tc];
			for (int b = 0; b < B; b++)
				acc += dx[(size_t)b * TC + tc];
			dclass_emb[tc] = acc;
		}
		if (dpatch_out && tc >= (size_t)C)
			for (int b = 0; b < B; b++)
				dpatch_out[(size_t)b * (T - 1) * C + tc - C] += dx[(size_t)b * TC + tc];
	}
}

__global__ static void token_embed_kernel(float *x, const int32_t *tokens, const float *token_emb, const float *pos_emb,
					  int B, int T, int C)
{
	size_t total = (size_t)B * T * C;
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
		size_t row = i / C, c = i % C;
		x[i] = token_emb[(size_t)tokens[row] * C + c] + pos_emb[(row % T) * C + c];
	}
}

__global__ static void gather_rows_kernel(float *out, const float *in, const int32_t *rows, int n, int C)
{
	size_t total = (size_t)n * C;
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
		out[i] = in[(size_t)rows[i / C] * C + i % C];
}

__global__ static void scatter_add_rows_kernel(float *din, const float *dout, const int32_t *rows, int n, int C)
{
	size_t total = (size_t)n * C;
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
		din[(size_t)rows[i / C] * C + i % C] += dout[i];
}

extern "C" void cuda_patch_unfold(lfm_cuda_context *ctx, float *patches, const float *pixels, int B, int R, int P)
{
	LFM_CUDA_REQUIRE(patches && pixels && B > 0 && P > 0 && R % P == 0);
	size_t total = (size_t)B * R * R * 3;
	LFM_LAUNCH(patch_unfold_kernel, lfm_grid_blocks(total, 256), 256, 0, ctx->stream, patches, pixels, B, R, P);
}

extern "C" void cuda_vision_embed_forward(lfm_cuda_context *ctx, float *x, const float *patch_out, const float *class_emb,
					  const float *pos_emb, int B, int T, int C)
{
	LFM_CUDA_REQUIRE(x && patch_out && class_emb && pos_emb && B > 0 && T > 1 && C > 0);
	LFM_LAUNCH(vision_embed_forward_kernel, lfm_grid_blocks((size_t)B * T * C, 256), 256, 0, ctx->stream, x, patch_out, class_emb,
		   pos_emb, B, T, C);
}

extern "C" size_t cuda_vision_embed_backward_scratch_floats(int B, int T, int C) { return 1; }

extern "C" void cuda_vision_embed_backward(lfm_cuda_context *ctx, float *dpatch_out, float *dclass_emb, float *dpos_emb,
					   const float *dx, int B, int T, int C, float *scratch)
{
	(void)scratch;
	LFM_CUDA_REQUIRE(dx && B > 0 && T > 1 && C > 0);
	LFM_LAUNCH(vision_embed_backward_kernel, lfm_grid_blocks((size_t)T * C, 256), 256, 0, ctx->stream, dpatch_out, dclass_emb,
		   dpos_emb, dx, B, T, C);
}

extern "C" void cuda_token_embed_forward(lfm_cuda_context *ctx, float *x, const int32_t *tokens, const float *token_emb,
					 const float *pos_emb, int B, int T, int C)
{
	LFM_CUDA_REQUIRE(x && tokens && token_emb && pos_emb && B > 0 && T > 0 && C > 0);
	LFM_LAUNCH(token_embed_kernel, lfm_grid_blocks((size_t)B * T * C, 256), 256, 0, ctx->stream, x, tokens, token_emb, pos_emb, B,
		   T, C);
}

extern "C" void cuda_gather_rows(lfm_cuda_context *ctx, float *out, const float *in, const int32_t *rows, int n, int C)
{
	LFM_CUDA_REQUIRE(out && in && rows && n > 0 && C > 0);
	LFM_LAUNCH(gather_rows_kernel, lfm_grid_blocks((size_t)n * C, 256), 256, 0, ctx->stream, out, in, rows, n, C);
}

extern "C" void cuda_scatter_add_rows(lfm_cuda_context *ctx, float *din, const float *dout, const int32_t *rows, int n,
				      int C)
{
	LFM_CUDA_REQUIRE(din && dout && rows && n > 0 && C > 0);
	LFM_LAUNCH(scatter_add_rows_kernel, lfm_grid_blocks((size_t)n * C, 256), 256, 0, ctx->stream, din, dout, rows, n, C);
}
