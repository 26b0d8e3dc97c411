/* fuzz_tar_index.c — the two parsers of a root archive's index: the inner-tar push parser
 * (libcommon/data/dataset_tar.c: a tar inside a tar, followed block by block) and the index file's reader
 * (ds_index_read, libcommon/data/dataset_tarindex.c).
 *
 * Input: one control byte, then the bytes. Control bit 0 clear: the bytes are an inner tar, pushed in
 * pieces of (control >> 1) + 1 bytes (so headers and data arrive split at every boundary). Checked: no
 * crash; when the parser accepts the whole tar, every member it reported lies inside the bytes fed
 * (offset + size <= length), has a non-empty name without "//" or a leading "/", and offsets grow.
 * Control bit 0 set: the bytes are an index file, read without an archive to compare its identity with.
 * Checked: an accepted index has names that are non-empty, and every located member inside the archive
 * size its header gives; a refused one a message naming the file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_internal.h"

#define CHECK(c) \
	do { \
		if (!(c)) { \
			fprintf(stderr, "fuzz_tar_index: check failed at line %d: %s\n", __LINE__, #c); \
			abort(); \
		} \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct seen {
	size_t len;    /* bytes of the tar */
	uint64_t last; /* the last member's offset */
	size_t n;
	uint64_t off[64], sz[64];
} seen;

static int member(void *ctx, const char *name, uint64_t off, uint64_t size, char *err, size_t errsz)
{
	seen *s = ctx;
	CHECK(name[0] && name[0] != '/' && !strstr(name, "//"));
	CHECK(s->n == 0 || off > s->last);
	CHECK(off % 512 == 0);
	s->last = off;
	if (s->n < 64) {
		s->off[s->n] = off;
		s->sz[s->n] = size;
	}
	s->n++;
	return 0;
}

static void fuzz_tar(const uint8_t *p, size_t n, size_t piece)
{
	tar_push t;
	tar_push_init(&t);
	seen s = {.len = n};
	char err[512] = "";
	int rc = 0;
	for (size_t at = 0; at < n && rc == 0; at += piece)
		rc = tar_push_feed(&t, p + at, n - at < piece ? n - at : piece, member, &s, err, sizeof err);
	if (rc == 0)
		rc = tar_push_finish(&t, err, sizeof err);
	tar_push_free(&t);
	if (rc) {
		CHECK(rc == 1 && err[0]);
		return;
	}
	for (size_t i = 0; i < s.n && i < 64; i++)
		CHECK(s.off[i] <= n && s.sz[i] <= n - s.off[i]);
}

static void fuzz_index(const uint8_t *p, size_t n)
{
	FILE *f = fmemopen((void *)p, n, "rb");
	if (!f)
		return;
	ds_scan scan;
	char err[1024] = "";
	int rc = ds_index_read(f, "fuzz.lfm-index", NULL, &scan, err, sizeof err);
	fclose(f);
	if (rc) {
		CHECK(rc == -1 && strncmp(err, "fuzz.lfm-index", 14) == 0);
		return;
	}
	for (size_t i = 0; i < scan.n; i++) {
		const ds_member *m = &scan.m[i];
		CHECK(m->name && m->name[0]);
		if (m->loc.where == DS_FD)
			CHECK(m->loc.off <= scan.size && m->loc.size <= scan.size - m->loc.off);
	}
	ds_scan_free(&scan);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint8_t c = data[0];
	if (c & 1)
		fuzz_index(data + 1, size - 1);
	else
		fuzz_tar(data + 1, size - 1, (size_t)(c >> 1) + 1);
	return 0;
}
