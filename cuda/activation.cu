// activation.cu — QuickGELU, x·sigmoid(1.702x), and its derivative, written as the CPU reference writes
// them (cpu/clip_layers.c) so that the two round alike.
#include "cuda_common.h"
#include "cuda_kernels.h"

#define GELU_K 1.702f

__global__ static void quick_gelu_forward_kernel(float *out, const float *inp, size_t n)
{
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
		float x = inp[i];
		out[i] = x / (1.0f + expf(-GELU_K * x));
	}
}

__global__ static void quick_gelu_backward_kernel(float *dinp, const float *inp, const float *dout, size_t n)
{
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
		float x = inp[i];
		float s = 1.0f / (1.0f + expf(-GELU_K * x));
		dinp[i] += dout[i] * (s + GELU_K * x * s * (1.0f - s));
	}
}

extern "C" void cuda_quick_gelu_forward(lfm_cuda_context *ctx, float *out, const float *inp, size_t n)
{
	LFM_CUDA_REQUIRE(out && inp);
	if (n)
		LFM_LAUNCH(quick_gelu_forward_kernel, lfm_grid_blocks(n, 256), 256, 0, ctx->stream, out, inp, n);
}

extern "C" void cuda_quick_gelu_backward(lfm_cuda_context *ctx, float *dinp, const float *inp, const float *dout, size_t n)
{
	LFM_CUDA_REQUIRE(dinp && inp && dout);
	if (n)
		LFM_LAUNCH(quick_gelu_backward_kernel, lfm_grid_blocks(n, 256), 256, 0, ctx->stream, dinp, inp, dout, n);
}
