/* subset.c — which samples the stream holds: the long-tailed profile over the classes (train split), or
 * the whole split; an optional cap per class; an optional seeded hold-out per class; and the counts the
 * many/medium/few groups are computed from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "io/samples.h"
#include "lt_subset.h"

/* The per-class targets of the training subset of a source with splits (for the groups of its test
 * set): the train split's class sizes through the same profile. */
static void train_subset_counts(const dataset *ds, const lt_options *o, size_t *out)
{
	dataset_options dopt = {.split = "train", .classes_file = o->classes, .skip_bad = o->skip_bad,
				.index_only = 1, .cache_dir = o->cache_dir};
	char err[1024];
	dataset *train;
	int rc = dataset_try_open(&train, o->source, &dopt, err, sizeof err);
	if (rc)
		die(rc, "the groups of --split %s come from the train split: %s", o->split, err);
	int C = dataset_num_classes(train);
	if (C != dataset_num_classes(ds))
		die(LFM_EXIT_DATA, "%s: the train split has %d classes, the %s split %d", o->source, C, o->split,
		    dataset_num_classes(ds));
	size_t n_max = 0;
	for (int k = 0; k < C; k++)
		if (dataset_class_count(train, k) > n_max)
			n_max = dataset_class_count(train, k);
	lt_target_sizes(o->profile, o->imbalance, n_max, C, out);
	for (int k = 0; k < C; k++)
		if (out[k] > dataset_class_count(train, k))
			out[k] = dataset_class_count(train, k);
	dataset_close(train);
}

/* Group counts from a training samples stream whose classes must be ours. */
static void train_stream_counts(const dataset *ds, const char *path, size_t *out)
{
	samples_set s;
	samples_read(path, 0, &s);
	int C = dataset_num_classes(ds);
	if (s.num_classes != C)
		die(LFM_EXIT_DATA, "%s: %d classes, the source has %d", path, s.num_classes, C);
	for (int k = 0; k < C; k++) {
		if (strcmp(s.classes[k], dataset_class_name(ds, k)) != 0)
			die(LFM_EXIT_DATA, "%s: class %d is '%s', the source's is '%s'", path, k, s.classes[k],
			    dataset_class_name(ds, k));
		out[k] = (size_t)s.counts[k];
	}
	samples_free(&s);
}

/* Elements of a (sorted) not in b (sorted, a subset of a): into out; returns the count. */
static size_t sorted_minus(const size_t *a, size_t na, const size_t *b, size_t nb, size_t *out)
{
	size_t n = 0, j = 0;
	for (size_t i = 0; i < na; i++) {
		if (j < nb && b[j] == a[i]) {
			j++;
			continue;
		}
		out[n++] = a[i];
	}
	return n;
}

void select_samples(const dataset *ds, const lt_options *o, const uint8_t *failed, selection *sel)
{
	memset(sel, 0, sizeof *sel);
	int C = dataset_num_classes(ds);
	size_t n = dataset_count(ds);
	sel->num_classes = C;
	size_t *avail = xcalloc((size_t)C, sizeof *avail);
	/* Skipped: what the reader set aside (holes, files of unknown classes, missing members) and what
	 * failed --check. */
	sel->skipped = dataset_bad_count(ds);
	for (size_t i = 0; i < n; i++) {
		int y = dataset_label(ds, i);
		if (y >= 0 && failed && failed[i])
			sel->skipped++;
		else if (y >= 0)
			avail[y]++;
	}
	size_t **cand = xcalloc((size_t)C, sizeof *cand);
	size_t *fill = xcalloc((size_t)C, sizeof *fill);
	for (int k = 0; k < C; k++)
		cand[k] = xmalloc_array(avail[k] ? avail[k] : 1, sizeof **cand);
	for (size_t i = 0; i < n; i++) {
		int y = dataset_label(ds, i);
		if (y >= 0 && !(failed && failed[i]))
			cand[y][fill[y]++] = i;
	}

	dataset_kind kind = dataset_get_kind(ds);
	int has_splits = kind == DATASET_CIFAR10 || kind == DATASET_CIFAR100 || kind == DATASET_IMAGE_FOLDER;
	sel->profile_applied = (has_splits || kind == DATASET_WEBDATASET) && strcmp(o->split, "train") == 0;
	size_t *keep = xmalloc_array((size_t)C, sizeof *keep);
	if (sel->profile_applied) {
		size_t n_max = 0;
		for (int k = 0; k < C; k++)
			if (avail[k] > n_max)
				n_max = avail[k];
		lt_target_sizes(o->profile, o->imbalance, n_max, C, keep);
	} else {
		memcpy(keep, avail, (size_t)C * sizeof *keep);
	}
	for (int k = 0; k < C; k++) {
		if (keep[k] > avail[k])
			keep[k] = avail[k];
		if (o->max_per_class && keep[k] > o->max_per_class)
			keep[k] = (size_t)o->max_per_class;
	}

	sel->counts_main = xcalloc((size_t)C, sizeof *sel->counts_main);
	sel->counts_hold = xcalloc((size_t)C, sizeof *sel->counts_hold);
	size_t total = 0;
	for (int k = 0; k < C; k++)
		total += keep[k];
	sel->main_idx = xmalloc_array(total ? total : 1, sizeof *sel->main_idx);
	sel->hold_idx = xmalloc_array(total ? total : 1, sizeof *sel->hold_idx);
	size_t *chosen = xmalloc_array(total ? total : 1, sizeof *chosen);
	for (int k = 0; k < C; k++) {
		lt_choose(o->seed, "lt-subset", (uint64_t)k, cand[k], avail[k], keep[k], chosen);
		size_t h = 0;
		if (o->holdout >= 1)
			h = (size_t)o->holdout;
		else if (o->holdout > 0)
			h = (size_t)(o->holdout * (double)keep[k]);
		if (keep[k] == 0)
			h = 0;
		else if (h > keep[k] - 1)
			h = keep[k] - 1; /* every class keeps at least one training sample */
		size_t *held = sel->hold_idx + sel->n_hold;
		lt_choose(o->seed, "lt-subset.holdout", (uint64_t)k, chosen, keep[k], h, held);
		sel->n_hold += h;
		sel->counts_hold[k] = h;
		size_t m = sorted_minus(chosen, keep[k], held, h, sel->main_idx + sel->n_main);
		sel->n_main += m;
		sel->counts_main[k] = m;
	}
	free(chosen);

	sel->group_counts = xmalloc_array((size_t)C, sizeof *sel->group_counts);
	if (o->train_samples) {
		train_stream_counts(ds, o->train_samples, sel->group_counts);
		sel->group_basis = "train samples";
	} else if (!sel->profile_applied && o->imbalance_given && has_splits) {
		train_subset_counts(ds, o, sel->group_counts);
		sel->group_basis = "train subset";
	} else {
		memcpy(sel->group_counts, sel->counts_main, (size_t)C * sizeof *sel->group_counts);
		sel->group_basis = "counts";
	}

	for (int k = 0; k < C; k++)
		free(cand[k]);
	free(cand);
	free(fill);
	free(avail);
	free(keep);
}

void selection_free(selection *sel)
{
	free(sel->main_idx);
	free(sel->hold_idx);
	free(sel->counts_main);
	free(sel->counts_hold);
	free(sel->group_counts);
	memset(sel, 0, sizeof *sel);
}
