// loss.cu — the five losses on soft targets (train/losses.h) on the device: one thread a row running the
// very per-row code the CPU runs (train/loss_rows.h, in double), then one thread summing the rows' losses
// in row order (the batch mean, the same bits on every run) and, when any logit or target of the batch
// is not finite, making the loss and every gradient entry NaN as the CPU does.
#include "cuda_common.h"
#include "cuda_kernels.h"
extern "C" {
#include "train/loss_rows.h"
}

__global__ static void loss_rows_kernel(loss_row_params L, double *row_loss, int *row_bad, const float *logits,
					const float *targets, int B, float *dlogits)
{
	int b = blockIdx.x * blockDim.x + threadIdx.x;
	if (b >= B)
		return; // no barriers: a thread past the batch simply has nothing to do
	int C = L.classes;
	const float *z = logits + (size_t)b * C, *y = targets + (size_t)b * C;
	int bad = 0;
	for (int k = 0; k < C; k++)
		bad |= !isfinite(z[k]) || !isfinite(y[k]);
	row_bad[b] = bad;
	row_loss[b] = bad ? 0.0 : loss_row(&L, z, y, 1.0 / B, dlogits ? dlogits + (size_t)b * C : NULL);
}

__global__ static void loss_mean_kernel(double *loss, const double *row_loss, const int *row_bad, int B, int divisor,
					int C, float *dlogits)
{
	if (blockIdx.x != 0 || threadIdx.x != 0)
		return;
	double total = 0;
	int bad = 0;
	for (int b = 0; b < B; b++) {
		total += row_loss[b];
		bad |= row_bad[b];
	}
	if (bad && dlogits)
		for (size_t i = 0; i < (size_t)B * C; i++)
			dlogits[i] = NAN;
	*loss = bad ? NAN : total * (1.0 / divisor);
}

// scratch: B doubles of row losses, then B ints of flags (as floats' room)
extern "C" size_t cuda_loss_scratch_floats(int B, int C) { return (size_t)(B > 0 ? B : 1) * 3 + 2; }

extern "C" void cuda_loss_forward_backward(lfm_cuda_context *ctx, const cuda_loss *L, double *loss, const float *logits,
					   const float *targets, int B, float *dlogits, float *scratch)
{
	LFM_CUDA_REQUIRE(L && loss && logits && targets && scratch && L->classes > 0 && L->kind >= 0 && L->kind <= 4);
	LFM_CUDA_REQUIRE(B >= 1);
	loss_row_params p = {L->kind, L->classes, L->class_shift, L->margins, L->offsets, L->gamma, L->scale, L->temperature};
	double *row_loss = (double *)(((uintptr_t)scratch + 7) & ~(uintptr_t)7);
	int *row_bad = (int *)(row_loss + B);
	LFM_LAUNCH(loss_rows_kernel, lfm_ceil_div((size_t)B, 64), 64, 0, ctx->stream, p, row_loss, row_bad, logits, targets,
		   B, dlogits);
	cuda_loss_mean(ctx, loss, row_loss, row_bad, B, L->classes, dlogits);
}

extern "C" void cuda_loss_mean(lfm_cuda_context *ctx, double *loss, const double *row_loss, const int *row_bad, int B,
			       int C, float *dlogits)
{
	cuda_loss_mean_part(ctx, loss, row_loss, row_bad, B, B, C, dlogits);
}

extern "C" void cuda_loss_mean_part(lfm_cuda_context *ctx, double *loss, const double *row_loss, const int *row_bad,
				    int B, int divisor, int C, float *dlogits)
{
	LFM_CUDA_REQUIRE(loss && row_loss && row_bad && B >= 1 && divisor >= B && C >= 1);
	LFM_LAUNCH(loss_mean_kernel, 1, 32, 0, ctx->stream, loss, row_loss, row_bad, B, divisor, C, dlogits);
}
