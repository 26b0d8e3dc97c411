/* clip_params.h — what a CLIP tower IS, independent of what runs it: its parameters in ONE host allocation
 * described by a table of named tensors (clip_*_param_info) and reached through a struct of named
 * pointers, as llm.c lays out its parameters. The stacked per-layer tensors ([L, ...]) hold the resblocks
 * in order; clip_weights.h maps every tensor to its checkpoint name.
 *
 * This is the backend seam: the weight loader, clip_init, checkpoints and resume files work on these
 * blocks only. A runner adopts a block and keeps its own execution state beside it — the CPU runner
 * (cpu/clip_vision.h) its gradients, Adam's moments, activations and thread slabs, each one more
 * allocation with the same layout; a GPU runner its device copies.
 */
#ifndef LFM_CLIP_PARAMS_H
#define LFM_CLIP_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "model/clip_config.h"

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
/* The block tables alone: L stacked layers of width W (the layout of clip_blocks); returns the count. */
size_t clip_blocks_param_info(int L, int W, clip_param_info *out);
/* The members of b in table order. */
void clip_blocks_members(clip_blocks *b, float **m[CLIP_BLOCK_TENSORS]);

/* A tower's parameter block: the configuration, num_params floats in one allocation (owned), and the
 * named pointers into it. */
typedef struct clip_vision_weights {
	clip_config cfg;
	size_t num_params;
	float *param_memory;
	clip_vision_params params;
} clip_vision_weights;

typedef struct clip_text_weights {
	clip_config cfg;
	size_t num_params;
	float *param_memory;
	clip_text_params params;
} clip_text_weights;

/* Allocate a tower's parameters, zeroed, for cfg; free them. */
void clip_vision_weights_init(clip_vision_weights *w, const clip_config *cfg);
void clip_vision_weights_free(clip_vision_weights *w);
void clip_text_weights_init(clip_text_weights *t, const clip_config *cfg);
void clip_text_weights_free(clip_text_weights *t);

/* count zeroed floats in one allocation (large ones advised to use transparent huge pages): what every
 * parameter, gradient, moment and activation block of the CPU side is made of. Dies when out of memory. */
float *clip_alloc_floats(size_t count);

#endif
