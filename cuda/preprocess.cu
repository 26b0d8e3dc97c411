// preprocess.cu — CLIP's preprocessing (flip, Pillow's bicubic resize, centre crop, normalisation) and the
// pixel mix on the device, bit for bit clip_prep_run and pixel_mix (cuda_preprocess.h).
//
// The CPU (clip_preprocess.c) resizes only the n x n window the crop keeps: the horizontal pass over the
// source rows the vertical pass reads, for the crop's output columns, rounded to 8 bits (clip8); then the
// vertical pass for the crop's output rows, clip8 again, then (v / 255 - mean) / std. Every output value
// depends on its own indices only, so the two passes here are two kernels, one thread an output pixel
// (its three channels, as the CPU's horizontal pass):
//
//   horizontal: tmp[b][r][i][c], r < rows (source rows row0 ..), i < n (resized columns left ..)
//   vertical:   out[b][.][y][x] from tmp's rows xmin_y[y] - row0 ..
//
// with Pillow's integer arithmetic as pil_resize.c writes it (int32 sums onto 1 << 21, an arithmetic
// shift by 22, clamp to 0..255), the same coefficient tables (resize_axis_plan, run on the host), the flip
// applied to the source columns as gather_planes does (column x of the mirrored image is source column
// width - 1 - x), and a pass whose side keeps its size copied instead of resampled. Integer sums do not
// depend on their order; the float operations are the IEEE _rn intrinsics, which nvcc never contracts.
#include "cuda_common.h"
#include "cuda_memory.h"
#include "cuda_preprocess.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "data/image.h"
}

#define PREP_THREADS 256
#define PRECISION_BITS 22 // pil_resize.c's 32 - 8 - 2 fractional bits

#define GRID_STRIDE(i, n) for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

// What both passes read, passed by value.
struct prep_args {
	const uint8_t *images; // [B][height][width][3]
	const uint8_t *flip;   // [B] or NULL
	uint8_t *tmp;          // [B][rows][n][3]
	float *out;            // [B][3][n][n]
	const int32_t *xmin_x, *taps_x, *k_x, *xmin_y, *taps_y, *k_y;
	int width, height, n, row0, rows, left, kx, ky, need_h, need_v;
	float mean[3], std[3];
};

