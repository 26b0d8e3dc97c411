/* evaluate.c — see evaluate.h. */
#include "train/evaluate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/tensor_dtype.h"
#include "base/json.h"

static const char *const group_names[EVAL_NUM_GROUPS] = {"many", "medium", "few"};

const char *eval_group_name(int group)
{
	return group >= 0 && group < EVAL_NUM_GROUPS ? group_names[group] : NULL;
}

int eval_group_parse(const char *name)
{
	if (!name)
		return -1;
	for (int g = 0; g < EVAL_NUM_GROUPS; g++)
		if (strcmp(name, group_names[g]) == 0)
			return g;
	return strcmp(name, "med") == 0 ? EVAL_MEDIUM : -1;
}

int eval_group_of(int64_t train_count, const eval_thresholds *t)
{
	if (train_count > t->many_above)
		return EVAL_MANY;
	return train_count <= t->few_max ? EVAL_FEW : EVAL_MEDIUM;
}

static double ratio(int64_t num, int64_t den) { return den > 0 ? (double)num / (double)den : NAN; }

void eval_result_free(eval_result *r)
{
	free(r->group);
	free(r->train_count);
	free(r->class_samples);
	free(r->class_correct);
	free(r->class_top1);
	free(r->confusion);
	memset(r, 0, sizeof *r);
}

int eval_compute(eval_result *r, const int32_t *labels, const int32_t *preds, size_t n, int C,
		 const int64_t *train_counts, const int *groups, const eval_thresholds *t, char *err, size_t errsz)
{
	memset(r, 0, sizeof *r);
	eval_thresholds th = t ? *t : EVAL_THRESHOLDS_DEFAULT;
	if (C < 1)
		return err_set(err, errsz, "%d classes: at least one is needed", C);
	if ((size_t)C > SIZE_MAX / sizeof(int64_t) / (size_t)C)
		return err_set(err, errsz, "%d classes: too many for a confusion matrix", C);
	if (th.few_max > th.many_above)
		return err_set(err, errsz, "thresholds: few-shot at most %lld is above many-shot more than %lld",
			    (long long)th.few_max, (long long)th.many_above);
	for (size_t i = 0; i < n; i++) {
		if (labels[i] < 0 || labels[i] >= C)
			return err_set(err, errsz, "sample %zu: label %d is outside 0 .. %d", i, (int)labels[i], C - 1);
		if (preds[i] < 0 || preds[i] >= C)
			return err_set(err, errsz, "sample %zu: prediction %d is outside 0 .. %d", i, (int)preds[i],
				    C - 1);
	}
	for (int k = 0; k < C; k++) {
		if (groups && eval_group_name(groups[k]) == NULL)
			return err_set(err, errsz, "class %d: group %d is not many (0), medium (1) or few (2)", k,
				    groups[k]);
		if (train_counts && train_counts[k] < 0)
			return err_set(err, errsz, "class %d: negative training count %lld", k,
				    (long long)train_counts[k]);
	}

	r->classes = C;
	r->thresholds = th;
	r->has_groups = groups || train_counts;
	r->group = xmalloc_array((size_t)C, sizeof *r->group);
	r->train_count = xmalloc_array((size_t)C, sizeof *r->train_count);
	r->class_samples = xcalloc((size_t)C, sizeof *r->class_samples);
	r->class_correct = xcalloc((size_t)C, sizeof *r->class_correct);
	r->class_top1 = xmalloc_array((size_t)C, sizeof *r->class_top1);
	r->confusion = xcalloc((size_t)C * (size_t)C, sizeof *r->confusion);

	for (int k = 0; k < C; k++) {
		r->train_count[k] = train_counts ? train_counts[k] : -1;
		r->group[k] = groups ? groups[k] : train_counts ? eval_group_of(train_counts[k], &th) : EVAL_NO_GROUP;
		if (r->group[k] != EVAL_NO_GROUP)
			r->group_classes[r->group[k]]++;
	}
	for (size_t i = 0; i < n; i++) {
		int y = labels[i], p = preds[i];
		r->confusion[(size_t)y * (size_t)C + (size_t)p]++;
		r->class_samples[y]++;
		if (p == y)
			r->class_correct[y]++;
	}
	double class_sum = 0;
	int classes_seen = 0;
	for (int k = 0; k < C; k++) {
		r->samples += r->class_samples[k];
		r->correct += r->class_correct[k];
		r->class_top1[k] = ratio(r->class_correct[k], r->class_samples[k]);
		if (r->class_samples[k] > 0) {
			class_sum += r->class_top1[k];
			classes_seen++;
		}
		if (r->group[k] != EVAL_NO_GROUP) {
			r->group_samples[r->group[k]] += r->class_samples[k];
			r->group_correct[r->group[k]] += r->class_correct[k];
		}
	}
	r->top1 = ratio(r->correct, r->samples);
	r->mean_class_top1 = classes_seen ? class_sum / classes_seen : NAN;
	for (int g = 0; g < EVAL_NUM_GROUPS; g++)
		r->group_top1[g] = ratio(r->group_correct[g], r->group_samples[g]);
	return 0;
}

