/* stream_header.c — see stream_header.h. */
#include "io/stream_header.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "io/stream.h"

int stream_header_counts(const msgpack_object *h, const char *name, const char *why, int64_t **counts, int *n,
			 char *err, size_t errsz)
{
	*counts = NULL;
	*n = 0;
	const msgpack_object *cnt = mp_map_get(h, "counts");
	if (!cnt || cnt->type != MSGPACK_OBJECT_ARRAY || cnt->via.array.size == 0) {
		err_set(err, errsz, "%s: header has no \"counts\" array (%s)", name, why);
		return STREAM_COUNTS_MISSING;
	}
	uint32_t size = cnt->via.array.size;
	int64_t *c = xmalloc_array(size, sizeof *c);
	*counts = c;
	for (uint32_t k = 0; k < size; k++) {
		const msgpack_object *v = &cnt->via.array.ptr[k];
		if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 > (uint64_t)INT64_MAX) {
			*n = (int)k;
			err_set(err, errsz, "%s: header \"counts\"[%u] is not a non-negative integer", name, k);
			return STREAM_COUNTS_BAD;
		}
		c[k] = (int64_t)v->via.u64;
	}
	*n = (int)size;
	return STREAM_COUNTS_OK;
}

char *stream_header_json(const msgpack_object *h)
{
	membuf m;
	FILE *f = membuf_open(&m);
	fputc('{', f);
	int first = 1;
	for (uint32_t k = 0; h->type == MSGPACK_OBJECT_MAP && k < h->via.map.size; k++) {
		const msgpack_object_kv *kv = &h->via.map.ptr[k];
		if (mp_str_eq(&kv->key, "command"))
			continue;
		if (!first)
			fputc(',', f);
		first = 0;
		mp_write_json(f, &kv->key);
		fputc(':', f);
		mp_write_json(f, &kv->val);
	}
	fputc('}', f);
	return membuf_close(&m);
}

int stream_header_info_read(const msgpack_object *h, const char *name, const char *why, stream_header_info *out,
			    char *err, size_t errsz)
{
	memset(out, 0, sizeof *out);
	int n;
	if (stream_header_counts(h, name, why, &out->counts, &n, err, errsz) != STREAM_COUNTS_OK)
		return -1;
	out->classes = n;
	out->class_names = xcalloc((size_t)n, sizeof *out->class_names);
	const msgpack_object *cl = mp_map_get(h, "classes");
	if (cl && cl->type == MSGPACK_OBJECT_ARRAY && cl->via.array.size == (uint32_t)n)
		for (int k = 0; k < n; k++) {
			const msgpack_object *v = &cl->via.array.ptr[k];
			if (v->type == MSGPACK_OBJECT_STR)
				out->class_names[k] = xasprintf("%.*s", (int)v->via.str.size, v->via.str.ptr);
		}
	out->split = mp_get_str(h, "split");
	const msgpack_object *src = mp_map_get(h, "source");
	if (src && src->type == MSGPACK_OBJECT_MAP)
		out->source_hash = mp_get_str(src, "hash");
	out->header_json = stream_header_json(h);
	return 0;
}

void stream_header_info_free(stream_header_info *info)
{
	for (int k = 0; info->class_names && k < info->classes; k++)
		free(info->class_names[k]);
	free(info->class_names);
	free(info->counts);
	free(info->split);
	free(info->source_hash);
	free(info->header_json);
	memset(info, 0, sizeof *info);
}
