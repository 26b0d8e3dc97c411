/* test_safetensors.c — the safetensors reader's validation (every refusal with its message), the writer
 * (sorted names, padding, metadata, atomic output) round-tripping every dtype, st_open on files, pipes and
 * bad paths, the shared golden model, and the exact half-precision conversions behind st_to_f32. */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/tensor_dtype.h"
#include "io/safetensors.h"
#include "../test.h"

/* A safetensors image: 8-byte little-endian length, the header text as given, datalen bytes 0, 1, 2... */
static unsigned char *make_st(const char *header, size_t datalen, size_t *len)
{
	size_t hl = strlen(header);
	*len = 8 + hl + datalen;
	unsigned char *b = malloc(*len + 1);
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
	memcpy(b + 8, header, hl);
	for (size_t i = 0; i < datalen; i++)
		b[8 + hl + i] = (unsigned char)i;
	return b;
}

static void test_parse_valid(void)
{
	const char *h = "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"caf\\u00e9\"},"
			"\"b\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[4,20]},"
			"\"a\":{\"shape\":[2],\"data_offsets\":[0,4],\"dtype\":\"F16\"},"
			"\"s\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[20,28]}}   ";
	size_t len;
	unsigned char *b = make_st(h, 28, &len);
	st_file f;
	char err[256];
	T_ASSERTF(st_parse(b, len, &f, err, sizeof err) == 0, "%s", err);
	T_ASSERT(f.n_tensors == 3 && f.n_meta == 2 && f.map == NULL && f.path == NULL);
	/* Header order kept. */
	T_ASSERT(strcmp(f.tensors[0].name, "b") == 0 && strcmp(f.tensors[1].name, "a") == 0);
	const st_tensor *t = st_find(&f, "b");
	T_ASSERT(t && t->dtype == DT_F32 && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 2 && t->count == 4);
	T_ASSERT(t->begin == 4 && t->end == 20 && t->data == b + 8 + strlen(h) + 4);
	t = st_find(&f, "s");
	T_ASSERT(t && t->ndim == 0 && t->count == 1 && t->dtype == DT_I64);
	T_ASSERT(st_find(&f, "c") == NULL && st_find(&f, "__metadata__") == NULL);
	T_ASSERT(strcmp(st_meta(&f, "format"), "pt") == 0 && strcmp(st_meta(&f, "note"), "caf\xc3\xa9") == 0);
	T_ASSERT(st_meta(&f, "missing") == NULL);
	st_close(&f);
	T_ASSERT(f.n_tensors == 0 && f.tensors == NULL);
	free(b);
}

static void test_zero_size_and_empty(void)
{
	/* Zero-size tensors anywhere, including at the end and sharing an offset. */
	const char *h = "{\"e1\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]},"
			"\"x\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
			"\"e2\":{\"dtype\":\"BF16\",\"shape\":[5,0],\"data_offsets\":[3,3]},"
			"\"e3\":{\"dtype\":\"I8\",\"shape\":[0],\"data_offsets\":[3,3]}}";
	size_t len;
	unsigned char *b = make_st(h, 3, &len);
	st_file f;
	char err[256];
	T_ASSERTF(st_parse(b, len, &f, err, sizeof err) == 0, "%s", err);
	T_ASSERT(f.n_tensors == 4 && st_find(&f, "e2")->count == 0 && st_find(&f, "x")->count == 3);
	st_close(&f);
	free(b);
	/* No tensors at all. */
	b = make_st("{}", 0, &len);
	T_ASSERTF(st_parse(b, len, &f, err, sizeof err) == 0, "%s", err);
	T_ASSERT(f.n_tensors == 0 && f.n_meta == 0);
	st_close(&f);
	free(b);
	b = make_st("{\"__metadata__\":{}}", 0, &len);
	T_ASSERTF(st_parse(b, len, &f, err, sizeof err) == 0, "%s", err);
	st_close(&f);
	free(b);
}