void eval_argmax(const float *logits, int B, int C, int32_t *preds, float *scores)
{
	for (int b = 0; b < B; b++) {
		const float *row = logits + (size_t)b * (size_t)C;
		int best = -1;
		for (int k = 0; k < C; k++)
			if (!isnan(row[k]) && (best < 0 || row[k] > row[best]))
				best = k;
		if (best < 0) {
			preds[b] = 0;
			if (scores)
				scores[b] = NAN;
		} else {
			preds[b] = best;
			if (scores)
				scores[b] = row[best];
		}
	}
}

/* ---- written forms ---------------------------------------------------------------------------------- */

/* The shortest %g that reads back to the same double; null for NaN and infinities (JSON has neither). */
static void json_number(FILE *f, double v)
{
	if (!isfinite(v)) {
		fputs("null", f);
		return;
	}
	char buf[40];
	format_shortest(buf, sizeof buf, v, DT_F64);
	fputs(buf, f);
}

static void json_key(FILE *f, const char *key, int *first)
{
	if (!*first)
		fputc(',', f);
	*first = 0;
	json_write_string(f, key, strlen(key));
	fputc(':', f);
}

static void json_str_or_null(FILE *f, const char *s)
{
	if (s)
		json_write_string(f, s, strlen(s));
	else
		fputs("null", f);
}

void eval_write_json_members(FILE *f, const eval_result *r, const eval_meta *m, int with_per_class)
{
	int first = 1;
	if (m && m->model) {
		json_key(f, "model", &first);
		json_str_or_null(f, m->model);
	}
	if (m && m->zero_shot >= 0) {
		json_key(f, "zero_shot", &first);
		fputs(m->zero_shot ? "true" : "false", f);
	}
	if (m && m->text) {
		json_key(f, "text", &first);
		json_str_or_null(f, m->text);
	}
	if (m && m->samples) {
		json_key(f, "samples_stream", &first);
		json_str_or_null(f, m->samples);
	}
	json_key(f, "num_classes", &first);
	fprintf(f, "%d", r->classes);
	json_key(f, "samples", &first);
	fprintf(f, "%lld", (long long)r->samples);
	json_key(f, "correct", &first);
	fprintf(f, "%lld", (long long)r->correct);
	json_key(f, "top1", &first);
	json_number(f, r->top1);
	json_key(f, "mean_class_top1", &first);
	json_number(f, r->mean_class_top1);
	json_key(f, "thresholds", &first);
	fprintf(f, "{\"many_above\":%lld,\"few_max\":%lld}", (long long)r->thresholds.many_above,
		(long long)r->thresholds.few_max);
	json_key(f, "group_basis", &first);
	json_str_or_null(f, m ? m->group_basis : NULL);
	json_key(f, "groups", &first);
	if (!r->has_groups) {
		fputs("null", f);
	} else {
		fputc('{', f);
		for (int g = 0; g < EVAL_NUM_GROUPS; g++) {
			fprintf(f, "%s\"%s\":{\"classes\":%d,\"samples\":%lld,\"correct\":%lld,\"top1\":", g ? "," : "",
				group_names[g], r->group_classes[g], (long long)r->group_samples[g],
				(long long)r->group_correct[g]);
			json_number(f, r->group_top1[g]);
			fputc('}', f);
		}
		fputc('}', f);
	}
	if (!with_per_class)
		return;
	json_key(f, "per_class", &first);
	fputc('[', f);
	for (int k = 0; k < r->classes; k++) {
		fprintf(f, "%s{\"class\":%d,\"name\":", k ? "," : "", k);
		json_str_or_null(f, m && m->class_names ? m->class_names[k] : NULL);
		fputs(",\"group\":", f);
		json_str_or_null(f, eval_group_name(r->group[k]));
		fputs(",\"train_count\":", f);
		if (r->train_count[k] >= 0)
			fprintf(f, "%lld", (long long)r->train_count[k]);
		else
			fputs("null", f);
		fprintf(f, ",\"samples\":%lld,\"correct\":%lld,\"top1\":", (long long)r->class_samples[k],
			(long long)r->class_correct[k]);
		json_number(f, r->class_top1[k]);
		fputc('}', f);
	}
	fputc(']', f);
}

