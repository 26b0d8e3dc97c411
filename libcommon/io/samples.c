/* samples.c — see samples.h. */
#include "io/samples.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "io/stream.h"
#include "io/stream_header.h"

/* Deep copy of a msgpack object into zone (msgpack-c's C API has none): strings, arrays and maps are
 * copied so the header outlives the reader. */
static int copy_object(const msgpack_object *src, msgpack_object *dst, msgpack_zone *zone)
{
	*dst = *src;
	switch (src->type) {
	case MSGPACK_OBJECT_STR:
	case MSGPACK_OBJECT_BIN: {
		uint32_t n = src->via.str.size;
		char *p = msgpack_zone_malloc(zone, n ? n : 1);
		if (!p)
			return 0;
		memcpy(p, src->via.str.ptr, n);
		dst->via.str.ptr = p;
		return 1;
	}
	case MSGPACK_OBJECT_EXT: {
		uint32_t n = src->via.ext.size;
		char *p = msgpack_zone_malloc(zone, n ? n : 1);
		if (!p)
			return 0;
		memcpy(p, src->via.ext.ptr, n);
		dst->via.ext.ptr = p;
		return 1;
	}
	case MSGPACK_OBJECT_ARRAY: {
		uint32_t n = src->via.array.size;
		msgpack_object *a = msgpack_zone_malloc(zone, (n ? n : 1) * sizeof *a);
		if (!a)
			return 0;
		for (uint32_t k = 0; k < n; k++)
			if (!copy_object(&src->via.array.ptr[k], &a[k], zone))
				return 0;
		dst->via.array.ptr = a;
		return 1;
	}
	case MSGPACK_OBJECT_MAP: {
		uint32_t n = src->via.map.size;
		msgpack_object_kv *kv = msgpack_zone_malloc(zone, (n ? n : 1) * sizeof *kv);
		if (!kv)
			return 0;
		for (uint32_t k = 0; k < n; k++)
			if (!copy_object(&src->via.map.ptr[k].key, &kv[k].key, zone) ||
			    !copy_object(&src->via.map.ptr[k].val, &kv[k].val, zone))
				return 0;
		dst->via.map.ptr = kv;
		return 1;
	}
	default:
		return 1;
	}
}

static char *str_dup(const msgpack_object *o)
{
	char *s = xmalloc(o->via.str.size + 1);
	memcpy(s, o->via.str.ptr, o->via.str.size);
	s[o->via.str.size] = 0;
	return s;
}

int samples_begin(samples_set *out, const msgpack_object *h, const char *name, int keep_keys, char *err,
		  size_t errsz)
{
	memset(out, 0, sizeof *out);
	msgpack_zone_init(&out->zone, 4096); /* first, so samples_free can always destroy it */
	const msgpack_object *cls = mp_map_get(h, "classes");
	if (!cls || cls->type != MSGPACK_OBJECT_ARRAY || cls->via.array.size == 0)
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: header has no \"classes\" array of class names", name);
	int C = (int)cls->via.array.size;
	out->classes = xcalloc((size_t)C, sizeof *out->classes);
	out->num_classes = C;
	for (int k = 0; k < C; k++) {
		const msgpack_object *o = &cls->via.array.ptr[k];
		if (o->type != MSGPACK_OBJECT_STR)
			return err_code(err, errsz, LFM_EXIT_DATA, "%s: header \"classes\"[%d] is not a string", name, k);
		out->classes[k] = str_dup(o);
	}
	const msgpack_object *grp = mp_map_get(h, "groups");
	if (grp && grp->type == MSGPACK_OBJECT_ARRAY && (int)grp->via.array.size == C) {
		out->groups = xcalloc((size_t)C, sizeof *out->groups);
		for (int k = 0; k < C; k++) {
			const msgpack_object *o = &grp->via.array.ptr[k];
			if (o->type != MSGPACK_OBJECT_STR)
				return err_code(err, errsz, LFM_EXIT_DATA, "%s: header \"groups\"[%d] is not a string", name,
					    k);
			out->groups[k] = str_dup(o);
		}
	}
	if (!copy_object(h, &out->header, &out->zone))
		return err_code(err, errsz, LFM_EXIT_IO, "%s: out of memory copying the header", name);
	out->cap = 1024;
	out->index = xmalloc_array(out->cap, sizeof *out->index);
	out->label = xmalloc_array(out->cap, sizeof *out->label);
	if (keep_keys)
		out->key = xcalloc(out->cap, sizeof *out->key);
	out->counts = xcalloc((size_t)C, sizeof *out->counts);
	return 0;
}

