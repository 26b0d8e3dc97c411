/* clip_preprocess.c — OpenAI CLIP's _transform(n) on an RGB8 image, bit for bit.
 *
 * Only the n x n window that CenterCrop keeps is resized: each output pixel of Pillow's resample depends
 * on its own index alone, so the window's values are those of the full resize, at a fraction of the cost
 * for non-square images. The work is planar (one channel at a time) and both of Pillow's passes are done
 * as "sum of K whole source lines": the vertical pass on rows of the horizontal pass's output, the
 * horizontal pass on rows of the transposed input (its columns), then transposed back. The inner loops
 * (image_kernels.c) are therefore contiguous and vectorise. ToTensor and Normalize are folded into the
 * vertical pass's output. */
#include "data/image.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "data/image_kernels.h"

const float clip_mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
const float clip_std[3] = {0.26862954f, 0.26130258f, 0.27577711f};

struct clip_prep {
	int n;
	clip_norm norm;
	const image_kernels *kern;
	/* the plan for the last input size */
	int in_w, in_h;
	int need_h, need_v;
	int left, top;
	int row0, rows; /* input rows the window needs */
	int col0, cols; /* input columns the window needs (of the mirrored image when flipping) */
	resize_axis ax, ay;
	/* scratch, 3 planes each */
	uint8_t *cols_t; /* the needed input, transposed: [c][x][r] (horizontal pass input) */
	uint8_t *hout_t; /* horizontal pass output, transposed: [c][i][r] */
	uint8_t *hout;   /* horizontal pass output: [c][r][i] (vertical pass input) */
	size_t cols_t_cap, hout_t_cap, hout_cap;
};

/* Python's round() of (size - n) / 2.0, which is either whole or a half: ties go to the even integer. */
static int crop_offset(int size, int n)
{
	int d = size - n;
	if (d % 2 == 0)
		return d / 2;
	int lo = (d - 1) / 2; /* d > 0 here: the resized side is never below n */
	return lo % 2 == 0 ? lo : lo + 1;
}

void clip_geometry(int width, int height, int n, int *resized_w, int *resized_h, int *left, int *top)
{
	/* torchvision's _compute_resized_output_size: int(n * long / short) in double precision, exact for
	 * these sizes (n * long < 2^53) like Python's true division. */
	int w, h;
	if (width <= height) {
		w = n;
		h = (int)((double)n * height / width);
	} else {
		h = n;
		w = (int)((double)n * width / height);
	}
	*resized_w = w;
	*resized_h = h;
	*left = crop_offset(w, n);
	*top = crop_offset(h, n);
}

clip_prep *clip_prep_new(int n)
{
	if (n < 1 || n > CLIP_MAX_SIZE)
		die(LFM_EXIT_USAGE, "CLIP preprocessing: size %d out of range 1..%d", n, CLIP_MAX_SIZE);
	clip_prep *p = xcalloc(1, sizeof *p);
	p->n = n;
	clip_norm_init(&p->norm);
	p->kern = image_kernels_best(&p->norm);
	return p;
}

int clip_prep_set_kernels(clip_prep *p, const char *name)
{
	const image_kernels *k = image_kernels_named(name, &p->norm);
	if (!k)
		return -1;
	p->kern = k;
	return 0;
}

const char *clip_prep_kernels(const clip_prep *p) { return p->kern->name; }

void clip_prep_free(clip_prep *p)
{
	if (!p)
		return;
	resize_axis_free(&p->ax);
	resize_axis_free(&p->ay);
	free(p->cols_t);
	free(p->hout_t);
	free(p->hout);
	free(p);
}

static void grow(uint8_t **buf, size_t *cap, size_t need)
{
	if (need > *cap) {
		free(*buf);
		*buf = xmalloc(need);
		*cap = need;
	}
}

