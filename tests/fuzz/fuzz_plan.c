/* fuzz_plan.c — the mix plan's codec (libcommon/io/plan.h): the lfm.plan header (counts, classes,
 * epochs, samples, split, source) through plan_header_read and each record (epoch, i, yi, j, yj, lx, ly)
 * through plan_next, the non-dying entry points lfm-fit's records.c reads plans with.
 *
 * Input: the plan stream's bytes. Records are read until the first error or the end the header promises.
 * Checked beyond "no crash, no leak, no exit": a failure comes with a message naming the input; a header
 * accepted has classes, counts, class names and its JSON, at least one epoch and one record per epoch; a
 * record accepted has labels inside the header's classes, non-negative indices (they are unsigned),
 * weights within [0, 1] and the epoch its position implies; it is encoded again with plan_encode_record
 * and decodes to the same record, the weights to the bit (they are float32 both ways). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/plan.h"

#define CHECK(c) \
	do { \
		if (!(c)) { \
			fprintf(stderr, "fuzz_plan: check failed at line %d: %s\n", __LINE__, #c); \
			abort(); \
		} \
	} while (0)

#define MAX_RECORDS 100000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* rec encoded by plan_encode_record decodes, at position pos, to rec again. */
static void check_round_trip(const plan_header *h, uint64_t pos, const plan_record *rec)
{
	int64_t v[PAIR_NFIELDS] = {rec->epoch, (int64_t)rec->i, rec->yi, (int64_t)rec->j, rec->yj};
	unsigned char buf[PLAN_RECORD_MAX];
	size_t n = plan_encode_record(buf, v, rec->lx, rec->ly);
	CHECK(n <= sizeof buf);
	msgpack_zone zone;
	msgpack_zone_init(&zone, 1024);
	msgpack_object obj;
	size_t off = 0;
	CHECK(msgpack_unpack((const char *)buf, n, &off, &zone, &obj) == MSGPACK_UNPACK_SUCCESS && off == n);
	plan_record again;
	char err[1024];
	CHECK(plan_record_decode(&obj, h, "again", pos, &again, err, sizeof err) == 0);
	CHECK(again.i == rec->i && again.j == rec->j && again.yi == rec->yi && again.yj == rec->yj &&
	      again.epoch == rec->epoch && memcmp(&again.lx, &rec->lx, sizeof rec->lx) == 0 &&
	      memcmp(&again.ly, &rec->ly, sizeof rec->ly) == 0);
	msgpack_zone_destroy(&zone);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0; /* fmemopen refuses an empty buffer */
	FILE *f = fmemopen((void *)data, size, "rb");
	if (!f)
		return 0;
	const char *name = "fuzz.plan";
	char err[1024] = "";
	stream_reader *r = sr_open(f, name, "lfm.plan", 1, err, sizeof err);
	if (!r) {
		CHECK(err[0]);
		fclose(f);
		return 0;
	}
	plan_header h;
	if (plan_header_read(sr_header(r), name, &h, err, sizeof err) != 0) {
		CHECK(strncmp(err, "fuzz.plan: ", 11) == 0);
		plan_header_free(&h);
		sr_close(r);
		fclose(f);
		return 0;
	}
	CHECK(h.info.classes >= 1 && h.info.counts && h.info.class_names && h.info.header_json);
	CHECK(h.epochs >= 1 && h.per_epoch >= 1);
	uint64_t total = (uint64_t)h.epochs * h.per_epoch;
	for (uint64_t pos = 0; pos < total && pos < MAX_RECORDS; pos++) {
		plan_record rec;
		err[0] = 0;
		if (plan_next(r, &h, name, pos, &rec, err, sizeof err) != 0) {
			CHECK(strncmp(err, "fuzz.plan", 9) == 0);
			break;
		}
		CHECK(rec.yi >= 0 && rec.yi < h.info.classes && rec.yj >= 0 && rec.yj < h.info.classes);
		CHECK(rec.lx >= 0 && rec.lx <= 1 && rec.ly >= 0 && rec.ly <= 1);
		CHECK(rec.epoch >= 0 && (uint64_t)rec.epoch == pos / h.per_epoch);
		check_round_trip(&h, pos, &rec);
	}
	plan_header_free(&h);
	sr_close(r);
	fclose(f);
	return 0;
}
