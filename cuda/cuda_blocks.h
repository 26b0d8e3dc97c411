// cuda_blocks.h — a residual attention block on the device, shared by the vision runner (fit_cuda.cu) and
// the text tower (text_cuda.cu): cpu/clip_vision.c's block_forward / block_backward with the kernels of
// cuda_kernels.h, the products at the given precision.
#ifndef LFM_CUDA_BLOCKS_H
#define LFM_CUDA_BLOCKS_H

#include "cuda_context.h"
#ifdef __cplusplus
extern "C" { /* libcommon's headers are C */
#endif
#include "model/clip_params.h"
#include "model/precision.h"
#ifdef __cplusplus
}
#endif

// What one block's forward keeps (device arrays; N = B*T rows).
typedef struct cuda_block_acts {
	float *ln1, *ln1_mean, *ln1_rstd; // [N, W], [N], [N]
	float *qkv;                       // [N, 3W]
	float *att;                       // cuda_block_att_floats: the probabilities [B, NH, T, T], or the fused
					  // attention's log-sum-exp [B, NH, T]
	float *atty, *res2;               // [N, W]
	float *ln2, *ln2_mean, *ln2_rstd; // [N, W], [N], [N]
	float *fch, *fch_gelu;            // [N, 4W]
	float *res3;                      // [N, W]
} cuda_block_acts;

// The backward's working arrays.
typedef struct cuda_block_scratch {
	float *dres;             // [N, W]: in, d(loss)/d(block output); out, d(loss)/d(block input)
	float *dln, *datty;      // [N, W]
	float *dqkv;             // [N, 3W]
	float *dfch, *dfch_gelu; // [N, 4W]
	float *datt;             // cuda_attention_backward_scratch_floats
	float *sums;             // the larger of the matmul and LayerNorm backwards' scratch
} cuda_block_scratch;

#ifdef __cplusplus
extern "C" {
#endif
// inp may be a->res3 (the previous block's output kept in place): it is last read before res3 is written.
void cuda_block_forward(lfm_cuda_context *ctx, lfm_precision prec, const clip_blocks *p, const cuda_block_acts *a,
			const float *inp, int B, int T, int W, int NH, int causal);
void cuda_block_backward(lfm_cuda_context *ctx, lfm_precision prec, const clip_blocks *p, const clip_blocks *g,
			 const cuda_block_acts *a, const cuda_block_scratch *s, const float *inp, int B, int T, int W,
			 int NH);
// floats of cuda_block_scratch.sums for N rows of width W
size_t cuda_block_sums_floats(size_t N, int W);
// whether the blocks use the fused attention at this precision and these shapes (bf16 and tf32; see
// blocks.cu and LFM_CUDA_ATTENTION), and the
// floats of cuda_block_acts.att and cuda_block_scratch.datt it needs
int cuda_block_fused_attention(lfm_precision prec, int T, int W, int NH);
size_t cuda_block_att_floats(lfm_precision prec, int B, int T, int W, int NH);
size_t cuda_block_datt_floats(lfm_precision prec, int B, int T, int W, int NH);
#ifdef __cplusplus
}
#endif
#endif
