/* fit_step.h — one optimisation step of the text-guided-mixup training, exactly as the official code takes
 * it (float32), for lfm-fit and for the golden check that compares it with PyTorch:
 *
 *   stage 1   features f = visual(x) (CLIP's vision tower with its projection), logits = normalize(f)·T^T,
 *             loss(logits, soft targets), backward through the whole tower, Adam on every visual
 *             parameter
 *   stage 2   the tower frozen (forward only, no activations kept), logits = normalize(W·f)·T^T, Adam on
 *             W (fc.weight, [D, D], nn.Linear layout), initialised to the identity
 *
 * T = the class text features, L2-normalised here (no temperature, as the official code). The loss is any
 * of losses.h on soft targets. Adam is adam.h's (PyTorch's torch.optim.Adam); its update is spread over a
 * thread pool in fixed chunks — an elementwise update, so the result is the same for every thread count.
 * With a fixed OpenBLAS thread count the whole step is deterministic, bit for bit.
 */
#ifndef LFM_FIT_STEP_H
#define LFM_FIT_STEP_H

#include <stddef.h>

#include "train/adam.h"
#include "cpu/clip_model.h"
#include "train/cosine_head.h"
#include "train/losses.h"
#include "base/thread_pool.h"

typedef struct fit_state {
	int stage;          /* 1 or 2 */
	clip_vision *vision; /* borrowed: trained in stage 1, frozen in stage 2 */
	cosine_head head;   /* the normalised text features; stage 2: W with its gradient and moments */
	loss_fn loss;
	adam_config adam;   /* betas, eps, weight decay; lr is given to each step */
	long step;          /* Adam updates made so far (PyTorch's state["step"]) */
	int max_batch, classes, dim;
	float *logits, *dlogits, *dfeat; /* [max_batch, C], [max_batch, C], [max_batch, D] */
	thread_pool *pool;  /* borrowed, may be NULL: Adam's update is spread over it */
} fit_state;

/* Prepare a step for batches of up to max_batch images: text [C, D] (copied and normalised), the loss
 * (lc->classes must be C; lc->text_features may be NULL, then text is used for MMS), Adam's settings.
 * Stage 1 allocates the tower's gradients, moments and training activations; stage 2 inference
 * activations and W = I. 0, or -1 with a message in err (bad sizes, text features, loss settings). */
int fit_init(fit_state *s, clip_vision *v, int stage, const float *text, int C, const loss_config *lc,
	     const adam_config *ac, int max_batch, thread_pool *pool, char *err, size_t errsz);
void fit_free(fit_state *s);

/* One step on B images (pixels [B, 3, R, R], normalised) with targets [B, C] at learning rate lr: forward,
 * loss, backward, Adam update (step count + 1). Returns the batch's mean loss, computed before the update.
 * A loss that is not finite leaves everything (parameters, moments, step count) as it was. The logits of
 * the step stay in s->logits. */
double fit_step(fit_state *s, const float *pixels, const float *targets, int B, double lr);

/* Logits [B, C] of the current model for B <= max_batch images, without training (validation). */
void fit_logits(fit_state *s, const float *pixels, int B, float *logits);

/* What the stage trains: the parameters, gradients and Adam moments as flat arrays of *n floats (stage 1:
 * the tower's parameter block; stage 2: W). */
float *fit_params(const fit_state *s, size_t *n);
float *fit_moment(const fit_state *s, int which /* 1: m, 2: v */);

/* 1 if every trained parameter is finite. */
int fit_params_finite(const fit_state *s);

#endif
