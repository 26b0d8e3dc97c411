/* test_codecs.c — the stream codecs of libcommon/io: the raw msgpack helpers (msgpack_raw.h) and the
 * pairs and plan record encoders, byte for byte against msgpack-c's packer; the pairs raw decoder against
 * the decoded-object path; the shared header parser (stream_header.h); the plan header and record
 * decoders; the metrics log and the predictions stream written and read back; and each reader's
 * rejection of bad input with its message. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "io/metrics.h"
#include "io/msgpack_raw.h"
#include "io/pairs.h"
#include "io/plan.h"
#include "io/predictions.h"
#include "io/stream.h"
#include "io/stream_header.h"
#include "../test.h"

/* ---- helpers ---- */

/* msgpack-c's packer into an sbuffer. */
typedef struct packed {
	msgpack_sbuffer sb;
	msgpack_packer pk;
} packed;

static void pk_init(packed *p)
{
	msgpack_sbuffer_init(&p->sb);
	msgpack_packer_init(&p->pk, &p->sb, msgpack_sbuffer_write);
}

static int same_bytes(const packed *p, const unsigned char *d, size_t n)
{
	return p->sb.size == n && memcmp(p->sb.data, d, n) == 0;
}

static void pk_key(packed *p, const char *k)
{
	msgpack_pack_str(&p->pk, strlen(k));
	msgpack_pack_str_body(&p->pk, k, strlen(k));
}

/* A whole stream (header from pack_header, then records) in memory. */
typedef struct memstream {
	char *data;
	size_t len;
} memstream;

/* Unpack one object from d[0..n) into zone. */
static int unpack(const void *d, size_t n, msgpack_zone *zone, msgpack_object *obj)
{
	size_t off = 0;
	return msgpack_unpack(d, n, &off, zone, obj) == MSGPACK_UNPACK_SUCCESS && off == n;
}

static const int64_t int_edges[] = {0, 1, 31, 127, 128, 200, 255, 256, 65535, 65536, 4294967295LL, 4294967296LL,
				    INT64_MAX, -1, -31, -32, -33, -127, -128, -129, -32768, -32769, INT32_MIN,
				    (int64_t)INT32_MIN - 1, INT64_MIN};

/* ---- msgpack_raw.h ---- */

static void test_raw_helpers_encode_like_msgpack_c(void)
{
	unsigned char buf[64];
	for (size_t k = 0; k < sizeof int_edges / sizeof *int_edges; k++) {
		int64_t v = int_edges[k];
		packed p;
		pk_init(&p);
		msgpack_pack_int64(&p.pk, v);
		size_t n = (size_t)(mp_put_int(buf, v) - buf);
		T_ASSERTF(same_bytes(&p, buf, n), "int %lld", (long long)v);
		msgpack_sbuffer_destroy(&p.sb);
		if (v < 0)
			continue;
		pk_init(&p);
		msgpack_pack_uint64(&p.pk, (uint64_t)v);
		n = (size_t)(mp_put_uint(buf, (uint64_t)v) - buf);
		T_ASSERTF(same_bytes(&p, buf, n), "uint %lld", (long long)v);
		msgpack_sbuffer_destroy(&p.sb);
	}
	packed p;
	pk_init(&p);
	msgpack_pack_uint64(&p.pk, UINT64_MAX);
	T_ASSERT(same_bytes(&p, buf, (size_t)(mp_put_uint(buf, UINT64_MAX) - buf)));
	msgpack_sbuffer_destroy(&p.sb);
	const float fs[] = {0.0f, -0.0f, 1.0f, 0.5f, 0.123456789f, 1e-40f, INFINITY, -INFINITY, NAN};
	for (size_t k = 0; k < sizeof fs / sizeof *fs; k++) {
		pk_init(&p);
		msgpack_pack_float(&p.pk, fs[k]);
		T_ASSERTF(same_bytes(&p, buf, (size_t)(mp_put_f32(buf, fs[k]) - buf)), "float %g", fs[k]);
		msgpack_sbuffer_destroy(&p.sb);
	}
	const char *keys[] = {"", "i", "epoch", "a key of thirty-one bytes long."};
	for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
		pk_init(&p);
		pk_key(&p, keys[k]);
		T_ASSERTF(same_bytes(&p, buf, (size_t)(mp_put_key(buf, keys[k], strlen(keys[k])) - buf)), "key '%s'",
			  keys[k]);
		msgpack_sbuffer_destroy(&p.sb);
	}
}

/* ---- pairs.h ---- */

