/* cuda_memory.h — device memory for the runners and the tests, C-callable, every call checked.
 *
 * lfm_dev_alloc is the one place the backend asks for device memory: out of memory dies with exit 3 and
 * a message naming what was being allocated, the bytes asked and the device's free memory, so a tool
 * stops before it has written anything (its last checkpoint stays as it was). Copies run on the
 * context's stream; a download waits for it, so the host copy is ready when it returns. */
#ifndef LFM_CUDA_MEMORY_H
#define LFM_CUDA_MEMORY_H

#include <stddef.h>

#include "cuda_context.h"

#ifdef __cplusplus
extern "C" {
#endif

void *lfm_dev_alloc(lfm_cuda_context *ctx, size_t bytes, const char *what);
/* count floats; the memory is not cleared (the emulation fills it with NaN) */
float *lfm_dev_alloc_floats(lfm_cuda_context *ctx, size_t count, const char *what);
void lfm_dev_free(lfm_cuda_context *ctx, void *p, size_t bytes); /* bytes: as allocated (for the count) */
void lfm_dev_upload(lfm_cuda_context *ctx, void *dst, const void *src, size_t bytes);
void lfm_dev_download(lfm_cuda_context *ctx, void *dst, const void *src, size_t bytes);
void lfm_dev_copy(lfm_cuda_context *ctx, void *dst, const void *src, size_t bytes); /* device to device */
void lfm_dev_zero(lfm_cuda_context *ctx, void *p, size_t bytes);
/* Without waiting (stream order): the host side must be pinned memory (lfm_host_alloc) that stays
 * untouched until the stream has passed the copy — what a CUDA graph's step and the double-buffered
 * batches use. */
void lfm_dev_upload_async(lfm_cuda_context *ctx, void *dst, const void *src, size_t bytes);
void lfm_dev_download_async(lfm_cuda_context *ctx, void *dst, const void *src, size_t bytes);
/* Page-locked host memory (cudaMallocHost), zeroed; dies with exit 3 naming `what` when refused. */
void *lfm_host_alloc(size_t bytes, const char *what);
void lfm_host_free(void *p);
/* bytes of the device's memory free now (cudaMemGetInfo) */
size_t lfm_dev_free_bytes(lfm_cuda_context *ctx);

#ifdef __cplusplus
}
#endif
#endif
