/* batches.h — lfm-fit's training batches, double-buffered in one place: the records of batch k + 1 are
 * read from the plan (or samples stream) and its pixels decoded, preprocessed and mixed on the loader
 * pool while batch k trains. A batch is B consecutive records of an epoch (the last one may be smaller):
 * indices, image weights lx, the flip coins of (seed, epoch, position) and the soft targets
 * ly·e_yi + (1 − ly)·e_yj. With several ranks every rank reads each batch's records and loads its own
 * slice of them only (dist_slice: contiguous, in rank order); an empty slice loads nothing.
 *
 *     batches_begin(b, epoch, pos)                  the epoch's first batch (from pos) in flight
 *     while (batches_wait(b, &batch) == 0) {        pixels and targets of the batch in flight
 *             batches_read_ahead(b)                 the next one in flight (0: the epoch has no more)
 *             train(batch)                          valid until the next wait
 *     }
 */
#ifndef LFM_FIT_BATCHES_H
#define LFM_FIT_BATCHES_H

#include <stddef.h>
#include <stdint.h>

#include "base/thread_pool.h"
#include "data/batch_loader.h"
#include "data/dataset.h"
#include "records.h"

typedef struct fit_batch {
	int count;            /* this rank's images (its slice: dist_slice), 0 .. global_count */
	int global_count;     /* the batch's images over all ranks */
	uint64_t epoch, pos;  /* where the batch's first record stands */
	const float *pixels;  /* [count, 3, R, R]; NULL for a raw batch */
	const float *targets; /* [count, C] */
	const batch_raw *raw; /* a raw loader's batch (batches_new with raw_w > 0), else NULL */
} fit_batch;

typedef struct batches batches;

/* Batches of up to B records of src (borrowed) over ds at resolution R, with C classes and the flips'
 * seed, loaded on pool (borrowed); raw_w > 0: raw batches of raw_w x raw_h images for the device to
 * preprocess (data/batch_loader.h); rank `rank` of `world` loads its slice of each. */
batches *batches_new(const dataset *ds, int R, int raw_w, int raw_h, thread_pool *pool, int B, int C,
		     uint64_t per_epoch, uint64_t seed, record_source *src, int rank, int world);
void batches_free(batches *b);
/* Read the batch at position pos of epoch e and start loading it. 0, or -1 with a message (a bad or
 * missing record). */
int batches_begin(batches *b, uint64_t e, uint64_t pos, char *err, size_t errsz);
/* Wait for the batch in flight; *out is valid until the next wait. 0, or -1 with the loader's message and
 * exit code (an unreadable or corrupt sample). */
int batches_wait(batches *b, fit_batch *out, int *code, char *err, size_t errsz);
/* Read the batch after the one waited for (within its epoch) and start loading it while the caller
 * trains: 1 started, 0 the epoch has no more records, -1 a bad or missing record (message in err). */
int batches_read_ahead(batches *b, char *err, size_t errsz);

#endif
