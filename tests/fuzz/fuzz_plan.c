/* fuzz_plan.c — lfm-fit's mix-plan reader (tools/lfm-fit/records.c): the lfm.plan header (counts,
 * classes, epochs, samples, source) and each record (epoch, i, yi, j, yj, lx, ly) checked against a
 * dataset, through the non-dying entry points record_source_read_plan_header and
 * record_source_try_next.
 *
 * Input: the plan stream's bytes. The dataset is fixed: a split list of 6 samples with labels
 * 0 1 2 0 1 2 (3 classes), held in a memory file and opened once. Records are read until the first
 * error or the end of the plan. Checked beyond "no crash, no leak, no exit": failures come with a
 * message and do not advance the position; a record accepted has indices inside the dataset, the
 * dataset's labels, weights within [0, 1] and the epoch its position implies.
 *
 * records.c belongs to the lfm-fit tool, not to libcommon, so it is compiled into this target here. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../tools/lfm-fit/records.c"

#define CHECK(c) \
	do { \
		if (!(c)) { \
			fprintf(stderr, "fuzz_plan: check failed at line %d: %s\n", __LINE__, #c); \
			abort(); \
		} \
	} while (0)

#define MAX_RECORDS 100000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char LIST[] = "c0/0.jpg 0\nc1/1.jpg 1\nc2/2.jpg 2\nc0/3.jpg 0\nc1/4.jpg 1\nc2/5.jpg 2\n";

static const dataset *fixed_dataset(void)
{
	static dataset *ds;
	if (ds)
		return ds;
	int fd = memfd_create("fuzz_plan_list", MFD_CLOEXEC);
	char path[64], err[512];
	if (fd < 0 || write(fd, LIST, sizeof LIST - 1) != (ssize_t)(sizeof LIST - 1)) {
		perror("fuzz_plan: cannot make the split list");
		abort();
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	dataset_options o = {.kind = DATASET_SPLIT_LIST};
	if (dataset_try_open(&ds, path, &o, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz_plan: %s\n", err);
		abort();
	}
	close(fd); /* the list is read whole at open */
	return ds;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const dataset *ds = fixed_dataset();
	if (size == 0)
		return 0; /* fmemopen refuses an empty buffer */
	FILE *f = fmemopen((void *)data, size, "rb");
	if (!f)
		return 0;
	record_source s;
	memset(&s, 0, sizeof s);
	s.from_plan = 1;
	s.name = "fuzz.plan";
	s.in = f;
	char err[1024] = "";
	s.r = sr_open(f, s.name, "lfm.plan", 1, err, sizeof err);
	if (!s.r) {
		CHECK(err[0]);
		record_source_close(&s);
		return 0;
	}
	if (record_source_read_plan_header(&s, err, sizeof err) != 0) {
		CHECK(strncmp(err, "fuzz.plan: ", 11) == 0);
		record_source_close(&s);
		return 0;
	}
	CHECK(s.classes >= 1 && s.counts && s.class_names && s.header_json);
	CHECK(s.epochs >= 1 && s.per_epoch >= 1);
	s.ds = ds; /* record_source_bind would die on a class-count mismatch: the records are checked anyway */
	size_t n = dataset_count(ds);
	for (int t = 0; t < MAX_RECORDS; t++) {
		fit_record r;
		uint64_t at = s.next;
		err[0] = 0;
		if (record_source_try_next(&s, &r, err, sizeof err) != 0) {
			CHECK(strncmp(err, "fuzz.plan", 9) == 0 && s.next == at);
			break;
		}
		CHECK(s.next == at + 1);
		CHECK(r.i < n && r.j < n);
		CHECK(r.yi == dataset_label(ds, r.i) && r.yj == dataset_label(ds, r.j));
		CHECK(r.yi < s.classes && r.yj < s.classes);
		CHECK(r.lx >= 0 && r.lx <= 1 && r.ly >= 0 && r.ly <= 1);
	}
	record_source_close(&s);
	return 0;
}
