/* cuda_dist.h — the GPUs of a data-parallel run (libcommon/dist/dist.h): one NCCL communicator per context,
 * over which the runner sums its gradients (fit_device_ops.reduce_grads). C-callable. */
#ifndef LFM_CUDA_DIST_H
#define LFM_CUDA_DIST_H

#include <stddef.h>

#include "cuda_context.h"

#ifdef __cplusplus
extern "C" {
#endif
#include "dist/dist.h"

/* Make the NCCL communicator of d's ranks on ctx's device. NCCL's unique id goes through d's broadcast
 * (MPI) when d has one, else comes from NCCL_COMM_ID, else from d->master_addr:d->port (set as
 * NCCL_COMM_ID, where rank 0 starts NCCL's bootstrap root); the ranks must all arrive within
 * d->timeout_s. Without a host transport of its own (torchrun-style launches), d then borrows NCCL-backed
 * host collectives from ctx (d->transport "nccl"), which lfm_cuda_close takes back. 0, or -1 with a
 * message naming the rank (built without NCCL; no meeting point; a rank that never arrived). */
int lfm_cuda_dist_attach(lfm_cuda_context *ctx, dist_comm *d, char *err, size_t errsz);

#ifdef __cplusplus
}
#endif
#endif
