/* test_image.c — JPEG decoding, Pillow's bicubic resize, CLIP preprocessing, the thread pool.
 *
 * References that do not come from this code: Pillow 9.4's resize of a small image and torch's float32
 * normalisation of four values (hard-coded below, computed with Pillow 9.4 / torch 1.13), and the
 * golden pixels of ../shared when present. The fast preprocessing path (window only, planar, SIMD) is
 * checked against a plain path (full image_resize_bicubic, crop, per-value formula) for many shapes and
 * every set of inner loops this CPU has. */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "base/errors.h"
#include "base/thread_pool.h"
#include "data/image.h"
#include "io/npy.h"
#include "../test.h"

/* ---- helpers ------------------------------------------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static rgb_image new_image(int w, int h)
{
	rgb_image im = {w, h, xmalloc((size_t)w * h * 3)};
	return im;
}

static rgb_image random_image(int w, int h)
{
	rgb_image im = new_image(w, h);
	for (size_t i = 0; i < (size_t)w * h * 3; i++)
		im.rgb[i] = (uint8_t)rnd();
	return im;
}

static rgb_image mirrored(const rgb_image *in)
{
	rgb_image m = new_image(in->width, in->height);
	for (int y = 0; y < in->height; y++)
		for (int x = 0; x < in->width; x++)
			memcpy(m.rgb + ((size_t)y * in->width + x) * 3,
			       in->rgb + ((size_t)y * in->width + (in->width - 1 - x)) * 3, 3);
	return m;
}

/* JPEG of w x h pixels in pixel format pf (TJPF_RGB, TJPF_GRAY, TJPF_CMYK); tjFree the result. */
static unsigned char *make_jpeg(const uint8_t *pixels, int w, int h, int pf, int subsamp, int quality,
				unsigned long *size)
{
	tjhandle tj = tjInitCompress();
	unsigned char *buf = NULL;
	*size = 0;
	if (!tj || tjCompress2(tj, pixels, w, 0, h, pf, &buf, size, subsamp, quality, 0) != 0) {
		fprintf(stderr, "tjCompress2: %s\n", tjGetErrorStr2(tj));
		buf = NULL;
	}
	tjDestroy(tj);
	return buf;
}

static int max_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	int m = 0;
	for (size_t i = 0; i < n; i++) {
		int d = abs((int)a[i] - (int)b[i]);
		if (d > m)
			m = d;
	}
	return m;
}

/* A smooth test picture (JPEG keeps it within a few levels). */
static rgb_image gradient(int w, int h)
{
	rgb_image im = new_image(w, h);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			uint8_t *p = im.rgb + ((size_t)y * w + x) * 3;
			p[0] = (uint8_t)(40 + 160 * x / (w - 1));
			p[1] = (uint8_t)(40 + 160 * y / (h - 1));
			p[2] = (uint8_t)(120 + 40 * (x + y) / (w + h));
		}
	return im;
}

static float torch_norm(int v, int c) { return ((float)v / 255.0f - clip_mean[c]) / clip_std[c]; }

/* The plain path: mirror, full resize, crop, normalise value by value. */
static void reference_preprocess(const rgb_image *in, int n, int flip, float *out)
{
	rgb_image src = flip ? mirrored(in) : *in, big;
	int rw, rh, left, top;
	clip_geometry(in->width, in->height, n, &rw, &rh, &left, &top);
	if (image_resize_bicubic(&src, rw, rh, &big) != 0)
		die(LFM_EXIT_IO, "reference resize failed");
	for (int c = 0; c < 3; c++)
		for (int y = 0; y < n; y++)
			for (int x = 0; x < n; x++)
				out[((size_t)c * n + y) * n + x] =
					torch_norm(big.rgb[((size_t)(top + y) * rw + left + x) * 3 + c], c);
	image_free(&big);
	if (flip)
		image_free(&src);
}

/* ---- decoding ----------------------------------------------------------------------------------- */

static void test_decode_rgb_444(void)
{
	rgb_image src = gradient(48, 40), out;
	unsigned long size;
	unsigned char *jpg = make_jpeg(src.rgb, 48, 40, TJPF_RGB, TJSAMP_444, 100, &size);
	T_ASSERT(jpg);
	char err[256];
	int rc = image_decode_jpeg(jpg, size, &out, err, sizeof err);
	tjFree(jpg);
	T_ASSERTF(rc == 0, "%s", err);
	T_ASSERT(out.width == 48 && out.height == 40);
	int d = max_diff(out.rgb, src.rgb, (size_t)48 * 40 * 3);
	image_free(&out);
	image_free(&src);
	T_ASSERTF(d <= 4, "max difference %d", d);
}

