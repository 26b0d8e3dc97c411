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
/* bytes of the device's memory free now (cudaMemGetInfo) */
size_t lfm_dev_free_bytes(lfm_cuda_context *ctx);

#ifdef __cplusplus
}
#endif
#endif
