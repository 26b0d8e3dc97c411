/* fuzz_ftfy.c — clip_ftfy_fix_text (ftfy.fix_text, its mojibake repair included) on arbitrary text. The
 * bytes are read as UTF-8 where they are valid and each invalid byte as the Latin-1 character of that
 * value, so random bytes make the accented-letter soup that ftfy's badness heuristic and re-decodings
 * work on. Checks, beyond not crashing (and, under ASan, no read or write out of bounds): the result is
 * valid code points (no surrogates, nothing past U+10FFFF). (Fixing twice is not checked to change
 * nothing: ftfy itself does not promise that, as a repair can make new mojibake-looking text.) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "text/clip_ftfy.h"

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t *cps = malloc((size + 1) * sizeof *cps), *fixed;
	if (!cps)
		return 0;
	size_t n = 0, fn;
	for (size_t p = 0; p < size;) {
		utf8proc_int32_t c;
		utf8proc_ssize_t k = utf8proc_iterate(data + p, (utf8proc_ssize_t)(size - p), &c);
		if (k <= 0) {
			c = data[p];
			k = 1;
		}
		cps[n++] = (uint32_t)c;
		p += (size_t)k;
	}
	if (clip_ftfy_fix_text(cps, n, &fixed, &fn) != 0) {
		free(cps);
		return 0;
	}
	for (size_t i = 0; i < fn; i++)
		check(fixed[i] <= 0x10FFFF && (fixed[i] < 0xD800 || fixed[i] > 0xDFFF));
	free(fixed);
	free(cps);
	return 0;
}