static void plan(clip_prep *p, int w, int h)
{
	int n = p->n, rw, rh;
	resize_axis_free(&p->ax);
	resize_axis_free(&p->ay);
	clip_geometry(w, h, n, &rw, &rh, &p->left, &p->top);
	/* Pillow's Image.resize returns a copy when the size is unchanged, and ImagingResampleInner skips
	 * the pass of an unchanged dimension. */
	p->need_h = rw != w;
	p->need_v = rh != h;
	if (p->need_h) {
		if (resize_axis_plan(&p->ax, w, rw, p->left, n) != 0)
			die(LFM_EXIT_IO, "CLIP preprocessing: cannot plan a %dx%d -> %dx%d resize", w, h, rw, rh);
		p->col0 = p->ax.xmin[0];
		p->cols = p->ax.xmin[n - 1] + p->ax.taps[n - 1] - p->col0;
	} else {
		p->col0 = p->left;
		p->cols = n;
	}
	if (p->need_v) {
		if (resize_axis_plan(&p->ay, h, rh, p->top, n) != 0)
			die(LFM_EXIT_IO, "CLIP preprocessing: cannot plan a %dx%d -> %dx%d resize", w, h, rw, rh);
		p->row0 = p->ay.xmin[0];
		p->rows = p->ay.xmin[n - 1] + p->ay.taps[n - 1] - p->row0;
	} else {
		p->row0 = p->top;
		p->rows = n;
	}
	size_t plane = (size_t)p->rows * n;
	grow(&p->hout, &p->hout_cap, 3 * plane);
	if (p->need_h) {
		grow(&p->cols_t, &p->cols_t_cap, 3 * (size_t)p->rows * p->cols);
		grow(&p->hout_t, &p->hout_t_cap, 3 * plane);
	}
	p->in_w = w;
	p->in_h = h;
}

/* dst[c][x][r] (transposed = 1) or dst[c][r][x] (transposed = 0) = channel c of the input pixel at row
 * row0 + r and column col0 + x of the image, mirrored when flip. */
static void gather_planes(const rgb_image *in, int flip, int row0, int rows, int col0, int cols,
			  int transposed, uint8_t *dst)
{
	size_t stride = (size_t)in->width * 3, plane = (size_t)rows * cols;
	for (int r = 0; r < rows; r++) {
		const uint8_t *s = in->rgb + (size_t)(row0 + r) * stride;
		for (int x = 0; x < cols; x++) {
			int sx = flip ? in->width - 1 - (col0 + x) : col0 + x;
			const uint8_t *px = s + (size_t)sx * 3;
			size_t at = transposed ? (size_t)x * rows + r : (size_t)r * cols + x;
			dst[at] = px[0];
			dst[plane + at] = px[1];
			dst[2 * plane + at] = px[2];
		}
	}
}

void clip_prep_run(clip_prep *p, const rgb_image *in, int flip, float *out)
{
	int n = p->n;
	const image_kernels *kern = p->kern;
	if (in->width <= 0 || in->height <= 0 || !in->rgb)
		die(LFM_EXIT_DATA, "CLIP preprocessing: empty image (internal error)");
	if (in->width > IMAGE_MAX_SIDE || in->height > IMAGE_MAX_SIDE)
		die(LFM_EXIT_DATA, "CLIP preprocessing: a %dx%d image is over the %d-pixel limit (internal error)",
		    in->width, in->height, IMAGE_MAX_SIDE);
	if (in->width != p->in_w || in->height != p->in_h)
		plan(p, in->width, in->height);
	int rows = p->rows;
	size_t hplane = (size_t)rows * n;
	if (p->need_h) {
		gather_planes(in, flip, p->row0, rows, p->col0, p->cols, 1, p->cols_t);
		size_t tplane = (size_t)rows * p->cols;
		const resize_axis *ax = &p->ax;
		for (int c = 0; c < 3; c++) {
			const uint8_t *src = p->cols_t + c * tplane;
			uint8_t *dst = p->hout_t + c * hplane;
			for (int i = 0; i < n; i++)
				kern->resample_u8(src + (size_t)(ax->xmin[i] - p->col0) * rows, (size_t)rows,
						  ax->k + (size_t)i * ax->ksize, ax->taps[i], (size_t)rows,
						  dst + (size_t)i * rows);
			transpose_u8(dst, (size_t)rows, n, rows, p->hout + c * hplane, (size_t)n);
		}
	} else {
		gather_planes(in, flip, p->row0, rows, p->col0, n, 0, p->hout);
	}
	size_t oplane = (size_t)n * n;
	const resize_axis *ay = &p->ay;
	for (int c = 0; c < 3; c++) {
		const uint8_t *src = p->hout + c * hplane;
		float *dst = out + c * oplane;
		if (!p->need_v) {
			for (int y = 0; y < n; y++)
				kern->u8_to_f32(src + (size_t)y * n, (size_t)n, &p->norm, c, dst + (size_t)y * n);
			continue;
		}
		for (int y = 0; y < n; y++)
			kern->resample_f32(src + (size_t)(ay->xmin[y] - p->row0) * n, (size_t)n,
					   ay->k + (size_t)y * ay->ksize, ay->taps[y], (size_t)n, &p->norm, c,
					   dst + (size_t)y * n);
	}
}

