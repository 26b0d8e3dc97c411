/* predictions.h — the codec of per-sample predictions (lfm.predictions/1, formats/predictions.md): a
 * header describing the evaluation (model, data, classes, training counts), then one record
 * {"index", "label", "pred", "score"} per evaluated sample. lfm-eval writes it; scripts and tests read
 * it back with predictions_read_header and predictions_next, which check every record (index a
 * non-negative integer, label and pred classes of the header, score a number). The writers pack with
 * msgpack-c and die on write errors as the stream writer does; the readers never die. */
#ifndef LFM_IO_PREDICTIONS_H
#define LFM_IO_PREDICTIONS_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "io/stream.h"

/* The header's entries, in the order they are written. */
typedef struct predictions_meta {
	const char *model;          /* the checkpoint or weights, as given */
	int zero_shot;              /* no W_I applied */
	const char *text, *data;    /* the text features and the dataset, as given */
	const char *split;          /* "test", "train", "val" or "list" */
	const char *samples_stream; /* the evaluated samples stream, as given ("stdin") */
	int classes;
	char *const *class_names;   /* [classes] */
	const int64_t *counts;      /* [classes] training images per class, or NULL: no "counts" entry */
	uint64_t samples;           /* the number of records that follow */
	const msgpack_object *source; /* the samples stream's "source", or NULL: none */
	int argc;                   /* the command line, for "command" */
	char **argv;
} predictions_meta;

typedef struct prediction {
	uint64_t index; /* the sample's index in its samples stream */
	int label;      /* the true class */
	int pred;       /* the predicted class */
	float score;    /* the predicted class's logit */
} prediction;

/* The header map, then records, packed into pk (sw_packer of the stream's writer). */
void predictions_write_header(msgpack_packer *pk, const predictions_meta *m);
void predictions_write_record(msgpack_packer *pk, const prediction *p);

/* The header of an lfm.predictions reader (sr_header): *classes (the length of "classes", an array of
 * strings, >= 1) and *samples ("samples", >= 0). 0, or -1 with a message naming name. */
int predictions_read_header(const msgpack_object *h, const char *name, int *classes, uint64_t *samples,
			    char *err, size_t errsz);
/* One record decoded and checked against the header's class count (rn: 1-based, for the message): 0, or
 * -1 with a message. */
int predictions_record_decode(const msgpack_object *rec, int classes, const char *name, uint64_t rn,
			      prediction *out, char *err, size_t errsz);
/* The next record of r: 1 with *out set, 0 at the end of the stream, -1 with a message. */
int predictions_next(stream_reader *r, int classes, const char *name, prediction *out, char *err, size_t errsz);

#endif
