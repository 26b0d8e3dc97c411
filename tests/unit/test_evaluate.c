/* test_evaluate.c — the figures of evaluate.c against an independent computation written here (sample by
 * sample, groups by explicit comparisons), on random labels and predictions with training counts at the
 * group boundaries (0, 1, 20, 21, 100, 101, ...); the written forms read back (the JSON through json.h, the
 * TSV with sscanf); bad input refused with messages; argmax's tie and NaN rules. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/json.h"
#include "base/rng.h"
#include "train/evaluate.h"
#include "../test.h"

/* ---- the independent reference ------------------------------------------------------------------- */

/* The group of a class: many when it has at least many_above + 1 training images, few when it has no more
 * than few_max, medium between (written as ranges, not as evaluate.c's comparisons). */
static int ref_group(int64_t n, int64_t many_above, int64_t few_max)
{
	if (n >= many_above + 1)
		return 0;
	if (n >= few_max + 1)
		return 1;
	return 2;
}

typedef struct ref_figures {
	int64_t samples, correct;
	int64_t g_samples[3], g_correct[3];
	int g_classes[3];
	double top1, g_top1[3], mean_class;
} ref_figures;

/* Sample by sample: a sample counts for its true class's group (the reference code's pooling). */
static void ref_compute(ref_figures *f, const int32_t *y, const int32_t *p, size_t n, int C, const int *grp)
{
	memset(f, 0, sizeof *f);
	for (int k = 0; k < C; k++)
		if (grp)
			f->g_classes[grp[k]]++;
	for (size_t i = 0; i < n; i++) {
		f->samples++;
		f->correct += y[i] == p[i];
		if (grp) {
			f->g_samples[grp[y[i]]]++;
			f->g_correct[grp[y[i]]] += y[i] == p[i];
		}
	}
	f->top1 = f->samples ? (double)f->correct / (double)f->samples : NAN;
	for (int g = 0; g < 3; g++)
		f->g_top1[g] = f->g_samples[g] ? (double)f->g_correct[g] / (double)f->g_samples[g] : NAN;
	/* the mean over classes with samples of their accuracy, each class found by scanning all samples */
	double sum = 0;
	int seen = 0;
	for (int k = 0; k < C; k++) {
		int64_t tot = 0, ok = 0;
		for (size_t i = 0; i < n; i++)
			if (y[i] == k) {
				tot++;
				ok += p[i] == k;
			}
		if (tot) {
			sum += (double)ok / (double)tot;
			seen++;
		}
	}
	f->mean_class = seen ? sum / seen : NAN;
}

static int same_double(double a, double b) { return (isnan(a) && isnan(b)) || fabs(a - b) <= 1e-12; }

/* Training counts for C classes: the boundary values first, then random sizes up to 6000. */
static const int64_t boundary_counts[] = {0, 1, 19, 20, 21, 22, 99, 100, 101, 102, 5000};
#define N_BOUNDARY (sizeof boundary_counts / sizeof *boundary_counts)

static void make_counts(rng *r, int C, int64_t *counts)
{
	for (int k = 0; k < C; k++)
		counts[k] = (size_t)k < N_BOUNDARY ? boundary_counts[k] : (int64_t)rng_below(r, 6000);
}

/* Labels over the first `used` classes (so classes above have no test samples); predictions right with
 * probability p_right, otherwise any class. */
static void make_samples(rng *r, size_t n, int C, int used, double p_right, int32_t *y, int32_t *p)
{
	for (size_t i = 0; i < n; i++) {
		y[i] = (int32_t)rng_below(r, (uint64_t)used);
		p[i] = rng_uniform(r) < p_right ? y[i] : (int32_t)rng_below(r, (uint64_t)C);
	}
}

static char g_why[512];

