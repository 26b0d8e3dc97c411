/* validation.c — see validation.h. */
#include "validation.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/json.h"
#include "io/stream.h"
#include "train/evaluate.h"
#include "train/losses.h"

/* The training set's groups: the header's "groups" (C names), else its counts with its "thresholds". */
static int *training_groups(const char *header_json, const int64_t *counts, int C, const char *name)
{
	int *g = xmalloc_array((size_t)C, sizeof *g);
	char err[256];
	json_value *h = header_json ? json_parse(header_json, strlen(header_json), err, sizeof err) : NULL;
	const json_value *names = json_get(h, "groups"), *th = json_get(h, "thresholds");
	if (names && names->type == JSON_ARRAY && names->count == (size_t)C) {
		for (int k = 0; k < C; k++) {
			const json_value *n = names->items[k];
			g[k] = n->type == JSON_STRING ? eval_group_parse(n->string) : -1;
			if (g[k] < 0)
				die(LFM_EXIT_DATA, "%s: header \"groups\"[%d] is not many, medium or few", name, k);
		}
	} else {
		eval_thresholds t = EVAL_THRESHOLDS_DEFAULT;
		const json_value *ma = json_get(th, "many_above"), *fm = json_get(th, "few_max");
		if (ma && ma->type == JSON_NUMBER && ma->is_integer && fm && fm->type == JSON_NUMBER && fm->is_integer &&
		    fm->integer >= 0 && fm->integer <= ma->integer)
			t = (eval_thresholds){.many_above = ma->integer, .few_max = fm->integer};
		for (int k = 0; k < C; k++)
			g[k] = eval_group_of(counts[k], &t);
	}
	json_free(h);
	return g;
}

void validation_open(validation *v, const fit_options *o, dataset *train_ds, const char *train_split,
		     const char *train_header_json, const int64_t *train_counts, int C, const char *train_name,
		     thread_pool *pool, int R, int raw_w, int raw_h)
{
	memset(v, 0, sizeof *v);
	samples_read(o->val, 0, &v->smp);
	const dataset *ds = train_ds;
	char *split = NULL;
	const msgpack_object *sp = mp_map_get(&v->smp.header, "split");
	if (sp && sp->type == MSGPACK_OBJECT_STR)
		split = xasprintf("%.*s", (int)sp->via.str.size, sp->via.str.ptr);
	if (o->val_data || (split && strcmp(split, train_split) != 0)) {
		dataset_options dopt = {.split = split, .root = o->val_data ? NULL : o->root,
					.cache_dir = o->cache_dir};
		v->own_ds = dataset_open_or_die(o->val_data ? o->val_data : o->data, &dopt);
		ds = v->own_ds;
	}
	free(split);
	if (v->smp.num_classes != dataset_num_classes(ds))
		die(LFM_EXIT_DATA, "%s has %d classes, its dataset %d", o->val, v->smp.num_classes,
		    dataset_num_classes(ds));
	for (size_t k = 0; k < v->smp.n; k++)
		if (v->smp.index[k] >= dataset_count(ds) || dataset_label(ds, (size_t)v->smp.index[k]) != v->smp.label[k])
			die(LFM_EXIT_DATA, "%s: sample %zu (index %llu, label %d) does not match the dataset: the wrong "
					   "dataset or split for --val",
			    o->val, k, (unsigned long long)v->smp.index[k], (int)v->smp.label[k]);
	/* raw batches when training takes them and the validation images have the training images' size */
	int w = 0, h = 0;
	char err[512];
	if (raw_w > 0 && v->smp.n > 0 && batch_loader_sample_size(ds, v->smp.index[0], &w, &h, err, sizeof err) == 0 &&
	    w == raw_w && h == raw_h)
		v->raw = 1;
	v->bl = v->raw ? batch_loader_new_raw(ds, raw_w, raw_h, pool, o->batch) : batch_loader_new(ds, R, pool, o->batch);
	v->pixels = xmalloc_array((size_t)o->batch * 3 * R * R, sizeof(float));
	v->logits = xmalloc_array((size_t)o->batch * v->smp.num_classes, sizeof(float));
	v->targets = xmalloc_array((size_t)o->batch * v->smp.num_classes, sizeof(float));
	v->preds = xmalloc_array((size_t)o->batch, sizeof *v->preds);
	if (v->smp.num_classes != C)
		die(LFM_EXIT_DATA, "%s has %d classes, %s %d", o->val, v->smp.num_classes, train_name, C);
	v->group = training_groups(train_header_json, train_counts, C, train_name);
}

