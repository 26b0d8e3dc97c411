/* safetensors.h — reader (mmap, fully validated) and writer for the safetensors format
 * (https://github.com/huggingface/safetensors): 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}},
 * then the data.
 *
 * Validation, as the reference implementation: N <= 100 MB and within the file; the header is JSON parsed
 * by a real parser, an object of objects with exactly those keys; dtypes known; offsets within the data
 * section, end >= begin, end - begin == dtype size x product(shape) (no overflow); the tensors, sorted by
 * offset, cover the data section contiguously from 0 with no gap or overlap, ending exactly at the end of
 * the file; metadata values strings. Nothing in the file is executed or trusted further.
 */
#ifndef LFM_SAFETENSORS_H
#define LFM_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "base/tensor_dtype.h"

#define ST_MAX_DIMS 8
#define ST_MAX_HEADER (100u * 1000 * 1000)

typedef struct st_tensor {
	char *name;
	dtype dtype;
	int ndim;
	int64_t shape[ST_MAX_DIMS];
	size_t count;      /* product of shape */
	size_t begin, end; /* offsets within the data section */
	const void *data;  /* points into the mapping */
} st_tensor;

typedef struct st_file {
	char *path; /* the file read (DIR/model.safetensors when a directory was given) */
	char *dir;  /* the directory given, or NULL: a Hugging Face model directory, whose config.json
		     * model/hf_config.h reads */
	void *map;
	size_t map_len;
	size_t n_tensors;
	st_tensor *tensors; /* in header order */
	size_t n_meta;
	char **meta_keys, **meta_values;
} st_file;

/* Validate an in-memory image (the fuzz entry point; never dies). The file keeps pointers into buf, which
 * must outlive it; map stays NULL. Messages name the problem and the tensor, e.g. "tensors 'a' and 'b'
 * overlap (data_offsets [0, 8] and [4, 12])" or "tensor 'x': 24 bytes for F32 [2, 4] needs 32". */
int st_parse(const void *buf, size_t len, st_file *f, char *err, size_t errsz);
/* mmap (read-only) and validate; a directory: its model.safetensors (Hugging Face's save_pretrained
 * layout; not a sharded one), with f->dir set; "-" or a pipe is read into an anonymous mapping instead. Returns 0, or -1
 * with "PATH: problem" in err. The mapping is shared with the file: truncating the file while it is open
 * is not defended against (SIGBUS), as with any mmap reader. */
int st_open(const char *path, st_file *f, char *err, size_t errsz);
/* st_open that dies with LFM_EXIT_DATA (bad file) or LFM_EXIT_IO (cannot open) and the message. */
void st_open_or_die(const char *path, st_file *f);
void st_close(st_file *f);

const st_tensor *st_find(const st_file *f, const char *name);
const char *st_meta(const st_file *f, const char *key); /* NULL if absent */
/* Convert to float32: F32, F16, BF16 (and integer types by value). dst NULL allocates. */
float *st_to_f32(const st_tensor *t, float *dst);

/* Writer: collect tensors (data copied by reference; must stay valid until st_writer_save) and metadata,
 * then save: names sorted, header padded with spaces to a multiple of 8, written to a temporary file and
 * renamed into place. */
typedef struct st_writer st_writer;
st_writer *st_writer_new(void);
void st_writer_add(st_writer *w, const char *name, dtype t, int ndim, const int64_t *shape,
		   const void *data);
void st_writer_meta(st_writer *w, const char *key, const char *value);
void st_writer_save(st_writer *w, const char *path);
void st_writer_free(st_writer *w);

#endif
