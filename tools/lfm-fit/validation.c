/* validation.c — see validation.h. */
#include "validation.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "io/stream.h"
#include "train/evaluate.h"
#include "train/losses.h"

void validation_open(validation *v, const fit_options *o, dataset *train_ds, const char *train_split,
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
}

void validation_run(validation *v, fit_state *fs, int B, const char *name, dist_comm *dist, double *top1,
		    double *loss)
{
	int C = fs->classes, rank = dist ? dist->rank : 0, world = dist ? dist->world : 1;
	size_t right = 0;
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
		}
		sum += loss_forward_backward(&fs->loss, v->logits, v->targets, count, NULL) * count;
	}
	double totals[2] = {(double)right, sum};
	dist_sum_f64(dist, totals, 2, "the validation counts");
	*top1 = v->smp.n ? totals[0] / (double)v->smp.n : 0;
	*loss = v->smp.n ? totals[1] / (double)v->smp.n : 0;
}
