/* dataset_lt.c — see dataset_lt.h. */
#include "data/dataset_lt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/rng.h"

void lt_target_sizes(lt_profile profile, double imbalance, size_t n_max, int num_classes, size_t *out)
{
	double factor = 1.0 / imbalance; /* the reference passes imb_factor = 1/G */
	for (int k = 0; k < num_classes; k++) {
		double num;
		if (profile == LT_PROFILE_STEP)
			num = k < num_classes / 2 ? (double)n_max : (double)n_max * factor;
		else if (num_classes == 1)
			num = (double)n_max;
		else
			num = (double)n_max * pow(factor, (double)k / ((double)num_classes - 1.0));
		out[k] = num <= 0 ? 0 : (size_t)num; /* int() truncates toward zero */
		if (out[k] > n_max)
			out[k] = n_max;
	}
}

const char *lt_group(size_t count, size_t many_above, size_t few_max)
{
	if (count > many_above)
		return "many";
	if (count <= few_max)
		return "few";
	return "medium";
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

void lt_choose(uint64_t seed, const char *purpose, uint64_t k, const size_t *cand, size_t n, size_t keep,
	       size_t *out)
{
	if (keep == 0)
		return;
	if (keep >= n) {
		memcpy(out, cand, n * sizeof *cand);
		qsort(out, n, sizeof *out, cmp_size);
		return;
	}
	uint32_t *perm = xmalloc_array(n ? n : 1, sizeof *perm);
	rng r;
	rng_init(&r, seed, rng_stream_id(purpose, k, 0));
	rng_permutation(&r, perm, n);
	for (size_t j = 0; j < keep; j++)
		out[j] = cand[perm[j]];
	free(perm);
	qsort(out, keep, sizeof *out, cmp_size);
}
