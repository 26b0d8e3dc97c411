/* test_npy.c — .npy reading (v1/v2/v3, header dict variants, Fortran order), writing (v1, 64-byte
 * alignment, atomic), every refusal with its message, the shared golden arrays, and the death tests. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "io/npy.h"
#include "../test.h"

/* A .npy image: magic, version, header length (2 bytes for v1, 4 for v2/v3), header text, data. */
static unsigned char *make_npy(int major, const char *header, const void *data, size_t datalen, size_t *len)
{
	size_t hl = strlen(header), lensz = major == 1 ? 2 : 4;
	*len = 8 + lensz + hl + datalen;
	unsigned char *b = malloc(*len + 1);
	memcpy(b, "\x93NUMPY", 6);
	b[6] = (unsigned char)major;
	b[7] = 0;
	for (size_t i = 0; i < lensz; i++)
		b[8 + i] = (unsigned char)(hl >> (8 * i));
	memcpy(b + 8 + lensz, header, hl);
	if (datalen)
		memcpy(b + 8 + lensz + hl, data, datalen);
	return b;
}

static void test_parse_v1_basic(void)
{
	float v[6] = {0, 1.5f, -2, 3, 4, 5};
	size_t len;
	unsigned char *b = make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }          \n", v,
				    sizeof v, &len);
	npy_array a;
	char err[256];
	T_ASSERTF(npy_parse(b, len, 0, &a, err, sizeof err) == 0, "%s", err);
	T_ASSERT(a.dtype == DT_F32 && a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3 && a.count == 6);
	T_ASSERT(memcmp(a.data, v, sizeof v) == 0);
	npy_free(&a);
	T_ASSERT(a.data == NULL);
	free(b);
}

/* The dict is parsed, not matched: any key order, either quote, spacing, trailing commas, 0-d and 1-d
 * tuples, Python 2 longs, newline or spaces at the end. */
static void test_header_dict_variants(void)
{
	static const struct {
		const char *header;
		int ndim;
		int64_t d0, d1;
	} cases[] = {
		{"{'shape': (2, 3), 'fortran_order': False, 'descr': '<i4'}\n", 2, 2, 3},
		{"{\"descr\":\"<i4\",\"fortran_order\":False,\"shape\":(2,3)}", 2, 2, 3},
		{"{'descr':'<i4','fortran_order':False,'shape':(2 , 3 , ),}", 2, 2, 3},
		{"  {  'descr' : '<i4' , 'fortran_order' : False , 'shape' : ( 6 , ) }  \n", 1, 6, 0},
		{"{'descr': '<i4', 'fortran_order': False, 'shape': (6,), }\t\r\n", 1, 6, 0},
		{"{'descr': '<i4', 'fortran_order': False, 'shape': (2L, 3L), }\n", 2, 2, 3},
		{"{'descr': '<i4', 'fortran_order': True, 'shape': (6,), }\n", 1, 6, 0}, /* 1-d: order moot */
	};
	int32_t v[6] = {1, 2, 3, 4, 5, 6};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len;
		unsigned char *b = make_npy(1, cases[i].header, v, sizeof v, &len);
		npy_array a;
		char err[256];
		int rc = npy_parse(b, len, 0, &a, err, sizeof err);
		free(b);
		T_ASSERTF(rc == 0, "case %zu: %s", i, err);
		T_ASSERTF(a.dtype == DT_I32 && a.ndim == cases[i].ndim && a.shape[0] == cases[i].d0 &&
				  (a.ndim < 2 || a.shape[1] == cases[i].d1) && a.count == 6,
			  "case %zu: ndim %d", i, a.ndim);
		T_ASSERT(memcmp(a.data, v, sizeof v) == 0);
		npy_free(&a);
	}
	/* 0-d: shape (), one element. */
	int64_t one = 42;
	size_t len;
	unsigned char *b = make_npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (), }\n", &one, 8, &len);
	npy_array a;
	char err[256];
	T_ASSERTF(npy_parse(b, len, 0, &a, err, sizeof err) == 0, "%s", err);
	T_ASSERT(a.ndim == 0 && a.count == 1 && a.dtype == DT_I64 && *(int64_t *)a.data == 42);
	npy_free(&a);
	free(b);
	/* A zero-length dimension: no data at all. */
	b = make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }\n", NULL, 0, &len);
	T_ASSERTF(npy_parse(b, len, 0, &a, err, sizeof err) == 0, "%s", err);
	T_ASSERT(a.ndim == 2 && a.count == 0 && a.shape[1] == 5 && a.data != NULL);
	npy_free(&a);
	free(b);
}