/* Hand-made bad headers and layouts, each refused with its message. */
static void test_refusals(void)
{
#define T1 "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":"
	static const struct {
		const char *header;
		size_t datalen;
		const char *message;
	} cases[] = {
		{"{\"a\":" T1 "[0,8]},\"b\":" T1 "[4,12]}}", 12, "tensors 'a' and 'b' overlap (data_offsets [0, 8] and [4, 12])"},
		{"{\"b\":" T1 "[4,12]},\"a\":" T1 "[0,8]}}", 12, "tensors 'a' and 'b' overlap"},
		{"{\"a\":" T1 "[0,8]},\"b\":" T1 "[0,8]}}", 8, "tensors 'a' and 'b' overlap"},
		{"{\"a\":" T1 "[0,8]},\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 8,
		 "tensors 'a' and 'z' overlap"},
		{"{\"a\":" T1 "[0,8]},\"b\":" T1 "[12,20]}}", 20,
		 "gap between tensors 'a' and 'b': bytes [8, 12) of the data section belong to no tensor"},
		{"{\"a\":" T1 "[4,12]}}", 12, "gap: bytes [0, 4) of the data section before tensor 'a'"},
		{"{\"a\":" T1 "[0,8]}}", 10, "2 bytes after the last tensor 'a' belong to no tensor"},
		{"{}", 3, "3 bytes of data but no tensors"},
		{"{\"a\":" T1 "[0,8]}}", 6, "tensor 'a': data_offsets [0, 8] point past the end of the data section (6 bytes)"},
		{"{\"a\":" T1 "[0,800000000000]}}", 8, "point past the end of the data section"},
		{"{\"a\":" T1 "[8,0]}}", 8, "tensor 'a': data_offsets [8, 0] end before they begin"},
		{"{\"x\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[0,24]}}", 24, "tensor 'x': 24 bytes for F32 [2, 4] needs 32"},
		{"{\"x\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,4]}}", 4, "tensor 'x': 4 bytes for F16 [3] needs 6"},
		{"{\"x\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,0]}}", 0, "tensor 'x': 0 bytes for F32 [] needs 4"},
		{"{\"x\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "tensor 'x': unknown dtype 'F8_E4M3'"},
		{"{\"x\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype 'f32'"},
		{"{\"x\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'x': dtype is a number, not a string"},
		{"[1,2]", 0, "header does not start with '{'"},
		{"{\"a\":1}", 0, "tensor 'a': entry is a number, not an object"},
		{"{\"a\":" T1 "[0,8]},\"a\":" T1 "[8,16]}}", 16, "header JSON at byte 57: duplicate object key near '\"a\"'"},
		{"{\"a\":" T1 "[0,8]}", 8, "header JSON at byte"},
		{"{\"a\":" T1 "[0,8]}} x", 8, "header JSON at byte 56: end of file expected near 'x'"},
		{"{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'a': no 'dtype'"},
		{"{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "tensor 'a': no 'shape'"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "tensor 'a': no 'data_offsets'"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}}", 8,
		 "tensor 'a': unexpected key 'extra'"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8, "tensor 'a': shape is a number, not an array"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "shape entry 0 is not a non-negative integer"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8, "shape entry 0 is not"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[1e20],\"data_offsets\":[0,8]}}", 8, "shape entry 0 is not"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8, "shape entry 0 is not"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}", 8, "shape has 9 dimensions (at most 8)"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,8]}}", 8,
		 "tensor 'a': shape [4294967296, 4294967296, 4294967296] overflows"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}}", 9, "data_offsets is not an array [begin, end]"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":{}}}", 8, "data_offsets is not an array"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-1,7]}}", 8, "data_offsets entries are not non-negative integers"},
		{"{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ value of 'k' is a number, not a string"},
		{"{\"__metadata__\":[\"k\"]}", 0, "__metadata__ is an array, not an object"},
		{"{\"a\\n\\u001b[31m\":" T1 "[8,0]}}", 8, "tensor 'a??[31m': data_offsets"}, /* control bytes not echoed */
	};
#undef T1
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len;
		unsigned char *b = make_st(cases[i].header, cases[i].datalen, &len);
		st_file f;
		char err[512] = "unset";
		int rc = st_parse(b, len, &f, err, sizeof err);
		free(b);
		if (rc == 0)
			st_close(&f);
		T_ASSERTF(rc != 0, "case %zu accepted", i);
		T_ASSERTF(strstr(err, cases[i].message) != NULL, "case %zu: '%s', wanted '%s'", i, err, cases[i].message);
		T_ASSERT(f.tensors == NULL && f.n_tensors == 0 && f.meta_keys == NULL); /* nothing left to free */
	}
}

