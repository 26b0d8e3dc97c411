/* batch_loader.c — see batch_loader.h. One item of a batch (both of its images, decoded, preprocessed and
 * mixed) is one unit of the pool's parallel for; each worker keeps its own JPEG decoder, preprocessor and
 * scratch image, so items share nothing but the read-only dataset. */
#include "data/batch_loader.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/rng.h"
#include "data/image.h"
#include "data/pixel_mix.h"

typedef struct worker_state {
	jpeg_decoder *dec;
	clip_prep *prep;
	float *partner; /* [3, n, n] the pre-processed image j */
} worker_state;

struct batch_loader {
	const dataset *ds;
	int n, max_batch;
	size_t item; /* floats per image */
	thread_pool *pool;
	int workers;
	worker_state *ws;
	float *buf[2];
	int next_buf;  /* the buffer the next start fills */
	int in_flight; /* a start without its finish */
	float *target; /* where the job in flight writes */
	/* the job's description (copied) */
	int count;
	uint64_t *i, *j;
	float *lx;
	uint8_t *flip_i, *flip_j;
	/* the lowest failing item of the job */
	pthread_mutex_t mu;
	int bad_item, bad_code;
	char bad_msg[512];
};

batch_loader *batch_loader_new(const dataset *ds, int n, thread_pool *pool, int max_batch)
{
	if (n < 1 || n > CLIP_MAX_SIZE || max_batch < 1)
		die(LFM_EXIT_IO, "internal error: batch loader for %d images of %d pixels", max_batch, n);
	batch_loader *bl = xcalloc(1, sizeof *bl);
	bl->ds = ds;
	bl->n = n;
	bl->max_batch = max_batch;
	bl->item = (size_t)3 * n * n;
	bl->pool = pool;
	bl->workers = thread_pool_size(pool);
	bl->ws = xcalloc((size_t)bl->workers, sizeof *bl->ws);
	for (int k = 0; k < 2; k++)
		bl->buf[k] = xmalloc_array((size_t)max_batch * bl->item, sizeof(float));
	size_t B = (size_t)max_batch;
	bl->i = xmalloc_array(B, sizeof *bl->i);
	bl->j = xmalloc_array(B, sizeof *bl->j);
	bl->lx = xmalloc_array(B, sizeof *bl->lx);
	bl->flip_i = xmalloc_array(B, 1);
	bl->flip_j = xmalloc_array(B, 1);
	if (pthread_mutex_init(&bl->mu, NULL) != 0)
		die(LFM_EXIT_IO, "batch loader: cannot initialise its lock");
	return bl;
}

void batch_loader_free(batch_loader *bl)
{
	if (!bl)
		return;
	if (bl->in_flight)
		thread_pool_wait(bl->pool);
	for (int w = 0; w < bl->workers; w++) {
		jpeg_decoder_free(bl->ws[w].dec);
		clip_prep_free(bl->ws[w].prep);
		free(bl->ws[w].partner);
	}
	free(bl->ws);
	free(bl->buf[0]);
	free(bl->buf[1]);
	free(bl->i);
	free(bl->j);
	free(bl->lx);
	free(bl->flip_i);
	free(bl->flip_j);
	pthread_mutex_destroy(&bl->mu);
	free(bl);
}

int batch_flip_coin(uint64_t seed, uint64_t epoch, uint64_t position, int which)
{
	rng r;
	rng_init(&r, seed, rng_stream_id("fit.flip", epoch, 2 * position + (uint64_t)(which != 0)));
	return (int)(rng_u32(&r) >> 31);
}

static void record_failure(batch_loader *bl, int item, int code, const char *msg)
{
	pthread_mutex_lock(&bl->mu);
	if (bl->bad_item < 0 || item < bl->bad_item) {
		bl->bad_item = item;
		bl->bad_code = code;
		snprintf(bl->bad_msg, sizeof bl->bad_msg, "%s", msg);
	}
	pthread_mutex_unlock(&bl->mu);
}

/* Decode sample idx and preprocess it into out; 0, or an exit code with msg. */
static int load_one(batch_loader *bl, worker_state *w, uint64_t idx, int flip, float *out, char *msg,
		    size_t msgsz)
{
	char why[300];
	dataset_sample s;
	int rc = dataset_read(bl->ds, (size_t)idx, &s, why, sizeof why);
	if (rc) {
		snprintf(msg, msgsz, "sample %llu: %s", (unsigned long long)idx, why);
		return rc;
	}
	rgb_image img;
	if (s.kind != DATASET_SAMPLE_CIFAR && !w->dec && !(w->dec = jpeg_decoder_new())) {
		snprintf(msg, msgsz, "cannot create a JPEG decoder");
		rc = LFM_EXIT_IO;
	} else {
		switch (dataset_sample_rgb(&s, w->dec, &img, why, sizeof why)) {
		case DATASET_RGB_OK:
			break;
		case DATASET_RGB_JPEG:
			snprintf(msg, msgsz, "sample %llu (%s): %s", (unsigned long long)idx,
				 dataset_key(bl->ds, (size_t)idx), why);
			rc = LFM_EXIT_DATA;
			break;
		default: /* not 3072 bytes, or out of memory */
			snprintf(msg, msgsz, "sample %llu (%s): cannot make an image of its %zu bytes",
				 (unsigned long long)idx, dataset_key(bl->ds, (size_t)idx), s.size);
			rc = LFM_EXIT_DATA;
			break;
		}
	}
	dataset_sample_free(&s);
	if (rc)
		return rc;
	clip_prep_run(w->prep, &img, flip, out);
	image_free(&img);
	return 0;
}

