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
 * of losses.h on soft targets. Adam is adam.h's (PyTorch's torch.optim.Adam).
 *
 * The step is split as llm.c splits it, so that something can stand between the two halves:
 *
 *   loss = fit_forward_backward(s, pixels, targets, B);   gradients ready in fit_grads(s), not applied
 *   fit_update(s, lr);                                     Adam, step count + 1
 *
 * and, data parallel (ctx.dist with several ranks), each rank takes its slice of b images of the global
 * batch of B (dist_slice) and
 *
 *   part = fit_forward_backward_part(s, pixels, targets, b, B);  (1/B)·Σ of its rows, and its gradient
 *   ... the parts summed over the ranks (dist_sum_f64): the global batch's mean loss ...
 *   fit_reduce_grads(s, "step 12");                        the gradients summed over the ranks
 *   fit_update(s, lr);
 *
 * Each row's loss gradient is then the one process's, bit for bit (divided by the same B), and only the
 * sums over the batch's rows are taken in another order: N ranks at b = B/N compute the step of one
 * process at B, up to the order of summation.
 *
 * What executes the step comes from a fit_context, never from globals: today the CPU runner
 * (cpu/clip_vision.h, image-parallel over the context's pool; Adam spread over the same pool in fixed
 * chunks — an elementwise update, so the result is the same for every thread count). The model's
 * parameters stay in the caller's parameter block (model/clip_params.h), which the runner adopts; the
 * runner's own state (gradients, moments, activations) is reached through fit_grads and fit_moment, after
 * fit_sync_host, so saving and resuming never touch a runner's internals. With a fixed thread count the
 * whole step is deterministic, bit for bit.
 *
 * An evaluation state (fit_init_eval) runs fit_logits only: the same features and cosine logits, with W
 * applied when one is given, as lfm-eval and lfm-fit's validation need.
 */
#ifndef LFM_FIT_STEP_H
#define LFM_FIT_STEP_H

#include <stddef.h>
#include <stdint.h>

#include "base/thread_pool.h"
#include "cpu/clip_vision.h"
#include "dist/dist.h"
#include "model/clip_params.h"
#include "model/precision.h"
#include "train/adam.h"
#include "train/cosine_head.h"
#include "train/losses.h"

/* What runs a step: the CPU runner, or a device runner reached through a table of functions
 * (fit_device_ops below; the CUDA one is cuda/cuda_fit.h's lfm_cuda_fit_ops), so that libcommon does not
 * depend on the CUDA library: a tool that links it passes the table in. */
typedef enum fit_backend { FIT_BACKEND_CPU, FIT_BACKEND_DEVICE } fit_backend;

typedef struct fit_device_ops fit_device_ops;

/* A batch of undecoded-to-pixels images for a runner that preprocesses on its device
 * (data/batch_loader.h's batch_raw, the same layout): item b is
 *     lx[b] · pre(images_i[b], flip_i[b]) + (1 − lx[b]) · pre(images_j[b], flip_j[b])
 * with pre() = clip_prep_run at the model's resolution, bit for bit. */
typedef struct fit_raw_batch {
	int count, width, height;
	const uint8_t *images_i, *images_j; /* [count][height][width][3] RGB8 each */
	const uint8_t *flip_i, *flip_j;
	const float *lx;
} fit_raw_batch;
/* fit_raw_batch's fields from a batch_raw (or anything with the same names): (fit_raw_batch){FIT_RAW_BATCH_OF(r)} */
#define FIT_RAW_BATCH_OF(r)                                                                                      \
	(r)->count, (r)->width, (r)->height, (r)->images_i, (r)->images_j, (r)->flip_i, (r)->flip_j, (r)->lx
typedef struct fit_state fit_state;

typedef struct fit_context {
	fit_backend backend;
	thread_pool *pool; /* CPU: the tower runs image-parallel on it, Adam is spread over it (NULL: one thread,
			    * OpenBLAS's own threads for the products); borrowed, must outlive the state */
	const fit_device_ops *device; /* FIT_BACKEND_DEVICE: the runner's functions */
	void *device_context;         /* ... and its context (an lfm_cuda_context), borrowed */
	lfm_precision precision;      /* the device's matrix products (the CPU computes in fp32 only) */
	int recompute;                /* device, stage 1: keep only each block's input and recompute the block's
				       * activations in backward (less memory, about a third more compute; the
				       * same bits) */
	dist_comm *dist;              /* data parallel: the ranks whose gradients fit_reduce_grads sums (borrowed;
				       * NULL or world 1: one process) */
} fit_context;