static void test_decode_rgb_420_odd_size(void)
{
	rgb_image src = gradient(33, 17), out;
	unsigned long size;
	unsigned char *jpg = make_jpeg(src.rgb, 33, 17, TJPF_RGB, TJSAMP_420, 95, &size);
	T_ASSERT(jpg);
	char err[256];
	int rc = image_decode_jpeg(jpg, size, &out, err, sizeof err);
	tjFree(jpg);
	T_ASSERTF(rc == 0, "%s", err);
	T_ASSERT(out.width == 33 && out.height == 17);
	int d = max_diff(out.rgb, src.rgb, (size_t)33 * 17 * 3);
	image_free(&out);
	image_free(&src);
	T_ASSERTF(d <= 12, "max difference %d", d);
}

static void test_decode_gray_gives_equal_channels(void)
{
	int w = 20, h = 12;
	uint8_t gray[240];
	for (int i = 0; i < w * h; i++)
		gray[i] = (uint8_t)(30 + (i % w) * 9);
	unsigned long size;
	unsigned char *jpg = make_jpeg(gray, w, h, TJPF_GRAY, TJSAMP_GRAY, 100, &size);
	T_ASSERT(jpg);
	rgb_image out;
	char err[256];
	int rc = image_decode_jpeg(jpg, size, &out, err, sizeof err);
	tjFree(jpg);
	T_ASSERTF(rc == 0, "%s", err);
	T_ASSERT(out.width == w && out.height == h);
	int worst = 0, unequal = 0;
	for (int i = 0; i < w * h; i++) {
		const uint8_t *p = out.rgb + i * 3;
		unequal += p[0] != p[1] || p[1] != p[2];
		int d = abs(p[0] - gray[i]);
		worst = d > worst ? d : worst;
	}
	image_free(&out);
	T_ASSERTF(unequal == 0, "%d pixels with R, G, B not equal", unequal);
	T_ASSERTF(worst <= 3, "max difference %d", worst);
}

/* Four-component JPEGs are Adobe CMYK, stored inverted: Pillow reads C = 255 - stored, and so on. */
static void test_decode_cmyk_as_pillow(void)
{
	/* four 8x8 blocks side by side, stored values (c, m, y, k) */
	static const uint8_t stored[4][4] = {
		{255, 255, 255, 255}, /* no ink: white */
		{0, 255, 255, 255},   /* full cyan: (0, 255, 255) */
		{255, 255, 255, 0},   /* full black */
		{128, 255, 255, 255}, /* half cyan: R = 255 - 127 */
	};
	static const uint8_t want[4][3] = {{255, 255, 255}, {0, 255, 255}, {0, 0, 0}, {128, 255, 255}};
	int w = 32, h = 8;
	uint8_t cmyk[32 * 8 * 4];
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			memcpy(cmyk + (y * w + x) * 4, stored[x / 8], 4);
	unsigned long size;
	unsigned char *jpg = make_jpeg(cmyk, w, h, TJPF_CMYK, TJSAMP_444, 100, &size);
	T_ASSERT(jpg);
	rgb_image out;
	char err[256];
	int rc = image_decode_jpeg(jpg, size, &out, err, sizeof err);
	tjFree(jpg);
	T_ASSERTF(rc == 0, "%s", err);
	int worst = 0;
	for (int b = 0; b < 4; b++) {
		const uint8_t *p = out.rgb + ((size_t)4 * w + b * 8 + 4) * 3; /* a block's centre */
		int d = max_diff(p, want[b], 3);
		worst = d > worst ? d : worst;
	}
	image_free(&out);
	T_ASSERTF(worst <= 3, "max difference %d from Pillow's colours", worst);
}

static void test_decode_rejects_truncated(void)
{
	rgb_image src = random_image(64, 48);
	unsigned long size;
	unsigned char *jpg = make_jpeg(src.rgb, 64, 48, TJPF_RGB, TJSAMP_420, 90, &size);
	image_free(&src);
	T_ASSERT(jpg);
	int accepted = 0, silent = 0;
	/* every cut, down to the header: never a crash, never a success, always a message */
	for (unsigned long len = size - 1; len > 0; len -= len > 400 ? 7 : 1) {
		rgb_image out;
		char err[256] = "";
		if (image_decode_jpeg(jpg, len, &out, err, sizeof err) == 0) {
			accepted++;
			image_free(&out);
		} else if (!err[0]) {
			silent++;
		}
		T_ASSERT(out.rgb == NULL || accepted);
	}
	rgb_image out;
	char err[256] = "";
	int rc = image_decode_jpeg(jpg, size - 2, &out, err, sizeof err); /* only the EOI marker missing */
	tjFree(jpg);
	T_ASSERT(rc == -1);
	T_ASSERTF(strstr(err, "Premature end") != NULL, "message '%s'", err);
	T_ASSERTF(accepted == 0, "%d truncated files accepted", accepted);
	T_ASSERTF(silent == 0, "%d failures without a message", silent);
}