static void test_versions_2_and_3(void)
{
	uint8_t v[4] = {1, 2, 250, 255};
	for (int major = 2; major <= 3; major++) {
		size_t len;
		unsigned char *b = make_npy(major, "{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }\n", v, 4,
					    &len);
		npy_array a;
		char err[256];
		T_ASSERTF(npy_parse(b, len, 0, &a, err, sizeof err) == 0, "v%d: %s", major, err);
		T_ASSERT(a.dtype == DT_U8 && a.count == 4 && memcmp(a.data, v, 4) == 0);
		npy_free(&a);
		free(b);
	}
	/* v2/v3 allow long headers (4-byte length), still capped at 10 kB here. */
	char header[9000];
	int n = snprintf(header, sizeof header, "{'descr': '<u1', 'fortran_order': False, 'shape': (4,), }");
	memset(header + n, ' ', sizeof header - (size_t)n - 2);
	header[sizeof header - 2] = '\n';
	header[sizeof header - 1] = 0;
	size_t len;
	unsigned char *b = make_npy(2, header, v, 4, &len);
	npy_array a;
	char err[256];
	T_ASSERTF(npy_parse(b, len, 0, &a, err, sizeof err) == 0, "%s", err);
	npy_free(&a);
	free(b);
	/* v3's header is UTF-8: a valid multi-byte character gets past the UTF-8 check (and is then refused
	 * as an unknown key, not as bad encoding); an invalid sequence is refused as encoding. */
	b = make_npy(3, "{'descr': '<u1', 'fortran_order': False, 'shape': (4,), 'caf\xc3\xa9': True}\n", v, 4, &len);
	T_ASSERT(npy_parse(b, len, 0, &a, err, sizeof err) != 0 && strstr(err, "unexpected key 'caf\xc3\xa9'"));
	free(b);
	b = make_npy(3, "{'descr': '<u1', 'fortran_order': False, 'shape': (4,), }\xc3\n", v, 4, &len);
	T_ASSERTF(npy_parse(b, len, 0, &a, err, sizeof err) != 0 && strstr(err, "not valid UTF-8"), "%s", err);
	free(b);
}

/* Column-major data come out in C order: element (i, j, k) of a Fortran file sits at
 * i + d0 * (j + d1 * k); we store value = its C-order index and expect 0, 1, 2, ... */
static void test_fortran_order_transposed(void)
{
	const int64_t d[3] = {2, 3, 4};
	int32_t f[24];
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 3; j++)
			for (int k = 0; k < 4; k++)
				f[i + 2 * (j + 3 * k)] = (i * 3 + j) * 4 + k;
	size_t len;
	unsigned char *b = make_npy(1, "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3, 4), }\n", f, sizeof f,
				    &len);
	npy_array a;
	char err[256];
	T_ASSERTF(npy_parse(b, len, 0, &a, err, sizeof err) == 0, "%s", err);
	T_ASSERT(a.ndim == 3 && a.shape[0] == d[0] && a.shape[1] == d[1] && a.shape[2] == d[2]);
	for (int i = 0; i < 24; i++)
		T_ASSERTF(((int32_t *)a.data)[i] == i, "element %d is %d", i, ((int32_t *)a.data)[i]);
	npy_free(&a);
	free(b);
	/* 2-d float16, the common case (np.asfortranarray of a matrix). */
	uint16_t m[6]; /* [[1,2,3],[4,5,6]] in column order: 1 4 2 5 3 6 */
	const float col[6] = {1, 4, 2, 5, 3, 6};
	for (int i = 0; i < 6; i++)
		m[i] = f32_to_f16(col[i]);
	b = make_npy(1, "{'descr': '<f2', 'fortran_order': True, 'shape': (2, 3), }\n", m, sizeof m, &len);
	T_ASSERTF(npy_parse(b, len, 0, &a, err, sizeof err) == 0, "%s", err);
	for (int i = 0; i < 6; i++)
		T_ASSERT(f16_to_f32(((uint16_t *)a.data)[i]) == (float)(i + 1));
	npy_free(&a);
	free(b);
}

