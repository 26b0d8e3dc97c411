/* metrics.c — see metrics.h. */
#include "io/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/types.h>

#include "base/errors.h"
#include "base/json.h"
#include "io/stream.h"

static void open_log(metrics_log *m, const char *path, int json, const char *mode)
{
	memset(m, 0, sizeof *m);
	msgpack_sbuffer_init(&m->sb);
	msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
	if (!path)
		return;
	if (json < 0) {
		size_t n = strlen(path);
		json = (n > 6 && strcmp(path + n - 6, ".jsonl") == 0) || (n > 5 && strcmp(path + n - 5, ".json") == 0);
	}
	m->json = json;
	m->name = xstrdup(strcmp(path, "-") == 0 ? "stdout" : path);
	m->f = xfopen(path, mode);
}

void metrics_open(metrics_log *m, const char *path, int json)
{
	open_log(m, path, json, "wb");
}

void metrics_open_append(metrics_log *m, const char *path, int json)
{
	open_log(m, path, json, "ab");
}

static int is_metrics_header(const msgpack_object *obj)
{
	const msgpack_object *f = mp_map_get(obj, "format");
	return f && mp_str_eq(f, "lfm.metrics/1");
}

/* The step of a record (obj), or -1 when it has none. */
static int64_t record_step(const msgpack_object *obj)
{
	int64_t step;
	return mp_get_int(obj, "step", &step) == 0 ? step : -1;
}

int metrics_log_keep(const char *path, int64_t last_step, metrics_keep *out, char *err, size_t errsz)
{
	memset(out, 0, sizeof *out);
	size_t len;
	char *buf = xread_file(path, &len);
	int rc = 0;
	msgpack_zone zone;
	msgpack_zone_init(&zone, 4096);
	out->json = len > 0 && buf[0] == '{';
	size_t off = 0, keep = 0;
	for (uint64_t k = 0; off < len; k++) {
		msgpack_object obj;
		size_t next;
		char *parse_err = NULL;
		if (out->json) {
			char *nl = memchr(buf + off, '\n', len - off);
			next = nl ? (size_t)(nl - buf) + 1 : len;
			char jerr[128];
			json_value *j = json_parse(buf + off, next - off - (nl != NULL), jerr, sizeof jerr);
			int64_t step = -1;
			const json_value *fmt = j ? json_get(j, "format") : NULL, *st = j ? json_get(j, "step") : NULL;
			if (!j)
				parse_err = "not a JSON object";
			else if (k == 0 && !(fmt && fmt->type == JSON_STRING && strcmp(fmt->string, "lfm.metrics/1") == 0))
				parse_err = "not an lfm.metrics/1 header";
			else if (st && st->type == JSON_NUMBER && st->is_integer)
				step = st->integer;
			json_free(j);
			if (!parse_err && k > 0 && step < 0)
				parse_err = "a record without a step";
			if (!parse_err && (k == 0 || step <= last_step))
				keep = next, out->kept += k > 0;
			else if (!parse_err)
				out->dropped++;
		} else {
			next = off;
			if (msgpack_unpack(buf, len, &next, &zone, &obj) != MSGPACK_UNPACK_SUCCESS)
				parse_err = "not a msgpack object";
			else if (k == 0 && !is_metrics_header(&obj))
				parse_err = "not an lfm.metrics/1 header";
			else if (k > 0 && record_step(&obj) < 0)
				parse_err = "a record without a step";
			if (!parse_err && (k == 0 || record_step(&obj) <= last_step))
				keep = next, out->kept += k > 0;
			else if (!parse_err)
				out->dropped++;
		}
		if (parse_err) {
			rc = err_set(err, errsz, "%s: object %llu is %s (a log of another kind, or cut short)", path,
				     (unsigned long long)k + 1, parse_err);
			break;
		}
		off = next;
	}
	if (rc == 0 && len == 0)
		rc = err_set(err, errsz, "%s: empty", path);
	if (rc == 0 && truncate(path, (off_t)keep) != 0)
		rc = err_set(err, errsz, "%s: cannot cut the records after step %lld: %s", path, (long long)last_step,
			     strerror(errno));
	msgpack_zone_destroy(&zone);
	free(buf);
	return rc;
}

msgpack_packer *metrics_begin(metrics_log *m)
{
	msgpack_sbuffer_clear(&m->sb);
	return &m->pk;
}

