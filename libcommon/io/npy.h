/* npy.h — NumPy .npy files: read versions 1.0, 2.0, 3.0; write 1.0.
 *
 * Accepted dtypes: '<f4' float32, '<f2' float16, '<i4' int32, '<i8' int64, '|u1' (or '<u1') uint8, and
 * bfloat16, which NumPy has no name for. The bfloat16 convention: we write it as '<u2' (its raw 16-bit
 * patterns, so np.load gives a uint16 array; `torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)` or
 * ml_dtypes' `a.view(ml_dtypes.bfloat16)` turn it back), and read '<u2', '|V2' or '<V2' (what ml_dtypes'
 * bfloat16 arrays are saved as) as bfloat16 when the caller says so (npy_parse's u2_is_bf16).
 * npy_load and npy_load_f32 always say so: in this project a 16-bit array is always bfloat16.
 * Documented for users in formats/npy.md.
 * Refused: object dtypes ('|O'), big-endian data, structured dtypes, other dtypes ('<f8', '|b1', ...),
 * headers over NPY_MAX_HEADER (10 kB), more than NPY_MAX_DIMS dimensions, shapes whose byte size overflows,
 * data shorter or longer than the shape says. Fortran-order arrays are transposed to C order.
 * The header dict is parsed (keys in any order, either quote, trailing commas, Python 2 'L' suffixes),
 * never evaluated. Messages name the problem, e.g. "data truncated: 4 bytes, the shape needs 8".
 */
#ifndef LFM_NPY_H
#define LFM_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "base/tensor_dtype.h"

#define NPY_MAX_DIMS 8
#define NPY_MAX_HEADER 10240

typedef struct npy_array {
	dtype dtype;   /* DT_F32, DT_F64, DT_F16, DT_BF16, DT_I32, DT_I64, DT_U8 or DT_BOOL */
	int ndim;
	int64_t shape[NPY_MAX_DIMS];
	size_t count;  /* product of shape (1 for ndim 0) */
	void *data;    /* count * dtype_size(dtype) bytes, C order, owned by the array */
} npy_array;

/* Parse a whole .npy image in memory (the fuzz entry point; never dies). Returns 0, or -1 with a message
 * in err (no file name in it). u2_is_bf16: read '<u2'/'|V2'/'<V2' as bfloat16 instead of refusing them. */
int npy_parse(const void *buf, size_t len, int u2_is_bf16, npy_array *out, char *err, size_t errsz);
/* Load a file ("-" = stdin); dies with LFM_EXIT_DATA naming the file on any problem with its content
 * ("PATH: problem"), LFM_EXIT_IO when it cannot be opened or read. */
void npy_load(const char *path, npy_array *out);
/* Load floating-point data (float32, float64 as NumPy saves by default, float16, bfloat16) of the given
 * rank as a float32 copy (owned by the caller), with its shape. Dies naming the file when ndim differs
 * (pass -1 to accept any) or the array holds integers or booleans (naming the dtype). */
float *npy_load_f32(const char *path, int ndim, int64_t shape[NPY_MAX_DIMS], size_t *count);
void npy_free(npy_array *a);
/* NumPy's name of an element type: "float32", "float64", "int32", "bool", ... */
const char *npy_dtype_name(dtype t);

/* Write a version 1.0 file through outfile (atomic rename; "-" = stdout). data is C order. */
void npy_save(const char *path, dtype t, int ndim, const int64_t *shape, const void *data);
/* The same into an open stream (no atomic rename), for tools that compose their own output. */
void npy_write(void *file /* FILE* */, const char *name, dtype t, int ndim, const int64_t *shape,
	       const void *data);
/* Only the header, for an array written in parts (lfm-eval --features: a batch of rows at a time, the
 * shape known up front): the caller then writes exactly the returned number of bytes, C order. */
size_t npy_write_header(void *file /* FILE* */, const char *name, dtype t, int ndim, const int64_t *shape);

#endif
