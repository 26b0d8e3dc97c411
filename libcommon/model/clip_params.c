/* clip_params.c — see clip_params.h. */
#include "model/clip_params.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/errors.h"

/* ---- parameter tables ------------------------------------------------------------------------------ */

typedef struct info_builder {
	clip_param_info *out;
	int n;
	size_t offset;
} info_builder;

static void add_info(info_builder *b, const char *field, int layered, int ndim, int64_t d0, int64_t d1,
		     int64_t d2, int64_t d3)
{
	clip_param_info *e = &b->out[b->n++];
	int64_t dims[4] = {d0, d1, d2, d3};
	e->field = field;
	e->layered = layered;
	e->ndim = ndim;
	e->count = 1;
	for (int i = 0; i < ndim; i++) {
		e->shape[i] = dims[i];
		e->count *= (size_t)dims[i];
	}
	e->offset = b->offset;
	b->offset += e->count;
}

static void add_blocks_info(info_builder *b, int L, int W)
{
	add_info(b, "blocks.ln1_w", 1, 2, L, W, 0, 0);
	add_info(b, "blocks.ln1_b", 1, 2, L, W, 0, 0);
	add_info(b, "blocks.qkv_w", 1, 3, L, 3 * W, W, 0);
	add_info(b, "blocks.qkv_b", 1, 2, L, 3 * W, 0, 0);
	add_info(b, "blocks.attn_out_w", 1, 3, L, W, W, 0);
	add_info(b, "blocks.attn_out_b", 1, 2, L, W, 0, 0);
	add_info(b, "blocks.ln2_w", 1, 2, L, W, 0, 0);
	add_info(b, "blocks.ln2_b", 1, 2, L, W, 0, 0);
	add_info(b, "blocks.fc_w", 1, 3, L, 4 * W, W, 0);
	add_info(b, "blocks.fc_b", 1, 2, L, 4 * W, 0, 0);
	add_info(b, "blocks.fcproj_w", 1, 3, L, W, 4 * W, 0);
	add_info(b, "blocks.fcproj_b", 1, 2, L, W, 0, 0);
}

size_t clip_vision_param_info(const clip_config *c, clip_param_info *out)
{
	info_builder b = {out, 0, 0};
	int W = c->vision_width, P = c->patch_size;
	add_info(&b, "conv1", 0, 4, W, 3, P, P);
	add_info(&b, "class_emb", 0, 1, W, 0, 0, 0);
	add_info(&b, "pos_emb", 0, 2, clip_vision_tokens(c), W, 0, 0);
	add_info(&b, "ln_pre_w", 0, 1, W, 0, 0, 0);
	add_info(&b, "ln_pre_b", 0, 1, W, 0, 0, 0);
	add_blocks_info(&b, c->vision_layers, W);
	add_info(&b, "ln_post_w", 0, 1, W, 0, 0, 0);
	add_info(&b, "ln_post_b", 0, 1, W, 0, 0, 0);
	add_info(&b, "proj", 0, 2, W, c->embed_dim, 0, 0);
	return b.offset;
}

size_t clip_text_param_info(const clip_config *c, clip_param_info *out)
{
	info_builder b = {out, 0, 0};
	int W = c->text_width;
	add_info(&b, "token_emb", 0, 2, c->vocab_size, W, 0, 0);
	add_info(&b, "pos_emb", 0, 2, c->context_length, W, 0, 0);
	add_blocks_info(&b, c->text_layers, W);
	add_info(&b, "ln_final_w", 0, 1, W, 0, 0, 0);
	add_info(&b, "ln_final_b", 0, 1, W, 0, 0, 0);
	add_info(&b, "proj", 0, 2, W, c->embed_dim, 0, 0);
	return b.offset;
}

/* The members in table order. */
void clip_blocks_members(clip_blocks *b, float **m[CLIP_BLOCK_TENSORS])
{
	float **list[CLIP_BLOCK_TENSORS] = {&b->ln1_w,      &b->ln1_b,      &b->qkv_w, &b->qkv_b,
					    &b->attn_out_w, &b->attn_out_b, &b->ln2_w, &b->ln2_b,
					    &b->fc_w,       &b->fc_b,       &b->fcproj_w, &b->fcproj_b};
	memcpy(m, list, sizeof list);
}

