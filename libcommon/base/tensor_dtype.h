/* tensor_dtype.h — element types shared by the npy and safetensors readers, and half-precision
 * conversions. */
#ifndef LFM_TENSOR_DTYPE_H
#define LFM_TENSOR_DTYPE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
	DT_F32, DT_F16, DT_BF16, DT_F64, DT_I8, DT_I16, DT_I32, DT_I64, DT_U8, DT_U16, DT_BOOL,
	DT_COUNT
} dtype;

size_t dtype_size(dtype t);
const char *dtype_name(dtype t); /* safetensors spelling: "F32", "F16", "BF16", "I64", "U8", ... */
int dtype_from_name(const char *name, dtype *out); /* 0 ok, -1 unknown */

/* Exact, on bit patterns (no dependence on FPU mode or F16C). Subnormals are kept both ways. Every
 * 16-bit pattern, NaN payloads included, survives f32_to_X(X_to_f32(h)) == h. */
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);   /* round to nearest even, overflow to inf, NaN kept (sign, top payload) */
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);  /* round to nearest even, NaN kept */

/* The shortest "%.*g" text of v that reads back to the same value at type t's precision (DT_F64: the
 * double; DT_F32, DT_F16, DT_BF16: the same value of that type), in buf. NaN and infinities print as %g
 * prints them ("nan", "inf"): callers writing JSON spell those themselves. The one definition every
 * writer of numbers uses (JSON, metrics, lfm-show, stored options). */
void format_shortest(char *buf, size_t sz, double v, dtype t);

/* "[2, 3, 4]": a shape as messages print it, cut to fit sz bytes. */
void format_shape(char *buf, size_t sz, int ndim, const int64_t *shape);

/* Convert n elements of type t at src (little-endian) to float32 at dst. Integers convert by value. */
void dtype_to_f32(dtype t, const void *src, float *dst, size_t n);

#endif