/* A device runner. create() is called by fit_init / fit_init_eval once s is filled in (stage, weights, the
 * head with its normalised text features and, for stage 2 or an evaluation with W, fc; the loss; Adam's
 * settings; max_batch, classes, dim; ctx) and returns the runner's state (kept in s->device), or NULL with
 * a message. The others do what the fit_* function of the same name says; sync_host writes the trained
 * parameters into the host block (s->weights->param_memory, or s->head.fc) and the gradients and moments
 * into host arrays that host_grads / host_moment return. */
struct fit_device_ops {
	const char *name; /* "cuda" */
	void *(*create)(fit_state *s, char *err, size_t errsz);
	void (*destroy)(fit_state *s);
	double (*forward_backward)(fit_state *s, const float *pixels, const float *targets, int B);
	void (*update)(fit_state *s, double lr, long t);
	void (*logits)(fit_state *s, const float *pixels, int B, float *logits);
	void (*sync_host)(fit_state *s);
	void (*host_changed)(fit_state *s);
	float *(*host_grads)(fit_state *s);
	float *(*host_moment)(fit_state *s, int which);
	int (*params_finite)(fit_state *s);
	/* optional (NULL: the runner takes pixels only): the same steps on raw batches */
	double (*forward_backward_raw)(fit_state *s, const fit_raw_batch *b, const float *targets);
	void (*logits_raw)(fit_state *s, const fit_raw_batch *b, float *logits);
	/* optional (NULL: the runner cannot train on several ranks; fit_init refuses ctx.dist with world > 1):
	 * sum the gradients of the last forward_backward over ctx.dist's ranks on the device (NCCL), so that
	 * update applies the sum. A runner that overlaps the reduction with its backward has started it
	 * there and only waits here. With ranks, forward_backward divides the loss by s->loss_batch (the
	 * global batch) instead of B, and is called with B = 0 (pixels and targets NULL) by a rank whose
	 * slice of a small last batch is empty: its gradients are then zero, its loss 0, and it still takes
	 * part in every collective the others make. */
	void (*reduce_grads)(fit_state *s);
	/* optional (NULL: fit_features refuses): the normalised features [B, D] of the last logits call */
	void (*features)(fit_state *s, int B, float *features);
};

#define FIT_EVAL 0 /* the stage of an evaluation state */

struct fit_state {
	int stage;                    /* 1 or 2; FIT_EVAL for fit_init_eval */
	fit_context ctx;
	clip_vision_weights *weights; /* borrowed: trained in stage 1, frozen otherwise */
	clip_vision cpu;              /* the CPU runner, adopting weights (FIT_BACKEND_CPU) */
	void *device;                 /* the device runner's state (FIT_BACKEND_DEVICE) */
	cosine_head head;   /* the normalised text features; stage 2: W with its gradient and moments */
	int has_loss;
	loss_fn loss;
	adam_config adam;   /* betas, eps, weight decay; lr is given to each update */
	long step;          /* Adam updates made so far (PyTorch's state["step"]) */
	int max_batch, classes, dim;
	int loss_batch;     /* the divisor of the loss sum in forward_backward: B, or the global batch of a
			     * data-parallel step (fit_forward_backward_part) */
	float *logits, *dlogits, *dfeat; /* [max_batch, C], [max_batch, C], [max_batch, D] */
};

/* Prepare steps for batches of up to max_batch images: text [C, D] (copied and normalised), the loss
 * (lc->classes must be C; lc->text_features may be NULL, then text is used for MMS), Adam's settings.
 * Stage 1 allocates the tower's gradients, moments and training activations; stage 2 inference
 * activations and W = I. 0, or -1 with a message in err (bad sizes, text features, loss settings). */
int fit_init(fit_state *s, const fit_context *ctx, clip_vision_weights *w, int stage, const float *text, int C,
	     const loss_config *lc, const adam_config *ac, int max_batch, char *err, size_t errsz);
