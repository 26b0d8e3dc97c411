// cuda_context.cu — see cuda_context.h.
#include "cuda_context.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>

struct lfm_cuda_context {
	int device;
	cudaStream_t stream;
	cublasHandle_t cublas;
	char description[640];
};

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

extern "C" int lfm_cuda_device_count(void)
{
	int n = 0;
	if (cudaGetDeviceCount(&n) != cudaSuccess) {
		cudaGetLastError(); // clear the sticky "no device" error
		return 0;
	}
	return n;
}

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
	st = cublasCreate(&ctx->cublas);
	if (st != CUBLAS_STATUS_SUCCESS) {
		snprintf(err, errsz, "cublasCreate failed: %s", cublasGetStatusString(st));
		goto fail;
	}
	st = cublasSetStream(ctx->cublas, ctx->stream);
	if (st != CUBLAS_STATUS_SUCCESS) {
		snprintf(err, errsz, "cublasSetStream failed: %s", cublasGetStatusString(st));
		goto fail;
	}
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
	if (ctx->cublas)
		cublasDestroy(ctx->cublas);
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
