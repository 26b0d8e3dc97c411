/* pil_resize.c — Pillow's bicubic resample for 8-bit RGB, reproduced exactly.
 *
 * Pillow 9.4, src/libImaging/Resample.c: precompute_coeffs computes, for each output index, the input
 * window and double weights of the bicubic kernel (a = -0.5, support 2, widened by the scale factor when
 * shrinking, so the result is antialiased), normalised by their sum; normalize_coeffs_8bpc turns them
 * into fixed point with PRECISION_BITS = 32 - 8 - 2 = 22 fractional bits (rounding half away from
 * zero); each pass sums integer products onto 1 << 21 and keeps bits 22.. clamped to 0..255 (clip8).
 * ImagingResampleInner runs the horizontal pass (only when the width changes) and then the vertical
 * pass (only when the height changes) on its 8-bit result.
 *
 * Every double operation below is written in Pillow's order; x86-64 without FMA and C's default
 * FP_CONTRACT in ISO mode keep them unfused, as in Pillow's build. */
#include "data/image.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define PRECISION_BITS (32 - 8 - 2)
#define BICUBIC_SUPPORT 2.0

static double bicubic_filter(double x)
{
	/* Resample.c's bicubic_filter with its macro a = -0.5 substituted. */
	if (x < 0.0)
		x = -x;
	if (x < 1.0)
		return ((-0.5 + 2.0) * x - (-0.5 + 3.0)) * x * x + 1;
	if (x < 2.0)
		return (((x - 5) * x + 8) * x - 4) * -0.5;
	return 0.0;
}

void resize_axis_free(resize_axis *a)
{
	if (!a)
		return;
	free(a->xmin);
	free(a->taps);
	free(a->k);
	memset(a, 0, sizeof *a);
}

int resize_axis_plan(resize_axis *a, int in_size, int out_size, int first, int count)
{
	memset(a, 0, sizeof *a);
	if (in_size <= 0 || out_size <= 0 || first < 0 || count < 0 || count > out_size - first)
		return -1;
	/* Pillow: box (in0, in1) = (0, in_size) as floats, scale = (double)(in1 - in0) / outSize. */
	double scale = (double)((float)in_size - 0.0f) / out_size;
	double filterscale = scale < 1.0 ? 1.0 : scale;
	double support = BICUBIC_SUPPORT * filterscale;
	double kmax = ceil(support) * 2 + 1;
	if (kmax > INT_MAX / 8)
		return -1;
	int ksize = (int)kmax;
	a->in_size = in_size;
	a->out_size = out_size;
	a->first = first;
	a->count = count;
	a->ksize = ksize;
	size_t nk = (size_t)(count ? count : 1) * (size_t)ksize;
	a->xmin = malloc((size_t)(count ? count : 1) * sizeof *a->xmin);
	a->taps = malloc((size_t)(count ? count : 1) * sizeof *a->taps);
	a->k = calloc(nk, sizeof *a->k);
	double *w = malloc((size_t)ksize * sizeof *w);
	if (!a->xmin || !a->taps || !a->k || !w) {
		free(w);
		resize_axis_free(a);
		return -1;
	}
	double ss = 1.0 / filterscale;
	for (int i = 0; i < count; i++) {
		int xx = first + i;
		double center = 0.0f + (xx + 0.5) * scale;
		double ww = 0.0;
		int xmin = (int)(center - support + 0.5);
		if (xmin < 0)
			xmin = 0;
		int xmax = (int)(center + support + 0.5);
		if (xmax > in_size)
			xmax = in_size;
		xmax -= xmin;
		if (xmax > ksize)
			xmax = ksize; /* cannot happen (ksize bounds the window); keeps the buffer safe */
		if (xmax < 0)
			xmax = 0;
		for (int x = 0; x < xmax; x++) {
			double v = bicubic_filter((x + xmin - center + 0.5) * ss);
			w[x] = v;
			ww += v;
		}
		int32_t *k = a->k + (size_t)i * ksize;
		for (int x = 0; x < xmax; x++) {
			double v = ww != 0.0 ? w[x] / ww : w[x];
			/* normalize_coeffs_8bpc */
			if (v < 0)
				k[x] = (int32_t)(-0.5 + v * (1 << PRECISION_BITS));
			else
				k[x] = (int32_t)(0.5 + v * (1 << PRECISION_BITS));
		}
		a->xmin[i] = xmin;
		a->taps[i] = xmax;
	}
	free(w);
	return 0;
}

