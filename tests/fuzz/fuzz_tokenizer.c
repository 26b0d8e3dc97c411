/* fuzz_tokenizer.c — clip_tokenize on arbitrary bytes. Checks, beyond not crashing: the ids run SOT ... EOT
 * inside the vocabulary; the context-77 result is the long result cut as clip.tokenize(truncate=True) cuts
 * it; both calls fail together (invalid UTF-8 only); the ids decode. The vocabulary is loaded once, from
 * $LFM_FUZZ_VOCAB when set, else the source tree's data/clip/ found from the current folder or from the
 * target's own place (build/fuzz-replay/ or build-fuzz/fuzz/, two levels below the root); a target that
 * cannot find it stops at once with a message, rather than fuzzing nothing. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "text/clip_tokenizer.h"

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static clip_tokenizer *load_vocabulary(void)
{
	char exe_path[PATH_MAX] = "", *slash;
	ssize_t n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
	if (n > 0 && (exe_path[n] = 0, slash = strrchr(exe_path, '/')))
		snprintf(slash, sizeof exe_path - (size_t)(slash - exe_path), "/../../data/clip/%s", CLIP_BPE_FILE);
	const char *env = getenv("LFM_FUZZ_VOCAB");
	const char *places[] = {env && *env ? env : NULL, "data/clip/" CLIP_BPE_FILE, exe_path[0] ? exe_path : NULL};
	char err[512] = "";
	for (size_t k = 0; k < sizeof places / sizeof *places; k++)
		if (places[k] && access(places[k], R_OK) == 0) {
			clip_tokenizer *t = clip_tokenizer_load(places[k], err, sizeof err);
			if (t)
				return t;
			break;
		}
	fprintf(stderr, "fuzz_tokenizer: cannot load the vocabulary %s (%s); set LFM_FUZZ_VOCAB=PATH or run from the "
			"source tree\n", CLIP_BPE_FILE, err[0] ? err : "not found in data/clip/ here or beside the target");
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static clip_tokenizer *tok;
	if (!tok)
		tok = load_vocabulary();
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
