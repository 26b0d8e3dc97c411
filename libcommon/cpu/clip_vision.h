/* clip_vision.h — the CPU runner of CLIP's vision tower, in float32: forward and backward (what lfm-fit
 * trains) on a parameter block it adopts (model/clip_params.h), and encode_image.
 *
 * The runner owns its execution state, each one allocation laid out like the parameters (so an optimiser
 * may treat them as flat arrays): gradients and Adam's two moments; the activations, one allocation sized
 * for a batch; and, when it runs image-parallel on a thread pool, one private gradient slab per extra
 * thread. The parameters stay the model's: the runner reads and updates them in place.
 */
#ifndef LFM_CLIP_VISION_H
#define LFM_CLIP_VISION_H

#include <stddef.h>
#include <stdint.h>

#include "base/thread_pool.h"
#include "model/clip_params.h"

/* One block's saved activations; N = B*T token rows. */
typedef struct clip_block_acts {
	float *ln1;                  /* [N, W] */
	float *ln1_mean, *ln1_rstd;  /* [N] */
	float *qkv;                  /* [N, 3W] */
	float *att;                  /* [B, NH, T, T] softmax probabilities */
	float *atty;                 /* [N, W] heads' outputs, before out_proj */
	float *res2;                 /* [N, W] residual stream after attention */
	float *ln2;                  /* [N, W] */
	float *ln2_mean, *ln2_rstd;  /* [N] */
	float *fch;                  /* [N, 4W] c_fc output */
	float *fch_gelu;             /* [N, 4W] after QuickGELU */
	float *res3;                 /* [N, W] block output */
} clip_block_acts;

typedef struct clip_vision_acts {
	float *patches;                   /* [B, G*G, 3*P*P] unfolded pixels */
	float *patch_out;                 /* [B, G*G, W] conv1 output */
	float *embed;                     /* [B, T, W] + class and positional embeddings */
	float *ln_pre;                    /* [B, T, W] input of block 0 */
	float *ln_pre_mean, *ln_pre_rstd; /* [B*T] */
	clip_block_acts blocks;           /* stacked: [S, ...], S = L when training, else 1 (reused) */
	float *cls;                       /* [B, W] class token of the last block's output */
	float *ln_post;                   /* [B, W] */
	float *ln_post_mean, *ln_post_rstd; /* [B] */
	float *out;                       /* [B, D] the image features (not normalised) */
	/* backward scratch (training only) */
	float *dres;                      /* [N, W] gradient of the residual stream */
	float *dln;                       /* [N, W] */
	float *datty;                     /* [N, W] */
	float *dqkv;                      /* [N, 3W] */
	float *dfch, *dfch_gelu;          /* [N, 4W] */
	float *datt;                      /* [B, NH, T, T] */
	float *dpatch_out;                /* [B, G*G, W] */
	float *dcls, *dln_post;           /* [B, W] */
} clip_vision_acts;

typedef struct clip_vision {
	clip_vision_weights *weights; /* adopted, not owned: the parameters this runner reads and trains */
	/* training state, NULL until clip_vision_alloc_training() */
	float *grad_memory;
	clip_vision_params grads;
	float *m_memory, *v_memory; /* Adam's first and second moments */
	clip_vision_params adam_m, adam_v;
	/* activations */
	int act_batch;    /* images the activations are sized for (0: none yet) */
	int act_training; /* every layer's activations and the backward scratch kept */
	size_t num_acts;
	float *act_memory;
	clip_vision_acts acts;
	int fwd_batch;    /* batch of the last forward */
	int fwd_training; /* whether that forward kept what the backward needs */
	/* image-parallel execution (clip_vision_set_pool); NULL: the caller's thread and OpenBLAS's threads */
	thread_pool *pool;
	int blas_threads;         /* OpenBLAS's thread count before the pool was set (restored after) */
	size_t slice_grad_floats; /* floats of one slice's private gradient slab */
	float *slice_grads;       /* (pool size - 1) slabs: one block's (or the stem's) weight gradients */
} clip_vision;

/* Adopt the parameter block w (borrowed: it must outlive the runner); no other state yet. */
void clip_vision_adopt(clip_vision *v, clip_vision_weights *w);
/* The runner's own state (gradients, moments, activations, slabs); the parameters are left alone. */
void clip_vision_free(clip_vision *v);
/* Gradients and Adam moments, zeroed (idempotent). */
void clip_vision_alloc_training(clip_vision *v);
/* Activations for up to batch images; training keeps every layer's values and the backward scratch.
 * Reallocates only when the batch grows or training is newly asked for. */
void clip_vision_alloc_acts(clip_vision *v, int batch, int training);
/* Forward of B images [B,3,R,R] (normalised pixels), B <= act_batch; the features land in acts.out
 * [B, D]. */
void clip_vision_forward(clip_vision *v, const float *pixels, int B);
void clip_vision_zero_grad(clip_vision *v);
/* Backward of the last forward (which must have been a training one) given dL/dfeatures [B, D];
 * accumulates into v->grads. */
void clip_vision_backward(clip_vision *v, const float *dfeatures);
/* Run forward and backward image-parallel on pool (NULL: back to one thread): the batch is cut into one
 * contiguous slice of images per participant, and each slice runs every layer on its own rows with
 * single-threaded matrix products, so the LayerNorms, QuickGELUs, residuals and per-head attention
 * products run in parallel too, not only the big products (OpenBLAS's own threads leave those to one
 * thread, a fifth of a forward's time on ViT-B/32). While a pool is set, OpenBLAS runs one thread (set
 * here, and restored when the pool is taken away). Weight gradients of a block are summed per slice
 * (slice 0 into v->grads, the others into private slabs, then added in slice order), so a result depends
 * on the pool's size through rounding only and is the same on every run with that size. The pool must not
 * be running another job during forward and backward; it is not owned. */
void clip_vision_set_pool(clip_vision *v, thread_pool *pool);
/* Features [n, D] of n images, in batches of up to 32 (forward only, one layer's activations). */
void clip_encode_image(clip_vision *v, const float *pixels, size_t n, float *out);
/* The same from a parameter block, on a runner of its own for the call (one thread). */
void clip_encode_image_once(clip_vision_weights *w, const float *pixels, size_t n, float *out);

#endif