/* The pairs record v as msgpack-c packs it (map of five, uint64 values). */
static void pack_pair(packed *p, const int64_t v[PAIR_NFIELDS])
{
	pk_init(p);
	msgpack_pack_map(&p->pk, PAIR_NFIELDS);
	for (int f = 0; f < PAIR_NFIELDS; f++) {
		pk_key(p, pairs_key(f));
		msgpack_pack_uint64(&p->pk, (uint64_t)v[f]);
	}
}

static void test_pairs_encoder_is_msgpack_c(void)
{
	const int64_t vals[] = {0, 5, 127, 128, 255, 256, 65535, 65536, 4294967295LL, 4294967296LL, INT64_MAX};
	size_t nv = sizeof vals / sizeof *vals;
	for (size_t a = 0; a < nv; a++)
		for (size_t b = 0; b < nv; b++) {
			int64_t v[PAIR_NFIELDS] = {vals[a] & 0xffffffff, vals[b], vals[a] & 0x7fffffff, vals[a],
						   vals[b] & 0x7fffffff};
			unsigned char buf[PAIR_RECORD_MAX];
			size_t n = pairs_encode_record(buf, (uint64_t)v[0], (uint64_t)v[1], (uint64_t)v[2], (uint64_t)v[3],
						       (uint64_t)v[4]);
			packed p;
			pack_pair(&p, v);
			T_ASSERTF(n <= PAIR_RECORD_MAX && same_bytes(&p, buf, n), "%zu %zu", a, b);
			msgpack_sbuffer_destroy(&p.sb);
			/* the raw decoder reads it back as canonical, the decoded path agrees */
			int64_t got[PAIR_NFIELDS], dec[PAIR_NFIELDS];
			T_ASSERT(pairs_fields_raw(buf, n, got) == PAIRS_RAW_CANONICAL);
			T_ASSERT(memcmp(got, v, sizeof v) == 0);
			msgpack_zone zone;
			msgpack_zone_init(&zone, 256);
			msgpack_object obj;
			T_ASSERT(unpack(buf, n, &zone, &obj));
			char err[256];
			T_ASSERT(pairs_fields(&obj, dec, "x", 1, err, sizeof err) == 0 && memcmp(dec, v, sizeof v) == 0);
			msgpack_zone_destroy(&zone);
		}
}

/* Raw bytes of a record: the raw decoder's verdict and the decoded path's values or message. */
typedef struct pairs_case {
	const char *what;
	const char *bytes;
	size_t len;
	int raw;              /* expected pairs_fields_raw */
	int64_t v[PAIR_NFIELDS];
	const char *message;  /* pairs_fields's, or NULL: accepted with v */
} pairs_case;

