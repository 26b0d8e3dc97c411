/* cuda_context.h — the CUDA backend's context: a device, a stream, the cuBLASLt handle and workspace,
 * created once by a tool and passed to every kernel entry (ggml's pattern: no globals, one stream per
 * context). C-callable. Built by nvcc for the GPU, or by the host emulation (tests/cuda-host/) for
 * make check; without nvcc the tools link cuda/none/ instead, where no device is ever found. */
#ifndef LFM_CUDA_CONTEXT_H
#define LFM_CUDA_CONTEXT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lfm_cuda_context lfm_cuda_context;

/* Number of usable devices (0 when there is no driver or no GPU); never dies. */
int lfm_cuda_device_count(void);
/* Why there is none ("no CUDA driver", "CUDA built out", the runtime's message); "" when there is one. */
const char *lfm_cuda_unavailable_reason(void);
/* Open device `device` with a fresh non-blocking stream and a cuBLASLt handle with its workspace. Returns
 * NULL with a message in err (no device, driver too old, out of memory). */
lfm_cuda_context *lfm_cuda_open(int device, char *err, size_t errsz);
void lfm_cuda_close(lfm_cuda_context *ctx);
/* "NVIDIA H100 80GB HBM3, sm_90, 79.1 GiB" */
const char *lfm_cuda_describe(const lfm_cuda_context *ctx);
/* Wait for all work on the context's stream; returns 0 or -1 with a message. */
int lfm_cuda_sync(lfm_cuda_context *ctx, char *err, size_t errsz);
/* Device memory this context holds now / at most since it was opened (lfm_dev_alloc's count). */
size_t lfm_cuda_bytes_allocated(const lfm_cuda_context *ctx);
size_t lfm_cuda_peak_bytes(const lfm_cuda_context *ctx);

/* --device: spec NULL (choose: the first GPU when one is usable, else the CPU), "cpu", "cuda" (= "cuda:0")
 * or "cuda:N". Returns NULL for the CPU, or an open context. The choice is named on stderr ("lfm-fit:
 * device: cuda:0 (NVIDIA H100 ..., sm_90, 79.1 GiB)" or "device: cpu (no CUDA device: ...)"). A bad
 * spelling dies with exit 2 naming the option; a GPU asked for but missing (no driver, no such device,
 * built without CUDA) dies with exit 3 and says what is missing. */
lfm_cuda_context *lfm_device_open(const char *spec);
/* The same for rank `local_rank` of a data-parallel run of `world` ranks: world 1, "cpu" or "cuda:N" as
 * lfm_device_open; "cuda" or NULL: the GPU numbered by the local rank, or GPU 0 when the process sees
 * exactly one (CUDA_VISIBLE_DEVICES per task); a local rank beyond the GPUs dies with exit 3. */
lfm_cuda_context *lfm_device_open_rank(const char *spec, int local_rank, int world);

#ifdef __cplusplus
}
#endif
#endif
