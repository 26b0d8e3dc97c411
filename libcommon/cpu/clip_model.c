/* clip_model.c — see clip_model.h. */
#include "cpu/clip_model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu/clip_layers.h"
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
static void block_members(clip_blocks *b, float **m[CLIP_BLOCK_TENSORS])
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
	block_members(&p->blocks, m + 5);
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
	block_members(&p->blocks, m + 2);
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

/* ---- one allocation for many named arrays ----------------------------------------------------------- */

/* count zeroed floats. A large block (parameters, gradients, activations: tens to hundreds of MB) is
 * advised to use transparent huge pages, where the kernel gives them on request (THP "madvise" mode, as
 * Debian's default): its first writes then take one page fault per 2 MB instead of one per 4 kB, which
 * was a fifth of clip-embed-text's time. Advice only: a kernel without it is no error. */
static float *alloc_floats(size_t count)
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

#define MAX_SLABS 48
typedef struct slab_plan {
	float **dest[MAX_SLABS];
	size_t count[MAX_SLABS];
	int n;
	size_t total;
} slab_plan;

static void plan_add(slab_plan *s, float **dest, size_t count)
{
	if (s->n == MAX_SLABS)
		die(LFM_EXIT_IO, "internal error: too many activation arrays");
	s->dest[s->n] = dest;
	s->count[s->n] = count;
	s->n++;
	s->total += count;
}

/* One zeroed allocation, carved up in order. */
static float *plan_allocate(slab_plan *s)
{
	float *mem = alloc_floats(s->total);
	size_t off = 0;
	for (int i = 0; i < s->n; i++) {
		*s->dest[i] = mem + off;
		off += s->count[i];
	}
	return mem;
}

/* ---- vision tower ------------------------------------------------------------------------------------ */

void clip_vision_init(clip_vision *v, const clip_config *cfg)
{
	memset(v, 0, sizeof *v);
	v->cfg = *cfg;
	clip_param_info info[CLIP_VISION_TENSORS];
	v->num_params = clip_vision_param_info(cfg, info);
	v->param_memory = alloc_floats(v->num_params);
	clip_vision_params_point(&v->params, v->param_memory, cfg);
}

void clip_vision_free(clip_vision *v)
{
	free(v->param_memory);
	free(v->grad_memory);
	free(v->m_memory);
	free(v->v_memory);
	free(v->act_memory);
	free(v->slice_grads);
	memset(v, 0, sizeof *v);
}

void clip_vision_alloc_training(clip_vision *v)
{
	if (v->grad_memory)
		return;
	v->grad_memory = alloc_floats(v->num_params);
	v->m_memory = alloc_floats(v->num_params);
	v->v_memory = alloc_floats(v->num_params);
	clip_vision_params_point(&v->grads, v->grad_memory, &v->cfg);
	clip_vision_params_point(&v->adam_m, v->m_memory, &v->cfg);
	clip_vision_params_point(&v->adam_v, v->v_memory, &v->cfg);
}

void clip_vision_zero_grad(clip_vision *v)
{
	if (v->grad_memory)
		memset(v->grad_memory, 0, v->num_params * sizeof(float));
}

/* Block activations from token row r0 (and attention entry at0) on: the slot of a layer within the
 * stacked arrays, or the rows of some images within a slot. */
static clip_block_acts block_acts_at(const clip_block_acts *x, size_t r0, size_t at0, int W)
{
	size_t r = r0, w = (size_t)W;
	return (clip_block_acts){
		.ln1 = x->ln1 + r * w, .ln1_mean = x->ln1_mean + r, .ln1_rstd = x->ln1_rstd + r,
		.qkv = x->qkv + r * 3 * w, .att = x->att + at0, .atty = x->atty + r * w, .res2 = x->res2 + r * w,
		.ln2 = x->ln2 + r * w, .ln2_mean = x->ln2_mean + r, .ln2_rstd = x->ln2_rstd + r,
		.fch = x->fch + r * 4 * w, .fch_gelu = x->fch_gelu + r * 4 * w, .res3 = x->res3 + r * w,
	};
}

/* The block activations of slot s (N token rows, att attention entries per slot). */
static clip_block_acts block_acts_slot(const clip_block_acts *all, int s, size_t N, int W, size_t att)
{
	return block_acts_at(all, (size_t)s * N, (size_t)s * att, W);
}