static void test_decode_rejects_garbage(void)
{
	static const char *cases[] = {"", "\xFF\xD8", "\xFF\xD8\xFF\xD9", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
				      "hello, world"};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		rgb_image out;
		char err[256] = "";
		size_t len = i == 3 ? 16 : strlen(cases[i]);
		T_ASSERTF(image_decode_jpeg(cases[i], len, &out, err, sizeof err) == -1, "case %zu", i);
		T_ASSERTF(err[0] != 0, "case %zu: no message", i);
		T_ASSERT(out.rgb == NULL && out.width == 0);
	}
	/* random bytes after a valid start */
	uint8_t buf[600];
	int accepted = 0;
	for (int trial = 0; trial < 200; trial++) {
		buf[0] = 0xFF;
		buf[1] = 0xD8;
		for (size_t i = 2; i < sizeof buf; i++)
			buf[i] = (uint8_t)rnd();
		rgb_image out;
		char err[256];
		if (image_decode_jpeg(buf, sizeof buf, &out, err, sizeof err) == 0) {
			accepted++;
			image_free(&out);
		}
	}
	T_ASSERTF(accepted == 0, "%d random files accepted", accepted);
}

/* Damaged entropy-coded data makes libjpeg warn and go on; a warning is an error here. */
static void test_decode_rejects_damaged_data(void)
{
	rgb_image src = random_image(64, 64);
	unsigned long size;
	unsigned char *jpg = make_jpeg(src.rgb, 64, 64, TJPF_RGB, TJSAMP_444, 90, &size);
	image_free(&src);
	T_ASSERT(jpg);
	/* markers (0xFFD0..) in the middle of the scan: "Corrupt JPEG data" */
	unsigned char *bad = xmalloc(size);
	memcpy(bad, jpg, size);
	for (unsigned long i = size / 2; i < size / 2 + 40; i += 2) {
		bad[i] = 0xFF;
		bad[i + 1] = 0xD3;
	}
	rgb_image out;
	char err[256] = "";
	int rc = image_decode_jpeg(bad, size, &out, err, sizeof err);
	free(bad);
	tjFree(jpg);
	T_ASSERT(rc == -1);
	T_ASSERTF(strstr(err, "JPEG") != NULL, "message '%s'", err);
}

/* Patch the size in the SOF0 header of a small JPEG. */
static unsigned char *jpeg_claiming(int w, int h, unsigned long *size)
{
	uint8_t px[8 * 8 * 3] = {0};
	unsigned char *jpg = make_jpeg(px, 8, 8, TJPF_RGB, TJSAMP_444, 90, size);
	for (unsigned long i = 0; jpg && i + 8 < *size; i++)
		if (jpg[i] == 0xFF && jpg[i + 1] == 0xC0) {
			jpg[i + 5] = (uint8_t)(h >> 8);
			jpg[i + 6] = (uint8_t)h;
			jpg[i + 7] = (uint8_t)(w >> 8);
			jpg[i + 8] = (uint8_t)w;
			break;
		}
	return jpg;
}

/* A decoder that failed (in the header parser, or in the data) decodes the next image as a fresh one. */
static void test_decoder_reusable_after_errors(void)
{
	rgb_image src = gradient(35, 25);
	unsigned long size;
	unsigned char *jpg = make_jpeg(src.rgb, 35, 25, TJPF_RGB, TJSAMP_420, 90, &size);
	image_free(&src);
	T_ASSERT(jpg);
	rgb_image fresh, again;
	char err[256];
	T_ASSERT(image_decode_jpeg(jpg, size, &fresh, err, sizeof err) == 0);
	jpeg_decoder *d = jpeg_decoder_new();
	T_ASSERT(d);
	static const unsigned long cuts[] = {100, 2, 300}; /* in the header tables, EOI, in the scan */
	int ok = 1;
	for (int k = 0; k < 3; k++) {
		ok &= jpeg_decoder_decode(d, jpg, size - (k == 1 ? cuts[k] : size - cuts[k]), &again, err,
					  sizeof err) == -1;
		if (jpeg_decoder_decode(d, jpg, size, &again, err, sizeof err) != 0) {
			ok = 0;
			continue;
		}
		ok &= memcmp(again.rgb, fresh.rgb, (size_t)35 * 25 * 3) == 0;
		image_free(&again);
	}
	jpeg_decoder_free(d);
	image_free(&fresh);
	tjFree(jpg);
	T_ASSERT(ok);
}

