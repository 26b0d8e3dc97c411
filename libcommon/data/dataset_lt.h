/* dataset_lt.h — long-tailed subsets (Cao et al., LDAM-DRW, NeurIPS 2019; the CIFAR-LT of every paper
 * since): how many samples each class keeps, which ones, and the many/medium/few groups. */
#ifndef LFM_DATASET_LT_H
#define LFM_DATASET_LT_H

#include <stddef.h>
#include <stdint.h>

typedef enum lt_profile {
	LT_PROFILE_EXP = 0,  /* class k keeps int(n_max * (1/G)^(k/(C-1))) */
	LT_PROFILE_STEP = 1, /* classes 0 .. C/2-1 keep n_max, the others int(n_max * (1/G)) */
} lt_profile;

/* Per-class target sizes, computed in double exactly as the reference Python does
 * (img_max * (imb_factor ** (cls_idx / (cls_num - 1.0))) with imb_factor = 1/G, then int()), so CIFAR-10
 * at G = 10/50/100 gives 20,431 / 13,996 / 12,406 samples and CIFAR-100 19,573 / 12,608 / 10,847.
 * imbalance >= 1; C >= 1 (C = 1 keeps n_max). For odd C the step profile gives the extra class the
 * small size. */
void lt_target_sizes(lt_profile profile, double imbalance, size_t n_max, int num_classes, size_t *out);

/* "many" (count > many_above), "few" (count <= few_max) or "medium". */
const char *lt_group(size_t count, size_t many_above, size_t few_max);

/* Choose keep of the n candidates cand[] (keep <= n), at random but reproducibly: the first keep entries
 * of the permutation rng_permutation draws on rng_stream_id(purpose, k, 0) with seed; out[] receives
 * them sorted ascending. keep == n copies cand without drawing. */
void lt_choose(uint64_t seed, const char *purpose, uint64_t k, const size_t *cand, size_t n, size_t keep,
	       size_t *out);

#endif