static void test_refusals_of_the_frame(void)
{
	st_file f;
	char err[256];
	T_ASSERT(st_parse("", 0, &f, err, sizeof err) != 0 && strstr(err, "truncated: 0 bytes"));
	T_ASSERT(st_parse("\2\0\0\0\0\0\0", 7, &f, err, sizeof err) != 0 && strstr(err, "truncated: 7 bytes"));
	/* Header length past the end: the example. */
	unsigned char b[100] = {0};
	b[8] = '{'; /* a header that starts as one: the length is what is wrong */
	uint64_t n = 12345678;
	memcpy(b, &n, 8);
	T_ASSERT(st_parse(b, sizeof b, &f, err, sizeof err) != 0);
	T_ASSERTF(strcmp(err, "header length 12345678 points past the end of the file (size 100)") == 0, "%s", err);
	n = UINT64_MAX;
	memcpy(b, &n, 8);
	T_ASSERT(st_parse(b, sizeof b, &f, err, sizeof err) != 0 && strstr(err, "points past the end"));
	n = 93; /* exactly one byte too long */
	memcpy(b, &n, 8);
	T_ASSERT(st_parse(b, sizeof b, &f, err, sizeof err) != 0 && strstr(err, "header length 93 points past"));
	n = 0;
	memcpy(b, &n, 8);
	T_ASSERT(st_parse(b, 8, &f, err, sizeof err) != 0 && strstr(err, "does not start with '{'"));
	/* Text given as weights: not a length that fits, no '{' after it: said as such. */
	static const char text[] = "hello world, these are not weights\n";
	T_ASSERT(st_parse(text, sizeof text - 1, &f, err, sizeof err) != 0);
	T_ASSERTF(strcmp(err, "not a safetensors file (one starts with an 8-byte header length, then '{'; this one "
			      "with the bytes 68 65 6c 6c 6f 20 77 6f ...)") == 0, "%s", err);
	/* Over 100 MB of header, in a file that has it: refused before parsing. calloc'd pages stay
	 * untouched, so this costs no real memory. */
	size_t big = ST_MAX_HEADER + 1 + 8;
	unsigned char *huge = calloc(big, 1);
	n = ST_MAX_HEADER + 1;
	memcpy(huge, &n, 8);
	T_ASSERT(st_parse(huge, big, &f, err, sizeof err) != 0);
	T_ASSERTF(strstr(err, "header length 100000001 exceeds the limit of 100000000 bytes"), "%s", err);
	free(huge);
	/* A truncated copy of a valid file: the last tensor now reaches past the end. */
	size_t len;
	unsigned char *ok = make_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16, &len);
	T_ASSERT(st_parse(ok, len, &f, err, sizeof err) == 0);
	st_close(&f);
	T_ASSERT(st_parse(ok, len - 1, &f, err, sizeof err) != 0 && strstr(err, "point past the end of the data section (15 bytes)"));
	T_ASSERT(st_parse(ok, 30, &f, err, sizeof err) != 0 && strstr(err, "header length 55 points past the end of the file (size 30)"));
	free(ok);
}

