// reduce.cu — column sums over rows in a fixed order (bias and embedding gradients): each block of the
// first pass sums ROW_CHUNK consecutive rows of 256 columns (one thread a column, rows in order) into
// scratch; the second pass adds the chunks' partial sums in chunk order to out. No atomics: the same
// inputs give the same bits on every run, whatever the scheduling.
#include "cuda_common.h"
#include "cuda_kernels.h"

#define ROW_CHUNK 64

__global__ static void partial_sums(float *partial, const float *in, size_t N, int C)
{
	int c = blockIdx.x * blockDim.x + threadIdx.x;
	size_t first = (size_t)blockIdx.y * ROW_CHUNK;
	if (c >= C)
		return; // no barrier in this kernel: an early exit is safe
	size_t last = first + ROW_CHUNK < N ? first + ROW_CHUNK : N;
	float s = 0;
	for (size_t n = first; n < last; n++)
		s += in[n * C + c];
	partial[(size_t)blockIdx.y * C + c] = s;
}

__global__ static void add_chunks(float *out, const float *partial, int chunks, int C)
{
	int c = blockIdx.x * blockDim.x + threadIdx.x;
	if (c >= C)
		return;
	float s = 0;
	for (int k = 0; k < chunks; k++)
		s += partial[(size_t)k * C + c];
	out[c] += s;
}

extern "C" size_t cuda_sum_rows_scratch_floats(size_t N, int C) { return ((N + ROW_CHUNK - 1) / ROW_CHUNK) * (size_t)C; }

extern "C" void cuda_sum_rows(lfm_cuda_context *ctx, float *out, const float *in, size_t N, int C, float *scratch)
{
	LFM_CUDA_REQUIRE(N > 0 && C > 0 && out && in && scratch);
	size_t chunks = (N + ROW_CHUNK - 1) / ROW_CHUNK;
	LFM_CUDA_REQUIRE(chunks <= 65535);
	LFM_LAUNCH(partial_sums, dim3(lfm_ceil_div((size_t)C, 256), (unsigned)chunks), 256, 0, ctx->stream, scratch, in,
		   N, C);
	LFM_LAUNCH(add_chunks, lfm_ceil_div((size_t)C, 256), 256, 0, ctx->stream, out, scratch, (int)chunks, C);
}
