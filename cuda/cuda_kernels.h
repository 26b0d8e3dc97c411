/* cuda_kernels.h — the CUDA backend's kernel entries, one family per .cu file. Each entry checks its
 * arguments, launches on the context's stream and returns without waiting. Pointers are device memory;
 * float32 unless said; arrays row-major. The semantics are exactly the CPU reference's named beside
 * each (cpu/clip_layers.h, train/cosine_head.h, train/losses.h, train/adam.h), which the tests in
 * tests/cuda/ compare them with:
 *   - every backward ACCUMULATES (+=) into its gradient outputs; a NULL gradient pointer skips it;
 *   - no reduction's order depends on scheduling (no float atomics): the same inputs give the same bits
 *     on every run;
 *   - an entry that needs working memory takes `scratch` and has a *_scratch_floats() that says how much.
 */
#ifndef LFM_CUDA_KERNELS_H
#define LFM_CUDA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "cuda_context.h"
#ifdef __cplusplus
extern "C" { /* libcommon's headers are C */
#endif
#include "model/precision.h"
#include "train/adam.h"
#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- matmul.cu: the one cuBLASLt wrapper -------------------------------------------------------- */

/* Row-major D[M,N] = alpha · op(A)[M,K] · op(B)[K,N] + beta · D, for `batch` products whose A, B, D start
 * strideA/B/D floats apart; op(X) = X or X^T (transA/transB); lda/ldb/ldd: row strides of A, B, D as
 * stored. bias [N] (or NULL) is added to every row of D (cuBLASLt's BIAS epilogue; beta must be 0 then).
 * prec: fp32 (no TF32), tf32 (inputs rounded to TF32) or bf16 (inputs cast to bfloat16 in the context's
 * cast buffer); accumulation and D are float32 always. Deterministic for a fixed shape and precision. */
void cuda_gemm(lfm_cuda_context *ctx, lfm_precision prec, int transA, int transB, int M, int N, int K,
	       float alpha, const float *A, int lda, long long strideA, const float *B, int ldb, long long strideB,
	       float beta, float *D, int ldd, long long strideD, int batch, const float *bias);
/* bf16 products read any operand lying inside [params, params + n) from shadow [n] instead of casting it,
 * so that the weights are cast once per update (by Adam, cuda_adam_step_device) rather than at every
 * product; the caller keeps shadow equal to cuda_round_bf16(params) (the same bits as the cast it
 * replaces). shadow NULL: none. One block per context. */
void cuda_gemm_set_bf16_shadow(lfm_cuda_context *ctx, const float *params, const uint16_t *shadow, size_t n);
/* matmul_forward / matmul_backward (nn.Linear: out[N,OC] = inp[N,C] · weight[OC,C]^T + bias[OC]); the
 * bias gradient is a fixed-order column sum (reduce.cu) in float32 whatever prec is. */
void cuda_matmul_forward(lfm_cuda_context *ctx, lfm_precision prec, float *out, const float *inp, const float *weight,
			 const float *bias, size_t N, int C, int OC);
size_t cuda_matmul_backward_scratch_floats(size_t N, int OC);
void cuda_matmul_backward(lfm_cuda_context *ctx, lfm_precision prec, float *dinp, float *dweight, float *dbias,
			  const float *dout, const float *inp, const float *weight, size_t N, int C, int OC,
			  float *scratch);
/* projection_forward / projection_backward (out[N,OC] = inp[N,C] · proj[C,OC]) */
void cuda_projection_forward(lfm_cuda_context *ctx, lfm_precision prec, float *out, const float *inp,
			     const float *proj, size_t N, int C, int OC);
void cuda_projection_backward(lfm_cuda_context *ctx, lfm_precision prec, float *dinp, float *dproj, const float *dout,
			      const float *inp, const float *proj, size_t N, int C, int OC);

/* ---- layernorm.cu ------------------------------------------------------------------------------- */

/* layernorm_forward: mean, rstd [N] may be NULL; statistics in float32 as the CPU's */
void cuda_layernorm_forward(lfm_cuda_context *ctx, float *out, float *mean, float *rstd, const float *inp,
			    const float *weight, const float *bias, size_t N, int C);
/* residual_forward then layernorm_forward in one pass: res = a + b (res may be a or b), out = LN(res) */
void cuda_residual_layernorm_forward(lfm_cuda_context *ctx, float *res, float *out, float *mean, float *rstd,
				     const float *a, const float *b, const float *weight, const float *bias, size_t N,
				     int C);
size_t cuda_layernorm_backward_scratch_floats(size_t N, int C);
void cuda_layernorm_backward(lfm_cuda_context *ctx, float *dinp, float *dweight, float *dbias, const float *dout,
			     const float *inp, const float *weight, const float *mean, const float *rstd, size_t N,
			     int C, float *scratch);

/* ---- activation.cu ------------------------------------------------------------------------------ */

/* quick_gelu_forward / quick_gelu_backward: x·sigmoid(1.702x) over n values */
void cuda_quick_gelu_forward(lfm_cuda_context *ctx, float *out, const float *inp, size_t n);
void cuda_quick_gelu_backward(lfm_cuda_context *ctx, float *dinp, const float *inp, const float *dout, size_t n);

/* ---- elementwise.cu ----------------------------------------------------------------------------- */

/* residual_forward: out = a + b */
void cuda_residual_forward(lfm_cuda_context *ctx, float *out, const float *a, const float *b, size_t n);
/* acc += x (residual_backward is one of these per branch) */
void cuda_accumulate(lfm_cuda_context *ctx, float *acc, const float *x, size_t n);
void cuda_fill(lfm_cuda_context *ctx, float *p, float value, size_t n);
/* out (bfloat16 bits) = in rounded to nearest even; tf32: in rounded to TF32 (10-bit mantissa, nearest
 * even, as the tensor cores take it), kept float */
void cuda_round_bf16(lfm_cuda_context *ctx, uint16_t *out, const float *in, size_t n);
void cuda_round_tf32(lfm_cuda_context *ctx, float *out, const float *in, size_t n);

/* ---- reduce.cu ---------------------------------------------------------------------------------- */

/* out[c] += Σ_n in[n, c] over N rows of C, in a fixed order (bias and embedding gradients) */
size_t cuda_sum_rows_scratch_floats(size_t N, int C);
void cuda_sum_rows(lfm_cuda_context *ctx, float *out, const float *in, size_t N, int C, float *scratch);

/* ---- embed.cu ----------------------------------------------------------------------------------- */

/* patch_unfold: pixels [B,3,R,R] -> patches [B, G*G, 3*P*P] */
void cuda_patch_unfold(lfm_cuda_context *ctx, float *patches, const float *pixels, int B, int R, int P);
/* vision_embed_forward / vision_embed_backward (x [B,T,C]) */
void cuda_vision_embed_forward(lfm_cuda_context *ctx, float *x, const float *patch_out, const float *class_emb,
			       const float *pos_emb, int B, int T, int C);
size_t cuda_vision_embed_backward_scratch_floats(int B, int T, int C);
void cuda_vision_embed_backward(lfm_cuda_context *ctx, float *dpatch_out, float *dclass_emb, float *dpos_emb,
				const float *dx, int B, int T, int C, float *scratch);
/* the text tower's input: x[b,t] = token_emb[tokens[b*T + t]] + pos_emb[t], x [B,T,C]; ids already
 * checked to be < V by the caller */
void cuda_token_embed_forward(lfm_cuda_context *ctx, float *x, const int32_t *tokens, const float *token_emb,
			      const float *pos_emb, int B, int T, int C);
/* out[i] = in[rows[i]] for n rows of C (the class token, the EOT token); rows: device int32 [n] */
void cuda_gather_rows(lfm_cuda_context *ctx, float *out, const float *in, const int32_t *rows, int n, int C);
/* din[rows[i]] += dout[i] (rows distinct) */
void cuda_scatter_add_rows(lfm_cuda_context *ctx, float *din, const float *dout, const int32_t *rows, int n, int C);

/* ---- attention.cu ------------------------------------------------------------------------------- */

/* attention_forward / attention_backward: qkv [B,T,3C], out [B,T,C], att [B,NH,T,T] the softmax
 * probabilities (0 above the diagonal when causal), saved; the products through cuda_gemm at prec, the
 * softmax in float32 */
size_t cuda_attention_forward_scratch_floats(int B, int T, int C, int NH);
void cuda_attention_forward(lfm_cuda_context *ctx, lfm_precision prec, float *out, float *att, const float *qkv,
			    int B, int T, int C, int NH, int causal, float *scratch);
size_t cuda_attention_backward_scratch_floats(int B, int T, int C, int NH);
void cuda_attention_backward(lfm_cuda_context *ctx, lfm_precision prec, float *dqkv, const float *dout,
			     const float *qkv, const float *att, int B, int T, int C, int NH, int causal,
			     float *scratch);

/* ---- head.cu: the cosine head (always float32: it is a few hundred FLOPs an image) --------------- */

/* cosine_l2norm_forward / backward: norm [N] may be NULL; a zero row stays zero with norm 0 */
void cuda_l2norm_forward(lfm_cuda_context *ctx, float *out, float *norm, const float *inp, size_t N, int D);
void cuda_l2norm_backward(lfm_cuda_context *ctx, float *dinp, const float *dout, const float *out, const float *norm,
			  size_t N, int D);
/* cosine_logits_forward / backward, cosine_fc_forward / backward */
void cuda_cosine_logits_forward(lfm_cuda_context *ctx, float *logits, const float *fn, const float *text, int B,
				int D, int C);
void cuda_cosine_logits_backward(lfm_cuda_context *ctx, float *dfn, const float *dlogits, const float *text, int B,
				 int D, int C);
void cuda_cosine_fc_forward(lfm_cuda_context *ctx, float *h, const float *f, const float *W, int B, int D);
void cuda_cosine_fc_backward(lfm_cuda_context *ctx, float *df, float *dW, const float *dh, const float *f,
			     const float *W, int B, int D);

/* ---- loss.cu ------------------------------------------------------------------------------------ */

/* A prepared loss on the device: train/losses.h's loss_fn with its per-class constants uploaded. */
typedef struct cuda_loss {
	int kind; /* loss_kind */
	int classes;
	const float *class_shift; /* [C] balce, device */
	const float *margins;     /* [C] ldam, device */
	const float *offsets;     /* [C, C] mms, device */
	double gamma, scale, temperature;
} cuda_loss;
/* loss_forward_backward: *loss (device, one double) = the mean over B rows; dlogits [B, C] (NULL: none)
 * OVERWRITTEN; rows in double as the CPU's; NaN loss and NaN dlogits for non-finite input */
size_t cuda_loss_scratch_floats(int B, int C);
void cuda_loss_forward_backward(lfm_cuda_context *ctx, const cuda_loss *L, double *loss, const float *logits,
				const float *targets, int B, float *dlogits, float *scratch);

/* The batch mean of per-row losses (row_bad: a row with a non-finite logit or target; then the loss and
 * every dlogit are NaN), summed in row order: the last launch of cuda_loss_forward_backward, shared with
 * head_loss.cu. */
void cuda_loss_mean(lfm_cuda_context *ctx, double *loss, const double *row_loss, const int *row_bad, int B, int C,
		    float *dlogits);
/* ... divided by divisor (>= B) instead of B */
void cuda_loss_mean_part(lfm_cuda_context *ctx, double *loss, const double *row_loss, const int *row_bad, int B,
			 int divisor, int C, float *dlogits);

/* ---- head_loss.cu: the cosine head, the loss and its gradient fused ------------------------------- */

/* The unfused sequence cuda_l2norm_forward(fn, norm, feat) → cuda_cosine_logits_forward(logits) →
 * cuda_loss_forward_backward(loss, dlogits) → d(fn) = cosine_logits_backward → dfeat = 0 +
 * cuda_l2norm_backward, in one kernel with the same bits. dfeat [B, D] is OVERWRITTEN (NULL: no backward,
 * the loss and dlogits still made). */
size_t cuda_head_loss_scratch_floats(int B, int C, int D);
void cuda_head_loss_forward_backward(lfm_cuda_context *ctx, const cuda_loss *L, double *loss, float *logits,
				     float *dlogits, float *fn, float *norm, float *dfeat, const float *feat,
				     const float *text, const float *targets, int B, int D, float *scratch);
/* The same with the loss and its gradient divided by `divisor` (>= B) instead of B: one rank's part of a
 * data-parallel batch of divisor rows (train/fit_step.h); divisor = B gives the function above's bits. */
void cuda_head_loss_forward_backward_part(lfm_cuda_context *ctx, const cuda_loss *L, double *loss, float *logits,
					  float *dlogits, float *fn, float *norm, float *dfeat, const float *feat,
					  const float *text, const float *targets, int B, int divisor, int D,
					  float *scratch);

/* ---- adam.cu ------------------------------------------------------------------------------------ */

/* adam_step: update t (>= 1) of n parameters, PyTorch's arithmetic (adam.h) */
void cuda_adam_step(lfm_cuda_context *ctx, float *params, const float *grads, float *m, float *v, size_t n,
		    const adam_config *c, long t);
/* The same update with its per-step scalars (the learning rate and the bias corrections of step t, made
 * on the host in double exactly as adam.c makes them) read from device memory when the kernel runs:
 * what a CUDA graph captures once and replays every step. */
typedef struct cuda_adam_scalars {
	float beta1, beta2, one_minus_beta1, one_minus_beta2, weight_decay, neg_step_size, sqrt_bc2, eps;
} cuda_adam_scalars;
void cuda_adam_scalars_for(cuda_adam_scalars *s, const adam_config *c, long t); /* host only */
/* params_bf16 (or NULL): the updated parameters rounded to bf16 as cuda_round_bf16 rounds them, written in
 * the same pass (the shadow of cuda_gemm_set_bf16_shadow) */
void cuda_adam_step_device(lfm_cuda_context *ctx, float *params, const float *grads, float *m, float *v, size_t n,
			   const cuda_adam_scalars *scalars, uint16_t *params_bf16);

#ifdef __cplusplus
}
#endif
#endif