void clip_vision_alloc_acts(clip_vision *v, int batch, int training)
{
	if (batch <= v->act_batch && (v->act_training || !training))
		return;
	if (batch < v->act_batch)
		batch = v->act_batch;
	training = training || v->act_training;
	free(v->act_memory);
	v->act_memory = NULL;

	const clip_config *c = &v->cfg;
	size_t B = (size_t)batch, T = (size_t)clip_vision_tokens(c), W = (size_t)c->vision_width;
	size_t NH = (size_t)c->vision_heads, G2 = T - 1, N = B * T, D = (size_t)c->embed_dim;
	size_t S = training ? (size_t)c->vision_layers : 1, att = B * NH * T * T;
	clip_vision_acts *a = &v->acts;
	memset(a, 0, sizeof *a);
	slab_plan p = {0};
	plan_add(&p, &a->patches, B * G2 * (size_t)clip_patch_dim(c));
	plan_add(&p, &a->patch_out, B * G2 * W);
	plan_add(&p, &a->embed, N * W);
	plan_add(&p, &a->ln_pre, N * W);
	plan_add(&p, &a->ln_pre_mean, N);
	plan_add(&p, &a->ln_pre_rstd, N);
	clip_block_acts *ba = &a->blocks;
	plan_add(&p, &ba->ln1, S * N * W);
	plan_add(&p, &ba->ln1_mean, S * N);
	plan_add(&p, &ba->ln1_rstd, S * N);
	plan_add(&p, &ba->qkv, S * N * 3 * W);
	plan_add(&p, &ba->att, S * att);
	plan_add(&p, &ba->atty, S * N * W);
	plan_add(&p, &ba->res2, S * N * W);
	plan_add(&p, &ba->ln2, S * N * W);
	plan_add(&p, &ba->ln2_mean, S * N);
	plan_add(&p, &ba->ln2_rstd, S * N);
	plan_add(&p, &ba->fch, S * N * 4 * W);
	if (training) /* inference applies QuickGELU in place */
		plan_add(&p, &ba->fch_gelu, S * N * 4 * W);
	plan_add(&p, &ba->res3, S * N * W);
	plan_add(&p, &a->cls, B * W);
	plan_add(&p, &a->ln_post, B * W);
	plan_add(&p, &a->ln_post_mean, B);
	plan_add(&p, &a->ln_post_rstd, B);
	plan_add(&p, &a->out, B * D);
	if (training) {
		plan_add(&p, &a->dres, N * W);
		plan_add(&p, &a->dln, N * W);
		plan_add(&p, &a->datty, N * W);
		plan_add(&p, &a->dqkv, N * 3 * W);
		plan_add(&p, &a->dfch, N * 4 * W);
		plan_add(&p, &a->dfch_gelu, N * 4 * W);
		plan_add(&p, &a->datt, att);
		plan_add(&p, &a->dpatch_out, B * G2 * W);
		plan_add(&p, &a->dcls, B * W);
		plan_add(&p, &a->dln_post, B * W);
	}
	v->act_memory = plan_allocate(&p);
	if (!training)
		ba->fch_gelu = ba->fch;
	v->num_acts = p.total;
	v->act_batch = batch;
	v->act_training = training;
	v->fwd_batch = 0;
}

/* One residual attention block: x -> x + attn(ln_1(x)) -> + mlp(ln_2(.)). inp may be a->res3 (activations
 * reused across layers): it is read for the last time before res3 is written. */
static void block_forward(const clip_blocks *p, const clip_block_acts *a, const float *inp, int B, int T,
			  int W, int NH)
{
	size_t N = (size_t)B * T, NW = N * W;
	layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, inp, p->ln1_w, p->ln1_b, N, W);
	matmul_forward(a->qkv, a->ln1, p->qkv_w, p->qkv_b, N, W, 3 * W);
	attention_forward(a->atty, a->att, a->qkv, B, T, W, NH, 0);
	matmul_forward(a->res2, a->atty, p->attn_out_w, p->attn_out_b, N, W, W);
	residual_forward(a->res2, inp, a->res2, NW);
	layernorm_forward(a->ln2, a->ln2_mean, a->ln2_rstd, a->res2, p->ln2_w, p->ln2_b, N, W);
	matmul_forward(a->fch, a->ln2, p->fc_w, p->fc_b, N, W, 4 * W);
	quick_gelu_forward(a->fch_gelu, a->fch, N * 4 * W);
	matmul_forward(a->res3, a->fch_gelu, p->fcproj_w, p->fcproj_b, N, 4 * W, W);
	residual_forward(a->res3, a->res2, a->res3, NW);
}

/* ---- image slices ----
 * Every activation array is laid out image by image ([B, T, ...] rows, [B, NH, T, T] attention), so the
 * images [b0, b0 + nb) of a batch own one contiguous range of each, and a slice of images runs the tower
 * alone with the same layer functions on offset pointers. */

