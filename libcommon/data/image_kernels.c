/* image_kernels.c — portable, AVX2 + FMA and AVX-512 inner loops of CLIP preprocessing; see
 * image_kernels.h. */
#include "data/image_kernels.h"

#include <math.h>
#include <string.h>

/* -DLFM_NO_SIMD builds the portable loops only (to test them on an x86-64 machine). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(LFM_NO_SIMD)
#define HAVE_X86_KERNELS 1
#include <immintrin.h>
#endif

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define PRECISION_BITS 22
#define ROUNDING (1 << (PRECISION_BITS - 1))

/* CLIP's constants as torch holds them: float32. */
static const float clip_mean_f[3] = {0.48145466f, 0.4578275f, 0.40821073f};
static const float clip_std_f[3] = {0.26862954f, 0.26130258f, 0.27577711f};

/* a / b as a * r (r = 1/b rounded) plus one correction step; fmaf is exactly the fused operation the
 * SIMD code uses. */
static float div_corrected(float a, float b, float r)
{
	float q = a * r;
	float e = fmaf(-q, b, a);
	return fmaf(e, r, q);
}

void clip_norm_init(clip_norm *nm)
{
	nm->r255 = 1.0f / 255.0f;
	nm->fma_exact = 1;
	for (int c = 0; c < 3; c++) {
		nm->mean[c] = clip_mean_f[c];
		nm->std[c] = clip_std_f[c];
		nm->rstd[c] = 1.0f / clip_std_f[c];
		for (int v = 0; v < 256; v++) {
			/* ToTensor: v / 255; Normalize: (x - mean) / std; each rounded to float32 */
			float x = (float)v / 255.0f;
			float y = x - clip_mean_f[c];
			nm->lut[c][v] = y / clip_std_f[c];
			float f = div_corrected(div_corrected((float)v, 255.0f, nm->r255) - nm->mean[c], nm->std[c],
						nm->rstd[c]);
			if (memcmp(&f, &nm->lut[c][v], sizeof f) != 0)
				nm->fma_exact = 0;
		}
	}
}

/* ---- portable ----------------------------------------------------------------------------------- */

