/* ftfy_driver.c — the C side of tests/interop/ftfy_corpus.py: reads records from stdin, each a 4-byte
 * little-endian length and that many bytes of UTF-8, and writes one record per input record to stdout in
 * the same framing. MODE (the only argument):
 *   fix        clip_ftfy_fix_text (ftfy.fix_text), the default
 *   encoding   ftfy_fix_encoding (ftfy.fix_encoding)
 *   bad        ftfy_is_bad (ftfy.badness.is_bad): the one-byte record "0" or "1"
 * Input that is not UTF-8 gets the record "\xff" (Python never sends it). Exit status 0, or 1 with a
 * message on a short read, a write error or out of memory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "text/clip_ftfy.h"
#include "text/ftfy_badness.h"
#include "text/ftfy_encoding.h"

static void put_record(const void *p, uint32_t n)
{
	uint8_t len[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
	if (fwrite(len, 1, 4, stdout) != 4 || (n && fwrite(p, 1, n, stdout) != n)) {
		fprintf(stderr, "ftfy_driver: write error\n");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "fix";
	if (strcmp(mode, "fix") && strcmp(mode, "encoding") && strcmp(mode, "bad")) {
		fprintf(stderr, "usage: ftfy_driver [fix|encoding|bad] <records >records\n");
		return 2;
	}
	uint8_t len[4], *in = NULL, *out = NULL;
	uint32_t *cps = NULL;
	size_t cap = 0;
	size_t got;
	while ((got = fread(len, 1, 4, stdin)) == 4) {
		size_t n = len[0] | (size_t)len[1] << 8 | (size_t)len[2] << 16 | (size_t)len[3] << 24;
		if (n + 1 > cap) {
			cap = 2 * (n + 1);
			in = realloc(in, cap);
			cps = realloc(cps, cap * sizeof *cps);
			if (!in || !cps) {
				fprintf(stderr, "ftfy_driver: out of memory\n");
				return 1;
			}
		}
		if (fread(in, 1, n, stdin) != n) {
			fprintf(stderr, "ftfy_driver: short record\n");
			return 1;
		}
		size_t m = 0;
		int ok = 1;
		for (size_t p = 0; p < n && ok;) {
			utf8proc_int32_t c;
			utf8proc_ssize_t k = utf8proc_iterate(in + p, (utf8proc_ssize_t)(n - p), &c);
			ok = k > 0;
			if (ok) {
				cps[m++] = (uint32_t)c;
				p += (size_t)k;
			}
		}
		if (!ok) {
			put_record("\xff", 1);
			continue;
		}
		if (!strcmp(mode, "bad")) {
			put_record(ftfy_is_bad(cps, m) ? "1" : "0", 1);
			continue;
		}
		uint32_t *fixed;
		size_t fn;
		int r = !strcmp(mode, "fix") ? clip_ftfy_fix_text(cps, m, &fixed, &fn) : ftfy_fix_encoding(cps, m, &fixed, &fn);
		if (r) {
			fprintf(stderr, "ftfy_driver: out of memory\n");
			return 1;
		}
		free(out);
		out = malloc(4 * fn + 1);
		if (!out) {
			fprintf(stderr, "ftfy_driver: out of memory\n");
			return 1;
		}
		size_t o = 0;
		for (size_t i = 0; i < fn; i++)
			o += (size_t)utf8proc_encode_char((utf8proc_int32_t)fixed[i], out + o);
		free(fixed);
		put_record(out, (uint32_t)o);
	}
	if (got != 0) {
		fprintf(stderr, "ftfy_driver: short length\n");
		return 1;
	}
	free(in);
	free(out);
	free(cps);
	return fflush(stdout) ? 1 : 0;
}
