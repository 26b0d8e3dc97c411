/* pixel_mix.h — the pixel mix of mixup-style training, out = lx · x_i + (1 − lx) · x_j, on CLIP-preprocessed
 * (normalised) float32 images: THE reference definition. The batch loader (batch_loader.h: training and
 * evaluation batches) and lfm-mix --render both call it, and a CUDA kernel that mixes on the device is to
 * be checked against it bit for bit, so its arithmetic is part of its contract. For every element k:
 *
 *     ly     = 1.0f − lx          float32, once for the call
 *     a      = lx · x_i[k]        float32 product, rounded
 *     c      = ly · x_j[k]        float32 product, rounded
 *     out[k] = a + c              float32 sum, rounded
 *
 * three roundings in round-to-nearest-even, no fused multiply-add and no double (libcommon is compiled
 * with -std=c11, which keeps GCC from contracting a*b + c*d into an FMA; a CUDA kernel must use
 * __fmul_rn / __fadd_rn or --fmad=false). With lx = 1 the result is x_i, with lx = 0 it is x_j (up to the
 * sign of a zero: -0 + +0 is +0); callers that skip loading the unused image in those cases get the same
 * values. tests/unit/test_pixel_mix.c pins the formula on values where a different order, an FMA or double
 * arithmetic would round differently.
 */
#ifndef LFM_PIXEL_MIX_H
#define LFM_PIXEL_MIX_H

#include <stddef.h>

/* out[k] = lx · xi[k] + (1 − lx) · xj[k] for k < n, as above. out may be xi or xj (element-wise). */
void pixel_mix(float *out, const float *xi, const float *xj, float lx, size_t n);

#endif
