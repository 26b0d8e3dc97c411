/* predictions.c — see predictions.h. */
#include "io/predictions.h"

#include "base/errors.h"

void predictions_write_header(msgpack_packer *pk, const predictions_meta *m)
{
	int entries = 10 + (m->counts != NULL) + (m->source != NULL);
	msgpack_pack_map(pk, (size_t)entries);
	mp_pack_kv_str(pk, "format", "lfm.predictions/1");
	mp_pack_kv_str(pk, "model", m->model);
	mp_pack_kv_bool(pk, "zero_shot", m->zero_shot);
	mp_pack_kv_str(pk, "text", m->text);
	mp_pack_kv_str(pk, "data", m->data);
	mp_pack_kv_str(pk, "split", m->split);
	mp_pack_kv_str(pk, "samples_stream", m->samples_stream);
	mp_pack_cstr(pk, "classes");
	msgpack_pack_array(pk, (size_t)m->classes);
	for (int k = 0; k < m->classes; k++)
		mp_pack_cstr(pk, m->class_names[k]);
	if (m->counts) {
		mp_pack_cstr(pk, "counts");
		msgpack_pack_array(pk, (size_t)m->classes);
		for (int k = 0; k < m->classes; k++)
			msgpack_pack_int64(pk, m->counts[k]);
	}
	mp_pack_kv_uint(pk, "samples", m->samples);
	if (m->source) {
		mp_pack_cstr(pk, "source");
		msgpack_pack_object(pk, *m->source);
	}
	mp_pack_kv_command(pk, "command", m->argc, m->argv);
}

void predictions_write_record(msgpack_packer *pk, const prediction *p)
{
	msgpack_pack_map(pk, 4);
	mp_pack_cstr(pk, "index");
	msgpack_pack_uint64(pk, p->index);
	mp_pack_cstr(pk, "label");
	msgpack_pack_int32(pk, p->label);
	mp_pack_cstr(pk, "pred");
	msgpack_pack_int32(pk, p->pred);
	mp_pack_cstr(pk, "score");
	msgpack_pack_float(pk, p->score);
}

int predictions_read_header(const msgpack_object *h, const char *name, int *classes, uint64_t *samples,
			    char *err, size_t errsz)
{
	const msgpack_object *cl = mp_map_get(h, "classes");
	if (!cl || cl->type != MSGPACK_OBJECT_ARRAY || cl->via.array.size == 0 || cl->via.array.size > INT32_MAX)
		return err_set(err, errsz, "%s: header has no \"classes\" array of class names", name);
	for (uint32_t k = 0; k < cl->via.array.size; k++)
		if (cl->via.array.ptr[k].type != MSGPACK_OBJECT_STR)
			return err_set(err, errsz, "%s: header \"classes\"[%u] is not a string", name, k);
	int64_t n;
	if (mp_get_int(h, "samples", &n) || n < 0)
		return err_set(err, errsz, "%s: header has no non-negative integer \"samples\"", name);
	*classes = (int)cl->via.array.size;
	*samples = (uint64_t)n;
	return 0;
}

int predictions_record_decode(const msgpack_object *rec, int classes, const char *name, uint64_t rn,
			      prediction *out, char *err, size_t errsz)
{
	unsigned long long n = (unsigned long long)rn;
	if (rec->type != MSGPACK_OBJECT_MAP)
		return err_set(err, errsz, "%s: record %llu is not a map", name, n);
	int64_t index, label, pred;
	double score;
	if (mp_get_int(rec, "index", &index) || index < 0)
		return err_set(err, errsz, "%s: record %llu has no non-negative integer \"index\"", name, n);
	if (mp_get_int(rec, "label", &label) || mp_get_int(rec, "pred", &pred))
		return err_set(err, errsz, "%s: record %llu lacks the integer \"label\" or \"pred\"", name, n);
	if (label < 0 || label >= classes || pred < 0 || pred >= classes)
		return err_set(err, errsz, "%s: record %llu: class %lld is outside 0 .. %d", name, n,
			       (long long)(label < 0 || label >= classes ? label : pred), classes - 1);
	if (mp_get_f64(rec, "score", &score))
		return err_set(err, errsz, "%s: record %llu has no number \"score\"", name, n);
	*out = (prediction){(uint64_t)index, (int)label, (int)pred, (float)score};
	return 0;
}

int predictions_next(stream_reader *r, int classes, const char *name, prediction *out, char *err, size_t errsz)
{
	msgpack_object rec;
	int got = sr_next(r, &rec);
	if (got <= 0)
		return got < 0 ? err_set(err, errsz, "%s", sr_error(r)) : 0;
	if (predictions_record_decode(&rec, classes, name, sr_records_read(r), out, err, errsz))
		return -1;
	return 1;
}