#define B(s) s, sizeof s - 1
static void test_pairs_raw_and_decoded_paths_agree(void)
{
	const pairs_case cases[] = {
	    {"canonical", B("\x85\xa5""epoch\x01\xa1i\x02\xa2yi\x03\xa1j\x04\xa2yj\x05"), PAIRS_RAW_CANONICAL,
	     {1, 2, 3, 4, 5}, NULL},
	    {"wide forms", B("\x85\xa5""epoch\xcc\x01\xa1i\xcd\x00\x02\xa2yi\x03\xa1j\xcf\0\0\0\0\0\0\0\x04\xa2yj\x05"),
	     PAIRS_RAW_FIELDS, {1, 2, 3, 4, 5}, NULL},
	    {"keys reordered", B("\x85\xa1i\x02\xa5""epoch\x01\xa2yi\x03\xa1j\x04\xa2yj\x05"), PAIRS_RAW_NONE,
	     {1, 2, 3, 4, 5}, NULL},
	    {"an extra field", B("\x86\xa5""epoch\x01\xa1i\x02\xa2yi\x03\xa1j\x04\xa2yj\x05\xa1x\x06"), PAIRS_RAW_NONE,
	     {1, 2, 3, 4, 5}, NULL},
	    {"yi missing", B("\x84\xa5""epoch\x01\xa1i\x02\xa1j\x04\xa2yj\x05"), PAIRS_RAW_NONE, {0},
	     "x: record 7 has no non-negative integer \"yi\""},
	    {"j negative", B("\x85\xa5""epoch\x01\xa1i\x02\xa2yi\x03\xa1j\xff\xa2yj\x05"), PAIRS_RAW_NONE, {0},
	     "x: record 7 has no non-negative integer \"j\""},
	    {"i beyond int64", B("\x85\xa5""epoch\x01\xa1i\xcf\x80\0\0\0\0\0\0\0\xa2yi\x03\xa1j\x04\xa2yj\x05"),
	     PAIRS_RAW_NONE, {0}, "x: record 7 has no non-negative integer \"i\""},
	    {"epoch a float", B("\x85\xa5""epoch\xca\0\0\0\0\xa1i\x02\xa2yi\x03\xa1j\x04\xa2yj\x05"), PAIRS_RAW_NONE,
	     {0}, "x: record 7 has no non-negative integer \"epoch\""},
	    {"not a map", B("\x95\x01\x02\x03\x04\x05"), PAIRS_RAW_NONE, {0}, "x: record 7 is not a map"},
	};
	for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
		const pairs_case *c = &cases[k];
		int64_t raw[PAIR_NFIELDS], dec[PAIR_NFIELDS];
		int got = pairs_fields_raw((const unsigned char *)c->bytes, c->len, raw);
		T_ASSERTF(got == c->raw, "%s: raw %d", c->what, got);
		if (got != PAIRS_RAW_NONE)
			T_ASSERTF(memcmp(raw, c->v, sizeof raw) == 0, "%s", c->what);
		msgpack_zone zone;
		msgpack_zone_init(&zone, 256);
		msgpack_object obj;
		T_ASSERTF(unpack(c->bytes, c->len, &zone, &obj), "%s", c->what);
		char err[256] = "";
		int rc = pairs_fields(&obj, dec, "x", 7, err, sizeof err);
		msgpack_zone_destroy(&zone);
		if (c->message)
			T_ASSERTF(rc == -1 && strcmp(err, c->message) == 0, "%s: '%s'", c->what, err);
		else
			T_ASSERTF(rc == 0 && memcmp(dec, c->v, sizeof dec) == 0, "%s: %s", c->what, err);
	}
	/* every prefix of a canonical record: never read past its end, never accepted */
	const unsigned char rec[] = "\x85\xa5""epoch\xcc\x81\xa1i\x02\xa2yi\x03\xa1j\x04\xa2yj\xcd\x01\x05";
	for (size_t n = 0; n + 1 < sizeof rec - 1; n++) {
		unsigned char *copy = malloc(n ? n : 1);
		memcpy(copy, rec, n);
		int64_t v[PAIR_NFIELDS];
		int got = pairs_fields_raw(copy, n, v);
		free(copy);
		T_ASSERTF(got == PAIRS_RAW_NONE, "prefix %zu", n);
	}
}

/* ---- plan.h ---- */

/* The plan record as msgpack-c packs it (map of seven, int64 values, float32 weights). */
static void pack_plan(packed *p, const int64_t v[PAIR_NFIELDS], float lx, float ly)
{
	pk_init(p);
	msgpack_pack_map(&p->pk, 7);
	for (int f = 0; f < PAIR_NFIELDS; f++) {
		pk_key(p, pairs_key(f));
		msgpack_pack_int64(&p->pk, v[f]);
	}
	pk_key(p, "lx");
	msgpack_pack_float(&p->pk, lx);
	pk_key(p, "ly");
	msgpack_pack_float(&p->pk, ly);
}

static void test_plan_encoders_are_msgpack_c(void)
{
	const float ws[] = {0.0f, 1.0f, 0.3f, 0.999999f};
	for (size_t a = 0; a < sizeof int_edges / sizeof *int_edges; a++)
		for (size_t w = 0; w < sizeof ws / sizeof *ws; w++) {
			int64_t x = int_edges[a];
			int64_t v[PAIR_NFIELDS] = {x, x < 0 ? -x - 1 : x, 3, x, 300};
			unsigned char buf[PLAN_RECORD_MAX];
			size_t n = plan_encode_record(buf, v, ws[w], 1 - ws[w]);
			packed p;
			pack_plan(&p, v, ws[w], 1 - ws[w]);
			T_ASSERTF(n <= PLAN_RECORD_MAX && same_bytes(&p, buf, n), "%lld %g", (long long)x, ws[w]);
			msgpack_sbuffer_destroy(&p.sb);
			if (x < 0)
				continue;
			/* from a canonical pairs record's bytes: the same record */
			unsigned char pr[PAIR_RECORD_MAX], from[PLAN_RECORD_MAX];
			size_t pn = pairs_encode_record(pr, (uint64_t)v[0], (uint64_t)v[1], (uint64_t)v[2], (uint64_t)v[3],
							(uint64_t)v[4]);
			int64_t back[PAIR_NFIELDS];
			T_ASSERT(pairs_fields_raw(pr, pn, back) == PAIRS_RAW_CANONICAL);
			size_t fn = plan_encode_record_from(from, pr, pn, ws[w], 1 - ws[w]);
			T_ASSERTF(fn == n && memcmp(from, buf, n) == 0, "from %lld", (long long)x);
		}
}