int metrics_try_end(metrics_log *m, char *err, size_t errsz)
{
	if (!m->f)
		return 0;
	if (!m->json) {
		xfwrite(m->sb.data, m->sb.size, m->f, m->name);
	} else {
		msgpack_zone zone;
		msgpack_zone_init(&zone, 1024);
		msgpack_object obj;
		size_t off = 0;
		if (msgpack_unpack(m->sb.data, m->sb.size, &off, &zone, &obj) != MSGPACK_UNPACK_SUCCESS)
			die(LFM_EXIT_IO, "internal error: a metrics record does not unpack");
		mp_write_json(m->f, &obj);
		fputc('\n', m->f);
		msgpack_zone_destroy(&zone);
	}
	if (fflush(m->f) != 0 || ferror(m->f))
		return err_set(err, errsz, "%s: write error: %s", m->name, strerror(errno));
	return 0;
}

void metrics_end(metrics_log *m)
{
	char err[1024];
	if (metrics_try_end(m, err, sizeof err))
		die(LFM_EXIT_IO, "%s", err);
}

void metrics_close(metrics_log *m)
{
	if (m->f)
		xfclose(m->f, m->name);
	free(m->name);
	msgpack_sbuffer_destroy(&m->sb);
	memset(m, 0, sizeof *m);
}

/* ---- reading ---- */

/* A field of a record in either form: msgpack object or JSON value. */
typedef struct field_view {
	const msgpack_object *mp;
	const json_value *js;
} field_view;

static field_view view_get(field_view v, const char *key)
{
	field_view f = {0};
	if (v.mp)
		f.mp = mp_map_get(v.mp, key);
	else
		f.js = json_get(v.js, key);
	return f;
}

static int view_present(field_view f)
{
	return f.mp || f.js;
}

static int view_is_map(field_view v)
{
	return v.mp ? v.mp->type == MSGPACK_OBJECT_MAP : v.js && v.js->type == JSON_OBJECT;
}

/* 0 with *out a non-negative integer, else -1. */
static int view_uint(field_view f, int64_t *out)
{
	if (f.mp && f.mp->type == MSGPACK_OBJECT_POSITIVE_INTEGER && f.mp->via.u64 <= (uint64_t)INT64_MAX) {
		*out = (int64_t)f.mp->via.u64;
		return 0;
	}
	if (f.js && f.js->type == JSON_NUMBER && f.js->is_integer && f.js->integer >= 0) {
		*out = f.js->integer;
		return 0;
	}
	return -1;
}

/* 0 with *out a number (JSON lines: also "NaN", "Infinity", "-Infinity", as mp_write_json writes them). */
static int view_number(field_view f, double *out)
{
	if (f.mp) {
		switch (f.mp->type) {
		case MSGPACK_OBJECT_FLOAT32:
		case MSGPACK_OBJECT_FLOAT64: *out = f.mp->via.f64; return 0;
		case MSGPACK_OBJECT_POSITIVE_INTEGER: *out = (double)f.mp->via.u64; return 0;
		case MSGPACK_OBJECT_NEGATIVE_INTEGER: *out = (double)f.mp->via.i64; return 0;
		default: return -1;
		}
	}
	if (!f.js)
		return -1;
	if (f.js->type == JSON_NUMBER) {
		*out = f.js->number;
		return 0;
	}
	if (f.js->type == JSON_STRING) {
		if (strcmp(f.js->string, "NaN") == 0)
			*out = NAN;
		else if (strcmp(f.js->string, "Infinity") == 0)
			*out = INFINITY;
		else if (strcmp(f.js->string, "-Infinity") == 0)
			*out = -INFINITY;
		else
			return -1;
		return 0;
	}
	return -1;
}

/* Whether f is the string s. */
static int view_str_eq(field_view f, const char *s)
{
	if (f.mp)
		return mp_str_eq(f.mp, s);
	return f.js && f.js->type == JSON_STRING && strcmp(f.js->string, s) == 0;
}

/* The record rec (number rn) checked into *out: 0, or -1 with a message. */
static int read_record(field_view rec, const char *name, uint64_t rn, metrics_entry *out, char *err,
		       size_t errsz)
{
	unsigned long long n = (unsigned long long)rn;
	memset(out, 0, sizeof *out);
	if (!view_is_map(rec))
		return err_set(err, errsz, "%s: record %llu is not a map", name, n);
	field_view kind = view_get(rec, "kind");
	if (view_str_eq(kind, "epoch"))
		out->is_epoch = 1;
	else if (!view_str_eq(kind, "step"))
		return err_set(err, errsz, "%s: record %llu: \"kind\" is not \"step\" or \"epoch\"", name, n);
	static const char *const ints[] = {"epoch", "step"};
	int64_t *int_out[] = {&out->epoch, &out->step};
	for (int k = 0; k < 2; k++)
		if (view_uint(view_get(rec, ints[k]), int_out[k]))
			return err_set(err, errsz, "%s: record %llu has no non-negative integer \"%s\"", name, n, ints[k]);
	static const char *const nums[] = {"loss", "lr", "images_per_s", "elapsed_s"};
	double *num_out[] = {&out->loss, &out->lr, &out->images_per_s, &out->elapsed_s};
	for (int k = 0; k < 4; k++)
		if (view_number(view_get(rec, nums[k]), num_out[k]))
			return err_set(err, errsz, "%s: record %llu has no number \"%s\"", name, n, nums[k]);
	field_view steps = view_get(rec, "steps");
	out->steps = -1;
	if (out->is_epoch ? view_uint(steps, &out->steps) != 0 : view_present(steps))
		return err_set(err, errsz, "%s: record %llu: %s", name, n,
			       out->is_epoch ? "an epoch record has no non-negative integer \"steps\""
					     : "a step record has \"steps\"");
	field_view top1 = view_get(rec, "val_top1"), vloss = view_get(rec, "val_loss");
	if (view_present(top1) || view_present(vloss)) {
		if (view_number(top1, &out->val_top1) || view_number(vloss, &out->val_loss))
			return err_set(err, errsz, "%s: record %llu: \"val_top1\" and \"val_loss\" are not both numbers",
				       name, n);
		out->has_val = 1;
	}
	return 0;
}

