/* fuzz_samples.c — reading a samples stream (lfm.samples/1, libcommon/io/samples.c) through the non-dying
 * core of samples_read: samples_begin (header: classes, groups, the deep copy), samples_add (each
 * record), samples_end (the header's counts against the records').
 *
 * Input: the stream's bytes; the low bit of its last byte chooses keep_keys (the byte stays in the
 * stream). Checked beyond "no crash, no leak, no exit": failures come with a message naming the stream
 * and an exit code 1 or 3; an accepted set has its class names, labels in range, per-class counts that
 * add up to the records, and a header copy that still holds "format" after the reader is closed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/samples.h"
#include "io/stream.h"

#define CHECK(c) \
	do { \
		if (!(c)) { \
			fprintf(stderr, "fuzz_samples: check failed at line %d: %s\n", __LINE__, #c); \
			abort(); \
		} \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0; /* fmemopen refuses an empty buffer */
	int keep_keys = data[size - 1] & 1;
	FILE *f = fmemopen((void *)data, size, "rb");
	if (!f)
		return 0;
	const char *name = "fuzz.samples";
	char err[1024] = "";
	stream_reader *r = sr_open(f, name, "lfm.samples", 1, err, sizeof err);
	if (!r) {
		CHECK(strncmp(err, name, strlen(name)) == 0);
		fclose(f);
		return 0;
	}
	samples_set s;
	int rc = samples_begin(&s, sr_header(r), name, keep_keys, err, sizeof err);
	msgpack_object rec;
	int got = 0;
	while (!rc && (got = sr_next(r, &rec)) > 0) {
		size_t before = s.n;
		rc = samples_add(&s, &rec, sr_records_read(r), name, err, sizeof err);
		CHECK(s.n == before + (rc == 0));
	}
	if (!rc && got < 0)
		CHECK(strncmp(sr_error(r), name, strlen(name)) == 0);
	else if (!rc)
		rc = samples_end(&s, name, err, sizeof err);
	sr_close(r);
	fclose(f);
	if (rc) {
		CHECK((rc == 1 || rc == 3) && strncmp(err, name, strlen(name)) == 0);
	} else if (got == 0) {
		CHECK(s.num_classes >= 1);
		int64_t total = 0;
		for (int k = 0; k < s.num_classes; k++) {
			CHECK(s.classes[k] != NULL && s.counts[k] >= 0);
			total += s.counts[k];
		}
		CHECK((size_t)total == s.n);
		for (size_t i = 0; i < s.n; i++)
			CHECK(s.label[i] >= 0 && s.label[i] < s.num_classes);
		CHECK(keep_keys == (s.key != NULL));
		CHECK(mp_map_get(&s.header, "format") != NULL); /* the copy outlives the reader */
		samples_imbalance(&s);
	}
	samples_free(&s);
	return 0;
}
