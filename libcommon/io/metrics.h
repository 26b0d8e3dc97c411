/* metrics.h — the codec of the training log (lfm.metrics/1, formats/metrics.md): a header, then one
 * record per step and one per epoch, as a msgpack stream or as JSON lines (the same objects, one a line,
 * as lfm-show prints the msgpack form).
 *
 * Writing (lfm-fit): every record is flushed as it is written, so the log can be followed while the run
 * goes on. Records are packed with msgpack-c and, for JSON lines, converted with mp_write_json, so both
 * forms hold the same values. The writer dies on write errors (LFM_EXIT_IO), as a tool's output does.
 *
 * Reading (plotting, comparing runs, tests): metrics_reader takes either form, told apart by the first
 * byte ('{' is JSON lines), checks the header's format and each record's fields and types, and hands
 * records back one by one as a metrics_entry. Never dies; messages name the input and the record. */
#ifndef LFM_IO_METRICS_H
#define LFM_IO_METRICS_H

#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>

#include "io/stream.h"

/* ---- writing ---- */

typedef struct metrics_log {
	FILE *f;       /* NULL: no log */
	char *name;
	int json;
	msgpack_sbuffer sb;
	msgpack_packer pk;
} metrics_log;

/* path NULL: a log that discards everything. json < 0: JSON lines if path ends in ".jsonl" or ".json". */
void metrics_open(metrics_log *m, const char *path, int json);
/* The same, adding to the end of an existing log (a resumed run continuing its own log). */
void metrics_open_append(metrics_log *m, const char *path, int json);

/* A resumed run's log: check that path holds an lfm.metrics/1 log (either form) and cut it after the
 * last record of a step <= last_step (records of steps the resumed run will train again: logged after the
 * checkpoint it resumes from). out says the form and how many records were kept and dropped. 0, or -1
 * with a message naming the file and the object (another kind of file: nothing is changed). */
typedef struct metrics_keep {
	int json;
	uint64_t kept, dropped;
} metrics_keep;
int metrics_log_keep(const char *path, int64_t last_step, metrics_keep *out, char *err, size_t errsz);
/* Start an object (the header or a record): pack one map with msgpack-c into the returned packer. */
msgpack_packer *metrics_begin(metrics_log *m);
/* Write the object packed since metrics_begin and flush (dies on a write error). */
void metrics_end(metrics_log *m);
/* The same without dying: 0, or -1 with "<log>: write error: ..." in err (a full disk, a closed pipe), for
 * a caller that saves its state first (lfm-fit). */
int metrics_try_end(metrics_log *m, char *err, size_t errsz);
void metrics_close(metrics_log *m);

/* ---- reading ---- */

/* One record, checked: kind "step" or "epoch"; epoch and step non-negative integers; loss, lr,
 * images_per_s and elapsed_s numbers (NaN and the infinities too, which JSON lines hold as the strings
 * "NaN", "Infinity", "-Infinity"); steps a non-negative integer, required in epoch records and absent
 * from step records; val_top1 and val_loss numbers, both or neither. */
typedef struct metrics_entry {
	int is_epoch;          /* 1: "epoch", 0: "step" */
	int64_t epoch, step;
	int64_t steps;         /* epoch records; -1 in step records */
	double loss, lr, images_per_s, elapsed_s;
	int has_val;           /* val_top1 and val_loss present */
	double val_top1, val_loss;
} metrics_entry;

/* What the header says (the rest of it is the run's description, not checked). */
typedef struct metrics_run_info {
	int64_t stage, epochs, steps_per_epoch; /* -1 when absent */
	int epochs_only;                        /* "every": "epoch" */
} metrics_run_info;

typedef struct metrics_reader {
	const char *name;
	int json;
	FILE *f;
	stream_reader *r;      /* msgpack form */
	char *line;            /* JSON lines form: the current line */
	size_t cap;
	uint64_t records;      /* records read so far */
	metrics_run_info header;
} metrics_reader;

/* Read f's header (f stays the caller's; name for messages): 0, or -1 with a message (not a metrics log,
 * a bad header). metrics_reader_close frees either way. */
int metrics_reader_open(metrics_reader *m, FILE *f, const char *name, char *err, size_t errsz);
/* The next record: 1 with *out set, 0 at the end of the log, -1 with a message for a bad record (its
 * 1-based number in the message) or a read error. */
int metrics_reader_next(metrics_reader *m, metrics_entry *out, char *err, size_t errsz);
void metrics_reader_close(metrics_reader *m);

#endif
