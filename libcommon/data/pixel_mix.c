/* pixel_mix.c — see pixel_mix.h: the one definition of the mixed pixel, kept apart from the loader and the
 * renderer so that both (and a device kernel's test) use exactly this arithmetic. */
#include "data/pixel_mix.h"

void pixel_mix(float *out, const float *xi, const float *xj, float lx, size_t n)
{
	float ly = 1.0f - lx;
	for (size_t k = 0; k < n; k++) {
		float a = lx * xi[k], c = ly * xj[k]; /* two roundings, then the sum */
		out[k] = a + c;
	}
}
