/* test_stream.c — msgpack streams: writer and pull reader round trips (including a pipe fed in 1–7 byte
 * pieces), raw records (sr_next_raw: the written bytes, the same errors as sr_next), header checks,
 * truncation at every byte, garbage, bounded memory, map helpers, JSON output, and the dying variants'
 * exit codes and messages. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/errors.h"
#include "io/stream.h"
#include "../test.h"

/* ---- helpers ---- */

static void pack_header(msgpack_packer *pk, const char *format, int nclasses)
{
	msgpack_pack_map(pk, 3);
	mp_pack_kv_str(pk, "format", format);
	mp_pack_kv_int(pk, "seed", 42);
	mp_pack_cstr(pk, "classes");
	msgpack_pack_array(pk, (size_t)nclasses);
	for (int c = 0; c < nclasses; c++) {
		char name[32];
		snprintf(name, sizeof name, "class-%03d", c);
		mp_pack_cstr(pk, name);
	}
}

/* Record k of the test streams: a map with one field of each common type. */
static void pack_record(msgpack_packer *pk, int k)
{
	char name[40];
	snprintf(name, sizeof name, "record %d", k);
	msgpack_pack_map(pk, 7);
	mp_pack_kv_int(pk, "i", k);
	mp_pack_kv_int(pk, "neg", -(int64_t)k * 1000003);
	mp_pack_kv_f64(pk, "x", k * 0.25 - 3);
	mp_pack_kv_str(pk, "name", name);
	mp_pack_kv_bool(pk, "odd", k & 1);
	mp_pack_cstr(pk, "bin");
	msgpack_pack_bin(pk, (size_t)(k % 5));
	unsigned char bytes[5] = {(unsigned char)k, 1, 2, 3, 255};
	msgpack_pack_bin_body(pk, bytes, (size_t)(k % 5));
	mp_pack_cstr(pk, "arr");
	msgpack_pack_array(pk, 3);
	msgpack_pack_uint64(pk, (uint64_t)k * 3);
	msgpack_pack_nil(pk);
	msgpack_pack_float(pk, 0.5f);
}

/* Whether o is exactly record k; returns NULL or what differs. */
static const char *check_record(const msgpack_object *o, int k)
{
	int64_t v;
	double x;
	char name[40];
	snprintf(name, sizeof name, "record %d", k);
	if (o->type != MSGPACK_OBJECT_MAP || o->via.map.size != 7)
		return "not a 7-entry map";
	if (mp_get_int(o, "i", &v) != 0 || v != k)
		return "i";
	if (mp_get_int(o, "neg", &v) != 0 || v != -(int64_t)k * 1000003)
		return "neg";
	if (mp_get_f64(o, "x", &x) != 0 || x != k * 0.25 - 3)
		return "x";
	if (!mp_str_eq(mp_map_get(o, "name"), name))
		return "name";
	const msgpack_object *b = mp_map_get(o, "odd");
	if (!b || b->type != MSGPACK_OBJECT_BOOLEAN || b->via.boolean != (k & 1))
		return "odd";
	b = mp_map_get(o, "bin");
	unsigned char bytes[5] = {(unsigned char)k, 1, 2, 3, 255};
	if (!b || b->type != MSGPACK_OBJECT_BIN || b->via.bin.size != (uint32_t)(k % 5) ||
	    memcmp(b->via.bin.ptr, bytes, (size_t)(k % 5)) != 0)
		return "bin";
	b = mp_map_get(o, "arr");
	if (!b || b->type != MSGPACK_OBJECT_ARRAY || b->via.array.size != 3 ||
	    b->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    b->via.array.ptr[0].via.u64 != (uint64_t)k * 3 || b->via.array.ptr[1].type != MSGPACK_OBJECT_NIL ||
	    b->via.array.ptr[2].type != MSGPACK_OBJECT_FLOAT32 || b->via.array.ptr[2].via.f64 != 0.5)
		return "arr";
	return NULL;
}

/* A whole test stream (header + nrec records) in memory. */
static char *make_stream(const char *format, int nrec, size_t *len)
{
	membuf m;
	membuf_open(&m);
	stream_writer *w = sw_open(m.f, "mem");
	msgpack_packer *pk = sw_packer(w);
	pack_header(pk, format, 4);
	for (int k = 1; k <= nrec; k++)
		pack_record(pk, k);
	sw_close(w);
	(void)membuf_close(&m);
	*len = m.len;
	return m.text;
}

/* Bytes packed by fn, as a buffer (for hand-made headers and objects). */
static char *pack_bytes(void (*fn)(msgpack_packer *, const void *), const void *arg, size_t *len)
{
	membuf m;
	membuf_open(&m);
	stream_writer *w = sw_open(m.f, "mem");
	fn(sw_packer(w), arg);
	sw_close(w);
	(void)membuf_close(&m);
	*len = m.len;
	return m.text;
}

static FILE *mem_file(const void *data, size_t n)
{
	FILE *f = fmemopen((void *)data, n, "rb");
	if (!f)
		abort();
	return f;
}

/* A child process writes data into a pipe in pieces of 1..max_piece bytes (deterministic sizes), pausing
 * now and then, so the reader sees objects split at every kind of boundary. Returns the read end. */
static FILE *feed_pipe(const char *data, size_t n, unsigned max_piece, pid_t *pid)
{
	int fd[2];
	if (pipe(fd) != 0)
		abort();
	fflush(stdout);
	fflush(stderr);
	*pid = fork();
	if (*pid < 0)
		abort();
	if (*pid == 0) {
		close(fd[0]);
		uint32_t state = 12345;
		size_t off = 0, writes = 0;
		while (off < n) {
			state = state * 1664525u + 1013904223u;
			size_t piece = 1 + (state >> 16) % max_piece;
			if (piece > n - off)
				piece = n - off;
			ssize_t got = write(fd[1], data + off, piece);
			if (got <= 0)
				_exit(1);
			off += (size_t)got;
			if (++writes % 97 == 0)
				usleep(200);
		}
		_exit(0);
	}
	close(fd[1]);
	FILE *f = fdopen(fd[0], "rb");
	if (!f)
		abort();
	return f;
}