/* Images of slice k of S over a batch of B: contiguous, sizes differing by at most one. */
static void slice_range(int B, int S, int k, int *b0, int *nb)
{
	*b0 = (int)((long)B * k / S);
	*nb = (int)((long)B * (k + 1) / S) - *b0;
}

static int slice_count(const clip_vision *v, int B)
{
	int P = thread_pool_size(v->pool);
	return v->pool && P > 1 ? (B < P ? B : P) : 1;
}

/* Block activations for the rows of images from b0 on, within a layer slot of the whole batch. */
static clip_block_acts block_acts_images(const clip_block_acts *slot, int b0, int T, int W, int NH)
{
	return block_acts_at(slot, (size_t)b0 * T, (size_t)b0 * NH * T * T, W);
}

/* The tower's forward on images [b0, b0 + nb) of a batch of B. */
static void forward_images(clip_vision *v, const float *pixels, int B, int b0, int nb)
{
	const clip_config *c = &v->cfg;
	const clip_vision_params *p = &v->params;
	const clip_vision_acts *a = &v->acts;
	int W = c->vision_width, T = clip_vision_tokens(c), NH = c->vision_heads, D = c->embed_dim;
	int R = c->image_resolution, pd = clip_patch_dim(c);
	size_t N = (size_t)B * T, att = (size_t)B * NH * T * T, w = (size_t)W, G2 = (size_t)T - 1;
	size_t b = (size_t)b0, r = b * T, n = (size_t)nb * T;

	float *patches = a->patches + b * G2 * pd, *patch_out = a->patch_out + b * G2 * w;
	patch_unfold(patches, pixels + b * 3 * R * R, nb, R, c->patch_size);
	patch_embed_forward(patch_out, patches, p->conv1, (size_t)nb * G2, pd, W);
	vision_embed_forward(a->embed + r * w, patch_out, p->class_emb, p->pos_emb, nb, T, W);
	layernorm_forward(a->ln_pre + r * w, a->ln_pre_mean + r, a->ln_pre_rstd + r, a->embed + r * w,
			  p->ln_pre_w, p->ln_pre_b, n, W);
	const float *x = a->ln_pre + r * w;
	for (int l = 0; l < c->vision_layers; l++) {
		clip_blocks bp = clip_blocks_layer(&p->blocks, l, W);
		clip_block_acts slot = block_acts_slot(&a->blocks, v->act_training ? l : 0, N, W, att);
		clip_block_acts ba = block_acts_images(&slot, b0, T, W, NH);
		block_forward(&bp, &ba, x, nb, T, W, NH);
		x = ba.res3;
	}
	for (int i = 0; i < nb; i++)
		memcpy(a->cls + (b + i) * w, x + (size_t)i * T * w, w * sizeof(float));
	layernorm_forward(a->ln_post + b * w, a->ln_post_mean + b, a->ln_post_rstd + b, a->cls + b * w,
			  p->ln_post_w, p->ln_post_b, (size_t)nb, W);
	projection_forward(a->out + b * D, a->ln_post + b * w, p->proj, (size_t)nb, W, D);
}

typedef struct slice_job {
	clip_vision *v;
	const float *pixels;
	int B, S, layer;
} slice_job;

static void forward_slice(void *ctx, size_t k, int worker)
{
	(void)worker;
	const slice_job *j = ctx;
	int b0, nb;
	slice_range(j->B, j->S, (int)k, &b0, &nb);
	forward_images(j->v, j->pixels, j->B, b0, nb);
}

void clip_vision_forward(clip_vision *v, const float *pixels, int B)
{
	if (B <= 0 || B > v->act_batch)
		die(LFM_EXIT_IO, "internal error: vision forward of %d images with activations for %d", B,
		    v->act_batch);
	int S = slice_count(v, B);
	if (S == 1) {
		forward_images(v, pixels, B, 0, B);
	} else {
		slice_job j = {v, pixels, B, S, 0};
		thread_pool_for(v->pool, (size_t)S, forward_slice, &j);
	}
	v->fwd_batch = B;
	v->fwd_training = v->act_training;
}

