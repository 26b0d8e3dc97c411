/* image.h — the image pipeline: JPEG decoding, Pillow's bicubic resize, OpenAI CLIP's preprocessing.
 *
 * The goal is bit-for-bit agreement with the reference pipeline, PIL.Image.open(f).convert("RGB")
 * followed by CLIP's _transform(n) (torchvision 0.14 on Pillow 9.4):
 *
 *   Resize(n, BICUBIC)  short side to n, long side int(n * long / short); PIL's ImagingResample: two
 *                       fixed-point passes (horizontal, then vertical), each rounded to 8 bits
 *   CenterCrop(n)       offsets int(round((size - n) / 2.0)), Python's round-half-to-even
 *   ToTensor, Normalize (v / 255 - mean) / std in float32, CLIP's mean and std
 *
 * Decoding uses libjpeg-turbo (the library Pillow links) with Pillow's settings: accurate integer IDCT,
 * fancy upsampling. Grayscale JPEGs become R = G = B; four-component JPEGs are read as Adobe (inverted)
 * CMYK and converted with Pillow's cmyk2rgb, as Pillow does for every CMYK JPEG.
 * Converting to RGB at decode time, before the resize, is what torchvision's pil_loader and the
 * reference code's datasets do; for a grayscale image the order does not matter.
 *
 * Functions that see untrusted bytes return -1 with a message (no file name in it) and never die.
 */
#ifndef LFM_IMAGE_H
#define LFM_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "base/thread_pool.h"

typedef struct rgb_image {
	int width, height;
	uint8_t *rgb; /* interleaved RGB8, row-major, width * 3 bytes a row, owned (image_free) */
} rgb_image;

void image_free(rgb_image *img);

/* Limits on what the decoder accepts (a JPEG header can claim 65535 x 65535). */
#define IMAGE_MAX_SIDE 16384
#define IMAGE_MAX_PIXELS (64L * 1024 * 1024)
/* Whether a w x h image is within them: 0, or -1 with "JPEG image too large: ..." in err. The decoder's
 * own test, also applied by dataset_check_sample (lt-subset --check), so that what passes the check
 * decodes. */
int image_jpeg_limits(int w, int h, char *err, size_t errsz);

/* Decode a JPEG held in memory into RGB. Corrupt or truncated data (libjpeg warnings included), sizes
 * over the limits and unsupported kinds (12-bit, two-component) -> -1 with a message in err. */
int image_decode_jpeg(const void *data, size_t len, rgb_image *out, char *err, size_t errsz);

/* The image's size from the JPEG header alone (no pixels decoded). 0, or -1 with a message. */
int image_jpeg_size(const void *data, size_t len, int *width, int *height, char *err, size_t errsz);

/* The same with a reusable decoder (cheaper per image; one per thread). */
typedef struct jpeg_decoder jpeg_decoder;
jpeg_decoder *jpeg_decoder_new(void); /* NULL when libjpeg-turbo cannot allocate one */
int jpeg_decoder_decode(jpeg_decoder *d, const void *data, size_t len, rgb_image *out, char *err,
			size_t errsz);
void jpeg_decoder_free(jpeg_decoder *d);

/* A 32x32 CIFAR record's pixels (1024 R, then 1024 G, then 1024 B bytes) as an RGB image. 0, or -1
 * when out of memory. */
int image_from_cifar_planes(const uint8_t planes[3072], rgb_image *out);

/* ---- Pillow's bicubic resample (Pillow 9.4 ImagingResample, 8-bit bands) ---------------------------
 * One axis' coefficients: output index i (of out_size) reads inputs xmin[i] .. xmin[i] + taps[i] - 1
 * with fixed-point weights k[i * ksize + t] (22 fractional bits). Only the output indices
 * [first, first + count) are planned: a centre crop needs no others, and each output index's value does
 * not depend on which others are computed. */
typedef struct resize_axis {
	int in_size, out_size, first, count, ksize;
	int *xmin, *taps;
	int32_t *k;
} resize_axis;

/* 0, or -1 for sizes out of range or no memory. */
int resize_axis_plan(resize_axis *a, int in_size, int out_size, int first, int count);
void resize_axis_free(resize_axis *a);

/* Pillow's passes over interleaved RGB8. Horizontal: rows of in -> rows of ax->count pixels (the output
 * indices ax->first ..). Vertical: output index i of ay (the row ay->first + i) from the rows of in,
 * whose first row is input row in_row0; bytes = 3 * pixels a row; acc: bytes int32 of scratch. */
void resize_pass_horizontal(const uint8_t *in, size_t in_stride, int rows, const resize_axis *ax,
			    uint8_t *out, size_t out_stride);
void resize_pass_vertical_row(const uint8_t *in, size_t in_stride, int in_row0, const resize_axis *ay,
			      int i, size_t bytes, int32_t *acc, uint8_t *out);

/* The full resize of in to out_w x out_h, as PIL's Image.resize(size, Image.BICUBIC) with no box and
 * no reducing_gap. 0, or -1 for bad sizes or no memory. */
int image_resize_bicubic(const rgb_image *in, int out_w, int out_h, rgb_image *out);

/* ---- CLIP preprocessing ----------------------------------------------------------------------------
 * out: float32 [3, n, n] (CHW). flip != 0 mirrors the image horizontally first (training augmentation).
 * n must be in 1 .. CLIP_MAX_SIZE and the image's sides in 1 .. IMAGE_MAX_SIDE, as the decoder gives
 * them (programming errors otherwise: dies). */
#define CLIP_MAX_SIZE 4096
extern const float clip_mean[3], clip_std[3];

/* The geometry torchvision computes: the resized size and the crop's top-left corner in it. */
void clip_geometry(int width, int height, int n, int *resized_w, int *resized_h, int *left, int *top);

void clip_preprocess(const rgb_image *in, int n, int flip, float *out);

/* A reusable preprocessor for size n: keeps its coefficient tables (recomputed only when the input
 * size changes) and scratch buffers. One per thread. */
typedef struct clip_prep clip_prep;
clip_prep *clip_prep_new(int n);
void clip_prep_run(clip_prep *p, const rgb_image *in, int flip, float *out);
void clip_prep_free(clip_prep *p);
/* The inner loops it uses: "avx512", "avx2" (x86-64, chosen at run time) or "generic" (portable). All
 * give identical results; tests and benchmarks force each available one. -1: not available here. */
const char *clip_prep_kernels(const clip_prep *p);
int clip_prep_set_kernels(clip_prep *p, const char *name);

/* count images into out (count x 3 x n x n floats), spread over the pool's threads (pool NULL: the
 * calling thread). flips NULL = no flips. The result does not depend on the thread count. */
void clip_preprocess_batch(thread_pool *pool, const rgb_image *imgs, int count, int n,
			   const uint8_t *flips, float *out);

/* Decode and preprocess count JPEGs (data[i], len[i]) into out, spread over the pool's threads. 0, or
 * -1 when any image fails: err names the first (lowest) failing index and why, and *bad_index (when not
 * NULL) receives it; the other images are still written, the failing ones' slots are zero. */
int clip_preprocess_jpeg_batch(thread_pool *pool, const void *const *data, const size_t *len, int count,
			       int n, const uint8_t *flips, float *out, int *bad_index, char *err,
			       size_t errsz);

#endif
