/* test_pixel_mix.c — pixel_mix, the one definition of the mixed pixel (data/pixel_mix.h), bit for bit on
 * values chosen so that any other arithmetic rounds differently: double precision, a fused multiply-add,
 * or the algebraically equal x_j + lx·(x_i − x_j) each give another float on every case of the table. The
 * expected values are the float32 results of ly = 1 − lx; a = lx·x_i; c = ly·x_j; a + c. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "data/pixel_mix.h"
#include "../test.h"

static const struct {
	float lx, xi, xj, want;
} cases[] = {
	{0x1.f297p-2f, 0x1.78cf14p+0f, 0x1.7b40ep-2f, 0x1.d03c8p-1f},
	{0x1.b54a4p-5f, -0x1.45c578p-1f, 0x1.4266p-5f, 0x1.af408p-9f},
	{0x1.bcdd32p-1f, 0x1.bcc148p-1f, 0x1.4a4c8p-3f, 0x1.8d43ap-1f},
	{0x1.f36b6ap-1f, -0x1.ad481cp-1f, 0x1.6c0bp-6f, -0x1.a27446p-1f},
};
#define NCASES (sizeof cases / sizeof *cases)

static int same_bits(float a, float b)
{
	uint32_t x, y;
	memcpy(&x, &a, 4);
	memcpy(&y, &b, 4);
	return x == y;
}

static void test_formula_bit_exact(void)
{
	for (size_t k = 0; k < NCASES; k++) {
		float out;
		pixel_mix(&out, &cases[k].xi, &cases[k].xj, cases[k].lx, 1);
		T_ASSERTF(same_bits(out, cases[k].want), "case %zu: %a, want %a", k, (double)out,
			  (double)cases[k].want);
	}
}

/* The table stays discriminating: each other way of computing the mix misses every case. */
static void test_other_arithmetic_differs(void)
{
	for (size_t k = 0; k < NCASES; k++) {
		volatile float lx = cases[k].lx, xi = cases[k].xi, xj = cases[k].xj;
		float ly = 1.0f - lx;
		float in_double = (float)((double)lx * xi + (double)ly * xj);
		float fused = fmaf(lx, xi, ly * xj);
		float lerp = xj + lx * (xi - xj);
		T_ASSERTF(!same_bits(in_double, cases[k].want), "case %zu", k);
		T_ASSERTF(!same_bits(fused, cases[k].want), "case %zu", k);
		T_ASSERTF(!same_bits(lerp, cases[k].want), "case %zu", k);
	}
}

/* Many elements at once, in place (out = xi, as the batch loader calls it), the ends lx = 1 and lx = 0. */
static void test_in_place_and_ends(void)
{
	float xi[NCASES], xj[NCASES];
	for (size_t k = 0; k < NCASES; k++) {
		xi[k] = cases[k].xi;
		xj[k] = cases[0].xj;
	}
	float lx = cases[0].lx, ly = 1.0f - lx;
	float want[NCASES];
	for (size_t k = 0; k < NCASES; k++) {
		volatile float a = lx * xi[k], c = ly * xj[k];
		want[k] = a + c;
	}
	pixel_mix(xi, xi, xj, lx, NCASES);
	for (size_t k = 0; k < NCASES; k++)
		T_ASSERTF(same_bits(xi[k], want[k]), "element %zu", k);
	T_ASSERT(same_bits(xi[0], cases[0].want));

	float a[3] = {0.5f, -1.75f, 0x1.8d43ap-1f}, b[3] = {-2.0f, 0.25f, 1e-30f}, out[3];
	pixel_mix(out, a, b, 1.0f, 3);
	T_ASSERT(memcmp(out, a, sizeof a) == 0);
	pixel_mix(out, a, b, 0.0f, 3);
	T_ASSERT(memcmp(out, b, sizeof b) == 0);
}

int main(void)
{
	T_RUN(test_formula_bit_exact);
	T_RUN(test_other_arithmetic_differs);
	T_RUN(test_in_place_and_ends);
	return t_summary();
}
