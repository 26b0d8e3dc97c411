/* test_clip_tokenizer.c — CLIP's BPE tokenizer against OpenAI's simple_tokenizer.py: the golden
 * tokens.tsv line for line (when ../shared is there), known answers for the corners of the text cleaning
 * and the split pattern, truncation, errors, loading and decoding. Runs from the repository root (the
 * vocabulary is data/clip/bpe_simple_vocab_16e6.txt.gz). */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "text/clip_tokenizer.h"
#include "../test.h"

#define VOCAB_PATH "data/clip/" CLIP_BPE_FILE

static clip_tokenizer *tok;

/* Tokenize and render as "id id ...", or "error: MESSAGE". */
static void render(const char *text, size_t len, int context, char *buf, size_t bufsz)
{
	int32_t ids[4096];
	char err[256];
	int n = clip_tokenize(tok, text, len, ids, context, err, sizeof err);
	if (n < 0) {
		snprintf(buf, bufsz, "error: %s", err);
		return;
	}
	size_t used = 0;
	buf[0] = 0;
	for (int i = 0; i < n && used < bufsz; i++)
		used += (size_t)snprintf(buf + used, bufsz - used, i ? " %d" : "%d", (int)ids[i]);
}

/* Same ids for two texts. */
static int same_tokens(const char *a, const char *b)
{
	char ra[8192], rb[8192];
	render(a, strlen(a), CLIP_CONTEXT, ra, sizeof ra);
	render(b, strlen(b), CLIP_CONTEXT, rb, sizeof rb);
	return strcmp(ra, rb) == 0 && strncmp(ra, "error", 5) != 0;
}

/* Every line "PROMPT<TAB>IDS" of a tokens file (the prompt as a JSON string, the ids as render() writes
 * them; '#' lines skipped) tokenizes to its ids; at least min_prompts lines. */
static void check_tokens_tsv(const char *path, int min_prompts)
{
	FILE *f = fopen(path, "r");
	T_ASSERTF(f != NULL, "cannot open %s", path);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, compared = 0, bad = 0;
	char first_bad[512] = "";
	while ((len = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[0] == '#')
			continue;
		if (line[len - 1] == '\n')
			line[--len] = 0;
		char *tab = strrchr(line, '\t'); /* the JSON string escapes its tabs */
		T_ASSERTF(tab != NULL, "%s:%d: no tab", path, lineno);
		char err[256];
		json_value *v = json_parse(line, (size_t)(tab - line), err, sizeof err);
		T_ASSERTF(v && v->type == JSON_STRING, "%s:%d: %s", path, lineno, v ? "not a string" : err);
		char got[8192];
		render(v->string, v->string_len, CLIP_CONTEXT, got, sizeof got);
		if (strcmp(got, tab + 1) != 0 && bad++ == 0)
			snprintf(first_bad, sizeof first_bad, "line %d %.80s: got %.150s, want %.150s", lineno, line, got,
				 tab + 1);
		json_free(v);
		compared++;
	}
	free(line);
	fclose(f);
	T_ASSERTF(compared >= min_prompts, "only %d prompts in %s", compared, path);
	T_ASSERTF(bad == 0, "%d of %d prompts differ; first: %s", bad, compared, first_bad);
}

static void test_golden_tokens_tsv(void)
{
	const char *dir = t_golden_dir();
	T_ASSERT(dir != NULL);
	char path[4096];
	snprintf(path, sizeof path, "%s/tokens.tsv", dir);
	check_tokens_tsv(path, 1001);
}

/* Expected ids from OpenAI's simple_tokenizer.py (with Python's `regex` module) and clip.tokenize, on
 * texts that ftfy.fix_text leaves unchanged or changes only in ways html.unescape and whitespace_clean
 * undo (ftfy's own steps: test_clip_ftfy.c, and test_ftfy_applied below). Each row is a corner of the
 * cleaning or the pattern. */
