/* cuda_context.h — the CUDA backend's context: a device, a stream and the library handles, created once
 * by a tool and passed to every kernel launcher (ggml's pattern: no globals, one stream per context).
 * C-callable; implemented in cuda_context.cu. Only built when nvcc is found. */
#ifndef LFM_CUDA_CONTEXT_H
#define LFM_CUDA_CONTEXT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lfm_cuda_context lfm_cuda_context;

/* Number of usable devices (0 when there is no driver or no GPU); never dies. */
int lfm_cuda_device_count(void);
/* Open device `device` with a fresh non-blocking stream and a cuBLAS handle bound to it. Returns NULL
 * with a message in err (no device, driver too old, cuBLAS failure). */
lfm_cuda_context *lfm_cuda_open(int device, char *err, size_t errsz);
void lfm_cuda_close(lfm_cuda_context *ctx);
/* "NVIDIA H100 80GB HBM3, sm_90, 79.1 GiB" */
const char *lfm_cuda_describe(const lfm_cuda_context *ctx);
/* Wait for all work on the context's stream; returns 0 or -1 with a message. */
int lfm_cuda_sync(lfm_cuda_context *ctx, char *err, size_t errsz);

#ifdef __cplusplus
}
#endif
#endif
