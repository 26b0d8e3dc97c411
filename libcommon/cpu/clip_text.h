/* clip_text.h — CLIP's text tower forward on the CPU, in float32 (frozen; clip-embed-text), over a
 * parameter block of model/clip_params.h. */
#ifndef LFM_CLIP_TEXT_H
#define LFM_CLIP_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "model/clip_params.h"

/* encode_text of n token sequences, rows of `stride` int32 ids (stride <= context): each sequence ends at
 * its largest id (the EOT, as OpenAI's argmax) and later entries (padding) are ignored; out [n, D], not
 * normalised. Under the causal mask nothing after the EOT changes its features, so only tokens up to it are
 * computed, and prompts sharing a prefix ("a photo of a") share its computation. Returns 0, or -1 with
 * "sequence I: ..." in err for an id outside the vocabulary. */
int clip_encode_text(const clip_text_weights *t, const int32_t *tokens, size_t n, int stride, float *out, char *err,
		     size_t errsz);

/* The length of each of n sequences up to and including its EOT (its largest id, the first if repeated),
 * every id up to it checked against the vocabulary: what clip_encode_text checks before any work, shared
 * with the GPU's text tower. 0, or -1 with "sequence I: ..." in err. */
int clip_text_lengths(const clip_config *c, const int32_t *tokens, size_t n, int stride, int *len, char *err,
		      size_t errsz);

#endif
