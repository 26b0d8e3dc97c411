/* cuda_preprocess.c — preprocess.cu (cuda_preprocess.h) against the CPU reference BIT FOR BIT, in every
 * thread order (emulated), outputs poisoned with NaN:
 *   - cuda_preprocess_batch against clip_prep_run per image, with and without flips, for CIFAR's 32x32 and
 *     sizes that upsample, downsample, crop the long side (a half-pixel crop offset among them), keep
 *     their size (both passes skipped: copies, the normalisation of all 256 values), and a small n;
 *   - cuda_pixel_mix_batch against pixel_mix with lx = 0, 1 and random values, in place too;
 *   - a batch item as the batch loader makes it (batch_loader.h): the mix of two preprocessed batches.
 * A failure names the first differing element (item, channel, row, column) with both values' bits. */
#include "cuda_test.h"
#include "cuda_preprocess.h"
#include "data/image.h"
#include "data/pixel_mix.h"
#include "base/errors.h"

static lfm_cuda_context *ctx;

/* n random bytes from a seed (xorshift, as cuda_test_random). */
static uint8_t *random_bytes(size_t n, uint64_t seed)
{
	uint8_t *p = malloc(n ? n : 1);
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		p[i] = (uint8_t)(x >> 56);
	}
	return p;
}

static uint8_t *upload_bytes(const uint8_t *host, size_t n)
{
	uint8_t *d = lfm_dev_alloc(ctx, n ? n : 1, "test bytes");
	if (n)
		lfm_dev_upload(ctx, d, host, n);
	return d;
}

/* The first index where got and want differ in their bits, or -1. */
static long first_difference(const float *got, const float *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(&got[i], &want[i], sizeof *got) != 0)
			return (long)i;
	return -1;
}