/* A plan stream: header {format, counts, classes, epochs, samples, split, source, command} (with
 * entries left out or replaced as asked), then records. */
typedef struct plan_spec {
	int counts_kind;  /* 0: [5, 3, 1]; 1: none; 2: [5, "x", 1]; 3: [] */
	int64_t epochs, samples;
} plan_spec;

static void write_plan_header(msgpack_packer *pk, const plan_spec *s)
{
	msgpack_pack_map(pk, 7 + (s->counts_kind != 1));
	mp_pack_kv_str(pk, "format", "lfm.plan/1");
	mp_pack_kv_str(pk, "command", "lfm-mix -s 1 p.mp");
	if (s->counts_kind != 1) {
		mp_pack_cstr(pk, "counts");
		msgpack_pack_array(pk, s->counts_kind == 3 ? 0 : 3);
		if (s->counts_kind != 3) {
			msgpack_pack_int64(pk, 5);
			if (s->counts_kind == 2)
				mp_pack_cstr(pk, "x");
			else
				msgpack_pack_int64(pk, 3);
			msgpack_pack_int64(pk, 1);
		}
	}
	mp_pack_cstr(pk, "classes");
	msgpack_pack_array(pk, 3);
	mp_pack_cstr(pk, "cat");
	mp_pack_cstr(pk, "dog");
	msgpack_pack_int64(pk, 7); /* not a string: that name stays NULL */
	mp_pack_kv_int(pk, "epochs", s->epochs);
	mp_pack_kv_int(pk, "samples", s->samples);
	mp_pack_kv_str(pk, "split", "train");
	mp_pack_cstr(pk, "source");
	msgpack_pack_map(pk, 1);
	mp_pack_kv_str(pk, "hash", "sha256:abc");
}

/* The stream of header s and records recs[n] (raw bytes) in memory. */
static memstream plan_stream(const plan_spec *s, const unsigned char *const *recs, const size_t *lens, int n)
{
	memstream m = {0};
	FILE *f = open_memstream(&m.data, &m.len);
	stream_writer *w = sw_open(f, "mem");
	write_plan_header(sw_packer(w), s);
	for (int k = 0; k < n; k++) {
		unsigned char *d = sw_reserve(w, lens[k]);
		memcpy(d, recs[k], lens[k]);
		sw_commit(w, lens[k]);
	}
	sw_close(w);
	fclose(f);
	return m;
}

static stream_reader *open_mem(memstream *m, FILE **f, const char *kind)
{
	*f = fmemopen(m->data, m->len, "rb");
	char err[512];
	return sr_open(*f, "p.mp", kind, 1, err, sizeof err);
}

/* A plan stream in memory (plan_stream) opened for reading. */
typedef struct mem_plan {
	memstream m;
	FILE *f;
	stream_reader *r;
} mem_plan;

static stream_reader *open_plan(mem_plan *p, const plan_spec *s, const unsigned char *const *recs,
				const size_t *lens, int n)
{
	p->m = plan_stream(s, recs, lens, n);
	p->r = open_mem(&p->m, &p->f, "lfm.plan");
	return p->r;
}

static void close_plan(mem_plan *p)
{
	if (p->r)
		sr_close(p->r);
	fclose(p->f);
	free(p->m.data);
}

static void test_plan_header(void)
{
	plan_spec ok = {0, 2, 4};
	mem_plan mp;
	T_ASSERT(open_plan(&mp, &ok, NULL, NULL, 0));
	plan_header h;
	char err[512];
	T_ASSERTF(plan_header_read(sr_header(mp.r), "p.mp", &h, err, sizeof err) == 0, "%s", err);
	T_ASSERT(h.info.classes == 3 && h.info.counts[0] == 5 && h.info.counts[1] == 3 && h.info.counts[2] == 1);
	T_ASSERT(h.epochs == 2 && h.per_epoch == 4);
	T_ASSERT(strcmp(h.info.class_names[0], "cat") == 0 && strcmp(h.info.class_names[1], "dog") == 0 &&
		 h.info.class_names[2] == NULL);
	T_ASSERT(strcmp(h.info.split, "train") == 0 && strcmp(h.info.source_hash, "sha256:abc") == 0);
	T_ASSERTF(strcmp(h.info.header_json, "{\"format\":\"lfm.plan/1\",\"counts\":[5,3,1],\"classes\":[\"cat\",\"dog\",7],"
					     "\"epochs\":2,\"samples\":4,\"split\":\"train\",\"source\":{\"hash\":\"sha256:abc\"}}") == 0,
		  "%s", h.info.header_json);
	plan_header_free(&h);
	close_plan(&mp);

	const struct {
		plan_spec s;
		const char *message;
	} bad[] = {
	    {{1, 2, 4}, "p.mp: header has no \"counts\" array (the class counts the losses need)"},
	    {{3, 2, 4}, "p.mp: header has no \"counts\" array (the class counts the losses need)"},
	    {{2, 2, 4}, "p.mp: header \"counts\"[1] is not a non-negative integer"},
	    {{0, 0, 4}, "p.mp: header has no positive integer \"epochs\" (lfm-pairs writes it; the cosine schedule "
			"needs the run's length)"},
	    {{0, 2, 0}, "p.mp: header has no positive integer \"samples\" (records per epoch)"},
	};
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
		T_ASSERT(open_plan(&mp, &bad[k].s, NULL, NULL, 0));
		err[0] = 0;
		int rc = plan_header_read(sr_header(mp.r), "p.mp", &h, err, sizeof err);
		plan_header_free(&h);
		close_plan(&mp);
		T_ASSERTF(rc == -1 && strcmp(err, bad[k].message) == 0, "case %zu: '%s'", k, err);
	}
}