static void test_bf16_convention(void)
{
	uint16_t v[3] = {f32_to_bf16(1.0f), f32_to_bf16(-2.5f), f32_to_bf16(3e38f)};
	const char *spellings[] = {"<u2", "|V2", "<V2"};
	for (int s = 0; s < 3; s++) {
		char header[128];
		snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (3,), }\n", spellings[s]);
		size_t len;
		unsigned char *b = make_npy(1, header, v, sizeof v, &len);
		npy_array a;
		char err[256];
		T_ASSERTF(npy_parse(b, len, 1, &a, err, sizeof err) == 0, "%s: %s", spellings[s], err);
		T_ASSERT(a.dtype == DT_BF16 && memcmp(a.data, v, sizeof v) == 0);
		npy_free(&a);
		/* Without the caller's say-so a 16-bit array is not guessed to be bfloat16. */
		T_ASSERT(npy_parse(b, len, 0, &a, err, sizeof err) != 0);
		T_ASSERTF(strstr(err, "read only as bfloat16") != NULL, "%s", err);
		free(b);
	}
}

/* Hand-made bad files, each refused with its message. */
static void test_refusals(void)
{
	static const struct {
		int major;
		const char *header;
		size_t datalen;
		const char *message;
	} cases[] = {
		{1, "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }\n", 16, "object arrays (dtype '|O') are refused"},
		{1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", 8, "big-endian dtype '>f4'"},
		{1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }\n", 16, "dtype '<c8' is not supported"},
		{1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }\n", 8, "structured dtypes"},
		{1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 4, "data truncated: 4 bytes, the shape needs 8"},
		{1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 12, "12 bytes of data, the shape needs only 8"},
		{1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2), }\n", 8, "'shape' (N) is not a tuple"},
		{1, "{'descr': '<f4', 'fortran_order': False, 'shape': [2], }\n", 8, "expected a tuple for 'shape'"},
		{1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }\n", 8, "expected a non-negative integer"},
		{1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,), }\n", 8, "expected ',' or ')'"},
		{1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296,), }\n", 8,
		 "shape's element count overflows"},
		{1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }\n", 8, "too large"},
		{1, "{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775808,), }\n", 8, "too large"},
		{1, "{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807,), }\n", 8,
		 "shape's element count overflows"},
		{1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }\n", 4, "more than 8 dimensions"},
		{1, "{'descr': '<f4', 'shape': (2,), }\n", 8, "no 'fortran_order'"},
		{1, "{'fortran_order': False, 'shape': (2,), }\n", 8, "no 'descr'"},
		{1, "{'descr': '<f4', 'fortran_order': False}\n", 8, "no 'shape'"},
		{1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}\n", 8, "unexpected key 'extra'"},
		{1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}\n", 8, "duplicate key 'descr'"},
		{1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}\n", 8, "expected True or False"},
		{1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x\n", 8, "unexpected text after the dict"},
		{1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)\n", 8, "expected ',' or '}'"},
		{1, "{'descr': '<f4\n", 8, "unsupported character in string"},
		{1, "{'descr': '<f4", 0, "unterminated string"},
		{1, "['descr', '<f4']\n", 8, "expected '{'"},
		{1, "", 0, "expected '{' at byte 0 of the header, found its end"},
		{1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'caf\xc3\xa9': 1}\n", 8, "non-ASCII byte"},
		{4, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 8, "unsupported .npy version 4.0"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		unsigned char zeros[32] = {0};
		size_t len;
		unsigned char *b = make_npy(cases[i].major, cases[i].header, zeros, cases[i].datalen, &len);
		npy_array a;
		char err[256] = "unset";
		int rc = npy_parse(b, len, 1, &a, err, sizeof err);
		free(b);
		if (rc == 0)
			npy_free(&a);
		T_ASSERTF(rc != 0, "case %zu accepted", i);
		T_ASSERTF(strstr(err, cases[i].message) != NULL, "case %zu: '%s', wanted '%s'", i, err, cases[i].message);
	}
}