static const struct {
	const char *text;
	size_t len;
	const char *ids;
} known[] = {
	{"a photo of a cat", 16, "49406 320 1125 539 320 2368 49407"},
	/* Python's str.lower(): final sigma (ς at the end of a word, σ inside), İ -> i + U+0307 */
	{"\xce\x9f\xce\x94\xce\x9f\xce\xa3 \xce\x9f\xce\x94\xce\x9f\xce\xa3.", 18,
	 "49406 138 123 138 112 138 123 139 480 138 123 138 112 138 123 139 480 269 49407"},
	{"\xce\xa3\xce\x91", 4, "49406 139 225 138 365 49407"},
	{"\xc4\xb0stanbul", 9, "49406 328 16384 11231 49407"},
	/* contractions; IGNORECASE makes ſ (U+017F) match 's' */
	{"it's", 4, "49406 585 568 49407"},
	{"it'\xc5\xbf", 5, "49406 585 6 129 379 49407"},
	{"''s", 3, "49406 8445 338 49407"},
	{"y'all", 5, "49406 344 262 615 49407"},
	/* the special pieces: mapped to SOT/EOT only when spelled exactly */
	{"<|endoftext|>", 13, "49406 49407 49407"},
	{"<|\xc5\xbftartoftext|>", 16, "49406 27 91 129 123 2002 6659 18169 91 285 49407"},
	{"!<|endoftext|>", 14, "49406 0 27 347 40786 4160 91 285 49407"},
	/* U+0345 matches no alternative under IGNORECASE */
	{"a\xcd\x85"
	 "b",
	 4, "49406 320 321 49407"},
	{"\x1c a \x1f", 5, "49406 320 49407"},
	/* html.unescape: legacy names without ';', longest prefix, numeric rules */
	{"&ampx", 5, "49406 261 343 49407"},
	{"&AMP;lt;", 8, "49406 283 49407"},
	{"&notin;", 7, "49406 17788 487 49407"},
	{"&notit;", 7, "49406 126 361 585 282 49407"},
	{"&#0;", 4, "49406 39802 49407"},
	{"&#x80;", 6, "49406 6309 49407"},
	{"&#xD800;", 8, "49406 39802 49407"},
	{"&#1;x", 5, "49406 343 49407"},
	{"&#99999999999999999999;", 23, "49406 39802 49407"},
	{"&#39;s", 6, "49406 568 49407"},
	/* numbers one digit at a time, bytes of characters without merges, NUL */
	{"3.14", 4, "49406 274 269 272 275 49407"},
	{"na\xc3\xafve", 6, "49406 1097 35689 563 49407"},
	{"\xf0\x9f\x98\x80", 4, "49406 7334 49407"},
};

static void test_known_tokenizations(void)
{
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		char got[8192];
		render(known[i].text, known[i].len, CLIP_CONTEXT, got, sizeof got);
		T_ASSERTF(strcmp(got, known[i].ids) == 0, "row %zu: got '%s', want '%s'", i, got, known[i].ids);
	}
}

static void test_empty_and_blank(void)
{
	char got[256];
	render("", 0, CLIP_CONTEXT, got, sizeof got);
	T_ASSERTF(strcmp(got, "49406 49407") == 0, "'' -> %s", got);
	render(" \t\r\n\xe3\x80\x80 ", 8, CLIP_CONTEXT, got, sizeof got);
	T_ASSERTF(strcmp(got, "49406 49407") == 0, "blank -> %s", got);
	render("&#32;&nbsp;", 11, CLIP_CONTEXT, got, sizeof got);
	T_ASSERTF(strcmp(got, "49406 49407") == 0, "escaped blank -> %s", got);
}