/* Compare every figure of r with the reference; 0 or -1 with g_why. */
static int check_against_reference(const eval_result *r, const int32_t *y, const int32_t *p, size_t n, int C,
				   const int64_t *counts, const eval_thresholds *t)
{
	int *grp = NULL;
	if (counts) {
		grp = xmalloc_array((size_t)C, sizeof *grp);
		for (int k = 0; k < C; k++)
			grp[k] = ref_group(counts[k], t->many_above, t->few_max);
	}
	ref_figures f;
	ref_compute(&f, y, p, n, C, grp);
	int bad = 0;
#define CHECK(cond, ...)                                                   \
	if (!bad && !(cond)) {                                             \
		snprintf(g_why, sizeof g_why, __VA_ARGS__);                \
		bad = 1;                                                   \
	}
	CHECK(r->classes == C, "classes %d", r->classes);
	CHECK(r->samples == f.samples && r->correct == f.correct, "samples %lld/%lld correct %lld/%lld",
	      (long long)r->samples, (long long)f.samples, (long long)r->correct, (long long)f.correct);
	CHECK(same_double(r->top1, f.top1), "top1 %.17g vs %.17g", r->top1, f.top1);
	CHECK(same_double(r->mean_class_top1, f.mean_class), "mean class %.17g vs %.17g", r->mean_class_top1,
	      f.mean_class);
	CHECK(r->has_groups == (counts != NULL), "has_groups %d", r->has_groups);
	for (int g = 0; g < 3 && counts; g++) {
		CHECK(r->group_classes[g] == f.g_classes[g], "group %d: %d classes, expected %d", g,
		      r->group_classes[g], f.g_classes[g]);
		CHECK(r->group_samples[g] == f.g_samples[g] && r->group_correct[g] == f.g_correct[g],
		      "group %d: %lld/%lld samples", g, (long long)r->group_samples[g], (long long)f.g_samples[g]);
		CHECK(same_double(r->group_top1[g], f.g_top1[g]), "group %d top1 %.17g vs %.17g", g, r->group_top1[g],
		      f.g_top1[g]);
	}
	for (int k = 0; k < C; k++) {
		CHECK(r->group[k] == (grp ? grp[k] : EVAL_NO_GROUP), "class %d: group %d", k, r->group[k]);
		CHECK(r->train_count[k] == (counts ? counts[k] : -1), "class %d: train count", k);
		int64_t tot = 0, ok = 0;
		for (size_t i = 0; i < n; i++)
			if (y[i] == k) {
				tot++;
				ok += p[i] == k;
			}
		CHECK(r->class_samples[k] == tot && r->class_correct[k] == ok, "class %d: %lld/%lld", k,
		      (long long)r->class_correct[k], (long long)r->class_samples[k]);
		CHECK(same_double(r->class_top1[k], tot ? (double)ok / (double)tot : NAN), "class %d top1", k);
		for (int j = 0; j < C; j++) {
			int64_t cnt = 0;
			for (size_t i = 0; i < n; i++)
				cnt += y[i] == k && p[i] == j;
			CHECK(r->confusion[(size_t)k * C + j] == cnt, "confusion[%d][%d] = %lld, expected %lld", k, j,
			      (long long)r->confusion[(size_t)k * C + j], (long long)cnt);
		}
	}
#undef CHECK
	free(grp);
	return bad ? -1 : 0;
}

/* ---- tests ------------------------------------------------------------------------------------------- */

static void test_random_against_reference(void)
{
	static const int Cs[] = {1, 2, 11, 37, 100};
	rng r;
	rng_init(&r, 2024, 0);
	for (int trial = 0; trial < 40; trial++) {
		int C = Cs[trial % 5];
		size_t n = 1 + rng_below(&r, 3000);
		int used = C > 3 && trial % 3 == 0 ? C - 2 : C; /* sometimes classes without test samples */
		int32_t *y = xmalloc_array(n, sizeof *y), *p = xmalloc_array(n, sizeof *p);
		int64_t *counts = xmalloc_array((size_t)C, sizeof *counts);
		make_counts(&r, C, counts);
		make_samples(&r, n, C, used, 0.2 + 0.6 * rng_uniform(&r), y, p);
		eval_thresholds t = EVAL_THRESHOLDS_DEFAULT;
		if (trial % 4 == 3) /* other thresholds: many > 21, few <= 20 (medium is exactly 21) */
			t = (eval_thresholds){.many_above = 21, .few_max = 20};
		char err[256] = "";
		eval_result res;
		int rc = eval_compute(&res, y, p, n, C, counts, NULL, trial % 4 == 0 ? NULL : &t, err, sizeof err);
		T_ASSERTF(rc == 0, "trial %d: %s", trial, err);
		int bad = check_against_reference(&res, y, p, n, C, counts, &t);
		eval_result_free(&res);
		T_ASSERTF(bad == 0, "trial %d (C %d, n %zu): %s", trial, C, n, g_why);
		/* the same without training counts: no groups, the rest unchanged */
		rc = eval_compute(&res, y, p, n, C, NULL, NULL, NULL, err, sizeof err);
		T_ASSERT(rc == 0);
		bad = check_against_reference(&res, y, p, n, C, NULL, &t);
		eval_result_free(&res);
		T_ASSERTF(bad == 0, "trial %d without counts: %s", trial, g_why);
		free(y);
		free(p);
		free(counts);
	}
}