static int reap(FILE *f, pid_t pid)
{
	fclose(f);
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- round trips ---- */

static void test_round_trip_through_tiny_pipe_pieces(void)
{
	size_t len;
	const int nrec = 300;
	char *data = make_stream("lfm.test/1", nrec, &len);
	pid_t pid;
	FILE *f = feed_pipe(data, len, 7, &pid);
	char err[320];
	stream_reader *r = sr_open(f, "pipe", "lfm.test", 1, err, sizeof err);
	T_ASSERTF(r != NULL, "%s", err);
	T_ASSERT(strcmp(sr_kind(r), "lfm.test") == 0 && sr_version(r) == 1);
	msgpack_object o;
	int k = 0, got;
	while ((got = sr_next(r, &o)) == 1) {
		k++;
		const char *bad = check_record(&o, k);
		T_ASSERTF(bad == NULL, "record %d: %s", k, bad);
	}
	T_ASSERTF(got == 0, "sr_next %d: %s", got, sr_error(r));
	T_ASSERT(k == nrec && sr_records_read(r) == (uint64_t)nrec);
	T_ASSERT(sr_next(r, &o) == 0); /* the end stays the end */
	int64_t seed;
	T_ASSERT(mp_get_int(sr_header(r), "seed", &seed) == 0 && seed == 42);
	sr_close(r);
	T_ASSERT(reap(f, pid) == 0);
	free(data);
}

static void pack_big(msgpack_packer *pk, const void *arg)
{
	(void)arg;
	pack_header(pk, "lfm.big/2", 500);
	/* Enough records to pass through the 1 MiB read buffer a few times, and one record larger than it. */
	for (int k = 1; k <= 40000; k++)
		pack_record(pk, k);
	size_t huge = 3u << 20;
	char *blob = malloc(huge);
	for (size_t i = 0; i < huge; i++)
		blob[i] = (char)(i * 7 + 3);
	msgpack_pack_map(pk, 1);
	mp_pack_cstr(pk, "blob");
	msgpack_pack_bin(pk, huge);
	msgpack_pack_bin_body(pk, blob, huge);
	free(blob);
	pack_record(pk, 40001);
}

/* Buffer compaction and growth keep records right, and the header stays valid until sr_close. */
static void test_big_stream_and_large_record(void)
{
	size_t len;
	char *data = pack_bytes(pack_big, NULL, &len);
	pid_t pid;
	FILE *f = feed_pipe(data, len, 100000, &pid);
	stream_reader *r = sr_open_or_die(f, "big", "lfm.big", 2);
	const msgpack_object *classes = mp_map_get(sr_header(r), "classes");
	T_ASSERT(classes && classes->type == MSGPACK_OBJECT_ARRAY && classes->via.array.size == 500);
	msgpack_object o;
	for (int k = 1; k <= 40000; k++) {
		T_ASSERT(sr_next(r, &o) == 1);
		const char *bad = check_record(&o, k);
		T_ASSERTF(bad == NULL, "record %d: %s", k, bad);
	}
	T_ASSERTF(sr_next(r, &o) == 1, "%s", sr_error(r));
	const msgpack_object *blob = mp_map_get(&o, "blob");
	T_ASSERT(blob && blob->type == MSGPACK_OBJECT_BIN && blob->via.bin.size == 3u << 20);
	for (size_t i = 0; i < blob->via.bin.size; i += 4099)
		T_ASSERT(blob->via.bin.ptr[i] == (char)(i * 7 + 3));
	T_ASSERT(sr_next(r, &o) == 1 && check_record(&o, 40001) == NULL);
	T_ASSERT(sr_next(r, &o) == 0);
	/* The header, read first, is intact after all that buffer movement. */
	for (uint32_t c = 0; c < 500; c++) {
		char name[32];
		snprintf(name, sizeof name, "class-%03u", c);
		T_ASSERTF(mp_str_eq(&classes->via.array.ptr[c], name), "class %u", c);
	}
	sr_close(r);
	T_ASSERT(reap(f, pid) == 0);
	free(data);
}

/* The throughput tools will see: pairs-like records packed in one process, read in another. */
static void test_million_records_through_a_pipe(void)
{
	const int64_t n = 1000000;
	int fd[2];
	T_ASSERT(pipe(fd) == 0);
	fflush(stdout);
	pid_t pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		close(fd[0]);
		FILE *out = fdopen(fd[1], "wb");
		stream_writer *w = sw_open(out, "pipe");
		msgpack_packer *pk = sw_packer(w);
		msgpack_pack_map(pk, 1);
		mp_pack_kv_str(pk, "format", "lfm.pairs/1");
		for (int64_t i = 0; i < n; i++) {
			msgpack_pack_map(pk, 5);
			mp_pack_kv_int(pk, "epoch", i / 50000);
			mp_pack_kv_int(pk, "i", i);
			mp_pack_kv_int(pk, "yi", i % 100);
			mp_pack_kv_int(pk, "j", (i * 7919) % n);
			mp_pack_kv_int(pk, "yj", (i * 31) % 100);
		}
		sw_close(w);
		fclose(out);
		_exit(0);
	}
	close(fd[1]);
	FILE *f = fdopen(fd[0], "rb");
	double t0 = now_s();
	stream_reader *r = sr_open_or_die(f, "pipe", "lfm.pairs", 1);
	msgpack_object o;
	int64_t count = 0, sum_j = 0, expect_j = 0, bad = 0;
	while (sr_next(r, &o) == 1) {
		int64_t i, j, yi;
		if (mp_get_int(&o, "i", &i) != 0 || mp_get_int(&o, "j", &j) != 0 ||
		    mp_get_int(&o, "yi", &yi) != 0 || i != count || yi != i % 100)
			bad++;
		sum_j += j;
		expect_j += (count * 7919) % n;
		count++;
	}
	double dt = now_s() - t0;
	T_ASSERTF(sr_error(r)[0] == 0, "%s", sr_error(r));
	sr_close(r);
	T_ASSERT(reap(f, pid) == 0);
	T_ASSERT(count == n && bad == 0 && sum_j == expect_j);
	fprintf(stderr, "# %" PRId64 " records (5 ints each) through a pipe in %.3f s: %.2f M records/s\n", n, dt,
		n / dt / 1e6);
}

/* ---- against msgpack-c ---- */

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
	return *s;
}

/* A random object of every msgpack type, some in non-canonical encodings msgpack-c never writes. */
static void gen_object(msgpack_packer *pk, uint64_t *rng, int depth)
{
	static const char *raw[] = {"\xd0\x05", "\xd1\x00\x07", "\xcc\x01", "\xd9\x02" "ab", "\xda\x00\x01z",
				    "\xc4\x00", "\xc7\x00\x07", "\xc7\x01\xfe\x09", "\xd4\x01\xff",
				    "\xd8\x02" "0123456789abcdef", "\xca\x7f\xc0\x00\x00", "\xcb\xff\xf0\0\0\0\0\0\0",
				    "\xdc\x00\x01\xc0", "\xde\x00\x01\xa0\xc3", "\xdd\0\0\0\0", "\xdf\0\0\0\0"};
	static const size_t raw_len[] = {2, 3, 2, 4, 4, 2, 3, 4, 3, 18, 5, 9, 4, 5, 5, 5};
	uint64_t r = rng_next(rng);
	char bytes[300];
	switch (r % (depth < 4 ? 14 : 11)) {
	case 0: msgpack_pack_nil(pk); break;
	case 1: if (r >> 8 & 1) msgpack_pack_true(pk); else msgpack_pack_false(pk); break;
	case 2: msgpack_pack_int64(pk, (int64_t)(rng_next(rng) >> (r >> 8 & 63))); break;
	case 3: msgpack_pack_int64(pk, -(int64_t)(rng_next(rng) >> (1 + (r >> 8) % 63))); break;
	case 4: msgpack_pack_uint64(pk, rng_next(rng)); break;
	case 5: msgpack_pack_float(pk, (float)(int64_t)rng_next(rng) * 1e-12f); break;
	case 6: msgpack_pack_double(pk, (double)(int64_t)rng_next(rng) * 1e-300); break;
	case 7:
	case 8: {
		size_t n = (r >> 8) % 7 == 0 ? 40 + (r >> 16) % 260 : (r >> 16) % 40;
		for (size_t i = 0; i < n; i++)
			bytes[i] = (char)rng_next(rng);
		if (r % 14 == 7) {
			msgpack_pack_str(pk, n);
			msgpack_pack_str_body(pk, bytes, n);
		} else {
			msgpack_pack_bin(pk, n);
			msgpack_pack_bin_body(pk, bytes, n);
		}
		break;
	}
	case 9: {
		size_t n = (r >> 8) % 20;
		for (size_t i = 0; i < n; i++)
			bytes[i] = (char)rng_next(rng);
		msgpack_pack_ext(pk, n, (int8_t)(r >> 24));
		msgpack_pack_ext_body(pk, bytes, n);
		break;
	}
	case 10: {
		size_t k = (r >> 8) % (sizeof raw_len / sizeof raw_len[0]);
		pk->callback(pk->data, raw[k], raw_len[k]);
		break;
	}
	case 11:
	case 12: {
		uint32_t n = (uint32_t)((r >> 8) % 7);
		if ((r >> 16) % 50 == 0)
			n = 20 + (uint32_t)((r >> 24) % 200); /* array16 */
		msgpack_pack_array(pk, n);
		for (uint32_t i = 0; i < n; i++)
			gen_object(pk, rng, depth + 1);
		break;
	}
	default: {
		uint32_t n = (uint32_t)((r >> 8) % 6);
		msgpack_pack_map(pk, n);
		for (uint32_t i = 0; i < 2 * n; i++)
			gen_object(pk, rng, depth + 1);
		break;
	}
	}
}

