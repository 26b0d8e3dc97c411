// fit_cuda.cu — the CUDA runner behind train/fit_step.h's seam (cuda_fit.h): the vision tower, the cosine
// head, the loss and Adam on the device, in cpu/clip_vision.c's and fit_step.c's order. Device memory:
// one allocation each for the parameters (laid out as the host block: clip_vision_params_point over device
// memory gives the same named pointers), the gradients, Adam's two moments, and everything else a step
// needs (activations for max_batch images, the backward's scratch, the head, the loss's constants).
//
// A step is one CUDA graph: the batch goes to page-locked buffers and is copied on the stream, then the
// graph of the whole forward, loss and backward runs (captured at the second full batch, after the first
// has run eagerly and so made every cuBLASLt plan and sized every buffer); the update is a second graph
// whose Adam reads the step's scalars from device memory. A batch smaller than the largest (an epoch's
// last) runs the same functions eagerly, so the graphs stay valid. Eager and graph steps issue the same
// kernels with the same arguments: the same bits (tests/cli/device.sh compares LFM_CUDA_GRAPHS=0).
//
// --recompute (fit_context.recompute): only each block's input is kept per layer; the backward runs the
// block's forward again into one set of activation arrays before its backward. The kernels are
// deterministic, so the gradients are the same bits as with every layer's activations kept.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "cuda_blocks.h"
#include "cuda_common.h"
#include "cuda_dist.h"
#include "cuda_fit.h"
#include "cuda_kernels.h"
#include "cuda_memory.h"
#include "cuda_preprocess.h"

extern "C" [[noreturn]] void die(int code, const char *fmt, ...);