/* The writer: every dtype, names given out of order, metadata; the result is sorted, padded, exact. */
static void test_writer_round_trip_every_dtype(void)
{
	unsigned char src[DT_COUNT][64];
	st_writer *w = st_writer_new();
	const int64_t shape[2] = {2, 3};
	char names[DT_COUNT][32];
	for (int t = DT_COUNT - 1; t >= 0; t--) { /* reverse order on purpose */
		for (size_t i = 0; i < sizeof src[t]; i++)
			src[t][i] = (unsigned char)(i * 13 + (size_t)t * 7);
		snprintf(names[t], sizeof names[t], "t%02d.%s", t, dtype_name((dtype)t));
		st_writer_add(w, names[t], (dtype)t, t % 3 == 0 ? 1 : 2, shape, src[t]);
	}
	const int64_t zero[1] = {0};
	st_writer_add(w, "empty", DT_F32, 1, zero, NULL);
	st_writer_add(w, "scalar", DT_F32, 0, NULL, src[0]);
	st_writer_meta(w, "stage", "1");
	st_writer_meta(w, "config", "{\"a\": \"b\\n\"}");
	st_writer_meta(w, "stage", "2"); /* replaces */
	const char *path = t_tmp_path("w.safetensors");
	st_writer_save(w, path);
	st_writer_free(w);

	size_t len;
	char *raw = xread_file(path, &len);
	uint64_t hl;
	memcpy(&hl, raw, 8);
	T_ASSERTF(hl % 8 == 0 && hl + 8 <= len, "header length %llu", (unsigned long long)hl);
	T_ASSERT(raw[8 + hl - 1] == ' ' || raw[8 + hl - 1] == '}');
	T_ASSERT(strncmp(raw + 8, "{\"__metadata__\":{\"config\":\"{\\\"a\\\": \\\"b\\\\n\\\"}\",\"stage\":\"2\"},", 59) == 0);

	st_file f;
	char err[256];
	T_ASSERTF(st_open(path, &f, err, sizeof err) == 0, "%s", err);
	T_ASSERT(f.n_tensors == DT_COUNT + 2 && f.n_meta == 2);
	T_ASSERT(strcmp(st_meta(&f, "stage"), "2") == 0 && strcmp(st_meta(&f, "config"), "{\"a\": \"b\\n\"}") == 0);
	T_ASSERT(strcmp(f.path, path) == 0 && f.map != NULL);
	/* Names sorted, data contiguous in that order. */
	for (size_t i = 1; i < f.n_tensors; i++) {
		T_ASSERT(strcmp(f.tensors[i - 1].name, f.tensors[i].name) < 0);
		T_ASSERT(f.tensors[i].begin == f.tensors[i - 1].end);
	}
	for (int t = 0; t < DT_COUNT; t++) {
		const st_tensor *x = st_find(&f, names[t]);
		T_ASSERTF(x && x->dtype == (dtype)t, "%s", names[t]);
		size_t count = t % 3 == 0 ? 2 : 6;
		T_ASSERT(x->count == count && x->ndim == (t % 3 == 0 ? 1 : 2));
		T_ASSERT(memcmp(x->data, src[t], count * dtype_size((dtype)t)) == 0);
	}
	T_ASSERT(st_find(&f, "empty")->count == 0 && st_find(&f, "scalar")->ndim == 0);
	st_close(&f);
	free(raw);

	/* Byte-identical output for the same input; no temporary left behind. */
	w = st_writer_new();
	st_writer_add(w, "b", DT_F16, 1, shape, src[1]);
	st_writer_add(w, "a", DT_F32, 1, shape, src[0]);
	st_writer_save(w, t_tmp_path("1.safetensors"));
	st_writer_save(w, t_tmp_path("2.safetensors"));
	st_writer_free(w);
	size_t l1, l2;
	char *r1 = xread_file(t_tmp_path("1.safetensors"), &l1), *r2 = xread_file(t_tmp_path("2.safetensors"), &l2);
	T_ASSERT(l1 == l2 && memcmp(r1, r2, l1) == 0);
	/* {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{...[8,12]}} */
	T_ASSERT(strstr(r1 + 8, "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}") != NULL);
	T_ASSERT(strstr(r1 + 8, "\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[8,12]}") != NULL);
	free(r1);
	free(r2);
	DIR *d = opendir(t_tmpdir());
	struct dirent *e;
	int stray = 0;
	while ((e = readdir(d)))
		stray += strstr(e->d_name, ".tmp.") != NULL;
	closedir(d);
	T_ASSERT(stray == 0);

	/* An empty writer makes a valid empty file: "{}" padded to 8. */
	w = st_writer_new();
	st_writer_save(w, t_tmp_path("empty.safetensors"));
	st_writer_free(w);
	T_ASSERT(st_open(t_tmp_path("empty.safetensors"), &f, err, sizeof err) == 0 && f.n_tensors == 0);
	T_ASSERT(f.map_len == 16);
	st_close(&f);
}

static void test_to_f32(void)
{
	st_writer *w = st_writer_new();
	const float f32[3] = {1.5f, -0.0f, 3e38f};
	const uint16_t f16[3] = {0x3c00, 0xfbff, 0x0001};                  /* 1, -65504, 2^-24 */
	const uint16_t bf16[3] = {0x3f80, 0xc0a0, 0x0001};                 /* 1, -5, smallest subnormal */
	const int64_t i64[3] = {-3, 0, 123456789};
	const uint8_t u8[3] = {0, 7, 255};
	const uint8_t bools[3] = {0, 1, 1};
	const int64_t shape[1] = {3};
	st_writer_add(w, "f32", DT_F32, 1, shape, f32);
	st_writer_add(w, "f16", DT_F16, 1, shape, f16);
	st_writer_add(w, "bf16", DT_BF16, 1, shape, bf16);
	st_writer_add(w, "i64", DT_I64, 1, shape, i64);
	st_writer_add(w, "u8", DT_U8, 1, shape, u8);
	st_writer_add(w, "bool", DT_BOOL, 1, shape, bools);
	st_writer_save(w, t_tmp_path("c.safetensors"));
	st_writer_free(w);
	st_file f;
	st_open_or_die(t_tmp_path("c.safetensors"), &f);
	float *v = st_to_f32(st_find(&f, "f32"), NULL);
	T_ASSERT(v[0] == 1.5f && v[1] == 0 && signbit(v[1]) && v[2] == 3e38f);
	free(v);
	float buf[3];
	T_ASSERT(st_to_f32(st_find(&f, "f16"), buf) == buf);
	T_ASSERT(buf[0] == 1 && buf[1] == -65504 && buf[2] == ldexpf(1, -24));
	st_to_f32(st_find(&f, "bf16"), buf);
	T_ASSERT(buf[0] == 1 && buf[1] == -5 && buf[2] == ldexpf(1, -133));
	st_to_f32(st_find(&f, "i64"), buf);
	T_ASSERT(buf[0] == -3 && buf[1] == 0 && buf[2] == 123456789.0f);
	st_to_f32(st_find(&f, "u8"), buf);
	T_ASSERT(buf[0] == 0 && buf[1] == 7 && buf[2] == 255);
	st_to_f32(st_find(&f, "bool"), buf);
	T_ASSERT(buf[0] == 0 && buf[1] == 1 && buf[2] == 1);
	st_close(&f);
}

