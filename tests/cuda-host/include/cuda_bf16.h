/* cuda_bf16.h — the host emulation's bfloat16: CUDA's __nv_bfloat16 with its conversions (round to
 * nearest even; NaN stays NaN). */
#ifndef LFM_EMU_CUDA_BF16_H
#define LFM_EMU_CUDA_BF16_H

#include <stdint.h>
#include <string.h>

typedef struct __nv_bfloat16 {
	uint16_t x;
} __nv_bfloat16;

static inline __nv_bfloat16 __float2bfloat16(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	__nv_bfloat16 b;
	if ((u & 0x7fffffffu) > 0x7f800000u) { /* NaN: keep it a (quiet) NaN */
		b.x = (uint16_t)((u >> 16) | 0x40);
		return b;
	}
	u += 0x7fffu + ((u >> 16) & 1u);
	b.x = (uint16_t)(u >> 16);
	return b;
}
static inline __nv_bfloat16 __float2bfloat16_rn(float f) { return __float2bfloat16(f); }
static inline float __bfloat162float(__nv_bfloat16 b)
{
	uint32_t u = (uint32_t)b.x << 16;
	float f;
	memcpy(&f, &u, 4);
	return f;
}

#endif
