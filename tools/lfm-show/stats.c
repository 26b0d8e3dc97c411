/* stats.c — element statistics for arrays of any tensor dtype, and number formatting that shows each
 * value exactly at its own precision (float16 0.1 prints as 0.1, not as float32's 0.0999755859). */
#include "show.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"

static uint16_t rd16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

int dtype_is_float(dtype t) { return t == DT_F32 || t == DT_F16 || t == DT_BF16 || t == DT_F64; }
int dtype_is_integer(dtype t) { return !dtype_is_float(t); }

/* Integer types exactly (bool as 0/1). */
static int64_t elem_int(dtype t, const unsigned char *p)
{
	switch (t) {
	case DT_I8: return (int8_t)p[0];
	case DT_I16: return (int16_t)rd16(p);
	case DT_I32: return (int32_t)rd32(p);
	case DT_I64: return (int64_t)rd64(p);
	case DT_U8: return p[0];
	case DT_U16: return rd16(p);
	case DT_BOOL: return p[0] != 0;
	default: return 0;
	}
}

double elem_get(dtype t, const void *data, size_t i)
{
	const unsigned char *p = (const unsigned char *)data + i * dtype_size(t);
	switch (t) {
	case DT_F32: {
		uint32_t u = rd32(p);
		float f;
		memcpy(&f, &u, sizeof f);
		return f;
	}
	case DT_F64: {
		uint64_t u = rd64(p);
		double d;
		memcpy(&d, &u, sizeof d);
		return d;
	}
	case DT_F16: return f16_to_f32(rd16(p));
	case DT_BF16: return bf16_to_f32(rd16(p));
	default: return (double)elem_int(t, p);
	}
}

void elem_stats_compute(dtype t, const void *data, size_t count, elem_stats *s)
{
	memset(s, 0, sizeof *s);
	s->count = count;
	int integer = dtype_is_integer(t);
	/* Two passes in double with Neumaier-compensated sums: the mean and the spread stay accurate for
	 * the hundred-million-element tensors of a large checkpoint. */
	double sum = 0, comp = 0;
	for (size_t i = 0; i < count; i++) {
		double v = elem_get(t, data, i);
		if (isnan(v)) {
			s->nan++;
			continue;
		}
		if (isinf(v)) {
			s->inf++;
			continue;
		}
		if (s->finite == 0) {
			s->min = s->max = v;
			if (integer)
				s->imin = s->imax = elem_int(t, (const unsigned char *)data + i * dtype_size(t));
		} else {
			if (v < s->min)
				s->min = v;
			if (v > s->max)
				s->max = v;
			if (integer) {
				int64_t iv = elem_int(t, (const unsigned char *)data + i * dtype_size(t));
				if (iv < s->imin)
					s->imin = iv;
				if (iv > s->imax)
					s->imax = iv;
			}
		}
		s->finite++;
		double y = sum + v;
		comp += fabs(sum) >= fabs(v) ? (sum - y) + v : (v - y) + sum;
		sum = y;
	}
	if (s->finite == 0)
		return;
	s->mean = (sum + comp) / (double)s->finite;
	double ss = 0, ssc = 0;
	for (size_t i = 0; i < count; i++) {
		double v = elem_get(t, data, i);
		if (!isfinite(v))
			continue;
		double d = (v - s->mean) * (v - s->mean);
		double y = ss + d;
		ssc += ss >= d ? (ss - y) + d : (d - y) + ss;
		ss = y;
	}
	s->std = sqrt((ss + ssc) / (double)s->finite);
}

/* "1.0" rather than "1" for a float, as mp_write_json writes stream values: the reader sees the type. */
static void mark_float(char *buf, size_t sz)
{
	if (!strpbrk(buf, ".en") && strlen(buf) + 3 <= sz)
		strcat(buf, ".0");
}

void format_extreme(char *buf, size_t sz, dtype t, double v, int64_t iv)
{
	if (dtype_is_integer(t)) {
		snprintf(buf, sz, "%lld", (long long)iv);
	} else {
		format_shortest(buf, sz, v, t);
		mark_float(buf, sz);
	}
}

void write_double_json(FILE *out, double v)
{
	if (!isfinite(v)) {
		fputs("null", out);
		return;
	}
	char buf[40];
	format_shortest(buf, sizeof buf, v, DT_F64);
	mark_float(buf, sizeof buf);
	fputs(buf, out);
}

void write_elem_json(FILE *out, dtype t, const void *data, size_t i)
{
	if (dtype_is_integer(t)) {
		fprintf(out, "%lld", (long long)elem_int(t, (const unsigned char *)data + i * dtype_size(t)));
		return;
	}
	double v = elem_get(t, data, i);
	if (isnan(v)) {
		fputs("\"NaN\"", out);
		return;
	}
	if (isinf(v)) {
		fputs(v > 0 ? "\"Infinity\"" : "\"-Infinity\"", out);
		return;
	}
	char buf[40];
	format_shortest(buf, sizeof buf, v, t);
	mark_float(buf, sizeof buf);
	fputs(buf, out);
}

void write_json_cstr(FILE *out, const char *s)
{
	json_write_string(out, s, strlen(s));
}
