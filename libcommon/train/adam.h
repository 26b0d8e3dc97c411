/* adam.h — torch.optim.Adam (PyTorch 1.13, the single-tensor path that runs on the CPU, foreach=False,
 * amsgrad=False, maximize=False) over flat float32 arrays, llm.c style: a model keeps its parameters,
 * gradients and the two moments in one allocation each with the same layout, and one call updates them all.
 *
 * For step t (1-based: the number of updates including this one), per element, in this order and in
 * float32 with the scalars rounded to float32 as PyTorch's kernels do:
 *     g  = grad + weight_decay · p                     (only when weight_decay != 0: L2, not AdamW)
 *     m  = m · β1 + (1 − β1) · g
 *     v  = v · β2 + ((1 − β2) · g) · g
 *     bias_correction1 = 1 − β1^t,  bias_correction2 = 1 − β2^t        (double, as Python floats)
 *     step_size = lr / bias_correction1                                   (double)
 *     denom = sqrt(v) / sqrt(bias_correction2) + eps
 *     p  = p + (−step_size · m) / denom
 * i.e. p −= lr · m̂ / (sqrt(v̂) + eps) with m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t), computed the way
 * `_single_tensor_adam` does. PyTorch's vectorised CPU kernels may fuse a multiply-add (FMA) where this
 * code rounds twice, so agreement is to float rounding, not bit for bit. Deterministic: one thread, one
 * fixed order.
 */
#ifndef LFM_ADAM_H
#define LFM_ADAM_H

#include <stddef.h>

typedef struct adam_config {
	double lr;           /* default 1e-3 */
	double beta1, beta2; /* 0.9, 0.999 */
	double eps;          /* 1e-8 */
	double weight_decay; /* 0 */
} adam_config;

/* PyTorch's defaults. */
void adam_config_defaults(adam_config *c);

/* One update of n parameters; t >= 1 is this update's number (the optimiser's step count after it). m and
 * v start at zero before step 1. */
void adam_step(float *params, const float *grads, float *m, float *v, size_t n, const adam_config *c, long t);

#endif
