/* fuzz_pairs.c — the pairs record codec (libcommon/io/pairs.h): lfm-mix's raw fast path
 * (pairs_fields_raw, on a record's bytes) against the decoded-object path (pairs_fields), which must
 * agree on every input.
 *
 * Input: the records of a pairs stream (the header is prepended here). pairs_fields_raw is run on the
 * bytes whatever they are (it checks its bounds); then each record read as lfm-mix reads it (sr_next_raw,
 * sr_decode_raw) goes through both paths. Checked: a record
 * the raw path reads is read by the decoded path with the same five values; one it calls canonical is
 * exactly what pairs_encode_record writes for them; a failure of the decoded path comes with a message;
 * whatever the decoded path accepts, encoded again, is read back canonical with the same values. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/pairs.h"
#include "io/stream.h"

#define CHECK(c) \
	do { \
		if (!(c)) { \
			fprintf(stderr, "fuzz_pairs: check failed at line %d: %s\n", __LINE__, #c); \
			abort(); \
		} \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One record's bytes p[0..len) (sr_next_raw) and the object sr_decode_raw made of them. */
static void check_record(const unsigned char *p, size_t len, const msgpack_object *obj)
{
	int64_t raw[PAIR_NFIELDS], dec[PAIR_NFIELDS];
	int layout = pairs_fields_raw(p, len, raw);
	char err[256] = "";
	int rc = pairs_fields(obj, dec, "fuzz.pairs", 1, err, sizeof err);
	if (layout != PAIRS_RAW_NONE)
		CHECK(rc == 0 && memcmp(raw, dec, sizeof raw) == 0);
	if (rc != 0) {
		CHECK(strncmp(err, "fuzz.pairs: record 1 ", 21) == 0);
		return;
	}
	for (int f = 0; f < PAIR_NFIELDS; f++)
		CHECK(dec[f] >= 0);
	unsigned char buf[PAIR_RECORD_MAX];
	size_t n = pairs_encode_record(buf, (uint64_t)dec[0], (uint64_t)dec[1], (uint64_t)dec[2], (uint64_t)dec[3],
				       (uint64_t)dec[4]);
	CHECK(n <= sizeof buf);
	int64_t again[PAIR_NFIELDS];
	CHECK(pairs_fields_raw(buf, n, again) == PAIRS_RAW_CANONICAL && memcmp(again, dec, sizeof dec) == 0);
	if (layout == PAIRS_RAW_CANONICAL)
		CHECK(n == len && memcmp(buf, p, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* pairs_fields_raw on the bytes as they are, in a copy of exactly size bytes (reading past them is
	 * caught by ASan): it checks its bounds */
	unsigned char *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	int64_t v[PAIR_NFIELDS];
	(void)pairs_fields_raw(p, size, v);
	free(p);

	/* then as lfm-mix reads them: records of a pairs stream (sr_next_raw, with its bounds on memory and
	 * depth; msgpack_unpack alone would allocate what a hostile length asks), decoded by sr_decode_raw */
	static const unsigned char header[] = "\x81\xa6""format\xab""lfm.pairs/1";
	size_t hn = sizeof header - 1;
	unsigned char *stream = malloc(hn + size);
	if (!stream)
		return 0;
	memcpy(stream, header, hn);
	memcpy(stream + hn, data, size);
	FILE *f = fmemopen(stream, hn + size, "rb");
	if (!f) {
		free(stream);
		return 0;
	}
	char err[512];
	stream_reader *r = sr_open(f, "fuzz.pairs", "lfm.pairs", 1, err, sizeof err);
	CHECK(r);
	const unsigned char *raw;
	size_t len;
	for (int k = 0; k < 10000 && sr_next_raw(r, &raw, &len) == 1; k++) {
		unsigned char *copy = malloc(len);
		if (!copy)
			break;
		memcpy(copy, raw, len);
		msgpack_object obj;
		CHECK(sr_decode_raw(r, &obj) == 0);
		check_record(copy, len, &obj);
		free(copy);
	}
	sr_close(r);
	fclose(f);
	free(stream);
	return 0;
}