static inline uint8_t clip8(int32_t acc)
{
	int32_t v = acc >> PRECISION_BITS; /* arithmetic shift, as Pillow's clip8 relies on */
	return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static void resample_u8_generic(const uint8_t *src, size_t stride, const int32_t *k, int taps, size_t len,
				uint8_t *dst)
{
	for (size_t j = 0; j < len; j++) {
		int32_t acc = ROUNDING;
		for (int t = 0; t < taps; t++)
			acc += src[(size_t)t * stride + j] * k[t];
		dst[j] = clip8(acc);
	}
}

static void resample_f32_generic(const uint8_t *src, size_t stride, const int32_t *k, int taps, size_t len,
				 const clip_norm *nm, int c, float *dst)
{
	const float *lut = nm->lut[c];
	for (size_t j = 0; j < len; j++) {
		int32_t acc = ROUNDING;
		for (int t = 0; t < taps; t++)
			acc += src[(size_t)t * stride + j] * k[t];
		dst[j] = lut[clip8(acc)];
	}
}

static void u8_to_f32_generic(const uint8_t *src, size_t len, const clip_norm *nm, int c, float *dst)
{
	const float *lut = nm->lut[c];
	for (size_t j = 0; j < len; j++)
		dst[j] = lut[src[j]];
}

static const image_kernels generic = {
	"generic", resample_u8_generic, resample_f32_generic, u8_to_f32_generic,
};

const image_kernels *image_kernels_generic(void) { return &generic; }

static void transpose_scalar(const uint8_t *src, size_t src_stride, int rows, int cols, uint8_t *dst,
			     size_t dst_stride)
{
	for (int x = 0; x < cols; x++)
		for (int y = 0; y < rows; y++)
			dst[(size_t)x * dst_stride + y] = src[(size_t)y * src_stride + x];
}

#if (defined(__x86_64__) || defined(__SSE2__)) && !defined(LFM_NO_SIMD)
#include <emmintrin.h>
/* One 16x16 block with SSE2 (part of x86-64's baseline): four rounds of interleaving. */
static void transpose16(const uint8_t *src, size_t src_stride, uint8_t *dst, size_t dst_stride)
{
	__m128i a[16], b[16];
	for (int i = 0; i < 16; i++)
		a[i] = _mm_loadu_si128((const __m128i *)(src + (size_t)i * src_stride));
	for (int i = 0; i < 8; i++) {
		b[i] = _mm_unpacklo_epi8(a[2 * i], a[2 * i + 1]);
		b[i + 8] = _mm_unpackhi_epi8(a[2 * i], a[2 * i + 1]);
	}
	for (int i = 0; i < 8; i++) {
		a[i] = _mm_unpacklo_epi16(b[2 * i], b[2 * i + 1]);
		a[i + 8] = _mm_unpackhi_epi16(b[2 * i], b[2 * i + 1]);
	}
	for (int i = 0; i < 8; i++) {
		b[i] = _mm_unpacklo_epi32(a[2 * i], a[2 * i + 1]);
		b[i + 8] = _mm_unpackhi_epi32(a[2 * i], a[2 * i + 1]);
	}
	for (int i = 0; i < 8; i++) {
		a[i] = _mm_unpacklo_epi64(b[2 * i], b[2 * i + 1]);
		a[i + 8] = _mm_unpackhi_epi64(b[2 * i], b[2 * i + 1]);
	}
	/* a[k] now holds column c(k) of the block, with c the bit reversal of k */
	static const int column[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
	for (int k = 0; k < 16; k++)
		_mm_storeu_si128((__m128i *)(dst + (size_t)column[k] * dst_stride), a[k]);
}
#define HAVE_TRANSPOSE16 1
#endif

void transpose_u8(const uint8_t *src, size_t src_stride, int rows, int cols, uint8_t *dst, size_t dst_stride)
{
	int rows16 = 0, cols16 = 0;
#ifdef HAVE_TRANSPOSE16
	rows16 = rows & ~15;
	cols16 = cols & ~15;
	for (int y = 0; y < rows16; y += 16)
		for (int x = 0; x < cols16; x += 16)
			transpose16(src + (size_t)y * src_stride + x, src_stride, dst + (size_t)x * dst_stride + y,
				    dst_stride);
#endif
	/* the edges: columns past cols16 for every row, rows past rows16 for the block columns */
	if (cols16 < cols)
		transpose_scalar(src + cols16, src_stride, rows, cols - cols16, dst + (size_t)cols16 * dst_stride,
				 dst_stride);
	if (rows16 < rows)
		transpose_scalar(src + (size_t)rows16 * src_stride, src_stride, rows - rows16, cols16, dst + rows16,
				 dst_stride);
}

/* ---- x86-64: AVX2 + FMA ------------------------------------------------------------------------- */
#ifdef HAVE_X86_KERNELS

#define AVX2 __attribute__((target("avx2,fma")))

/* The kernels' bodies are inlined with a constant tap count for the usual small counts (switch_taps),
 * so that the tap loop unrolls and the coefficients stay in registers. */
#define INLINE inline __attribute__((always_inline))
#define SWITCH_TAPS(body, ...)                           \
	switch (taps) {                                  \
	case 1: body(__VA_ARGS__, 1); break;             \
	case 2: body(__VA_ARGS__, 2); break;             \
	case 3: body(__VA_ARGS__, 3); break;             \
	case 4: body(__VA_ARGS__, 4); break;             \
	case 5: body(__VA_ARGS__, 5); break;             \
	case 6: body(__VA_ARGS__, 6); break;             \
	default: body(__VA_ARGS__, taps); break;         \
	}

/* 16 sums of products for src[.. j .. j+15], as two vectors of 8 int32. */
AVX2 static INLINE void sum16_avx2(const uint8_t *src, size_t stride, const __m256i *kv, int taps,
				   __m256i *lo, __m256i *hi)
{
	__m256i a0 = _mm256_set1_epi32(ROUNDING), a1 = a0;
#pragma GCC unroll 8
	for (int t = 0; t < taps; t++) {
		/* two 8-byte loads widen in place (vpmovzxbd ymm, m64) */
		const uint8_t *row = src + (size_t)t * stride;
		__m256i b0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)row));
		__m256i b1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(row + 8)));
		a0 = _mm256_add_epi32(a0, _mm256_mullo_epi32(b0, kv[t]));
		a1 = _mm256_add_epi32(a1, _mm256_mullo_epi32(b1, kv[t]));
	}
	*lo = a0;
	*hi = a1;
}

