/* clip_vision.c — see clip_vision.h. */
#include "cpu/clip_vision.h"

#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "cpu/clip_layers.h"

/* ---- one allocation for many named arrays ----------------------------------------------------------- */

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
	float *mem = clip_alloc_floats(s->total);
	size_t off = 0;
	for (int i = 0; i < s->n; i++) {
		*s->dest[i] = mem + off;
		off += s->count[i];
	}
	return mem;
}

/* ---- vision tower ------------------------------------------------------------------------------------ */

void clip_vision_adopt(clip_vision *v, clip_vision_weights *w)
{
	memset(v, 0, sizeof *v);
	v->weights = w;
}

void clip_vision_free(clip_vision *v)
{
	clip_vision_set_pool(v, NULL);
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
	v->grad_memory = clip_alloc_floats(v->weights->num_params);
	v->m_memory = clip_alloc_floats(v->weights->num_params);
	v->v_memory = clip_alloc_floats(v->weights->num_params);
	clip_vision_params_point(&v->grads, v->grad_memory, &v->weights->cfg);
	clip_vision_params_point(&v->adam_m, v->m_memory, &v->weights->cfg);
	clip_vision_params_point(&v->adam_v, v->v_memory, &v->weights->cfg);
}

void clip_vision_zero_grad(clip_vision *v)
{
	if (v->grad_memory)
		memset(v->grad_memory, 0, v->weights->num_params * sizeof(float));
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

	const clip_config *c = &v->weights->cfg;
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
	const clip_config *c = &v->weights->cfg;
	const clip_vision_params *p = &v->weights->params;
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
	const clip_config *c = &v->weights->cfg;
	const clip_vision_acts *a = &v->acts;
	int B = v->fwd_batch, W = c->vision_width, T = clip_vision_tokens(c), NH = c->vision_heads;
	size_t N = (size_t)B * T, att = (size_t)B * NH * T * T;
	clip_blocks bp = clip_blocks_layer(&v->weights->params.blocks, l, W);
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
	const clip_config *c = &v->weights->cfg;
	const clip_vision_params *p = &v->weights->params;
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
	size_t total = clip_blocks_param_info(1, W, info);
	float **m[CLIP_BLOCK_TENSORS];
	clip_blocks_members(b, m);
	for (int i = 0; i < CLIP_BLOCK_TENSORS; i++) {
		*m[i] = slab ? slab + info[i].offset : NULL;
		if (count)
			count[i] = info[i].count;
		if (offset)
			offset[i] = info[i].offset;
	}
	return total;
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
	int b0, nb, W = v->weights->cfg.vision_width;
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
			size_t n = stem_point(&g, slice_slab(v, (int)k), &v->weights->cfg);
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
		clip_blocks g = clip_blocks_layer(&v->grads.blocks, layer, v->weights->cfg.vision_width), unused;
		float **m[CLIP_BLOCK_TENSORS];
		clip_blocks_members(&g, m);
		blocks_point_slab(&unused, NULL, v->weights->cfg.vision_width, j.count, j.offset);
		for (int i = 0; i < CLIP_BLOCK_TENSORS; i++)
			j.dst[i] = *m[i];
		j.n = CLIP_BLOCK_TENSORS;
	} else {
		clip_vision_params unused;
		j.dst[0] = v->grad_memory;
		j.offset[0] = 0;
		j.count[0] = stem_point(&unused, v->grad_memory, &v->weights->cfg);
		j.n = 1;
	}
	for (int i = 0; i < j.n; i++)
		j.first_chunk[i + 1] = j.first_chunk[i] + (j.count[i] + REDUCE_CHUNK - 1) / REDUCE_CHUNK;
	thread_pool_for(v->pool, j.first_chunk[j.n], reduce_chunk, &j);
}

void clip_vision_set_pool(clip_vision *v, thread_pool *pool)
{
	if (pool && !v->pool) {
		v->blas_threads = openblas_get_num_threads();
		openblas_set_num_threads(1);
	} else if (!pool && v->pool) {
		openblas_set_num_threads(v->blas_threads);
	}
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
	size_t block = blocks_point_slab(&unused, NULL, v->weights->cfg.vision_width, NULL, NULL);
	size_t stem = stem_point(&unused_params, v->weights->param_memory, &v->weights->cfg);
	v->slice_grad_floats = block > stem ? block : stem;
	v->slice_grads = clip_alloc_floats((size_t)(thread_pool_size(v->pool) - 1) * v->slice_grad_floats);
}

void clip_vision_backward(clip_vision *v, const float *dfeatures)
{
	const clip_config *c = &v->weights->cfg;
	if (!v->grad_memory || !v->fwd_training || v->fwd_batch <= 0)
		die(LFM_EXIT_IO, "internal error: vision backward without gradients or a training forward");
	int B = v->fwd_batch;
	const clip_vision_params *p = &v->weights->params, *g = &v->grads;
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
	const clip_config *c = &v->weights->cfg;
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

void clip_encode_image_once(clip_vision_weights *w, const float *pixels, size_t n, float *out)
{
	clip_vision v;
	clip_vision_adopt(&v, w);
	clip_encode_image(&v, pixels, n, out);
	clip_vision_free(&v);
}