static void test_refusals_of_the_frame(void)
{
	npy_array a;
	char err[256];
	T_ASSERT(npy_parse("PK\3\4zipfile", 11, 0, &a, err, sizeof err) != 0 && strstr(err, "not a .npy file"));
	T_ASSERT(npy_parse("\x93NUMP", 5, 0, &a, err, sizeof err) != 0 && strstr(err, "not a .npy file"));
	T_ASSERT(npy_parse("", 0, 0, &a, err, sizeof err) != 0 && strstr(err, "not a .npy file"));
	T_ASSERT(npy_parse("\x93NUMPY\1", 7, 0, &a, err, sizeof err) != 0 && strstr(err, "no version"));
	T_ASSERT(npy_parse("\x93NUMPY\1\0\x10", 9, 0, &a, err, sizeof err) != 0 && strstr(err, "no header length"));
	T_ASSERT(npy_parse("\x93NUMPY\1\1\0\0", 10, 0, &a, err, sizeof err) != 0 && strstr(err, "version 1.1"));
	T_ASSERTF(npy_parse("\x93NUMPY\1\0\x40\0{", 11, 0, &a, err, sizeof err) != 0 &&
			  strstr(err, "truncated: header of 64 bytes but the file has 11"),
		  "%s", err);
	/* Header longer than 10 kB: refused before anything is read from it. */
	unsigned char big[16] = "\x93NUMPY\2\0";
	uint32_t hl = NPY_MAX_HEADER + 1;
	memcpy(big + 8, &hl, 4);
	T_ASSERTF(npy_parse(big, sizeof big, 0, &a, err, sizeof err) != 0 &&
			  strstr(err, "header of 10241 bytes exceeds the limit of 10240"),
		  "%s", err);
	hl = 0xffffffffu;
	memcpy(big + 8, &hl, 4);
	T_ASSERT(npy_parse(big, sizeof big, 0, &a, err, sizeof err) != 0 && strstr(err, "exceeds the limit"));
	/* A header of exactly the limit is fine when it is all there. */
	char *h = malloc(NPY_MAX_HEADER + 1);
	int n = snprintf(h, NPY_MAX_HEADER + 1, "{'descr': '<u1', 'fortran_order': False, 'shape': (1,), }");
	memset(h + n, ' ', NPY_MAX_HEADER - (size_t)n);
	h[NPY_MAX_HEADER - 1] = '\n';
	h[NPY_MAX_HEADER] = 0;
	size_t len;
	unsigned char *b = make_npy(2, h, "x", 1, &len);
	T_ASSERTF(npy_parse(b, len, 0, &a, err, sizeof err) == 0, "%s", err);
	npy_free(&a);
	free(b);
	free(h);
}

