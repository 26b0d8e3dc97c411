/* pairs.h — the codec of the pairs stream (lfm.pairs/1, formats/pairs.md): each record a map
 * {"epoch", "i", "yi", "j", "yj"} of non-negative integers, a training sample i of class yi and its
 * partner j of class yj. lfm-pairs writes it (pairs_encode_record); lfm-mix reads it, at millions of
 * records a second: straight from a record's bytes when they are laid out as pairs_encode_record writes
 * them (pairs_fields_raw), and otherwise from the decoded object, searched by name (pairs_fields), with
 * the same results. The encoder and the raw decoder are static inline: they are the tools' record loops.
 * The header is written by lfm-pairs itself (its entries are the tool's); its "counts" is read with
 * stream_header_counts (io/stream_header.h). */
#ifndef LFM_IO_PAIRS_H
#define LFM_IO_PAIRS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "io/msgpack_raw.h"

/* The fields of a pairs record, in the order lfm-pairs writes them (the plan record's first five too). */
enum { PAIR_EPOCH, PAIR_I, PAIR_YI, PAIR_J, PAIR_YJ, PAIR_NFIELDS };

/* Field f's key, and its length in bytes (tables, not branches: the raw decoder looks them up per field). */
static inline const char *pairs_key(int f)
{
	static const char *const key[PAIR_NFIELDS] = {"epoch", "i", "yi", "j", "yj"};
	return key[f];
}
static inline uint32_t pairs_key_len(int f)
{
	static const unsigned char len[PAIR_NFIELDS] = {5, 1, 2, 1, 2};
	return len[f];
}

/* ---- writing ---- */

/* Bytes a record takes at most: a fixmap byte, 16 of keys, five integers of up to 9 bytes. */
enum { PAIR_RECORD_MAX = 1 + 16 + 5 * 9 };

/* One record into buf (PAIR_RECORD_MAX bytes of room), exactly as msgpack-c's packer writes the map of
 * the five fields in this order, each in its shortest form: the bytes written. */
static inline size_t pairs_encode_record(unsigned char *buf, uint64_t epoch, uint64_t i, uint64_t yi,
					 uint64_t j, uint64_t yj)
{
	unsigned char *d = buf;
	*d++ = 0x80 | PAIR_NFIELDS; /* fixmap of 5 */
	d = mp_put_uint(mp_put_key(d, "epoch", 5), epoch);
	d = mp_put_uint(mp_put_key(d, "i", 1), i);
	d = mp_put_uint(mp_put_key(d, "yi", 2), yi);
	d = mp_put_uint(mp_put_key(d, "j", 1), j);
	d = mp_put_uint(mp_put_key(d, "yj", 2), yj);
	return (size_t)(d - buf);
}

/* ---- reading ---- */

/* Whether the key bytes p (of pairs_key_len(f) bytes) spell field f: a few byte compares, no library
 * call. */
static inline int pairs_same_key(const char *p, int f)
{
	switch (f) {
	case PAIR_EPOCH: return memcmp(p, "epoch", 5) == 0;
	case PAIR_I: return p[0] == 'i';
	case PAIR_YI: return p[0] == 'y' && p[1] == 'i';
	case PAIR_J: return p[0] == 'j';
	default: return p[0] == 'y' && p[1] == 'j';
	}
}

/* A non-negative integer in one of msgpack's unsigned forms (what lfm-pairs writes) at p[*pos], not past
 * end (*pos < end): 1 with *v set and *pos advanced, else 0. *wide is set when the form is wider than the
 * value needs (msgpack-c would write it shorter). */
static inline int pairs_raw_uint(const unsigned char *p, size_t *pos, size_t end, int64_t *v, int *wide)
{
	size_t at = *pos;
	unsigned b = p[at];
	if (b < 0x80) {
		*v = b;
		*pos = at + 1;
		return 1;
	}
	unsigned n = b == 0xcc ? 1 : b == 0xcd ? 2 : b == 0xce ? 4 : b == 0xcf ? 8 : 0;
	if (n == 0 || end - at - 1 < n)
		return 0;
	uint64_t u = 0;
	for (unsigned k = 1; k <= n; k++)
		u = u << 8 | p[at + k];
	if (u > (uint64_t)INT64_MAX)
		return 0;
	*wide |= u < (n == 1 ? 128u : n == 2 ? 256u : n == 4 ? 65536u : (uint64_t)UINT32_MAX + 1);
	*v = (int64_t)u;
	*pos = at + 1 + n;
	return 1;
}

/* The fixstr key of field f at p[*pos], not past end (*pos < end): 1 and *pos advanced past it, else 0. */
static inline int pairs_raw_key(const unsigned char *p, size_t *pos, size_t end, int f)
{
	size_t at = *pos, n = pairs_key_len(f);
	if (p[at] != (0xa0 | n) || end - at - 1 < n || !pairs_same_key((const char *)p + at + 1, f))
		return 0;
	*pos = at + 1 + n;
	return 1;
}

/* What pairs_fields_raw found. */
enum { PAIRS_RAW_NONE, PAIRS_RAW_FIELDS, PAIRS_RAW_CANONICAL };

/* The five fields straight from a record's bytes p[0..len) (sr_next_raw) when it is laid out as
 * pairs_encode_record writes it: a map of five entries, the keys in order, each value in an unsigned
 * form. PAIRS_RAW_NONE for anything else, which the caller then decodes in full and hands to
 * pairs_fields (same values, or pairs_fields's message); else v is set and PAIRS_RAW_CANONICAL says that
 * every value is in its shortest form, so the bytes after the map's first are exactly those
 * pairs_encode_record (and plan_encode_record) write for the five fields. Bounds are checked: any bytes
 * are safe. */
static inline int pairs_fields_raw(const unsigned char *p, size_t len, int64_t v[PAIR_NFIELDS])
{
	if (len < 1 + 2 * PAIR_NFIELDS || p[0] != (0x80 | PAIR_NFIELDS))
		return PAIRS_RAW_NONE;
	size_t pos = 1;
	int wide = 0;
	for (int f = 0; f < PAIR_NFIELDS; f++)
		if (pos >= len || !pairs_raw_key(p, &pos, len, f) || pos >= len ||
		    !pairs_raw_uint(p, &pos, len, &v[f], &wide))
			return PAIRS_RAW_NONE;
	return pos != len ? PAIRS_RAW_NONE : wide ? PAIRS_RAW_FIELDS : PAIRS_RAW_CANONICAL;
}

/* The five fields of a decoded record, whatever its layout: the first occurrence of each key, a
 * non-negative integer (int64). 0 with v set, or -1 with "NAME: record RN is not a map" or "NAME: record
 * RN has no non-negative integer "FIELD"" in err (rn: the 1-based record number). Never dies. */
int pairs_fields(const msgpack_object *rec, int64_t v[PAIR_NFIELDS], const char *name, uint64_t rn, char *err,
		 size_t errsz);

#endif