static inline uint8_t clip8(int32_t acc)
{
	int32_t v = acc >> PRECISION_BITS; /* arithmetic shift, as Pillow's clip8 relies on */
	return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

void resize_pass_horizontal(const uint8_t *in, size_t in_stride, int rows, const resize_axis *ax,
			    uint8_t *out, size_t out_stride)
{
	for (int r = 0; r < rows; r++) {
		const uint8_t *src = in + (size_t)r * in_stride;
		uint8_t *dst = out + (size_t)r * out_stride;
		for (int i = 0; i < ax->count; i++) {
			const int32_t *k = ax->k + (size_t)i * ax->ksize;
			const uint8_t *p = src + (size_t)ax->xmin[i] * 3;
			int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
			for (int t = 0; t < ax->taps[i]; t++) {
				s0 += p[t * 3 + 0] * k[t];
				s1 += p[t * 3 + 1] * k[t];
				s2 += p[t * 3 + 2] * k[t];
			}
			dst[i * 3 + 0] = clip8(s0);
			dst[i * 3 + 1] = clip8(s1);
			dst[i * 3 + 2] = clip8(s2);
		}
	}
}

void resize_pass_vertical_row(const uint8_t *in, size_t in_stride, int in_row0, const resize_axis *ay,
			      int i, size_t bytes, int32_t *acc, uint8_t *out)
{
	const int32_t *k = ay->k + (size_t)i * ay->ksize;
	const uint8_t *src = in + (size_t)(ay->xmin[i] - in_row0) * in_stride;
	for (size_t j = 0; j < bytes; j++)
		acc[j] = 1 << (PRECISION_BITS - 1);
	for (int t = 0; t < ay->taps[i]; t++) {
		const uint8_t *row = src + (size_t)t * in_stride;
		int32_t kt = k[t];
		for (size_t j = 0; j < bytes; j++)
			acc[j] += row[j] * kt;
	}
	for (size_t j = 0; j < bytes; j++)
		out[j] = clip8(acc[j]);
}

/* The two passes of ImagingResampleInner into dst (out_w x out_h); 0 or -1 (no memory). */
static int resample(const rgb_image *in, int out_w, int out_h, uint8_t *dst)
{
	resize_axis ax = {0}, ay = {0};
	uint8_t *tmp = NULL;
	int32_t *acc = NULL;
	int rc = -1;
	const uint8_t *src = in->rgb;
	size_t src_stride = (size_t)in->width * 3, row_bytes = (size_t)out_w * 3;
	int src_row0 = 0;
	if (resize_axis_plan(&ay, in->height, out_h, 0, out_h) != 0)
		goto done;
	if (out_w != in->width) {
		/* Only the input rows the vertical pass reads (Pillow's ybox_first .. ybox_last). */
		int y0 = 0, y1 = in->height;
		if (out_h != in->height) {
			y0 = ay.xmin[0];
			y1 = ay.xmin[out_h - 1] + ay.taps[out_h - 1];
		}
		if (resize_axis_plan(&ax, in->width, out_w, 0, out_w) != 0 ||
		    !(tmp = malloc((size_t)(y1 - y0) * row_bytes)))
			goto done;
		resize_pass_horizontal(in->rgb + (size_t)y0 * src_stride, src_stride, y1 - y0, &ax, tmp, row_bytes);
		src = tmp;
		src_stride = row_bytes;
		src_row0 = y0;
	}
	if (out_h != in->height) {
		if (!(acc = malloc(row_bytes * sizeof *acc)))
			goto done;
		for (int i = 0; i < out_h; i++)
			resize_pass_vertical_row(src, src_stride, src_row0, &ay, i, row_bytes, acc,
						 dst + (size_t)i * row_bytes);
	} else {
		memcpy(dst, src, row_bytes * out_h);
	}
	rc = 0;
done:
	resize_axis_free(&ax);
	resize_axis_free(&ay);
	free(tmp);
	free(acc);
	return rc;
}

int image_resize_bicubic(const rgb_image *in, int out_w, int out_h, rgb_image *out)
{
	out->width = out->height = 0;
	out->rgb = NULL;
	if (in->width <= 0 || in->height <= 0 || out_w <= 0 || out_h <= 0 || out_w > IMAGE_MAX_SIDE * 16 ||
	    out_h > IMAGE_MAX_SIDE * 16)
		return -1;
	uint8_t *dst = malloc((size_t)out_w * out_h * 3);
	if (!dst)
		return -1;
	if (out_w == in->width && out_h == in->height) /* Image.resize returns a copy */
		memcpy(dst, in->rgb, (size_t)out_w * out_h * 3);
	else if (resample(in, out_w, out_h, dst) != 0) {
		free(dst);
		return -1;
	}
	out->width = out_w;
	out->height = out_h;
	out->rgb = dst;
	return 0;
}
