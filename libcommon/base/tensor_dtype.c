/* tensor_dtype.c — see tensor_dtype.h. Half-precision conversions work on the bit patterns, so they are
 * exact and independent of the FPU's rounding mode and of F16C/AVX512-BF16 support. */
#include "base/tensor_dtype.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "npy/safetensors data are little-endian and read in place: a big-endian host needs byte swaps");

static const struct {
	const char *name;
	size_t size;
} dtype_table[DT_COUNT] = {
	[DT_F32] = {"F32", 4}, [DT_F16] = {"F16", 2}, [DT_BF16] = {"BF16", 2}, [DT_F64] = {"F64", 8},
	[DT_I8] = {"I8", 1},   [DT_I16] = {"I16", 2}, [DT_I32] = {"I32", 4},   [DT_I64] = {"I64", 8},
	[DT_U8] = {"U8", 1},   [DT_U16] = {"U16", 2}, [DT_BOOL] = {"BOOL", 1},
};

size_t dtype_size(dtype t) { return (unsigned)t < DT_COUNT ? dtype_table[t].size : 0; }

const char *dtype_name(dtype t) { return (unsigned)t < DT_COUNT ? dtype_table[t].name : "?"; }

int dtype_from_name(const char *name, dtype *out)
{
	for (int t = 0; t < DT_COUNT; t++)
		if (strcmp(name, dtype_table[t].name) == 0) {
			*out = (dtype)t;
			return 0;
		}
	return -1;
}

static uint32_t f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static float bits_f32(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

float f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
	if (exp == 0x1f) /* inf, or NaN with its payload kept */
		return bits_f32(sign | 0x7f800000u | (mant << 13));
	if (exp == 0) {
		if (mant == 0)
			return bits_f32(sign);
		/* Subnormal: normalise. Its value is mant x 2^-24. */
		int e = -1;
		do {
			mant <<= 1;
			e++;
		} while (!(mant & 0x400));
		mant &= 0x3ff;
		return bits_f32(sign | ((uint32_t)(127 - 15 - e) << 23) | (mant << 13));
	}
	return bits_f32(sign | ((exp + 127 - 15) << 23) | (mant << 13));
}

uint16_t f32_to_f16(float f)
{
	uint32_t u = f32_bits(f);
	uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
	uint32_t exp = (u >> 23) & 0xff, mant = u & 0x7fffff;
	if (exp == 0xff) {
		if (!mant)
			return sign | 0x7c00;
		/* NaN: keep the top payload bits; make sure it stays a NaN. */
		uint16_t m = (uint16_t)(mant >> 13);
		return sign | 0x7c00 | (m ? m : 0x200);
	}
	int e = (int)exp - 127 + 15; /* the f16 biased exponent */
	if (e >= 0x1f)
		return sign | 0x7c00; /* overflow */
	uint32_t sig;  /* significand with the implicit bit */
	int shift;     /* how many low bits to drop */
	if (e <= 0) {
		/* f16 subnormal (or zero): value = sig x 2^-24 after shifting. */
		if (e < -10)
			return sign; /* below half the smallest subnormal: rounds to zero */
		sig = mant | 0x800000;
		shift = 14 - e; /* 13 + (1 - e) */
	} else {
		sig = mant;
		shift = 13;
	}
	uint32_t kept = sig >> shift, rest = sig & ((1u << shift) - 1), half = 1u << (shift - 1);
	if (rest > half || (rest == half && (kept & 1)))
		kept++;
	if (e <= 0)
		return sign | (uint16_t)kept; /* a carry into bit 10 correctly gives the smallest normal */
	/* A carry out of the mantissa bumps the exponent, and 0x7bff + 1 becomes inf: both by addition. */
	return (uint16_t)(sign | (((uint32_t)e << 10) + kept));
}

float bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t f32_to_bf16(float f)
{
	uint32_t u = f32_bits(f);
	if ((u & 0x7fffffff) > 0x7f800000) {
		/* NaN: truncate, keeping it a NaN when the payload was only in the dropped half. */
		uint16_t h = (uint16_t)(u >> 16);
		return (h & 0x7f) ? h : (h | 0x40);
	}
	/* Round to nearest even; a carry propagates into the exponent, and to inf from the largest finite. */
	u += 0x7fff + ((u >> 16) & 1);
	return (uint16_t)(u >> 16);
}

