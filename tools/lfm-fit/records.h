/* records.h — lfm-fit's training examples, in order: from a mix plan (lfm.plan/1) read as a stream, or,
 * without one, from a samples stream shuffled afresh each epoch (the non-mixup baselines). Every record
 * is checked against the dataset (index in range, label equal to the dataset's), so a plan made from
 * another dataset or split is refused before any training. */
#ifndef LFM_FIT_RECORDS_H
#define LFM_FIT_RECORDS_H

#include <stdint.h>
#include <stdio.h>

#include "data/dataset.h"
#include "io/plan.h"
#include "io/samples.h"
#include "io/stream.h"

typedef struct fit_record {
	uint64_t i, j; /* sample indices in the dataset */
	int yi, yj;
	float lx, ly;  /* image weight of i, label weight of yi */
} fit_record;

typedef struct record_source {
	int from_plan;
	const char *name;      /* for messages */
	/* plan */
	FILE *in;
	stream_reader *r;
	/* samples */
	samples_set smp;
	uint32_t *perm;
	int64_t perm_epoch;
	uint64_t seed;
	/* both */
	plan_header header;    /* the plan's header; for a samples stream its entries, epochs 0 (any number)
				* and per_epoch its sample count: class count and names, counts, split, source
				* hash, the header as JSON without "command" (to recognise the same input) */
	float *counts;         /* [classes] the header's counts as the losses take them (n_k) */
	uint64_t next;         /* global position of the next record */
	const dataset *ds;     /* set by record_source_bind */
} record_source;

/* Open a plan (path "-" = stdin) or a samples stream; dies with a message on bad input. */
void record_source_open_plan(record_source *s, const char *path);
/* The plan header's checks without dying (what record_source_open_plan does once the stream is open; the
 * fuzz entry point): with s zeroed but for from_plan = 1, name, in and r (an lfm.plan reader), reads
 * counts, classes, epochs and samples. 0, or -1 with a message; record_source_close frees either way. */
int record_source_read_plan_header(record_source *s, char *err, size_t errsz);
void record_source_open_samples(record_source *s, const char *path, uint64_t seed);
/* The dataset records refer to: checks its class count. */
void record_source_bind(record_source *s, const dataset *ds, const char *data_path);
/* Skip n records (resume). */
void record_source_skip(record_source *s, uint64_t n);
/* The next record (global position s->next, epoch s->next / per_epoch): 0, or -1 with a message for a bad
 * or missing record (the position does not advance). record_source_next dies with it instead. */
int record_source_try_next(record_source *s, fit_record *out, char *err, size_t errsz);
void record_source_next(record_source *s, fit_record *out);
void record_source_close(record_source *s);

#endif
