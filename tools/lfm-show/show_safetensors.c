/* show_safetensors.c — a safetensors file as its tensor table (name, dtype, shape, byte range within the
 * data section) and its __metadata__; with --stats, per-tensor statistics; with --json, one object. The
 * file is validated completely first (libcommon/io/safetensors.c), so a table is never shown for a file
 * the tools would refuse. */
#include "show.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "io/safetensors.h"

static void write_tensor_stats_json(FILE *out, const st_tensor *t)
{
	elem_stats s;
	elem_stats_compute(t->dtype, t->data, t->count, &s);
	char buf[64];
	fputs(",\"stats\":{\"min\":", out);
	if (s.finite) {
		format_extreme(buf, sizeof buf, t->dtype, s.min, s.imin);
		fputs(buf, out);
		fputs(",\"max\":", out);
		format_extreme(buf, sizeof buf, t->dtype, s.max, s.imax);
		fputs(buf, out);
		fputs(",\"mean\":", out);
		write_double_json(out, s.mean);
		fputs(",\"std\":", out);
		write_double_json(out, s.std);
	} else {
		fputs("null,\"max\":null,\"mean\":null,\"std\":null", out);
	}
	fprintf(out, ",\"nan\":%zu,\"inf\":%zu}", s.nan, s.inf);
}

static void show_json(const input *in, const st_file *f, size_t header_len, const show_options *o, FILE *out)
{
	size_t params = 0;
	for (size_t i = 0; i < f->n_tensors; i++)
		params += f->tensors[i].count;
	fputs("{\"file\":", out);
	write_json_cstr(out, in->name);
	fprintf(out, ",\"kind\":\"safetensors\",\"header_bytes\":%zu,\"data_bytes\":%zu,\"parameters\":%zu,"
		     "\"tensors\":[",
		header_len, in->len - 8 - header_len, params);
	for (size_t i = 0; i < f->n_tensors; i++) {
		const st_tensor *t = &f->tensors[i];
		fputs(i ? ",{\"name\":" : "{\"name\":", out);
		write_json_cstr(out, t->name);
		fprintf(out, ",\"dtype\":\"%s\",\"shape\":[", dtype_name(t->dtype));
		for (int k = 0; k < t->ndim; k++)
			fprintf(out, "%s%lld", k ? "," : "", (long long)t->shape[k]);
		fprintf(out, "],\"data_offsets\":[%zu,%zu]", t->begin, t->end);
		if (o->stats)
			write_tensor_stats_json(out, t);
		fputc('}', out);
	}
	fputs("],\"__metadata__\":{", out);
	for (size_t i = 0; i < f->n_meta; i++) {
		if (i)
			fputc(',', out);
		write_json_cstr(out, f->meta_keys[i]);
		fputc(':', out);
		write_json_cstr(out, f->meta_values[i]);
	}
	fputs("}}\n", out);
}

/* Names and metadata come from the file: text with control characters (a newline, a terminal escape) is
 * shown as a JSON string literal instead, so the table stays one line per tensor and the terminal safe. */
