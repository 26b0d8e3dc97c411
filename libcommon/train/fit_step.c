/* fit_step.c — see fit_step.h. */
#include "train/fit_step.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

/* Adam's update in chunks of this many parameters, one chunk per pool item. */
#define ADAM_CHUNK ((size_t)1 << 20)

/* What both kinds of state share: sizes, the runner, the head's buffers. */
static int init_common(fit_state *s, const fit_context *ctx, clip_vision_weights *w, int stage, int max_batch,
		       char *err, size_t errsz)
{
	memset(s, 0, sizeof *s);
	if (ctx->backend != FIT_BACKEND_CPU && (ctx->backend != FIT_BACKEND_DEVICE || !ctx->device)) {
		snprintf(err, errsz, "backend %d is not built in", (int)ctx->backend);
		return -1;
	}
	if (max_batch < 1) {
		snprintf(err, errsz, "batch size %d", max_batch);
		return -1;
	}
	if (ctx->dist && ctx->dist->world > 1 && ctx->backend == FIT_BACKEND_DEVICE && !ctx->device->reduce_grads) {
		snprintf(err, errsz, "the %s runner cannot train on several ranks", ctx->device->name);
		return -1;
	}
	if (ctx->dist && ctx->dist->world > 1 && ctx->backend == FIT_BACKEND_CPU && !ctx->dist->allreduce_f32) {
		/* a tool says why, and what to do, before it gets here (lfm-fit: main.c) */
		snprintf(err, errsz, "%d ranks on the CPU without a transport to sum their gradients (MPI)",
			 ctx->dist->world);
		return -1;
	}
	s->stage = stage;
	s->ctx = *ctx;
	s->weights = w;
	s->max_batch = max_batch;
	s->dim = w->cfg.embed_dim;
	clip_vision_adopt(&s->cpu, w);
	if (ctx->backend == FIT_BACKEND_CPU)
		clip_vision_set_pool(&s->cpu, ctx->pool);
	return 0;
}

static int on_device(const fit_state *s) { return s->ctx.backend == FIT_BACKEND_DEVICE; }

/* The device runner, once everything it copies is in s. */
static int create_device(fit_state *s, char *err, size_t errsz)
{
	s->device = s->ctx.device->create(s, err, errsz);
	if (!s->device) {
		fit_free(s);
		return -1;
	}
	return 0;
}

static void alloc_buffers(fit_state *s, int C)
{
	s->classes = C;
	s->logits = xmalloc_array((size_t)s->max_batch * C, sizeof(float));
	s->dlogits = xmalloc_array((size_t)s->max_batch * C, sizeof(float));
	s->dfeat = xmalloc_array((size_t)s->max_batch * s->dim, sizeof(float));
}

int fit_init(fit_state *s, const fit_context *ctx, clip_vision_weights *w, int stage, const float *text, int C,
	     const loss_config *lc, const adam_config *ac, int max_batch, char *err, size_t errsz)
{
	if (stage != 1 && stage != 2) {
		memset(s, 0, sizeof *s);
		snprintf(err, errsz, "stage %d; must be 1 or 2", stage);
		return -1;
	}
	if (init_common(s, ctx, w, stage, max_batch, err, errsz))
		return -1;
	int D = s->dim;
	if (lc->classes != C) {
		snprintf(err, errsz, "the loss is set up for %d classes, the text features have %d", lc->classes, C);
		fit_free(s);
		return -1;
	}
	if (cosine_head_init(&s->head, text, C, D, stage, err, errsz)) {
		fit_free(s);
		return -1;
	}
	loss_config l = *lc;
	if (!l.text_features) {
		l.text_features = text;
		l.text_dim = D;
	}
	if (loss_init(&s->loss, &l, err, errsz)) {
		fit_free(s);
		return -1;
	}
	s->has_loss = 1;
	s->adam = *ac;
	alloc_buffers(s, C);
	if (on_device(s))
		return create_device(s, err, errsz);
	if (stage == 1)
		clip_vision_alloc_training(&s->cpu);
	clip_vision_alloc_acts(&s->cpu, max_batch, stage == 1);
	return 0;
}

