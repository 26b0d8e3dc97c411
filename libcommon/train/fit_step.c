/* fit_step.c — see fit_step.h. */
#include "train/fit_step.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

/* Adam's update in chunks of this many parameters, one chunk per pool item. */
#define ADAM_CHUNK ((size_t)1 << 20)

int fit_init(fit_state *s, clip_vision *v, int stage, const float *text, int C, const loss_config *lc,
	     const adam_config *ac, int max_batch, thread_pool *pool, char *err, size_t errsz)
{
	memset(s, 0, sizeof *s);
	int D = v->cfg.embed_dim;
	if (stage != 1 && stage != 2) {
		snprintf(err, errsz, "stage %d; must be 1 or 2", stage);
		return -1;
	}
	if (max_batch < 1) {
		snprintf(err, errsz, "batch size %d", max_batch);
		return -1;
	}
	if (lc->classes != C) {
		snprintf(err, errsz, "the loss is set up for %d classes, the text features have %d", lc->classes, C);
		return -1;
	}
	if (cosine_head_init(&s->head, text, C, D, stage, err, errsz))
		return -1;
	loss_config l = *lc;
	if (!l.text_features) {
		l.text_features = text;
		l.text_dim = D;
	}
	if (loss_init(&s->loss, &l, err, errsz)) {
		cosine_head_free(&s->head);
		return -1;
	}
	s->stage = stage;
	s->vision = v;
	s->adam = *ac;
	s->max_batch = max_batch;
	s->classes = C;
	s->dim = D;
	s->pool = pool;
	s->logits = xmalloc_array((size_t)max_batch * C, sizeof(float));
	s->dlogits = xmalloc_array((size_t)max_batch * C, sizeof(float));
	s->dfeat = xmalloc_array((size_t)max_batch * D, sizeof(float));
	if (stage == 1)
		clip_vision_alloc_training(v);
	clip_vision_alloc_acts(v, max_batch, stage == 1);
	return 0;
}

void fit_free(fit_state *s)
{
	cosine_head_free(&s->head);
	loss_free(&s->loss);
	free(s->logits);
	free(s->dlogits);
	free(s->dfeat);
	memset(s, 0, sizeof *s);
}

float *fit_params(const fit_state *s, size_t *n)
{
	if (s->stage == 1) {
		*n = s->vision->num_params;
		return s->vision->param_memory;
	}
	*n = (size_t)s->dim * s->dim;
	return s->head.fc;
}

static float *fit_grads(const fit_state *s)
{
	return s->stage == 1 ? s->vision->grad_memory : s->head.fc_grad;
}

float *fit_moment(const fit_state *s, int which)
{
	if (s->stage == 1)
		return which == 1 ? s->vision->m_memory : s->vision->v_memory;
	return which == 1 ? s->head.fc_m : s->head.fc_v;
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

static void adam_update(fit_state *s, double lr)
{
	size_t n;
	adam_config c = s->adam;
	c.lr = lr;
	adam_job j = {fit_params(s, &n), fit_moment(s, 1), fit_moment(s, 2), fit_grads(s), 0, &c, s->step + 1};
	j.n = n;
	thread_pool_for(s->pool, (n + ADAM_CHUNK - 1) / ADAM_CHUNK, adam_chunk, &j);
	s->step++;
}

double fit_step(fit_state *s, const float *pixels, const float *targets, int B, double lr)
{
	if (B < 1 || B > s->max_batch)
		die(LFM_EXIT_IO, "internal error: a step of %d images with room for %d", B, s->max_batch);
	clip_vision *v = s->vision;
	clip_vision_forward(v, pixels, B);
	cosine_head_zero_grad(&s->head);
	cosine_head_forward(&s->head, v->acts.out, B, s->logits);
	double loss = loss_forward_backward(&s->loss, s->logits, targets, B, s->dlogits);
	if (!isfinite(loss))
		return loss;
	if (s->stage == 1) {
		cosine_head_backward(&s->head, s->dlogits, s->dfeat);
		clip_vision_zero_grad(v);
		clip_vision_backward(v, s->dfeat);
	} else {
		cosine_head_backward(&s->head, s->dlogits, NULL); /* the tower is frozen */
	}
	adam_update(s, lr);
	return loss;
}

void fit_logits(fit_state *s, const float *pixels, int B, float *logits)
{
	if (B < 1 || B > s->max_batch)
		die(LFM_EXIT_IO, "internal error: logits of %d images with room for %d", B, s->max_batch);
	clip_vision_forward(s->vision, pixels, B);
	cosine_head_forward(&s->head, s->vision->acts.out, B, logits);
}

int fit_params_finite(const fit_state *s)
{
	size_t n;
	const float *p = fit_params(s, &n);
	for (size_t i = 0; i < n; i++)
		if (!isfinite(p[i]))
			return 0;
	return 1;
}