static int needs_quoting(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* The width put_text gives s. */
static size_t text_width(const char *s)
{
	if (!needs_quoting(s))
		return strlen(s);
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	if (!m)
		die(LFM_EXIT_IO, "out of memory");
	write_json_cstr(m, s);
	if (fclose(m) != 0)
		die(LFM_EXIT_IO, "out of memory");
	free(text);
	return len;
}

static void put_text(FILE *out, const char *s, size_t width)
{
	size_t n = text_width(s);
	if (needs_quoting(s))
		write_json_cstr(out, s);
	else
		fputs(s, out);
	for (; n < width; n++)
		fputc(' ', out);
}

/* One row of the table as text cells, so the columns can be aligned before printing. */
enum { COL_NAME, COL_DTYPE, COL_SHAPE, COL_RANGE, COL_MIN, COL_MAX, COL_MEAN, COL_STD, COL_NAN, COL_INF, NCOLS };
static const char *const col_titles[NCOLS] = {"NAME", "DTYPE", "SHAPE", "DATA_OFFSETS", "MIN", "MAX",
					       "MEAN", "STD", "NAN", "INF"};
typedef struct row {
	char cell[NCOLS][64];
} row;

static void fill_row(const st_tensor *t, int stats, row *r)
{
	snprintf(r->cell[COL_DTYPE], sizeof r->cell[0], "%s", dtype_name(t->dtype));
	format_shape(r->cell[COL_SHAPE], sizeof r->cell[0], t->ndim, t->shape);
	snprintf(r->cell[COL_RANGE], sizeof r->cell[0], "[%zu, %zu)", t->begin, t->end);
	if (!stats)
		return;
	elem_stats s;
	elem_stats_compute(t->dtype, t->data, t->count, &s);
	if (s.finite) {
		format_extreme(r->cell[COL_MIN], sizeof r->cell[0], t->dtype, s.min, s.imin);
		format_extreme(r->cell[COL_MAX], sizeof r->cell[0], t->dtype, s.max, s.imax);
		snprintf(r->cell[COL_MEAN], sizeof r->cell[0], "%.7g", s.mean);
		snprintf(r->cell[COL_STD], sizeof r->cell[0], "%.7g", s.std);
	} else {
		for (int c = COL_MIN; c <= COL_STD; c++)
			snprintf(r->cell[c], sizeof r->cell[0], "-");
	}
	snprintf(r->cell[COL_NAN], sizeof r->cell[0], "%zu", s.nan);
	snprintf(r->cell[COL_INF], sizeof r->cell[0], "%zu", s.inf);
}

static void show_text(const input *in, const st_file *f, size_t header_len, const show_options *o, FILE *out)
{
	size_t params = 0, width[NCOLS];
	int ncols = o->stats ? NCOLS : COL_RANGE + 1;
	row *rows = xmalloc_array(f->n_tensors ? f->n_tensors : 1, sizeof *rows);
	for (int c = 0; c < NCOLS; c++)
		width[c] = strlen(col_titles[c]);
	for (size_t i = 0; i < f->n_tensors; i++) {
		const st_tensor *t = &f->tensors[i];
		params += t->count;
		fill_row(t, o->stats, &rows[i]);
		size_t n = text_width(t->name);
		if (n > width[COL_NAME])
			width[COL_NAME] = n;
		for (int c = COL_DTYPE; c < ncols; c++)
			if (strlen(rows[i].cell[c]) > width[c])
				width[c] = strlen(rows[i].cell[c]);
	}
	fprintf(out, "%s: safetensors, %zu tensors, %zu parameters, header %zu bytes, data %zu bytes\n", in->name,
		f->n_tensors, params, header_len, in->len - 8 - header_len);
	if (f->n_tensors) {
		for (int c = 0; c < ncols; c++)
			fprintf(out, "%-*s%s", c + 1 < ncols ? (int)width[c] : 0, col_titles[c], c + 1 < ncols ? "  " : "\n");
	}
	for (size_t i = 0; i < f->n_tensors; i++) {
		put_text(out, f->tensors[i].name, width[COL_NAME]);
		for (int c = COL_DTYPE; c < ncols; c++)
			fprintf(out, "  %-*s", c + 1 < ncols ? (int)width[c] : 0, rows[i].cell[c]);
		fputc('\n', out);
	}
	free(rows);
	if (f->n_meta) {
		fprintf(out, "__metadata__:\n");
		for (size_t i = 0; i < f->n_meta; i++) {
			fputs("  ", out);
			put_text(out, f->meta_keys[i], 0);
			fputs("  ", out);
			put_text(out, f->meta_values[i], 0);
			fputc('\n', out);
		}
	}
}

int show_safetensors(input *in, const show_options *o, FILE *out)
{
	char err[1024];
	if (input_slurp(in, err, sizeof err) != 0) {
		warn("%s", err);
		return LFM_EXIT_IO;
	}
	st_file f;
	if (st_parse(in->data, in->len, &f, err, sizeof err) != 0) {
		warn("%s: %s", in->name, err);
		return LFM_EXIT_DATA;
	}
	size_t header_len = 0;
	for (int i = 7; i >= 0; i--)
		header_len = header_len << 8 | in->data[i];
	if (o->json)
		show_json(in, &f, header_len, o, out);
	else
		show_text(in, &f, header_len, o, out);
	st_close(&f);
	return 0;
}