/* o as msgpack-c packs it: a canonical form to compare two decodings by. */
static void repack(const msgpack_object *o, msgpack_sbuffer *sb)
{
	msgpack_sbuffer_clear(sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_object(&pk, *o);
}

/* Thousands of random records, read through a pipe in 1..13 byte pieces, decode as msgpack_unpack does. */
static void test_decoder_agrees_with_msgpack_c(void)
{
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	mp_pack_kv_str(&pk, "format", "lfm.random/1");
	uint64_t rng = 0x243f6a8885a308d3u;
	const int nrec = 3000;
	for (int k = 0; k < nrec; k++)
		gen_object(&pk, &rng, 0);
	pid_t pid;
	FILE *f = feed_pipe(sb.data, sb.size, 13, &pid);
	stream_reader *r = sr_open_or_die(f, "random", "lfm.random", 1);
	msgpack_zone z;
	msgpack_zone_init(&z, 8192);
	msgpack_object ref, mine;
	size_t off = 0;
	T_ASSERT(msgpack_unpack(sb.data, sb.size, &off, &z, &ref) >= 0); /* the header */
	msgpack_sbuffer a, b;
	msgpack_sbuffer_init(&a);
	msgpack_sbuffer_init(&b);
	int k, bad = -1;
	for (k = 0; k < nrec; k++) {
		int got = sr_next(r, &mine);
		T_ASSERTF(got == 1, "record %d: %d %s", k + 1, got, sr_error(r));
		msgpack_zone_clear(&z);
		T_ASSERT(msgpack_unpack(sb.data, sb.size, &off, &z, &ref) >= 0);
		repack(&mine, &a);
		repack(&ref, &b);
		if (bad < 0 && (a.size != b.size || memcmp(a.data, b.data, a.size) != 0))
			bad = k + 1;
	}
	T_ASSERT(sr_next(r, &mine) == 0 && off == sb.size);
	sr_close(r);
	T_ASSERT(reap(f, pid) == 0);
	msgpack_zone_destroy(&z);
	msgpack_sbuffer_destroy(&a);
	msgpack_sbuffer_destroy(&b);
	msgpack_sbuffer_destroy(&sb);
	T_ASSERTF(bad < 0, "record %d decodes differently", bad);
}

/* ---- raw records ---- */

/* Record k of the raw tests: mostly flat maps of small scalars (the layout sr_next_raw walks quickly and
 * remembers), in runs that share a layout and runs that change it (integer widths, string lengths,
 * fixint signs, floats, nil, booleans, fixext), with other objects in between: maps holding containers,
 * str8 keys, bare scalars, arrays, empty maps. */
static void pack_raw_record(msgpack_packer *pk, int k)
{
	int64_t big = (int64_t)1 << (k % 40); /* every integer width in turn */
	switch (k % 11) {
	case 0:
		pack_record(pk, k);
		return;
	case 1:
		msgpack_pack_int64(pk, -(int64_t)k);
		return;
	case 2:
		msgpack_pack_map(pk, 0);
		return;
	case 3:
		msgpack_pack_map(pk, 2);
		msgpack_pack_str(pk, 40); /* str8 key: not a flat map's */
		msgpack_pack_str_body(pk, "0123456789012345678901234567890123456789", 40);
		msgpack_pack_int64(pk, k);
		mp_pack_kv_int(pk, "z", k);
		return;
	case 4: {
		msgpack_pack_map(pk, 6);
		mp_pack_kv_int(pk, "neg", -(k % 40));
		mp_pack_kv_f64(pk, "x", k / 7.0);
		mp_pack_cstr(pk, "f");
		msgpack_pack_float(pk, (float)k);
		mp_pack_cstr(pk, k % 2 ? "nil" : "nil-but-longer");
		msgpack_pack_nil(pk);
		mp_pack_kv_bool(pk, "b", k & 2);
		mp_pack_cstr(pk, "e");
		char ext[4] = {1, 2, 3, 4};
		msgpack_pack_ext(pk, (size_t)1 << (k % 3), 7);
		msgpack_pack_ext_body(pk, ext, (size_t)1 << (k % 3));
		return;
	}
	default: /* five of eleven: pairs records, widths changing now and then */
		msgpack_pack_map(pk, 5);
		mp_pack_kv_int(pk, "epoch", k / 100);
		mp_pack_kv_int(pk, "i", k % 9 == 0 ? big : k);
		mp_pack_kv_int(pk, "yi", k % 100);
		mp_pack_kv_int(pk, "j", k % 13 == 0 ? -big : 3 * k);
		mp_pack_kv_int(pk, "yj", k % 7 == 0 ? big : k % 17); /* the last item's width changes too */
		return;
	}
}

/* A raw-test stream: header, then nrec records; ends[k] is where object k ends (0: the header). */
static char *make_raw_stream(int nrec, size_t *len, size_t *ends)
{
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	pack_header(&pk, "lfm.raw/1", 3);
	ends[0] = sb.size;
	for (int k = 1; k <= nrec; k++) {
		pack_raw_record(&pk, k);
		ends[k] = sb.size;
	}
	*len = sb.size;
	return msgpack_sbuffer_release(&sb);
}

/* How a reader ends: the records read, the last return value, the message. */
struct read_outcome {
	int opened, last;
	uint64_t records;
	char err[400];
};

/* Read data from f with sr_next (how = 0), sr_next_raw (1), or the two in turn (2). With ends given,
 * every raw record must be exactly the bytes data[ends[k-1], ends[k]), and decode (sr_decode_raw) to
 * what msgpack_unpack decodes there. Returns NULL or what went wrong. */
static const char *read_outcome(FILE *f, int how, const char *data, const size_t *ends, struct read_outcome *out)
{
	memset(out, 0, sizeof *out);
	stream_reader *r = sr_open(f, "s", NULL, INT_MAX, out->err, sizeof out->err);
	if (!r)
		return NULL;
	out->opened = 1;
	static char why[200];
	const char *bad = NULL;
	msgpack_zone z;
	msgpack_zone_init(&z, 2048);
	msgpack_sbuffer a, b;
	msgpack_sbuffer_init(&a);
	msgpack_sbuffer_init(&b);
	for (uint64_t k = 1;; k++) {
		msgpack_object o;
		const unsigned char *p;
		size_t n;
		int raw = how == 1 || (how == 2 && k % 2);
		out->last = raw ? sr_next_raw(r, &p, &n) : sr_next(r, &o);
		if (out->last != 1)
			break;
		if (!raw || !ends)
			continue;
		if (n != ends[k] - ends[k - 1] || memcmp(p, data + ends[k - 1], n) != 0) {
			snprintf(why, sizeof why, "record %" PRIu64 ": %zu raw bytes, expected %zu", k, n,
				 ends[k] - ends[k - 1]);
			bad = why;
			break;
		}
		msgpack_object ref;
		size_t off = 0;
		msgpack_zone_clear(&z);
		if (sr_decode_raw(r, &o) != 0 || msgpack_unpack((const char *)p, n, &off, &z, &ref) !=
		    MSGPACK_UNPACK_SUCCESS) {
			bad = "decode failed";
			break;
		}
		repack(&o, &a);
		repack(&ref, &b);
		if (a.size != b.size || memcmp(a.data, b.data, a.size) != 0) {
			snprintf(why, sizeof why, "record %" PRIu64 " decodes differently", k);
			bad = why;
			break;
		}
	}
	out->records = sr_records_read(r);
	snprintf(out->err, sizeof out->err, "%s", sr_error(r));
	msgpack_zone_destroy(&z);
	msgpack_sbuffer_destroy(&a);
	msgpack_sbuffer_destroy(&b);
	sr_close(r);
	return bad;
}

static int same_outcome(const struct read_outcome *x, const struct read_outcome *y)
{
	return x->opened == y->opened && x->last == y->last && x->records == y->records &&
	       strcmp(x->err, y->err) == 0;
}

/* sr_next_raw hands out each record's bytes exactly as written, from memory and through a pipe in
 * pieces of 1..7 bytes, alone or in turn with sr_next; sr_decode_raw gives msgpack-c's object. */
static void test_raw_records_are_the_written_bytes(void)
{
	enum { NREC = 2000 };
	static size_t ends[NREC + 1];
	size_t len;
	char *data = make_raw_stream(NREC, &len, ends);
	for (int how = 0; how <= 2; how++) {
		for (int piped = 0; piped <= 1; piped++) {
			pid_t pid = 0;
			FILE *f = piped ? feed_pipe(data, len, 7, &pid) : mem_file(data, len);
			struct read_outcome o;
			const char *bad = read_outcome(f, how, data, ends, &o);
			T_ASSERTF(bad == NULL, "how %d piped %d: %s", how, piped, bad);
			T_ASSERTF(o.opened && o.last == 0 && o.records == NREC && o.err[0] == 0,
				  "how %d piped %d: %d %" PRIu64 " '%s'", how, piped, o.last, o.records, o.err);
			if (piped)
				T_ASSERT(reap(f, pid) == 0);
			else
				fclose(f);
		}
	}
	/* sr_decode_raw with no raw record to decode (none yet, or sr_next's since) fails rather than
	 * decode stale bytes; it is a caller's mistake, and stops the stream */
	for (int after_next = 0; after_next <= 1; after_next++) {
		FILE *f = mem_file(data, len);
		stream_reader *r = sr_open_or_die(f, "s", NULL, INT_MAX);
		msgpack_object o;
		const unsigned char *p;
		size_t n;
		if (after_next)
			T_ASSERT(sr_next_raw(r, &p, &n) == 1 && sr_next(r, &o) == 1);
		T_ASSERT(sr_decode_raw(r, &o) == -1 && strstr(sr_error(r), "no record from sr_next_raw"));
		T_ASSERT(sr_next_raw(r, &p, &n) == -1);
		sr_close(r);
		fclose(f);
	}
	free(data);
}

/* Cut at every byte, garbage at every byte, and the size and depth limits: sr_next_raw reads the same
 * records and stops with the same message as sr_next. */
static void test_raw_errors_are_sr_next_errors(void)
{
	enum { NREC = 40 };
	size_t ends[NREC + 1], len;
	char *data = make_raw_stream(NREC, &len, ends);
	char *copy = malloc(len + 16);
	int checked = 0;
	for (size_t cut = 0; cut <= len; cut++) {
		for (int variant = 0; variant < 3; variant++) {
			/* 0: the first cut bytes; 1: byte cut replaced by 0xc1 (never valid); 2: by 0xdd (array32
			 * of a huge count or a truncated one) */
			size_t n = variant == 0 ? cut : len;
			if (variant > 0 && cut == len)
				continue;
			memcpy(copy, data, len);
			if (variant > 0)
				copy[cut] = variant == 1 ? (char)0xc1 : (char)0xdd;
			struct read_outcome want, got;
			FILE *f = mem_file(copy, n);
			read_outcome(f, 0, NULL, NULL, &want);
			fclose(f);
			for (int how = 1; how <= 2; how++) {
				f = mem_file(copy, n);
				const char *bad = read_outcome(f, how, variant == 0 ? copy : NULL,
							       variant == 0 ? ends : NULL, &got);
				fclose(f);
				T_ASSERTF(bad == NULL, "cut %zu variant %d how %d: %s", cut, variant, how, bad);
				T_ASSERTF(same_outcome(&want, &got),
					  "cut %zu variant %d how %d: sr_next %d after %" PRIu64 " '%s', raw %d after "
					  "%" PRIu64 " '%s'", cut, variant, how, want.last, want.records, want.err,
					  got.last, got.records, got.err);
				checked++;
			}
		}
	}
	T_ASSERT(checked > 1000);
	/* The limits, after a flat record whose layout the reader remembers. */
	static const char flat[] = "\x85\xa5" "epoch\x01\xa1i\x02\xa2yi\x03\xa1j\x04\xa2yj\x05";
	size_t flat_len = sizeof flat - 1;
	static const char *const tails[] = {"\xdd\xff\xff\xff\xff", "\xdf\x10\x00\x00\x00", "\x91\x91\xdd\x7f\xff\xff\xff",
					    flat, /* cut short below */
					    "\x85\xa5" "epoch\x01\xa1i\xc1\xa2yi\x03\xa1j\x04\xa2yj\x05"};
	const size_t tail_len[] = {5, 5, 7, flat_len - 1, flat_len};
	char s[256];
	size_t hlen = ends[0];
	T_ASSERT(hlen + 2 * flat_len < sizeof s);
	memcpy(s, data, hlen);
	memcpy(s + hlen, flat, flat_len);
	for (size_t t = 0; t < sizeof tail_len / sizeof *tail_len; t++) {
		memcpy(s + hlen + flat_len, tails[t], tail_len[t]);
		size_t n = hlen + flat_len + tail_len[t];
		struct read_outcome want, got;
		FILE *f = mem_file(s, n);
		read_outcome(f, 0, NULL, NULL, &want);
		fclose(f);
		f = mem_file(s, n);
		read_outcome(f, 1, NULL, NULL, &got);
		fclose(f);
		T_ASSERTF(want.last == -1 && want.records == 1 && same_outcome(&want, &got), "tail %zu: '%s' / '%s'", t,
			  want.err, got.err);
	}
	/* 33 nested arrays */
	memset(s + hlen, 0x91, 33);
	s[hlen + 33] = 1;
	struct read_outcome want, got;
	FILE *f = mem_file(s, hlen + 34);
	read_outcome(f, 0, NULL, NULL, &want);
	fclose(f);
	f = mem_file(s, hlen + 34);
	read_outcome(f, 1, NULL, NULL, &got);
	fclose(f);
	T_ASSERTF(want.last == -1 && strstr(want.err, "nests deeper") && same_outcome(&want, &got), "'%s' / '%s'",
		  want.err, got.err);
	free(copy);
	free(data);
}

/* sw_reserve / sw_commit write the same bytes as the packer, between packer writes and across buffer
 * flushes. */
static void test_writer_reserve(void)
{
	membuf a, b;
	membuf_open(&a);
	membuf_open(&b);
	stream_writer *wa = sw_open(a.f, "a"), *wb = sw_open(b.f, "b");
	msgpack_packer *pa = sw_packer(wa), *pb = sw_packer(wb);
	for (int k = 0; k < 200000; k++) {
		pack_record(pa, k);
		if (k % 3) {
			pack_record(pb, k);
			continue;
		}
		/* the record packed elsewhere, then copied into reserved room */
		msgpack_sbuffer sb;
		msgpack_sbuffer_init(&sb);
		msgpack_packer pk;
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		pack_record(&pk, k);
		unsigned char *room = sw_reserve(wb, 1000);
		T_ASSERT(room != NULL);
		memcpy(room, sb.data, sb.size);
		sw_commit(wb, sb.size);
		msgpack_sbuffer_destroy(&sb);
	}
	sw_close(wa);
	sw_close(wb);
	(void)membuf_close(&a);
	(void)membuf_close(&b);
	T_ASSERTF(a.len == b.len && a.len > (2u << 20) && memcmp(a.text, b.text, a.len) == 0, "%zu vs %zu bytes",
		  a.len, b.len);
	free(a.text);
	free(b.text);
}

/* ---- header checks ---- */

static void pack_format_value(msgpack_packer *pk, const void *arg)
{
	const char *format = arg;
	msgpack_pack_map(pk, 2);
	mp_pack_kv_int(pk, "n", 1);
	if (format)
		mp_pack_kv_str(pk, "format", format);
	else
		mp_pack_kv_int(pk, "format", 7);
}

static void pack_no_format(msgpack_packer *pk, const void *arg)
{
	(void)arg;
	msgpack_pack_map(pk, 1);
	mp_pack_kv_str(pk, "kind", "lfm.samples/1");
}

static void pack_array_first(msgpack_packer *pk, const void *arg)
{
	(void)arg;
	msgpack_pack_array(pk, 2);
	mp_pack_cstr(pk, "format");
	mp_pack_cstr(pk, "lfm.samples/1");
}

/* Open data as a stream; returns 1 if accepted, else 0 with the message in err. */
static int try_open(const char *data, size_t len, const char *name, const char *kind, int maxv, char *err,
		    size_t errsz)
{
	FILE *f = mem_file(data, len);
	stream_reader *r = sr_open(f, name, kind, maxv, err, errsz);
	int ok = r != NULL;
	sr_close(r);
	fclose(f);
	return ok;
}

static void test_header_checks(void)
{
	static const struct {
		const char *format;        /* NULL: "format" is an integer */
		const char *kind;
		int max_version;
		const char *expect;        /* NULL: accepted; else the exact message */
	} cases[] = {
		{"lfm.samples/1", "lfm.samples", 1, NULL},
		{"lfm.samples/1", NULL, INT_MAX, NULL},
		{"lfm.samples/2", "lfm.samples", 3, NULL},
		{"lfm.samples/123456789", "lfm.samples", INT_MAX, NULL},
		{"lfm.pairs/1", "lfm.samples", 1, "samples.msgpack: stream is lfm.pairs/1, expected lfm.samples"},
		{"lfm.samples/3", "lfm.samples", 1,
		 "samples.msgpack: lfm.samples/3 is newer than this tool understands (up to version 1)"},
		{"lfm.sample/1", "lfm.samples", 1, "samples.msgpack: stream is lfm.sample/1, expected lfm.samples"},
		{NULL, "lfm.samples", 1,
		 "samples.msgpack: not an lfm stream (header \"format\" is an integer, expected a string like "
		 "\"lfm.samples/1\")"},
		{"lfm.samples", NULL, 1,
		 "samples.msgpack: not an lfm stream (header format \"lfm.samples\" is not KIND/VERSION)"},
		{"lfm.samples/0", NULL, 1,
		 "samples.msgpack: not an lfm stream (header format \"lfm.samples/0\" is not KIND/VERSION)"},
		{"lfm.samples/01", NULL, 9, "samples.msgpack: not an lfm stream (header format \"lfm.samples/01\" "
					    "is not KIND/VERSION)"},
		{"lfm.samples/1x", NULL, 9, "samples.msgpack: not an lfm stream (header format \"lfm.samples/1x\" "
					    "is not KIND/VERSION)"},
		{"lfm.samples/-1", NULL, 9, "samples.msgpack: not an lfm stream (header format \"lfm.samples/-1\" "
					    "is not KIND/VERSION)"},
		{"/1", NULL, 9, "samples.msgpack: not an lfm stream (header format \"/1\" is not KIND/VERSION)"},
		{"lfm samples/1", NULL, 9,
		 "samples.msgpack: not an lfm stream (header format \"lfm samples/1\" is not KIND/VERSION)"},
		{"lfm.samples/9999999999", NULL, INT_MAX, "samples.msgpack: not an lfm stream (header format "
							  "\"lfm.samples/9999999999\" is not KIND/VERSION)"},
		{"\x01\"x/1", NULL, 9,
		 "samples.msgpack: not an lfm stream (header format \"\\x01\\x22x/1\" is not KIND/VERSION)"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len;
		char *data = pack_bytes(pack_format_value, cases[i].format, &len);
		char err[320] = "";
		int ok = try_open(data, len, "samples.msgpack", cases[i].kind, cases[i].max_version, err,
				  sizeof err);
		free(data);
		if (!cases[i].expect)
			T_ASSERTF(ok, "case %zu refused: %s", i, err);
		else
			T_ASSERTF(!ok && strcmp(err, cases[i].expect) == 0, "case %zu: '%s'", i, err);
	}
}

static void test_missing_format_and_not_a_map(void)
{
	size_t len;
	char err[320];
	char *data = pack_bytes(pack_no_format, NULL, &len);
	T_ASSERT(!try_open(data, len, "x", NULL, INT_MAX, err, sizeof err));
	free(data);
	T_ASSERTF(strcmp(err, "x: not an lfm stream (the header map has no \"format\" entry)") == 0, "'%s'", err);

	data = pack_bytes(pack_array_first, NULL, &len);
	T_ASSERT(!try_open(data, len, "stdin", "lfm.samples", 1, err, sizeof err));
	free(data);
	T_ASSERTF(strcmp(err, "stdin: not an lfm stream (first object is an array, expected a header map)") == 0,
		  "'%s'", err);

	/* A text file: its first byte parses as a small integer. */
	T_ASSERT(!try_open("hello\n", 6, "notes.txt", NULL, INT_MAX, err, sizeof err));
	T_ASSERTF(strcmp(err, "notes.txt: not an lfm stream (first object is an integer, expected a header "
			      "map)") == 0,
		  "'%s'", err);
}

static void test_empty_input(void)
{
	char err[320];
	T_ASSERT(!try_open("", 0, "x", "lfm.samples", 1, err, sizeof err));
	T_ASSERTF(strcmp(err, "x: empty input (no stream header)") == 0, "'%s'", err);
	/* and through a pipe that closes at once */
	pid_t pid;
	FILE *f = feed_pipe("", 0, 1, &pid);
	T_ASSERT(sr_open(f, "stdin", NULL, INT_MAX, err, sizeof err) == NULL);
	T_ASSERT(reap(f, pid) == 0);
	T_ASSERTF(strcmp(err, "stdin: empty input (no stream header)") == 0, "'%s'", err);
}

/* ---- broken input ---- */

/* Every proper prefix of a small stream: refused at open, or records up to the cut and then "truncated"
 * (or a clean end exactly at a record boundary); never a crash. */
static void test_truncated_at_every_byte(void)
{
	const int nrec = 4;
	size_t len;
	char *data = make_stream("lfm.test/1", nrec, &len);
	/* Where each object ends, found with msgpack-c alone. */
	size_t ends[8];
	size_t off = 0;
	msgpack_zone z;
	msgpack_zone_init(&z, 2048);
	for (int k = 0; k <= nrec; k++) {
		msgpack_object o;
		T_ASSERT(msgpack_unpack(data, len, &off, &z, &o) >= 0);
		ends[k] = off;
	}
	msgpack_zone_destroy(&z);
	T_ASSERT(ends[nrec] == len);
	for (size_t cut = 0; cut < len; cut++) {
		char err[320];
		FILE *f = mem_file(data, cut);
		stream_reader *r = sr_open(f, "cut", "lfm.test", 1, err, sizeof err);
		if (cut < ends[0]) {
			T_ASSERTF(r == NULL, "cut %zu", cut);
			if (cut == 0)
				T_ASSERTF(strcmp(err, "cut: empty input (no stream header)") == 0, "'%s'", err);
			else
				T_ASSERTF(strncmp(err, "cut: truncated inside the stream header", 39) == 0, "cut %zu: '%s'",
					  cut, err);
			fclose(f);
			continue;
		}
		T_ASSERTF(r != NULL, "cut %zu: %s", cut, err);
		int whole = 0; /* records entirely before the cut */
		while (whole < nrec && ends[whole + 1] <= cut)
			whole++;
		msgpack_object o;
		for (int k = 1; k <= whole; k++) {
			T_ASSERTF(sr_next(r, &o) == 1, "cut %zu record %d: %s", cut, k, sr_error(r));
			T_ASSERT(check_record(&o, k) == NULL);
		}
		int got = sr_next(r, &o);
		if (cut == ends[whole]) {
			T_ASSERTF(got == 0, "cut %zu at a boundary: %d %s", cut, got, sr_error(r));
		} else {
			char expect[64];
			snprintf(expect, sizeof expect, "cut: truncated inside record %d (", whole + 1);
			T_ASSERTF(got == -1 && strncmp(sr_error(r), expect, strlen(expect)) == 0, "cut %zu: %d '%s'",
				  cut, got, sr_error(r));
			T_ASSERT(sr_next(r, &o) == -1); /* errors are sticky */
		}
		sr_close(r);
		fclose(f);
	}
	free(data);
}

static void test_garbage(void)
{
	size_t len;
	char *data = make_stream("lfm.test/1", 2, &len);
	char *bad = malloc(len + 8);
	memcpy(bad, data, len);
	memcpy(bad + len, "\xc1\x01\x02\x03", 4);
	FILE *f = mem_file(bad, len + 4);
	stream_reader *r = sr_open_or_die(f, "g.msgpack", "lfm.test", 1);
	msgpack_object o;
	T_ASSERT(sr_next(r, &o) == 1 && sr_next(r, &o) == 1);
	T_ASSERT(sr_next(r, &o) == -1);
	char expect[96];
	snprintf(expect, sizeof expect, "g.msgpack: malformed msgpack at record 3 (byte 0xc1 at offset %zu)", len);
	T_ASSERTF(strcmp(sr_error(r), expect) == 0, "'%s'", sr_error(r));
	sr_close(r);
	fclose(f);

	/* 0xc1 inside a record, after some valid fields */
	memcpy(bad + len, "\x82\xa1" "a\x01\xc1", 5);
	f = mem_file(bad, len + 5);
	r = sr_open_or_die(f, "g", "lfm.test", 1);
	T_ASSERT(sr_next(r, &o) == 1 && sr_next(r, &o) == 1 && sr_next(r, &o) == -1);
	T_ASSERTF(strstr(sr_error(r), "malformed msgpack at record 3") != NULL, "'%s'", sr_error(r));
	sr_close(r);
	fclose(f);

	char err[320];
	T_ASSERT(!try_open("\xc1junk", 5, "j", NULL, INT_MAX, err, sizeof err));
	T_ASSERTF(strcmp(err, "j: malformed msgpack in the stream header (byte 0xc1 at offset 0)") == 0, "'%s'", err);
	free(bad);
	free(data);
}

/* Corrupt lengths are refused before anything is allocated for them; nesting is bounded. */
static void test_bounded_memory_and_depth(void)
{
	size_t len;
	char *data = make_stream("lfm.test/1", 0, &len);
	static const struct {
		const char *bytes;
		size_t n;
		const char *expect;
	} cases[] = {
		{"\xdd\xff\xff\xff\xff", 5, "record 1 is too large"},        /* array of 4G elements */
		{"\xdf\x10\x00\x00\x00", 5, "record 1 is too large"},        /* map of 268M pairs */
		{"\xdb\xff\xff\xff\xff", 5, "record 1 is too large"},        /* str of 4 GiB */
		{"\xc6\x10\x00\x00\x01", 5, "record 1 is too large"},        /* bin of 256 MiB + 1 */
		{"\xc9\xff\xff\xff\xf0\x01", 6, "record 1 is too large"},    /* ext of 4 GiB */
		{"\x91\x91\xdd\x7f\xff\xff\xff", 7, "record 1 is too large"}, /* nested */
		{"\xdd\x00\x01\x00\x00", 5, "truncated inside record 1"},    /* 65536 elements, none present */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *s = malloc(len + cases[i].n);
		memcpy(s, data, len);
		memcpy(s + len, cases[i].bytes, cases[i].n);
		FILE *f = mem_file(s, len + cases[i].n);
		stream_reader *r = sr_open_or_die(f, "m", "lfm.test", 1);
		msgpack_object o;
		int got = sr_next(r, &o);
		T_ASSERTF(got == -1 && strstr(sr_error(r), cases[i].expect), "case %zu: %d '%s'", i, got,
			  sr_error(r));
		sr_close(r);
		fclose(f);
		free(s);
	}
	/* 32 nested arrays are what msgpack-c handles; 33 are refused with a message. */
	for (int depth = 31; depth <= 34; depth++) {
		char s[256];
		memcpy(s, data, len);
		memset(s + len, 0x91, (size_t)depth);
		s[len + (size_t)depth] = 0x05;
		FILE *f = mem_file(s, len + (size_t)depth + 1);
		stream_reader *r = sr_open_or_die(f, "d", "lfm.test", 1);
		msgpack_object o;
		int got = sr_next(r, &o);
		if (depth <= 32) {
			T_ASSERTF(got == 1, "depth %d: %s", depth, sr_error(r));
			const msgpack_object *p = &o;
			for (int k = 0; k < depth; k++) {
				T_ASSERT(p->type == MSGPACK_OBJECT_ARRAY && p->via.array.size == 1);
				p = p->via.array.ptr;
			}
			T_ASSERT(p->type == MSGPACK_OBJECT_POSITIVE_INTEGER && p->via.u64 == 5);
			T_ASSERT(sr_next(r, &o) == 0);
		} else {
			T_ASSERTF(got == -1 && strstr(sr_error(r), "record 1 nests deeper than 32 levels"), "'%s'",
				  sr_error(r));
		}
		sr_close(r);
		fclose(f);
	}
	free(data);
}

/* ---- map helpers ---- */

static void pack_helper_map(msgpack_packer *pk, const void *arg)
{
	(void)arg;
	msgpack_pack_map(pk, 9);
	mp_pack_kv_int(pk, "pos", 12);
	mp_pack_kv_int(pk, "neg", INT64_MIN);
	mp_pack_kv_uint(pk, "huge", UINT64_MAX);
	mp_pack_kv_f64(pk, "f", 2.5);
	mp_pack_kv_str(pk, "s", "héllo");
	mp_pack_cstr(pk, "nul");
	msgpack_pack_str(pk, 3);
	msgpack_pack_str_body(pk, "a\0b", 3);
	mp_pack_kv_bool(pk, "b", 1);
	msgpack_pack_uint8(pk, 7); /* an integer key */
	msgpack_pack_nil(pk);
	mp_pack_kv_int(pk, "pos", 99); /* a duplicate: the first wins */
}

static void test_map_helpers(void)
{
	size_t len;
	char *data = pack_bytes(pack_helper_map, NULL, &len);
	msgpack_zone z;
	msgpack_zone_init(&z, 2048);
	msgpack_object m;
	size_t off = 0;
	T_ASSERT(msgpack_unpack(data, len, &off, &z, &m) == MSGPACK_UNPACK_SUCCESS);
	int64_t i;
	double d;
	T_ASSERT(mp_get_int(&m, "pos", &i) == 0 && i == 12);
	T_ASSERT(mp_get_int(&m, "neg", &i) == 0 && i == INT64_MIN);
	T_ASSERT(mp_get_int(&m, "huge", &i) == -1);   /* out of int64 range */
	T_ASSERT(mp_get_int(&m, "f", &i) == -1);      /* wrong type */
	T_ASSERT(mp_get_int(&m, "absent", &i) == -1);
	T_ASSERT(mp_get_f64(&m, "f", &d) == 0 && d == 2.5);
	T_ASSERT(mp_get_f64(&m, "pos", &d) == 0 && d == 12.0);
	T_ASSERT(mp_get_f64(&m, "neg", &d) == 0 && d == (double)INT64_MIN);
	T_ASSERT(mp_get_f64(&m, "s", &d) == -1);
	char *s = mp_get_str(&m, "s");
	T_ASSERT(s && strcmp(s, "héllo") == 0);
	free(s);
	T_ASSERT(mp_get_str(&m, "nul") == NULL); /* embedded NUL */
	T_ASSERT(mp_get_str(&m, "pos") == NULL);
	T_ASSERT(mp_get_str(&m, "absent") == NULL);
	T_ASSERT(mp_str_eq(mp_map_get(&m, "s"), "héllo"));
	T_ASSERT(!mp_str_eq(mp_map_get(&m, "s"), "héll"));
	T_ASSERT(!mp_str_eq(mp_map_get(&m, "s"), "héllo!"));
	T_ASSERT(!mp_str_eq(mp_map_get(&m, "pos"), "12"));
	T_ASSERT(!mp_str_eq(NULL, "x"));
	T_ASSERT(mp_map_get(&m, "7") == NULL); /* integer keys are not strings */
	T_ASSERT(mp_map_get(mp_map_get(&m, "pos"), "x") == NULL); /* not a map */
	T_ASSERT(mp_map_get(NULL, "x") == NULL);
	msgpack_zone_destroy(&z);
	free(data);
}

static void test_command_quoting(void)
{
	char *argv[] = {"lfm-pairs", "--tau", "0.05", "my file.msgpack", "it's", "", "a\"b", "x=1,y:2/z@%+"};
	int argc = (int)(sizeof argv / sizeof argv[0]);
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	mp_pack_kv_command(&pk, "command", argc, argv);
	msgpack_zone z;
	msgpack_zone_init(&z, 2048);
	msgpack_object o;
	size_t off = 0;
	T_ASSERT(msgpack_unpack(sb.data, sb.size, &off, &z, &o) == MSGPACK_UNPACK_SUCCESS);
	char *cmd = mp_get_str(&o, "command");
	const char *expect = "lfm-pairs --tau 0.05 'my file.msgpack' 'it'\\''s' '' 'a\"b' x=1,y:2/z@%+";
	T_ASSERTF(cmd && strcmp(cmd, expect) == 0, "'%s'", cmd);
	free(cmd);
	msgpack_zone_destroy(&z);
	msgpack_sbuffer_destroy(&sb);
}

/* The writer's own encoding of keys and numbers is byte for byte msgpack-c's. */
static void test_pack_helpers_encode_like_msgpack_c(void)
{
	static const int64_t ints[] = {0, 1, 31, 127, 128, 255, 256, 65535, 65536, 4294967295LL, 4294967296LL,
				       INT64_MAX, -1, -31, -32, -33, -127, -128, -129, -32767, -32768, -32769,
				       INT32_MIN, (int64_t)INT32_MIN - 1, INT64_MIN};
	static const uint64_t uints[] = {0, 127, 128, 255, 256, 65535, 65536, 4294967295u, 4294967296u,
					 UINT64_MAX};
	static const double reals[] = {0.0, -0.0, 1.5, -1e300, 5e-324};
	static const char *keys[] = {"", "i", "a key of exactly thirty-one ch", "a key of exactly thirty-two cha",
				     "a much longer key that needs the str8 form of msgpack"};
	membuf m;
	membuf_open(&m);
	stream_writer *w = sw_open(m.f, "mem");
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer ref;
	msgpack_packer_init(&ref, &sb, msgpack_sbuffer_write);
	msgpack_packer *pk = sw_packer(w);
	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		const char *key = keys[k];
		size_t kl = strlen(key);
#define REF_KEY() (msgpack_pack_str(&ref, kl), msgpack_pack_str_body(&ref, key, kl))
		for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
			mp_pack_kv_int(pk, key, ints[i]);
			REF_KEY();
			msgpack_pack_int64(&ref, ints[i]);
		}
		for (size_t i = 0; i < sizeof uints / sizeof uints[0]; i++) {
			mp_pack_kv_uint(pk, key, uints[i]);
			REF_KEY();
			msgpack_pack_uint64(&ref, uints[i]);
		}
		for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
			mp_pack_kv_f64(pk, key, reals[i]);
			REF_KEY();
			msgpack_pack_double(&ref, reals[i]);
		}
		mp_pack_kv_bool(pk, key, 1);
		REF_KEY();
		msgpack_pack_true(&ref);
		mp_pack_kv_bool(pk, key, 0);
		REF_KEY();
		msgpack_pack_false(&ref);
		mp_pack_kv_str(pk, key, key);
		REF_KEY();
		REF_KEY();
#undef REF_KEY
	}
	sw_close(w);
	(void)membuf_close(&m);
	int same = m.len == sb.size && memcmp(m.text, sb.data, sb.size) == 0;
	size_t at = 0;
	while (at < m.len && at < sb.size && m.text[at] == sb.data[at])
		at++;
	free(m.text);
	msgpack_sbuffer_destroy(&sb);
	T_ASSERTF(same, "first difference at byte %zu", at);
}