/* Every dtype written by npy_save comes back identical, for ranks 0 to 3 and empty arrays. */
static void test_save_load_round_trip_every_dtype(void)
{
	const dtype types[] = {DT_F32, DT_F16, DT_BF16, DT_I32, DT_I64, DT_U8};
	const int64_t shapes[][3] = {{0, 0, 0}, {7, 0, 0}, {3, 5, 0}, {2, 3, 4}, {4, 0, 3}};
	const int ranks[] = {0, 1, 2, 3, 3};
	unsigned char src[24 * 8];
	for (size_t i = 0; i < sizeof src; i++)
		src[i] = (unsigned char)(i * 37 + 11);
	for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++)
		for (size_t si = 0; si < sizeof ranks / sizeof ranks[0]; si++) {
			const char *path = t_tmp_path("rt.npy");
			npy_save(path, types[ti], ranks[si], shapes[si], src);
			size_t len;
			char *buf = xread_file(path, &len);
			/* Version 1.0, data at a multiple of 64, header ends with a newline. */
			size_t hl = (unsigned char)buf[8] | (unsigned char)buf[9] << 8;
			T_ASSERT(buf[6] == 1 && buf[7] == 0);
			T_ASSERTF((10 + hl) % 64 == 0, "data offset %zu", 10 + hl);
			T_ASSERT(buf[10 + hl - 1] == '\n');
			npy_array a;
			char err[256];
			T_ASSERTF(npy_parse(buf, len, 1, &a, err, sizeof err) == 0, "%s: %s", dtype_name(types[ti]), err);
			size_t count = 1;
			for (int k = 0; k < ranks[si]; k++)
				count *= (size_t)shapes[si][k];
			T_ASSERT(a.dtype == types[ti] && a.ndim == ranks[si] && a.count == count);
			for (int k = 0; k < ranks[si]; k++)
				T_ASSERT(a.shape[k] == shapes[si][k]);
			T_ASSERT(len == 10 + hl + count * dtype_size(types[ti]));
			T_ASSERT(memcmp(a.data, src, count * dtype_size(types[ti])) == 0);
			npy_free(&a);
			free(buf);
		}
	/* The header is exactly what NumPy writes for these shapes. */
	const int64_t s1[1] = {8};
	npy_save(t_tmp_path("h.npy"), DT_F32, 1, s1, src);
	size_t len;
	char *buf = xread_file(t_tmp_path("h.npy"), &len);
	T_ASSERT(strncmp(buf + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (8,), }", 57) == 0);
	free(buf);
	/* No temporary file is left beside the output. */
	DIR *d = opendir(t_tmpdir());
	struct dirent *e;
	int stray = 0;
	while ((e = readdir(d)))
		stray += strstr(e->d_name, ".tmp.") != NULL;
	closedir(d);
	T_ASSERT(stray == 0);
}

static void test_write_to_stream(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const int64_t shape[2] = {2, 2};
	const int32_t v[4] = {-1, 0, 1, 2147483647};
	npy_write(f, "memory", DT_I32, 2, shape, v);
	fclose(f);
	npy_array a;
	char err[256];
	T_ASSERTF(npy_parse(buf, len, 0, &a, err, sizeof err) == 0, "%s", err);
	T_ASSERT(a.dtype == DT_I32 && a.count == 4 && memcmp(a.data, v, sizeof v) == 0);
	npy_free(&a);
	free(buf);
}

/* An array written in parts (npy_write_header, then the rows a batch at a time, as lfm-eval --features)
 * is the file npy_write makes of the whole array, byte for byte. */
static void test_write_in_parts(void)
{
	enum { N = 5, D = 3 };
	float v[N * D];
	for (int i = 0; i < N * D; i++)
		v[i] = (float)i / 7.0f - 1.0f;
	const int64_t shape[2] = {N, D};
	char *whole = NULL, *parts = NULL;
	size_t wlen = 0, plen = 0;
	FILE *f = open_memstream(&whole, &wlen);
	npy_write(f, "whole", DT_F32, 2, shape, v);
	fclose(f);
	f = open_memstream(&parts, &plen);
	size_t bytes = npy_write_header(f, "parts", DT_F32, 2, shape);
	T_ASSERT(bytes == sizeof v);
	fwrite(v, sizeof(float), 2 * D, f);       /* rows 0..1 */
	fwrite(v + 2 * D, sizeof(float), 3 * D, f); /* rows 2..4 */
	fclose(f);
	T_ASSERT(wlen == plen && memcmp(whole, parts, wlen) == 0);
	T_ASSERT((wlen - sizeof v) % 64 == 0);
	free(whole);
	free(parts);
}

