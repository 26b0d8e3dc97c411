/* output.c — the samples stream (formats/samples.md): a header map, then one map per sample, sorted by
 * label and then by index, every map with its keys in a fixed order. */
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "io/stream.h"
#include "lt_subset.h"

typedef struct rec {
	uint64_t index;
	int label;
	size_t j; /* position in the part */
} rec;

static int cmp_rec(const void *x, const void *y)
{
	const rec *a = x, *b = y;
	if (a->label != b->label)
		return a->label < b->label ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

static void pack_identity(msgpack_packer *pk, const char *key, const dataset *d, int with_kind)
{
	const dataset_identity *id = dataset_source(d);
	mp_pack_cstr(pk, key);
	msgpack_pack_map(pk, with_kind ? 5 : 3);
	if (with_kind) {
		mp_pack_kv_str(pk, "dataset", dataset_kind_name(dataset_get_kind(d)));
		mp_pack_kv_str(pk, "split", dataset_split(d));
	}
	mp_pack_kv_str(pk, "path", id->path);
	mp_pack_kv_uint(pk, "size", id->size);
	mp_pack_kv_str(pk, "hash", id->hash);
}

static void pack_uint_array(msgpack_packer *pk, const char *key, const size_t *v, int n)
{
	mp_pack_cstr(pk, key);
	msgpack_pack_array(pk, (size_t)n);
	for (int k = 0; k < n; k++)
		msgpack_pack_uint64(pk, v[k]);
}

void write_samples_stream(const char *path, const lt_options *o, const selection *sel, const dataset *src,
			  const stream_part *part)
{
	const dataset *d = part->described;
	int C = dataset_num_classes(src);
	size_t n = part->n;
	rec *r = xmalloc_array(n ? n : 1, sizeof *r);
	for (size_t j = 0; j < n; j++) {
		r[j].index = part->index ? (uint64_t)part->index[j] : part->origin_idx[j];
		r[j].label = dataset_label(src, part->origin_idx[j]);
		r[j].j = j;
	}
	qsort(r, n, sizeof *r, cmp_rec);

	outfile of;
	outfile_open(&of, path, "wb");
	stream_writer *w = sw_open(of.f, of.path ? of.path : "stdout");
	msgpack_packer *pk = sw_packer(w);

	int with_imbalance = sel->profile_applied || strcmp(sel->group_basis, "train subset") == 0;
	int entries = 15 + with_imbalance + (o->max_per_class != 0) + (part->role != NULL) +
		      (o->root && !part->origin) + (part->origin != NULL);
	msgpack_pack_map(pk, (size_t)entries);
	mp_pack_kv_str(pk, "format", "lfm.samples/1");
	mp_pack_kv_str(pk, "dataset", dataset_kind_name(dataset_get_kind(d)));
	mp_pack_kv_str(pk, "split", dataset_split(d));
	mp_pack_cstr(pk, "classes");
	msgpack_pack_array(pk, (size_t)C);
	for (int k = 0; k < C; k++)
		mp_pack_cstr(pk, dataset_class_name(src, k));
	pack_uint_array(pk, "counts", part->counts, C);
	mp_pack_cstr(pk, "groups");
	msgpack_pack_array(pk, (size_t)C);
	for (int k = 0; k < C; k++)
		mp_pack_cstr(pk, lt_group(sel->group_counts[k], (size_t)o->many_above, (size_t)o->few_max));
	pack_uint_array(pk, "group_counts", sel->group_counts, C);
	mp_pack_kv_str(pk, "group_basis", sel->group_basis);
	mp_pack_cstr(pk, "thresholds");
	msgpack_pack_map(pk, 2);
	mp_pack_kv_uint(pk, "many_above", o->many_above);
	mp_pack_kv_uint(pk, "few_max", o->few_max);
	mp_pack_kv_str(pk, "profile",
		       !with_imbalance ? "none" : o->profile == LT_PROFILE_STEP ? "step" : "exp");
	if (with_imbalance)
		mp_pack_kv_f64(pk, "imbalance", o->imbalance);
	mp_pack_kv_uint(pk, "seed", o->seed);
	if (o->max_per_class)
		mp_pack_kv_uint(pk, "max_per_class", o->max_per_class);
	if (part->role) {
		mp_pack_cstr(pk, "holdout");
		msgpack_pack_map(pk, 2);
		if (o->holdout >= 1)
			mp_pack_kv_uint(pk, "per_class", (uint64_t)o->holdout);
		else
			mp_pack_kv_f64(pk, "fraction", o->holdout);
		mp_pack_kv_str(pk, "part", part->role);
	}
	mp_pack_kv_uint(pk, "samples", n);
	mp_pack_kv_uint(pk, "skipped", sel->skipped);
	pack_identity(pk, "source", d, 0);
	if (o->root && !part->origin)
		mp_pack_kv_str(pk, "root", o->root);
	if (part->origin)
		pack_identity(pk, "origin", part->origin, 1);
	mp_pack_kv_command(pk, "command", o->argc, o->argv);

	for (size_t t = 0; t < n; t++) {
		size_t j = r[t].j;
		const char *key = part->key ? part->key[j] : dataset_key(d, (size_t)r[t].index);
		msgpack_pack_map(pk, part->origin ? 4 : 3);
		mp_pack_kv_uint(pk, "index", r[t].index);
		mp_pack_kv_int(pk, "label", r[t].label);
		mp_pack_kv_str(pk, "key", key);
		if (part->origin)
			mp_pack_kv_uint(pk, "origin_index", part->origin_idx[j]);
	}
	sw_close(w);
	outfile_commit(&of);
	free(r);
}