/* Backward of block_forward. On entry a->dres holds dL/d(block output); on return dL/d(inp). */
static void block_backward(const clip_blocks *p, const clip_blocks *g, const clip_block_acts *a,
			   const clip_vision_acts *s, const float *inp, int B, int T, int W, int NH)
{
	size_t N = (size_t)B * T, NW = N * W, N4W = NW * 4;
	/* res3 = res2 + c_proj(gelu(c_fc(ln_2(res2)))): dres flows to res2 unchanged, plus the MLP branch */
	memset(s->dfch_gelu, 0, N4W * sizeof(float));
	matmul_backward(s->dfch_gelu, g->fcproj_w, g->fcproj_b, s->dres, a->fch_gelu, p->fcproj_w, N, 4 * W, W);
	memset(s->dfch, 0, N4W * sizeof(float));
	quick_gelu_backward(s->dfch, a->fch, s->dfch_gelu, N4W);
	memset(s->dln, 0, NW * sizeof(float));
	matmul_backward(s->dln, g->fc_w, g->fc_b, s->dfch, a->ln2, p->fc_w, N, W, 4 * W);
	layernorm_backward(s->dres, g->ln2_w, g->ln2_b, s->dln, a->res2, p->ln2_w, a->ln2_mean, a->ln2_rstd, N,
			   W);
	/* res2 = inp + out_proj(attention(in_proj(ln_1(inp)))) */
	memset(s->datty, 0, NW * sizeof(float));
	matmul_backward(s->datty, g->attn_out_w, g->attn_out_b, s->dres, a->atty, p->attn_out_w, N, W, W);
	memset(s->dqkv, 0, NW * 3 * sizeof(float));
	attention_backward(s->dqkv, s->datt, s->datty, a->qkv, a->att, B, T, W, NH, 0);
	memset(s->dln, 0, NW * sizeof(float));
	matmul_backward(s->dln, g->qkv_w, g->qkv_b, s->dqkv, a->ln1, p->qkv_w, N, W, 3 * W);
	layernorm_backward(s->dres, g->ln1_w, g->ln1_b, s->dln, inp, p->ln1_w, a->ln1_mean, a->ln1_rstd, N, W);
}

/* Backward scratch for the rows of images from b0 on. */
static clip_vision_acts scratch_images(const clip_vision_acts *a, int b0, int T, int W, int NH)
{
	clip_vision_acts s = *a;
	size_t r = (size_t)b0 * T, w = (size_t)W;
	s.dres += r * w;
	s.dln += r * w;
	s.datty += r * w;
	s.dqkv += r * 3 * w;
	s.dfch += r * 4 * w;
	s.dfch_gelu += r * 4 * w;
	s.datt += (size_t)b0 * NH * T * T;
	return s;
}

/* Backward of block l on images [b0, b0 + nb) of the batch, accumulating into the layer gradients g. */
static void block_backward_images(const clip_vision *v, int l, const clip_blocks *g, int b0, int nb)
{
	const clip_config *c = &v->cfg;
	const clip_vision_acts *a = &v->acts;
	int B = v->fwd_batch, W = c->vision_width, T = clip_vision_tokens(c), NH = c->vision_heads;
	size_t N = (size_t)B * T, att = (size_t)B * NH * T * T;
	clip_blocks bp = clip_blocks_layer(&v->params.blocks, l, W);
	clip_block_acts slot = block_acts_slot(&a->blocks, l, N, W, att);
	clip_block_acts ba = block_acts_images(&slot, b0, T, W, NH);
	const float *inp;
	if (l) {
		clip_block_acts prev = block_acts_slot(&a->blocks, l - 1, N, W, att);
		inp = prev.res3 + (size_t)b0 * T * W;
	} else {
		inp = a->ln_pre + (size_t)b0 * T * W;
	}
	clip_vision_acts sc = scratch_images(a, b0, T, W, NH);
	block_backward(&bp, g, &ba, &sc, inp, nb, T, W, NH);
}

/* The stem's weight gradients: where the parameter table puts conv1, class_emb, pos_emb, ln_pre_w and
 * ln_pre_b (first, one after the other), so they form one range [0, count) of a gradient block. */
#define STEM_TENSORS 5
static size_t stem_point(clip_vision_params *g, float *memory, const clip_config *c)
{
	clip_param_info info[CLIP_VISION_TENSORS];
	clip_vision_param_info(c, info);
	float **m[STEM_TENSORS] = {&g->conv1, &g->class_emb, &g->pos_emb, &g->ln_pre_w, &g->ln_pre_b};
	for (int i = 0; i < STEM_TENSORS; i++)
		*m[i] = memory + info[i].offset;
	return info[STEM_TENSORS].offset;
}

/* ln_pre, the embeddings and the patch embedding backward on images [b0, b0 + nb); a->dres holds
 * dL/d(ln_pre output). */
