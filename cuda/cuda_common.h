// cuda_common.h — what every .cu file of the backend includes: the context's insides, checked calls, the
// launch macro and dynamic shared memory, written so that the same source compiles twice:
//
//   nvcc                 for the GPU (the real thing)
//   g++ -x c++ -DLFM_CUDA_EMULATION -include tests/cuda-host/cuda_host.h
//                        for the host emulation of tests/cuda-host/ (make check): blocks one after another,
//                        a block's threads as fibers switching at barriers and shuffles
//
// Rules for kernel files (one kernel family per file, ggml's pattern): static __global__ kernels, a
// static launcher, exported entries (extern "C", declared in cuda_kernels.h) that check shapes with
// LFM_CUDA_REQUIRE and launch with LFM_LAUNCH on ctx->stream. Use only what tests/cuda-host/README.md
// lists as emulated (threadIdx/blockIdx/blockDim/gridDim, __syncthreads, __syncwarp, __shfl_*_sync,
// atomics, static __shared__ arrays, LFM_DYNAMIC_SHARED, <math.h> functions, __nv_bfloat16 conversions).
// No float atomics where the order of additions matters: results must be bit-identical run to run.
#ifndef LFM_CUDA_COMMON_H
#define LFM_CUDA_COMMON_H

#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <cublasLt.h>
#include <stddef.h>
#include <stdint.h>

#include "cuda_context.h"
#ifdef __cplusplus
extern "C" { /* libcommon's headers are C */
#endif
#include "model/precision.h"
#ifdef __cplusplus
}
#endif

struct lfm_cuda_context {
	int device;
	cudaStream_t stream;
	cublasLtHandle_t lt;
	void *lt_workspace; // cuBLASLt's workspace, LFM_CUDA_LT_WORKSPACE bytes
	size_t lt_workspace_bytes;
	void *cast_buffer; // matmul.cu: bf16/tf32 copies of product inputs, grown on demand
	size_t cast_buffer_bytes;
	unsigned cast_buffer_generation; // + 1 at each growth: a graph captured before it holds a freed buffer
	const float *bf16_shadow_of;     // cuda_gemm_set_bf16_shadow: products read [of, of + n) from shadow
	const uint16_t *bf16_shadow;
	size_t bf16_shadow_n;
	struct lfm_gemm_plans *gemm_plans; // matmul.cu: descriptors and the algorithm chosen, per product shape
	void *nccl_comm;        // dist_nccl.cu: the ranks' NCCL communicator (an ncclComm_t), NULL with one process
	struct dist_comm *dist; // ... and the ranks it was made for (borrowed), whose host collectives it may lend
	void *nccl_scratch;     // ... a device buffer for the lent host collectives
	size_t nccl_scratch_bytes;
	size_t bytes_allocated; // by lfm_dev_alloc, for the messages and --log's peak
	size_t peak_bytes;
	char description[640];
};

#define LFM_CUDA_LT_WORKSPACE ((size_t)32 << 20)

#ifdef __cplusplus
extern "C" {
#endif
// A failed CUDA call: "FILE:LINE: EXPR: cudaErrorString", exit 3 (LFM_EXIT_IO). Never returns.
void lfm_cuda_fail(const char *what, const char *detail, const char *file, int line);
// dist_nccl.cu: destroy the NCCL communicator and take back what it lent (lfm_cuda_close)
void lfm_cuda_dist_detach(lfm_cuda_context *ctx);
// dist_nccl.cu: sum n floats at dev over the ranks, in place, on the context's stream (dies on failure)
void lfm_cuda_allreduce_sum(lfm_cuda_context *ctx, float *dev, size_t n);
// matmul.cu: release the context's cached product plans (lfm_cuda_close)
void lfm_gemm_plans_free(lfm_cuda_context *ctx);
#ifdef __cplusplus
}
#endif

#define CUDA_CHECK(expr)                                                                                 \
	do {                                                                                             \
		cudaError_t lfm_e_ = (expr);                                                             \
		if (lfm_e_ != cudaSuccess)                                                               \
			lfm_cuda_fail(#expr, cudaGetErrorString(lfm_e_), __FILE__, __LINE__);            \
	} while (0)

#define CUBLASLT_CHECK(expr)                                                                             \
	do {                                                                                             \
		cublasStatus_t lfm_s_ = (expr);                                                          \
		if (lfm_s_ != CUBLAS_STATUS_SUCCESS)                                                     \
			lfm_cuda_fail(#expr, cublasLtGetStatusString(lfm_s_), __FILE__, __LINE__);       \
	} while (0)

// A shape or argument an entry cannot take: a bug in the caller, reported with the condition.
#define LFM_CUDA_REQUIRE(cond)                                                                           \
	do {                                                                                             \
		if (!(cond))                                                                             \
			lfm_cuda_fail(#cond, "internal error: bad arguments", __FILE__, __LINE__);       \
	} while (0)

// LFM_LAUNCH(kernel, grid, block, shared_bytes, stream, args...): kernel<<<grid, block, shared, stream>>>
// then the launch checked. The kernel must be a plain name (no commas: take a template instance into a
// variable first, `auto k = my_kernel<4>;`).
#ifdef LFM_CUDA_EMULATION
#define LFM_LAUNCH(kernel, grid, block, shared, stream, ...)                                             \
	do {                                                                                             \
		lfm_emu_launch(#kernel, __FILE__, __LINE__, kernel, dim3(grid), dim3(block), (shared),   \
			       (stream), __VA_ARGS__);                                                    \
		CUDA_CHECK(cudaGetLastError());                                                          \
	} while (0)
// extern __shared__: the launch's dynamic shared memory (poisoned with NaN bytes per block).
#define LFM_DYNAMIC_SHARED(type, name) type *name = (type *)lfm_emu_dynamic_shared()
#else
#define LFM_LAUNCH(kernel, grid, block, shared, stream, ...)                                             \
	do {                                                                                             \
		kernel<<<(grid), (block), (shared), (stream)>>>(__VA_ARGS__);                            \
		CUDA_CHECK(cudaGetLastError());                                                          \
	} while (0)
#define LFM_DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#endif

static inline unsigned lfm_ceil_div(size_t a, size_t b) { return (unsigned)((a + b - 1) / b); }
// Blocks of `threads` for a grid-stride loop over n elements: one an element up to the grid's x limit.
static inline unsigned lfm_grid_blocks(size_t n, unsigned threads)
{
	size_t b = (n + threads - 1) / threads;
	return (unsigned)(b < 65535 ? (b ? b : 1) : 65535);
}

#endif