/* Broadcast coefficients; long kernels (strong downscaling) go through the portable loop. */
#define MAX_SIMD_TAPS 32

AVX2 static INLINE void resample_u8_avx2_body(const uint8_t *src, size_t stride, const int32_t *k, size_t len,
					      uint8_t *dst, int taps)
{
	__m256i kv[MAX_SIMD_TAPS];
#pragma GCC unroll 8
	for (int t = 0; t < taps; t++)
		kv[t] = _mm256_set1_epi32(k[t]);
	size_t j = 0;
	for (; j + 16 <= len; j += 16) {
		__m256i a0, a1;
		sum16_avx2(src + j, stride, kv, taps, &a0, &a1);
		a0 = _mm256_srai_epi32(a0, PRECISION_BITS);
		a1 = _mm256_srai_epi32(a1, PRECISION_BITS);
		/* packs works within 128-bit lanes: [a0 0-3, a1 0-3, a0 4-7, a1 4-7] -> reorder the quarters */
		__m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(a0, a1), 0xD8);
		__m128i b = _mm_packus_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
		_mm_storeu_si128((__m128i *)(dst + j), b);
	}
	if (j < len)
		resample_u8_generic(src + j, stride, k, taps, len - j, dst + j);
}

AVX2 static void resample_u8_avx2(const uint8_t *src, size_t stride, const int32_t *k, int taps, size_t len,
				  uint8_t *dst)
{
	if (taps > MAX_SIMD_TAPS) {
		resample_u8_generic(src, stride, k, taps, len, dst);
		return;
	}
	SWITCH_TAPS(resample_u8_avx2_body, src, stride, k, len, dst)
}

/* torch's ((v / 255) - mean) / std for 8 values v already clamped to 0..255. */
AVX2 static inline __m256 normalize8_avx2(__m256i v, __m256 r255, __m256 c255, __m256 mean, __m256 sd,
					  __m256 rsd)
{
	__m256 a = _mm256_cvtepi32_ps(v);
	__m256 q = _mm256_mul_ps(a, r255);
	__m256 e = _mm256_fnmadd_ps(q, c255, a);
	__m256 x = _mm256_fmadd_ps(e, r255, q);
	__m256 y = _mm256_sub_ps(x, mean);
	q = _mm256_mul_ps(y, rsd);
	e = _mm256_fnmadd_ps(q, sd, y);
	return _mm256_fmadd_ps(e, rsd, q);
}

AVX2 static INLINE void resample_f32_avx2_body(const uint8_t *src, size_t stride, const int32_t *k,
					       size_t len, const clip_norm *nm, int c, float *dst, int taps)
{
	__m256i kv[MAX_SIMD_TAPS];
#pragma GCC unroll 8
	for (int t = 0; t < taps; t++)
		kv[t] = _mm256_set1_epi32(k[t]);
	const __m256 r255 = _mm256_set1_ps(nm->r255), c255 = _mm256_set1_ps(255.0f);
	const __m256 mean = _mm256_set1_ps(nm->mean[c]), sd = _mm256_set1_ps(nm->std[c]),
		     rsd = _mm256_set1_ps(nm->rstd[c]);
	const __m256i zero = _mm256_setzero_si256(), top = _mm256_set1_epi32(255);
	size_t j = 0;
	for (; j + 16 <= len; j += 16) {
		__m256i a0, a1;
		sum16_avx2(src + j, stride, kv, taps, &a0, &a1);
		a0 = _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(a0, PRECISION_BITS), zero), top);
		a1 = _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(a1, PRECISION_BITS), zero), top);
		_mm256_storeu_ps(dst + j, normalize8_avx2(a0, r255, c255, mean, sd, rsd));
		_mm256_storeu_ps(dst + j + 8, normalize8_avx2(a1, r255, c255, mean, sd, rsd));
	}
	if (j < len)
		resample_f32_generic(src + j, stride, k, taps, len - j, nm, c, dst + j);
}

