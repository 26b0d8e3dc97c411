/* npy.c — see npy.h. The header is a Python dict literal; it is parsed by a small parser for exactly
 * the literals NumPy writes (strings, True/False, tuples of integers), never evaluated. */
#include "io/npy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/tensor_dtype.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6

/* ---- the header dict ------------------------------------------------------------------------ */

typedef struct hdr_parser {
	const char *s;
	size_t len, pos;
	char *err;
	size_t errsz;
} hdr_parser;

typedef struct npy_header {
	char descr[32];
	int fortran;
	int ndim;
	int64_t shape[NPY_MAX_DIMS];
	int have_descr, have_fortran, have_shape;
} npy_header;

static void hdr_ws(hdr_parser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
				   p->s[p->pos] == '\r'))
		p->pos++;
}

static int hdr_peek(hdr_parser *p) { return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1; }

static int hdr_fail(hdr_parser *p, const char *what)
{
	int c = hdr_peek(p);
	if (c < 0)
		return err_set(p->err, p->errsz, "header: %s at byte %zu of the header, found its end", what, p->pos);
	if (c >= 0x20 && c < 0x7f)
		return err_set(p->err, p->errsz, "header: %s at byte %zu of the header, found '%c'", what, p->pos, c);
	return err_set(p->err, p->errsz, "header: %s at byte %zu of the header, found byte 0x%02x", what, p->pos,
		       (unsigned)c);
}

/* A quoted string without escapes ('<f4', "shape"); NumPy never writes escapes in these. Copies at most
 * outsz-1 bytes and fails on longer strings. */
static int hdr_string(hdr_parser *p, char *out, size_t outsz)
{
	int q = hdr_peek(p);
	if (q != '\'' && q != '"')
		return hdr_fail(p, "expected a string");
	size_t start = ++p->pos;
	while (p->pos < p->len && p->s[p->pos] != q) {
		if (p->s[p->pos] == '\\' || p->s[p->pos] == '\n')
			return hdr_fail(p, "unsupported character in string");
		p->pos++;
	}
	if (p->pos >= p->len)
		return hdr_fail(p, "unterminated string");
	size_t n = p->pos - start;
	if (n >= outsz)
		return err_set(p->err, p->errsz, "header: string of %zu bytes at byte %zu is too long", n, start);
	memcpy(out, p->s + start, n);
	out[n] = 0;
	p->pos++;
	return 0;
}

static int hdr_int(hdr_parser *p, int64_t *out)
{
	int c = hdr_peek(p);
	if (c < '0' || c > '9')
		return hdr_fail(p, "expected a non-negative integer");
	int64_t v = 0;
	while ((c = hdr_peek(p)) >= '0' && c <= '9') {
		if (v > (INT64_MAX - (c - '0')) / 10)
			return err_set(p->err, p->errsz, "header: dimension at byte %zu is too large", p->pos);
		v = v * 10 + (c - '0');
		p->pos++;
	}
	if (c == 'L' || c == 'l') /* Python 2 longs, written by NumPy on Python 2 */
		p->pos++;
	*out = v;
	return 0;
}

/* A tuple of non-negative integers: (), (8,), (8, 3), (8, 3,). A single element needs its comma, as in
 * Python, where (8) is the integer 8. */
static int hdr_shape(hdr_parser *p, npy_header *h)
{
	if (hdr_peek(p) != '(')
		return hdr_fail(p, "expected a tuple for 'shape'");
	p->pos++;
	h->ndim = 0;
	int commas = 0;
	for (;;) {
		hdr_ws(p);
		if (hdr_peek(p) == ')') {
			if (h->ndim == 1 && commas == 0)
				return err_set(p->err, p->errsz, "header: 'shape' (N) is not a tuple; write (N,)");
			p->pos++;
			return 0;
		}
		if (h->ndim == NPY_MAX_DIMS)
			return err_set(p->err, p->errsz, "header: shape has more than %d dimensions", NPY_MAX_DIMS);
		if (hdr_int(p, &h->shape[h->ndim]) != 0)
			return -1;
		h->ndim++;
		hdr_ws(p);
		if (hdr_peek(p) == ',') {
			p->pos++;
			commas++;
		} else if (hdr_peek(p) != ')')
			return hdr_fail(p, "expected ',' or ')' in 'shape'");
	}
}