static void stem_backward_images(const clip_vision *v, const clip_vision_params *g, int b0, int nb)
{
	const clip_config *c = &v->cfg;
	const clip_vision_params *p = &v->params;
	const clip_vision_acts *a = &v->acts;
	int W = c->vision_width, T = clip_vision_tokens(c), pd = clip_patch_dim(c);
	size_t w = (size_t)W, G2 = (size_t)T - 1, b = (size_t)b0, r = b * T, n = (size_t)nb * T;
	memset(a->dln + r * w, 0, n * w * sizeof(float));
	layernorm_backward(a->dln + r * w, g->ln_pre_w, g->ln_pre_b, a->dres + r * w, a->embed + r * w, p->ln_pre_w,
			   a->ln_pre_mean + r, a->ln_pre_rstd + r, n, W);
	float *dpatch_out = a->dpatch_out + b * G2 * w;
	memset(dpatch_out, 0, (size_t)nb * G2 * w * sizeof(float));
	vision_embed_backward(dpatch_out, g->class_emb, g->pos_emb, a->dln + r * w, nb, T, W);
	patch_embed_backward(g->conv1, dpatch_out, a->patches + b * G2 * pd, (size_t)nb * G2, pd, W);
}

/* One layer's gradient tensors in a slab laid out as a one-layer table; returns the floats it holds. */
static size_t blocks_point_slab(clip_blocks *b, float *slab, int W, size_t count[CLIP_BLOCK_TENSORS],
				size_t offset[CLIP_BLOCK_TENSORS])
{
	clip_param_info info[CLIP_BLOCK_TENSORS];
	info_builder ib = {info, 0, 0};
	add_blocks_info(&ib, 1, W);
	float **m[CLIP_BLOCK_TENSORS];
	block_members(b, m);
	for (int i = 0; i < CLIP_BLOCK_TENSORS; i++) {
		*m[i] = slab ? slab + info[i].offset : NULL;
		if (count)
			count[i] = info[i].count;
		if (offset)
			offset[i] = info[i].offset;
	}
	return ib.offset;
}

/* Slice k > 0's private gradient slab. */
static float *slice_slab(const clip_vision *v, int k)
{
	return v->slice_grads + (size_t)(k - 1) * v->slice_grad_floats;
}

/* Phase `layer` (a block, or -1 for the stem) of the backward on slice k: slice 0 accumulates into the
 * tower's gradients, every other slice into its own zeroed slab. */
static void backward_slice(void *ctx, size_t k, int worker)
{
	(void)worker;
	const slice_job *j = ctx;
	const clip_vision *v = j->v;
	int b0, nb, W = v->cfg.vision_width;
	slice_range(j->B, j->S, (int)k, &b0, &nb);
	if (j->layer >= 0) {
		clip_blocks g;
		if (k == 0) {
			g = clip_blocks_layer(&v->grads.blocks, j->layer, W);
		} else {
			size_t n = blocks_point_slab(&g, slice_slab(v, (int)k), W, NULL, NULL);
			memset(slice_slab(v, (int)k), 0, n * sizeof(float));
		}
		block_backward_images(v, j->layer, &g, b0, nb);
	} else {
		clip_vision_params g = v->grads;
		if (k > 0) {
			size_t n = stem_point(&g, slice_slab(v, (int)k), &v->cfg);
			memset(slice_slab(v, (int)k), 0, n * sizeof(float));
		}
		stem_backward_images(v, &g, b0, nb);
	}
}

/* dst[i] += slab_1[i] + ... (in slice order) for the tensors of a phase, in chunks. */
#define REDUCE_CHUNK ((size_t)1 << 16)
typedef struct reduce_job {
	const clip_vision *v;
	int S, n;
	float *dst[CLIP_BLOCK_TENSORS];
	size_t offset[CLIP_BLOCK_TENSORS], count[CLIP_BLOCK_TENSORS];
	size_t first_chunk[CLIP_BLOCK_TENSORS + 1];
} reduce_job;

static void reduce_chunk(void *ctx, size_t k, int worker)
{
	(void)worker;
	const reduce_job *j = ctx;
	int t = 0;
	while (k >= j->first_chunk[t + 1])
		t++;
	size_t from = (k - j->first_chunk[t]) * REDUCE_CHUNK;
	size_t len = j->count[t] - from < REDUCE_CHUNK ? j->count[t] - from : REDUCE_CHUNK;
	float *dst = j->dst[t] + from;
	for (int s = 1; s < j->S; s++) {
		const float *src = slice_slab(j->v, s) + j->offset[t] + from;
		for (size_t i = 0; i < len; i++)
			dst[i] += src[i];
	}
}