/* ---- JSON ---- */

typedef void (*pack_fn)(msgpack_packer *);
static void j_nil(msgpack_packer *p) { msgpack_pack_nil(p); }
static void j_true(msgpack_packer *p) { msgpack_pack_true(p); }
static void j_false(msgpack_packer *p) { msgpack_pack_false(p); }
static void j_zero(msgpack_packer *p) { msgpack_pack_uint8(p, 0); }
static void j_u64max(msgpack_packer *p) { msgpack_pack_uint64(p, UINT64_MAX); }
static void j_m33(msgpack_packer *p) { msgpack_pack_int64(p, -33); }
static void j_i64min(msgpack_packer *p) { msgpack_pack_int64(p, INT64_MIN); }
static void j_one(msgpack_packer *p) { msgpack_pack_double(p, 1.0); }
static void j_tenth(msgpack_packer *p) { msgpack_pack_double(p, 0.1); }
static void j_third(msgpack_packer *p) { msgpack_pack_double(p, 1.0 / 3); }
static void j_big(msgpack_packer *p) { msgpack_pack_double(p, 1e300); }
static void j_tiny(msgpack_packer *p) { msgpack_pack_double(p, 5e-324); }
static void j_negzero(msgpack_packer *p) { msgpack_pack_double(p, -0.0); }
static void j_f32_tenth(msgpack_packer *p) { msgpack_pack_float(p, 0.1f); }
static void j_f32_third(msgpack_packer *p) { msgpack_pack_float(p, 1.0f / 3); }
static void j_f32_2p24(msgpack_packer *p) { msgpack_pack_float(p, 16777216.0f); }
static void j_nan(msgpack_packer *p) { msgpack_pack_double(p, NAN); }
static void j_inf(msgpack_packer *p) { msgpack_pack_double(p, INFINITY); }
static void j_ninf(msgpack_packer *p) { msgpack_pack_float(p, -INFINITY); }
static void j_str(msgpack_packer *p) { mp_pack_cstr(p, "a\"b\\c\n\x01é"); }
static void j_badutf8(msgpack_packer *p)
{
	msgpack_pack_str(p, 3);
	msgpack_pack_str_body(p, "a\xffz", 3);
}
static void j_bin(msgpack_packer *p)
{
	msgpack_pack_bin(p, 4);
	msgpack_pack_bin_body(p, "foob", 4);
}
static void j_bin5(msgpack_packer *p)
{
	msgpack_pack_bin(p, 5);
	msgpack_pack_bin_body(p, "fooba", 5);
}
static void j_bin_empty(msgpack_packer *p) { msgpack_pack_bin(p, 0); }
static void j_bin_bytes(msgpack_packer *p)
{
	msgpack_pack_bin(p, 3);
	msgpack_pack_bin_body(p, "\xfb\xff\x00", 3);
}
static void j_array(msgpack_packer *p)
{
	msgpack_pack_array(p, 4);
	msgpack_pack_int(p, 1);
	mp_pack_cstr(p, "x");
	msgpack_pack_nil(p);
	msgpack_pack_array(p, 0);
}
static void j_map(msgpack_packer *p)
{
	msgpack_pack_map(p, 6);
	mp_pack_kv_int(p, "a", 1);
	msgpack_pack_int(p, 2);
	mp_pack_cstr(p, "two");
	msgpack_pack_nil(p);
	msgpack_pack_true(p);
	msgpack_pack_array(p, 2);
	msgpack_pack_int(p, 1);
	mp_pack_cstr(p, "q\"");
	msgpack_pack_map(p, 0);
	msgpack_pack_bin(p, 2);
	msgpack_pack_bin_body(p, "hi", 2);
	msgpack_pack_int(p, 3);
	msgpack_pack_double(p, 1.5);
	msgpack_pack_false(p);
}
static void j_ext(msgpack_packer *p)
{
	msgpack_pack_ext(p, 3, 5);
	msgpack_pack_ext_body(p, "abc", 3);
}
static void j_ext_neg(msgpack_packer *p)
{
	msgpack_pack_ext(p, 0, -1);
}

