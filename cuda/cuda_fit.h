/* cuda_fit.h — the CUDA runner behind train/fit_step.h's seam: a tool that links the CUDA library sets
 *
 *     fit_context ctx = {FIT_BACKEND_DEVICE, NULL, &lfm_cuda_fit_ops, cuda_context, precision};
 *
 * and fit_init / fit_init_eval / fit_forward_backward / fit_update / fit_logits / fit_sync_host run on the
 * GPU. The runner adopts the caller's parameter block (model/clip_params.h): one device allocation each
 * for the parameters, gradients, Adam's two moments and the activations, with the same named-pointer
 * layout as on the CPU (clip_vision_params_point over device memory), so checkpoints and resume files are
 * the same on both devices. */
#ifndef LFM_CUDA_FIT_H
#define LFM_CUDA_FIT_H

#ifdef __cplusplus
extern "C" { /* libcommon's headers are C */
#endif
#include "train/fit_step.h"
#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
extern "C" {
#endif

extern const fit_device_ops lfm_cuda_fit_ops;

#ifdef __cplusplus
}
#endif
#endif
