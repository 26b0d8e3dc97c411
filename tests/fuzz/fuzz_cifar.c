/* fuzz_cifar.c — the CIFAR batch-file parser (libcommon/data/dataset_cifar.c) over a memory buffer.
 *
 * Input: one control byte, then the batch file's bytes. The control byte picks CIFAR-10 or CIFAR-100
 * records (1 or 2 label bytes), skip_bad, whether pixels are kept, and the size of the pieces the bytes
 * are fed in (archives deliver them in arbitrary pieces). Checked: no crash, and the invariants —
 * whole records counted exactly, labels in range or -1 (a hole, only with skip_bad), kept pixels equal
 * to the input's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_internal.h"

#define CHECK(c) \
	do { \
		if (!(c)) \
			abort(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t ctl = data[0];
	const uint8_t *in = data + 1;
	size_t n = size - 1;
	int lb = ctl & 1 ? 2 : 1;
	int classes = lb == 2 ? 100 : 10;
	int skip_bad = (ctl >> 1) & 1, keep = (ctl >> 2) & 1;
	static const size_t pieces[8] = {1, 7, 512, 3073, 3074, 4096, 65536, (size_t)-1};
	size_t piece = pieces[(ctl >> 3) & 7];
	size_t rs = (size_t)lb + 3072;

	cifar_parser p;
	char err[256];
	cifar_parser_init(&p, "fuzz.bin", lb, classes, skip_bad, keep, (ctl >> 6) ? n : 0);
	int rc = 0;
	for (size_t off = 0; off < n && !rc; off += piece) {
		size_t k = n - off < piece ? n - off : piece;
		rc = cifar_parser_feed(&p, in + off, k, err, sizeof err);
	}
	if (!rc)
		rc = cifar_parser_finish(&p, err, sizeof err);
	if (rc) {
		CHECK(!skip_bad && rc == 1 && strncmp(err, "fuzz.bin: ", 10) == 0);
	} else {
		size_t whole = n / rs, extra = n % rs != 0;
		CHECK(p.records == whole + (skip_bad ? extra : 0));
		CHECK(skip_bad || !extra);
		size_t holes = 0;
		for (size_t r = 0; r < p.records; r++) {
			int32_t y = p.labels[r];
			CHECK(y >= -1 && y < classes);
			if (y < 0) {
				holes++;
				continue;
			}
			CHECK(in[r * rs + (size_t)lb - 1] == (uint8_t)y);
			if (keep)
				CHECK(memcmp(p.pixels + r * 3072, in + r * rs + (size_t)lb, 3072) == 0);
		}
		CHECK(holes == p.bad);
		CHECK(skip_bad || holes == 0);
	}
	cifar_parser_free(&p);
	return 0;
}
