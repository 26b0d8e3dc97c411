/* cosine_head.h — the classification step after the image features, as the official text-guided-mixup
 * model computes it (models/simple.py, float32, no temperature):
 *
 *   stage 1:  logits = normalize(f) · T^T
 *   stage 2:  logits = normalize(W · f) · T^T      W [D, D] in nn.Linear layout [out, in] (h_i = Σ_j W_ij f_j),
 *                                                  no bias, initialised to the identity
 *
 * with f the visual tower's features [B, D] (after its projection), T the class text features [C, D]
 * L2-normalised once at init, normalize(x) = x / ||x|| per row. A row of zeros has no direction: it gives
 * zero logits and zero gradient here (PyTorch's x / x.norm() would give NaN).
 *
 * Two levels, in llm.c's style:
 *   - the ops, on caller-owned arrays; every backward ACCUMULATES (+=) into its gradient outputs (as
 *     clip_layers.h), a NULL gradient pointer skips that output;
 *   - struct cosine_head, which owns the normalised text features, W with its gradient and Adam moments
 *     (one allocation each, so adam_step treats them as flat arrays), and the activations of the last
 *     forward.
 * Dot products and reductions accumulate in double; results are float.
 */
#ifndef LFM_COSINE_HEAD_H
#define LFM_COSINE_HEAD_H

#include <stddef.h>

/* ---- ops ------------------------------------------------------------------------------------------- */

/* out[n] = inp[n] / ||inp[n]|| for N rows of D; norm [N] receives the norms (NULL: not kept). In-place
 * (out == inp) is allowed. Returns the number of rows that were zero (left zero). */
size_t cosine_l2norm_forward(float *out, float *norm, const float *inp, size_t N, int D);
/* dinp += (dout − out·(out·dout)) / norm, row by row (rows with norm 0 add nothing). */
void cosine_l2norm_backward(float *dinp, const float *dout, const float *out, const float *norm, size_t N,
			    int D);

/* logits [B, C] = fn [B, D] · text[C, D]^T. */
void cosine_logits_forward(float *logits, const float *fn, const float *text, int B, int D, int C);
/* dfn [B, D] += dlogits · text. */
void cosine_logits_backward(float *dfn, const float *dlogits, const float *text, int B, int D, int C);

/* h [B, D] = f · W^T (W [D, D], nn.Linear layout, no bias). */
void cosine_fc_forward(float *h, const float *f, const float *W, int B, int D);
/* df [B, D] += dh · W; dW [D, D] += dh^T · f (either may be NULL). */
void cosine_fc_backward(float *df, float *dW, const float *dh, const float *f, const float *W, int B, int D);

/* ---- the head -------------------------------------------------------------------------------------- */

typedef struct cosine_head {
	int classes; /* C */
	int dim;     /* D */
	int stage;   /* 1 or 2 */
	float *text; /* [C, D] L2-normalised text features */
	/* stage 2 only (NULL in stage 1): W, its gradient and Adam's two moments, [D, D] each */
	float *fc, *fc_grad, *fc_m, *fc_v;
	/* activations of the last forward, sized for act_batch rows */
	int act_batch;
	int batch;      /* rows of the last forward (0: none yet) */
	float *feat;    /* [B, D] the input features (stage 2 needs them for dW) */
	float *h;       /* [B, D] W·f (stage 2; stage 1 uses feat) */
	float *hn;      /* [B, D] normalised */
	float *norm;    /* [B] */
	float *dhn, *dh; /* [B, D] backward scratch */
} cosine_head;

/* Copy and normalise the text features [C, D]; stage 2 allocates W = I, a zero gradient and zero moments.
 * 0, or -1 with a message in err (bad stage or sizes; a zero or non-finite text feature row). */
int cosine_head_init(cosine_head *hd, const float *text_features, int C, int D, int stage, char *err,
		     size_t errsz);
void cosine_head_free(cosine_head *hd);
/* logits [B, C] of features [B, D]; keeps what the backward needs (activations grow to B as needed). */
void cosine_head_forward(cosine_head *hd, const float *features, int B, float *logits);
/* Backward of the last forward given dlogits [B, C]: stage 2 accumulates into fc_grad; dfeatures [B, D]
 * (NULL: not wanted, e.g. a frozen tower) is OVERWRITTEN with d(loss)/d(features). */
void cosine_head_backward(cosine_head *hd, const float *dlogits, float *dfeatures);
/* fc_grad = 0 (stage 2; nothing in stage 1). */
void cosine_head_zero_grad(cosine_head *hd);

#endif
