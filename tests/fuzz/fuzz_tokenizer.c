/* fuzz_tokenizer.c — clip_tokenize on arbitrary bytes. Checks, beyond not crashing: the ids run SOT ... EOT
 * inside the vocabulary; the context-77 result is the long result cut as clip.tokenize(truncate=True) cuts
 * it; both calls fail together (invalid UTF-8 only); the ids decode. The vocabulary is loaded once from
 * data/clip/ (the fuzzers run from the repository root); without it the target does nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/clip_tokenizer.h"

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static clip_tokenizer *tok;
	static int tried;
	if (!tried) {
		tried = 1;
		tok = clip_tokenizer_load("data/clip/" CLIP_BPE_FILE, NULL, 0);
	}
	if (!tok)
		return 0;
	/* At most one id per byte of the cleaned text (at most 8 per input byte), SOT, EOT: room for one more. */
	int big = (int)(8 * size + 3);
	int32_t *all = malloc((size_t)big * sizeof *all);
	if (!all)
		return 0;
	int32_t cut[CLIP_CONTEXT];
	char err[256];
	int n_all = clip_tokenize(tok, (const char *)data, size, all, big, err, sizeof err);
	int n_cut = clip_tokenize(tok, (const char *)data, size, cut, CLIP_CONTEXT, err, sizeof err);
	check((n_all < 0) == (n_cut < 0));
	if (n_all < 0) {
		check(strncmp(err, "invalid UTF-8 at byte ", 22) == 0);
		free(all);
		return 0;
	}
	check(n_all >= 2 && n_all < big && all[0] == CLIP_SOT && all[n_all - 1] == CLIP_EOT);
	for (int i = 0; i < n_all; i++)
		check(all[i] >= 0 && all[i] < CLIP_VOCAB);
	if (n_all <= CLIP_CONTEXT) {
		check(n_cut == n_all && memcmp(cut, all, (size_t)n_all * sizeof *all) == 0);
	} else {
		check(n_cut == CLIP_CONTEXT && cut[CLIP_CONTEXT - 1] == CLIP_EOT);
		check(memcmp(cut, all, (CLIP_CONTEXT - 1) * sizeof *all) == 0);
	}
	char *text = clip_detokenize(tok, all, (size_t)n_all, err, sizeof err);
	check(text != NULL);
	free(text);
	free(all);
	return 0;
}