static void test_decode_refuses_huge_sizes(void)
{
	static const int sizes[][2] = {{20000, 8}, {8, 16385}, {16384, 8192}};
	for (int i = 0; i < 3; i++) {
		unsigned long size;
		unsigned char *jpg = jpeg_claiming(sizes[i][0], sizes[i][1], &size);
		T_ASSERT(jpg);
		int w, h;
		char err[256] = "";
		T_ASSERT(image_jpeg_size(jpg, size, &w, &h, err, sizeof err) == 0);
		T_ASSERT(w == sizes[i][0] && h == sizes[i][1]);
		rgb_image out;
		int rc = image_decode_jpeg(jpg, size, &out, err, sizeof err);
		tjFree(jpg);
		T_ASSERTF(rc == -1, "%dx%d accepted", sizes[i][0], sizes[i][1]);
		T_ASSERTF(strstr(err, "too large") != NULL, "message '%s'", err);
	}
}

static void test_cifar_planes(void)
{
	uint8_t planes[3072];
	for (int i = 0; i < 3072; i++)
		planes[i] = (uint8_t)(i * 7 + i / 1024);
	rgb_image im;
	T_ASSERT(image_from_cifar_planes(planes, &im) == 0);
	T_ASSERT(im.width == 32 && im.height == 32);
	int bad = 0;
	for (int y = 0; y < 32; y++)
		for (int x = 0; x < 32; x++)
			for (int c = 0; c < 3; c++)
				bad += im.rgb[(y * 32 + x) * 3 + c] != planes[c * 1024 + y * 32 + x];
	image_free(&im);
	T_ASSERT(bad == 0);
}

/* ---- resize and preprocessing ------------------------------------------------------------------- */

/* Pillow 9.4: Image.fromarray(src).resize(size, Image.BICUBIC), src 3 wide, 2 high. */
static void test_resize_matches_pillow(void)
{
	static const uint8_t src[18] = {10, 200, 30, 250, 0, 128, 90, 90, 90, 0, 255, 255, 33, 66, 99, 255, 255, 0};
	static const uint8_t up_7x5[105] = {
		0,   215, 0,   37,  174, 20,  170, 77,  78,  255, 0,   131, 201, 15,  125, 94,  65,  103, 57,  84,  95,
		0,   221, 36,  32,  184, 53,  145, 86,  93,  236, 4,   126, 191, 33,  113, 115, 90,  88,  87,  109, 80,
		0,   237, 138, 18,  208, 141, 80,  110, 131, 142, 33,  114, 164, 82,  82,  171, 158, 51,  165, 177, 43,
		0,   253, 240, 3,   232, 228, 14,  133, 168, 47,  62,  101, 137, 130, 50,  226, 226, 14,  243, 245, 6,
		0,   255, 255, 0,   242, 255, 0,   142, 183, 12,  73,  96,  127, 148, 38,  247, 251, 0,   255, 255, 0};
	static const uint8_t down_2x1[6] = {52, 154, 135, 168, 116, 68};
	static const uint8_t mixed_3x4[36] = {11,  195, 10,  255, 0,  131, 75, 75, 98,  8,   211, 77,
					      205, 14,  122, 124, 124, 71, 2,  244, 208, 78, 52,  105,
					      221, 221, 19,  0,   255, 255, 14, 72, 96,  255, 255, 0};
	static const uint8_t one_1x1[3] = {110, 135, 102};
	static const struct {
		int w, h;
		const uint8_t *want;
	} cases[] = {{7, 5, up_7x5}, {2, 1, down_2x1}, {3, 4, mixed_3x4}, {1, 1, one_1x1}};
	rgb_image in = {3, 2, (uint8_t *)src};
	for (int i = 0; i < 4; i++) {
		rgb_image out;
		T_ASSERT(image_resize_bicubic(&in, cases[i].w, cases[i].h, &out) == 0);
		T_ASSERT(out.width == cases[i].w && out.height == cases[i].h);
		int d = max_diff(out.rgb, cases[i].want, (size_t)cases[i].w * cases[i].h * 3);
		image_free(&out);
		T_ASSERTF(d == 0, "%dx%d: differs from Pillow by up to %d", cases[i].w, cases[i].h, d);
	}
}

/* torch 1.13: Normalize(CLIP)(ToTensor()(image)) for the values 0, 1, 128, 255, as float32 bits. */
static void test_normalisation_matches_torch(void)
{
	static const uint32_t want[3][4] = {{0xbfe568dc, 0xbfe38a7f, 0x3d9c5620, 0x3ff71541},
					    {0xbfe044b8, 0xbfde58f1, 0x3e2cf36b, 0x4004cae5},
					    {0xbfbd77d8, 0xbfbba5e1, 0x3eae0dc4, 0x40095660}};
	static const int values[4] = {0, 1, 128, 255};
	rgb_image im = new_image(4, 4);
	for (int i = 0; i < 16; i++)
		memset(im.rgb + i * 3, values[i % 4], 3);
	float out[3 * 16];
	clip_preprocess(&im, 4, 0, out); /* 4x4 at 4: no resize, no crop */
	image_free(&im);
	for (int c = 0; c < 3; c++)
		for (int i = 0; i < 4; i++) {
			uint32_t bits;
			memcpy(&bits, &out[c * 16 + i], 4);
			T_ASSERTF(bits == want[c][i], "channel %d value %d: %08x, torch %08x", c, values[i], bits,
				  want[c][i]);
		}
}

