/* check_tokens.c — golden check "tokens": every prompt of DIR/tokens.tsv (a JSON string, a tab, the ids of
 * OpenAI's clip.tokenize(prompt, truncate=True) from SOT to EOT) tokenized again; the reported error is the
 * number of prompts whose ids differ (tolerance 0). The first few differences go to stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "text/clip_tokenizer.h"
#include "golden.h"

/* "id id ..." of text into buf. Returns 0, or -1 with the tokenizer's message in buf. */
static int render_ids(const clip_tokenizer *t, const char *text, size_t len, char *buf, size_t bufsz)
{
	int32_t ids[CLIP_CONTEXT];
	int n = clip_tokenize(t, text, len, ids, CLIP_CONTEXT, buf, bufsz);
	if (n < 0)
		return -1;
	size_t used = 0;
	buf[0] = 0;
	for (int i = 0; i < n && used < bufsz; i++)
		used += (size_t)snprintf(buf + used, bufsz - used, i ? " %d" : "%d", (int)ids[i]);
	return 0;
}

void golden_check_tokens(golden_ctx *g)
{
	const char *name = "tokens.tsv";
	char *path = golden_path(g, name);
	FILE *f = fopen(path, "r");
	if (!f) {
		golden_fail(g, name, "cannot open %s", path);
		free(path);
		return;
	}
	char err[512];
	clip_tokenizer *t = clip_tokenizer_load(NULL, err, sizeof err);
	if (!t) {
		golden_fail(g, name, "%s", err);
		fclose(f);
		free(path);
		return;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0, compared = 0, mismatches = 0;
	while ((len = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[0] == '#')
			continue;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		char *tab = strrchr(line, '\t'); /* tabs inside the prompt are escaped by JSON */
		json_value *v = tab ? json_parse(line, (size_t)(tab - line), err, sizeof err) : NULL;
		char got[2048];
		if (!v || v->type != JSON_STRING) {
			fprintf(stderr, "%s:%ld: %s\n", path, lineno, !tab ? "no tab" : v ? "not a JSON string" : err);
			mismatches++;
		} else if (render_ids(t, v->string, v->string_len, got, sizeof got) != 0 || strcmp(got, tab + 1)) {
			if (mismatches < 5)
				fprintf(stderr, "%s:%ld: %.*s: got %.200s, want %.200s\n", path, lineno,
					(int)(tab - line < 60 ? tab - line : 60), line, got, tab + 1);
			mismatches++;
		}
		json_free(v);
		compared++;
	}
	int read_error = ferror(f);
	free(line);
	fclose(f);
	clip_tokenizer_free(t);
	if (read_error)
		golden_fail(g, name, "read error in %s", path);
	else if (compared == 0)
		golden_fail(g, name, "no prompts in %s", path);
	else
		golden_report(g, name, (double)mismatches, 0);
	free(path);
}
