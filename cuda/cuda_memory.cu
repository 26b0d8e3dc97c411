// cuda_memory.cu — see cuda_memory.h.
#include "cuda_common.h"
#include "cuda_memory.h"

#include <stdio.h>
#include <string.h>

extern "C" [[noreturn]] void die(int code, const char *fmt, ...);

extern "C" size_t lfm_dev_free_bytes(lfm_cuda_context *ctx)
{
	size_t free_b = 0, total = 0;
	if (cudaMemGetInfo(&free_b, &total) != cudaSuccess) {
		cudaGetLastError();
		return 0;
	}
	return free_b;
}

extern "C" void *lfm_dev_alloc(lfm_cuda_context *ctx, size_t bytes, const char *what)
{
	void *p = NULL;
	cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
	if (e != cudaSuccess) {
		cudaGetLastError(); // an allocation failure is not sticky; clear it for the message's own calls
		size_t free_b = lfm_dev_free_bytes(ctx);
		die(3, "out of device memory on %s: %s needs %.1f MiB (%zu bytes), %.1f MiB free, %.1f MiB held by "
		       "this run (%s); try a smaller --batch",
		    ctx->description, what, (double)bytes / 1048576.0, bytes, (double)free_b / 1048576.0,
		    (double)ctx->bytes_allocated / 1048576.0, cudaGetErrorString(e));
	}
	ctx->bytes_allocated += bytes;
	if (ctx->bytes_allocated > ctx->peak_bytes)
		ctx->peak_bytes = ctx->bytes_allocated;
	return p;
}

extern "C" float *lfm_dev_alloc_floats(lfm_cuda_context *ctx, size_t count, const char *what)
{
	if (count > SIZE_MAX / sizeof(float))
		die(3, "%s: %zu floats do not fit in memory", what, count);
	return (float *)lfm_dev_alloc(ctx, count * sizeof(float), what);
}

extern "C" void lfm_dev_free(lfm_cuda_context *ctx, void *p, size_t bytes)
{
	if (!p)
		return;
	CUDA_CHECK(cudaFree(p));
	ctx->bytes_allocated -= bytes <= ctx->bytes_allocated ? bytes : ctx->bytes_allocated;
}

extern "C" void lfm_dev_upload(lfm_cuda_context *ctx, void *dst, const void *src, size_t bytes)
{
	CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, ctx->stream));
	// the host buffer may be reused as soon as we return (pageable memory: the copy is staged, but say so)
	CUDA_CHECK(cudaStreamSynchronize(ctx->stream));
}

extern "C" void lfm_dev_download(lfm_cuda_context *ctx, void *dst, const void *src, size_t bytes)
{
	CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, ctx->stream));
	CUDA_CHECK(cudaStreamSynchronize(ctx->stream));
}

extern "C" void lfm_dev_copy(lfm_cuda_context *ctx, void *dst, const void *src, size_t bytes)
{
	CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx->stream));
}

extern "C" void lfm_dev_zero(lfm_cuda_context *ctx, void *p, size_t bytes)
{
	CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, ctx->stream));
}

extern "C" void lfm_dev_upload_async(lfm_cuda_context *ctx, void *dst, const void *src, size_t bytes)
{
	CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, ctx->stream));
}

extern "C" void lfm_dev_download_async(lfm_cuda_context *ctx, void *dst, const void *src, size_t bytes)
{
	CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, ctx->stream));
}

extern "C" void *lfm_host_alloc(size_t bytes, const char *what)
{
	void *p = NULL;
	cudaError_t e = cudaMallocHost(&p, bytes ? bytes : 1);
	if (e != cudaSuccess) {
		(void)cudaGetLastError();
		die(3, "out of page-locked host memory for %s (%zu bytes): %s", what, bytes, cudaGetErrorString(e));
	}
	memset(p, 0, bytes);
	return p;
}

extern "C" void lfm_host_free(void *p)
{
	if (p)
		CUDA_CHECK(cudaFreeHost(p));
}