AVX2 static void resample_f32_avx2(const uint8_t *src, size_t stride, const int32_t *k, int taps, size_t len,
				   const clip_norm *nm, int c, float *dst)
{
	if (taps > MAX_SIMD_TAPS) {
		resample_f32_generic(src, stride, k, taps, len, nm, c, dst);
		return;
	}
	SWITCH_TAPS(resample_f32_avx2_body, src, stride, k, len, nm, c, dst)
}

AVX2 static void u8_to_f32_avx2(const uint8_t *src, size_t len, const clip_norm *nm, int c, float *dst)
{
	const __m256 r255 = _mm256_set1_ps(nm->r255), c255 = _mm256_set1_ps(255.0f);
	const __m256 mean = _mm256_set1_ps(nm->mean[c]), sd = _mm256_set1_ps(nm->std[c]),
		     rsd = _mm256_set1_ps(nm->rstd[c]);
	size_t j = 0;
	for (; j + 8 <= len; j += 8) {
		__m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(src + j)));
		_mm256_storeu_ps(dst + j, normalize8_avx2(v, r255, c255, mean, sd, rsd));
	}
	if (j < len)
		u8_to_f32_generic(src + j, len - j, nm, c, dst + j);
}

static const image_kernels avx2 = {
	"avx2", resample_u8_avx2, resample_f32_avx2, u8_to_f32_avx2,
};

/* ---- x86-64: AVX-512 (F + BW): the same with 16 lanes ------------------------------------------- */

#define AVX512 __attribute__((target("avx512f,avx512bw,avx2,fma")))

AVX512 static INLINE __m512i sum16_avx512(const uint8_t *src, size_t stride, const __m512i *kv, int taps)
{
	__m512i a = _mm512_set1_epi32(ROUNDING);
#pragma GCC unroll 8
	for (int t = 0; t < taps; t++) {
		__m128i b = _mm_loadu_si128((const __m128i *)(src + (size_t)t * stride));
		a = _mm512_add_epi32(a, _mm512_mullo_epi32(_mm512_cvtepu8_epi32(b), kv[t]));
	}
	return a;
}

/* clip8: the shifted sum clamped to 0..255 */
AVX512 static inline __m512i clamp16_avx512(__m512i a)
{
	a = _mm512_max_epi32(_mm512_srai_epi32(a, PRECISION_BITS), _mm512_setzero_si512());
	return _mm512_min_epi32(a, _mm512_set1_epi32(255));
}

AVX512 static INLINE void resample_u8_avx512_body(const uint8_t *src, size_t stride, const int32_t *k,
						  size_t len, uint8_t *dst, int taps)
{
	__m512i kv[MAX_SIMD_TAPS];
#pragma GCC unroll 8
	for (int t = 0; t < taps; t++)
		kv[t] = _mm512_set1_epi32(k[t]);
	size_t j = 0;
	for (; j + 16 <= len; j += 16)
		_mm_storeu_si128((__m128i *)(dst + j),
				 _mm512_cvtepi32_epi8(clamp16_avx512(sum16_avx512(src + j, stride, kv, taps))));
	if (j < len)
		resample_u8_generic(src + j, stride, k, taps, len - j, dst + j);
}

AVX512 static void resample_u8_avx512(const uint8_t *src, size_t stride, const int32_t *k, int taps,
				      size_t len, uint8_t *dst)
{
	if (taps > MAX_SIMD_TAPS) {
		resample_u8_generic(src, stride, k, taps, len, dst);
		return;
	}
	SWITCH_TAPS(resample_u8_avx512_body, src, stride, k, len, dst)
}

