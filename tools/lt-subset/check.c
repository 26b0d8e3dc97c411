/* check.c — --check: is every sample of the split readable, and every JPEG sound as far as its markers
 * and header tell (no pixels are decoded)? */
#include <stdio.h>
#include <stdlib.h>

#include "base/errors.h"
#include "base/progress.h"
#include "lt_subset.h"

#define MAX_REPORTED 100

uint8_t *check_samples(const dataset *ds, const lt_options *o, size_t *failed)
{
	size_t n = dataset_count(ds), nbad = 0, reported = 0;
	uint8_t *bad = NULL;
	int worst = 0;
	char err[1024];
	progress p;
	progress_start(&p, "checking", n, "samples");
	for (size_t i = 0; i < n; i++) {
		if (dataset_label(ds, i) < 0)
			continue; /* a hole: already counted as skipped */
		int rc = dataset_check_sample(ds, i, err, sizeof err);
		if (rc) {
			if (!bad)
				bad = xcalloc(n, 1);
			bad[i] = 1;
			nbad++;
			if (worst != LFM_EXIT_IO)
				worst = rc; /* a missing file (I/O) outranks bad data in the exit status */
			if (reported < MAX_REPORTED)
				warn("%s%s", o->skip_bad ? "skipping: " : "", err);
			else if (reported == MAX_REPORTED)
				warn("(further problems not shown)");
			reported++;
		}
		if ((i & 255) == 0)
			progress_update(&p, i);
	}
	progress_update(&p, n);
	progress_finish(&p);
	if (nbad && !o->skip_bad)
		die(worst, "--check: %zu of %zu samples failed (--skip-bad leaves them out)", nbad, n);
	*failed = nbad;
	return bad;
}