int fit_init_eval(fit_state *s, const fit_context *ctx, clip_vision_weights *w, const float *text, int C,
		  const float *fc, int max_batch, char *err, size_t errsz)
{
	if (init_common(s, ctx, w, FIT_EVAL, max_batch, err, errsz))
		return -1;
	int D = s->dim;
	if (cosine_head_init(&s->head, text, C, D, fc ? 2 : 1, err, errsz)) {
		fit_free(s);
		return -1;
	}
	if (fc)
		memcpy(s->head.fc, fc, (size_t)D * (size_t)D * sizeof *s->head.fc);
	alloc_buffers(s, C);
	if (on_device(s))
		return create_device(s, err, errsz);
	clip_vision_alloc_acts(&s->cpu, max_batch, 0);
	return 0;
}

void fit_free(fit_state *s)
{
	if (s->device)
		s->ctx.device->destroy(s);
	cosine_head_free(&s->head);
	if (s->has_loss)
		loss_free(&s->loss);
	clip_vision_free(&s->cpu);
	free(s->logits);
	free(s->dlogits);
	free(s->dfeat);
	memset(s, 0, sizeof *s);
}

float *fit_params(const fit_state *s, size_t *n)
{
	if (s->stage == 1) {
		*n = s->weights->num_params;
		return s->weights->param_memory;
	}
	*n = (size_t)s->dim * s->dim;
	return s->head.fc;
}

float *fit_grads(const fit_state *s, size_t *n)
{
	fit_params(s, n);
	if (on_device(s))
		return s->ctx.device->host_grads((fit_state *)s);
	return s->stage == 1 ? s->cpu.grad_memory : s->head.fc_grad;
}

float *fit_moment(const fit_state *s, int which)
{
	if (on_device(s))
		return s->ctx.device->host_moment((fit_state *)s, which);
	if (s->stage == 1)
		return which == 1 ? s->cpu.m_memory : s->cpu.v_memory;
	return which == 1 ? s->head.fc_m : s->head.fc_v;
}

void fit_sync_host(fit_state *s)
{
	if (on_device(s))
		s->ctx.device->sync_host(s);
	/* the CPU runner computes on the host arrays */
}

void fit_host_changed(fit_state *s)
{
	if (on_device(s))
		s->ctx.device->host_changed(s);
}

typedef struct adam_job {
	float *p, *m, *v;
	const float *g;
	size_t n;
	const adam_config *c;
	long t;
} adam_job;

static void adam_chunk(void *ctx, size_t k, int worker)
{
	(void)worker;
	const adam_job *j = ctx;
	size_t off = k * ADAM_CHUNK, len = j->n - off < ADAM_CHUNK ? j->n - off : ADAM_CHUNK;
	adam_step(j->p + off, j->g + off, j->m + off, j->v + off, len, j->c, j->t);
}

void fit_update(fit_state *s, double lr)
{
	if (s->stage != 1 && s->stage != 2)
		die(LFM_EXIT_IO, "internal error: an update of an evaluation state");
	if (on_device(s)) {
		s->ctx.device->update(s, lr, s->step + 1);
		s->step++;
		return;
	}
	size_t n;
	adam_config c = s->adam;
	c.lr = lr;
	adam_job j = {fit_params(s, &n), fit_moment(s, 1), fit_moment(s, 2), fit_grads(s, &n), n, &c, s->step + 1};
	thread_pool_for(s->ctx.pool, (n + ADAM_CHUNK - 1) / ADAM_CHUNK, adam_chunk, &j);
	s->step++;
}

double fit_forward_backward(fit_state *s, const float *pixels, const float *targets, int B)
{
	if (B < 1)
		die(LFM_EXIT_IO, "internal error: a step of %d images", B);
	return fit_forward_backward_part(s, pixels, targets, B, B);
}

double fit_forward_backward_part(fit_state *s, const float *pixels, const float *targets, int b, int B)
{
	if (b < 0 || b > s->max_batch || b > B || B < 1 || !s->has_loss)
		die(LFM_EXIT_IO, "internal error: a step of %d of %d images with room for %d", b, B, s->max_batch);
	s->loss_batch = B;
	if (on_device(s))
		return s->ctx.device->forward_backward(s, b ? pixels : NULL, b ? targets : NULL, b);
	if (b == 0) { /* an empty slice of a small last batch: no gradient, but the ranks' sums still count it */
		size_t n;
		float *g = fit_grads(s, &n);
		memset(g, 0, n * sizeof *g);
		return 0;
	}
	clip_vision *v = &s->cpu;
	clip_vision_forward(v, pixels, b);
	cosine_head_zero_grad(&s->head);
	cosine_head_forward(&s->head, v->acts.out, b, s->logits);
	double loss = loss_forward_backward_part(&s->loss, s->logits, targets, b, B, s->dlogits);
	if (!isfinite(loss))
		return loss;
	if (s->stage == 1) {
		cosine_head_backward(&s->head, s->dlogits, s->dfeat);
		clip_vision_zero_grad(v);
		clip_vision_backward(v, s->dfeat);
	} else {
		cosine_head_backward(&s->head, s->dlogits, NULL); /* the tower is frozen */
	}
	return loss;
}