/* 20 is few, 21 medium, 100 medium, 101 many (DESIGN.md §1: the reference code's groups). */
static void test_boundaries(void)
{
	eval_thresholds t = EVAL_THRESHOLDS_DEFAULT;
	T_ASSERT(t.many_above == 100 && t.few_max == 20);
	T_ASSERT(eval_group_of(0, &t) == EVAL_FEW);
	T_ASSERT(eval_group_of(20, &t) == EVAL_FEW);
	T_ASSERT(eval_group_of(21, &t) == EVAL_MEDIUM);
	T_ASSERT(eval_group_of(100, &t) == EVAL_MEDIUM);
	T_ASSERT(eval_group_of(101, &t) == EVAL_MANY);
	eval_thresholds same = {.many_above = 50, .few_max = 50}; /* no medium class possible */
	T_ASSERT(eval_group_of(50, &same) == EVAL_FEW);
	T_ASSERT(eval_group_of(51, &same) == EVAL_MANY);

	/* four classes at 20, 21, 100, 101; each sample right except those of class 1 */
	int64_t counts[4] = {20, 21, 100, 101};
	int32_t y[8] = {0, 0, 1, 1, 2, 2, 3, 3}, p[8] = {0, 0, 0, 2, 2, 2, 3, 3};
	eval_result r;
	char err[256];
	T_ASSERT(eval_compute(&r, y, p, 8, 4, counts, NULL, NULL, err, sizeof err) == 0);
	T_ASSERT(r.group[0] == EVAL_FEW && r.group[1] == EVAL_MEDIUM && r.group[2] == EVAL_MEDIUM &&
		 r.group[3] == EVAL_MANY);
	T_ASSERT(r.group_classes[EVAL_MANY] == 1 && r.group_classes[EVAL_MEDIUM] == 2 && r.group_classes[EVAL_FEW] == 1);
	T_ASSERT(r.group_top1[EVAL_FEW] == 1.0 && r.group_top1[EVAL_MANY] == 1.0);
	T_ASSERTF(r.group_top1[EVAL_MEDIUM] == 0.5, "%g", r.group_top1[EVAL_MEDIUM]);
	T_ASSERT(r.correct == 6 && r.top1 == 0.75);
	eval_result_free(&r);
}

/* A group's top-1 pools samples (the reference code), which differs from the mean of its classes'
 * accuracies when the classes have different numbers of test samples. */
static void test_pooled_not_class_mean(void)
{
	int64_t counts[2] = {500, 400}; /* both many */
	int32_t y[4] = {0, 0, 0, 1}, p[4] = {0, 0, 0, 0};
	eval_result r;
	T_ASSERT(eval_compute(&r, y, p, 4, 2, counts, NULL, NULL, NULL, 0) == 0);
	T_ASSERT(r.group_top1[EVAL_MANY] == 0.75);
	T_ASSERT(r.mean_class_top1 == 0.5);
	T_ASSERT(isnan(r.group_top1[EVAL_FEW]) && r.group_samples[EVAL_FEW] == 0);
	eval_result_free(&r);
}

static void test_groups_given(void)
{
	int64_t counts[3] = {1000, 1000, 1000};
	int groups[3] = {EVAL_FEW, EVAL_MEDIUM, EVAL_MANY};
	int32_t y[3] = {0, 1, 2}, p[3] = {0, 0, 2};
	eval_result r;
	T_ASSERT(eval_compute(&r, y, p, 3, 3, counts, groups, NULL, NULL, 0) == 0);
	T_ASSERT(r.has_groups && r.group[0] == EVAL_FEW && r.group[1] == EVAL_MEDIUM && r.group[2] == EVAL_MANY);
	T_ASSERT(r.train_count[0] == 1000);
	T_ASSERT(r.group_top1[EVAL_FEW] == 1 && r.group_top1[EVAL_MEDIUM] == 0 && r.group_top1[EVAL_MANY] == 1);
	eval_result_free(&r);
	/* groups without counts */
	T_ASSERT(eval_compute(&r, y, p, 3, 3, NULL, groups, NULL, NULL, 0) == 0);
	T_ASSERT(r.has_groups && r.train_count[1] == -1 && r.group_classes[EVAL_MEDIUM] == 1);
	eval_result_free(&r);
}

