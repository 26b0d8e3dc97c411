// cuda_context.cu — see cuda_context.h.
#include "cuda_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// base/errors.h is C11 (_Noreturn); its die() declared for C++ here.
extern "C" [[noreturn]] void die(int code, const char *fmt, ...);
#define LFM_EXIT_IO_ 3

extern "C" void lfm_cuda_fail(const char *what, const char *detail, const char *file, int line)
{
	die(LFM_EXIT_IO_, "%s:%d: %s: %s", file, line, what, detail);
}

// Every call that can fail is checked with the expression, file and line in the message.
#define CUDA_TRY(expr)                                                                                  \
	do {                                                                                            \
		cudaError_t e_ = (expr);                                                                \
		if (e_ != cudaSuccess) {                                                                \
			snprintf(err, errsz, "%s:%d: %s: %s", __FILE__, __LINE__, #expr,                \
				 cudaGetErrorString(e_));                                               \
			goto fail;                                                                      \
		}                                                                                       \
	} while (0)

static char unavailable[512];

extern "C" int lfm_cuda_device_count(void)
{
	int n = 0;
	cudaError_t e = cudaGetDeviceCount(&n);
	if (e != cudaSuccess) {
		snprintf(unavailable, sizeof unavailable, "%s", cudaGetErrorString(e));
		cudaGetLastError(); // clear the sticky "no device" error
		return 0;
	}
	if (n == 0)
		snprintf(unavailable, sizeof unavailable, "the CUDA driver sees no device");
	else
		unavailable[0] = 0;
	return n;
}

extern "C" const char *lfm_cuda_unavailable_reason(void) { return unavailable; }

extern "C" lfm_cuda_context *lfm_cuda_open(int device, char *err, size_t errsz)
{
	lfm_cuda_context *ctx = (lfm_cuda_context *)calloc(1, sizeof *ctx);
	cudaDeviceProp prop;
	cublasStatus_t st;
	if (!ctx) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	ctx->device = device;
	CUDA_TRY(cudaSetDevice(device));
	CUDA_TRY(cudaGetDeviceProperties(&prop, device));
	CUDA_TRY(cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking));
	st = cublasLtCreate(&ctx->lt);
	if (st != CUBLAS_STATUS_SUCCESS) {
		snprintf(err, errsz, "cublasLtCreate failed: %s", cublasLtGetStatusString(st));
		goto fail;
	}
	ctx->lt_workspace_bytes = LFM_CUDA_LT_WORKSPACE;
	CUDA_TRY(cudaMalloc(&ctx->lt_workspace, ctx->lt_workspace_bytes));
	snprintf(ctx->description, sizeof ctx->description, "%s, sm_%d%d, %.1f GiB", prop.name, prop.major,
		 prop.minor, (double)prop.totalGlobalMem / (1024.0 * 1024.0 * 1024.0));
	return ctx;
fail:
	lfm_cuda_close(ctx);
	return NULL;
}

extern "C" void lfm_cuda_close(lfm_cuda_context *ctx)
{
	if (!ctx)
		return;
	if (ctx->stream)
		cudaStreamSynchronize(ctx->stream);
	lfm_cuda_dist_detach(ctx);
	lfm_gemm_plans_free(ctx);
	if (ctx->cast_buffer)
		cudaFree(ctx->cast_buffer);
	if (ctx->lt_workspace)
		cudaFree(ctx->lt_workspace);
	if (ctx->lt)
		cublasLtDestroy(ctx->lt);
	if (ctx->stream)
		cudaStreamDestroy(ctx->stream);
	free(ctx);
}

extern "C" const char *lfm_cuda_describe(const lfm_cuda_context *ctx) { return ctx->description; }

extern "C" int lfm_cuda_sync(lfm_cuda_context *ctx, char *err, size_t errsz)
{
	CUDA_TRY(cudaStreamSynchronize(ctx->stream));
	return 0;
fail:
	return -1;
}

extern "C" size_t lfm_cuda_bytes_allocated(const lfm_cuda_context *ctx) { return ctx->bytes_allocated; }
extern "C" size_t lfm_cuda_peak_bytes(const lfm_cuda_context *ctx) { return ctx->peak_bytes; }
