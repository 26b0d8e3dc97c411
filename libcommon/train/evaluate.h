/* evaluate.h — the figures of a long-tailed evaluation, from true labels and predictions: top-1 accuracy
 * over all samples and over the many-, medium- and few-shot classes, per class, and the confusion matrix;
 * and their three written forms (a readable table, one JSON record, a per-class TSV for plots).
 * lfm-eval computes its report with it, lfm-fit --val its validation figures.
 *
 * Definitions (the text-guided-mixup reference code, utils.py Evaluator.accuracy, which produced the
 * paper's tables):
 *   - a class's group comes from its TRAINING count n: many-shot when n > many_above, few-shot when
 *     n <= few_max, medium otherwise (defaults 100 and 20: many > 100, medium 21..100, few <= 20);
 *   - a group's top-1 pools its samples: correct predictions of samples whose true class is in the group
 *     over the number of those samples (on a balanced test set this equals the mean of the classes'
 *     accuracies; on an unbalanced one it weighs classes by their test samples, as the reference does);
 *   - the prediction is the argmax of the logits, the first (lowest) class among equal maxima (torch's).
 * A group or class without test samples has no accuracy: NaN here, null in JSON, "-" in the table.
 * Accuracies are fractions in [0, 1]; the table prints percentages.
 *
 * Counts are exact (int64); nothing depends on the order of the samples.
 */
#ifndef LFM_EVALUATE_H
#define LFM_EVALUATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { EVAL_MANY = 0, EVAL_MEDIUM = 1, EVAL_FEW = 2, EVAL_NUM_GROUPS = 3, EVAL_NO_GROUP = -1 };

/* "many", "medium", "few" (NULL for anything else). */
const char *eval_group_name(int group);
/* The group a name denotes: "many", "medium" (or the reference code's "med"), "few"; -1 otherwise. */
int eval_group_parse(const char *name);

typedef struct eval_thresholds {
	int64_t many_above; /* many-shot: more than this many training images (default 100) */
	int64_t few_max;    /* few-shot: at most this many (default 20); few_max <= many_above */
} eval_thresholds;
#define EVAL_THRESHOLDS_DEFAULT ((eval_thresholds){.many_above = 100, .few_max = 20})

/* The group of a class with train_count training images. */
int eval_group_of(int64_t train_count, const eval_thresholds *t);

typedef struct eval_result {
	int classes;              /* C */
	int64_t samples, correct; /* all samples, and those with pred == label */
	double top1;              /* correct / samples (NaN without samples) */
	double mean_class_top1;   /* the mean of the per-class accuracies of classes with test samples */
	int has_groups;           /* 0: no training counts or groups were given; the group figures are empty */
	eval_thresholds thresholds;
	int group_classes[EVAL_NUM_GROUPS];      /* classes in each group (with or without test samples) */
	int64_t group_samples[EVAL_NUM_GROUPS];  /* test samples whose true class is in the group */
	int64_t group_correct[EVAL_NUM_GROUPS];
	double group_top1[EVAL_NUM_GROUPS];      /* NaN for a group without test samples */
	/* per class, [C] each */
	int *group;               /* EVAL_MANY .. EVAL_FEW, or EVAL_NO_GROUP when has_groups is 0 */
	int64_t *train_count;     /* training images, -1 when unknown */
	int64_t *class_samples;   /* test samples of the class */
	int64_t *class_correct;
	double *class_top1;       /* NaN for a class without test samples */
	int64_t *confusion;       /* [C, C]: row = true label, column = prediction (sklearn's layout) */
} eval_result;

/* Compute every figure of n samples (labels[i], preds[i], both in 0 .. C-1) into r (allocated here; free
 * with eval_result_free). The groups: groups[C] when not NULL (EVAL_MANY .. EVAL_FEW each); otherwise
 * computed from train_counts[C] with t when train_counts is not NULL; otherwise none (has_groups 0).
 * train_counts (may be NULL) is copied for the reports. t NULL means the defaults. Returns 0, or -1 with a
 * message in err for bad input (C < 1, a label or prediction out of range naming the sample, a group out of
 * range, a negative training count, few_max > many_above); r is then empty. Never dies except for memory. */
int eval_compute(eval_result *r, const int32_t *labels, const int32_t *preds, size_t n, int C,
		 const int64_t *train_counts, const int *groups, const eval_thresholds *t, char *err, size_t errsz);
void eval_result_free(eval_result *r);

/* The prediction and its logit for each of B rows of C logits: the first maximum. NaN logits are never
 * chosen (a row of NaNs predicts class 0 with a NaN score); callers that must not see them check first. */
void eval_argmax(const float *logits, int B, int C, int32_t *preds, float *scores);

/* What the written forms say besides the figures; any field may be NULL (left out). */
typedef struct eval_meta {
	const char *const *class_names; /* [C] */
	const char *group_basis;        /* where the groups came from, in words: "the header of train.mp" */
	const char *model;              /* the model evaluated, as given */
	const char *text;               /* the class text features, as given */
	const char *samples;            /* the evaluated samples stream */
	int zero_shot;                  /* 1 no W_I applied, 0 applied, -1 not said */
} eval_meta;

/* The readable table: a line saying what was evaluated, the group thresholds and basis, then one row per
 * group and the overall row: classes, samples, correct, top-1 %. */
void eval_print_table(FILE *f, const eval_result *r, const eval_meta *m);
/* One JSON object on one line (described in lfm-eval(1)): the meta fields present ("model", "zero_shot",
 * "text", "samples_stream"), "num_classes", "samples", "correct", "top1", "mean_class_top1", "thresholds",
 * "group_basis", "groups" {many, medium, few: {classes, samples, correct, top1}} (null without groups) and
 * "per_class" [{class, name, group, train_count, samples, correct, top1}]. Numbers are written as the
 * shortest decimal that reads back exactly; NaN as null. */
void eval_write_json(FILE *f, const eval_result *r, const eval_meta *m);
/* The members of that object without the braces (for a caller composing its own record, e.g. a metrics
 * line that adds the epoch); per_class is left out unless with_per_class. */
void eval_write_json_members(FILE *f, const eval_result *r, const eval_meta *m, int with_per_class);
/* Per-class lines for plots and spreadsheets: a header line starting with '#', then
 * class_id<TAB>name<TAB>train_count<TAB>test_count<TAB>accuracy, accuracy a fraction, "NaN" for an unknown
 * training count or a class without test samples. Tabs or newlines in a name become spaces. */
void eval_write_per_class_tsv(FILE *f, const eval_result *r, const eval_meta *m);

#endif