static void test_crop_offsets_round_half_even(void)
{
	int rw, rh, left, top;
	clip_geometry(40, 24, 224, &rw, &rh, &left, &top);
	T_ASSERTF(rw == 373 && rh == 224 && left == 74 && top == 0, "%d %d %d %d", rw, rh, left, top);
	clip_geometry(24, 40, 224, &rw, &rh, &left, &top);
	T_ASSERTF(rw == 224 && rh == 373 && left == 0 && top == 74, "%d %d %d %d", rw, rh, left, top);
	/* (size - n) / 2 = x.5 rounds to the even neighbour: 1.5 -> 2, 2.5 -> 2, 3.5 -> 4, 75.5 -> 76 */
	static const int cases[][3] = {{27, 24, 2}, {29, 24, 2}, {31, 24, 4}, {28, 24, 2}, {375, 224, 76}};
	for (int i = 0; i < 5; i++) {
		int w = cases[i][0], n = cases[i][1];
		clip_geometry(w, n, n, &rw, &rh, &left, &top);
		T_ASSERTF(rw == w && rh == n && left == cases[i][2] && top == 0, "width %d: left %d", w, left);
	}
	/* the long side is int(n * long / short) */
	clip_geometry(500, 375, 224, &rw, &rh, &left, &top);
	T_ASSERTF(rw == 298 && rh == 224 && left == 37, "%d %d %d", rw, rh, left);
}

/* No resize when the short side is already n: the crop alone, at the rounded offset. */
static void test_crop_takes_those_columns(void)
{
	static const int widths[] = {27, 29, 31};
	static const int lefts[] = {2, 2, 4};
	for (int k = 0; k < 3; k++) {
		int w = widths[k], n = 24;
		rgb_image im = new_image(w, n);
		for (int y = 0; y < n; y++)
			for (int x = 0; x < w; x++)
				memset(im.rgb + ((size_t)y * w + x) * 3, x * 8, 3);
		float *out = xmalloc_array((size_t)3 * n * n, sizeof *out);
		clip_preprocess(&im, n, 0, out);
		image_free(&im);
		float first = out[0], expect = torch_norm(lefts[k] * 8, 0);
		free(out);
		T_ASSERTF(first == expect, "width %d: first column is not column %d", w, lefts[k]);
	}
}

static void test_flip_mirrors_the_input(void)
{
	int sizes[][3] = {{37, 23, 16}, {40, 24, 224}, {9, 30, 8}, {32, 32, 32}};
	for (int k = 0; k < 4; k++) {
		int w = sizes[k][0], h = sizes[k][1], n = sizes[k][2];
		rgb_image im = random_image(w, h), m = mirrored(&im);
		size_t count = (size_t)3 * n * n;
		float *a = xmalloc_array(count, sizeof *a), *b = xmalloc_array(count, sizeof *b);
		float *c = xmalloc_array(count, sizeof *c);
		clip_preprocess(&im, n, 1, a);
		clip_preprocess(&m, n, 0, b);
		clip_preprocess(&im, n, 0, c);
		int same_as_mirror = memcmp(a, b, count * sizeof *a) == 0;
		int same_as_plain = memcmp(a, c, count * sizeof *a) == 0;
		free(a);
		free(b);
		free(c);
		image_free(&im);
		image_free(&m);
		T_ASSERTF(same_as_mirror, "%dx%d at %d: flip differs from the mirrored input", w, h, n);
		T_ASSERTF(!same_as_plain, "%dx%d at %d: flip changed nothing", w, h, n);
	}
}

static void test_constant_image_stays_constant(void)
{
	static const int sizes[][2] = {{37, 23}, {224, 141}, {5, 3}, {1, 1}, {400, 2}, {2, 300}};
	rgb_image im = new_image(37, 23);
	for (int i = 0; i < 37 * 23; i++) {
		im.rgb[i * 3] = 17;
		im.rgb[i * 3 + 1] = 200;
		im.rgb[i * 3 + 2] = 255;
	}
	for (int k = 0; k < 6; k++) {
		rgb_image out;
		T_ASSERT(image_resize_bicubic(&im, sizes[k][0], sizes[k][1], &out) == 0);
		int bad = 0;
		for (int i = 0; i < out.width * out.height; i++)
			bad += out.rgb[i * 3] != 17 || out.rgb[i * 3 + 1] != 200 || out.rgb[i * 3 + 2] != 255;
		image_free(&out);
		T_ASSERTF(bad == 0, "%dx%d: %d pixels changed", sizes[k][0], sizes[k][1], bad);
	}
	for (int n = 1; n <= 224; n += 223) {
		float *out = xmalloc_array((size_t)3 * n * n, sizeof *out);
		clip_preprocess(&im, n, 1, out);
		int bad = 0;
		for (int c = 0; c < 3; c++)
			for (int i = 0; i < n * n; i++)
				bad += out[c * n * n + i] != torch_norm(c == 0 ? 17 : c == 1 ? 200 : 255, c);
		free(out);
		T_ASSERTF(bad == 0, "at %d: %d values differ", n, bad);
	}
	image_free(&im);
}