void validation_close(validation *v)
{
	batch_loader_free(v->bl);
	if (v->own_ds)
		dataset_close(v->own_ds);
	samples_free(&v->smp);
	free(v->pixels);
	free(v->logits);
	free(v->targets);
	free(v->preds);
	free(v->group);
}

void validation_run(validation *v, fit_state *fs, int B, const char *name, dist_comm *dist, val_figures *out)
{
	int C = fs->classes, rank = dist ? dist->rank : 0, world = dist ? dist->world : 1;
	size_t right = 0, group_n[EVAL_NUM_GROUPS] = {0}, group_right[EVAL_NUM_GROUPS] = {0};
	double sum = 0;
	for (size_t first = 0; first < v->smp.n; first += (size_t)B) {
		size_t global = v->smp.n - first < (size_t)B ? v->smp.n - first : (size_t)B, lo, hi;
		dist_slice(global, rank, world, &lo, &hi);
		int count = (int)(hi - lo);
		if (count == 0)
			continue;
		size_t at = first + lo;
		batch_desc d = {count, (const uint64_t *)v->smp.index + at, NULL, NULL, NULL, NULL};
		int code = LFM_EXIT_DATA;
		char err[600];
		if (v->raw) {
			const batch_raw *raw = batch_loader_load_raw(v->bl, &d, &code, err, sizeof err);
			if (!raw)
				die(code, "%s: %s", name, err);
			fit_logits_raw(fs, &(fit_raw_batch){FIT_RAW_BATCH_OF(raw)}, v->logits);
		} else {
			if (batch_loader_load(v->bl, &d, v->pixels, &code, err, sizeof err))
				die(code, "%s: %s", name, err);
			fit_logits(fs, v->pixels, count, v->logits);
		}
		memset(v->targets, 0, (size_t)count * C * sizeof(float));
		eval_argmax(v->logits, count, C, v->preds, NULL);
		for (int b = 0; b < count; b++) {
			int y = v->smp.label[at + (size_t)b];
			v->targets[(size_t)b * C + y] = 1;
			right += v->preds[b] == y;
			group_n[v->group[y]]++;
			group_right[v->group[y]] += v->preds[b] == y;
		}
		sum += loss_forward_backward(&fs->loss, v->logits, v->targets, count, NULL) * count;
	}
	/* counts below 2^53 sum exactly as doubles */
	double totals[2 + 2 * EVAL_NUM_GROUPS] = {(double)right, sum};
	for (int g = 0; g < EVAL_NUM_GROUPS; g++) {
		totals[2 + g] = (double)group_n[g];
		totals[2 + EVAL_NUM_GROUPS + g] = (double)group_right[g];
	}
	dist_sum_f64(dist, totals, 2 + 2 * EVAL_NUM_GROUPS, "the validation counts");
	out->top1 = v->smp.n ? totals[0] / (double)v->smp.n : 0;
	out->loss = v->smp.n ? totals[1] / (double)v->smp.n : 0;
	for (int g = 0; g < EVAL_NUM_GROUPS; g++)
		out->group_top1[g] = totals[2 + g] > 0 ? totals[2 + EVAL_NUM_GROUPS + g] / totals[2 + g] : NAN;
}