static void test_no_samples(void)
{
	int64_t counts[2] = {5, 500};
	eval_result r;
	T_ASSERT(eval_compute(&r, NULL, NULL, 0, 2, counts, NULL, NULL, NULL, 0) == 0);
	T_ASSERT(r.samples == 0 && isnan(r.top1) && isnan(r.mean_class_top1) && isnan(r.class_top1[0]));
	T_ASSERT(r.group_classes[EVAL_FEW] == 1 && r.group_classes[EVAL_MANY] == 1);
	eval_result_free(&r);
}

typedef struct bad_case {
	const char *what;
	int C;
	int32_t y, p;
	int64_t count;
	int group;
	eval_thresholds t;
	const char *message;
} bad_case;

static void test_bad_input(void)
{
	static const bad_case cases[] = {
	    {"no classes", 0, 0, 0, 1, 0, {100, 20}, "0 classes"},
	    {"label too big", 3, 3, 0, 1, 0, {100, 20}, "sample 0: label 3 is outside 0 .. 2"},
	    {"negative label", 3, -1, 0, 1, 0, {100, 20}, "sample 0: label -1"},
	    {"prediction too big", 3, 0, 7, 1, 0, {100, 20}, "sample 0: prediction 7"},
	    {"negative count", 3, 0, 0, -4, 0, {100, 20}, "negative training count -4"},
	    {"bad group", 3, 0, 0, 1, 5, {100, 20}, "group 5"},
	    {"few above many", 3, 0, 0, 1, 0, {20, 100}, "few-shot at most 100 is above many-shot more than 20"},
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		const bad_case *b = &cases[c];
		int64_t counts[3] = {b->count, 1, 1};
		int groups[3] = {b->group, 0, 0};
		char err[256] = "";
		eval_result r;
		int rc = eval_compute(&r, &b->y, &b->p, 1, b->C, counts, b->group ? groups : NULL, &b->t, err, sizeof err);
		T_ASSERTF(rc == -1, "%s: accepted", b->what);
		T_ASSERTF(strstr(err, b->message) != NULL, "%s: message '%s'", b->what, err);
		T_ASSERT(r.confusion == NULL && r.classes == 0);
	}
}

static void test_argmax(void)
{
	float logits[4 * 3] = {0.1f, 0.3f, 0.3f,      /* tie: the first */
			       -1, -2, -0.5f,         /* all negative */
			       NAN, 0.2f, 0.1f,       /* NaN is never chosen */
			       NAN, NAN, NAN};        /* nothing to choose */
	int32_t p[4];
	float s[4];
	eval_argmax(logits, 4, 3, p, s);
	T_ASSERT(p[0] == 1 && s[0] == 0.3f);
	T_ASSERT(p[1] == 2 && s[1] == -0.5f);
	T_ASSERT(p[2] == 1 && s[2] == 0.2f);
	T_ASSERT(p[3] == 0 && isnan(s[3]));
	eval_argmax(logits, 1, 3, p, NULL);
	T_ASSERT(p[0] == 1);
}

static void test_group_names(void)
{
	T_ASSERT(strcmp(eval_group_name(EVAL_MANY), "many") == 0 && strcmp(eval_group_name(EVAL_FEW), "few") == 0);
	T_ASSERT(eval_group_name(3) == NULL && eval_group_name(-1) == NULL);
	T_ASSERT(eval_group_parse("medium") == EVAL_MEDIUM && eval_group_parse("med") == EVAL_MEDIUM);
	T_ASSERT(eval_group_parse("Many") == -1 && eval_group_parse("") == -1 && eval_group_parse(NULL) == -1);
}