static int hdr_bool(hdr_parser *p, int *out)
{
	if (p->len - p->pos >= 4 && memcmp(p->s + p->pos, "True", 4) == 0) {
		p->pos += 4;
		*out = 1;
		return 0;
	}
	if (p->len - p->pos >= 5 && memcmp(p->s + p->pos, "False", 5) == 0) {
		p->pos += 5;
		*out = 0;
		return 0;
	}
	return hdr_fail(p, "expected True or False for 'fortran_order'");
}

static int parse_header_dict(const char *s, size_t len, npy_header *h, char *err, size_t errsz)
{
	hdr_parser p = {.s = s, .len = len, .err = err, .errsz = errsz};
	memset(h, 0, sizeof *h);
	hdr_ws(&p);
	if (hdr_peek(&p) != '{')
		return hdr_fail(&p, "expected '{'");
	p.pos++;
	for (;;) {
		hdr_ws(&p);
		if (hdr_peek(&p) == '}') {
			p.pos++;
			break;
		}
		char key[32];
		size_t key_at = p.pos;
		if (hdr_string(&p, key, sizeof key) != 0)
			return -1;
		hdr_ws(&p);
		if (hdr_peek(&p) != ':')
			return hdr_fail(&p, "expected ':'");
		p.pos++;
		hdr_ws(&p);
		int *seen;
		if (strcmp(key, "descr") == 0) {
			seen = &h->have_descr;
			if (hdr_peek(&p) == '[')
				return err_set(err, errsz, "structured dtypes (a list in 'descr') are not supported");
			if (hdr_peek(&p) == '{')
				return err_set(err, errsz, "structured dtypes (a dict in 'descr') are not supported");
			if (hdr_string(&p, h->descr, sizeof h->descr) != 0)
				return -1;
		} else if (strcmp(key, "fortran_order") == 0) {
			seen = &h->have_fortran;
			if (hdr_bool(&p, &h->fortran) != 0)
				return -1;
		} else if (strcmp(key, "shape") == 0) {
			seen = &h->have_shape;
			if (hdr_shape(&p, h) != 0)
				return -1;
		} else {
			return err_set(err, errsz, "header: unexpected key '%s' at byte %zu (only 'descr', "
				       "'fortran_order' and 'shape' are allowed)", key, key_at);
		}
		if (*seen)
			return err_set(err, errsz, "header: duplicate key '%s' at byte %zu", key, key_at);
		*seen = 1;
		hdr_ws(&p);
		if (hdr_peek(&p) == ',') {
			p.pos++;
			continue;
		}
		if (hdr_peek(&p) != '}')
			return hdr_fail(&p, "expected ',' or '}'");
	}
	hdr_ws(&p);
	if (p.pos < p.len)
		return hdr_fail(&p, "unexpected text after the dict");
	if (!h->have_descr)
		return err_set(err, errsz, "header: no 'descr'");
	if (!h->have_fortran)
		return err_set(err, errsz, "header: no 'fortran_order'");
	if (!h->have_shape)
		return err_set(err, errsz, "header: no 'shape'");
	return 0;
}

/* ---- dtypes ------------------------------------------------------------------------------------- */