void clip_preprocess(const rgb_image *in, int n, int flip, float *out)
{
	clip_prep *p = clip_prep_new(n);
	clip_prep_run(p, in, flip, out);
	clip_prep_free(p);
}

/* ---- batches over a thread pool ------------------------------------------------------------------ */

struct batch {
	int n;
	clip_prep **preps;     /* one per participant, made on first use */
	jpeg_decoder **decoders;
	const rgb_image *imgs;
	const void *const *data;
	const size_t *len;
	const uint8_t *flips;
	float *out;
	pthread_mutex_t mu; /* guards the first failure */
	int bad_index;
	char err[256];
};

static void batch_init(struct batch *b, thread_pool *pool, int n, int decoders)
{
	int workers = thread_pool_size(pool);
	memset(b, 0, sizeof *b);
	b->n = n;
	b->preps = xcalloc((size_t)workers, sizeof *b->preps);
	if (decoders)
		b->decoders = xcalloc((size_t)workers, sizeof *b->decoders);
	b->bad_index = -1;
	if (pthread_mutex_init(&b->mu, NULL) != 0)
		die(LFM_EXIT_IO, "CLIP preprocessing: cannot initialise a lock");
}

static void batch_free(struct batch *b, thread_pool *pool)
{
	int workers = thread_pool_size(pool);
	for (int w = 0; w < workers; w++) {
		clip_prep_free(b->preps[w]);
		if (b->decoders)
			jpeg_decoder_free(b->decoders[w]);
	}
	free(b->preps);
	free(b->decoders);
	pthread_mutex_destroy(&b->mu);
}

static clip_prep *worker_prep(struct batch *b, int worker)
{
	if (!b->preps[worker])
		b->preps[worker] = clip_prep_new(b->n);
	return b->preps[worker];
}

static void batch_item(void *ctx, size_t i, int worker)
{
	struct batch *b = ctx;
	size_t size = (size_t)3 * b->n * b->n;
	clip_prep_run(worker_prep(b, worker), &b->imgs[i], b->flips ? b->flips[i] : 0, b->out + i * size);
}

void clip_preprocess_batch(thread_pool *pool, const rgb_image *imgs, int count, int n,
			   const uint8_t *flips, float *out)
{
	struct batch b;
	batch_init(&b, pool, n, 0);
	b.imgs = imgs;
	b.flips = flips;
	b.out = out;
	thread_pool_for(pool, count > 0 ? (size_t)count : 0, batch_item, &b);
	batch_free(&b, pool);
}

static void jpeg_batch_item(void *ctx, size_t i, int worker)
{
	struct batch *b = ctx;
	size_t size = (size_t)3 * b->n * b->n;
	float *out = b->out + i * size;
	char err[200];
	if (!b->decoders[worker] && !(b->decoders[worker] = jpeg_decoder_new()))
		die(LFM_EXIT_IO, "cannot create a JPEG decoder");
	rgb_image img;
	if (jpeg_decoder_decode(b->decoders[worker], b->data[i], b->len[i], &img, err, sizeof err) != 0) {
		memset(out, 0, size * sizeof *out);
		pthread_mutex_lock(&b->mu);
		if (b->bad_index < 0 || (int)i < b->bad_index) {
			b->bad_index = (int)i;
			snprintf(b->err, sizeof b->err, "%s", err);
		}
		pthread_mutex_unlock(&b->mu);
		return;
	}
	clip_prep_run(worker_prep(b, worker), &img, b->flips ? b->flips[i] : 0, out);
	image_free(&img);
}

int clip_preprocess_jpeg_batch(thread_pool *pool, const void *const *data, const size_t *len, int count,
			       int n, const uint8_t *flips, float *out, int *bad_index, char *err,
			       size_t errsz)
{
	struct batch b;
	batch_init(&b, pool, n, 1);
	b.data = data;
	b.len = len;
	b.flips = flips;
	b.out = out;
	thread_pool_for(pool, count > 0 ? (size_t)count : 0, jpeg_batch_item, &b);
	int bad = b.bad_index;
	if (bad_index)
		*bad_index = bad;
	if (bad >= 0 && err && errsz)
		snprintf(err, errsz, "image %d: %s", bad, b.err);
	batch_free(&b, pool);
	return bad >= 0 ? -1 : 0;
}