static void test_truncation_keeps_eot_last(void)
{
	/* n words "a" give n+2 ids; 75 fit exactly in 77, 76 or more are cut. */
	for (int words = 74; words <= 200; words += (words < 80 ? 1 : 60)) {
		char text[1024];
		size_t len = 0;
		for (int w = 0; w < words; w++)
			len += (size_t)snprintf(text + len, sizeof text - len, "a ");
		int32_t ids[CLIP_CONTEXT + 8];
		for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++)
			ids[k] = -7; /* nothing may be written past the context */
		char err[256];
		int n = clip_tokenize(tok, text, len, ids, CLIP_CONTEXT, err, sizeof err);
		int want = words + 2 <= CLIP_CONTEXT ? words + 2 : CLIP_CONTEXT;
		T_ASSERTF(n == want, "%d words: %d ids, want %d", words, n, want);
		T_ASSERT(ids[0] == CLIP_SOT && ids[n - 1] == CLIP_EOT);
		for (int k = 1; k < n - 1; k++)
			T_ASSERTF(ids[k] == 320, "%d words: id %d at %d", words, (int)ids[k], k);
		for (size_t k = CLIP_CONTEXT; k < sizeof ids / sizeof ids[0]; k++)
			T_ASSERTF(ids[k] == -7, "%d words: wrote past the context", words);
	}
	/* A cut inside one word's BPE, and small contexts as clip.tokenize gives them. */
	char got[1024];
	render("supercalifragilisticexpialidocious", 34, 5, got, sizeof got);
	T_ASSERTF(strcmp(got, "49406 1642 2857 13093 49407") == 0, "context 5: %s", got);
	render("a cat", 5, 2, got, sizeof got);
	T_ASSERTF(strcmp(got, "49406 49407") == 0, "context 2: %s", got);
	render("a cat", 5, 1, got, sizeof got);
	T_ASSERTF(strcmp(got, "49407") == 0, "context 1: %s", got);
	render("a cat", 5, 0, got, sizeof got);
	T_ASSERTF(strstr(got, "error: context 0") != NULL, "context 0: %s", got);
}

static void test_invalid_utf8_rejected(void)
{
	static const struct {
		const char *text;
		size_t len, at;
	} bad[] = {
		{"ab\xff"
		 "cd",
		 5, 2},
		{"\xc0\xaf", 2, 0},            /* overlong '/' */
		{"x\xed\xa0\x80", 4, 1},       /* a surrogate */
		{"ok \xe2\x82", 5, 3},         /* truncated */
		{"\xf4\x90\x80\x80", 4, 0},    /* past U+10FFFF */
		{"caf\xc3\xa9\x80", 6, 5},     /* stray continuation */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char got[256], want[64];
		render(bad[i].text, bad[i].len, CLIP_CONTEXT, got, sizeof got);
		snprintf(want, sizeof want, "error: invalid UTF-8 at byte %zu", bad[i].at);
		T_ASSERTF(strcmp(got, want) == 0, "case %zu: '%s', want '%s'", i, got, want);
	}
}

static void test_html_unescaped_twice(void)
{
	T_ASSERT(same_tokens("&amp;amp;", "&"));
	T_ASSERT(same_tokens("&amp;lt;b&amp;gt;", "<b>"));
	/* ftfy's unescape_html repeats until nothing changes, so nesting deeper than html.unescape's two
	 * rounds is undone too (without ftfy, "&amp;" would be left: the pieces "&" "amp" ";") */
	char got[256];
	render("&amp;amp;amp;", 13, CLIP_CONTEXT, got, sizeof got);
	T_ASSERTF(strcmp(got, "49406 261 49407") == 0, "%s", got);
	T_ASSERT(same_tokens("caf&eacute; &#233; &#xE9; &#XE9", "café é é é"));
	T_ASSERT(same_tokens("&lt&gt&quot", "<>\""));
	T_ASSERT(same_tokens("&ltb&gtc&copyright", "<b>c\xc2\xa9right")); /* longest prefix that is a name */
	T_ASSERT(same_tokens("&nosuchname; &#; &#x; & amp;", "&nosuchname; &#; &#x; & amp;"));
	T_ASSERT(same_tokens("&#x110000; &#55296;", "\xef\xbf\xbd \xef\xbf\xbd"));
	T_ASSERT(same_tokens("a&#x7f;b&#xFDD0;c", "abc")); /* control and non-characters expand to nothing */
	T_ASSERT(same_tokens("&#150;", "\xe2\x80\x93")); /* 0x96 read as Windows-1252's en dash */
}