/* Write with fn into a memory buffer; the caller frees. */
static char *written(void (*fn)(FILE *, const eval_result *, const eval_meta *), const eval_result *r,
		     const eval_meta *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	fn(f, r, m);
	fclose(f);
	return buf;
}

static double num(const json_value *v) { return v && v->type == JSON_NUMBER ? v->number : NAN; }

static void test_json_reads_back(void)
{
	rng r;
	rng_init(&r, 7, 0);
	enum { C = 12, N = 997 };
	int32_t y[N], p[N];
	int64_t counts[C];
	make_counts(&r, C, counts);
	make_samples(&r, N, C, C - 1, 0.5, y, p); /* class 11 has no test samples */
	const char *names[C] = {"a", "b\"quoted\"", "c d", "e\tf", "g", "h", "i", "j", "k", "l", "m", "ñ"};
	eval_result res;
	T_ASSERT(eval_compute(&res, y, p, N, C, counts, NULL, NULL, NULL, 0) == 0);
	eval_meta m = {.class_names = names, .group_basis = "test", .model = "m.st", .text = "t.npy",
		       .samples = "s.mp", .zero_shot = 1};
	char *text = written(eval_write_json, &res, &m);
	size_t len = strlen(text);
	T_ASSERT(len > 0 && text[len - 1] == '\n' && strchr(text, '\n') == text + len - 1);
	char err[256];
	json_value *j = json_parse(text, len, err, sizeof err);
	T_ASSERTF(j != NULL, "%s", err);
	T_ASSERT(num(json_get(j, "samples")) == N && num(json_get(j, "correct")) == (double)res.correct);
	T_ASSERT(num(json_get(j, "top1")) == res.top1); /* shortest round trip: exactly the double */
	T_ASSERT(num(json_get(j, "mean_class_top1")) == res.mean_class_top1);
	T_ASSERT(num(json_get(j, "num_classes")) == C);
	T_ASSERT(json_get(j, "zero_shot") && json_get(j, "zero_shot")->type == JSON_BOOL && json_get(j, "zero_shot")->boolean);
	T_ASSERT(strcmp(json_get(j, "model")->string, "m.st") == 0);
	const json_value *th = json_get(j, "thresholds");
	T_ASSERT(num(json_get(th, "many_above")) == 100 && num(json_get(th, "few_max")) == 20);
	const json_value *groups = json_get(j, "groups");
	T_ASSERT(groups && groups->type == JSON_OBJECT);
	for (int g = 0; g < 3; g++) {
		const json_value *gv = json_get(groups, eval_group_name(g));
		T_ASSERTF(gv != NULL, "group %d", g);
		T_ASSERT(num(json_get(gv, "classes")) == res.group_classes[g]);
		T_ASSERT(num(json_get(gv, "samples")) == (double)res.group_samples[g]);
		T_ASSERT(num(json_get(gv, "top1")) == res.group_top1[g]);
	}
	const json_value *pc = json_get(j, "per_class");
	T_ASSERT(pc && pc->type == JSON_ARRAY && pc->count == C);
	for (int k = 0; k < C; k++) {
		const json_value *e = pc->items[k];
		T_ASSERT(num(json_get(e, "class")) == k);
		T_ASSERTF(strcmp(json_get(e, "name")->string, names[k]) == 0, "name %d", k);
		T_ASSERT(strcmp(json_get(e, "group")->string, eval_group_name(res.group[k])) == 0);
		T_ASSERT(num(json_get(e, "train_count")) == (double)counts[k]);
		T_ASSERT(num(json_get(e, "samples")) == (double)res.class_samples[k]);
		if (k == C - 1)
			T_ASSERT(json_get(e, "top1")->type == JSON_NULL);
		else
			T_ASSERT(num(json_get(e, "top1")) == res.class_top1[k]);
	}
	json_free(j);
	free(text);
	eval_result_free(&res);

	/* without groups: "groups" is null and per-class groups and counts are null */
	int32_t y1[2] = {0, 1}, p1[2] = {0, 0};
	T_ASSERT(eval_compute(&res, y1, p1, 2, 2, NULL, NULL, NULL, NULL, 0) == 0);
	text = written(eval_write_json, &res, NULL);
	j = json_parse(text, strlen(text), err, sizeof err);
	T_ASSERTF(j != NULL, "%s", err);
	T_ASSERT(json_get(j, "groups")->type == JSON_NULL && json_get(j, "model") == NULL);
	T_ASSERT(json_get(json_get(j, "per_class")->items[0], "train_count")->type == JSON_NULL);
	T_ASSERT(num(json_get(j, "top1")) == 0.5);
	json_free(j);
	free(text);
	eval_result_free(&res);
}

