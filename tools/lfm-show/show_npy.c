/* show_npy.c — a .npy file as its dtype, shape and statistics; with --values, the values as JSON arrays,
 * one row (the last axis) per line; with --json, all of it as one JSON object. */
#include "show.h"

#include <string.h>

#include "base/errors.h"
#include "io/npy.h"

/* The value after key in a Python dict literal: skips the key's closing quote, blanks and ':'. */
static const char *dict_value(const char *h, const char *key)
{
	const char *p = strstr(h, key);
	if (!p)
		return NULL;
	p += strlen(key);
	if (*p == '\'' || *p == '"')
		p++;
	while (*p == ' ' || *p == ':')
		p++;
	return p;
}

/* The header's descr and fortran_order as written, for display only; called after npy_parse accepted
 * the header, so its syntax is known to be valid. */
static void header_facts(const unsigned char *b, size_t len, char *descr, size_t dsz, int *fortran)
{
	descr[0] = 0;
	*fortran = 0;
	size_t lensz = b[6] == 1 ? 2 : 4;
	size_t hlen = b[6] == 1 ? (size_t)(b[8] | b[9] << 8)
				: (size_t)(b[8] | b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24);
	if (hlen > NPY_MAX_HEADER || 8 + lensz + hlen > len)
		return;
	char h[NPY_MAX_HEADER + 1];
	memcpy(h, b + 8 + lensz, hlen);
	h[hlen] = 0;
	const char *d = dict_value(h, "'descr'");
	if (!d)
		d = dict_value(h, "\"descr\"");
	if (d && (*d == '\'' || *d == '"')) {
		char q = *d++;
		size_t n = 0;
		while (d[n] && d[n] != q && n + 1 < dsz)
			n++;
		memcpy(descr, d, n);
		descr[n] = 0;
	}
	const char *f = dict_value(h, "fortran_order");
	*fortran = f && strncmp(f, "True", 4) == 0;
}

/* Nested JSON array of the values for --json --values. */
static void write_nested(FILE *out, const npy_array *a, int dim, size_t *pos)
{
	if (dim == a->ndim) {
		write_elem_json(out, a->dtype, a->data, (*pos)++);
		return;
	}
	fputc('[', out);
	for (int64_t k = 0; k < a->shape[dim]; k++) {
		if (k)
			fputc(',', out);
		write_nested(out, a, dim + 1, pos);
	}
	fputc(']', out);
}

static void write_stats_json(FILE *out, const npy_array *a, const elem_stats *s)
{
	char buf[64];
	fprintf(out, "\"count\":%zu,\"min\":", s->count);
	if (s->finite) {
		format_extreme(buf, sizeof buf, a->dtype, s->min, s->imin);
		fputs(buf, out);
		fputs(",\"max\":", out);
		format_extreme(buf, sizeof buf, a->dtype, s->max, s->imax);
		fputs(buf, out);
		fputs(",\"mean\":", out);
		write_double_json(out, s->mean);
		fputs(",\"std\":", out);
		write_double_json(out, s->std);
	} else {
		fputs("null,\"max\":null,\"mean\":null,\"std\":null", out);
	}
	fprintf(out, ",\"nan\":%zu,\"inf\":%zu", s->nan, s->inf);
}

int show_npy(input *in, const show_options *o, FILE *out)
{
	char err[512];
	if (input_slurp(in, err, sizeof err) != 0) {
		warn("%s", err);
		return LFM_EXIT_IO;
	}
	npy_array a;
	/* '<u2' is bfloat16 in this project (formats/npy.md), as every tool's loader reads it. */
	if (npy_parse(in->data, in->len, 1, &a, err, sizeof err) != 0) {
		warn("%s: %s", in->name, err);
		return LFM_EXIT_DATA;
	}
	char descr[32], shape[256];
	int fortran;
	header_facts(in->data, in->len, descr, sizeof descr, &fortran);
	format_shape(shape, sizeof shape, a.ndim, a.shape);
	elem_stats s;
	elem_stats_compute(a.dtype, a.data, a.count, &s);
	unsigned major = in->data[6];

	if (o->json) {
		fputs("{\"file\":", out);
		write_json_cstr(out, in->name);
		fprintf(out, ",\"kind\":\"npy\",\"version\":\"%u.0\",\"dtype\":\"%s\",\"descr\":", major,
			npy_dtype_name(a.dtype));
		write_json_cstr(out, descr);
		fprintf(out, ",\"fortran_order\":%s,\"shape\":[", fortran ? "true" : "false");
		for (int k = 0; k < a.ndim; k++)
			fprintf(out, "%s%lld", k ? "," : "", (long long)a.shape[k]);
		fputs("],", out);
		write_stats_json(out, &a, &s);
		if (o->values) {
			size_t pos = 0;
			fputs(",\"values\":", out);
			write_nested(out, &a, 0, &pos);
		}
		fputs("}\n", out);
	} else {
		fprintf(out, "%s: npy %u.0, %s %s ('%s'%s)\n", in->name, major, npy_dtype_name(a.dtype), shape, descr,
			fortran ? ", Fortran order, shown in C order" : "");
		char lo[64] = "-", hi[64] = "-", mean[64] = "-", sd[64] = "-";
		if (s.finite) {
			format_extreme(lo, sizeof lo, a.dtype, s.min, s.imin);
			format_extreme(hi, sizeof hi, a.dtype, s.max, s.imax);
			snprintf(mean, sizeof mean, "%.7g", s.mean);
			snprintf(sd, sizeof sd, "%.7g", s.std);
		}
		fprintf(out, "  count  %zu\n  min    %s\n  max    %s\n  mean   %s\n  std    %s\n  nan    %zu\n"
			     "  inf    %zu\n",
			s.count, lo, hi, mean, sd, s.nan, s.inf);
		if (o->values) {
			/* One line per row of the last axis (the whole array for 0-D and 1-D arrays). */
			size_t row = a.ndim ? (size_t)a.shape[a.ndim - 1] : 1;
			size_t rows = a.ndim > 1 && row ? a.count / row : 1;
			if (o->head >= 0 && (size_t)o->head < rows)
				rows = (size_t)o->head;
			for (size_t r = 0; r < rows; r++) {
				if (a.ndim == 0) {
					write_elem_json(out, a.dtype, a.data, 0);
				} else {
					fputc('[', out);
					for (size_t c = 0; c < row; c++) {
						if (c)
							fputs(", ", out);
						write_elem_json(out, a.dtype, a.data, r * row + c);
					}
					fputc(']', out);
				}
				fputc('\n', out);
			}
		}
	}
	npy_free(&a);
	return 0;
}