static void test_stream_header_counts(void)
{
	plan_spec s = {2, 1, 1};
	mem_plan mp;
	T_ASSERT(open_plan(&mp, &s, NULL, NULL, 0));
	int64_t *c;
	int n;
	char err[256];
	T_ASSERT(stream_header_counts(sr_header(mp.r), "q", "why", &c, &n, err, sizeof err) == STREAM_COUNTS_BAD);
	T_ASSERT(n == 1 && c[0] == 5 && strcmp(err, "q: header \"counts\"[1] is not a non-negative integer") == 0);
	free(c);
	T_ASSERT(stream_header_counts(sr_header(mp.r), "q", "why", &c, &n, NULL, 0) == STREAM_COUNTS_BAD);
	free(c);
	close_plan(&mp);
	s.counts_kind = 1;
	T_ASSERT(open_plan(&mp, &s, NULL, NULL, 0));
	T_ASSERT(stream_header_counts(sr_header(mp.r), "q", "why", &c, &n, err, sizeof err) == STREAM_COUNTS_MISSING);
	T_ASSERT(c == NULL && n == 0 && strcmp(err, "q: header has no \"counts\" array (why)") == 0);
	close_plan(&mp);
}

static void test_plan_records(void)
{
	/* 2 epochs of 2: positions 0, 1 epoch 0; 2, 3 epoch 1 */
	unsigned char recs[8][PLAN_RECORD_MAX];
	size_t lens[8];
	const unsigned char *ptrs[8];
	int64_t good[4][PAIR_NFIELDS] = {{0, 10, 0, 11, 2}, {0, 12, 1, 13, 1}, {1, 14, 2, 15, 0}, {1, 0, 0, 0, 0}};
	for (int k = 0; k < 4; k++)
		lens[k] = plan_encode_record(recs[k], good[k], 0.25f * (float)k, 1.0f), ptrs[k] = recs[k];
	plan_spec s = {0, 2, 2};
	mem_plan mp;
	stream_reader *r = open_plan(&mp, &s, ptrs, lens, 4);
	T_ASSERT(r);
	plan_header h;
	char err[512];
	T_ASSERT(plan_header_read(sr_header(r), "p.mp", &h, err, sizeof err) == 0);
	for (uint64_t pos = 0; pos < 4; pos++) {
		plan_record rec;
		T_ASSERTF(plan_next(r, &h, "p.mp", pos, &rec, err, sizeof err) == 0, "%s", err);
		const int64_t *v = good[pos];
		T_ASSERT(rec.epoch == v[PAIR_EPOCH] && rec.i == (uint64_t)v[PAIR_I] && rec.yi == v[PAIR_YI] &&
			 rec.j == (uint64_t)v[PAIR_J] && rec.yj == v[PAIR_YJ]);
		T_ASSERT(rec.lx == 0.25f * (float)pos && rec.ly == 1.0f);
	}
	plan_record rec;
	T_ASSERT(plan_next(r, &h, "p.mp", 4, &rec, err, sizeof err) == -1);
	T_ASSERTF(strcmp(err, "p.mp: ends after 4 records; its header promises 2 epochs of 2") == 0, "%s", err);
	close_plan(&mp);

	/* bad records, each decoded at position 1 */
	const struct {
		int64_t v[PAIR_NFIELDS];
		float lx, ly;
		int drop_ly;
		const char *message;
	} bad[] = {
	    {{1, 0, 0, 0, 0}, 0.5f, 0.5f, 0,
	     "p.mp: record 2 has epoch 1 where 0 was expected (the header promises 2 records per epoch)"},
	    {{-1, 0, 0, 0, 0}, 0.5f, 0.5f, 0,
	     "p.mp: record 2 has epoch -1 where 0 was expected (the header promises 2 records per epoch)"},
	    {{0, 0, 0, 0, 0}, 1.5f, 0.5f, 0, "p.mp: record 2: lx 1.5 / ly 0.5 outside [0, 1]"},
	    {{0, 0, 0, 0, 0}, 0.5f, NAN, 0, "p.mp: record 2: lx 0.5 / ly nan outside [0, 1]"},
	    {{0, 0, 3, 0, 0}, 0.5f, 0.5f, 0, "p.mp: record 2: a label outside 0 .. 2 or a negative index"},
	    {{0, 0, 0, 0, -1}, 0.5f, 0.5f, 0, "p.mp: record 2: a label outside 0 .. 2 or a negative index"},
	    {{0, -5, 0, 0, 0}, 0.5f, 0.5f, 0, "p.mp: record 2: a label outside 0 .. 2 or a negative index"},
	    {{0, 0, 0, 0, 0}, 0.5f, 0.5f, 1,
	     "p.mp: record 2 lacks one of epoch, i, yi, j, yj (integers), lx, ly (numbers)"},
	};
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
		unsigned char buf[PLAN_RECORD_MAX];
		size_t n = plan_encode_record(buf, bad[k].v, bad[k].lx, bad[k].ly);
		if (bad[k].drop_ly)
			buf[0] = 0x86, n -= 3 + 5; /* the map of six, "ly" and its value cut */
		msgpack_zone zone;
		msgpack_zone_init(&zone, 256);
		msgpack_object obj;
		T_ASSERT(unpack(buf, n, &zone, &obj));
		err[0] = 0;
		int rc = plan_record_decode(&obj, &h, "p.mp", 1, &rec, err, sizeof err);
		msgpack_zone_destroy(&zone);
		T_ASSERTF(rc == -1 && strcmp(err, bad[k].message) == 0, "case %zu: '%s'", k, err);
	}
	plan_header_free(&h);
}

