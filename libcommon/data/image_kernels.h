/* image_kernels.h — the inner loops of CLIP preprocessing, in a portable version and, on x86-64, AVX2 +
 * FMA and AVX-512 versions chosen at run time (the build itself assumes nothing beyond x86-64's SSE2).
 * Internal to the image pipeline (clip_preprocess.c).
 *
 * Each resample kernel is one output line of one of Pillow's passes laid out so that the inputs are
 * contiguous: dst[j] = clip8((1 << 21) + sum_t src[t * stride + j] * k[t]) >> 22. The vertical pass reads
 * rows of the (planar) image directly; the horizontal pass reads rows of its transpose. All versions give
 * identical bytes (integer arithmetic).
 *
 * The _f32 variants turn the 8-bit result v into torch's float32 ((v / 255) - mean) / std. The portable
 * version reads a table; the SIMD version computes both divisions as a * (1/b) corrected by one FMA step
 * (Markstein), which is correctly rounded for these operands — clip_norm_init checks every one of the 256
 * values per channel against the table and clears fma_exact if any differs, and then only the portable
 * loops are used.
 */
#ifndef LFM_IMAGE_KERNELS_H
#define LFM_IMAGE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

typedef struct clip_norm {
	float lut[3][256]; /* torch's values, computed with its operations */
	float mean[3], std[3], rstd[3], r255;
	int fma_exact; /* the FMA formula reproduces lut exactly for every channel and value */
} clip_norm;

void clip_norm_init(clip_norm *nm);

typedef struct image_kernels {
	const char *name;
	void (*resample_u8)(const uint8_t *src, size_t stride, const int32_t *k, int taps, size_t len,
			    uint8_t *dst);
	void (*resample_f32)(const uint8_t *src, size_t stride, const int32_t *k, int taps, size_t len,
			     const clip_norm *nm, int c, float *dst);
	void (*u8_to_f32)(const uint8_t *src, size_t len, const clip_norm *nm, int c, float *dst);
} image_kernels;

const image_kernels *image_kernels_generic(void);
/* The set of that name ("generic", "avx2", "avx512") when this CPU runs it exactly with nm, else NULL. */
const image_kernels *image_kernels_named(const char *name, const clip_norm *nm);
/* The fastest set this CPU runs exactly with nm (the generic one if nothing better applies). */
const image_kernels *image_kernels_best(const clip_norm *nm);

/* dst[x * dst_stride + y] = src[y * src_stride + x] for y < rows, x < cols. */
void transpose_u8(const uint8_t *src, size_t src_stride, int rows, int cols, uint8_t *dst, size_t dst_stride);

#endif