void eval_write_json(FILE *f, const eval_result *r, const eval_meta *m)
{
	fputc('{', f);
	eval_write_json_members(f, r, m, 1);
	fputs("}\n", f);
}

static void print_pct(FILE *f, double v)
{
	if (isnan(v))
		fprintf(f, "  %8s\n", "-");
	else
		fprintf(f, "  %8.2f\n", 100 * v);
}

void eval_print_table(FILE *f, const eval_result *r, const eval_meta *m)
{
	if (m && (m->model || m->text || m->samples)) {
		const char *sep = "";
		if (m->model) {
			fprintf(f, "model %s", m->model);
			if (m->zero_shot >= 0)
				fprintf(f, " (%s)", m->zero_shot ? "zero-shot: no fc.weight applied" : "fc.weight applied");
			sep = ", ";
		}
		if (m->text) {
			fprintf(f, "%stext features %s", sep, m->text);
			sep = ", ";
		}
		if (m->samples)
			fprintf(f, "%ssamples %s", sep, m->samples);
		fputc('\n', f);
	}
	const eval_thresholds *t = &r->thresholds;
	if (r->has_groups) {
		fprintf(f, "groups by training images: many > %lld, ", (long long)t->many_above);
		if (t->few_max + 1 <= t->many_above)
			fprintf(f, "medium %lld..%lld", (long long)t->few_max + 1, (long long)t->many_above);
		else
			fputs("medium none", f);
		fprintf(f, ", few <= %lld", (long long)t->few_max);
		if (m && m->group_basis)
			fprintf(f, " (%s)", m->group_basis);
		fputc('\n', f);
	} else {
		fprintf(f, "groups: none (%s)\n", m && m->group_basis ? m->group_basis : "no training counts known");
	}
	fprintf(f, "\n%-8s  %8s  %10s  %10s  %8s\n", "group", "classes", "samples", "correct", "top-1 %");
	if (r->has_groups)
		for (int g = 0; g < EVAL_NUM_GROUPS; g++) {
			fprintf(f, "%-8s  %8d  %10lld  %10lld", group_names[g], r->group_classes[g],
				(long long)r->group_samples[g], (long long)r->group_correct[g]);
			print_pct(f, r->group_top1[g]);
		}
	fprintf(f, "%-8s  %8d  %10lld  %10lld", "all", r->classes, (long long)r->samples, (long long)r->correct);
	print_pct(f, r->top1);
	fprintf(f, "\nmean of the per-class top-1: ");
	if (isnan(r->mean_class_top1))
		fputs("-\n", f);
	else
		fprintf(f, "%.2f %%\n", 100 * r->mean_class_top1);
}

void eval_write_per_class_tsv(FILE *f, const eval_result *r, const eval_meta *m)
{
	fputs("# class_id\tname\ttrain_count\ttest_count\taccuracy\n", f);
	for (int k = 0; k < r->classes; k++) {
		fprintf(f, "%d\t", k);
		const char *name = m && m->class_names ? m->class_names[k] : NULL;
		if (name) {
			for (const char *p = name; *p; p++)
				fputc(*p == '\t' || *p == '\n' || *p == '\r' ? ' ' : *p, f);
		} else {
			fprintf(f, "%d", k);
		}
		if (r->train_count[k] >= 0)
			fprintf(f, "\t%lld", (long long)r->train_count[k]);
		else
			fputs("\tNaN", f);
		fprintf(f, "\t%lld\t", (long long)r->class_samples[k]);
		if (isnan(r->class_top1[k]))
			fputs("NaN\n", f);
		else
			fprintf(f, "%.6f\n", r->class_top1[k]);
	}
}