static void test_one_pixel_wide_image(void)
{
	rgb_image col = random_image(1, 37), row = random_image(41, 1), dot = random_image(1, 1);
	const rgb_image *ims[] = {&col, &row, &dot};
	for (int k = 0; k < 3; k++) {
		for (int n = 1; n <= 33; n += 8) {
			size_t count = (size_t)3 * n * n;
			float *a = xmalloc_array(count, sizeof *a), *b = xmalloc_array(count, sizeof *b);
			clip_preprocess(ims[k], n, 0, a);
			reference_preprocess(ims[k], n, 0, b);
			/* a 1-pixel-wide image resized is constant along its width */
			int rows_constant = 1, cols_constant = 1;
			for (int c = 0; c < 3; c++)
				for (int y = 0; y < n; y++)
					for (int x = 0; x < n; x++) {
						float v = a[((size_t)c * n + y) * n + x];
						rows_constant &= v == a[((size_t)c * n + y) * n];
						cols_constant &= v == a[(size_t)c * n * n + x];
					}
			int same = memcmp(a, b, count * sizeof *a) == 0;
			free(a);
			free(b);
			T_ASSERTF(same, "image %d at %d differs from the plain path", k, n);
			T_ASSERTF(k != 0 || rows_constant, "1x37 at %d: rows not constant", n);
			T_ASSERTF(k != 1 || cols_constant, "41x1 at %d: columns not constant", n);
		}
	}
	image_free(&col);
	image_free(&row);
	image_free(&dot);
}

/* Up- and downscaling, square and not, odd sizes, every set of inner loops: the fast path gives the
 * plain path's floats bit for bit. */
static void test_preprocess_matches_plain_path(void)
{
	static const int shapes[][3] = {{32, 32, 224}, {40, 24, 224}, {24, 40, 224}, {500, 375, 224},
					{375, 500, 224}, {32, 32, 32}, {33, 32, 32}, {17, 99, 32},
					{99, 17, 32},    {640, 480, 64}, {7, 300, 16}, {300, 7, 16},
					{226, 225, 224}, {224, 231, 224}, {64, 64, 17}, {1000, 33, 48}};
	static const char *kernel_sets[] = {"generic", "avx2", "avx512"};
	int tried = 0;
	for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
		int w = shapes[s][0], h = shapes[s][1], n = shapes[s][2];
		rgb_image im = random_image(w, h);
		size_t count = (size_t)3 * n * n;
		float *want = xmalloc_array(count, sizeof *want), *got = xmalloc_array(count, sizeof *got);
		for (int flip = 0; flip < 2; flip++) {
			reference_preprocess(&im, n, flip, want);
			for (int k = 0; k < 3; k++) {
				clip_prep *p = clip_prep_new(n);
				if (clip_prep_set_kernels(p, kernel_sets[k]) != 0) {
					clip_prep_free(p);
					continue;
				}
				tried++;
				clip_prep_run(p, &im, flip, got);
				clip_prep_run(p, &im, flip, got); /* the second run reuses the plan */
				clip_prep_free(p);
				size_t bad = 0;
				for (size_t i = 0; i < count; i++)
					bad += memcmp(&got[i], &want[i], sizeof *got) != 0;
				if (bad) {
					free(want);
					free(got);
					image_free(&im);
				}
				T_ASSERTF(bad == 0, "%dx%d at %d, flip %d, %s loops: %zu of %zu values differ", w, h, n,
					  flip, kernel_sets[k], bad, count);
			}
		}
		free(want);
		free(got);
		image_free(&im);
	}
	T_ASSERT(tried >= 2 * 16);
}

static void test_resize_shapes(void)
{
	rgb_image im = random_image(45, 29);
	static const int sizes[][2] = {{90, 58}, {20, 13}, {45, 100}, {200, 29}, {1, 29}, {45, 1}, {301, 7}};
	for (int k = 0; k < 7; k++) {
		rgb_image out;
		T_ASSERT(image_resize_bicubic(&im, sizes[k][0], sizes[k][1], &out) == 0);
		T_ASSERT(out.width == sizes[k][0] && out.height == sizes[k][1] && out.rgb);
		image_free(&out);
	}
	rgb_image out;
	T_ASSERT(image_resize_bicubic(&im, 0, 5, &out) == -1);
	T_ASSERT(image_resize_bicubic(&im, 45, 29, &out) == 0); /* same size: a copy */
	T_ASSERT(memcmp(out.rgb, im.rgb, (size_t)45 * 29 * 3) == 0);
	image_free(&out);
	image_free(&im);
}

