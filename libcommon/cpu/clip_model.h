/* clip_model.h — CLIP's two towers on the CPU in float32: the vision tower forward and backward (what
 * lfm-fit trains), the text tower forward (frozen; clip-embed-text), and the encode functions.
 *
 * Memory follows llm.c: a tower's parameters live in ONE allocation described by a table of named tensors
 * (clip_*_param_info) and reached through a struct of named pointers; gradients and each of Adam's two
 * moments are one more allocation each with the same layout (so an optimiser may treat them as flat
 * arrays), and the activations one allocation sized for a batch. The stacked per-layer tensors ([L, ...])
 * hold the resblocks in order; clip_weights.h maps every tensor to its checkpoint name.
 */
#ifndef LFM_CLIP_MODEL_H
#define LFM_CLIP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "model/clip_config.h"
#include "base/thread_pool.h"

/* The residual attention blocks of one tower, L layers stacked; W = the tower's width. */
typedef struct clip_blocks {
	float *ln1_w, *ln1_b;   /* [L, W]      ln_1 */
	float *qkv_w;           /* [L, 3W, W]  attn.in_proj_weight (rows: q, k, v) */
	float *qkv_b;           /* [L, 3W]     attn.in_proj_bias */
	float *attn_out_w;      /* [L, W, W]   attn.out_proj.weight */
	float *attn_out_b;      /* [L, W]      attn.out_proj.bias */
	float *ln2_w, *ln2_b;   /* [L, W]      ln_2 */
	float *fc_w;            /* [L, 4W, W]  mlp.c_fc.weight */
	float *fc_b;            /* [L, 4W]     mlp.c_fc.bias */
	float *fcproj_w;        /* [L, W, 4W]  mlp.c_proj.weight */
	float *fcproj_b;        /* [L, W]      mlp.c_proj.bias */
} clip_blocks;
#define CLIP_BLOCK_TENSORS 12

/* The pointers of layer l alone (each tensor without its leading L). */
clip_blocks clip_blocks_layer(const clip_blocks *all, int l, int W);

typedef struct clip_vision_params {
	float *conv1;                 /* [W, 3, P, P] conv1.weight */
	float *class_emb;             /* [W]          class_embedding */
	float *pos_emb;               /* [T, W]       positional_embedding, T = G*G + 1 */
	float *ln_pre_w, *ln_pre_b;   /* [W] */
	clip_blocks blocks;
	float *ln_post_w, *ln_post_b; /* [W] */
	float *proj;                  /* [W, D]       proj */
} clip_vision_params;
#define CLIP_VISION_TENSORS (5 + CLIP_BLOCK_TENSORS + 3)

typedef struct clip_text_params {
	float *token_emb;               /* [V, W]   token_embedding.weight */
	float *pos_emb;                 /* [ctx, W] positional_embedding */
	clip_blocks blocks;
	float *ln_final_w, *ln_final_b; /* [W] */
	float *proj;                    /* [W, D]   text_projection */
} clip_text_params;
#define CLIP_TEXT_TENSORS (2 + CLIP_BLOCK_TENSORS + 3)

/* One parameter tensor of a tower, in memory order. */
typedef struct clip_param_info {
	const char *field; /* the struct member: "conv1", "blocks.qkv_w", ... */
	int layered;       /* 1: shape[0] is the layer count L */
	int ndim;
	int64_t shape[5];
	size_t count;  /* product of shape */
	size_t offset; /* first float within the tower's parameter block */
} clip_param_info;

/* Fill the table (CLIP_VISION_TENSORS / CLIP_TEXT_TENSORS entries) and return the total count. */
size_t clip_vision_param_info(const clip_config *c, clip_param_info *out);
size_t clip_text_param_info(const clip_config *c, clip_param_info *out);
/* Point p's members into memory (laid out as the table says). */
void clip_vision_params_point(clip_vision_params *p, float *memory, const clip_config *c);
void clip_text_params_point(clip_text_params *p, float *memory, const clip_config *c);

/* ---- vision tower ---------------------------------------------------------------------------------- */

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
	clip_config cfg;
	size_t num_params;
	float *param_memory;
	clip_vision_params params;
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
	size_t slice_grad_floats; /* floats of one slice's private gradient slab */
	float *slice_grads;       /* (pool size - 1) slabs: one block's (or the stem's) weight gradients */
} clip_vision;

/* Allocate the parameters (zeroed) for cfg's vision tower. */
void clip_vision_init(clip_vision *v, const clip_config *cfg);
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
 * thread, a fifth of a forward's time on ViT-B/32). The caller sets OpenBLAS to one thread
 * (openblas_set_num_threads(1)) while a pool is set. Weight gradients of a block are summed per slice
 * (slice 0 into v->grads, the others into private slabs, then added in slice order), so a result depends
 * on the pool's size through rounding only and is the same on every run with that size. The pool must not
 * be running another job during forward and backward; it is not owned. */
void clip_vision_set_pool(clip_vision *v, thread_pool *pool);
/* Features [n, D] of n images, in batches of up to 32 (forward only, one layer's activations). */
void clip_encode_image(clip_vision *v, const float *pixels, size_t n, float *out);

/* ---- text tower ------------------------------------------------------------------------------------ */

typedef struct clip_text {
	clip_config cfg;
	size_t num_params;
	float *param_memory;
	clip_text_params params;
} clip_text;

void clip_text_init(clip_text *t, const clip_config *cfg);
void clip_text_free(clip_text *t);
/* encode_text of n token sequences, rows of `stride` int32 ids (stride <= context): each sequence ends at
 * its largest id (the EOT, as OpenAI's argmax) and later entries (padding) are ignored; out [n, D], not
 * normalised. Under the causal mask nothing after the EOT changes its features, so only tokens up to it are
 * computed, and prompts sharing a prefix ("a photo of a") share its computation. Returns 0, or -1 with
 * "sequence I: ..." in err for an id outside the vocabulary. */
int clip_encode_text(const clip_text *t, const int32_t *tokens, size_t n, int stride, float *out, char *err,
		     size_t errsz);

#endif
