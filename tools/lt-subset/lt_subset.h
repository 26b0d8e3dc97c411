/* lt_subset.h — what the parts of lt-subset share: the options, the selection, the pack. */
#ifndef LT_SUBSET_H
#define LT_SUBSET_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "data/dataset_lt.h"

enum pack_layout { PACK_WDS = 0, PACK_FOLDER = 1 };

typedef struct lt_options {
	const char *source;     /* SOURCE operand, or the list with --list */
	const char *list, *root, *classes, *output, *cache_dir;
	const char *holdout_out, *pack, *train_samples;
	const char *split;
	int split_given;
	double imbalance;
	int imbalance_given;
	lt_profile profile;
	int profile_given;
	uint64_t seed;
	uint64_t many_above, few_max;
	uint64_t max_per_class; /* 0: no cap */
	double holdout;         /* 0: none; >= 1: samples per class; (0, 1): fraction of each class */
	int pack_layout;
	int check, skip_bad, verbose;
	int argc;
	char **argv;
} lt_options;

/* The chosen samples: dataset indices sorted by (label, index). */
typedef struct selection {
	int num_classes;
	size_t *main_idx, n_main;
	size_t *hold_idx, n_hold;
	size_t *counts_main, *counts_hold; /* per class */
	size_t *group_counts;              /* the counts the many/medium/few groups are computed from */
	const char *group_basis;           /* "counts", "train subset", "train samples" */
	int profile_applied;               /* an LT profile chose the samples (else: passed through) */
	size_t skipped;                    /* holes and samples failing --check, left out */
} selection;

/* check.c: --check every sample of the split; returns a 0/1 array of failures (NULL if none failed),
 * dying after reporting every failure unless skip_bad. */
uint8_t *check_samples(const dataset *ds, const lt_options *o, size_t *failed);

/* subset.c: the selection (profile, cap, hold-out, groups). */
void select_samples(const dataset *ds, const lt_options *o, const uint8_t *failed, selection *sel);
void selection_free(selection *sel);

/* pack.c: write the selected samples (main then hold-out) as a tar; for each, the key it has in the
 * pack; then reopen the pack and fill in each sample's index there. */
typedef struct pack_result {
	dataset *main_ds, *hold_ds; /* the pack opened as the streams will describe it (hold_ds may be
				     * main_ds: one WebDataset holds both) */
	int64_t *main_index, *hold_index;
	char **main_key, **hold_key;
	size_t n_main, n_hold;
} pack_result;
void pack_write(const dataset *ds, const lt_options *o, const selection *sel, pack_result *out);
void pack_result_free(pack_result *p);

/* output.c: the samples stream(s). */
typedef struct stream_part {
	const char *role;            /* "train" (the selection), "holdout", or NULL (no hold-out asked) */
	const dataset *described;    /* the dataset whose indices the records use (the source or the pack) */
	const dataset *origin;       /* with --pack: the original source; else NULL */
	const size_t *origin_idx;    /* indices in the origin, or in the described dataset without a pack */
	const int64_t *index;        /* indices in the described dataset (NULL: origin_idx) */
	char *const *key;            /* keys in the described dataset (NULL: its own) */
	size_t n;
	const size_t *counts;
} stream_part;
void write_samples_stream(const char *path, const lt_options *o, const selection *sel, const dataset *src,
			  const stream_part *part);

#endif
