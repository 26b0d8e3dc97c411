/* cuda_preprocess.h — CLIP's image preprocessing and the pixel mix on the device (preprocess.cu), equal
 * bit for bit to the CPU reference: clip_prep_run (data/image.h: optional horizontal flip of the source,
 * Pillow's fixed-point bicubic resize of the short side to n, centre crop, (v / 255 - mean) / std in
 * float32) and pixel_mix (data/pixel_mix.h). Together they make a batch item as the batch loader does
 * (data/batch_loader.h):
 *
 *     out[b] = lx[b] · pre(x_i[b], flip_i[b]) + (1 − lx[b]) · pre(x_j[b], flip_j[b])
 *
 * = cuda_preprocess_batch of the i images, of the j images, then cuda_pixel_mix_batch of the two.
 * Conventions as cuda_kernels.h: C-callable, pointers are device memory unless said, arguments checked
 * (LFM_CUDA_REQUIRE), work launched on the context's stream without waiting, deterministic. */
#ifndef LFM_CUDA_PREPROCESS_H
#define LFM_CUDA_PREPROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "cuda_context.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The resize and crop of one source size (width x height) to n x n, planned on the host exactly as
 * clip_prep_run plans it (clip_geometry, then resize_axis_plan for the crop's output indices only, so the
 * coefficient tables are the CPU's own), and its tables uploaded once. Read-only after _new; the fields
 * are for the caller's information. */
typedef struct cuda_preprocess_plan {
	int width, height, n;
	int need_h, need_v; /* whether Pillow's horizontal / vertical pass runs (a side that keeps its size is
			     * copied, as ImagingResampleInner skips it) */
	int left, top;      /* the crop's corner in the resized image */
	int row0, rows;     /* the source rows the window reads */
	int kx, ky;         /* coefficient row lengths (resize_axis.ksize) of each axis; 0 when its pass is off */
	/* device tables in one allocation: xmin [n], taps [n], k [n * ksize] per axis (NULL when the pass
	 * does not run) */
	const int32_t *xmin_x, *taps_x, *k_x, *xmin_y, *taps_y, *k_y;
	void *dev;
	size_t dev_bytes;
} cuda_preprocess_plan;

/* width, height in 1 .. IMAGE_MAX_SIDE, n in 1 .. CLIP_MAX_SIZE (image.h), the limits clip_prep_run dies
 * on; another size is a caller's bug (LFM_CUDA_REQUIRE: reported, exit 3). Never NULL. */
cuda_preprocess_plan *cuda_preprocess_plan_new(lfm_cuda_context *ctx, int width, int height, int n);
void cuda_preprocess_plan_free(lfm_cuda_context *ctx, cuda_preprocess_plan *plan); /* NULL: nothing */

/* Working memory of cuda_preprocess_batch for B images: the horizontal pass's 8-bit output,
 * B x rows x n x 3 bytes, as floats. */
size_t cuda_preprocess_scratch_floats(const cuda_preprocess_plan *plan, int B);

/* out [B, 3, n, n] float32 = clip_prep_run(images[b], flip[b]) for b < B. images: B interleaved RGB8
 * images of the plan's size, [B][height][width][3] bytes; flip [B] (NULL: none) non-zero mirrors that
 * image horizontally before the resize; scratch: cuda_preprocess_scratch_floats(plan, B) floats, not
 * overlapping out or images. */
void cuda_preprocess_batch(lfm_cuda_context *ctx, const cuda_preprocess_plan *plan, float *out,
			   const uint8_t *images, const uint8_t *flip, int B, float *scratch);

/* out[b * per_item + k] = pixel_mix's lx[b] · a[..] + (1 − lx[b]) · b[..] for b < B, k < per_item: the
 * same three float32 roundings, no FMA. lx [B] device; out may be a or b (element-wise). */
void cuda_pixel_mix_batch(lfm_cuda_context *ctx, float *out, const float *a, const float *b, const float *lx, int B,
			  size_t per_item);

#ifdef __cplusplus
}
#endif
#endif
