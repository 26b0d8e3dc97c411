/* fuzz_stream.c — libFuzzer target for the msgpack stream reader: sr_open (any kind and version) and then
 * every record of arbitrary bytes, each object written as JSON (to /dev/null) and looked into with the map
 * helpers. The records are read with sr_next, with sr_next_raw (the raw bytes, then sr_decode_raw), and
 * with the two in turn. Checks, beyond not crashing:
 *   - every object the reader accepts is the object msgpack_unpack decodes from the same bytes, and every
 *     raw record is exactly the bytes msgpack_unpack consumes for it;
 *   - the outcome (records, final error message) is the same for sr_next, sr_next_raw and the two in
 *     turn, and when the bytes arrive through a pipe in pieces of a few bytes as when they come from
 *     memory all at once.
 * Only non-dying calls are used. */
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/stream.h"

static FILE *devnull;

struct outcome {
	int opened;
	uint64_t records;
	char err[400];
};

static void repack(const msgpack_object *o, msgpack_sbuffer *sb)
{
	msgpack_sbuffer_clear(sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_object(&pk, *o);
}

/* Whether o is what msgpack-c decodes at data[*off]; advances *off past it. */
static int same_as_msgpack_c(const msgpack_object *o, const uint8_t *data, size_t size, size_t *off,
			     msgpack_zone *z)
{
	msgpack_object ref;
	msgpack_zone_clear(z);
	msgpack_unpack_return ret = msgpack_unpack((const char *)data, size, off, z, &ref);
	if (ret != MSGPACK_UNPACK_SUCCESS && ret != MSGPACK_UNPACK_EXTRA_BYTES)
		return 0;
	msgpack_sbuffer a, b;
	msgpack_sbuffer_init(&a);
	msgpack_sbuffer_init(&b);
	repack(o, &a);
	repack(&ref, &b);
	int same = a.size == b.size && memcmp(a.data, b.data, a.size) == 0;
	msgpack_sbuffer_destroy(&a);
	msgpack_sbuffer_destroy(&b);
	return same;
}

static void look_into(const msgpack_object *o)
{
	mp_write_json(devnull, o);
	int64_t i;
	double d;
	mp_get_int(o, "i", &i);
	mp_get_f64(o, "x", &d);
	free(mp_get_str(o, "format"));
	mp_str_eq(mp_map_get(o, "format"), "lfm.samples/1");
}

enum read_mode { WITH_NEXT, WITH_RAW, IN_TURN };

/* Read the whole stream from f in the given mode; with data given, compare each object with msgpack-c's
 * decoding, and each raw record with the bytes msgpack-c consumes for it. */
static void read_all(FILE *f, enum read_mode mode, const uint8_t *data, size_t size, struct outcome *out)
{
	memset(out, 0, sizeof *out);
	stream_reader *r = sr_open(f, "fuzz", NULL, INT_MAX, out->err, sizeof out->err);
	if (!r)
		return;
	out->opened = 1;
	msgpack_zone z;
	msgpack_zone_init(&z, 4096);
	size_t off = 0;
	look_into(sr_header(r));
	if (data && !same_as_msgpack_c(sr_header(r), data, size, &off, &z))
		abort();
	msgpack_object o;
	int got;
	for (uint64_t k = 1;; k++) {
		if (mode == WITH_NEXT || (mode == IN_TURN && k % 2 == 0)) {
			if ((got = sr_next(r, &o)) != 1)
				break;
		} else {
			const unsigned char *p;
			size_t n;
			if ((got = sr_next_raw(r, &p, &n)) != 1)
				break;
			/* the raw bytes are the record's: where it starts in data, and as long as msgpack-c
			 * finds it (same_as_msgpack_c below advances off past it) */
			if (data && (n > size - off || memcmp(p, data + off, n) != 0))
				abort();
			size_t start = off;
			if (sr_decode_raw(r, &o) != 0)
				abort(); /* only out of memory may fail here */
			if (data && (!same_as_msgpack_c(&o, data, size, &off, &z) || off - start != n))
				abort();
			look_into(&o);
			continue;
		}
		look_into(&o);
		if (data && !same_as_msgpack_c(&o, data, size, &off, &z))
			abort();
	}
	if (got == 0 && data && off != size)
		abort(); /* a clean end must be the end of the bytes */
	out->records = sr_records_read(r);
	snprintf(out->err, sizeof out->err, "%s", sr_error(r));
	msgpack_zone_destroy(&z);
	sr_close(r);
}

static int same_outcome(const struct outcome *a, const struct outcome *b)
{
	return a->opened == b->opened && a->records == b->records && strcmp(a->err, b->err) == 0;
}

struct feeder {
	int fd;
	const uint8_t *data;
	size_t size;
};

/* Writes the input in pieces of 1..7 bytes (larger for larger inputs, to keep the fuzzer fast). */
static void *feed(void *arg)
{
	struct feeder *fe = arg;
	size_t off = 0, max_piece = fe->size <= 512 ? 7 : fe->size <= 8192 ? 61 : 509;
	while (off < fe->size) {
		size_t piece = 1 + (fe->data[off] * 31u + off) % max_piece;
		if (piece > fe->size - off)
			piece = fe->size - off;
		ssize_t got = write(fe->fd, fe->data + off, piece);
		if (got <= 0)
			break; /* the reader stopped early and closed its end */
		off += (size_t)got;
	}
	close(fe->fd);
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!devnull) {
		devnull = fopen("/dev/null", "w");
		signal(SIGPIPE, SIG_IGN); /* the feeder may write after the reader has given up */
		if (!devnull)
			abort();
	}
	struct outcome whole;
	for (int mode = WITH_NEXT; mode <= IN_TURN; mode++) {
		struct outcome o;
		FILE *f = fmemopen((void *)data, size, "rb");
		if (!f)
			return 0;
		read_all(f, (enum read_mode)mode, data, size, mode == WITH_NEXT ? &whole : &o);
		fclose(f);
		if (mode != WITH_NEXT && !same_outcome(&whole, &o))
			abort();
	}
	/* through a pipe in pieces: sr_next, then sr_next_raw */
	for (int mode = WITH_NEXT; mode <= WITH_RAW; mode++) {
		int p[2];
		if (pipe(p) != 0)
			return 0;
		struct feeder fe = {p[1], data, size};
		pthread_t t;
		if (pthread_create(&t, NULL, feed, &fe) != 0) {
			close(p[0]);
			close(p[1]);
			return 0;
		}
		FILE *f = fdopen(p[0], "rb");
		if (!f)
			abort();
		struct outcome pieces;
		read_all(f, (enum read_mode)mode, NULL, 0, &pieces);
		fclose(f);
		pthread_join(t, NULL);
		if (!same_outcome(&whole, &pieces))
			abort();
	}
	return 0;
}
