// head_loss.cu — the cosine head, the loss and their gradient as one kernel, a block per image: normalise
// the feature, the C cosine logits, the row's loss and d(loss)/d(logits), back through the logits and the
// norm to d(loss)/d(feature). Six launches and five round trips of [B, C] and [B, D] arrays through
// memory become one, and the arithmetic is the unfused kernels' own — the same row functions
// (cpu/row_ops.h, train/loss_rows.h) and the same double dot products in the CPU's order, each rounded
// once — so the result is the unfused path's, and the CPU's, bit for bit (tests/cuda/cuda_head_loss.c).
// Then loss.cu's fixed-order mean over the rows.
#include "cuda_common.h"
#include "cuda_kernels.h"
extern "C" {
#include "cpu/row_ops.h"
#include "train/loss_rows.h"
}

#define HEAD_THREADS 128

// scratch: row_loss [B] doubles, row_bad [B] ints (as loss.cu's), then dfn [B, D]
static double *row_losses(float *scratch) { return (double *)(((uintptr_t)scratch + 7) & ~(uintptr_t)7); }

__global__ static void head_loss_kernel(loss_row_params L, double *row_loss, int *row_bad, float *logits,
					float *dlogits, float *fn, float *norm, float *dfn_all, float *dfeat,
					const float *feat, const float *text, const float *targets, int divisor, int D)
{
	int b = blockIdx.x, C = L.classes;
	float *fn_b = fn + (size_t)b * D, *z = logits + (size_t)b * C, *dz = dlogits + (size_t)b * C;
	const float *y = targets + (size_t)b * C;
	__shared__ double nrm_s;
	// the norm: one thread, the CPU's row function (512 products: not worth a tree, which would change
	// the order of the sum)
	if (threadIdx.x == 0)
		nrm_s = l2norm_row(fn_b, feat + (size_t)b * D, D);
	__syncthreads();
	for (int k = threadIdx.x; k < C; k += blockDim.x) {
		const float *t = text + (size_t)k * D;
		double s = 0;
		for (int i = 0; i < D; i++)
			s += (double)fn_b[i] * t[i];
		z[k] = (float)s;
	}
	__syncthreads();
	if (threadIdx.x == 0) {
		norm[b] = (float)nrm_s;
		int bad = 0;
		for (int k = 0; k < C; k++)
			bad |= !isfinite(z[k]) || !isfinite(y[k]);
		row_bad[b] = bad;
		row_loss[b] = bad ? 0.0 : loss_row(&L, z, y, 1.0 / divisor, dz);
		if (bad) // loss.cu's mean makes every dlogit NaN; the row's own are not written by loss_row
			for (int k = 0; k < C; k++)
				dz[k] = NAN;
	}
	__syncthreads();
	if (!dfeat)
		return;
	// d(loss)/d(fn): the CPU's order (classes outer, accumulated in double), then added to a zero
	float *dfn = dfn_all + (size_t)b * D;
	for (int i = threadIdx.x; i < D; i += blockDim.x) {
		double s = 0;
		for (int k = 0; k < C; k++)
			s += (double)dz[k] * text[(size_t)k * D + i];
		dfn[i] = 0.0f + (float)s;
	}
	__syncthreads();
	if (threadIdx.x == 0) {
		float *d = dfeat + (size_t)b * D;
		for (int i = 0; i < D; i++)
			d[i] = 0.0f;
		l2norm_row_backward(d, dfn, fn_b, (float)nrm_s, D);
	}
}

extern "C" size_t cuda_head_loss_scratch_floats(int B, int C, int D)
{
	return cuda_loss_scratch_floats(B, C) + (size_t)(B > 0 ? B : 1) * D;
}

extern "C" void cuda_head_loss_forward_backward(lfm_cuda_context *ctx, const cuda_loss *L, double *loss, float *logits,
						float *dlogits, float *fn, float *norm, float *dfeat, const float *feat,
						const float *text, const float *targets, int B, int D, float *scratch)
{
	cuda_head_loss_forward_backward_part(ctx, L, loss, logits, dlogits, fn, norm, dfeat, feat, text, targets, B, B, D,
					     scratch);
}

extern "C" void cuda_head_loss_forward_backward_part(lfm_cuda_context *ctx, const cuda_loss *L, double *loss,
						     float *logits, float *dlogits, float *fn, float *norm, float *dfeat,
						     const float *feat, const float *text, const float *targets, int B,
						     int divisor, int D, float *scratch)
{
	LFM_CUDA_REQUIRE(L && loss && logits && dlogits && fn && norm && feat && text && targets && scratch);
	LFM_CUDA_REQUIRE(B >= 1 && divisor >= B && D >= 1 && L->classes > 0 && L->kind >= 0 && L->kind <= 4);
	loss_row_params p = {L->kind, L->classes, L->class_shift, L->margins, L->offsets, L->gamma, L->scale, L->temperature};
	double *row_loss = row_losses(scratch);
	int *row_bad = (int *)(row_loss + B);
	float *dfn = scratch + cuda_loss_scratch_floats(B, L->classes);
	LFM_LAUNCH(head_loss_kernel, (unsigned)B, HEAD_THREADS, 0, ctx->stream, p, row_loss, row_bad, logits, dlogits, fn,
		   norm, dfn, dfeat, feat, text, targets, divisor, D);
	cuda_loss_mean_part(ctx, loss, row_loss, row_bad, B, divisor, L->classes, dlogits);
}