static void load_item(void *ctx, size_t b, int worker)
{
	batch_loader *bl = ctx;
	worker_state *w = &bl->ws[worker];
	if (!w->prep)
		w->prep = clip_prep_new(bl->n);
	float *out = bl->target + b * bl->item;
	float lx = bl->lx[b];
	char msg[512];
	int rc = 0;
	if (lx == 0.0f) { /* 0·a + 1·b = b exactly: image i is not needed */
		rc = load_one(bl, w, bl->j[b], bl->flip_j[b], out, msg, sizeof msg);
	} else {
		rc = load_one(bl, w, bl->i[b], bl->flip_i[b], out, msg, sizeof msg);
		if (rc == 0 && lx != 1.0f) {
			if (!w->partner)
				w->partner = xmalloc_array(bl->item, sizeof(float));
			rc = load_one(bl, w, bl->j[b], bl->flip_j[b], w->partner, msg, sizeof msg);
			if (rc == 0)
				pixel_mix(out, out, w->partner, lx, bl->item);
		}
	}
	if (rc) {
		memset(out, 0, bl->item * sizeof *out);
		record_failure(bl, (int)b, rc, msg);
	}
}

static void begin(batch_loader *bl, const batch_desc *d, float *target)
{
	if (bl->in_flight)
		die(LFM_EXIT_IO, "internal error: a batch was started while another one is loading");
	if (d->count < 1 || d->count > bl->max_batch)
		die(LFM_EXIT_IO, "internal error: a batch of %d items for a loader of %d", d->count, bl->max_batch);
	size_t N = dataset_count(bl->ds);
	for (int b = 0; b < d->count; b++) {
		float lx = d->lx ? d->lx[b] : 1.0f;
		if (!(lx >= 0.0f && lx <= 1.0f))
			die(LFM_EXIT_IO, "internal error: batch item %d has lx %g outside [0, 1]", b, (double)lx);
		if (lx != 1.0f && !d->j)
			die(LFM_EXIT_IO, "internal error: batch item %d mixes (lx %g) without a partner", b, (double)lx);
		if (d->i[b] >= N || (d->j && d->j[b] >= N))
			die(LFM_EXIT_IO, "internal error: batch item %d refers to a sample beyond the dataset's %zu", b, N);
		bl->i[b] = d->i[b];
		bl->j[b] = d->j ? d->j[b] : d->i[b];
		bl->lx[b] = lx;
		bl->flip_i[b] = d->flip_i ? d->flip_i[b] != 0 : 0;
		bl->flip_j[b] = d->flip_j ? d->flip_j[b] != 0 : 0;
	}
	bl->count = d->count;
	bl->target = target;
	bl->bad_item = -1;
	bl->bad_code = 0;
	bl->bad_msg[0] = 0;
	bl->in_flight = 1;
	thread_pool_start(bl->pool, (size_t)d->count, load_item, bl);
}

/* Wait for the job; 0 or -1 with the lowest failing item's message. */
static int end(batch_loader *bl, int *code, char *err, size_t errsz)
{
	thread_pool_wait(bl->pool);
	bl->in_flight = 0;
	if (bl->bad_item < 0)
		return 0;
	if (code)
		*code = bl->bad_code;
	if (err && errsz)
		snprintf(err, errsz, "batch item %d: %s", bl->bad_item, bl->bad_msg);
	return -1;
}

void batch_loader_start(batch_loader *bl, const batch_desc *d)
{
	begin(bl, d, bl->buf[bl->next_buf]);
	bl->next_buf ^= 1;
}

const float *batch_loader_finish(batch_loader *bl, int *code, char *err, size_t errsz)
{
	if (!bl->in_flight)
		die(LFM_EXIT_IO, "internal error: batch_loader_finish without a batch in flight");
	const float *px = bl->target;
	return end(bl, code, err, errsz) ? NULL : px;
}

int batch_loader_load(batch_loader *bl, const batch_desc *d, float *out, int *code, char *err, size_t errsz)
{
	begin(bl, d, out);
	return end(bl, code, err, errsz);
}
