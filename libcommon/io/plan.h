/* plan.h — the codec of the mix plan (lfm.plan/1, formats/plan.md): after a header that carries the
 * pairs stream's counts, epochs and samples, one record per training example, a map {"epoch", "i", "yi",
 * "j", "yj", "lx", "ly"}: the pairs record's five integers, then the image weight lx of sample i and the
 * label weight ly of class yi as float32. lfm-mix writes it, a million records a second and more, with
 * the raw encoders below (static inline: they are its record loop); lfm-fit reads it with
 * plan_header_read and plan_next (or plan_record_decode on an object already read), which check all that
 * the plan itself can tell: fields present, the epoch the record's position implies, the weights in
 * [0, 1], labels inside the header's classes, indices non-negative. Whether the samples exist in a
 * dataset with those labels is the reader's check (lfm-fit's records.c). The header is written by
 * lfm-mix itself (its entries are the tool's options). */
#ifndef LFM_IO_PLAN_H
#define LFM_IO_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "io/msgpack_raw.h"
#include "io/pairs.h"
#include "io/stream.h"
#include "io/stream_header.h"

/* ---- writing ---- */

/* Bytes a record takes at most: a fixmap byte, 16 of keys for the five integers and 6 for lx, ly, five
 * integers of up to 9 bytes and two float32 of 5. */
enum { PLAN_RECORD_MAX = 1 + 16 + 5 * 9 + 6 + 2 * 5 };

static inline unsigned char *plan_put_lambdas(unsigned char *d, float lx, float ly)
{
	return mp_put_f32(mp_put_key(mp_put_f32(mp_put_key(d, "lx", 2), lx), "ly", 2), ly);
}

/* One record into buf (PLAN_RECORD_MAX bytes of room), exactly as msgpack-c's packer writes the map of
 * seven entries in this order (msgpack_pack_int64 for v[PAIR_EPOCH .. PAIR_YJ], msgpack_pack_float for
 * lx and ly): the bytes written. */
static inline size_t plan_encode_record(unsigned char *buf, const int64_t v[PAIR_NFIELDS], float lx, float ly)
{
	unsigned char *d = buf;
	*d++ = 0x87; /* fixmap of 7 */
	for (int f = 0; f < PAIR_NFIELDS; f++)
		d = mp_put_int(mp_put_key(d, pairs_key(f), pairs_key_len(f)), v[f]);
	return (size_t)(plan_put_lambdas(d, lx, ly) - buf);
}

/* The same record when a pairs record's bytes p[0..len) hold the five fields in order and in their
 * shortest forms (pairs_fields_raw said PAIRS_RAW_CANONICAL): those bytes after the map's first, then lx
 * and ly. */
static inline size_t plan_encode_record_from(unsigned char *buf, const unsigned char *p, size_t len, float lx,
					     float ly)
{
	buf[0] = 0x87;
	memcpy(buf + 1, p + 1, len - 1);
	return (size_t)(plan_put_lambdas(buf + len, lx, ly) - buf);
}

/* ---- reading ---- */

typedef struct plan_header {
	stream_header_info info; /* counts (so classes), class names, split, source hash, header JSON */
	int epochs;              /* "epochs", 1 .. 1000000 */
	uint64_t per_epoch;      /* "samples": records per epoch, >= 1 */
} plan_header;

typedef struct plan_record {
	uint64_t i, j; /* sample indices */
	int yi, yj;    /* their labels, in 0 .. classes - 1 */
	float lx, ly;  /* image weight of i, label weight of yi, in [0, 1] */
	int64_t epoch; /* position / per_epoch */
} plan_record;

/* The header of an lfm.plan reader (sr_header): 0, or -1 with a message naming name (counts missing or
 * bad, no positive "epochs" or "samples"). plan_header_free frees either way. */
int plan_header_read(const msgpack_object *h, const char *name, plan_header *out, char *err, size_t errsz);
void plan_header_free(plan_header *h);

/* The record at position pos (0-based; the message says record pos + 1) of a plan with header h, decoded
 * from rec: 0 with *out set, or -1 with a message naming name. Only h->info.classes and h->per_epoch are
 * used. */
int plan_record_decode(const msgpack_object *rec, const plan_header *h, const char *name, uint64_t pos,
		       plan_record *out, char *err, size_t errsz);

/* Read and decode the record at position pos from r: 0 with *out set, or -1 with a message (the reader's,
 * a bad record's, or "NAME: ends after POS records; its header promises E epochs of N" at the end of the
 * stream). The header promises h->epochs * h->per_epoch records: read no more. */
int plan_next(stream_reader *r, const plan_header *h, const char *name, uint64_t pos, plan_record *out,
	      char *err, size_t errsz);

#endif