double fit_step(fit_state *s, const float *pixels, const float *targets, int B, double lr)
{
	double loss = fit_forward_backward(s, pixels, targets, B);
	if (isfinite(loss))
		fit_update(s, lr);
	return loss;
}

void fit_logits(fit_state *s, const float *pixels, int B, float *logits)
{
	if (B < 1 || B > s->max_batch)
		die(LFM_EXIT_IO, "internal error: logits of %d images with room for %d", B, s->max_batch);
	if (on_device(s)) {
		s->ctx.device->logits(s, pixels, B, logits);
		return;
	}
	clip_vision_forward(&s->cpu, pixels, B);
	cosine_head_forward(&s->head, s->cpu.acts.out, B, logits);
}

void fit_features(const fit_state *s, int B, float *features)
{
	if (B < 1 || B > s->max_batch)
		die(LFM_EXIT_IO, "internal error: features of %d images with room for %d", B, s->max_batch);
	if (on_device(s)) {
		if (!s->ctx.device->features)
			die(LFM_EXIT_IO, "internal error: the %s runner does not return features", s->ctx.device->name);
		s->ctx.device->features((fit_state *)s, B, features);
		return;
	}
	if (s->head.batch < B)
		die(LFM_EXIT_IO, "internal error: features of %d images after logits of %d", B, s->head.batch);
	memcpy(features, s->head.hn, (size_t)B * (size_t)s->dim * sizeof *features);
}

int fit_params_finite(const fit_state *s)
{
	if (on_device(s))
		return s->ctx.device->params_finite((fit_state *)s);
	size_t n;
	const float *p = fit_params(s, &n);
	for (size_t i = 0; i < n; i++)
		if (!isfinite(p[i]))
			return 0;
	return 1;
}

int fit_takes_raw(const fit_state *s)
{
	return on_device(s) && s->ctx.device->forward_backward_raw && s->ctx.device->logits_raw;
}

static void check_raw(const fit_state *s, const fit_raw_batch *b, const char *what)
{
	if (!fit_takes_raw(s) || !b || b->count < 1 || b->count > s->max_batch)
		die(LFM_EXIT_IO, "internal error: %s of a raw batch (%d images, room for %d) on a runner that %s",
		    what, b ? b->count : 0, s->max_batch, fit_takes_raw(s) ? "takes them" : "does not take them");
}

double fit_forward_backward_raw(fit_state *s, const fit_raw_batch *b, const float *targets)
{
	return fit_forward_backward_raw_part(s, b, targets, b ? b->count : 0);
}

double fit_forward_backward_raw_part(fit_state *s, const fit_raw_batch *b, const float *targets, int B)
{
	check_raw(s, b, "a step");
	if (!s->has_loss || B < b->count)
		die(LFM_EXIT_IO, "internal error: a step of an evaluation state, or of %d of %d images", b->count, B);
	s->loss_batch = B;
	return s->ctx.device->forward_backward_raw(s, b, targets);
}

void fit_reduce_grads(fit_state *s, const char *what)
{
	dist_comm *d = s->ctx.dist;
	if (!d || d->world == 1)
		return;
	if (on_device(s)) {
		dist_watch_begin(d, what);
		s->ctx.device->reduce_grads(s);
		dist_watch_end(d);
		return;
	}
	size_t n = 0;
	float *g = fit_grads(s, &n);
	dist_sum_f32(d, g, n, what);
}

double fit_step_raw(fit_state *s, const fit_raw_batch *b, const float *targets, double lr)
{
	double loss = fit_forward_backward_raw(s, b, targets);
	if (isfinite(loss))
		fit_update(s, lr);
	return loss;
}

void fit_logits_raw(fit_state *s, const fit_raw_batch *b, float *logits)
{
	check_raw(s, b, "logits");
	s->ctx.device->logits_raw(s, b, logits);
}