void clip_vision_params_point(clip_vision_params *p, float *memory, const clip_config *c)
{
	clip_param_info info[CLIP_VISION_TENSORS];
	clip_vision_param_info(c, info);
	float **m[CLIP_VISION_TENSORS] = {&p->conv1, &p->class_emb, &p->pos_emb, &p->ln_pre_w, &p->ln_pre_b};
	clip_blocks_members(&p->blocks, m + 5);
	m[5 + CLIP_BLOCK_TENSORS] = &p->ln_post_w;
	m[6 + CLIP_BLOCK_TENSORS] = &p->ln_post_b;
	m[7 + CLIP_BLOCK_TENSORS] = &p->proj;
	for (int i = 0; i < CLIP_VISION_TENSORS; i++)
		*m[i] = memory + info[i].offset;
}

void clip_text_params_point(clip_text_params *p, float *memory, const clip_config *c)
{
	clip_param_info info[CLIP_TEXT_TENSORS];
	clip_text_param_info(c, info);
	float **m[CLIP_TEXT_TENSORS] = {&p->token_emb, &p->pos_emb};
	clip_blocks_members(&p->blocks, m + 2);
	m[2 + CLIP_BLOCK_TENSORS] = &p->ln_final_w;
	m[3 + CLIP_BLOCK_TENSORS] = &p->ln_final_b;
	m[4 + CLIP_BLOCK_TENSORS] = &p->proj;
	for (int i = 0; i < CLIP_TEXT_TENSORS; i++)
		*m[i] = memory + info[i].offset;
}

clip_blocks clip_blocks_layer(const clip_blocks *all, int l, int W)
{
	size_t w = (size_t)W, L = (size_t)l;
	return (clip_blocks){
		.ln1_w = all->ln1_w + L * w,
		.ln1_b = all->ln1_b + L * w,
		.qkv_w = all->qkv_w + L * 3 * w * w,
		.qkv_b = all->qkv_b + L * 3 * w,
		.attn_out_w = all->attn_out_w + L * w * w,
		.attn_out_b = all->attn_out_b + L * w,
		.ln2_w = all->ln2_w + L * w,
		.ln2_b = all->ln2_b + L * w,
		.fc_w = all->fc_w + L * 4 * w * w,
		.fc_b = all->fc_b + L * 4 * w,
		.fcproj_w = all->fcproj_w + L * 4 * w * w,
		.fcproj_b = all->fcproj_b + L * w,
	};
}

size_t clip_blocks_param_info(int L, int W, clip_param_info *out)
{
	info_builder b = {out, 0, 0};
	add_blocks_info(&b, L, W);
	return b.offset;
}

/* ---- one allocation ---------------------------------------------------------------------------------- */


/* count zeroed floats. A large block (parameters, gradients, activations: tens to hundreds of MB) is
 * advised to use transparent huge pages, where the kernel gives them on request (THP "madvise" mode, as
 * Debian's default): its first writes then take one page fault per 2 MB instead of one per 4 kB, which
 * was a fifth of clip-embed-text's time. Advice only: a kernel without it is no error. */
float *clip_alloc_floats(size_t count)
{
	float *p = xcalloc(count ? count : 1, sizeof *p);
#ifdef MADV_HUGEPAGE
	size_t bytes = count * sizeof *p;
	if (bytes >= ((size_t)8 << 20)) {
		uintptr_t page = 4096, a = ((uintptr_t)p + page - 1) & ~(page - 1);
		uintptr_t e = ((uintptr_t)p + bytes) & ~(page - 1);
		if (e > a)
			(void)madvise((void *)a, e - a, MADV_HUGEPAGE);
	}
#endif
	return p;
}

/* ---- the towers' parameter blocks --------------------------------------------------------------------- */

void clip_vision_weights_init(clip_vision_weights *w, const clip_config *cfg)
{
	memset(w, 0, sizeof *w);
	w->cfg = *cfg;
	clip_param_info info[CLIP_VISION_TENSORS];
	w->num_params = clip_vision_param_info(cfg, info);
	w->param_memory = clip_alloc_floats(w->num_params);
	clip_vision_params_point(&w->params, w->param_memory, cfg);
}

void clip_vision_weights_free(clip_vision_weights *w)
{
	free(w->param_memory);
	memset(w, 0, sizeof *w);
}

void clip_text_weights_init(clip_text_weights *t, const clip_config *cfg)
{
	memset(t, 0, sizeof *t);
	t->cfg = *cfg;
	clip_param_info info[CLIP_TEXT_TENSORS];
	t->num_params = clip_text_param_info(cfg, info);
	t->param_memory = clip_alloc_floats(t->num_params);
	clip_text_params_point(&t->params, t->param_memory, cfg);
}

void clip_text_weights_free(clip_text_weights *t)
{
	free(t->param_memory);
	memset(t, 0, sizeof *t);
}