AVX512 static inline __m512 normalize16_avx512(__m512i v, __m512 r255, __m512 c255, __m512 mean, __m512 sd,
					       __m512 rsd)
{
	__m512 a = _mm512_cvtepi32_ps(v);
	__m512 q = _mm512_mul_ps(a, r255);
	__m512 e = _mm512_fnmadd_ps(q, c255, a);
	__m512 x = _mm512_fmadd_ps(e, r255, q);
	__m512 y = _mm512_sub_ps(x, mean);
	q = _mm512_mul_ps(y, rsd);
	e = _mm512_fnmadd_ps(q, sd, y);
	return _mm512_fmadd_ps(e, rsd, q);
}

AVX512 static INLINE void resample_f32_avx512_body(const uint8_t *src, size_t stride, const int32_t *k,
						   size_t len, const clip_norm *nm, int c, float *dst, int taps)
{
	__m512i kv[MAX_SIMD_TAPS];
#pragma GCC unroll 8
	for (int t = 0; t < taps; t++)
		kv[t] = _mm512_set1_epi32(k[t]);
	const __m512 r255 = _mm512_set1_ps(nm->r255), c255 = _mm512_set1_ps(255.0f);
	const __m512 mean = _mm512_set1_ps(nm->mean[c]), sd = _mm512_set1_ps(nm->std[c]),
		     rsd = _mm512_set1_ps(nm->rstd[c]);
	size_t j = 0;
	for (; j + 16 <= len; j += 16) {
		__m512i v = clamp16_avx512(sum16_avx512(src + j, stride, kv, taps));
		_mm512_storeu_ps(dst + j, normalize16_avx512(v, r255, c255, mean, sd, rsd));
	}
	if (j < len)
		resample_f32_generic(src + j, stride, k, taps, len - j, nm, c, dst + j);
}

AVX512 static void resample_f32_avx512(const uint8_t *src, size_t stride, const int32_t *k, int taps,
				       size_t len, const clip_norm *nm, int c, float *dst)
{
	if (taps > MAX_SIMD_TAPS) {
		resample_f32_generic(src, stride, k, taps, len, nm, c, dst);
		return;
	}
	SWITCH_TAPS(resample_f32_avx512_body, src, stride, k, len, nm, c, dst)
}

AVX512 static void u8_to_f32_avx512(const uint8_t *src, size_t len, const clip_norm *nm, int c, float *dst)
{
	const __m512 r255 = _mm512_set1_ps(nm->r255), c255 = _mm512_set1_ps(255.0f);
	const __m512 mean = _mm512_set1_ps(nm->mean[c]), sd = _mm512_set1_ps(nm->std[c]),
		     rsd = _mm512_set1_ps(nm->rstd[c]);
	size_t j = 0;
	for (; j + 16 <= len; j += 16) {
		__m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(src + j)));
		_mm512_storeu_ps(dst + j, normalize16_avx512(v, r255, c255, mean, sd, rsd));
	}
	if (j < len)
		u8_to_f32_generic(src + j, len - j, nm, c, dst + j);
}

static const image_kernels avx512 = {
	"avx512", resample_u8_avx512, resample_f32_avx512, u8_to_f32_avx512,
};
#endif

const image_kernels *image_kernels_named(const char *name, const clip_norm *nm)
{
	if (strcmp(name, "generic") == 0)
		return &generic;
#ifdef HAVE_X86_KERNELS
	if (!nm->fma_exact || !__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
		return NULL;
	if (strcmp(name, "avx2") == 0)
		return &avx2;
	if (strcmp(name, "avx512") == 0 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
		return &avx512;
#endif
	return NULL;
}

const image_kernels *image_kernels_best(const clip_norm *nm)
{
#ifdef HAVE_X86_KERNELS
	if (!nm->fma_exact || !__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
		return &generic;
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
		return &avx512;
	return &avx2;
#else
	(void)nm;
#endif
	return &generic;
}