static void test_whitespace_collapsed(void)
{
	T_ASSERT(same_tokens("  a \t\n\xe3\x80\x80\xc2\xa0\xe2\x80\xa8 photo\r\n", "a photo"));
	T_ASSERT(same_tokens("a\xe2\x80\xa8photo", "a photo")); /* U+2028 is white space */
	T_ASSERT(!same_tokens("a\xe2\x80\x8bphoto", "a photo")); /* a zero-width space is not */
	/* ftfy reads NEL (U+0085) as the Windows-1252 byte it was: an ellipsis, not a line break */
	T_ASSERT(same_tokens("a\xc2\x85photo", "a\xe2\x80\xa6photo"));
	/* ftfy removes U+001C..U+001F (which `regex`'s \s would not match and str.strip() would strip) */
	T_ASSERT(same_tokens("a\x1fphoto", "aphoto"));
	T_ASSERT(same_tokens("\x1f\x1e a photo \x1c", "a photo"));
}

/* ftfy.fix_text inside the tokenizer: what it changes reaches the tokens. */
static void test_ftfy_applied(void)
{
	T_ASSERT(same_tokens("men\xe2\x80\x99s shoes", "men's shoes")); /* a curly apostrophe: the 's piece */
	T_ASSERT(same_tokens("\xe2\x80\x9c" "cat\xe2\x80\x9d", "\"cat\""));
	T_ASSERT(same_tokens("\xef\xac\x81sh", "fish"));
	T_ASSERT(same_tokens("\xef\xbc\xa3\xef\xbc\xa1\xef\xbc\xb4", "cat")); /* full-width */
	T_ASSERT(same_tokens("cafe\xcc\x81", "caf\xc3\xa9"));                   /* NFC */
	T_ASSERT(same_tokens("\xef\xbb\xbf\x1b[1ma cat\x1b[0m", "a cat"));      /* BOM, terminal escapes */
	T_ASSERT(same_tokens("&NTILDE;o", "\xc3\xb1o"));                        /* all-caps entity */
	T_ASSERT(!same_tokens("<b> &NTILDE;o", "<b> \xc3\xb1o")); /* not in a segment holding '<' */
	char with_nul[256], without[256]; /* NUL removed (same_tokens would stop at it) */
	render("a\0b", 3, CLIP_CONTEXT, with_nul, sizeof with_nul);
	render("ab", 2, CLIP_CONTEXT, without, sizeof without);
	T_ASSERTF(strcmp(with_nul, without) == 0, "%s vs %s", with_nul, without);
	T_ASSERT(same_tokens("\xc2\x96", "\xe2\x80\x93")); /* C1 control as Windows-1252 */
}

/* Mojibake prompts tokenize as OpenAI's tokenizer after ftfy's fix_encoding ("cafÃ©" as "café"): the ids
 * of tests/unit/data/ftfy_mojibake_tokens.tsv, computed by scripts/make-ftfy-mojibake-tokens.py with
 * PyPI's ftfy 6.3.1 and open_clip's copy of simple_tokenizer.py. */
static void test_mojibake_tokens_tsv(void)
{
	check_tokens_tsv("tests/unit/data/ftfy_mojibake_tokens.tsv", 20);
	T_ASSERT(same_tokens("a photo of a caf\xc3\x83\xc2\xa9", "a photo of a caf\xc3\xa9"));
}

static void test_lowercase(void)
{
	T_ASSERT(same_tokens("A PHOTO OF A CAT", "a photo of a cat"));
	T_ASSERT(same_tokens("\xc3\x89T\xc3\x89", "\xc3\xa9t\xc3\xa9"));               /* ÉTÉ */
	T_ASSERT(same_tokens("\xc4\xb0", "i\xcc\x87"));                                 /* İ -> i̇ */
	T_ASSERT(same_tokens("\xce\x9f\xce\xa3", "\xce\xbf\xcf\x82"));                 /* ΟΣ -> ος */
	T_ASSERT(same_tokens("\xce\xa3\xce\x9f", "\xcf\x83\xce\xbf"));                 /* ΣΟ -> σο */
	T_ASSERT(same_tokens("\xce\x9f\xce\xa3'", "\xce\xbf\xcf\x82'"));               /* ' is case-ignorable */
	T_ASSERT(same_tokens("\xce\x9f\xce\xa3'\xce\x9f", "\xce\xbf\xcf\x83'\xce\xbf")); /* not final */
	T_ASSERT(same_tokens("\xce\xa3", "\xcf\x83"));                                 /* alone: σ */
}