static uint32_t bits_of(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

struct size_case {
	int w, h, n;
	const char *what;
};
static const struct size_case sizes[] = {
	{32, 32, 224, "CIFAR: both sides upsampled 7x, no crop"},
	{40, 30, 224, "upsampled, the long side cropped"},
	{300, 200, 224, "upsampled 1.12x, the long side cropped"},
	{500, 375, 224, "downsampled (wider, antialiasing taps)"},
	{257, 403, 224, "portrait, a crop offset of 63.5 (rounds half to even)"},
	{224, 224, 224, "no resize: both passes copies"},
	{300, 224, 224, "no resize, the long side cropped"},
	{29, 19, 7, "small n, downsampled 2.7x, a crop offset of 1.5"},
};
#define NSIZES (sizeof sizes / sizeof *sizes)
#define BATCH 3

/* B random images of w x h; the first 256 pixels of each are 0..255 on every channel, so that a size
 * that keeps its pixels (no resize) normalises every value. */
static uint8_t *random_images(int w, int h, int B, uint64_t seed)
{
	size_t img = (size_t)w * h * 3;
	uint8_t *p = random_bytes(img * B, seed);
	for (int b = 0; b < B; b++)
		for (size_t k = 0; k < 256 && k < (size_t)w * h; k++)
			memset(p + b * img + 3 * k, (int)k, 3);
	return p;
}

static void test_preprocess(void)
{
	static const uint8_t flips[BATCH] = {1, 0, 1};
	for (size_t s = 0; s < NSIZES; s++) {
		int w = sizes[s].w, h = sizes[s].h, n = sizes[s].n;
		size_t img = (size_t)w * h * 3, per = (size_t)3 * n * n;
		uint8_t *himages = random_images(w, h, BATCH, 100 + s);
		uint8_t *images = upload_bytes(himages, img * BATCH), *flip = upload_bytes(flips, BATCH);
		cuda_preprocess_plan *plan = cuda_preprocess_plan_new(ctx, w, h, n);
		float *scratch = lfm_dev_alloc_floats(ctx, cuda_preprocess_scratch_floats(plan, BATCH), "scratch");
		clip_prep *prep = clip_prep_new(n);
		float *want = malloc(per * sizeof *want);
		/* the flips {1, 0, 1} in every order; no flips (NULL) in the first only: the kernels have no barrier
		 * for an order to upset, and these sizes are many threads for the emulation */
		for (int o = 0; o < CUDA_TEST_ORDERS; o++)
			for (int with_flips = 1; with_flips >= (o == 0 ? 0 : 1); with_flips--) {
				cuda_test_set_order(o);
				float *out = cuda_test_poisoned(ctx, per * BATCH);
				cuda_preprocess_batch(ctx, plan, out, images, with_flips ? flip : NULL, BATCH, scratch);
				float *got = cuda_test_download(ctx, out, per * BATCH);
				for (int b = 0; b < BATCH; b++) {
					rgb_image im = {w, h, himages + b * img};
					int f = with_flips ? flips[b] : 0;
					clip_prep_run(prep, &im, f, want);
					long d = first_difference(got + b * per, want, per);
					if (d >= 0) {
						float g = got[b * per + d], e = want[d];
						T_ASSERTF(d < 0,
							  "%dx%d -> %d (%s), order %s, item %d flip %d: first difference at "
							  "element %ld (channel %ld, row %ld, column %ld): got %.9g (%08x), want "
							  "%.9g (%08x)",
							  w, h, n, sizes[s].what, cuda_test_order_name(o), b, f, d,
							  d / ((long)n * n), d / n % n, d % n, g, bits_of(g), e, bits_of(e));
					}
				}
				free(got);
				lfm_dev_free(ctx, out, per * BATCH * sizeof(float));
			}
		free(want);
		clip_prep_free(prep);
		lfm_dev_free(ctx, scratch, cuda_preprocess_scratch_floats(plan, BATCH) * sizeof(float));
		cuda_preprocess_plan_free(ctx, plan);
		lfm_dev_free(ctx, images, img * BATCH);
		lfm_dev_free(ctx, flip, BATCH);
		free(himages);
	}
}

/* The plan is the CPU's: the geometry the sizes above claim (so the cases test what they say). */
static void test_plan_geometry(void)
{
	cuda_preprocess_plan *p = cuda_preprocess_plan_new(ctx, 40, 30, 224);
	T_ASSERTF(p->need_h && p->need_v && p->left == 37 && p->top == 0, "40x30: left %d top %d", p->left, p->top);
	cuda_preprocess_plan_free(ctx, p);
	p = cuda_preprocess_plan_new(ctx, 257, 403, 224);
	T_ASSERTF(p->need_h && p->need_v && p->left == 0 && p->top == 64, "257x403: left %d top %d", p->left, p->top);
	cuda_preprocess_plan_free(ctx, p);
	p = cuda_preprocess_plan_new(ctx, 500, 375, 224);
	T_ASSERTF(p->kx > 5 && p->ky > 5, "500x375 downsamples: ksize %d, %d", p->kx, p->ky);
	cuda_preprocess_plan_free(ctx, p);
	p = cuda_preprocess_plan_new(ctx, 300, 224, 224);
	T_ASSERTF(!p->need_h && !p->need_v && p->left == 38 && p->row0 == 0 && p->rows == 224 && !p->dev,
		  "300x224: need %d %d left %d", p->need_h, p->need_v, p->left);
	cuda_preprocess_plan_free(ctx, p);
}

static void test_pixel_mix(void)
{
	enum { B = 5 };
	const size_t per = 1031; /* odd: items do not start on a block boundary */
	uint64_t seed = 7;
	for (int o = 0; o < CUDA_TEST_ORDERS; o++) {
		cuda_test_set_order(o);
		float *ha, *hb, *r = cuda_test_random(2, 40 + o, 1);
		float hlx[B] = {0.0f, 1.0f, fabsf(r[0]), fabsf(r[1]), 0.3f};
		float *a = cuda_test_random_pair(ctx, &seed, per * B, 2.5f, &ha);
		float *b = cuda_test_random_pair(ctx, &seed, per * B, 2.5f, &hb);
		float *lx = cuda_test_upload(ctx, hlx, B), *out = cuda_test_poisoned(ctx, per * B);
		float *want = malloc(per * B * sizeof *want);
		for (int i = 0; i < B; i++)
			pixel_mix(want + i * per, ha + i * per, hb + i * per, hlx[i], per);
		for (int in_place = 0; in_place < 2; in_place++) {
			if (in_place) /* out = a: each element read before it is written */
				lfm_dev_copy(ctx, out, a, per * B * sizeof(float));
			cuda_pixel_mix_batch(ctx, out, in_place ? out : a, b, lx, B, per);
			float *got = cuda_test_download(ctx, out, per * B);
			long d = first_difference(got, want, per * B);
			if (d >= 0)
				T_ASSERTF(d < 0, "order %s%s: first difference at item %ld element %ld (lx %.9g): got %.9g "
					  "(%08x), want %.9g (%08x)", cuda_test_order_name(o), in_place ? ", in place" : "",
					  d / (long)per, d % (long)per, hlx[d / (long)per], got[d], bits_of(got[d]), want[d],
					  bits_of(want[d]));
			free(got);
		}
		/* lx = 1 and lx = 0 give the images themselves */
		T_ASSERT(memcmp(want + per, ha + per, per * sizeof *want) == 0);
		for (size_t k = 0; k < per; k++)
			T_ASSERT(want[k] == hb[k]);
		size_t bytes = per * B * sizeof(float);
		lfm_dev_free(ctx, a, bytes), lfm_dev_free(ctx, b, bytes), lfm_dev_free(ctx, out, bytes);
		lfm_dev_free(ctx, lx, B * sizeof(float));
		free(ha), free(hb), free(r), free(want);
	}
}

/* out[b] = lx[b] · pre(x_i[b], flip_i[b]) + (1 − lx[b]) · pre(x_j[b], flip_j[b]), as batch_loader.h */
static void test_batch_item(void)
{
	int w = 40, h = 30, n = 224;
	size_t img = (size_t)w * h * 3, per = (size_t)3 * n * n;
	static const uint8_t fi[BATCH] = {1, 0, 0}, fj[BATCH] = {0, 1, 1};
	float hlx[BATCH] = {0.25f, 1.0f, 0.6180339887f};
	uint8_t *hx_i = random_images(w, h, BATCH, 900), *hx_j = random_images(w, h, BATCH, 901);
	uint8_t *x_i = upload_bytes(hx_i, img * BATCH), *x_j = upload_bytes(hx_j, img * BATCH);
	uint8_t *flip_i = upload_bytes(fi, BATCH), *flip_j = upload_bytes(fj, BATCH);
	cuda_preprocess_plan *plan = cuda_preprocess_plan_new(ctx, w, h, n);
	float *scratch = lfm_dev_alloc_floats(ctx, cuda_preprocess_scratch_floats(plan, BATCH), "scratch");
	float *pi = cuda_test_poisoned(ctx, per * BATCH), *pj = cuda_test_poisoned(ctx, per * BATCH);
	float *lx = cuda_test_upload(ctx, hlx, BATCH);
	cuda_test_set_order(CUDA_TEST_ORDERS - 1);
	cuda_preprocess_batch(ctx, plan, pi, x_i, flip_i, BATCH, scratch);
	cuda_preprocess_batch(ctx, plan, pj, x_j, flip_j, BATCH, scratch);
	cuda_pixel_mix_batch(ctx, pi, pi, pj, lx, BATCH, per);
	float *got = cuda_test_download(ctx, pi, per * BATCH);
	clip_prep *prep = clip_prep_new(n);
	float *a = malloc(per * sizeof *a), *b = malloc(per * sizeof *b);
	for (int k = 0; k < BATCH; k++) {
		rgb_image ii = {w, h, hx_i + k * img}, jj = {w, h, hx_j + k * img};
		clip_prep_run(prep, &ii, fi[k], a);
		clip_prep_run(prep, &jj, fj[k], b);
		pixel_mix(a, a, b, hlx[k], per);
		long d = first_difference(got + k * per, a, per);
		if (d >= 0)
			T_ASSERTF(d < 0, "item %d: first difference at element %ld: got %.9g, want %.9g", k, d,
				  got[k * per + d], a[d]);
	}
	free(a), free(b), free(got), free(hx_i), free(hx_j);
	clip_prep_free(prep);
	size_t bytes = per * BATCH * sizeof(float);
	lfm_dev_free(ctx, scratch, cuda_preprocess_scratch_floats(plan, BATCH) * sizeof(float));
	lfm_dev_free(ctx, pi, bytes), lfm_dev_free(ctx, pj, bytes), lfm_dev_free(ctx, lx, BATCH * sizeof(float));
	lfm_dev_free(ctx, x_i, img * BATCH), lfm_dev_free(ctx, x_j, img * BATCH);
	lfm_dev_free(ctx, flip_i, BATCH), lfm_dev_free(ctx, flip_j, BATCH);
	cuda_preprocess_plan_free(ctx, plan);
}

int main(int argc, char **argv)
{
	(void)argc;
	lfm_init(argv[0]);
	ctx = cuda_test_context("cuda_preprocess");
	T_RUN(test_plan_geometry);
	T_RUN(test_preprocess);
	T_RUN(test_pixel_mix);
	T_RUN(test_batch_item);
	return t_summary();
}
