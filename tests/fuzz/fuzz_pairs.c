/* fuzz_pairs.c — the pairs record codec (libcommon/io/pairs.h): lfm-mix's raw fast path
 * (pairs_fields_raw, on a record's bytes) against the decoded-object path (pairs_fields), which must
 * agree on every input.
 *
 * Input: one record's bytes. pairs_fields_raw is run on them whatever they are (it checks its bounds);
 * when they are one complete msgpack object, also decoded and handed to pairs_fields. Checked: a record
 * the raw path reads is read by the decoded path with the same five values; one it calls canonical is
 * exactly what pairs_encode_record writes for them; a failure of the decoded path comes with a message;
 * whatever the decoded path accepts, encoded again, is read back canonical with the same values. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/pairs.h"

#define CHECK(c) \
	do { \
		if (!(c)) { \
			fprintf(stderr, "fuzz_pairs: check failed at line %d: %s\n", __LINE__, #c); \
			abort(); \
		} \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size bytes, so that reading past them is caught by ASan */
	unsigned char *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	int64_t raw[PAIR_NFIELDS];
	int layout = pairs_fields_raw(p, size, raw);

	msgpack_zone zone;
	msgpack_zone_init(&zone, 1024);
	msgpack_object obj;
	size_t off = 0;
	int whole = size > 0 && msgpack_unpack((const char *)p, size, &off, &zone, &obj) == MSGPACK_UNPACK_SUCCESS &&
		    off == size;
	CHECK(whole || layout == PAIRS_RAW_NONE);
	if (whole) {
		int64_t dec[PAIR_NFIELDS];
		char err[256] = "";
		int rc = pairs_fields(&obj, dec, "fuzz.pairs", 1, err, sizeof err);
		if (layout != PAIRS_RAW_NONE)
			CHECK(rc == 0 && memcmp(raw, dec, sizeof raw) == 0);
		if (rc != 0) {
			CHECK(strncmp(err, "fuzz.pairs: record 1 ", 21) == 0);
		} else {
			for (int f = 0; f < PAIR_NFIELDS; f++)
				CHECK(dec[f] >= 0);
			unsigned char buf[PAIR_RECORD_MAX];
			size_t n = pairs_encode_record(buf, (uint64_t)dec[0], (uint64_t)dec[1], (uint64_t)dec[2],
						       (uint64_t)dec[3], (uint64_t)dec[4]);
			CHECK(n <= sizeof buf);
			int64_t again[PAIR_NFIELDS];
			CHECK(pairs_fields_raw(buf, n, again) == PAIRS_RAW_CANONICAL &&
			      memcmp(again, dec, sizeof dec) == 0);
			if (layout == PAIRS_RAW_CANONICAL)
				CHECK(n == size && memcmp(buf, p, n) == 0);
		}
	}
	msgpack_zone_destroy(&zone);
	free(p);
	return 0;
}