static void test_detokenize(void)
{
	int32_t ids[CLIP_CONTEXT];
	char err[256];
	const char *text = "A photo of a caf\xc3\xa9!";
	int n = clip_tokenize(tok, text, strlen(text), ids, CLIP_CONTEXT, err, sizeof err);
	T_ASSERTF(n > 2, "%s", err);
	char *back = clip_detokenize(tok, ids, (size_t)n, err, sizeof err);
	T_ASSERTF(back != NULL, "%s", err);
	int ok = strcmp(back, "<|startoftext|>a photo of a caf\xc3\xa9 ! <|endoftext|>") == 0;
	T_ASSERTF(ok, "'%s'", back);
	free(back);
	/* Bytes: 'a' is id 64 (printable ASCII first), 0xC3 and 0xA9 (é) are 127 and 102; a lone 0xC3 is one
	 * U+FFFD, as bytes.decode(errors="replace"); id + 256 is the byte with "</w>", read as a space. */
	static const struct {
		int32_t ids[3];
		size_t n;
		const char *text;
	} bytes[] = {
		{{64}, 1, "a"},
		{{127, 102}, 2, "\xc3\xa9"},
		{{127}, 1, "\xef\xbf\xbd"},
		{{64, 127 + 256}, 2, "a\xef\xbf\xbd "},
		{{127, 64, 102}, 3, "\xef\xbf\xbd" "a\xef\xbf\xbd"},
	};
	for (size_t i = 0; i < sizeof bytes / sizeof bytes[0]; i++) {
		back = clip_detokenize(tok, bytes[i].ids, bytes[i].n, err, sizeof err);
		T_ASSERTF(back != NULL, "%s", err);
		ok = strcmp(back, bytes[i].text) == 0;
		T_ASSERTF(ok, "case %zu: '%s'", i, back);
		free(back);
	}
	int32_t bad[] = {5, CLIP_VOCAB};
	T_ASSERT(clip_detokenize(tok, bad, 2, err, sizeof err) == NULL);
	T_ASSERTF(strstr(err, "id 49408") != NULL, "%s", err);
}

/* The tokenizer is read-only once loaded: two threads get the same answers. */
static void *tokenize_many(void *arg)
{
	unsigned long sum = 0;
	for (int r = 0; r < 200; r++)
		for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
			int32_t ids[CLIP_CONTEXT];
			int n = clip_tokenize(tok, known[i].text, known[i].len, ids, CLIP_CONTEXT, NULL, 0);
			for (int k = 0; k < n; k++)
				sum = sum * 31 + (unsigned long)ids[k];
		}
	*(unsigned long *)arg = sum;
	return NULL;
}

