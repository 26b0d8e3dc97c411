/* clip_layers.h — the layers of CLIP's towers in plain float32, forward and backward (llm.c's style:
 * op_forward(out, saved..., inp, weights, sizes) / op_backward(dinp, dweights..., dout, saved..., sizes)).
 *
 * These functions define what every other backend (CUDA) must compute. Conventions:
 *   - row-major arrays; N rows (tokens) of C channels; weights in PyTorch's nn.Linear layout [OC, C];
 *   - every backward ACCUMULATES (+=) into its gradient outputs, so callers zero gradients once per step
 *     and branches that meet (residuals) need no extra buffers; a NULL gradient pointer skips that output;
 *   - matrix products go through OpenBLAS (cblas_sgemm), which also supplies the threads; the rest is
 *     single-threaded loops (a few percent of the time on the sizes CLIP uses).
 * The math is OpenAI's clip/model.py: pre-LayerNorm (eps 1e-5), nn.MultiheadAttention (q scaled by
 * head_dim^-0.5, softmax, optional causal mask), QuickGELU x*sigmoid(1.702x), projections x @ proj.
 */
#ifndef LFM_CLIP_LAYERS_H
#define LFM_CLIP_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#define CLIP_LN_EPS 1e-5f

/* out[N,C] = (inp - mean) * rstd * weight + bias over each row; mean/rstd [N] saved for the backward
 * (either may be NULL when no backward follows). */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
		       const float *bias, size_t N, int C);
void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
			const float *weight, const float *mean, const float *rstd, size_t N, int C);

/* out[N,OC] = inp[N,C] @ weight[OC,C]^T + bias[OC] (bias may be NULL). */
void matmul_forward(float *out, const float *inp, const float *weight, const float *bias, size_t N, int C,
		    int OC);
void matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
		     const float *weight, size_t N, int C, int OC);

/* out[N,OC] = inp[N,C] @ proj[C,OC] (OpenAI's `x @ self.proj`, no bias). */
void projection_forward(float *out, const float *inp, const float *proj, size_t N, int C, int OC);
void projection_backward(float *dinp, float *dproj, const float *dout, const float *inp, const float *proj,
			 size_t N, int C, int OC);

/* Multi-head self-attention of B sequences of T tokens: qkv [B,T,3C] holds q, k, v (each C = NH heads x
 * C/NH channels, as nn.MultiheadAttention's in_proj output); out [B,T,C] the heads' outputs side by side
 * (before out_proj); att [B,NH,T,T] the softmax probabilities, saved (0 above the diagonal if causal).
 * The backward needs a scratch of [B,NH,T,T] floats and accumulates into dqkv [B,T,3C]. */
void attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH, int causal);
void attention_backward(float *dqkv, float *scratch, const float *dout, const float *qkv, const float *att,
			int B, int T, int C, int NH, int causal);

/* Causal attention over token rows that share prefixes (the text tower on a prefix tree of prompts):
 * row r attends to the rows on its path from the root, parent[r] being the previous token's row (-1 at
 * the start of a sequence). Rows must come after their parents. qkv [N,3C], out [N,C]; forward only.
 * For a single chain this equals attention_forward(causal = 1) on that sequence. */
void prefix_attention_forward(float *out, const float *qkv, const int32_t *parent, size_t N, int C, int NH);

/* QuickGELU: out = x * sigmoid(1.702 x), elementwise over n values. */
void quick_gelu_forward(float *out, const float *inp, size_t n);
void quick_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n);

/* out = a + b, elementwise; backward adds dout to both. */
void residual_forward(float *out, const float *a, const float *b, size_t n);
void residual_backward(float *da, float *db, const float *dout, size_t n);

/* Patch embedding = conv1 (kernel = stride = P, no bias) as a matrix product over unfolded patches.
 * pixels [B,3,R,R] -> patches [B, G*G, 3*P*P] (row-major patch grid; within a patch the order c, y, x,
 * which is conv1.weight [W,3,P,P] flattened), G = R / P. */
void patch_unfold(float *patches, const float *pixels, int B, int R, int P);
/* out [B*G*G, W] = patches @ conv1^T; backward accumulates dconv1 (no gradient for the pixels). */
void patch_embed_forward(float *out, const float *patches, const float *conv1, size_t n_patches,
			 int patch_dim, int W);
void patch_embed_backward(float *dconv1, const float *dout, const float *patches, size_t n_patches,
			  int patch_dim, int W);

/* x [B,T,C] with T = 1 + patches per image: x[b,0] = class_emb + pos[0], x[b,t] = patch_out[b,t-1] + pos[t]. */
void vision_embed_forward(float *x, const float *patch_out, const float *class_emb, const float *pos_emb,
			  int B, int T, int C);
void vision_embed_backward(float *dpatch_out, float *dclass_emb, float *dpos_emb, const float *dx, int B,
			   int T, int C);

/* out[n] = inp[n] / ||inp[n]|| over rows of C; norm [N] saved (NULL for none). A zero row stays zero. */
void l2norm_forward(float *out, float *norm, const float *inp, size_t N, int C);
void l2norm_backward(float *dinp, const float *dout, const float *out, const float *norm, size_t N, int C);

#endif