int samples_add(samples_set *out, const msgpack_object *rec, uint64_t rn, const char *name, char *err,
		size_t errsz)
{
	int C = out->num_classes;
	int64_t idx, lab;
	if (rec->type != MSGPACK_OBJECT_MAP)
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: record %llu is not a map", name, (unsigned long long)rn);
	if (mp_get_int(rec, "index", &idx) != 0 || idx < 0)
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: record %llu has no non-negative integer \"index\"", name,
			    (unsigned long long)rn);
	if (mp_get_int(rec, "label", &lab) != 0)
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: record %llu has no integer \"label\"", name,
			    (unsigned long long)rn);
	if (lab < 0 || lab >= C)
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: record %llu: label %lld is outside 0 .. %d (%d classes)",
			    name, (unsigned long long)rn, (long long)lab, C - 1, C);
	if (out->n == out->cap) {
		out->cap *= 2;
		out->index = xrealloc(out->index, out->cap * sizeof *out->index);
		out->label = xrealloc(out->label, out->cap * sizeof *out->label);
		if (out->key)
			out->key = xrealloc(out->key, out->cap * sizeof *out->key);
	}
	out->index[out->n] = (uint64_t)idx;
	out->label[out->n] = (int32_t)lab;
	if (out->key)
		out->key[out->n] = mp_get_str(rec, "key");
	out->n++;
	out->counts[lab]++;
	return 0;
}

int samples_end(samples_set *out, const char *name, char *err, size_t errsz)
{
	int C = out->num_classes;
	const msgpack_object *cnt = mp_map_get(&out->header, "counts");
	if (!cnt)
		return 0;
	int64_t *have;
	int n;
	int rc = stream_header_counts(&out->header, name, "", &have, &n, NULL, 0);
	if (rc == STREAM_COUNTS_MISSING || (int)cnt->via.array.size != C) {
		free(have);
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: header \"counts\" is not an array of %d integers", name, C);
	}
	for (int k = 0; k < C; k++)
		if (k == n || have[k] != out->counts[k]) {
			int is_int = cnt->via.array.ptr[k].type == MSGPACK_OBJECT_POSITIVE_INTEGER;
			free(have);
			return err_code(err, errsz, LFM_EXIT_DATA,
					"%s: header says class %d (%s) has %s samples, the records have %lld", name, k,
					out->classes[k], is_int ? "a different number of" : "a non-integer count of",
					(long long)out->counts[k]);
		}
	free(have);
	return 0;
}

void samples_read(const char *path, int keep_keys, samples_set *out)
{
	const char *name = strcmp(path, "-") == 0 ? "stdin" : path;
	FILE *f = xfopen(path, "rb");
	stream_reader *r = sr_open_or_die(f, name, "lfm.samples", 1);
	char err[1024];
	int rc = samples_begin(out, sr_header(r), name, keep_keys, err, sizeof err);
	msgpack_object rec;
	while (!rc && sr_next_or_die(r, &rec))
		rc = samples_add(out, &rec, sr_records_read(r), name, err, sizeof err);
	if (!rc)
		rc = samples_end(out, name, err, sizeof err);
	if (rc)
		die(rc, "%s", err);
	sr_close(r);
	if (f != stdin)
		fclose(f);
}

void samples_free(samples_set *s)
{
	for (int k = 0; k < s->num_classes; k++) {
		free(s->classes[k]);
		if (s->groups)
			free(s->groups[k]);
	}
	if (s->key)
		for (size_t i = 0; i < s->n; i++)
			free(s->key[i]);
	free(s->classes);
	free(s->groups);
	free(s->counts);
	free(s->index);
	free(s->label);
	free(s->key);
	msgpack_zone_destroy(&s->zone);
	memset(s, 0, sizeof *s);
}

double samples_imbalance(const samples_set *s)
{
	int64_t mx = 0, mn = INT64_MAX;
	for (int k = 0; k < s->num_classes; k++) {
		if (s->counts[k] > mx)
			mx = s->counts[k];
		if (s->counts[k] > 0 && s->counts[k] < mn)
			mn = s->counts[k];
	}
	return mn == INT64_MAX ? 0 : (double)mx / (double)mn;
}