static void reduce_phase(clip_vision *v, int S, int layer)
{
	reduce_job j = {.v = v, .S = S};
	if (layer >= 0) {
		clip_blocks g = clip_blocks_layer(&v->grads.blocks, layer, v->cfg.vision_width), unused;
		float **m[CLIP_BLOCK_TENSORS];
		block_members(&g, m);
		blocks_point_slab(&unused, NULL, v->cfg.vision_width, j.count, j.offset);
		for (int i = 0; i < CLIP_BLOCK_TENSORS; i++)
			j.dst[i] = *m[i];
		j.n = CLIP_BLOCK_TENSORS;
	} else {
		clip_vision_params unused;
		j.dst[0] = v->grad_memory;
		j.offset[0] = 0;
		j.count[0] = stem_point(&unused, v->grad_memory, &v->cfg);
		j.n = 1;
	}
	for (int i = 0; i < j.n; i++)
		j.first_chunk[i + 1] = j.first_chunk[i] + (j.count[i] + REDUCE_CHUNK - 1) / REDUCE_CHUNK;
	thread_pool_for(v->pool, j.first_chunk[j.n], reduce_chunk, &j);
}

void clip_vision_set_pool(clip_vision *v, thread_pool *pool)
{
	v->pool = pool;
	free(v->slice_grads);
	v->slice_grads = NULL;
	v->slice_grad_floats = 0;
}

/* Private slabs for up to S slices (allocated once, on the first sliced backward). */
static void ensure_slice_grads(clip_vision *v)
{
	if (v->slice_grads)
		return;
	clip_blocks unused;
	clip_vision_params unused_params;
	size_t block = blocks_point_slab(&unused, NULL, v->cfg.vision_width, NULL, NULL);
	size_t stem = stem_point(&unused_params, v->param_memory, &v->cfg);
	v->slice_grad_floats = block > stem ? block : stem;
	v->slice_grads = alloc_floats((size_t)(thread_pool_size(v->pool) - 1) * v->slice_grad_floats);
}

void clip_vision_backward(clip_vision *v, const float *dfeatures)
{
	const clip_config *c = &v->cfg;
	if (!v->grad_memory || !v->fwd_training || v->fwd_batch <= 0)
		die(LFM_EXIT_IO, "internal error: vision backward without gradients or a training forward");
	int B = v->fwd_batch;
	const clip_vision_params *p = &v->params, *g = &v->grads;
	clip_vision_acts *a = &v->acts;
	int W = c->vision_width, T = clip_vision_tokens(c), D = c->embed_dim;
	size_t NW = (size_t)B * T * W, BW = (size_t)B * W;

	/* the head: B rows, a negligible share of the work */
	memset(a->dln_post, 0, BW * sizeof(float));
	projection_backward(a->dln_post, g->proj, dfeatures, a->ln_post, p->proj, (size_t)B, W, D);
	memset(a->dcls, 0, BW * sizeof(float));
	layernorm_backward(a->dcls, g->ln_post_w, g->ln_post_b, a->dln_post, a->cls, p->ln_post_w,
			   a->ln_post_mean, a->ln_post_rstd, (size_t)B, W);
	memset(a->dres, 0, NW * sizeof(float));
	for (int b = 0; b < B; b++)
		memcpy(a->dres + (size_t)b * T * W, a->dcls + (size_t)b * W, (size_t)W * sizeof(float));

	int S = slice_count(v, B);
	if (S > 1)
		ensure_slice_grads(v);
	for (int phase = c->vision_layers - 1; phase >= -1; phase--) {
		slice_job j = {v, NULL, B, S, phase};
		if (S == 1) {
			backward_slice(&j, 0, 0);
		} else {
			thread_pool_for(v->pool, (size_t)S, backward_slice, &j);
			reduce_phase(v, S, phase);
		}
	}
}

#define ENCODE_IMAGE_BATCH 32

void clip_encode_image(clip_vision *v, const float *pixels, size_t n, float *out)
{
	if (n == 0)
		return;
	const clip_config *c = &v->cfg;
	int chunk = n < ENCODE_IMAGE_BATCH ? (int)n : ENCODE_IMAGE_BATCH;
	if (v->act_batch > chunk)
		chunk = v->act_batch;
	clip_vision_alloc_acts(v, chunk, 0);
	size_t image = 3 * (size_t)c->image_resolution * c->image_resolution, D = (size_t)c->embed_dim;
	for (size_t i = 0; i < n; i += (size_t)chunk) {
		int b = n - i < (size_t)chunk ? (int)(n - i) : chunk;
		clip_vision_forward(v, pixels + i * image, b);
		memcpy(out + i * D, v->acts.out, (size_t)b * D * sizeof(float));
	}
}