static void test_threads_agree(void)
{
	unsigned long a = 0, b = 1, c = 2;
	pthread_t ta, tb;
	T_ASSERT(pthread_create(&ta, NULL, tokenize_many, &a) == 0);
	T_ASSERT(pthread_create(&tb, NULL, tokenize_many, &b) == 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	tokenize_many(&c);
	T_ASSERT(a == b && b == c);
}

static void test_load_errors(void)
{
	char err[512];
	T_ASSERT(clip_tokenizer_load("/nonexistent/bpe.txt.gz", err, sizeof err) == NULL);
	T_ASSERTF(strstr(err, "/nonexistent/bpe.txt.gz") != NULL, "%s", err);

	char path[] = "/tmp/lfm-test-bpe.XXXXXX";
	int fd = mkstemp(path);
	T_ASSERT(fd >= 0);
	const char *short_file = "#version: 0.2\ni n\nt h\n";
	T_ASSERT(write(fd, short_file, strlen(short_file)) == (ssize_t)strlen(short_file));
	close(fd);
	clip_tokenizer *t = clip_tokenizer_load(path, err, sizeof err);
	T_ASSERT(t == NULL);
	T_ASSERTF(strstr(err, "2 merges, expected 48894") != NULL, "%s", err);

	fd = open(path, O_WRONLY | O_TRUNC);
	T_ASSERT(fd >= 0);
	T_ASSERT(write(fd, "#version\n\xff\xfe\n", 12) == 12);
	close(fd);
	T_ASSERT(clip_tokenizer_load(path, err, sizeof err) == NULL);
	T_ASSERTF(strstr(err, "invalid UTF-8") != NULL, "%s", err);

	fd = open(path, O_WRONLY | O_TRUNC);
	close(fd);
	T_ASSERT(clip_tokenizer_load(path, err, sizeof err) == NULL);
	T_ASSERTF(strstr(err, path) != NULL, "%s", err);
	unlink(path);
}

/* The uncompressed text gives the same tokenizer; the search finds the file through $LFM_DATADIR. */
static void test_load_plain_and_search(void)
{
	char path[] = "/tmp/lfm-test-bpe-plain.XXXXXX";
	int fd = mkstemp(path);
	T_ASSERT(fd >= 0);
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "gzip -dc %s > %s", VOCAB_PATH, path);
	if (system(cmd) != 0) {
		unlink(path);
		t_skip("test_load_plain_and_search", "gzip -dc failed");
		return;
	}
	char err[512];
	clip_tokenizer *plain = clip_tokenizer_load(path, err, sizeof err);
	unlink(path);
	T_ASSERTF(plain != NULL, "%s", err);
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		int32_t a[CLIP_CONTEXT], b[CLIP_CONTEXT];
		int na = clip_tokenize(tok, known[i].text, known[i].len, a, CLIP_CONTEXT, NULL, 0);
		int nb = clip_tokenize(plain, known[i].text, known[i].len, b, CLIP_CONTEXT, NULL, 0);
		T_ASSERT(na == nb && memcmp(a, b, (size_t)na * sizeof a[0]) == 0);
	}
	clip_tokenizer_free(plain);

	char cwd[2048], dir[4096];
	T_ASSERT(getcwd(cwd, sizeof cwd) != NULL);
	snprintf(dir, sizeof dir, "%s/data", cwd);
	const char *old = getenv("LFM_DATADIR");
	char *saved = old ? strdup(old) : NULL;
	setenv("LFM_DATADIR", dir, 1);
	clip_tokenizer *found = clip_tokenizer_load(NULL, err, sizeof err);
	if (saved) {
		setenv("LFM_DATADIR", saved, 1);
		free(saved);
	} else {
		unsetenv("LFM_DATADIR");
	}
	T_ASSERTF(found != NULL, "%s", err);
	char want[4200];
	snprintf(want, sizeof want, "%s/clip/%s", dir, CLIP_BPE_FILE);
	T_ASSERTF(strcmp(clip_tokenizer_path(found), want) == 0, "%s", clip_tokenizer_path(found));
	clip_tokenizer_free(found);
}

int main(void)
{
	char err[512];
	tok = clip_tokenizer_load(VOCAB_PATH, err, sizeof err);
	if (!tok) {
		printf("not ok - load %s: %s\n", VOCAB_PATH, err);
		return 1;
	}
	if (t_golden_dir())
		T_RUN(test_golden_tokens_tsv);
	else
		t_skip("test_golden_tokens_tsv", "no ../shared/golden/tiny-clip (a clone without ../shared)");
	T_RUN(test_known_tokenizations);
	T_RUN(test_empty_and_blank);
	T_RUN(test_truncation_keeps_eot_last);
	T_RUN(test_invalid_utf8_rejected);
	T_RUN(test_html_unescaped_twice);
	T_RUN(test_ftfy_applied);
	T_RUN(test_mojibake_tokens_tsv);
	T_RUN(test_whitespace_collapsed);
	T_RUN(test_lowercase);
	T_RUN(test_detokenize);
	T_RUN(test_threads_agree);
	T_RUN(test_load_errors);
	T_RUN(test_load_plain_and_search);
	clip_tokenizer_free(tok);
	return t_summary();
}