// Pillow's clip8: the sum's bits 22.. (arithmetic shift, as Pillow relies on) clamped to 0..255.
__device__ static inline uint8_t clip8(int32_t acc)
{
	int32_t v = acc >> PRECISION_BITS;
	return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

__global__ static void prep_horizontal_kernel(prep_args a, size_t total)
{
	GRID_STRIDE(idx, total)
	{
		int i = (int)(idx % (size_t)a.n);
		size_t rest = idx / (size_t)a.n;
		int r = (int)(rest % (size_t)a.rows);
		size_t b = rest / (size_t)a.rows;
		const uint8_t *row = a.images + (b * (size_t)a.height + (size_t)(a.row0 + r)) * (size_t)a.width * 3;
		int mirror = a.flip && a.flip[b];
		uint8_t *dst = a.tmp + idx * 3;
		if (!a.need_h) { // the width keeps its size: the crop's columns as they are
			int col = a.left + i;
			const uint8_t *p = row + (size_t)(mirror ? a.width - 1 - col : col) * 3;
			dst[0] = p[0], dst[1] = p[1], dst[2] = p[2];
			continue;
		}
		const int32_t *k = a.k_x + (size_t)i * (size_t)a.kx;
		int x0 = a.xmin_x[i], taps = a.taps_x[i];
		int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
		for (int t = 0; t < taps; t++) {
			int col = x0 + t; // a column of the (mirrored when flipping) image
			const uint8_t *p = row + (size_t)(mirror ? a.width - 1 - col : col) * 3;
			s0 += p[0] * k[t];
			s1 += p[1] * k[t];
			s2 += p[2] * k[t];
		}
		dst[0] = clip8(s0), dst[1] = clip8(s1), dst[2] = clip8(s2);
	}
}

// One thread an output pixel, its three channels (the reads of a tap are 3 adjacent bytes, the writes
// three coalesced planes).
__global__ static void prep_vertical_kernel(prep_args a, size_t total)
{
	size_t n = (size_t)a.n, line = n * 3, plane = n * n; // line: tmp's row length in bytes
	GRID_STRIDE(idx, total)
	{
		size_t x = idx % n, y = idx / n % n, b = idx / plane;
		const uint8_t *src = a.tmp + b * (size_t)a.rows * line + x * 3;
		uint8_t v[3];
		if (!a.need_v) { // the height keeps its size: tmp holds the crop's rows
			const uint8_t *p = src + y * line;
			v[0] = p[0], v[1] = p[1], v[2] = p[2];
		} else {
			const int32_t *k = a.k_y + y * (size_t)a.ky;
			int y0 = a.xmin_y[y] - a.row0, taps = a.taps_y[y];
			int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
			for (int t = 0; t < taps; t++) {
				const uint8_t *p = src + (size_t)(y0 + t) * line;
				s0 += p[0] * k[t];
				s1 += p[1] * k[t];
				s2 += p[2] * k[t];
			}
			v[0] = clip8(s0), v[1] = clip8(s1), v[2] = clip8(s2);
		}
		// ToTensor then Normalize as clip_norm_init's table: ((float)v / 255 - mean) / std, each step
		// rounded to float32 (the _rn forms: correctly rounded whatever nvcc's division flags)
		float *o = a.out + b * 3 * plane + y * n + x;
		for (int c = 0; c < 3; c++)
			o[(size_t)c * plane] = __fdiv_rn(__fsub_rn(__fdiv_rn((float)v[c], 255.0f), a.mean[c]), a.std[c]);
	}
}

__global__ static void pixel_mix_kernel(float *out, const float *a, const float *b, const float *lx, size_t per_item,
					size_t total)
{
	GRID_STRIDE(i, total)
	{
		float l = lx[i / per_item];
		float ly = __fsub_rn(1.0f, l); // pixel_mix's 1.0f - lx, the same value for the whole item
		out[i] = __fadd_rn(__fmul_rn(l, a[i]), __fmul_rn(ly, b[i]));
	}
}

// ---- the plan -------------------------------------------------------------------------------------------

static void plan_fail(const char *what, int w, int h, int n)
{
	char detail[160];
	snprintf(detail, sizeof detail, "cannot plan the CLIP preprocessing of a %dx%d image to %d", w, h, n);
	lfm_cuda_fail(what, detail, __FILE__, __LINE__);
}

// xmin [n], taps [n], k [n * ksize] of one axis into dst; the number of int32 written.
static size_t pack_axis(int32_t *dst, const resize_axis *ax)
{
	size_t n = (size_t)ax->count, nk = n * (size_t)ax->ksize;
	memcpy(dst, ax->xmin, n * sizeof *dst);
	memcpy(dst + n, ax->taps, n * sizeof *dst);
	memcpy(dst + 2 * n, ax->k, nk * sizeof *dst);
	return 2 * n + nk;
}

extern "C" cuda_preprocess_plan *cuda_preprocess_plan_new(lfm_cuda_context *ctx, int width, int height, int n)
{
	LFM_CUDA_REQUIRE(ctx && width >= 1 && width <= IMAGE_MAX_SIDE && height >= 1 && height <= IMAGE_MAX_SIDE);
	LFM_CUDA_REQUIRE(n >= 1 && n <= CLIP_MAX_SIZE);
	cuda_preprocess_plan *p = (cuda_preprocess_plan *)calloc(1, sizeof *p);
	if (!p)
		plan_fail("calloc", width, height, n);
	p->width = width, p->height = height, p->n = n;
	// clip_prep_run's plan(): the geometry, then each pass planned for the crop's output indices only
	int rw, rh;
	clip_geometry(width, height, n, &rw, &rh, &p->left, &p->top);
	p->need_h = rw != width;
	p->need_v = rh != height;
	resize_axis ax{}, ay{};
	if (p->need_h && resize_axis_plan(&ax, width, rw, p->left, n) != 0)
		plan_fail("resize_axis_plan (width)", width, height, n);
	if (p->need_v && resize_axis_plan(&ay, height, rh, p->top, n) != 0)
		plan_fail("resize_axis_plan (height)", width, height, n);
	if (p->need_v) {
		p->row0 = ay.xmin[0];
		p->rows = ay.xmin[n - 1] + ay.taps[n - 1] - p->row0;
	} else {
		p->row0 = p->top;
		p->rows = n;
	}
	p->kx = p->need_h ? ax.ksize : 0;
	p->ky = p->need_v ? ay.ksize : 0;
	size_t cx = p->need_h ? (size_t)n * (2 + (size_t)p->kx) : 0, cy = p->need_v ? (size_t)n * (2 + (size_t)p->ky) : 0;
	size_t count = cx + cy;
	if (count) {
		int32_t *host = (int32_t *)malloc(count * sizeof *host);
		if (!host)
			plan_fail("malloc", width, height, n);
		size_t at = 0;
		if (p->need_h)
			at += pack_axis(host + at, &ax);
		if (p->need_v)
			at += pack_axis(host + at, &ay);
		p->dev_bytes = count * sizeof *host;
		p->dev = lfm_dev_alloc(ctx, p->dev_bytes, "the CLIP preprocessing's resize tables");
		lfm_dev_upload(ctx, p->dev, host, p->dev_bytes);
		free(host);
		const int32_t *d = (const int32_t *)p->dev;
		if (p->need_h)
			p->xmin_x = d, p->taps_x = d + n, p->k_x = d + 2 * (size_t)n;
		if (p->need_v)
			p->xmin_y = d + cx, p->taps_y = d + cx + n, p->k_y = d + cx + 2 * (size_t)n;
	}
	resize_axis_free(&ax);
	resize_axis_free(&ay);
	return p;
}

extern "C" void cuda_preprocess_plan_free(lfm_cuda_context *ctx, cuda_preprocess_plan *plan)
{
	if (!plan)
		return;
	lfm_dev_free(ctx, plan->dev, plan->dev_bytes);
	free(plan);
}

extern "C" size_t cuda_preprocess_scratch_floats(const cuda_preprocess_plan *plan, int B)
{
	LFM_CUDA_REQUIRE(plan && B >= 0);
	size_t bytes = (size_t)B * (size_t)plan->rows * (size_t)plan->n * 3;
	return (bytes + sizeof(float) - 1) / sizeof(float);
}

extern "C" void cuda_preprocess_batch(lfm_cuda_context *ctx, const cuda_preprocess_plan *plan, float *out,
				      const uint8_t *images, const uint8_t *flip, int B, float *scratch)
{
	LFM_CUDA_REQUIRE(ctx && plan && B >= 0);
	if (B == 0)
		return;
	LFM_CUDA_REQUIRE(out && images && scratch);
	prep_args a;
	a.images = images, a.flip = flip, a.tmp = (uint8_t *)scratch, a.out = out;
	a.xmin_x = plan->xmin_x, a.taps_x = plan->taps_x, a.k_x = plan->k_x;
	a.xmin_y = plan->xmin_y, a.taps_y = plan->taps_y, a.k_y = plan->k_y;
	a.width = plan->width, a.height = plan->height, a.n = plan->n;
	a.row0 = plan->row0, a.rows = plan->rows, a.left = plan->left;
	a.kx = plan->kx, a.ky = plan->ky, a.need_h = plan->need_h, a.need_v = plan->need_v;
	for (int c = 0; c < 3; c++)
		a.mean[c] = clip_mean[c], a.std[c] = clip_std[c];
	size_t n = (size_t)plan->n, hx = (size_t)B * (size_t)plan->rows * n, vx = (size_t)B * n * n;
	LFM_LAUNCH(prep_horizontal_kernel, lfm_grid_blocks(hx, PREP_THREADS), PREP_THREADS, 0, ctx->stream, a, hx);
	LFM_LAUNCH(prep_vertical_kernel, lfm_grid_blocks(vx, PREP_THREADS), PREP_THREADS, 0, ctx->stream, a, vx);
}

extern "C" void cuda_pixel_mix_batch(lfm_cuda_context *ctx, float *out, const float *a, const float *b, const float *lx,
				     int B, size_t per_item)
{
	LFM_CUDA_REQUIRE(ctx && B >= 0);
	size_t total = (size_t)B * per_item;
	if (total == 0)
		return;
	LFM_CUDA_REQUIRE(out && a && b && lx);
	LFM_LAUNCH(pixel_mix_kernel, lfm_grid_blocks(total, PREP_THREADS), PREP_THREADS, 0, ctx->stream, out, a, b, lx,
		   per_item, total);
}
