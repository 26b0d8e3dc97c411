/* cuda_attention_fused.h — fused multi-head self-attention for the short sequences CLIP uses (T = 50, 77,
 * 197, 257; head dim 64), forward and backward, in attention_fused.cu: one thread block a (batch, head,
 * tile of rows), K and V (or Q and dO) of the head in shared memory, the scores never leaving the SM.
 *
 * Semantics those of cuda_attention_forward / cuda_attention_backward (cuda_kernels.h) and so of the CPU
 * reference attention_forward / attention_backward (cpu/clip_layers.h), float32 throughout: qkv [B,T,3C]
 * (q, k, v each C = NH heads × hd channels), out [B,T,C], scale 1/sqrt(hd), causal: row i sees keys 0..i.
 *
 * What the backward needs is not the probabilities [B,NH,T,T] but their per-row log-sum-exp
 * lse [B,NH,T] (lse_i = log Σ_j exp(s_ij), s = scale·q kᵀ): T times smaller (0.3 MB instead of 15 MB a
 * layer at B = 128, T = 50, NH = 12; 2 MB instead of 540 MB at T = 257, NH = 16), and the backward
 * recomputes p_ij = exp(s_ij − lse_i) from q and k, which costs FLOPs the SM has to spare rather than
 * memory traffic it has not.
 *
 * Pointers are device memory; out, qkv, dout and dqkv 16-byte aligned (they are read and written four
 * floats at a time). Entries check their arguments, launch on ctx->stream and return without waiting. */
#ifndef LFM_CUDA_ATTENTION_FUSED_H
#define LFM_CUDA_ATTENTION_FUSED_H

#include <stddef.h>

#include "cuda_context.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Whether these shapes are handled: hd = C/NH a multiple of 4 up to 128, and the head's rows fit the
 * 227 KB of shared memory a block may have on sm_90 (hd = 64: T up to 360; hd = 128: T up to 188). */
int cuda_attention_fused_supported(int T, int C, int NH);

/* The floats the forward saves for the backward: lse [B,NH,T]. */
size_t cuda_attention_fused_saved_floats(int B, int T, int C, int NH);
/* out [B,T,C] = softmax(scale·q kᵀ (masked when causal)) v, head by head; lse [B,NH,T] saved. */
void cuda_attention_fused_forward(lfm_cuda_context *ctx, float *out, float *lse, const float *qkv, int B, int T, int C,
				  int NH, int causal);

/* The backward's working memory: rowsum(dO∘O) [B,NH,T]. */
size_t cuda_attention_fused_backward_scratch_floats(int B, int T, int C, int NH);
/* dqkv [B,T,3C] += the gradient of out with respect to qkv, given dout, the forward's out and lse, and the
 * same qkv; a NULL dqkv skips it. Deterministic: no atomics, every sum in a fixed order. */
void cuda_attention_fused_backward(lfm_cuda_context *ctx, float *dqkv, const float *dout, const float *out,
				   const float *qkv, const float *lse, int B, int T, int C, int NH, int causal,
				   float *scratch);

#ifdef __cplusplus
}
#endif
#endif