/* ---- batches and the thread pool ---------------------------------------------------------------- */

static void test_batch_independent_of_threads(void)
{
	enum { COUNT = 11, N = 48 };
	static const int sizes[COUNT][2] = {{32, 32}, {40, 24}, {500, 375}, {7, 90}, {48, 48}, {1, 1},
					    {100, 49}, {32, 32}, {33, 31}, {64, 200}, {2, 2}};
	rgb_image ims[COUNT];
	uint8_t flips[COUNT];
	for (int i = 0; i < COUNT; i++) {
		ims[i] = random_image(sizes[i][0], sizes[i][1]);
		flips[i] = (uint8_t)(i % 3 == 1);
	}
	size_t total = (size_t)COUNT * 3 * N * N;
	float *first = xmalloc_array(total, sizeof *first), *other = xmalloc_array(total, sizeof *other);
	clip_preprocess_batch(NULL, ims, COUNT, N, flips, first);
	int differs = 0;
	for (int threads = 1; threads <= 5; threads += 2) {
		thread_pool *pool = thread_pool_new(threads);
		for (int rep = 0; rep < 3; rep++) {
			memset(other, 0xAB, total * sizeof *other);
			clip_preprocess_batch(pool, ims, COUNT, N, flips, other);
			differs += memcmp(first, other, total * sizeof *first) != 0;
		}
		thread_pool_free(pool);
	}
	/* one image alone gives its slot of the batch */
	float *one = xmalloc_array((size_t)3 * N * N, sizeof *one);
	clip_preprocess(&ims[2], N, flips[2], one);
	int slot_ok = memcmp(one, first + (size_t)2 * 3 * N * N, (size_t)3 * N * N * sizeof *one) == 0;
	free(one);
	free(first);
	free(other);
	for (int i = 0; i < COUNT; i++)
		image_free(&ims[i]);
	T_ASSERTF(differs == 0, "%d runs differ from the single-threaded one", differs);
	T_ASSERT(slot_ok);
}

static void test_jpeg_batch_reports_first_bad_image(void)
{
	enum { COUNT = 6, N = 24 };
	unsigned char *jpgs[COUNT];
	const void *data[COUNT];
	size_t len[COUNT];
	for (int i = 0; i < COUNT; i++) {
		rgb_image im = gradient(20 + i * 3, 30 - i);
		unsigned long size;
		jpgs[i] = make_jpeg(im.rgb, im.width, im.height, TJPF_RGB, TJSAMP_420, 90, &size);
		image_free(&im);
		T_ASSERT(jpgs[i]);
		data[i] = jpgs[i];
		len[i] = size;
	}
	len[4] /= 2; /* truncated */
	len[2] -= 2; /* no EOI */
	size_t each = (size_t)3 * N * N;
	float *out = xmalloc_array(COUNT * each, sizeof *out);
	thread_pool *pool = thread_pool_new(3);
	int bad = -2;
	char err[256] = "";
	int rc = clip_preprocess_jpeg_batch(pool, data, len, COUNT, N, NULL, out, &bad, err, sizeof err);
	thread_pool_free(pool);
	int zero_slots = 0, good_slots = 0;
	for (int i = 0; i < COUNT; i++) {
		int zero = 1;
		for (size_t k = 0; k < each; k++)
			zero &= out[i * each + k] == 0.0f;
		zero_slots += zero;
		if (i != 2 && i != 4) {
			rgb_image im;
			char e2[256];
			float *one = xmalloc_array(each, sizeof *one);
			if (image_decode_jpeg(data[i], len[i], &im, e2, sizeof e2) == 0) {
				clip_preprocess(&im, N, 0, one);
				good_slots += memcmp(one, out + i * each, each * sizeof *one) == 0;
				image_free(&im);
			}
			free(one);
		}
	}
	free(out);
	for (int i = 0; i < COUNT; i++)
		tjFree(jpgs[i]);
	T_ASSERT(rc == -1);
	T_ASSERTF(bad == 2, "bad index %d", bad);
	T_ASSERTF(strncmp(err, "image 2: ", 9) == 0, "message '%s'", err);
	T_ASSERTF(zero_slots == 2, "%d zeroed slots", zero_slots);
	T_ASSERTF(good_slots == 4, "%d good slots as computed alone", good_slots);
}

struct count_ctx {
	atomic_int *hits;
	atomic_int bad_worker;
	int size;
};