/* ---- st_open: pipes, empty files, directories, missing files; st_open_or_die's exit codes -------- */

static void do_open_stdin(void *path)
{
	int fd = open(path, O_RDONLY);
	dup2(fd, 0);
	close(fd);
	st_file f;
	char err[256];
	if (st_open("-", &f, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		exit(5);
	}
	exit(f.n_tensors == 3 ? 0 : 6);
}

static void do_open_pipe(void *path)
{
	/* A real pipe (not seekable, not mappable) bigger than the first 1 MB buffer. */
	int fds[2];
	if (pipe(fds) != 0)
		exit(7);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		size_t len;
		char *b = xread_file(path, &len);
		for (size_t off = 0; off < len;) {
			ssize_t n = write(fds[1], b + off, len - off);
			if (n <= 0)
				_exit(1);
			off += (size_t)n;
		}
		_exit(0);
	}
	close(fds[1]);
	dup2(fds[0], 0);
	close(fds[0]);
	st_file f;
	char err[256];
	if (st_open("-", &f, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		exit(5);
	}
	exit(st_find(&f, "big") && st_find(&f, "big")->count == 700000 ? 0 : 6);
}

static void test_open_special_inputs(void)
{
	st_writer *w = st_writer_new();
	const int64_t shape[1] = {2};
	const float v[2] = {1, 2};
	st_writer_add(w, "a", DT_F32, 1, shape, v);
	st_writer_add(w, "b", DT_F32, 1, shape, v);
	st_writer_add(w, "c", DT_F32, 1, shape, v);
	st_writer_save(w, t_tmp_path("three.safetensors"));
	st_writer_free(w);
	char err[1024];
	int st = t_expect_exit(do_open_stdin, t_tmp_path("three.safetensors"), err, sizeof err);
	T_ASSERTF(st == 0, "status %d: %s", st, err);

	float *big = calloc(700000, sizeof *big);
	const int64_t bshape[1] = {700000};
	w = st_writer_new();
	st_writer_add(w, "big", DT_F32, 1, bshape, big);
	st_writer_save(w, t_tmp_path("big.safetensors"));
	st_writer_free(w);
	free(big);
	st = t_expect_exit(do_open_pipe, t_tmp_path("big.safetensors"), err, sizeof err);
	T_ASSERTF(st == 0, "status %d: %s", st, err);

	st_file f;
	t_write_file(t_tmp_path("empty"), "", 0);
	T_ASSERT(st_open(t_tmp_path("empty"), &f, err, sizeof err) != 0);
	T_ASSERTF(strstr(err, "empty: truncated: 0 bytes"), "%s", err);
	T_ASSERT(st_open(t_tmpdir(), &f, err, sizeof err) != 0 && strstr(err, "is a directory"));
	T_ASSERT(st_open(t_tmp_path("missing"), &f, err, sizeof err) != 0);
	T_ASSERTF(strstr(err, "missing: cannot open: No such file or directory"), "%s", err);
}

static void do_open_or_die(void *path)
{
	st_file f;
	st_open_or_die(path, &f);
	st_close(&f);
}

static void test_open_or_die_exit_codes(void)
{
	static const struct {
		const char *name, *header;
		size_t datalen;
		const char *message;
	} cases[] = {
		{"overlap.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
					"\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}}", 6,
		 "tensors 'a' and 'b' overlap"},
		{"notjson.safetensors", "{not json}", 0, "header JSON at byte 4: string or '}' expected near 'not'"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len;
		unsigned char *b = make_st(cases[i].header, cases[i].datalen, &len);
		const char *path = t_tmp_path(cases[i].name);
		t_write_file(path, b, len);
		free(b);
		char err[1024], want[700];
		int st = t_expect_exit(do_open_or_die, (void *)path, err, sizeof err);
		snprintf(want, sizeof want, "%s: %s", path, cases[i].message);
		T_ASSERTF(st == LFM_EXIT_DATA, "%s: status %d: %s", cases[i].name, st, err);
		T_ASSERTF(strstr(err, want), "stderr '%s', wanted '%s'", err, want);
	}
	/* Header length past the end, and a file cut short by truncation. */
	unsigned char b[100] = {0};
	b[8] = '{'; /* a header that starts as one: the length is what is wrong */
	uint64_t n = 12345678;
	memcpy(b, &n, 8);
	t_write_file(t_tmp_path("past.safetensors"), b, sizeof b);
	char err[1024];
	int st = t_expect_exit(do_open_or_die, t_tmp_path("past.safetensors"), err, sizeof err);
	T_ASSERTF(st == LFM_EXIT_DATA &&
			  strstr(err, "past.safetensors: header length 12345678 points past the end of the file (size 100)"),
		  "status %d: %s", st, err);
	t_write_file(t_tmp_path("short.safetensors"), "\x10\0\0", 3);
	st = t_expect_exit(do_open_or_die, t_tmp_path("short.safetensors"), err, sizeof err);
	T_ASSERTF(st == LFM_EXIT_DATA && strstr(err, "short.safetensors: truncated: 3 bytes"), "status %d: %s", st, err);
	st = t_expect_exit(do_open_or_die, t_tmp_path("nope.safetensors"), err, sizeof err);
	T_ASSERTF(st == LFM_EXIT_IO && strstr(err, "nope.safetensors: cannot open"), "status %d: %s", st, err);
	st = t_expect_exit(do_open_or_die, (void *)t_tmpdir(), err, sizeof err);
	T_ASSERTF(st == LFM_EXIT_IO, "status %d: %s", st, err);
}

/* ---- the shared golden model --------------------------------------------------------------------- */

static void test_golden_model(void)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/model.safetensors", t_golden_dir());
	st_file f;
	char err[512];
	T_ASSERTF(st_open(path, &f, err, sizeof err) == 0, "%s", err);
	T_ASSERT(f.n_tensors > 50);
	for (size_t i = 0; i < f.n_tensors; i++) {
		const st_tensor *t = &f.tensors[i];
		dtype want = strcmp(t->name, "logit_scale") == 0 ? DT_F32 : DT_F16;
		T_ASSERTF(t->dtype == want, "%s is %s", t->name, dtype_name(t->dtype));
	}
	const st_tensor *c = st_find(&f, "visual.conv1.weight");
	T_ASSERT(c && c->ndim == 4 && c->shape[0] == 128 && c->shape[1] == 3 && c->shape[2] == 8 && c->shape[3] == 8);
	const st_tensor *te = st_find(&f, "token_embedding.weight");
	T_ASSERT(te && te->ndim == 2 && te->shape[0] == 49408 && te->shape[1] == 128);
	const st_tensor *ls = st_find(&f, "logit_scale");
	T_ASSERT(ls && ls->ndim == 0 && ls->count == 1);
	float scale;
	st_to_f32(ls, &scale);
	T_ASSERTF(isfinite(scale) && scale > 0 && scale < 10, "logit_scale %g", scale); /* log(1/0.07) = 2.66 */
	/* Converted weights: finite, not all zero. */
	float *w = st_to_f32(c, NULL);
	double sumsq = 0;
	for (size_t i = 0; i < c->count; i++) {
		T_ASSERT(isfinite(w[i]));
		sumsq += (double)w[i] * w[i];
	}
	T_ASSERT(sumsq > 0);
	free(w);
	st_close(&f);
	/* The Hugging Face variant carries int64 position_ids. */
	snprintf(path, sizeof path, "%s/model-hf.safetensors", t_golden_dir());
	st_open_or_die(path, &f);
	const st_tensor *pid = st_find(&f, "text_model.embeddings.position_ids");
	T_ASSERT(pid && pid->dtype == DT_I64 && pid->shape[pid->ndim - 1] == 77);
	float ids[77];
	st_to_f32(pid, ids);
	for (int i = 0; i < 77; i++)
		T_ASSERT(ids[i] == (float)i);
	st_close(&f);
}

/* ---- half-precision conversions: exhaustive over all 65536 patterns -------------------------------- */

static uint32_t bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static float from_bits(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

/* The value of an f16 pattern computed independently, with ldexp. */
static float f16_reference(uint16_t h)
{
	int e = (h >> 10) & 0x1f, m = h & 0x3ff;
	float mag = e == 0 ? ldexpf((float)m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexpf((float)(1024 + m), e - 25);
	return (h & 0x8000) ? -mag : mag;
}

static void test_f16_exhaustive(void)
{
	for (uint32_t h = 0; h < 65536; h++) {
		float f = f16_to_f32((uint16_t)h);
		float ref = f16_reference((uint16_t)h);
		if (isnan(ref)) {
			T_ASSERTF(isnan(f) && !!signbit(f) == !!(h & 0x8000), "0x%04x", h);
		} else {
			T_ASSERTF(f == ref && !!signbit(f) == !!signbit(ref), "0x%04x -> %a, want %a", h, f, ref);
		}
		/* Every pattern, NaN payloads included, survives the round trip. */
		T_ASSERTF(f32_to_f16(f) == h, "0x%04x -> %a -> 0x%04x", h, f, f32_to_f16(f));
	}
}

/* Rounding: for every pair of neighbouring f16 values, the midpoint goes to the even one and the floats
 * just beside it to the nearer one; beyond the largest finite value, to infinity. */
static void test_f16_rounding(void)
{
	for (uint32_t h = 0; h < 0x7c00; h++) {
		float lo = f16_to_f32((uint16_t)h);
		float hi = h + 1 < 0x7c00 ? f16_to_f32((uint16_t)(h + 1)) : 65536.0f; /* where 0x7c00 would be */
		float mid = (lo + hi) / 2;                                              /* exact in float */
		T_ASSERT((double)mid == ((double)lo + (double)hi) / 2);
		uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
		T_ASSERTF(f32_to_f16(mid) == even, "mid of 0x%04x: 0x%04x", h, f32_to_f16(mid));
		T_ASSERTF(f32_to_f16(-mid) == (even | 0x8000), "-mid of 0x%04x", h);
		T_ASSERTF(f32_to_f16(nextafterf(mid, 0)) == h, "below mid of 0x%04x", h);
		T_ASSERTF(f32_to_f16(nextafterf(mid, INFINITY)) == h + 1, "above mid of 0x%04x", h);
	}
	T_ASSERT(f32_to_f16(1e10f) == 0x7c00 && f32_to_f16(-1e10f) == 0xfc00);
	T_ASSERT(f32_to_f16(INFINITY) == 0x7c00 && f32_to_f16(-INFINITY) == 0xfc00);
	T_ASSERT(f32_to_f16(65519.99f) == 0x7bff && f32_to_f16(65520.0f) == 0x7c00);
	T_ASSERT(f32_to_f16(1e-40f) == 0 && f32_to_f16(-1e-40f) == 0x8000); /* f32 subnormals */
	T_ASSERT(f32_to_f16(ldexpf(1, -25)) == 0 && f32_to_f16(nextafterf(ldexpf(1, -25), 1)) == 1);
	/* NaNs stay NaNs, even when the payload sits only in the bits that are dropped. */
	uint16_t n = f32_to_f16(from_bits(0x7f800001));
	T_ASSERTF((n & 0x7c00) == 0x7c00 && (n & 0x3ff), "0x%04x", n);
	n = f32_to_f16(from_bits(0xffc00000));
	T_ASSERT(n == 0xfe00);
}

#ifdef __FLT16_MAX__
/* An independent check against the compiler's _Float16 conversion on random floats of every magnitude. */
static void test_f16_matches_compiler(void)
{
	uint64_t s = 12345;
	for (int i = 0; i < 2000000; i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t u = (uint32_t)(s >> 32);
		float f = from_bits(u);
		if (isnan(f))
			continue;
		_Float16 c = (_Float16)f;
		uint16_t want;
		memcpy(&want, &c, 2);
		T_ASSERTF(f32_to_f16(f) == want, "%a: 0x%04x, compiler 0x%04x", f, f32_to_f16(f), want);
	}
}
#endif

static void test_bf16_exhaustive(void)
{
	for (uint32_t h = 0; h < 65536; h++) {
		float f = bf16_to_f32((uint16_t)h);
		T_ASSERT(bits(f) == h << 16);
		T_ASSERTF(f32_to_bf16(f) == h, "0x%04x -> 0x%04x", h, f32_to_bf16(f));
		if ((h & 0x7f80) == 0x7f80)
			continue; /* inf and NaN: no neighbour above */
		/* The midpoint to the next pattern (away from zero) and the floats beside it. */
		uint32_t mid = h << 16 | 0x8000;
		uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
		T_ASSERTF(f32_to_bf16(from_bits(mid)) == even, "mid of 0x%04x", h);
		T_ASSERTF(f32_to_bf16(from_bits(mid - 1)) == h, "below mid of 0x%04x", h);
		T_ASSERTF(f32_to_bf16(from_bits(mid + 1)) == h + 1, "above mid of 0x%04x", h);
	}
	T_ASSERT(f32_to_bf16(3.4028235e38f) == 0x7f80); /* FLT_MAX rounds up to inf */
	uint16_t n = f32_to_bf16(from_bits(0x7f800001));
	T_ASSERTF((n & 0x7f80) == 0x7f80 && (n & 0x7f), "0x%04x", n);
	T_ASSERT(f32_to_bf16(from_bits(0xffc00000)) == 0xffc0);
}

static void test_dtype_names(void)
{
	const char *names[] = {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "U16", "BOOL"};
	const size_t sizes[] = {8, 4, 2, 2, 8, 4, 2, 1, 1, 2, 1};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		dtype t;
		T_ASSERTF(dtype_from_name(names[i], &t) == 0, "%s", names[i]);
		T_ASSERT(strcmp(dtype_name(t), names[i]) == 0 && dtype_size(t) == sizes[i]);
	}
	dtype t;
	T_ASSERT(dtype_from_name("F8_E4M3", &t) == -1 && dtype_from_name("", &t) == -1 && dtype_from_name("f32", &t) == -1);
}

/* Significant digits of a %g text. */
static int sig_digits(const char *s)
{
	char m[48];
	size_t n = 0;
	for (; *s && *s != 'e' && n + 1 < sizeof m; s++)
		if (*s >= '0' && *s <= '9')
			m[n++] = *s;
	m[n] = 0;
	size_t a = 0;
	while (m[a] == '0')
		a++;
	while (n > a && m[n - 1] == '0')
		n--;
	return n > a ? (int)(n - a) : 1;
}

/* The one shortest-round-trip printer: the shortest text at each type's precision, for normal numbers
 * (searched from the type's guaranteed digits) and subnormals (from 1 digit) alike, against a search of
 * every precision from 1. */
static void test_format_shortest(void)
{
	static const struct {
		double v;
		dtype t;
		const char *want;
	} cases[] = {
		{0.1, DT_F64, "0.1"}, {0.3, DT_F64, "0.3"}, {1.0 / 3, DT_F64, "0.3333333333333333"},
		{1e-4, DT_F64, "0.0001"}, {5e-324, DT_F64, "5e-324"}, {2.2250738585072014e-308, DT_F64, "2.2250738585072014e-308"},
		{(float)0.1, DT_F32, "0.1"}, {1e-45, DT_F32, "1e-45"}, {16777216.0, DT_F32, "16777216"},
		{0.0999755859375, DT_F16, "0.1"}, {65504, DT_F16, "6.55e+04"}, {(float)1e-7, DT_F16, "1e-07"},
		{0.10009765625, DT_BF16, "0.1"}, {1.0 / 3, DT_BF16, "0.3333"}, {-0.0, DT_F64, "-0"}, {123456789012.0, DT_F64, "123456789012"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char got[48];
		format_shortest(got, sizeof got, cases[i].v, cases[i].t);
		T_ASSERTF(strcmp(got, cases[i].want) == 0, "case %zu: %s, wanted %s", i, got, cases[i].want);
	}
	/* random doubles and floats: the same text as the plain search from one digit */
	uint64_t x = 88172645463325252ull;
	for (int k = 0; k < 20000; k++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		double d;
		memcpy(&d, &x, sizeof d);
		if (!isfinite(d))
			continue;
		for (int f = 0; f < 2; f++) {
			double v = f ? (double)(float)d : d;
			if (!isfinite(v))
				continue;
			char got[48], want[48];
			format_shortest(got, sizeof got, v, f ? DT_F32 : DT_F64);
			for (int prec = 1; prec <= 17; prec++) {
				snprintf(want, sizeof want, "%.*g", prec, v);
				double back = strtod(want, NULL);
				if (f ? (float)back == (float)v : back == v)
					break;
			}
			/* the same value, in as few significant digits (the notation %g picks may differ: at 15
			 * digits 519629630821520 is fixed, at 14 5.1962963082152e+14 exponential) */
			double back = strtod(got, NULL);
			T_ASSERTF((f ? (float)back == (float)v : back == v) && sig_digits(got) <= sig_digits(want),
				  "%a (%s): %s, the search from 1 gives %s", v, f ? "F32" : "F64", got, want);
		}
	}
}

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	T_RUN(test_parse_valid);
	T_RUN(test_format_shortest);
	T_RUN(test_zero_size_and_empty);
	T_RUN(test_refusals);
	T_RUN(test_refusals_of_the_frame);
	T_RUN(test_writer_round_trip_every_dtype);
	T_RUN(test_to_f32);
	T_RUN(test_open_special_inputs);
	T_RUN(test_open_or_die_exit_codes);
	if (t_golden_dir())
		T_RUN(test_golden_model);
	else
		t_skip("test_golden_model", "no ../shared/golden/tiny-clip");
	T_RUN(test_f16_exhaustive);
	T_RUN(test_f16_rounding);
#ifdef __FLT16_MAX__
	T_RUN(test_f16_matches_compiler);
#else
	t_skip("test_f16_matches_compiler", "this compiler has no _Float16");
#endif
	T_RUN(test_bf16_exhaustive);
	T_RUN(test_dtype_names);
	t_tmpdir_remove();
	return t_summary();
}