static void test_json_output(void)
{
	static const struct {
		pack_fn fn;
		const char *json;
	} cases[] = {
		{j_nil, "null"},
		{j_true, "true"},
		{j_false, "false"},
		{j_zero, "0"},
		{j_u64max, "18446744073709551615"},
		{j_m33, "-33"},
		{j_i64min, "-9223372036854775808"},
		{j_one, "1.0"},
		{j_tenth, "0.1"},
		{j_third, "0.3333333333333333"},
		{j_big, "1e+300"},
		{j_tiny, "5e-324"},
		{j_negzero, "-0.0"},
		{j_f32_tenth, "0.1"},
		{j_f32_third, "0.33333334"},
		{j_f32_2p24, "16777216.0"},
		{j_nan, "\"NaN\""},
		{j_inf, "\"Infinity\""},
		{j_ninf, "\"-Infinity\""},
		{j_str, "\"a\\\"b\\\\c\\n\\u0001é\""},
		{j_badutf8, "\"a\\ufffdz\""},
		{j_bin, "\"Zm9vYg==\""},
		{j_bin5, "\"Zm9vYmE=\""},
		{j_bin_empty, "\"\""},
		{j_bin_bytes, "\"+/8A\""},
		{j_array, "[1,\"x\",null,[]]"},
		{j_map, "{\"a\":1,\"2\":\"two\",\"null\":true,\"[1,\\\"q\\\\\\\"\\\"]\":{},\"aGk=\":3,\"1.5\":false}"},
		{j_ext, "{\"ext\":5,\"data\":\"YWJj\"}"},
		{j_ext_neg, "{\"ext\":-1,\"data\":\"\"}"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		msgpack_sbuffer sb;
		msgpack_sbuffer_init(&sb);
		msgpack_packer pk;
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		cases[i].fn(&pk);
		msgpack_zone z;
		msgpack_zone_init(&z, 2048);
		msgpack_object o;
		size_t off = 0;
		T_ASSERT(msgpack_unpack(sb.data, sb.size, &off, &z, &o) == MSGPACK_UNPACK_SUCCESS);
		membuf m;
		membuf_open(&m);
		mp_write_json(m.f, &o);
		(void)membuf_close(&m);
		int same = strcmp(m.text, cases[i].json) == 0;
		char got[256];
		snprintf(got, sizeof got, "%s", m.text);
		free(m.text);
		msgpack_zone_destroy(&z);
		msgpack_sbuffer_destroy(&sb);
		T_ASSERTF(same, "case %zu: got %s, expected %s", i, got, cases[i].json);
	}
}

/* Significant digits of a decimal like "-0.00123e+5" or "1200.0": leading and trailing zeros dropped. */
/* Maps used as keys of maps, 31 deep: every level escapes the one below again, so the key text is cut
 * (at 64 KiB, marked "...") instead of doubling 31 times; keys below the cut are written whole. */
static void test_json_nested_keys_bounded(void)
{
	for (int depth = 1; depth <= 31; depth += 30) {
		msgpack_sbuffer sb;
		msgpack_sbuffer_init(&sb);
		msgpack_packer pk;
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		for (int d = 0; d < depth; d++)
			msgpack_pack_map(&pk, 1); /* its key is the next map */
		mp_pack_cstr(&pk, "k");
		msgpack_pack_int(&pk, 1);
		for (int d = 1; d < depth; d++) /* the values of the outer maps */
			msgpack_pack_int(&pk, d);
		msgpack_zone z;
		msgpack_zone_init(&z, 4096);
		msgpack_object o;
		size_t off = 0;
		T_ASSERT(msgpack_unpack(sb.data, sb.size, &off, &z, &o) == MSGPACK_UNPACK_SUCCESS);
		membuf m;
		membuf_open(&m);
		double t0 = now_s();
		mp_write_json(m.f, &o);
		double dt = now_s() - t0;
		(void)membuf_close(&m);
		if (depth == 1)
			T_ASSERTF(strcmp(m.text, "{\"k\":1}") == 0, "'%s'", m.text);
		else
			T_ASSERTF(m.len < (1u << 20) && strstr(m.text, "...") && dt < 2, "%zu bytes in %.2f s", m.len, dt);
		free(m.text);
		msgpack_zone_destroy(&z);
		msgpack_sbuffer_destroy(&sb);
	}
	/* an array key of 20000 integers: its text, over 64 KiB, is cut and marked */
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_array(&pk, 20000);
	for (int k = 0; k < 20000; k++)
		msgpack_pack_int(&pk, 1000 + k);
	msgpack_pack_nil(&pk);
	msgpack_zone z;
	msgpack_zone_init(&z, 4096);
	msgpack_object o;
	size_t off = 0;
	T_ASSERT(msgpack_unpack(sb.data, sb.size, &off, &z, &o) == MSGPACK_UNPACK_SUCCESS);
	membuf m;
	membuf_open(&m);
	mp_write_json(m.f, &o);
	(void)membuf_close(&m);
	size_t want = 2 + (64u << 10) + 3 + 7; /* {" TEXT ... ":null} */
	T_ASSERTF(m.len == want && strncmp(m.text, "{\"[1000,1001,", 13) == 0 &&
		  strcmp(m.text + m.len - 10, "...\":null}") == 0, "%zu bytes: ...%s", m.len, m.text + m.len - 20);
	free(m.text);
	msgpack_zone_destroy(&z);
	msgpack_sbuffer_destroy(&sb);
}

static int sig_digits(const char *s)
{
	char d[64];
	int n = 0;
	for (; *s && *s != 'e' && n < 63; s++)
		if (*s >= '0' && *s <= '9' && (n > 0 || *s != '0'))
			d[n++] = *s;
	while (n > 0 && d[n - 1] == '0')
		n--;
	return n;
}

/* Random doubles and floats (fixed seed) print as decimals that read back to the same bits, and no
 * shorter than needed: one digit fewer does not round-trip. */
static void test_json_floats_round_trip(void)
{
	uint64_t s = 0x9e3779b97f4a7c15u;
	for (int n = 0; n < 20000; n++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		int is_f32 = n & 1;
		double v;
		msgpack_object o;
		if (is_f32) {
			uint32_t bits = (uint32_t)(s >> 32);
			float fv;
			memcpy(&fv, &bits, 4);
			if (!isfinite(fv))
				continue;
			v = fv;
			o.type = MSGPACK_OBJECT_FLOAT32;
		} else {
			memcpy(&v, &s, 8);
			if (!isfinite(v))
				continue;
			o.type = MSGPACK_OBJECT_FLOAT64;
		}
		o.via.f64 = v;
		char buf[64];
		FILE *f = fmemopen(buf, sizeof buf, "w");
		mp_write_json(f, &o);
		fclose(f);
		double back = strtod(buf, NULL);
		T_ASSERTF(is_f32 ? (float)back == (float)v : back == v, "%s for %.17g", buf, v);
		int digits = sig_digits(buf);
		if (digits <= 1)
			continue;
		char shorter[320];
		snprintf(shorter, sizeof shorter, "%.*g", digits - 1, v);
		double sb = strtod(shorter, NULL);
		T_ASSERTF(!(is_f32 ? (float)sb == (float)v : sb == v), "%s could be %s", buf, shorter);
	}
}

/* ---- death tests ---- */

static void do_open_wrong_kind(void *arg)
{
	size_t len;
	char *data = pack_bytes(pack_format_value, "lfm.pairs/1", &len);
	FILE *f = mem_file(data, len);
	sr_open_or_die(f, (const char *)arg, "lfm.samples", 1);
}

static void do_next_truncated(void *arg)
{
	size_t len;
	char *data = make_stream("lfm.test/1", 3, &len);
	FILE *f = mem_file(data, len - 2);
	stream_reader *r = sr_open_or_die(f, (const char *)arg, "lfm.test", 1);
	msgpack_object o;
	while (sr_next_or_die(r, &o) == 1)
		;
}

static void do_write_full(void *arg)
{
	FILE *f = fopen("/dev/full", "wb");
	if (!f)
		exit(99);
	stream_writer *w = sw_open(f, (const char *)arg);
	for (int k = 0; k < 10; k++)
		pack_record(sw_packer(w), k);
	sw_close(w);
	exit(0);
}

static void do_write_closed_pipe(void *arg)
{
	int fd[2];
	if (pipe(fd) != 0)
		exit(99);
	close(fd[0]);
	FILE *f = fdopen(fd[1], "wb");
	stream_writer *w = sw_open(f, (const char *)arg);
	for (int k = 0; k < 200000; k++) /* more than the writer's buffer: the write happens before close */
		pack_record(sw_packer(w), k);
	exit(98); /* not reached: the failed write ends the process */
}

static void test_dying_variants(void)
{
	char err[512];
	int st = t_expect_exit(do_open_wrong_kind, "samples.msgpack", err, sizeof err);
	T_ASSERTF(st == LFM_EXIT_DATA, "status %d", st);
	char expect[256];
	snprintf(expect, sizeof expect, "%s: samples.msgpack: stream is lfm.pairs/1, expected lfm.samples\n",
		 lfm_progname());
	T_ASSERTF(strcmp(err, expect) == 0, "'%s'", err);
	st = t_expect_exit(do_next_truncated, "plan.msgpack", err, sizeof err);
	T_ASSERTF(st == LFM_EXIT_DATA, "status %d", st);
	snprintf(expect, sizeof expect, "%s: plan.msgpack: truncated inside record 3 (", lfm_progname());
	T_ASSERTF(strncmp(err, expect, strlen(expect)) == 0, "'%s'", err);
	if (access("/dev/full", W_OK) == 0) {
		st = t_expect_exit(do_write_full, "out.msgpack", err, sizeof err);
		T_ASSERTF(st == LFM_EXIT_IO, "status %d", st);
		snprintf(expect, sizeof expect, "%s: out.msgpack: write error: No space left on device\n",
			 lfm_progname());
		T_ASSERTF(strcmp(err, expect) == 0, "'%s'", err);
	}
	/* a reader that has gone: quiet, status 0 (lfm(7)) */
	st = t_expect_exit(do_write_closed_pipe, "stdout", err, sizeof err);
	T_ASSERTF(st == LFM_EXIT_OK && err[0] == 0, "status %d, '%s'", st, err);
}

int main(int argc, char **argv)
{
	(void)argc;
	lfm_init(argv[0]); /* message prefix, and SIGPIPE ignored as in every tool */
	T_RUN(test_round_trip_through_tiny_pipe_pieces);
	T_RUN(test_big_stream_and_large_record);
	T_RUN(test_million_records_through_a_pipe);
	T_RUN(test_decoder_agrees_with_msgpack_c);
	T_RUN(test_raw_records_are_the_written_bytes);
	T_RUN(test_raw_errors_are_sr_next_errors);
	T_RUN(test_writer_reserve);
	T_RUN(test_header_checks);
	T_RUN(test_missing_format_and_not_a_map);
	T_RUN(test_empty_input);
	T_RUN(test_truncated_at_every_byte);
	T_RUN(test_garbage);
	T_RUN(test_bounded_memory_and_depth);
	T_RUN(test_map_helpers);
	T_RUN(test_command_quoting);
	T_RUN(test_pack_helpers_encode_like_msgpack_c);
	T_RUN(test_json_output);
	T_RUN(test_json_floats_round_trip);
	T_RUN(test_json_nested_keys_bounded);
	T_RUN(test_dying_variants);
	return t_summary();
}