namespace {

// Named arrays carved out of one allocation: add() each, then allocate().
struct arena {
	std::vector<std::pair<float **, size_t>> parts;
	size_t total = 0;
	float *memory = nullptr;
	void add(float **dest, size_t count)
	{
		count = (count + 3) & ~(size_t)3; // 16-byte alignment for every array
		parts.push_back({dest, count});
		total += count;
	}
	void allocate(lfm_cuda_context *ctx, const char *what)
	{
		memory = lfm_dev_alloc_floats(ctx, total ? total : 1, what);
		size_t at = 0;
		for (auto &p : parts) {
			*p.first = memory + at;
			at += p.second;
		}
	}
};

struct cuda_fit {
	lfm_cuda_context *ctx;
	lfm_precision prec;
	int stage, max_batch, C, D, W, T, NH, L, R, P, pd, G2, kept_layers;
	size_t num_params;
	float *params, *grads, *m, *v; // stage 1: the tower's block, its gradients and moments
	uint16_t *params_bf16;         // bf16: the block rounded once per update, what the products read
	clip_vision_params p, g;
	arena acts;
	std::vector<cuda_block_acts> blocks; // one per layer when training, else one reused
	float *patches, *patch_out, *embed, *ln_pre, *ln_pre_mean, *ln_pre_rstd, *cls, *ln_post, *ln_post_mean,
	    *ln_post_rstd, *out;
	cuda_block_scratch bs;
	float *dpatch_out, *dcls, *dln_post, *dfeat;
	float *text, *fn, *norm, *h, *dh, *fc, *fc_grad, *fc_m, *fc_v;
	float *shift, *margins, *offsets, *pixels, *targets, *logits, *dlogits, *loss_scratch, *loss_value;
	float *cls_rows_f;
	int32_t *cls_rows;
	cuda_loss loss;
	float *host_grads, *host_m, *host_v; // what sync_host fills
	std::vector<float *> layer_in;       // --recompute: the input of each layer (0: ln_pre)
	// page-locked staging: the batch in, the loss and logits out, the update's scalars
	float *pin_pixels, *pin_targets, *pin_logits;
	double *pin_loss;
	cuda_adam_scalars *pin_adam, *adam_dev;
	bool use_graphs;
	int full_steps, full_logits; // eager runs at max_batch so far (the first warms up, the second captures)
	int loss_batch;              // the divisor of this step's loss (fit_state.loss_batch: B, or the global batch)
	int graph_loss_batch;        // ... the one the step graphs were captured with (0: none yet)
	cudaGraphExec_t graph_step, graph_update, graph_logits;
	unsigned cast_generation; // the context's cast buffer when the graphs were captured
	// raw batches (fit_raw_batch): the images' size, its plan, and the buffers, made at the first one
	int raw_w, raw_h;
	size_t raw_img, raw_bytes; // bytes an image; of a staged batch (images, flips, lx)
	cuda_preprocess_plan *plan;
	uint8_t *raw_dev, *pin_raw;
	float *pix_j, *prep_scratch;
	size_t pix_j_floats, prep_scratch_floats;
	int full_steps_raw, full_logits_raw;
	cudaGraphExec_t graph_step_raw, graph_logits_raw;
};

cuda_fit *of(fit_state *s) { return (cuda_fit *)s->device; }

size_t trained_count(const cuda_fit *f) { return f->stage == 1 ? f->num_params : (size_t)f->D * f->D; }

void add_block(arena &a, cuda_block_acts *b, size_t N, int W, size_t att)
{
	a.add(&b->ln1, N * W), a.add(&b->ln1_mean, N), a.add(&b->ln1_rstd, N), a.add(&b->qkv, N * 3 * W);
	a.add(&b->att, att), a.add(&b->atty, N * W), a.add(&b->res2, N * W), a.add(&b->ln2, N * W);
	a.add(&b->ln2_mean, N), a.add(&b->ln2_rstd, N), a.add(&b->fch, N * 4 * W), a.add(&b->fch_gelu, N * 4 * W);
	a.add(&b->res3, N * W);
}

void upload_floats(lfm_cuda_context *ctx, float *dst, const float *src, size_t n)
{
	lfm_dev_upload(ctx, dst, src, n * sizeof(float));
}

void *create(fit_state *s, char *err, size_t errsz)
{
	lfm_cuda_context *ctx = (lfm_cuda_context *)s->ctx.device_context;
	if (!ctx) {
		snprintf(err, errsz, "the CUDA runner needs a CUDA context");
		return NULL;
	}
	const clip_config *c = &s->weights->cfg;
	cuda_fit *f = new cuda_fit();
	f->ctx = ctx;
	f->prec = s->ctx.precision;
	f->stage = s->stage;
	f->max_batch = s->max_batch;
	f->C = s->classes, f->D = s->dim, f->W = c->vision_width, f->T = clip_vision_tokens(c), f->NH = c->vision_heads;
	f->L = c->vision_layers, f->R = c->image_resolution, f->P = c->patch_size, f->pd = clip_patch_dim(c);
	f->G2 = f->T - 1;
	f->num_params = s->weights->num_params;
	int B = f->max_batch, T = f->T, W = f->W, D = f->D, C = f->C, training = s->stage == 1;
	size_t N = (size_t)B * T, att = cuda_block_att_floats(f->prec, B, T, W, f->NH);
	// the tower's parameters, same layout as the host block
	f->params = lfm_dev_alloc_floats(ctx, f->num_params, "the vision tower's parameters");
	upload_floats(ctx, f->params, s->weights->param_memory, f->num_params);
	clip_vision_params_point(&f->p, f->params, c);
	if (f->prec == LFM_PRECISION_BF16) {
		f->params_bf16 = (uint16_t *)lfm_dev_alloc(ctx, f->num_params * 2, "the bf16 copy of the tower's parameters");
		cuda_round_bf16(ctx, f->params_bf16, f->params, f->num_params);
		cuda_gemm_set_bf16_shadow(ctx, f->params, f->params_bf16, f->num_params);
	}
	if (training) {
		f->grads = lfm_dev_alloc_floats(ctx, f->num_params, "the vision tower's gradients");
		f->m = lfm_dev_alloc_floats(ctx, f->num_params, "Adam's first moments");
		f->v = lfm_dev_alloc_floats(ctx, f->num_params, "Adam's second moments");
		lfm_dev_zero(ctx, f->m, f->num_params * sizeof(float));
		lfm_dev_zero(ctx, f->v, f->num_params * sizeof(float));
		clip_vision_params_point(&f->g, f->grads, c);
	}
	// everything else in one allocation
	arena &a = f->acts;
	int recompute = training && s->ctx.recompute;
	f->kept_layers = training && !recompute ? f->L : 1;
	f->blocks.resize(f->kept_layers);
	for (auto &b : f->blocks)
		add_block(a, &b, N, W, att);
	if (recompute) {
		f->layer_in.resize(f->L);
		for (int l = 1; l < f->L; l++)
			a.add(&f->layer_in[l], N * W);
	}
	a.add(&f->patches, (size_t)B * f->G2 * f->pd), a.add(&f->patch_out, (size_t)B * f->G2 * W);
	a.add(&f->embed, N * W), a.add(&f->ln_pre, N * W), a.add(&f->ln_pre_mean, N), a.add(&f->ln_pre_rstd, N);
	a.add(&f->cls, (size_t)B * W), a.add(&f->ln_post, (size_t)B * W), a.add(&f->ln_post_mean, B);
	a.add(&f->ln_post_rstd, B), a.add(&f->out, (size_t)B * D);
	if (training) {
		a.add(&f->bs.dres, N * W), a.add(&f->bs.dln, N * W), a.add(&f->bs.datty, N * W);
		a.add(&f->bs.dqkv, N * 3 * W), a.add(&f->bs.dfch, N * 4 * W), a.add(&f->bs.dfch_gelu, N * 4 * W);
		a.add(&f->bs.datt, cuda_block_datt_floats(f->prec, B, T, W, f->NH));
		a.add(&f->dpatch_out, (size_t)B * f->G2 * W), a.add(&f->dcls, (size_t)B * W);
		a.add(&f->dln_post, (size_t)B * W), a.add(&f->dfeat, (size_t)B * D);
	}
	size_t sums = cuda_block_sums_floats(N, W);
	size_t more = cuda_matmul_backward_scratch_floats((size_t)B * f->G2, W);
	a.add(&f->bs.sums, sums > more ? sums : more);
	a.add(&f->text, (size_t)C * D), a.add(&f->fn, (size_t)B * D), a.add(&f->norm, B), a.add(&f->h, (size_t)B * D);
	a.add(&f->dh, (size_t)B * D);
	int with_fc = s->head.fc != NULL;
	if (with_fc)
		a.add(&f->fc, (size_t)D * D), a.add(&f->fc_grad, (size_t)D * D), a.add(&f->fc_m, (size_t)D * D),
		    a.add(&f->fc_v, (size_t)D * D);
	a.add(&f->shift, C), a.add(&f->margins, C), a.add(&f->offsets, (size_t)C * C);
	a.add(&f->pixels, (size_t)B * 3 * f->R * f->R), a.add(&f->targets, (size_t)B * C);
	a.add(&f->logits, (size_t)B * C), a.add(&f->dlogits, (size_t)B * C);
	a.add(&f->loss_scratch, cuda_head_loss_scratch_floats(B, C, D)), a.add(&f->loss_value, 4);
	a.add(&f->cls_rows_f, (size_t)B);
	a.add((float **)&f->adam_dev, (sizeof(cuda_adam_scalars) + 3) / 4);
	a.allocate(ctx, "the activations and working memory of a step");
	if (recompute)
		f->layer_in[0] = f->ln_pre;
	f->pin_pixels = (float *)lfm_host_alloc((size_t)B * 3 * f->R * f->R * sizeof(float), "a batch's pixels");
	f->pin_targets = (float *)lfm_host_alloc((size_t)B * C * sizeof(float), "a batch's targets");
	f->pin_logits = (float *)lfm_host_alloc((size_t)B * C * sizeof(float), "a batch's logits");
	f->pin_loss = (double *)lfm_host_alloc(sizeof(double), "the loss");
	f->pin_adam = (cuda_adam_scalars *)lfm_host_alloc(sizeof(cuda_adam_scalars), "Adam's scalars");
	const char *g = getenv("LFM_CUDA_GRAPHS");
	f->use_graphs = !(g && !strcmp(g, "0"));
	f->cls_rows = (int32_t *)f->cls_rows_f;
	std::vector<int32_t> rows(B);
	for (int b = 0; b < B; b++)
		rows[b] = b * T;
	lfm_dev_upload(ctx, f->cls_rows, rows.data(), B * sizeof(int32_t));
	upload_floats(ctx, f->text, s->head.text, (size_t)C * D);
	if (with_fc) {
		upload_floats(ctx, f->fc, s->head.fc, (size_t)D * D);
		lfm_dev_zero(ctx, f->fc_m, (size_t)D * D * sizeof(float));
		lfm_dev_zero(ctx, f->fc_v, (size_t)D * D * sizeof(float));
	}
	if (s->has_loss) {
		const loss_fn *L = &s->loss;
		f->loss = cuda_loss{(int)L->kind, C, NULL, NULL, NULL, L->gamma, L->scale, L->temperature};
		if (L->class_shift)
			upload_floats(ctx, f->shift, L->class_shift, C), f->loss.class_shift = f->shift;
		if (L->margins)
			upload_floats(ctx, f->margins, L->margins, C), f->loss.margins = f->margins;
		if (L->offsets)
			upload_floats(ctx, f->offsets, L->offsets, (size_t)C * C), f->loss.offsets = f->offsets;
	}
	size_t n = training ? f->num_params : with_fc ? (size_t)D * D : 1;
	f->host_grads = (float *)calloc(n, sizeof(float));
	f->host_m = (float *)calloc(n, sizeof(float));
	f->host_v = (float *)calloc(n, sizeof(float));
	if (!f->host_grads || !f->host_m || !f->host_v)
		die(3, "out of memory for the host copies of the device state");
	return f;
}

void free_raw(cuda_fit *f)
{
	lfm_cuda_context *ctx = f->ctx;
	cuda_preprocess_plan_free(ctx, f->plan);
	lfm_dev_free(ctx, f->raw_dev, f->raw_bytes);
	lfm_dev_free(ctx, f->pix_j, f->pix_j_floats * sizeof(float));
	lfm_dev_free(ctx, f->prep_scratch, f->prep_scratch_floats * sizeof(float));
	lfm_host_free(f->pin_raw);
	f->plan = NULL, f->raw_dev = NULL, f->pin_raw = NULL, f->pix_j = NULL, f->prep_scratch = NULL;
	f->raw_w = f->raw_h = 0;
}

void destroy(fit_state *s)
{
	cuda_fit *f = of(s);
	if (!f)
		return;
	lfm_cuda_context *ctx = f->ctx;
	if (f->params_bf16) {
		if (ctx->bf16_shadow == f->params_bf16)
			cuda_gemm_set_bf16_shadow(ctx, NULL, NULL, 0);
		lfm_dev_free(ctx, f->params_bf16, f->num_params * 2);
	}
	lfm_dev_free(ctx, f->params, f->num_params * sizeof(float));
	if (f->grads) {
		lfm_dev_free(ctx, f->grads, f->num_params * sizeof(float));
		lfm_dev_free(ctx, f->m, f->num_params * sizeof(float));
		lfm_dev_free(ctx, f->v, f->num_params * sizeof(float));
	}
	lfm_cuda_sync(ctx, NULL, 0);
	for (cudaGraphExec_t g : {f->graph_step, f->graph_update, f->graph_logits, f->graph_step_raw, f->graph_logits_raw})
		if (g)
			CUDA_CHECK(cudaGraphExecDestroy(g));
	free_raw(f);
	lfm_dev_free(ctx, f->acts.memory, f->acts.total * sizeof(float));
	for (void *p : {(void *)f->pin_pixels, (void *)f->pin_targets, (void *)f->pin_logits, (void *)f->pin_loss,
			(void *)f->pin_adam})
		lfm_host_free(p);
	free(f->host_grads), free(f->host_m), free(f->host_v);
	delete f;
	s->device = NULL;
}

// The tower's features of the B images in f->pixels into f->out.
void vision_forward(cuda_fit *f, int B)
{
	lfm_cuda_context *ctx = f->ctx;
	int T = f->T, W = f->W;
	size_t N = (size_t)B * T;
	cuda_patch_unfold(ctx, f->patches, f->pixels, B, f->R, f->P);
	cuda_matmul_forward(ctx, f->prec, f->patch_out, f->patches, f->p.conv1, NULL, (size_t)B * f->G2, f->pd, W);
	cuda_vision_embed_forward(ctx, f->embed, f->patch_out, f->p.class_emb, f->p.pos_emb, B, T, W);
	cuda_layernorm_forward(ctx, f->ln_pre, f->ln_pre_mean, f->ln_pre_rstd, f->embed, f->p.ln_pre_w, f->p.ln_pre_b, N, W);
	const float *x = f->ln_pre;
	for (int l = 0; l < f->L; l++) {
		clip_blocks bp = clip_blocks_layer(&f->p.blocks, l, W);
		const cuda_block_acts *a = &f->blocks[f->kept_layers == f->L ? l : 0];
		cuda_block_forward(ctx, f->prec, &bp, a, x, B, T, W, f->NH, 0);
		x = a->res3;
		if (!f->layer_in.empty() && l + 1 < f->L) // --recompute: the next layer's input, kept
			lfm_dev_copy(ctx, f->layer_in[l + 1], x, N * W * sizeof(float));
	}
	cuda_gather_rows(ctx, f->cls, x, f->cls_rows, B, W);
	cuda_layernorm_forward(ctx, f->ln_post, f->ln_post_mean, f->ln_post_rstd, f->cls, f->p.ln_post_w, f->p.ln_post_b,
			       (size_t)B, W);
	cuda_projection_forward(ctx, f->prec, f->out, f->ln_post, f->p.proj, (size_t)B, W, f->D);
}

// logits of the features in f->out (W applied when the state has one): f->fn the normalised input
void head_forward(cuda_fit *f, int B)
{
	const float *feat = f->out;
	if (f->fc) {
		cuda_cosine_fc_forward(f->ctx, f->h, f->out, f->fc, B, f->D);
		feat = f->h;
	}
	cuda_l2norm_forward(f->ctx, f->fn, f->norm, feat, (size_t)B, f->D);
	cuda_cosine_logits_forward(f->ctx, f->logits, f->fn, f->text, B, f->D, f->C);
}

void vision_backward(cuda_fit *f, int B)
{
	lfm_cuda_context *ctx = f->ctx;
	int T = f->T, W = f->W, D = f->D;
	size_t N = (size_t)B * T, BW = (size_t)B * W;
	lfm_dev_zero(ctx, f->grads, f->num_params * sizeof(float));
	lfm_dev_zero(ctx, f->dln_post, BW * sizeof(float));
	cuda_projection_backward(ctx, f->prec, f->dln_post, f->g.proj, f->dfeat, f->ln_post, f->p.proj, (size_t)B, W, D);
	lfm_dev_zero(ctx, f->dcls, BW * sizeof(float));
	cuda_layernorm_backward(ctx, f->dcls, f->g.ln_post_w, f->g.ln_post_b, f->dln_post, f->cls, f->p.ln_post_w,
				f->ln_post_mean, f->ln_post_rstd, (size_t)B, W, f->bs.sums);
	lfm_dev_zero(ctx, f->bs.dres, N * W * sizeof(float));
	cuda_scatter_add_rows(ctx, f->bs.dres, f->dcls, f->cls_rows, B, W);
	for (int l = f->L - 1; l >= 0; l--) {
		clip_blocks bp = clip_blocks_layer(&f->p.blocks, l, W), bg = clip_blocks_layer(&f->g.blocks, l, W);
		if (f->layer_in.empty()) {
			const float *inp = l ? f->blocks[l - 1].res3 : f->ln_pre;
			cuda_block_backward(ctx, f->prec, &bp, &bg, &f->blocks[l], &f->bs, inp, B, T, W, f->NH);
			continue;
		}
		// --recompute: the last layer's activations are still there from the forward; the others are
		// made again from the layer's kept input
		if (l != f->L - 1)
			cuda_block_forward(ctx, f->prec, &bp, &f->blocks[0], f->layer_in[l], B, T, W, f->NH, 0);
		cuda_block_backward(ctx, f->prec, &bp, &bg, &f->blocks[0], &f->bs, f->layer_in[l], B, T, W, f->NH);
	}
	lfm_dev_zero(ctx, f->bs.dln, N * W * sizeof(float));
	cuda_layernorm_backward(ctx, f->bs.dln, f->g.ln_pre_w, f->g.ln_pre_b, f->bs.dres, f->embed, f->p.ln_pre_w,
				f->ln_pre_mean, f->ln_pre_rstd, N, W, f->bs.sums);
	lfm_dev_zero(ctx, f->dpatch_out, (size_t)B * f->G2 * W * sizeof(float));
	cuda_vision_embed_backward(ctx, f->dpatch_out, f->g.class_emb, f->g.pos_emb, f->bs.dln, B, T, W, NULL);
	cuda_matmul_backward(ctx, f->prec, NULL, f->g.conv1, NULL, f->dpatch_out, f->patches, NULL, (size_t)B * f->G2, f->pd,
			     W, f->bs.sums);
}

// Forward, loss and backward of the batch in f->pixels / f->targets, the loss and logits copied to the
// page-locked buffers: everything a step's graph holds (no host synchronisation inside). The backward runs
// whatever the loss: a graph cannot branch on it, and with a non-finite loss fit_step applies nothing.
void step_body(cuda_fit *f, int B)
{
	lfm_cuda_context *ctx = f->ctx;
	int C = f->C, D = f->D;
	vision_forward(f, B);
	// stage 2: h = W·feature first; then the head, the loss and d(loss)/d(feature or h) in one kernel
	const float *feat = f->out;
	if (f->fc) {
		cuda_cosine_fc_forward(ctx, f->h, f->out, f->fc, B, D);
		feat = f->h;
	}
	double *loss_dev = (double *)f->loss_value;
	float *dfeat = f->stage == 1 ? f->dfeat : f->dh;
	cuda_head_loss_forward_backward_part(ctx, &f->loss, loss_dev, f->logits, f->dlogits, f->fn, f->norm, dfeat, feat,
					     f->text, f->targets, B, f->loss_batch, D, f->loss_scratch);
	lfm_dev_download_async(ctx, f->pin_loss, loss_dev, sizeof(double));
	lfm_dev_download_async(ctx, f->pin_logits, f->logits, (size_t)B * C * sizeof(float));
	if (f->stage == 1) {
		vision_backward(f, B);
	} else {
		lfm_dev_zero(ctx, f->fc_grad, (size_t)D * D * sizeof(float));
		cuda_cosine_fc_backward(ctx, NULL, f->fc_grad, f->dh, f->out, f->fc, B, D); // the tower is frozen
	}
}

void update_body(cuda_fit *f)
{
	if (f->stage == 1)
		cuda_adam_step_device(f->ctx, f->params, f->grads, f->m, f->v, f->num_params, f->adam_dev, f->params_bf16);
	else
		cuda_adam_step_device(f->ctx, f->fc, f->fc_grad, f->fc_m, f->fc_v, (size_t)f->D * f->D, f->adam_dev, NULL);
}

void logits_body(cuda_fit *f, int B)
{
	vision_forward(f, B);
	head_forward(f, B);
	lfm_dev_download_async(f->ctx, f->pin_logits, f->logits, (size_t)B * f->C * sizeof(float));
}

// Run body (which issues work on the stream and never synchronises) through a graph of it, captured the
// second time it is asked for; eagerly before, or when graphs are off. The first eager run makes every
// plan and buffer a capture must not make.
template <class Body> void run_graphed(cuda_fit *f, cudaGraphExec_t *exec, int *eager_runs, Body body)
{
	if (f->cast_generation != f->ctx->cast_buffer_generation) {
		// the bf16 cast buffer was replaced (a larger product ran eagerly): the graphs read the old one
		for (cudaGraphExec_t *g :
		     {&f->graph_step, &f->graph_update, &f->graph_logits, &f->graph_step_raw, &f->graph_logits_raw})
			if (*g) {
				CUDA_CHECK(cudaGraphExecDestroy(*g));
				*g = NULL;
			}
		f->cast_generation = f->ctx->cast_buffer_generation;
	}
	if (!*exec && f->use_graphs && *eager_runs >= 1) {
		cudaGraph_t g;
		CUDA_CHECK(cudaStreamBeginCapture(f->ctx->stream, cudaStreamCaptureModeGlobal));
		body();
		CUDA_CHECK(cudaStreamEndCapture(f->ctx->stream, &g));
		CUDA_CHECK(cudaGraphInstantiate(exec, g, 0));
		CUDA_CHECK(cudaGraphDestroy(g));
	}
	if (*exec) {
		CUDA_CHECK(cudaGraphLaunch(*exec, f->ctx->stream));
		return;
	}
	body();
	++*eager_runs;
}

// Staged raw batch layout (page-locked and on the device alike, offsets for max_batch images so that a
// graph's pointers hold for every batch): images i, images j, flips i, flips j, then lx (4-aligned).
size_t raw_off_j(const cuda_fit *f) { return (size_t)f->max_batch * f->raw_img; }
size_t raw_off_flip_i(const cuda_fit *f) { return 2 * (size_t)f->max_batch * f->raw_img; }
size_t raw_off_flip_j(const cuda_fit *f) { return raw_off_flip_i(f) + f->max_batch; }
size_t raw_off_lx(const cuda_fit *f) { return (raw_off_flip_j(f) + f->max_batch + 3) & ~(size_t)3; }

// The plan and buffers for raw batches of w x h images (again when the size changes).
void prepare_raw(cuda_fit *f, int w, int h)
{
	if (f->raw_w == w && f->raw_h == h)
		return;
	for (cudaGraphExec_t *g : {&f->graph_step_raw, &f->graph_logits_raw})
		if (*g) {
			CUDA_CHECK(cudaGraphExecDestroy(*g));
			*g = NULL;
		}
	f->full_steps_raw = f->full_logits_raw = 0;
	free_raw(f);
	lfm_cuda_context *ctx = f->ctx;
	int B = f->max_batch;
	f->raw_w = w, f->raw_h = h;
	f->raw_img = (size_t)w * h * 3;
	f->plan = cuda_preprocess_plan_new(ctx, w, h, f->R);
	f->raw_bytes = raw_off_lx(f) + (size_t)B * sizeof(float);
	f->raw_dev = (uint8_t *)lfm_dev_alloc(ctx, f->raw_bytes, "a raw batch's images");
	f->pin_raw = (uint8_t *)lfm_host_alloc(f->raw_bytes, "a raw batch's images");
	f->pix_j_floats = (size_t)B * 3 * f->R * f->R;
	f->pix_j = lfm_dev_alloc_floats(ctx, f->pix_j_floats, "the partner images' pixels");
	f->prep_scratch_floats = cuda_preprocess_scratch_floats(f->plan, B);
	f->prep_scratch = lfm_dev_alloc_floats(ctx, f->prep_scratch_floats ? f->prep_scratch_floats : 1,
					       "the preprocessing's working memory");
}

// Copy a raw batch to the page-locked buffer and start its upload.
void stage_raw(cuda_fit *f, const fit_raw_batch *b)
{
	if (b->width < 1 || b->height < 1)
		die(3, "internal error: a raw batch of %d x %d images", b->width, b->height);
	prepare_raw(f, b->width, b->height);
	size_t n = (size_t)b->count;
	memcpy(f->pin_raw, b->images_i, n * f->raw_img);
	memcpy(f->pin_raw + raw_off_j(f), b->images_j, n * f->raw_img);
	memcpy(f->pin_raw + raw_off_flip_i(f), b->flip_i, n);
	memcpy(f->pin_raw + raw_off_flip_j(f), b->flip_j, n);
	memcpy(f->pin_raw + raw_off_lx(f), b->lx, n * sizeof(float));
	lfm_dev_upload_async(f->ctx, f->raw_dev, f->pin_raw, f->raw_bytes);
}

// f->pixels of the staged raw batch: both images preprocessed (flip, resize, crop, normalise), then mixed
// — the batch loader's arithmetic, bit for bit.
void preprocess_body(cuda_fit *f, int B)
{
	const uint8_t *d = f->raw_dev;
	cuda_preprocess_batch(f->ctx, f->plan, f->pixels, d, d + raw_off_flip_i(f), B, f->prep_scratch);
	cuda_preprocess_batch(f->ctx, f->plan, f->pix_j, d + raw_off_j(f), d + raw_off_flip_j(f), B, f->prep_scratch);
	cuda_pixel_mix_batch(f->ctx, f->pixels, f->pixels, f->pix_j, (const float *)(d + raw_off_lx(f)), B,
			     (size_t)3 * f->R * f->R);
}

// The divisor of the loss for this step, and whether the step graphs (captured at one divisor, which
// they hold) may run it: a full slice of a data-parallel batch whose global size differs runs eagerly.
bool set_loss_batch(fit_state *s, cuda_fit *f, int B)
{
	f->loss_batch = s->loss_batch >= B && s->loss_batch > 0 ? s->loss_batch : B;
	if (B != f->max_batch)
		return false;
	if (!f->graph_loss_batch)
		f->graph_loss_batch = f->loss_batch;
	return f->graph_loss_batch == f->loss_batch;
}

// An empty slice of a small last batch (data parallel): no gradient, loss 0; the sums still count it.
double empty_step(cuda_fit *f)
{
	if (f->stage == 1)
		lfm_dev_zero(f->ctx, f->grads, f->num_params * sizeof(float));
	else
		lfm_dev_zero(f->ctx, f->fc_grad, (size_t)f->D * f->D * sizeof(float));
	CUDA_CHECK(cudaStreamSynchronize(f->ctx->stream));
	return 0;
}

double forward_backward_raw(fit_state *s, const fit_raw_batch *b, const float *targets)
{
	cuda_fit *f = of(s);
	int B = b->count;
	size_t ntgt = (size_t)B * f->C;
	bool graphed = set_loss_batch(s, f, B);
	stage_raw(f, b);
	memcpy(f->pin_targets, targets, ntgt * sizeof(float));
	lfm_dev_upload_async(f->ctx, f->targets, f->pin_targets, ntgt * sizeof(float));
	auto body = [&] {
		preprocess_body(f, B);
		step_body(f, B);
	};
	if (graphed)
		run_graphed(f, &f->graph_step_raw, &f->full_steps_raw, body);
	else
		body();
	CUDA_CHECK(cudaStreamSynchronize(f->ctx->stream));
	memcpy(s->logits, f->pin_logits, ntgt * sizeof(float));
	return *f->pin_loss;
}

void logits_raw(fit_state *s, const fit_raw_batch *b, float *out)
{
	cuda_fit *f = of(s);
	int B = b->count;
	stage_raw(f, b);
	auto body = [&] {
		preprocess_body(f, B);
		logits_body(f, B);
	};
	if (B == f->max_batch)
		run_graphed(f, &f->graph_logits_raw, &f->full_logits_raw, body);
	else
		body();
	CUDA_CHECK(cudaStreamSynchronize(f->ctx->stream));
	memcpy(out, f->pin_logits, (size_t)B * f->C * sizeof(float));
}

// Data parallel: the gradients summed over the ranks (NCCL, on the stream, before the update reads them).
void reduce_grads(fit_state *s)
{
	cuda_fit *f = of(s);
	if (f->stage == 1)
		lfm_cuda_allreduce_sum(f->ctx, f->grads, f->num_params);
	else
		lfm_cuda_allreduce_sum(f->ctx, f->fc_grad, (size_t)f->D * f->D);
	CUDA_CHECK(cudaStreamSynchronize(f->ctx->stream)); // the watchdog brackets this call: wait inside it
}

double forward_backward(fit_state *s, const float *pixels, const float *targets, int B)
{
	cuda_fit *f = of(s);
	lfm_cuda_context *ctx = f->ctx;
	if (B == 0)
		return empty_step(f);
	bool graphed = set_loss_batch(s, f, B);
	size_t npix = (size_t)B * 3 * f->R * f->R, ntgt = (size_t)B * f->C;
	// the page-locked buffers are free: the previous step's copies were waited for
	memcpy(f->pin_pixels, pixels, npix * sizeof(float));
	memcpy(f->pin_targets, targets, ntgt * sizeof(float));
	lfm_dev_upload_async(ctx, f->pixels, f->pin_pixels, npix * sizeof(float));
	lfm_dev_upload_async(ctx, f->targets, f->pin_targets, ntgt * sizeof(float));
	if (graphed)
		run_graphed(f, &f->graph_step, &f->full_steps, [&] { step_body(f, B); });
	else
		step_body(f, B);
	CUDA_CHECK(cudaStreamSynchronize(ctx->stream));
	memcpy(s->logits, f->pin_logits, ntgt * sizeof(float));
	return *f->pin_loss;
}

void update(fit_state *s, double lr, long t)
{
	cuda_fit *f = of(s);
	adam_config c = s->adam;
	c.lr = lr;
	// the previous update's copy of the scalars has been passed: forward_backward waited for the stream
	CUDA_CHECK(cudaStreamSynchronize(f->ctx->stream));
	cuda_adam_scalars_for(f->pin_adam, &c, t);
	lfm_dev_upload_async(f->ctx, f->adam_dev, f->pin_adam, sizeof *f->pin_adam);
	int updates = 1; // nothing to warm up: capture at once
	run_graphed(f, &f->graph_update, &updates, [&] { update_body(f); });
}

void logits(fit_state *s, const float *pixels, int B, float *out)
{
	cuda_fit *f = of(s);
	size_t npix = (size_t)B * 3 * f->R * f->R;
	memcpy(f->pin_pixels, pixels, npix * sizeof(float));
	lfm_dev_upload_async(f->ctx, f->pixels, f->pin_pixels, npix * sizeof(float));
	if (B == f->max_batch)
		run_graphed(f, &f->graph_logits, &f->full_logits, [&] { logits_body(f, B); });
	else
		logits_body(f, B);
	CUDA_CHECK(cudaStreamSynchronize(f->ctx->stream));
	memcpy(out, f->pin_logits, (size_t)B * f->C * sizeof(float));
}

// The normalised features of the last logits call (f->fn, written by head_forward inside the graph or
// eagerly; logits synchronised the stream, so they are there): lfm-eval --features.
void features(fit_state *s, int B, float *out)
{
	cuda_fit *f = of(s);
	lfm_dev_download(f->ctx, out, f->fn, (size_t)B * f->D * sizeof(float));
}

void sync_host(fit_state *s)
{
	cuda_fit *f = of(s);
	size_t n = trained_count(f), bytes = n * sizeof(float);
	if (f->stage == 1) {
		lfm_dev_download(f->ctx, s->weights->param_memory, f->params, bytes);
		lfm_dev_download(f->ctx, f->host_grads, f->grads, bytes);
		lfm_dev_download(f->ctx, f->host_m, f->m, bytes);
		lfm_dev_download(f->ctx, f->host_v, f->v, bytes);
	} else if (f->fc) {
		lfm_dev_download(f->ctx, s->head.fc, f->fc, bytes);
		if (f->stage == 2) {
			lfm_dev_download(f->ctx, f->host_grads, f->fc_grad, bytes);
			lfm_dev_download(f->ctx, f->host_m, f->fc_m, bytes);
			lfm_dev_download(f->ctx, f->host_v, f->fc_v, bytes);
		}
	}
}

void host_changed(fit_state *s)
{
	cuda_fit *f = of(s);
	size_t n = trained_count(f), bytes = n * sizeof(float);
	if (f->stage == 1) {
		lfm_dev_upload(f->ctx, f->params, s->weights->param_memory, bytes);
		lfm_dev_upload(f->ctx, f->m, f->host_m, bytes);
		lfm_dev_upload(f->ctx, f->v, f->host_v, bytes);
	} else {
		// the frozen tower may have been loaded after create (a resumed stage 2): take it again
		lfm_dev_upload(f->ctx, f->params, s->weights->param_memory, f->num_params * sizeof(float));
		if (f->fc) {
			lfm_dev_upload(f->ctx, f->fc, s->head.fc, bytes);
			if (f->stage == 2) {
				lfm_dev_upload(f->ctx, f->fc_m, f->host_m, bytes);
				lfm_dev_upload(f->ctx, f->fc_v, f->host_v, bytes);
			}
		}
	}
	if (f->params_bf16) // the products' copy follows the new parameters
		cuda_round_bf16(f->ctx, f->params_bf16, f->params, f->num_params);
}

float *host_grads(fit_state *s) { return of(s)->host_grads; }
float *host_moment(fit_state *s, int which) { return which == 1 ? of(s)->host_m : of(s)->host_v; }

int params_finite(fit_state *s)
{
	cuda_fit *f = of(s);
	size_t n = trained_count(f);
	float *h = f->stage == 1 ? s->weights->param_memory : s->head.fc;
	lfm_dev_download(f->ctx, h, f->stage == 1 ? f->params : f->fc, n * sizeof(float));
	for (size_t i = 0; i < n; i++)
		if (!isfinite(h[i]))
			return 0;
	return 1;
}

} // namespace

extern "C" const fit_device_ops lfm_cuda_fit_ops = {"cuda",       create,       destroy,     forward_backward,
						    update,       logits,       sync_host,   host_changed,
						    host_grads,   host_moment,  params_finite, forward_backward_raw,
						    logits_raw,   reduce_grads, features};