/* ---- metrics.h ---- */

static void write_metrics(const char *path, int json)
{
	metrics_log log;
	metrics_open(&log, path, json);
	msgpack_packer *pk = metrics_begin(&log);
	msgpack_pack_map(pk, 5);
	mp_pack_kv_str(pk, "format", "lfm.metrics/1");
	mp_pack_kv_str(pk, "command", "lfm-fit ...");
	mp_pack_kv_int(pk, "stage", 2);
	mp_pack_kv_str(pk, "every", "step");
	mp_pack_kv_int(pk, "epochs", 3);
	metrics_end(&log);
	for (int k = 0; k < 3; k++) {
		int epoch_rec = k == 2;
		pk = metrics_begin(&log);
		msgpack_pack_map(pk, 7 + epoch_rec * 3);
		mp_pack_kv_str(pk, "kind", epoch_rec ? "epoch" : "step");
		mp_pack_kv_int(pk, "epoch", 0);
		mp_pack_kv_int(pk, "step", epoch_rec ? 2 : k + 1);
		mp_pack_kv_f64(pk, "loss", k == 1 ? NAN : 2.5 - k);
		mp_pack_kv_f64(pk, "lr", 1e-3);
		mp_pack_kv_f64(pk, "images_per_s", 40.5);
		mp_pack_kv_f64(pk, "elapsed_s", 0.75 * (k + 1));
		if (epoch_rec) {
			mp_pack_kv_int(pk, "steps", 2);
			mp_pack_kv_f64(pk, "val_top1", 0.625);
			mp_pack_kv_f64(pk, "val_loss", 1.25);
		}
		metrics_end(&log);
	}
	metrics_close(&log);
}