static void count_item(void *ctx, size_t i, int worker)
{
	struct count_ctx *c = ctx;
	atomic_fetch_add(&c->hits[i], 1);
	if (worker < 0 || worker >= c->size)
		atomic_fetch_add(&c->bad_worker, 1);
}

static void test_thread_pool_runs_each_index_once(void)
{
	enum { N = 2000 };
	atomic_int *hits = xcalloc(N, sizeof *hits);
	for (int threads = 1; threads <= 4; threads++) {
		thread_pool *pool = thread_pool_new(threads);
		T_ASSERT(thread_pool_size(pool) == threads);
		struct count_ctx c = {hits, 0, threads};
		for (int rep = 0; rep < 50; rep++) {
			size_t n = rep % 7 == 0 ? 0 : (size_t)(rep * 37 % N) + 1;
			for (size_t i = 0; i < N; i++)
				atomic_store(&hits[i], 0);
			if (rep % 2)
				thread_pool_for(pool, n, count_item, &c);
			else {
				thread_pool_start(pool, n, count_item, &c);
				thread_pool_wait(pool);
			}
			int wrong = 0;
			for (size_t i = 0; i < N; i++)
				wrong += atomic_load(&hits[i]) != (i < n ? 1 : 0);
			if (wrong) {
				thread_pool_free(pool);
				free(hits);
			}
			T_ASSERTF(wrong == 0, "%d threads, n %zu: %d indices not run exactly once", threads, n, wrong);
		}
		thread_pool_free(pool);
		T_ASSERT(atomic_load(&c.bad_worker) == 0);
	}
	thread_pool *pool = thread_pool_new(0);
	T_ASSERT(thread_pool_size(pool) >= 1);
	thread_pool_free(pool);
	T_ASSERT(thread_pool_size(NULL) == 1);
	free(hits);
}

/* ---- the goldens -------------------------------------------------------------------------------- */

static void test_golden_pixels(void)
{
	const char *dir = t_golden_dir();
	if (!dir) {
		t_skip("test_golden_pixels", "no ../shared/golden/tiny-clip");
		return;
	}
	static const char *names[] = {"0_airplane_0000.jpg", "1_cat_0017.jpg", "2_frog_0034.jpg",
				      "3_truck_0051.jpg",    "4_bird_0068.jpg", "5_dog_0085.jpg",
				      "6_ship_0102.jpg",     "7_automobile_0119.jpg"};
	char path[4096];
	snprintf(path, sizeof path, "%s/pixels.npy", dir);
	int64_t shape[NPY_MAX_DIMS];
	size_t count;
	float *want = npy_load_f32(path, 4, shape, &count);
	int n = (int)shape[2];
	T_ASSERT(shape[0] == 8 && shape[1] == 3 && shape[3] == n);
	float *got = xmalloc_array(count, sizeof *got);
	for (int i = 0; i < 8; i++) {
		snprintf(path, sizeof path, "%s/images/%s", dir, names[i]);
		size_t len;
		char *data = xread_file(path, &len);
		rgb_image im;
		char err[256];
		int rc = image_decode_jpeg(data, len, &im, err, sizeof err);
		free(data);
		T_ASSERTF(rc == 0, "%s: %s", names[i], err);
		clip_preprocess(&im, n, 0, got + (size_t)i * 3 * n * n);
		image_free(&im);
	}
	int same = memcmp(got, want, count * sizeof *got) == 0;
	free(got);
	free(want);
	T_ASSERTF(same, "pixels.npy not reproduced bit for bit");
}

int main(void)
{
	T_RUN(test_decode_rgb_444);
	T_RUN(test_decode_rgb_420_odd_size);
	T_RUN(test_decode_gray_gives_equal_channels);
	T_RUN(test_decode_cmyk_as_pillow);
	T_RUN(test_decode_rejects_truncated);
	T_RUN(test_decode_rejects_garbage);
	T_RUN(test_decode_rejects_damaged_data);
	T_RUN(test_decoder_reusable_after_errors);
	T_RUN(test_decode_refuses_huge_sizes);
	T_RUN(test_cifar_planes);
	T_RUN(test_resize_matches_pillow);
	T_RUN(test_normalisation_matches_torch);
	T_RUN(test_crop_offsets_round_half_even);
	T_RUN(test_crop_takes_those_columns);
	T_RUN(test_flip_mirrors_the_input);
	T_RUN(test_constant_image_stays_constant);
	T_RUN(test_one_pixel_wide_image);
	T_RUN(test_preprocess_matches_plain_path);
	T_RUN(test_resize_shapes);
	T_RUN(test_batch_independent_of_threads);
	T_RUN(test_jpeg_batch_reports_first_bad_image);
	T_RUN(test_thread_pool_runs_each_index_once);
	T_RUN(test_golden_pixels);
	return t_summary();
}