static int descr_to_dtype(const char *d, int u2_is_bf16, dtype *out, char *err, size_t errsz)
{
	static const struct {
		const char *descr;
		dtype t;
	} known[] = {
		{"<f4", DT_F32}, {"<f2", DT_F16}, {"<f8", DT_F64}, {"<i4", DT_I32}, {"<i8", DT_I64},
		{"|u1", DT_U8},  {"<u1", DT_U8},  {"|b1", DT_BOOL},
	};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strcmp(d, known[i].descr) == 0) {
			*out = known[i].t;
			return 0;
		}
	int bf16_spelling = strcmp(d, "<u2") == 0 || strcmp(d, "|V2") == 0 || strcmp(d, "<V2") == 0;
	if (bf16_spelling && u2_is_bf16) {
		*out = DT_BF16;
		return 0;
	}
	if (bf16_spelling)
		return err_set(err, errsz, "dtype '%s' (16-bit) is read only as bfloat16, where bfloat16 is expected",
			       d);
	if (strchr(d, 'O'))
		return err_set(err, errsz, "object arrays (dtype '%s') are refused: they hold pickled Python objects",
			       d);
	if (d[0] == '>')
		return err_set(err, errsz, "big-endian dtype '%s' is not supported (save with '<' byte order)", d);
	return err_set(err, errsz,
		       "dtype '%s' is not supported (float32 '<f4', float64 '<f8', float16 '<f2', int32 '<i4', "
		       "int64 '<i8', uint8 '|u1', bool '|b1', bfloat16 as '<u2')", d);
}

const char *npy_dtype_name(dtype t)
{
	switch (t) {
	case DT_F32: return "float32";
	case DT_F16: return "float16";
	case DT_BF16: return "bfloat16";
	case DT_F64: return "float64";
	case DT_I32: return "int32";
	case DT_I64: return "int64";
	case DT_U8: return "uint8";
	case DT_BOOL: return "bool";
	default: return dtype_name(t);
	}
}

static const char *dtype_descr(dtype t)
{
	switch (t) {
	case DT_F32: return "<f4";
	case DT_F16: return "<f2";
	case DT_BF16: return "<u2";
	case DT_I32: return "<i4";
	case DT_I64: return "<i8";
	case DT_U8: return "|u1";
	default: return NULL;
	}
}

/* ---- reading ------------------------------------------------------------------------------------ */

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Valid UTF-8 (v3 headers): the same rules as json.c, without decoding. */
static int valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t k;
		unsigned lo = 0x80, hi = 0xbf;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf)
			k = 2;
		else if (c >= 0xe0 && c <= 0xef) {
			k = 3;
			lo = c == 0xe0 ? 0xa0 : 0x80;
			hi = c == 0xed ? 0x9f : 0xbf;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 4;
			lo = c == 0xf0 ? 0x90 : 0x80;
			hi = c == 0xf4 ? 0x8f : 0xbf;
		} else
			return 0;
		if (n - i < k || s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (size_t j = 2; j < k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
		i += k;
	}
	return 1;
}

/* Copy Fortran-order (column-major) elements into C order: walk the output in C order with an odometer
 * and keep the matching Fortran offset up to date. */
static void fortran_to_c(const unsigned char *src, unsigned char *dst, int ndim, const int64_t *shape,
			 size_t count, size_t esize)
{
	size_t fstride[NPY_MAX_DIMS], idx[NPY_MAX_DIMS] = {0};
	size_t s = 1;
	for (int k = 0; k < ndim; k++) {
		fstride[k] = s;
		s *= (size_t)shape[k];
	}
	size_t off = 0;
	for (size_t i = 0; i < count; i++) {
		memcpy(dst + i * esize, src + off * esize, esize);
		for (int k = ndim - 1; k >= 0; k--) {
			if (++idx[k] < (size_t)shape[k]) {
				off += fstride[k];
				break;
			}
			off -= (idx[k] - 1) * fstride[k];
			idx[k] = 0;
		}
	}
}