static void test_metrics_round_trip(void)
{
	for (int json = 0; json <= 1; json++) {
		char path[] = "/tmp/test_codecs_XXXXXX";
		int fd = mkstemp(path);
		T_ASSERT(fd >= 0);
		close(fd);
		write_metrics(path, json);
		FILE *f = fopen(path, "rb");
		T_ASSERT(f);
		metrics_reader m;
		char err[512];
		int rc = metrics_reader_open(&m, f, "log", err, sizeof err);
		T_ASSERTF(rc == 0 && m.json == json, "%s", err);
		T_ASSERT(m.header.stage == 2 && m.header.epochs == 3 && m.header.steps_per_epoch == -1 &&
			 !m.header.epochs_only);
		metrics_entry e;
		for (int k = 0; k < 3; k++) {
			T_ASSERTF(metrics_reader_next(&m, &e, err, sizeof err) == 1, "json %d, %d: %s", json, k, err);
			T_ASSERT(e.is_epoch == (k == 2) && e.epoch == 0 && e.step == (k == 2 ? 2 : k + 1));
			T_ASSERT(k == 1 ? isnan(e.loss) : e.loss == 2.5 - k);
			T_ASSERT(e.lr == 1e-3 && e.images_per_s == 40.5 && e.elapsed_s == 0.75 * (k + 1));
			T_ASSERT(e.steps == (k == 2 ? 2 : -1) && e.has_val == (k == 2));
			if (k == 2)
				T_ASSERT(e.val_top1 == 0.625 && e.val_loss == 1.25);
		}
		T_ASSERT(metrics_reader_next(&m, &e, err, sizeof err) == 0);
		metrics_reader_close(&m);
		fclose(f);
		unlink(path);
	}
}

static void test_metrics_rejects(void)
{
	const struct {
		const char *text;
		const char *message;
	} cases[] = {
	    {"", "log: empty input (no header)"},
	    {"{\"format\":\"lfm.plan/1\"}\n", "log: not a metrics log (the header's \"format\" is not \"lfm.metrics/1\")"},
	    {"{\"format\":\"lfm.metrics/1\",\"epochs\":-1}\n", "log: header \"epochs\" is not a non-negative integer"},
	    {"{\"format\":\"lfm.metrics/1\"}\n{\"kind\":\"step\",\"epoch\":0,\"step\":1,\"lr\":1,\"images_per_s\":1,"
	     "\"elapsed_s\":1}\n",
	     "log: record 1 has no number \"loss\""},
	    {"{\"format\":\"lfm.metrics/1\"}\n{\"kind\":\"walk\"}\n", "log: record 1: \"kind\" is not \"step\" or \"epoch\""},
	    {"{\"format\":\"lfm.metrics/1\"}\n[1]\n", "log: record 1 is not a map"},
	    {"{\"format\":\"lfm.metrics/1\"}\n{\"kind\":\"step\",\"epoch\":0,\"step\":1,\"loss\":1,\"lr\":1,"
	     "\"images_per_s\":1,\"elapsed_s\":1,\"steps\":3}\n",
	     "log: record 1: a step record has \"steps\""},
	    {"{\"format\":\"lfm.metrics/1\"}\n{\"kind\":\"epoch\",\"epoch\":0,\"step\":1,\"loss\":1,\"lr\":1,"
	     "\"images_per_s\":1,\"elapsed_s\":1}\n",
	     "log: record 1: an epoch record has no non-negative integer \"steps\""},
	    {"{\"format\":\"lfm.metrics/1\"}\n{\"kind\":\"step\",\"epoch\":0,\"step\":-1}\n",
	     "log: record 1 has no non-negative integer \"step\""},
	    {"{\"format\":\"lfm.metrics/1\"}\n{\"kind\":\"step\",\"epoch\":0,\"step\":1,\"loss\":1,\"lr\":1,"
	     "\"images_per_s\":1,\"elapsed_s\":1,\"val_top1\":0.5}\n",
	     "log: record 1: \"val_top1\" and \"val_loss\" are not both numbers"},
	    {"{\"format\":\"lfm.metrics/1\"}\n{\"kind\":\"step\",\n", "log: line 2: invalid JSON"},
	};
	for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
		size_t len = strlen(cases[k].text);
		FILE *f = len ? fmemopen((void *)cases[k].text, len, "rb") : fopen("/dev/null", "rb");
		T_ASSERT(f);
		metrics_reader m;
		char err[512] = "";
		int rc = metrics_reader_open(&m, f, "log", err, sizeof err);
		metrics_entry e;
		if (rc == 0)
			rc = metrics_reader_next(&m, &e, err, sizeof err);
		metrics_reader_close(&m);
		fclose(f);
		T_ASSERTF(rc == -1 && strncmp(err, cases[k].message, strlen(cases[k].message)) == 0, "case %zu: '%s'", k,
			  err);
	}
}

/* ---- predictions.h ---- */

