/* validation.h — lfm-fit --val: after each epoch, top-1 accuracy and the training loss on one-hot targets
 * over a samples stream of a validation split (never the test set), with the model as it is then, and
 * top-1 over the samples of the many-, medium- and few-shot classes. The prediction is evaluate.h's
 * argmax (the first of equal maxima; a NaN logit never wins), as lfm-eval's; a group's top-1 pools its
 * samples, as evaluate.h's does. The groups are the TRAINING set's: the "groups" of the plan's (or
 * training samples stream's) header, which lt-subset wrote from the training counts; a header without
 * them gives the groups of its "counts" with its "thresholds" (default many > 100, few <= 20). */
#ifndef LFM_FIT_VALIDATION_H
#define LFM_FIT_VALIDATION_H

#include <stdint.h>

#include "base/thread_pool.h"
#include "data/batch_loader.h"
#include "data/dataset.h"
#include "io/samples.h"
#include "train/evaluate.h"
#include "train/fit_step.h"
#include "fit_options.h"

typedef struct validation {
	samples_set smp;
	dataset *own_ds; /* opened here when the training dataset does not hold the split */
	batch_loader *bl;
	int raw; /* bl makes raw batches for the device */
	float *pixels, *logits, *targets;
	int32_t *preds;
	int *group; /* [C] the training set's group of each class (EVAL_MANY .. EVAL_FEW) */
} validation;

/* One validation's figures. */
typedef struct val_figures {
	double top1, loss;
	double group_top1[EVAL_NUM_GROUPS]; /* NaN: the group has no validation samples */
} val_figures;

/* Read o->val and check every sample against its dataset: the training dataset when it holds the split,
 * else o->val_data (or o->data) opened with the stream's split. The groups come from the training
 * input's header (train_header_json, train_name for messages; train_counts[C] its counts, C its classes: --val's must be as many). Dies with a
 * message on a mismatch. */
void validation_open(validation *v, const fit_options *o, dataset *train_ds, const char *train_split,
		     const char *train_header_json, const int64_t *train_counts, int C, const char *train_name,
		     thread_pool *pool, int R, int raw_w, int raw_h);
void validation_close(validation *v);
/* Top-1 accuracy (overall and per group) and mean loss over the validation samples, in batches of B;
 * name is for messages. With several ranks (dist), each evaluates its slice of every batch and the counts
 * are summed: every rank gets the totals. */
void validation_run(validation *v, fit_state *fs, int B, const char *name, dist_comm *dist, val_figures *out);

#endif
