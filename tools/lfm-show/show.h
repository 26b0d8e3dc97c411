/* show.h — lfm-show's parts: reading an input whose kind is known only from its first bytes, element
 * statistics and number formatting, and one printer per kind (npy, safetensors, msgpack stream). */
#ifndef LFM_SHOW_H
#define LFM_SHOW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/tensor_dtype.h"

typedef struct show_options {
	long long head; /* records (streams) or rows (--values) to print; -1 = all */
	int values;     /* npy: print the values */
	int stats;      /* safetensors: per-tensor statistics */
	int json;       /* npy/safetensors: one JSON object instead of text */
} show_options;

/* ---- input.c: one input file, its first bytes read for detection ---- */
#define INPUT_PREFIX 16

typedef struct input {
	const char *path; /* as given; "-" = stdin */
	const char *name; /* for messages: the path, or "stdin" */
	FILE *f;
	int regular;      /* a regular file read from its start (mapped whole), not a pipe or terminal */
	unsigned char prefix[INPUT_PREFIX];
	size_t prefix_len; /* bytes read into prefix (fewer only at end of input) */
	/* whole content, after input_slurp */
	const unsigned char *data;
	size_t len;
	void *map;
	size_t map_len;
	unsigned char *buf;
} input;

/* Open and read the first bytes. Returns 0, or LFM_EXIT_IO with a message in err. */
int input_open(input *in, const char *path, char *err, size_t errsz);
/* Make the whole content available in in->data/in->len: a regular file is mapped, anything else read
 * (the bytes already read included). Returns 0, or LFM_EXIT_IO with a message in err. */
int input_slurp(input *in, char *err, size_t errsz);
/* A stream that yields the bytes already read and then the rest of the input, for readers that want a
 * FILE*. Closing it does not close the input. NULL with a message in err on failure. */
FILE *input_stream(input *in, char *err, size_t errsz);
/* Whether reading the underlying input failed (as opposed to its content being bad). */
int input_read_failed(const input *in);
void input_close(input *in);

/* ---- stats.c ---- */
typedef struct elem_stats {
	size_t count, nan, inf;
	size_t finite;     /* count - nan - inf */
	double min, max;   /* over finite elements; valid when finite > 0 */
	int64_t imin, imax; /* the same, exact, for integer types */
	double mean, std;  /* population standard deviation (NumPy's default, ddof = 0) */
} elem_stats;

/* Element i of a little-endian array of type t, as a double. */
double elem_get(dtype t, const void *data, size_t i);
void elem_stats_compute(dtype t, const void *data, size_t count, elem_stats *s);
int dtype_is_float(dtype t);
int dtype_is_integer(dtype t);
/* Write element i as JSON: shortest text that reads back to the same value at the type's precision;
 * NaN and infinities as the strings "NaN", "Infinity", "-Infinity" (JSON has no such numbers). */
void write_elem_json(FILE *out, dtype t, const void *data, size_t i);
/* Write a double as the shortest JSON number that reads back to it (non-finite: null). */
void write_double_json(FILE *out, double v);
/* The statistics' min or max as text, exact at the type's precision. */
void format_extreme(char *buf, size_t sz, dtype t, double v, int64_t iv);

/* ---- the printers: each returns an exit status (0, LFM_EXIT_DATA, LFM_EXIT_IO) and reports its own
 * errors on stderr, naming the input. ---- */
int show_npy(input *in, const show_options *o, FILE *out);
int show_safetensors(input *in, const show_options *o, FILE *out);
int show_stream(input *in, const show_options *o, FILE *out);
/* A stream written as JSON lines: a header object with "format", then one value per line. */
int show_jsonl(input *in, const show_options *o, FILE *out);

/* Write a JSON string (quoted, escaped) for a NUL-terminated C string. */
void write_json_cstr(FILE *out, const char *s);

#endif
