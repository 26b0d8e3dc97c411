/* local_sampling.h — the paper's local sampling (Alg. 1) and its effective imbalance (App. A.1).
 *
 * p_ls(k | y) = exp(s(y,k)/tau) / sum_{m != y} exp(s(y,m)/tau) for k != y, 0 for k = y, where
 * s(y,k) = f_T[y] . f_T[k] on L2-normalised text features. Computed in double with the row maximum
 * subtracted, so tau as small as 0.002 (exponents up to 1000) is exact to rounding. Classes with no
 * training samples get probability 0 (a partner must exist); --top-k keeps only the K most similar
 * classes of each row (ties broken by the lower class index) and renormalises.
 *
 * The pair generator draws, for each epoch e and position t:
 *   i  = perm_e[t]            perm_e a uniform permutation of the samples, stream ("pairs.perm", e)
 *   yj ~ p_ls(. | yi)         alias table of row yi; stream ("pairs.class", e), words [2t, 2t+2)
 *   j  = next member of class yj in its cycle: the class's members in an order reshuffled for each cycle
 *        (stream ("pairs.cycle", yj, cycle number)); every member is used once before any repeats, and the
 *        cursor carries over from one epoch to the next, as the reference sampler.
 * With uniform partners (Mixup): j uniform over all samples, stream ("pairs.uniform", e), words [2t, 2t+2).
 * So i and yj of any record are pure functions of (seed, e, t); j additionally depends on how often each
 * class was drawn before, which pairs_seek() recomputes by re-drawing classes without any I/O.
 */
#ifndef LFM_LOCAL_SAMPLING_H
#define LFM_LOCAL_SAMPLING_H

#include <stddef.h>
#include <stdint.h>

#include "base/rng.h"

/* p [C x C] row-major from features [C x d] (normalised here; rows of zero norm are an error).
 * counts may be NULL (all classes available). top_k <= 0 keeps all. Returns 0 or -1 with err. */
int ls_partner_probs(const float *features, int C, int d, double tau, int top_k, const int64_t *counts,
		     double *p, char *err, size_t errsz);

/* The effective class distribution after local sampling (App. A.1):
 *   q(y) = p_i(y) + (1 - p_i(y)) * sum_k p_ls(y | k) p_i(k),   p_i(y) = n_y / N,
 * written to q[C] (not normalised, as in the paper); returns gamma' = max q / min q over classes with
 * samples. */
double ls_effective_imbalance(const double *p, const int64_t *counts, int C, double *q);

/* ---- the pair generator ---- */
typedef struct pair_record {
	uint32_t epoch;
	uint64_t i, j;   /* the samples' "index" values (positions in the source) */
	int32_t yi, yj;
} pair_record;

typedef struct pair_generator {
	uint64_t seed;
	int uniform;          /* partners uniform over all samples (Mixup) */
	int C;
	size_t n;             /* samples */
	const uint64_t *index; /* [n] sample index values */
	const int32_t *label;  /* [n] labels */
	alias_table *rows;    /* [C] alias table of p_ls(. | y) (NULL when uniform) */
	uint32_t **canon;     /* [C] positions (into index/label) of each class's samples, source order */
	uint32_t **members;   /* [C] the same in the current cycle's order */
	size_t *class_size;   /* [C] */
	size_t *cursor;       /* [C] next position in members[c] */
	uint64_t *cycle;      /* [C] how many times the class has been reshuffled */
	uint32_t *perm;       /* [n] this epoch's permutation */
	uint32_t perm_epoch;  /* epoch perm was computed for, UINT32_MAX if none */
	/* stream ids' purpose hashes, computed once */
	uint64_t purpose_perm, purpose_class, purpose_cycle, purpose_uniform;
	/* words [2t, 2t+2) of the class (or uniform) stream for t in [words_first, words_first + words_count)
	 * of epoch words_epoch (UINT32_MAX: none), generated a chunk at a time */
	uint32_t *words;      /* [2 * PAIRS_CHUNK] */
	uint32_t words_epoch;
	size_t words_first, words_count;
} pair_generator;

enum { PAIRS_CHUNK = 512 };

/* p may be NULL when uniform. The generator keeps pointers to index and label (not copied). Returns 0,
 * or -1 with err (a class has no samples but positive probability, inconsistent rows, ...). */
int pairs_init(pair_generator *g, uint64_t seed, int C, const double *p, int uniform, size_t n,
	       const uint64_t *index, const int32_t *label, char *err, size_t errsz);
/* Record t of epoch e; records must be requested in order (e, t) = (0,0), (0,1), ... unless pairs_seek
 * is called first. */
void pairs_next(pair_generator *g, uint32_t e, size_t t, pair_record *out);
/* Put the class cursors where they are just before (e, t), recomputing from epoch 0. */
void pairs_seek(pair_generator *g, uint32_t e, size_t t);
void pairs_free(pair_generator *g);

#endif
