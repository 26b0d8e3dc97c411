/* precision.h — the arithmetic of a device's matrix products, as --precision names it.
 *
 *   fp32  IEEE float32 inputs and accumulation: the official code's arithmetic; the CPU's only one
 *   tf32  float32 storage, products on TensorFloat-32 inputs (10-bit mantissas), float32 accumulation
 *   bf16  bfloat16 product inputs, float32 accumulation; master weights, Adam's moments, LayerNorm,
 *         softmax and the loss's statistics stay float32
 *
 * A checkpoint records the precision it was trained in (metadata "precision"). */
#ifndef LFM_PRECISION_H
#define LFM_PRECISION_H

typedef enum lfm_precision { LFM_PRECISION_FP32, LFM_PRECISION_TF32, LFM_PRECISION_BF16, LFM_PRECISION_COUNT } lfm_precision;

/* "fp32", "tf32", "bf16", NULL — index = lfm_precision (for opt_choice). */
extern const char *const lfm_precision_names[];
const char *lfm_precision_name(lfm_precision p); /* "?" when out of range */
/* 0 and *out set, or -1 for an unknown name. */
int lfm_precision_parse(const char *name, lfm_precision *out);

#endif