/* ---- text tower -------------------------------------------------------------------------------------- */

void clip_text_init(clip_text *t, const clip_config *cfg)
{
	memset(t, 0, sizeof *t);
	t->cfg = *cfg;
	clip_param_info info[CLIP_TEXT_TENSORS];
	t->num_params = clip_text_param_info(cfg, info);
	t->param_memory = alloc_floats(t->num_params);
	clip_text_params_point(&t->params, t->param_memory, cfg);
}

void clip_text_free(clip_text *t)
{
	free(t->param_memory);
	memset(t, 0, sizeof *t);
}

/* Token rows to compute: the prefix tree of a chunk of sequences (one row per distinct prefix). */
typedef struct text_rows {
	size_t n, cap;
	int32_t *token, *parent, *depth;
	size_t *table; /* open addressing over (parent, token): row + 1, 0 = empty */
	size_t table_mask;
} text_rows;

static size_t row_hash(int32_t parent, int32_t token)
{
	uint64_t h = ((uint64_t)(uint32_t)parent << 32 | (uint32_t)token) * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 17);
}

/* The row of token following prefix row `parent` (-1: sequence start), created if new. */
static int32_t rows_child(text_rows *r, int32_t parent, int32_t token, int32_t depth)
{
	size_t i = row_hash(parent, token) & r->table_mask;
	for (;; i = (i + 1) & r->table_mask) {
		size_t e = r->table[i];
		if (!e)
			break;
		if (r->parent[e - 1] == parent && r->token[e - 1] == token)
			return (int32_t)(e - 1);
	}
	size_t row = r->n++;
	r->token[row] = token;
	r->parent[row] = parent;
	r->depth[row] = depth;
	r->table[i] = row + 1;
	return (int32_t)row;
}

typedef struct text_work {
	float *x, *ln, *qkv, *atty, *fch; /* [rows, W], [rows, W], [rows, 3W], [rows, W], [rows, 4W] */
} text_work;

/* Run the tower over the rows, then ln_final and the projection on each sequence's EOT row. */
static void text_rows_forward(const clip_text *t, const text_rows *r, const int32_t *eot_rows, size_t n_seq,
			      const text_work *w, float *out)
{
	const clip_config *c = &t->cfg;
	const clip_text_params *p = &t->params;
	int W = c->text_width, NH = c->text_heads;
	size_t N = r->n, NW = N * W;
	for (size_t i = 0; i < N; i++) {
		const float *te = p->token_emb + (size_t)r->token[i] * W;
		const float *pe = p->pos_emb + (size_t)r->depth[i] * W;
		for (int k = 0; k < W; k++)
			w->x[i * W + k] = te[k] + pe[k];
	}
	for (int l = 0; l < c->text_layers; l++) {
		clip_blocks b = clip_blocks_layer(&p->blocks, l, W);
		layernorm_forward(w->ln, NULL, NULL, w->x, b.ln1_w, b.ln1_b, N, W);
		matmul_forward(w->qkv, w->ln, b.qkv_w, b.qkv_b, N, W, 3 * W);
		prefix_attention_forward(w->atty, w->qkv, r->parent, N, W, NH);
		matmul_forward(w->ln, w->atty, b.attn_out_w, b.attn_out_b, N, W, W);
		residual_forward(w->x, w->x, w->ln, NW);
		layernorm_forward(w->ln, NULL, NULL, w->x, b.ln2_w, b.ln2_b, N, W);
		matmul_forward(w->fch, w->ln, b.fc_w, b.fc_b, N, W, 4 * W);
		quick_gelu_forward(w->fch, w->fch, N * 4 * W);
		matmul_forward(w->ln, w->fch, b.fcproj_w, b.fcproj_b, N, 4 * W, W);
		residual_forward(w->x, w->x, w->ln, NW);
	}
	/* The final LayerNorm and projection once per distinct EOT row: sequences equal up to their EOT end at
	 * the same row, and computing them once gives them bit-identical features wherever they stand in the
	 * list (a product's rounding of a row can depend on how the rows are blocked: OpenBLAS's AVX2 kernels). */
	size_t D = (size_t)c->embed_dim, n_unique = 0;
	int32_t *unique_of_row = xmalloc_array(N, sizeof *unique_of_row);
	size_t *unique_of_seq = xmalloc_array(n_seq, sizeof *unique_of_seq);
	for (size_t i = 0; i < N; i++)
		unique_of_row[i] = -1;
	for (size_t s = 0; s < n_seq; s++) {
		int32_t row = eot_rows[s];
		if (unique_of_row[row] < 0) {
			unique_of_row[row] = (int32_t)n_unique;
			memcpy(w->atty + n_unique * W, w->x + (size_t)row * W, (size_t)W * sizeof(float));
			n_unique++;
		}
		unique_of_seq[s] = (size_t)unique_of_row[row];
	}
	float *features = xmalloc_array(n_unique * D, sizeof *features);
	layernorm_forward(w->ln, NULL, NULL, w->atty, p->ln_final_w, p->ln_final_b, n_unique, W);
	projection_forward(features, w->ln, p->proj, n_unique, W, c->embed_dim);
	for (size_t s = 0; s < n_seq; s++)
		memcpy(out + s * D, features + unique_of_seq[s] * D, D * sizeof *out);
	free(features);
	free(unique_of_seq);
	free(unique_of_row);
}