static void test_load_f32_converts(void)
{
	const int64_t shape[2] = {2, 3};
	const uint16_t h[6] = {0x3c00, 0xc000, 0x3800, 0x0001, 0x7bff, 0x8000}; /* 1 -2 .5 2^-24 65504 -0 */
	npy_save(t_tmp_path("h16.npy"), DT_F16, 2, shape, h);
	int64_t got_shape[NPY_MAX_DIMS];
	size_t count;
	float *f = npy_load_f32(t_tmp_path("h16.npy"), 2, got_shape, &count);
	T_ASSERT(count == 6 && got_shape[0] == 2 && got_shape[1] == 3 && got_shape[2] == 0);
	T_ASSERT(f[0] == 1 && f[1] == -2 && f[2] == 0.5f && f[3] == ldexpf(1, -24) && f[4] == 65504 &&
		 f[5] == 0 && signbit(f[5]));
	free(f);
	const int64_t n[1] = {3};
	const int64_t iv[3] = {-5, 0, 1 << 20};
	npy_save(t_tmp_path("i64.npy"), DT_I64, 1, n, iv);
	npy_array ia;
	npy_load(t_tmp_path("i64.npy"), &ia); /* integers load as they are */
	T_ASSERT(ia.dtype == DT_I64 && ia.count == 3 && ((int64_t *)ia.data)[2] == 1 << 20);
	npy_free(&ia);
	/* float64, NumPy's default, converts: written here as NumPy writes it ('<f8') */
	const double dv[3] = {0.1, -2.5, 1e-300};
	unsigned char *b64;
	size_t b64len;
	b64 = make_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n", (const unsigned char *)dv,
		       sizeof dv, &b64len);
	t_write_file(t_tmp_path("f64.npy"), b64, b64len);
	free(b64);
	f = npy_load_f32(t_tmp_path("f64.npy"), 1, NULL, &count);
	T_ASSERT(count == 3 && f[0] == 0.1f && f[1] == -2.5f && f[2] == 0.0f);
	free(f);
	/* bfloat16 files written by npy_save load back through the loaders ('<u2' is bfloat16 here). */
	const uint16_t b[3] = {f32_to_bf16(0.1f), f32_to_bf16(-7.0f), f32_to_bf16(1e30f)};
	npy_save(t_tmp_path("b16.npy"), DT_BF16, 1, n, b);
	f = npy_load_f32(t_tmp_path("b16.npy"), 1, NULL, &count);
	T_ASSERT(count == 3 && f[0] == bf16_to_f32(b[0]) && f[1] == -7.0f && f[2] == bf16_to_f32(b[2]));
	free(f);
}

static void test_golden_pixels(void)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/pixels.npy", t_golden_dir());
	npy_array a;
	npy_load(path, &a);
	T_ASSERT(a.dtype == DT_F32 && a.ndim == 4);
	T_ASSERT(a.shape[0] == 8 && a.shape[1] == 3 && a.shape[2] == 32 && a.shape[3] == 32 && a.count == 24576);
	/* CLIP-normalised pixels: (x - mean) / std with x in [0, 1] lies within about [-1.8, 2.2]. */
	const float *p = a.data;
	float lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < a.count; i++) {
		T_ASSERT(isfinite(p[i]));
		lo = fminf(lo, p[i]);
		hi = fmaxf(hi, p[i]);
	}
	T_ASSERTF(lo >= -1.80f && hi <= 2.15f && hi - lo > 1.0f, "range [%g, %g]", lo, hi);
	npy_free(&a);
	/* Tokens: int32 [100, 77], each row starting with SOT 49406. */
	snprintf(path, sizeof path, "%s/text_tokens.npy", t_golden_dir());
	npy_load(path, &a);
	T_ASSERT(a.dtype == DT_I32 && a.ndim == 2 && a.shape[0] == 100 && a.shape[1] == 77);
	for (int r = 0; r < 100; r++)
		T_ASSERT(((int32_t *)a.data)[r * 77] == 49406);
	npy_free(&a);
}

/* ---- death tests: the loaders exit with 1 (bad data) or 3 (I/O), never a signal, naming the file ---- */

static void do_load(void *path)
{
	npy_array a;
	npy_load(path, &a);
}

static void do_load_f32_rank3(void *path)
{
	free(npy_load_f32(path, 3, NULL, NULL));
}

