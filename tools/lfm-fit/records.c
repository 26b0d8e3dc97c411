/* records.c — see records.h. */
#include "records.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/rng.h"

/* The header as JSON, "command" left out (the same plan made by another spelling of the command is the
 * same plan). */
static char *header_json(const msgpack_object *h)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		die(LFM_EXIT_IO, "cannot allocate memory:");
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
	if (fclose(f) != 0)
		die(LFM_EXIT_IO, "cannot allocate memory:");
	return buf;
}

/* counts, classes, split and source of a plan or samples header: 0, or -1 with a message. */
static int read_header(record_source *s, const msgpack_object *h, char *err, size_t errsz)
{
	const msgpack_object *cnt = mp_map_get(h, "counts");
	if (!cnt || cnt->type != MSGPACK_OBJECT_ARRAY || cnt->via.array.size == 0)
		return err_set(err, errsz, "%s: header has no \"counts\" array (the class counts the losses need)",
			    s->name);
	for (uint32_t k = 0; k < cnt->via.array.size; k++)
		if (cnt->via.array.ptr[k].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return err_set(err, errsz, "%s: header \"counts\"[%u] is not a non-negative integer", s->name, k);
	s->classes = (int)cnt->via.array.size;
	s->counts = xmalloc_array((size_t)s->classes, sizeof *s->counts);
	for (int k = 0; k < s->classes; k++)
		s->counts[k] = (float)cnt->via.array.ptr[k].via.u64;
	s->class_names = xcalloc((size_t)s->classes, sizeof *s->class_names);
	const msgpack_object *cl = mp_map_get(h, "classes");
	if (cl && cl->type == MSGPACK_OBJECT_ARRAY && cl->via.array.size == (uint32_t)s->classes)
		for (int k = 0; k < s->classes; k++) {
			const msgpack_object *v = &cl->via.array.ptr[k];
			if (v->type == MSGPACK_OBJECT_STR)
				s->class_names[k] = xasprintf("%.*s", (int)v->via.str.size, v->via.str.ptr);
		}
	s->split = mp_get_str(h, "split");
	const msgpack_object *src = mp_map_get(h, "source");
	if (src && src->type == MSGPACK_OBJECT_MAP)
		s->source_hash = mp_get_str(src, "hash");
	s->header_json = header_json(h);
	return 0;
}

int record_source_read_plan_header(record_source *s, char *err, size_t errsz)
{
	const msgpack_object *h = sr_header(s->r);
	if (read_header(s, h, err, errsz))
		return -1;
	int64_t epochs, samples;
	if (mp_get_int(h, "epochs", &epochs) || epochs < 1 || epochs > 1000000)
		return err_set(err, errsz, "%s: header has no positive integer \"epochs\" (lfm-pairs writes it; the cosine "
					"schedule needs the run's length)", s->name);
	if (mp_get_int(h, "samples", &samples) || samples < 1)
		return err_set(err, errsz, "%s: header has no positive integer \"samples\" (records per epoch)", s->name);
	s->epochs = (int)epochs;
	s->per_epoch = (uint64_t)samples;
	return 0;
}

void record_source_open_plan(record_source *s, const char *path)
{
	memset(s, 0, sizeof *s);
	s->from_plan = 1;
	s->name = strcmp(path, "-") == 0 ? "stdin" : path;
	s->in = xfopen(path, "rb");
	s->r = sr_open_or_die(s->in, s->name, "lfm.plan", 1);
	char err[1024];
	if (record_source_read_plan_header(s, err, sizeof err))
		die(LFM_EXIT_DATA, "%s", err);
}

void record_source_open_samples(record_source *s, const char *path, uint64_t seed)
{
	memset(s, 0, sizeof *s);
	s->name = strcmp(path, "-") == 0 ? "stdin" : path;
	samples_read(path, 0, &s->smp);
	if (s->smp.n == 0)
		die(LFM_EXIT_DATA, "%s: no samples", s->name);
	if (s->smp.n > UINT32_MAX)
		die(LFM_EXIT_DATA, "%s: %zu samples; at most 2^32 can be shuffled", s->name, s->smp.n);
	char err[1024];
	if (read_header(s, &s->smp.header, err, sizeof err))
		die(LFM_EXIT_DATA, "%s", err);
	s->per_epoch = s->smp.n;
	s->seed = seed;
	s->perm = xmalloc_array(s->smp.n, sizeof *s->perm);
	s->perm_epoch = -1;
}

void record_source_bind(record_source *s, const dataset *ds, const char *data_path)
{
	s->ds = ds;
	if (dataset_num_classes(ds) != s->classes)
		die(LFM_EXIT_DATA, "%s has %d classes but %s has %d: the wrong dataset (or class list) for this %s",
		    data_path, dataset_num_classes(ds), s->name, s->classes, s->from_plan ? "plan" : "samples stream");
	const dataset_identity *id = dataset_source(ds);
	if (s->source_hash && id && id->hash && strcmp(s->source_hash, id->hash) != 0)
		warn("%s was made from a source with %s; %s has %s (labels are checked record by record)", s->name,
		     s->source_hash, data_path, id->hash);
}

/* rn: the 1-based record number, for messages. */
static int check_sample(const record_source *s, uint64_t rn, const char *field, uint64_t idx, int label, char *err,
			size_t errsz)
{
	size_t n = dataset_count(s->ds);
	if (idx >= n)
		return err_set(err, errsz, "%s: record %llu: sample %s = %llu is beyond the dataset's %zu samples: the wrong "
					"dataset or split",
			    s->name, (unsigned long long)rn, field, (unsigned long long)idx, n);
	int have = dataset_label(s->ds, (size_t)idx);
	if (have != label)
		return err_set(err, errsz, "%s: record %llu: sample %llu (%s) has label %d in the dataset but %d in the %s: "
					"the wrong dataset or split",
			    s->name, (unsigned long long)rn, (unsigned long long)idx, dataset_key(s->ds, (size_t)idx),
			    have, label, s->from_plan ? "plan" : "samples stream");
	return 0;
}

static int next_from_plan(record_source *s, fit_record *out, char *err, size_t errsz)
{
	uint64_t rn = s->next + 1;
	msgpack_object rec;
	int got = sr_next(s->r, &rec);
	if (got < 0)
		return err_set(err, errsz, "%s", sr_error(s->r));
	if (got == 0)
		return err_set(err, errsz, "%s: ends after %llu records; its header promises %d epochs of %llu", s->name,
			    (unsigned long long)s->next, s->epochs, (unsigned long long)s->per_epoch);
	int64_t e, i, yi, j, yj;
	double lx, ly;
	if (mp_get_int(&rec, "epoch", &e) || mp_get_int(&rec, "i", &i) || mp_get_int(&rec, "yi", &yi) ||
	    mp_get_int(&rec, "j", &j) || mp_get_int(&rec, "yj", &yj) || mp_get_f64(&rec, "lx", &lx) ||
	    mp_get_f64(&rec, "ly", &ly))
		return err_set(err, errsz, "%s: record %llu lacks one of epoch, i, yi, j, yj (integers), lx, ly (numbers)",
			    s->name, (unsigned long long)rn);
	if (e < 0 || (uint64_t)e != s->next / s->per_epoch)
		return err_set(err, errsz, "%s: record %llu has epoch %lld where %llu was expected (the header promises "
					"%llu records per epoch)",
			    s->name, (unsigned long long)rn, (long long)e, (unsigned long long)(s->next / s->per_epoch),
			    (unsigned long long)s->per_epoch);
	if (!(lx >= 0 && lx <= 1) || !(ly >= 0 && ly <= 1))
		return err_set(err, errsz, "%s: record %llu: lx %g / ly %g outside [0, 1]", s->name, (unsigned long long)rn,
			    lx, ly);
	if (yi < 0 || yi >= s->classes || yj < 0 || yj >= s->classes || i < 0 || j < 0)
		return err_set(err, errsz, "%s: record %llu: a label outside 0 .. %d or a negative index", s->name,
			    (unsigned long long)rn, s->classes - 1);
	if (check_sample(s, rn, "i", (uint64_t)i, (int)yi, err, errsz) ||
	    check_sample(s, rn, "j", (uint64_t)j, (int)yj, err, errsz))
		return -1;
	*out = (fit_record){(uint64_t)i, (uint64_t)j, (int)yi, (int)yj, (float)lx, (float)ly};
	return 0;
}

static int next_from_samples(record_source *s, fit_record *out, char *err, size_t errsz)
{
	uint64_t e = s->next / s->per_epoch, t = s->next % s->per_epoch;
	if ((int64_t)e != s->perm_epoch) {
		rng r;
		rng_init(&r, s->seed, rng_stream_id("fit.perm", e, 0));
		rng_permutation(&r, s->perm, s->smp.n);
		s->perm_epoch = (int64_t)e;
	}
	size_t k = s->perm[t];
	uint64_t idx = s->smp.index[k];
	int y = s->smp.label[k];
	if (check_sample(s, s->next + 1, "index", idx, y, err, errsz))
		return -1;
	*out = (fit_record){idx, idx, y, y, 1.0f, 1.0f};
	return 0;
}

int record_source_try_next(record_source *s, fit_record *out, char *err, size_t errsz)
{
	int rc = s->from_plan ? next_from_plan(s, out, err, errsz) : next_from_samples(s, out, err, errsz);
	if (rc == 0)
		s->next++;
	return rc;
}

void record_source_next(record_source *s, fit_record *out)
{
	char err[1024];
	if (record_source_try_next(s, out, err, sizeof err))
		die(LFM_EXIT_DATA, "%s", err);
}

void record_source_skip(record_source *s, uint64_t n)
{
	fit_record r;
	if (!s->from_plan) { /* a pure function of the position */
		s->next += n;
		return;
	}
	for (uint64_t k = 0; k < n; k++)
		record_source_next(s, &r);
}

void record_source_close(record_source *s)
{
	if (s->r)
		sr_close(s->r);
	if (s->in && s->in != stdin)
		fclose(s->in);
	if (!s->from_plan && s->perm)
		samples_free(&s->smp);
	for (int k = 0; s->class_names && k < s->classes; k++)
		free(s->class_names[k]);
	free(s->class_names);
	free(s->counts);
	free(s->perm);
	free(s->split);
	free(s->source_hash);
	free(s->header_json);
	memset(s, 0, sizeof *s);
}