static void test_predictions_round_trip(void)
{
	memstream m = {0};
	FILE *f = open_memstream(&m.data, &m.len);
	stream_writer *w = sw_open(f, "mem");
	char *names[] = {"a", "b", "c"};
	int64_t counts[] = {9, 4, 1};
	char *argv[] = {"lfm-eval", "--model", "m.safetensors"};
	predictions_meta meta = {.model = "m.safetensors", .text = "t.npy", .data = "d", .split = "test",
				 .samples_stream = "stdin", .classes = 3, .class_names = names, .counts = counts,
				 .samples = 3, .argc = 3, .argv = argv};
	predictions_write_header(sw_packer(w), &meta);
	const prediction preds[] = {{0, 0, 0, 0.5f}, {70000, 2, 1, -0.25f}, {5, 1, 1, 1.0f}};
	for (int k = 0; k < 3; k++)
		predictions_write_record(sw_packer(w), &preds[k]);
	sw_close(w);
	fclose(f);

	/* the record bytes are those msgpack-c's packer writes */
	packed p;
	pk_init(&p);
	predictions_write_record(&p.pk, &preds[1]);
	const unsigned char expect[] = "\x84\xa5index\xce\x00\x01\x11\x70\xa5label\x02\xa4pred\x01\xa5score\xca\xbe\x80\x00\x00";
	T_ASSERT(same_bytes(&p, expect, sizeof expect - 1));
	msgpack_sbuffer_destroy(&p.sb);

	stream_reader *r = open_mem(&m, &f, "lfm.predictions");
	T_ASSERT(r);
	char *json = stream_header_json(sr_header(r));
	T_ASSERTF(strcmp(json, "{\"format\":\"lfm.predictions/1\",\"model\":\"m.safetensors\",\"zero_shot\":false,"
			       "\"text\":\"t.npy\",\"data\":\"d\",\"split\":\"test\",\"samples_stream\":\"stdin\","
			       "\"classes\":[\"a\",\"b\",\"c\"],\"counts\":[9,4,1],\"samples\":3}") == 0,
		  "%s", json);
	free(json);
	int C;
	uint64_t n;
	char err[512];
	T_ASSERT(predictions_read_header(sr_header(r), "p", &C, &n, err, sizeof err) == 0 && C == 3 && n == 3);
	for (int k = 0; k < 3; k++) {
		prediction got;
		T_ASSERTF(predictions_next(r, C, "p", &got, err, sizeof err) == 1, "%s", err);
		T_ASSERT(got.index == preds[k].index && got.label == preds[k].label && got.pred == preds[k].pred &&
			 got.score == preds[k].score);
	}
	prediction got;
	T_ASSERT(predictions_next(r, C, "p", &got, err, sizeof err) == 0);
	sr_close(r);
	fclose(f);
	free(m.data);

	/* a class outside the header's, a missing score */
	const struct {
		const char *bytes;
		size_t len;
		const char *message;
	} bad[] = {
	    {B("\x84\xa5index\x01\xa5label\x03\xa4pred\x01\xa5score\xca\0\0\0\0"), "p: record 4: class 3 is outside 0 .. 2"},
	    {B("\x84\xa5index\x01\xa5label\x00\xa4pred\xff\xa5score\xca\0\0\0\0"), "p: record 4: class -1 is outside 0 .. 2"},
	    {B("\x83\xa5index\x01\xa5label\x00\xa4pred\x01"), "p: record 4 has no number \"score\""},
	    {B("\x84\xa5index\xff\xa5label\x00\xa4pred\x01\xa5score\xca\0\0\0\0"),
	     "p: record 4 has no non-negative integer \"index\""},
	    {B("\x83\xa5index\x01\xa5label\x00\xa5score\xca\0\0\0\0"), "p: record 4 lacks the integer \"label\" or \"pred\""},
	    {B("\x01"), "p: record 4 is not a map"},
	};
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
		msgpack_zone zone;
		msgpack_zone_init(&zone, 256);
		msgpack_object obj;
		T_ASSERT(unpack(bad[k].bytes, bad[k].len, &zone, &obj));
		err[0] = 0;
		int rc = predictions_record_decode(&obj, 3, "p", 4, &got, err, sizeof err);
		msgpack_zone_destroy(&zone);
		T_ASSERTF(rc == -1 && strcmp(err, bad[k].message) == 0, "case %zu: '%s'", k, err);
	}
}

int main(int argc, char **argv)
{
	(void)argc;
	lfm_init(argv[0]);
	T_RUN(test_raw_helpers_encode_like_msgpack_c);
	T_RUN(test_pairs_encoder_is_msgpack_c);
	T_RUN(test_pairs_raw_and_decoded_paths_agree);
	T_RUN(test_plan_encoders_are_msgpack_c);
	T_RUN(test_plan_header);
	T_RUN(test_stream_header_counts);
	T_RUN(test_plan_records);
	T_RUN(test_metrics_round_trip);
	T_RUN(test_metrics_rejects);
	T_RUN(test_predictions_round_trip);
	return t_summary();
}