/* Prepare logits only (FIT_EVAL): fc [D, D] (nn.Linear layout) is copied and applied when not NULL.
 * 0, or -1 with a message in err. */
int fit_init_eval(fit_state *s, const fit_context *ctx, clip_vision_weights *w, const float *text, int C,
		  const float *fc, int max_batch, char *err, size_t errsz);
void fit_free(fit_state *s);

/* Forward, loss and backward on B images (pixels [B, 3, R, R], normalised) with targets [B, C]: returns
 * the batch's mean loss; the gradients of that mean are then in fit_grads, nothing is applied yet. A
 * loss that is not finite stops before the backward (the gradients are then unspecified: do not update).
 * The logits stay in s->logits. */
double fit_forward_backward(fit_state *s, const float *pixels, const float *targets, int B);
/* Data parallel: forward, loss and backward on this rank's b images (0 <= b <= max_batch) of a global
 * batch of B: returns (1/B)·Σ of this rank's row losses, with its gradients in fit_grads (zero when b =
 * 0; pixels and targets may then be NULL). Summed over the ranks, the parts are the global batch's mean
 * loss; fit_reduce_grads sums the gradients. A part that is not finite: as fit_forward_backward. */
double fit_forward_backward_part(fit_state *s, const float *pixels, const float *targets, int b, int B);
/* The same on a raw batch (b->count >= 1; an empty slice takes fit_forward_backward_part with b = 0). */
double fit_forward_backward_raw_part(fit_state *s, const fit_raw_batch *b, const float *targets, int B);
/* Sum the gradients over ctx.dist's ranks (nothing with one process): MPI on the host for the CPU
 * runner, the device runner's reduce_grads (NCCL) otherwise. `what` names the step for the watchdog. */
void fit_reduce_grads(fit_state *s, const char *what);

/* Adam with the gradients as they are now, at learning rate lr (step count + 1). */
void fit_update(fit_state *s, double lr);
/* Both halves, for one process: the update only when the loss is finite (otherwise parameters, moments
 * and the step count are left as they were). Returns the loss. */
double fit_step(fit_state *s, const float *pixels, const float *targets, int B, double lr);

/* Whether the runner preprocesses raw batches itself (a device runner with forward_backward_raw). */
int fit_takes_raw(const fit_state *s);
/* fit_forward_backward, fit_step and fit_logits on a raw batch (fit_takes_raw must be true): the same
 * results as on the pixels the batch loader would have made of it. */
double fit_forward_backward_raw(fit_state *s, const fit_raw_batch *b, const float *targets);
double fit_step_raw(fit_state *s, const fit_raw_batch *b, const float *targets, double lr);
void fit_logits_raw(fit_state *s, const fit_raw_batch *b, float *logits);

/* Logits [B, C] of the current model for B <= max_batch images, without training (validation). */
void fit_logits(fit_state *s, const float *pixels, int B, float *logits);
/* The features those logits were computed from, for the B images of the last fit_logits or
 * fit_logits_raw: normalize(f) (stage 1, or an evaluation without W) or normalize(W·f), [B, D], so that
 * logits = features · normalize(T)^T. A zero feature row stays zero (cosine_head.h). lfm-eval --features. */
void fit_features(const fit_state *s, int B, float *features);

/* What the stage trains, as flat arrays of *n floats (stage 1: the tower's parameter block — the
 * weights' own; stage 2: W): parameters, their gradients, Adam's moments (which: 1 m, 2 v). The runner's
 * arrays: read them after fit_sync_host, and call fit_host_changed after writing them. */
float *fit_params(const fit_state *s, size_t *n);
float *fit_grads(const fit_state *s, size_t *n);
float *fit_moment(const fit_state *s, int which);
/* Bring the host copies up to date with the runner (parameters, moments): before saving. The CPU runner
 * works on the host arrays, so nothing moves there. */
void fit_sync_host(fit_state *s);
/* The host copies were written (a resume file's moments loaded): the runner takes them. */
void fit_host_changed(fit_state *s);

/* 1 if every trained parameter is finite. */
int fit_params_finite(const fit_state *s);

#endif