static void test_load_dies_naming_the_file(void)
{
	static const struct {
		const char *name;
		int npy; /* build a .npy from header + datalen zero bytes; otherwise write header raw */
		const char *header;
		size_t datalen;
		const char *message;
	} cases[] = {
		{"magic.npy", 0, "\x92NUMPY\1\0", 0, "not a .npy file"},
		{"object.npy", 1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n", 8, "object arrays"},
		{"short.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 4, "data truncated"},
		{"empty.npy", 0, "", 0, "not a .npy file"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *path = t_tmp_path(cases[i].name);
		if (cases[i].npy) {
			unsigned char zeros[16] = {0};
			size_t len;
			unsigned char *b = make_npy(1, cases[i].header, zeros, cases[i].datalen, &len);
			t_write_file(path, b, len);
			free(b);
		} else {
			t_write_file(path, cases[i].header, strlen(cases[i].header));
		}
		char err[1024];
		int st = t_expect_exit(do_load, (void *)path, err, sizeof err);
		T_ASSERTF(st == LFM_EXIT_DATA, "%s: status %d: %s", cases[i].name, st, err);
		char want[600];
		snprintf(want, sizeof want, "%s: %s", path, cases[i].message);
		T_ASSERTF(strstr(err, want) != NULL, "stderr '%s', wanted '%s'", err, want);
	}
	char err[1024];
	int st = t_expect_exit(do_load, t_tmp_path("missing.npy"), err, sizeof err);
	T_ASSERTF(st == LFM_EXIT_IO && strstr(err, "missing.npy"), "status %d: %s", st, err);
	const int64_t shape[2] = {2, 2};
	const float v[4] = {0};
	npy_save(t_tmp_path("rank2.npy"), DT_F32, 2, shape, v);
	st = t_expect_exit(do_load_f32_rank3, t_tmp_path("rank2.npy"), err, sizeof err);
	T_ASSERTF(st == LFM_EXIT_DATA && strstr(err, "rank2.npy: expected a 3-dimensional array, found shape [2, 2]"),
		  "status %d: %s", st, err);
}

static void do_load_stdin(void *path)
{
	int fd = open(path, O_RDONLY);
	dup2(fd, 0);
	close(fd);
	npy_array a;
	npy_load("-", &a);
	exit(a.dtype == DT_F32 && a.ndim == 2 && a.count == 4 && ((float *)a.data)[3] == 4 ? 0 : 6);
}

static void test_load_from_stdin(void)
{
	const int64_t shape[2] = {2, 2};
	const float v[4] = {1, 2, 3, 4};
	npy_save(t_tmp_path("stdin.npy"), DT_F32, 2, shape, v);
	char err[1024];
	int st = t_expect_exit(do_load_stdin, t_tmp_path("stdin.npy"), err, sizeof err);
	T_ASSERTF(st == 0, "status %d: %s", st, err);
}

static void do_save_in_missing_dir(void *arg)
{
	const int64_t shape[1] = {1};
	const float v = 1;
	npy_save("/nonexistent-dir/x.npy", DT_F32, 1, shape, &v);
}

static void test_save_failure_dies(void)
{
	char err[1024];
	int st = t_expect_exit(do_save_in_missing_dir, NULL, err, sizeof err);
	T_ASSERTF(st == LFM_EXIT_IO && strstr(err, "/nonexistent-dir/x.npy"), "status %d: %s", st, err);
}

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	T_RUN(test_parse_v1_basic);
	T_RUN(test_header_dict_variants);
	T_RUN(test_versions_2_and_3);
	T_RUN(test_fortran_order_transposed);
	T_RUN(test_bf16_convention);
	T_RUN(test_refusals);
	T_RUN(test_refusals_of_the_frame);
	T_RUN(test_save_load_round_trip_every_dtype);
	T_RUN(test_write_to_stream);
	T_RUN(test_write_in_parts);
	T_RUN(test_load_f32_converts);
	if (t_golden_dir())
		T_RUN(test_golden_pixels);
	else
		t_skip("test_golden_pixels", "no ../shared/golden/tiny-clip");
	T_RUN(test_load_dies_naming_the_file);
	T_RUN(test_load_from_stdin);
	T_RUN(test_save_failure_dies);
	t_tmpdir_remove();
	return t_summary();
}