/* Rows per chunk: bounds the work memory (about 10 x width floats per row). */
#define TEXT_CHUNK_ROWS 8192

int clip_encode_text(const clip_text *t, const int32_t *tokens, size_t n, int stride, float *out, char *err,
		     size_t errsz)
{
	const clip_config *c = &t->cfg;
	size_t W = (size_t)c->text_width, D = (size_t)c->embed_dim;
	if (n == 0)
		return 0;
	if (stride <= 0) {
		snprintf(err, errsz, "token rows of length %d", stride);
		return -1;
	}
	/* Sequence lengths (up to and including the EOT) and their validity, before any work. */
	int *len = xmalloc_array(n, sizeof *len);
	for (size_t s = 0; s < n; s++) {
		const int32_t *row = tokens + s * (size_t)stride;
		int eot = 0;
		for (int i = 1; i < stride; i++)
			if (row[i] > row[eot])
				eot = i;
		if (eot >= c->context_length) {
			snprintf(err, errsz, "sequence %zu: end of text at position %d, beyond the context length %d",
				 s, eot, c->context_length);
			free(len);
			return -1;
		}
		for (int i = 0; i <= eot; i++)
			if (row[i] < 0 || row[i] >= c->vocab_size) {
				snprintf(err, errsz, "sequence %zu: token id %d at position %d outside the vocabulary (0 .. %d)",
					 s, (int)row[i], i, c->vocab_size - 1);
				free(len);
				return -1;
			}
		len[s] = eot + 1;
	}
	/* Rows per chunk: TEXT_CHUNK_ROWS, or fewer when all the tokens take fewer (a short list of prompts
	 * needs no work memory for 8192 rows); at least one whole sequence. */
	size_t total = 0;
	for (size_t s = 0; s < n; s++)
		total += (size_t)len[s];
	size_t cap = total < TEXT_CHUNK_ROWS ? total : TEXT_CHUNK_ROWS;
	if (cap < (size_t)c->context_length)
		cap = (size_t)c->context_length;
	text_rows r = {.cap = cap};
	r.token = xmalloc_array(cap, sizeof *r.token);
	r.parent = xmalloc_array(cap, sizeof *r.parent);
	r.depth = xmalloc_array(cap, sizeof *r.depth);
	size_t tsize = 1;
	while (tsize < 2 * cap)
		tsize <<= 1;
	r.table = xmalloc_array(tsize, sizeof *r.table);
	r.table_mask = tsize - 1;
	int32_t *eot_rows = xmalloc_array(n, sizeof *eot_rows);
	text_work w;
	float *mem = alloc_floats(cap * W * 10);
	w.x = mem;
	w.ln = w.x + cap * W;
	w.qkv = w.ln + cap * W;
	w.atty = w.qkv + 3 * cap * W;
	w.fch = w.atty + cap * W;

	size_t first = 0;
	while (first < n) {
		/* Take sequences while their tokens (an upper bound on new rows) fit. */
		size_t last = first, bound = 0;
		while (last < n && bound + (size_t)len[last] <= cap)
			bound += (size_t)len[last++];
		r.n = 0;
		memset(r.table, 0, tsize * sizeof *r.table);
		for (size_t s = first; s < last; s++) {
			const int32_t *row = tokens + s * (size_t)stride;
			int32_t cur = -1;
			for (int i = 0; i < len[s]; i++)
				cur = rows_child(&r, cur, row[i], i);
			eot_rows[s - first] = cur;
		}
		text_rows_forward(t, &r, eot_rows, last - first, &w, out + first * D);
		first = last;
	}
	free(mem);
	free(eot_rows);
	free(r.table);
	free(r.depth);
	free(r.parent);
	free(r.token);
	free(len);
	return 0;
}