int npy_parse(const void *buf, size_t len, int u2_is_bf16, npy_array *out, char *err, size_t errsz)
{
	const unsigned char *b = buf;
	memset(out, 0, sizeof *out);
	if (len < NPY_MAGIC_LEN || memcmp(b, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
		return err_set(err, errsz, "not a .npy file (no \\x93NUMPY magic at the start)");
	if (len < NPY_MAGIC_LEN + 2)
		return err_set(err, errsz, "truncated: %zu bytes, no version", len);
	unsigned major = b[6], minor = b[7];
	if (major < 1 || major > 3 || minor != 0)
		return err_set(err, errsz, "unsupported .npy version %u.%u (1.0, 2.0 and 3.0 are read)", major, minor);
	size_t lensz = major == 1 ? 2 : 4;
	if (len < 8 + lensz)
		return err_set(err, errsz, "truncated: %zu bytes, no header length", len);
	size_t hlen = major == 1 ? (size_t)(b[8] | b[9] << 8) : (size_t)le32(b + 8);
	if (hlen > NPY_MAX_HEADER)
		return err_set(err, errsz, "header of %zu bytes exceeds the limit of %d", hlen, NPY_MAX_HEADER);
	size_t data_at = 8 + lensz + hlen;
	if (data_at > len)
		return err_set(err, errsz, "truncated: header of %zu bytes but the file has %zu", hlen, len);
	const char *htext = (const char *)b + 8 + lensz;
	if (major == 3 && !valid_utf8((const unsigned char *)htext, hlen))
		return err_set(err, errsz, "header is not valid UTF-8 (version 3.0)");
	if (major < 3)
		for (size_t i = 0; i < hlen; i++)
			if ((unsigned char)htext[i] >= 0x80)
				return err_set(err, errsz, "header: non-ASCII byte at byte %zu (version %u.0 is latin-1 "
					       "text that only holds ASCII here)", i, major);
	npy_header h;
	if (parse_header_dict(htext, hlen, &h, err, errsz) != 0)
		return -1;
	dtype t = DT_F32;
	if (descr_to_dtype(h.descr, u2_is_bf16, &t, err, errsz) != 0)
		return -1;
	size_t esize = dtype_size(t), count = 1;
	for (int k = 0; k < h.ndim; k++) {
		if ((uint64_t)h.shape[k] > SIZE_MAX ||
		    (h.shape[k] && count > SIZE_MAX / esize / (size_t)h.shape[k]))
			return err_set(err, errsz, "shape's element count overflows");
		count *= (size_t)h.shape[k];
	}
	size_t need = count * esize, have = len - data_at;
	if (have < need)
		return err_set(err, errsz, "data truncated: %zu bytes, the shape needs %zu", have, need);
	if (have > need)
		return err_set(err, errsz, "%zu bytes of data, the shape needs only %zu", have, need);
	void *data = malloc(need ? need : 1);
	if (!data)
		return err_set(err, errsz, "out of memory for %zu bytes of data", need);
	if (h.fortran && h.ndim > 1)
		fortran_to_c(b + data_at, data, h.ndim, h.shape, count, esize);
	else
		memcpy(data, b + data_at, need);
	out->dtype = t;
	out->ndim = h.ndim;
	memcpy(out->shape, h.shape, sizeof h.shape);
	out->count = count;
	out->data = data;
	return 0;
}

void npy_free(npy_array *a)
{
	free(a->data);
	memset(a, 0, sizeof *a);
}

/* In this project a 16-bit unsigned array is always bfloat16 (npy_save writes bfloat16 as '<u2'), so
 * the loaders read '<u2'/'|V2' as bfloat16. A regular file is mapped rather than read, so the only copy
 * made is the array's own. */
void npy_load(const char *path, npy_array *out)
{
	char err[512];
	int fd = strcmp(path, "-") != 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		size_t len = (size_t)st.st_size;
		void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		int saved = errno;
		close(fd);
		if (map == MAP_FAILED) {
			errno = saved;
			die(LFM_EXIT_IO, "%s: cannot map:", path);
		}
		int rc = npy_parse(map, len, 1, out, err, sizeof err);
		munmap(map, len);
		if (rc != 0)
			die(LFM_EXIT_DATA, "%s: %s", path, err);
		return;
	}
	if (fd >= 0)
		close(fd);
	/* Standard input, pipes, empty files; and the error messages for paths that cannot be opened. */
	size_t len;
	char *buf = xread_file(path, &len);
	if (npy_parse(buf, len, 1, out, err, sizeof err) != 0) {
		free(buf);
		die(LFM_EXIT_DATA, "%s: %s", path, err);
	}
	free(buf);
}

float *npy_load_f32(const char *path, int ndim, int64_t shape[NPY_MAX_DIMS], size_t *count)
{
	npy_array a;
	npy_load(path, &a);
	if (ndim >= 0 && a.ndim != ndim) {
		char s[256];
		format_shape(s, sizeof s, a.ndim, a.shape);
		die(LFM_EXIT_DATA, "%s: expected a %d-dimensional array, found shape %s", path, ndim, s);
	}
	if (a.dtype != DT_F32 && a.dtype != DT_F64 && a.dtype != DT_F16 && a.dtype != DT_BF16)
		die(LFM_EXIT_DATA, "%s: dtype %s: floating-point values expected (float32, float64, float16 or bfloat16); "
				   "an array of %s is not features (if it is, save it with .astype(numpy.float32))",
		    path, npy_dtype_name(a.dtype), a.dtype == DT_BOOL ? "booleans" : "integers");
	float *f;
	if (a.dtype == DT_F32) {
		f = a.data; /* already float32: hand over the buffer */
		a.data = NULL;
	} else {
		f = xmalloc_array(a.count, sizeof *f);
		dtype_to_f32(a.dtype, a.data, f, a.count);
	}
	if (shape) {
		for (int k = 0; k < NPY_MAX_DIMS; k++)
			shape[k] = k < a.ndim ? a.shape[k] : 0;
	}
	if (count)
		*count = a.count;
	npy_free(&a);
	return f;
}

/* ---- writing ------------------------------------------------------------------------------------ */

size_t npy_write_header(void *file, const char *name, dtype t, int ndim, const int64_t *shape)
{
	FILE *f = file;
	const char *descr = dtype_descr(t);
	if (!descr)
		die(LFM_EXIT_DATA, "%s: dtype %s cannot be written to .npy", name, dtype_name(t));
	if (ndim < 0 || ndim > NPY_MAX_DIMS)
		die(LFM_EXIT_DATA, "%s: %d dimensions (at most %d)", name, ndim, NPY_MAX_DIMS);
	char hdr[NPY_MAX_HEADER];
	size_t n = (size_t)snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
	size_t esize = dtype_size(t), count = 1;
	for (int k = 0; k < ndim; k++) {
		if (shape[k] < 0)
			die(LFM_EXIT_DATA, "%s: negative dimension %lld", name, (long long)shape[k]);
		if ((uint64_t)shape[k] > SIZE_MAX || (shape[k] && count > SIZE_MAX / esize / (size_t)shape[k]))
			die(LFM_EXIT_DATA, "%s: shape's element count overflows", name);
		count *= (size_t)shape[k];
		n += (size_t)snprintf(hdr + n, sizeof hdr - n, "%lld%s", (long long)shape[k],
				      ndim == 1 ? "," : k + 1 < ndim ? ", " : "");
	}
	n += (size_t)snprintf(hdr + n, sizeof hdr - n, "), }");
	/* Pad with spaces and end with '\n' so the data starts at a multiple of 64 (NumPy's alignment). */
	size_t total = NPY_MAGIC_LEN + 2 + 2 + n + 1;
	size_t pad = (64 - total % 64) % 64;
	memset(hdr + n, ' ', pad);
	n += pad;
	hdr[n++] = '\n';
	unsigned char pre[10];
	memcpy(pre, NPY_MAGIC, NPY_MAGIC_LEN);
	pre[6] = 1;
	pre[7] = 0;
	pre[8] = (unsigned char)(n & 0xff);
	pre[9] = (unsigned char)(n >> 8);
	xfwrite(pre, sizeof pre, f, name);
	xfwrite(hdr, n, f, name);
	return count * esize;
}

void npy_write(void *file, const char *name, dtype t, int ndim, const int64_t *shape, const void *data)
{
	size_t bytes = npy_write_header(file, name, t, ndim, shape);
	xfwrite(data, bytes, file, name);
}

void npy_save(const char *path, dtype t, int ndim, const int64_t *shape, const void *data)
{
	outfile o;
	outfile_open(&o, path, "wb");
	npy_write(o.f, o.path ? o.path : "stdout", t, ndim, shape, data);
	outfile_commit(&o);
}
