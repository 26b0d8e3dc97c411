/* samples.h — reading a whole samples stream (lfm.samples/1, formats/samples.md) into memory, with the
 * consistency checks every consumer needs: class names present, labels within range, the header's
 * counts equal to the records' counts. lt-subset writes these streams; lfm-pairs, lfm-fit, lfm-eval and
 * clip-embed-text read them. */
#ifndef LFM_SAMPLES_H
#define LFM_SAMPLES_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

typedef struct samples_set {
	int num_classes;
	char **classes;       /* [num_classes] names in label order */
	int64_t *counts;      /* [num_classes] records per class */
	char **groups;        /* [num_classes] "many"/"medium"/"few" from the header, or NULL */
	size_t n, cap;
	uint64_t *index;      /* [n] the sample's index in the source */
	int32_t *label;       /* [n] */
	char **key;           /* [n] path or member name, or NULL entries when absent */
	msgpack_zone zone;    /* owns header */
	msgpack_object header; /* a deep copy of the stream header, to carry fields over */
} samples_set;

/* Read the stream at path ("-" = stdin). Dies with a message naming the stream and record on any
 * problem. keep_keys: also keep each record's "key". */
void samples_read(const char *path, int keep_keys, samples_set *out);
/* samples_read's checks without dying, for a stream already open (the fuzz entry point): samples_begin
 * with the header, samples_add with each record (rn: its 1-based number, for messages), samples_end after
 * the last. Each returns 0, or an exit code with samples_read's message in err; samples_free frees the set
 * after samples_begin, whatever it returned. */
int samples_begin(samples_set *out, const msgpack_object *header, const char *name, int keep_keys, char *err,
		  size_t errsz);
int samples_add(samples_set *out, const msgpack_object *rec, uint64_t rn, const char *name, char *err,
		size_t errsz);
int samples_end(samples_set *out, const char *name, char *err, size_t errsz);
void samples_free(samples_set *s);
/* max count / min positive count. */
double samples_imbalance(const samples_set *s);

#endif
