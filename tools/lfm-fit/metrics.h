/* metrics.h — lfm-fit's training log (formats/metrics.md): a header, then one record per step and one
 * per epoch, as a msgpack stream "lfm.metrics/1" or as JSON lines (the same objects, one a line, as
 * lfm-show prints the msgpack form). Every record is flushed as it is written, so the log can be followed
 * while the run goes on. Records are packed with msgpack-c and, for JSON lines, converted with
 * mp_write_json, so both forms hold the same values. */
#ifndef LFM_FIT_METRICS_H
#define LFM_FIT_METRICS_H

#include <msgpack.h>
#include <stdio.h>

typedef struct metrics_log {
	FILE *f;       /* NULL: no log */
	char *name;
	int json;
	msgpack_sbuffer sb;
	msgpack_packer pk;
} metrics_log;

/* path NULL: a log that discards everything. json < 0: JSON lines if path ends in ".jsonl" or ".json". */
void metrics_open(metrics_log *m, const char *path, int json);
/* Start an object (the header or a record): pack one map with msgpack-c into the returned packer. */
msgpack_packer *metrics_begin(metrics_log *m);
/* Write the object packed since metrics_begin and flush. */
void metrics_end(metrics_log *m);
void metrics_close(metrics_log *m);

#endif