/* The header h checked into m->header: 0, or -1 with a message. */
static int read_header(metrics_reader *m, field_view h, char *err, size_t errsz)
{
	if (!view_str_eq(view_get(h, "format"), "lfm.metrics/1"))
		return err_set(err, errsz, "%s: not a metrics log (the header's \"format\" is not \"lfm.metrics/1\")",
			       m->name);
	static const char *const keys[] = {"stage", "epochs", "steps_per_epoch"};
	int64_t *outs[] = {&m->header.stage, &m->header.epochs, &m->header.steps_per_epoch};
	for (int k = 0; k < 3; k++) {
		field_view v = view_get(h, keys[k]);
		*outs[k] = -1;
		if (view_present(v) && view_uint(v, outs[k]))
			return err_set(err, errsz, "%s: header \"%s\" is not a non-negative integer", m->name, keys[k]);
	}
	m->header.epochs_only = view_str_eq(view_get(h, "every"), "epoch");
	return 0;
}

/* The next line of a JSON-lines log as a tree: 1, 0 at the end, -1 with a message. line_no: 1-based. */
static int next_json(metrics_reader *m, json_value **out, uint64_t line_no, char *err, size_t errsz)
{
	ssize_t len = getline(&m->line, &m->cap, m->f);
	if (len < 0)
		return ferror(m->f) ? err_set(err, errsz, "%s: read error", m->name) : 0;
	if (len > 0 && m->line[len - 1] == '\n')
		m->line[--len] = 0;
	if (len > 0 && m->line[len - 1] == '\r')
		m->line[--len] = 0;
	char jerr[256];
	*out = json_parse(m->line, (size_t)len, jerr, sizeof jerr);
	if (!*out)
		return err_set(err, errsz, "%s: line %llu: invalid JSON %s", m->name, (unsigned long long)line_no, jerr);
	return 1;
}

int metrics_reader_open(metrics_reader *m, FILE *f, const char *name, char *err, size_t errsz)
{
	memset(m, 0, sizeof *m);
	m->name = name;
	m->f = f;
	int c = getc(f);
	if (c == EOF)
		return err_set(err, errsz, "%s: empty input (no header)", name);
	ungetc(c, f);
	m->json = c == '{';
	if (!m->json) {
		m->r = sr_open(f, name, "lfm.metrics", 1, err, errsz);
		if (!m->r)
			return -1;
		return read_header(m, (field_view){.mp = sr_header(m->r)}, err, errsz);
	}
	json_value *h;
	int got = next_json(m, &h, 1, err, errsz);
	if (got <= 0)
		return got < 0 ? -1 : err_set(err, errsz, "%s: empty input (no header)", name);
	int rc = read_header(m, (field_view){.js = h}, err, errsz);
	json_free(h);
	return rc;
}

int metrics_reader_next(metrics_reader *m, metrics_entry *out, char *err, size_t errsz)
{
	uint64_t rn = m->records + 1;
	int rc;
	if (!m->json) {
		msgpack_object rec;
		int got = sr_next(m->r, &rec);
		if (got <= 0)
			return got < 0 ? err_set(err, errsz, "%s", sr_error(m->r)) : 0;
		rc = read_record((field_view){.mp = &rec}, m->name, rn, out, err, errsz);
	} else {
		json_value *rec;
		int got = next_json(m, &rec, rn + 1, err, errsz);
		if (got <= 0)
			return got;
		rc = read_record((field_view){.js = rec}, m->name, rn, out, err, errsz);
		json_free(rec);
	}
	if (rc)
		return -1;
	m->records = rn;
	return 1;
}

void metrics_reader_close(metrics_reader *m)
{
	if (m->r)
		sr_close(m->r);
	free(m->line);
	memset(m, 0, sizeof *m);
}
