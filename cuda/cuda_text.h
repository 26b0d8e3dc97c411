/* cuda_text.h — CLIP's text tower forward on the GPU (clip-embed-text --device cuda): the same features
 * as cpu/clip_text.h's clip_encode_text, every sequence computed whole under the causal mask. */
#ifndef LFM_CUDA_TEXT_H
#define LFM_CUDA_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "cuda_context.h"
#ifdef __cplusplus
extern "C" { /* libcommon's headers are C */
#endif
#include "model/clip_params.h"
#include "model/precision.h"
#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* As clip_encode_text: n sequences of `stride` int32 ids, each ending at its largest id (the EOT); out
 * [n, D] (host). Batches of up to 256 sequences. 0, or -1 with "sequence I: ..." for an id outside the
 * vocabulary. */
int lfm_cuda_encode_text(lfm_cuda_context *ctx, lfm_precision prec, const clip_text_weights *t,
			 const int32_t *tokens, size_t n, int stride, float *out, char *err, size_t errsz);

#ifdef __cplusplus
}
#endif
#endif