static uint16_t ld16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }

void dtype_to_f32(dtype t, const void *src, float *dst, size_t n)
{
	const unsigned char *s = src;
	switch (t) {
	case DT_F32:
		memcpy(dst, src, n * 4);
		break;
	case DT_F16:
		for (size_t i = 0; i < n; i++)
			dst[i] = f16_to_f32(ld16(s + 2 * i));
		break;
	case DT_BF16:
		for (size_t i = 0; i < n; i++)
			dst[i] = bf16_to_f32(ld16(s + 2 * i));
		break;
	case DT_F64:
		for (size_t i = 0; i < n; i++) {
			double d;
			memcpy(&d, s + 8 * i, 8);
			dst[i] = (float)d;
		}
		break;
	case DT_I8:
		for (size_t i = 0; i < n; i++)
			dst[i] = (float)(int8_t)s[i];
		break;
	case DT_I16:
		for (size_t i = 0; i < n; i++)
			dst[i] = (float)(int16_t)ld16(s + 2 * i);
		break;
	case DT_I32:
		for (size_t i = 0; i < n; i++) {
			int32_t v;
			memcpy(&v, s + 4 * i, 4);
			dst[i] = (float)v;
		}
		break;
	case DT_I64:
		for (size_t i = 0; i < n; i++) {
			int64_t v;
			memcpy(&v, s + 8 * i, 8);
			dst[i] = (float)v;
		}
		break;
	case DT_U8:
		for (size_t i = 0; i < n; i++)
			dst[i] = (float)s[i];
		break;
	case DT_U16:
		for (size_t i = 0; i < n; i++)
			dst[i] = (float)ld16(s + 2 * i);
		break;
	case DT_BOOL:
		for (size_t i = 0; i < n; i++)
			dst[i] = s[i] ? 1.0f : 0.0f;
		break;
	case DT_COUNT:
		break;
	}
}

void format_shape(char *buf, size_t sz, int ndim, const int64_t *shape)
{
	size_t n = 0;
	int w = snprintf(buf, sz, "[");
	n = w > 0 ? (size_t)w : 0;
	for (int k = 0; k < ndim && n < sz; k++) {
		w = snprintf(buf + n, sz - n, "%s%lld", k ? ", " : "", (long long)shape[k]);
		n += w > 0 ? (size_t)w : 0;
	}
	if (n < sz)
		snprintf(buf + n, sz - n, "]");
}

/* Whether back and v are the same value of type t. */
static int same_at(dtype t, double back, double v)
{
	switch (t) {
	case DT_F32: return (float)back == (float)v;
	case DT_F16: return f32_to_f16((float)back) == f32_to_f16((float)v);
	case DT_BF16: return f32_to_bf16((float)back) == f32_to_bf16((float)v);
	default: return back == v;
	}
}

void format_shortest(char *buf, size_t sz, double v, dtype t)
{
	/* A decimal of at most DIG significant digits survives decimal -> t -> decimal (DBL_DIG 15, FLT_DIG 6,
	 * 3 for float16, 2 for bfloat16), so when a normal number has a short form, printing it at that
	 * precision finds it (%g drops trailing zeros): the search starts there. Subnormals hold fewer
	 * digits: those from 1. */
	int dig = t == DT_F32 ? 6 : t == DT_F16 ? 3 : t == DT_BF16 ? 2 : 15;
	int max = t == DT_F32 ? 9 : t == DT_F16 ? 5 : t == DT_BF16 ? 4 : 17;
	double min_normal = t == DT_F32 || t == DT_BF16 ? 1.17549435e-38 : t == DT_F16 ? 6.103515625e-05 : 2.2250738585072014e-308;
	int first = v != 0 && isfinite(v) && fabs(v) < min_normal ? 1 : dig;
	for (int prec = first; prec <= max; prec++) {
		snprintf(buf, sz, "%.*g", prec, v);
		if (!isfinite(v) || same_at(t, strtod(buf, NULL), v))
			return;
	}
	snprintf(buf, sz, "%.17g", v); /* cannot happen for a value of type t; the exact double then */
}