static void test_tsv_reads_back(void)
{
	int64_t counts[3] = {500, 50, 5};
	int32_t y[5] = {0, 0, 1, 1, 1}, p[5] = {0, 1, 1, 1, 0};
	const char *names[3] = {"big class", "mid\tclass", "small"};
	eval_result res;
	T_ASSERT(eval_compute(&res, y, p, 5, 3, counts, NULL, NULL, NULL, 0) == 0);
	eval_meta m = {.class_names = names, .zero_shot = -1};
	char *text = written(eval_write_per_class_tsv, &res, &m);
	char *save = NULL, *line = strtok_r(text, "\n", &save);
	T_ASSERT(line && line[0] == '#' && strstr(line, "class_id\tname\ttrain_count\ttest_count\taccuracy"));
	for (int k = 0; k < 3; k++) {
		line = strtok_r(NULL, "\n", &save);
		T_ASSERTF(line != NULL, "line %d", k);
		int tabs = 0;
		for (const char *q = line; *q; q++)
			tabs += *q == '\t';
		T_ASSERTF(tabs == 4, "line '%s': %d tabs", line, tabs);
		int id;
		char name[64], acc[32];
		long long train, test;
		T_ASSERT(sscanf(line, "%d\t%63[^\t]\t%lld\t%lld\t%31s", &id, name, &train, &test, acc) == 5);
		T_ASSERT(id == k && train == counts[k] && test == res.class_samples[k]);
		if (k == 2)
			T_ASSERT(strcmp(acc, "NaN") == 0);
		else
			T_ASSERTF(fabs(strtod(acc, NULL) - res.class_top1[k]) < 1e-6, "%s", acc);
	}
	T_ASSERT(strtok_r(NULL, "\n", &save) == NULL);
	free(text);
	eval_result_free(&res);
}

static void test_table(void)
{
	int64_t counts[3] = {500, 50, 5};
	int32_t y[4] = {0, 0, 1, 2}, p[4] = {0, 1, 1, 0};
	eval_result res;
	T_ASSERT(eval_compute(&res, y, p, 4, 3, counts, NULL, NULL, NULL, 0) == 0);
	eval_meta m = {.group_basis = "from here", .model = "ck.st", .zero_shot = 0};
	char *text = written(eval_print_table, &res, &m);
	T_ASSERTF(strstr(text, "many > 100, medium 21..100, few <= 20 (from here)"), "%s", text);
	T_ASSERTF(strstr(text, "fc.weight applied"), "%s", text);
	T_ASSERTF(strstr(text, "\nmany             1           2           1     50.00\n"), "%s", text);
	T_ASSERTF(strstr(text, "\nmedium           1           1           1    100.00\n"), "%s", text);
	T_ASSERTF(strstr(text, "\nfew              1           1           0      0.00\n"), "%s", text);
	T_ASSERTF(strstr(text, "\nall              3           4           2     50.00\n"), "%s", text);
	T_ASSERTF(strstr(text, "mean of the per-class top-1: 50.00 %"), "%s", text);
	free(text);
	eval_result_free(&res);
	/* no groups: only the overall row */
	T_ASSERT(eval_compute(&res, y, p, 4, 3, NULL, NULL, NULL, NULL, 0) == 0);
	text = written(eval_print_table, &res, NULL);
	T_ASSERTF(strstr(text, "groups: none") && !strstr(text, "\nmany"), "%s", text);
	free(text);
	eval_result_free(&res);
}

int main(void)
{
	T_RUN(test_random_against_reference);
	T_RUN(test_boundaries);
	T_RUN(test_pooled_not_class_mean);
	T_RUN(test_groups_given);
	T_RUN(test_no_samples);
	T_RUN(test_bad_input);
	T_RUN(test_argmax);
	T_RUN(test_group_names);
	T_RUN(test_json_reads_back);
	T_RUN(test_tsv_reads_back);
	T_RUN(test_table);
	return t_summary();
}
