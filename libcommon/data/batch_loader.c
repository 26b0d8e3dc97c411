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
	/* raw mode (width > 0): two buffers of max_batch i images then max_batch j images */
	int width, height;
	size_t raw_item; /* bytes an image */
	uint8_t *raw[2], *raw_target;
	batch_raw raw_out[2];
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

batch_loader *batch_loader_new_raw(const dataset *ds, int width, int height, thread_pool *pool, int max_batch)
{
	if (width < 1 || height < 1 || width > IMAGE_MAX_SIDE || height > IMAGE_MAX_SIDE ||
	    (long)width * height > IMAGE_MAX_PIXELS || max_batch < 1)
		die(LFM_EXIT_IO, "internal error: raw batch loader for %d images of %d x %d", max_batch, width, height);
	batch_loader *bl = batch_loader_new(ds, 1, pool, 1); /* the float buffers stay tiny */
	bl->max_batch = max_batch;
	bl->width = width;
	bl->height = height;
	bl->raw_item = (size_t)width * height * 3;
	size_t B = (size_t)max_batch;
	free(bl->i), free(bl->j), free(bl->lx), free(bl->flip_i), free(bl->flip_j);
	bl->i = xmalloc_array(B, sizeof *bl->i);
	bl->j = xmalloc_array(B, sizeof *bl->j);
	bl->lx = xmalloc_array(B, sizeof *bl->lx);
	bl->flip_i = xmalloc_array(B, 1);
	bl->flip_j = xmalloc_array(B, 1);
	for (int k = 0; k < 2; k++) {
		bl->raw[k] = xmalloc_array(2 * B, bl->raw_item);
		/* the description of a finished batch: its own copies, as the next start overwrites bl's */
		bl->raw_out[k].flip_i = xmalloc_array(B, 1);
		bl->raw_out[k].flip_j = xmalloc_array(B, 1);
		bl->raw_out[k].lx = xmalloc_array(B, sizeof(float));
	}
	return bl;
}

int batch_loader_sample_size(const dataset *ds, uint64_t idx, int *width, int *height, char *err, size_t errsz)
{
	char why[300];
	dataset_sample s;
	int rc = dataset_read(ds, (size_t)idx, &s, why, sizeof why);
	if (rc) {
		snprintf(err, errsz, "sample %llu: %s", (unsigned long long)idx, why);
		return -1;
	}
	if (s.kind == DATASET_SAMPLE_CIFAR) {
		dataset_sample_free(&s);
		*width = *height = 32;
		return 0;
	}
	rc = image_jpeg_size(s.data, s.size, width, height, why, sizeof why);
	if (rc)
		snprintf(err, errsz, "sample %llu (%s): %s", (unsigned long long)idx, dataset_key(ds, (size_t)idx), why);
	dataset_sample_free(&s);
	return rc ? -1 : 0;
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
	for (int k = 0; k < 2; k++) {
		free(bl->raw[k]);
		free((void *)bl->raw_out[k].flip_i);
		free((void *)bl->raw_out[k].flip_j);
		free((void *)bl->raw_out[k].lx);
	}
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
static int load_one(batch_loader *bl, worker_state *w, uint64_t idx, int flip, void *out, char *msg,
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
	if (bl->width) { /* raw: the decoded bytes as they are, the flip left to the device */
		if (img.width != bl->width || img.height != bl->height) {
			snprintf(msg, msgsz, "sample %llu (%s): %d x %d, not the %d x %d of the others (--preprocess cpu "
					     "takes mixed sizes)",
				 (unsigned long long)idx, dataset_key(bl->ds, (size_t)idx), img.width, img.height, bl->width,
				 bl->height);
			image_free(&img);
			return LFM_EXIT_DATA;
		}
		memcpy(out, img.rgb, bl->raw_item);
		image_free(&img);
		return 0;
	}
	clip_prep_run(w->prep, &img, flip, out);
	image_free(&img);
	return 0;
}

static void load_item_raw(batch_loader *bl, worker_state *w, size_t b)
{
	uint8_t *oi = bl->raw_target + b * bl->raw_item, *oj = bl->raw_target + ((size_t)bl->max_batch + b) * bl->raw_item;
	char msg[512];
	/* both images always (the device mixes every item; with lx 0 or 1 the mix is exact), the partner
	 * only decoded when it is another sample */
	int rc = load_one(bl, w, bl->i[b], 0, oi, msg, sizeof msg);
	if (rc == 0) {
		if (bl->j[b] == bl->i[b])
			memcpy(oj, oi, bl->raw_item);
		else
			rc = load_one(bl, w, bl->j[b], 0, oj, msg, sizeof msg);
	}
	if (rc) {
		memset(oi, 0, bl->raw_item);
		memset(oj, 0, bl->raw_item);
		record_failure(bl, (int)b, rc, msg);
	}
}

static void load_item(void *ctx, size_t b, int worker)
{
	batch_loader *bl = ctx;
	worker_state *w = &bl->ws[worker];
	if (bl->width) {
		load_item_raw(bl, w, b);
		return;
	}
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

static void begin(batch_loader *bl, const batch_desc *d, float *target, uint8_t *raw_target)
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
	bl->raw_target = raw_target;
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
	if (bl->width)
		begin(bl, d, NULL, bl->raw[bl->next_buf]);
	else
		begin(bl, d, bl->buf[bl->next_buf], NULL);
	bl->next_buf ^= 1;
}

const float *batch_loader_finish(batch_loader *bl, int *code, char *err, size_t errsz)
{
	if (!bl->in_flight || bl->width)
		die(LFM_EXIT_IO, "internal error: batch_loader_finish without a batch of pixels in flight");
	const float *px = bl->target;
	return end(bl, code, err, errsz) ? NULL : px;
}

int batch_loader_load(batch_loader *bl, const batch_desc *d, float *out, int *code, char *err, size_t errsz)
{
	if (bl->width)
		die(LFM_EXIT_IO, "internal error: batch_loader_load on a raw loader");
	begin(bl, d, out, NULL);
	return end(bl, code, err, errsz);
}

/* The finished raw batch in the buffer it was decoded into, with its description. */
static const batch_raw *raw_result(batch_loader *bl)
{
	int k = bl->raw_target == bl->raw[0] ? 0 : 1;
	batch_raw *r = &bl->raw_out[k];
	r->count = bl->count;
	r->width = bl->width;
	r->height = bl->height;
	r->images_i = bl->raw_target;
	r->images_j = bl->raw_target + (size_t)bl->max_batch * bl->raw_item;
	memcpy((void *)r->flip_i, bl->flip_i, (size_t)bl->count);
	memcpy((void *)r->flip_j, bl->flip_j, (size_t)bl->count);
	memcpy((void *)r->lx, bl->lx, (size_t)bl->count * sizeof(float));
	return r;
}

const batch_raw *batch_loader_finish_raw(batch_loader *bl, int *code, char *err, size_t errsz)
{
	if (!bl->in_flight || !bl->width)
		die(LFM_EXIT_IO, "internal error: batch_loader_finish_raw without a raw batch in flight");
	if (end(bl, code, err, errsz))
		return NULL;
	return raw_result(bl);
}

const batch_raw *batch_loader_load_raw(batch_loader *bl, const batch_desc *d, int *code, char *err, size_t errsz)
{
	if (!bl->width)
		die(LFM_EXIT_IO, "internal error: batch_loader_load_raw on a loader of pixels");
	begin(bl, d, NULL, bl->raw[bl->next_buf]);
	bl->next_buf ^= 1;
	if (end(bl, code, err, errsz))
		return NULL;
	return raw_result(bl);
}
