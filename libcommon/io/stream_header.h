/* stream_header.h — the header entries that several stream kinds share and several tools read: the class
 * counts ("counts", in samples, pairs and plan headers), the class names, the split and the source's hash,
 * and the header as JSON without its "command" (two inputs made by different spellings of a command are
 * the same input). One parser for each, so the samples reader, lfm-mix and lfm-fit agree on what a valid
 * header is and say so in the same words. Never dies but on memory exhaustion (xmalloc). */
#ifndef LFM_IO_STREAM_HEADER_H
#define LFM_IO_STREAM_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

/* What stream_header_counts found. */
enum { STREAM_COUNTS_OK = 0, STREAM_COUNTS_MISSING = 1, STREAM_COUNTS_BAD = 2 };

/* h's "counts", the samples of each class: *counts (malloc'd, free it) and *n set.
 *   STREAM_COUNTS_OK: a non-empty array of non-negative integers (at most INT64_MAX), *n of them.
 *   STREAM_COUNTS_MISSING: absent, not an array or empty; *counts NULL, *n 0; message
 *     "NAME: header has no "counts" array (WHY)" (why: what the reader needs them for).
 *   STREAM_COUNTS_BAD: element *n is not such an integer; counts[0 .. *n) hold the ones before it;
 *     message "NAME: header "counts"[K] is not a non-negative integer".
 * err may be NULL (no message). */
int stream_header_counts(const msgpack_object *h, const char *name, const char *why, int64_t **counts, int *n,
			 char *err, size_t errsz);

/* The header entries a consumer of samples, pairs or plan streams keeps. */
typedef struct stream_header_info {
	int classes;         /* the length of "counts" */
	int64_t *counts;     /* [classes] */
	char **class_names;  /* [classes]: "classes"' strings when it is an array of that length, else NULLs */
	char *split;         /* "split", or NULL */
	char *source_hash;   /* "source": {"hash"}, or NULL */
	char *header_json;   /* the header as JSON without "command" */
} stream_header_info;

/* Read the entries above; counts must be valid (stream_header_counts's messages, with why). 0, or -1
 * with the message; stream_header_info_free frees either way. */
int stream_header_info_read(const msgpack_object *h, const char *name, const char *why, stream_header_info *out,
			    char *err, size_t errsz);
void stream_header_info_free(stream_header_info *info);

/* The header map as one line of JSON (mp_write_json), its "command" entry left out: a malloc'd string. */
char *stream_header_json(const msgpack_object *h);

#endif
