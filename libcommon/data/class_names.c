/* class_names.c — the class-name list reader (class_names.h): lines split, trimmed and checked here, the
 * duplicates found with the data/ leaves' string map. */
#include "data/class_names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/json.h"
#include "data/dataset_index.h"

const char *class_name_problem(const char *name, size_t len, char *why, size_t whysz)
{
	if (len == 0)
		return "empty class name";
	if (len > CLASS_NAME_MAX) {
		snprintf(why, whysz, "class name of %zu bytes (at most %d)", len, CLASS_NAME_MAX);
		return why;
	}
	if (memchr(name, 0, len))
		return "NUL byte in a class name";
	const unsigned char *u = (const unsigned char *)name;
	for (size_t i = 0; i < len;) {
		size_t k = utf8_seq_len(u + i, len - i);
		if (!k) {
			snprintf(why, whysz, "invalid UTF-8 at byte %zu of the name", i);
			return why;
		}
		i += k;
	}
	return NULL;
}

static int is_trimmed(char c) { return c == ' ' || c == '\t' || c == '\r'; }

int class_names_parse(const char *buf, size_t len, const char *name, char ***out, int *count, char *err,
		      size_t errsz)
{
	*out = NULL;
	*count = 0;
	size_t nlines = 0, cap = 16, first_blank = 0, line_no = 0;
	char **names = xmalloc_array(cap, sizeof *names);
	ds_map seen = {0};
	char why[96];
	int rc = 0;
	for (size_t pos = 0; pos < len;) {
		size_t n;
		const char *line = ds_next_line(buf, len, &pos, &n);
		line_no++;
		while (n && is_trimmed(line[n - 1]))
			n--;
		while (n && (*line == ' ' || *line == '\t')) {
			line++;
			n--;
		}
		if (n == 0) {
			if (!first_blank)
				first_blank = line_no;
			continue; /* an error unless only blank lines follow */
		}
		if (first_blank) {
			rc = err_code(err, errsz, LFM_EXIT_DATA,
				     "%s: line %zu: empty class name (one name a line; blank lines only at the end)",
				     name, first_blank);
			goto fail;
		}
		const char *problem = class_name_problem(line, n, why, sizeof why);
		if (problem) {
			rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: line %zu: %s", name, line_no, problem);
			goto fail;
		}
		if (nlines == CLASS_NAMES_MAX) {
			rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: more than %d class names", name,
				     CLASS_NAMES_MAX);
			goto fail;
		}
		if (nlines == cap)
			names = xrealloc(names, (cap *= 2) * sizeof *names);
		names[nlines] = xmalloc(n + 1);
		memcpy(names[nlines], line, n);
		names[nlines][n] = 0;
		nlines++;
		size_t first;
		if (ds_map_put(&seen, names[nlines - 1], nlines - 1, 0, &first)) {
			/* blank lines come only at the end, so name k is on line k + 1 */
			rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: line %zu: class '%s' repeats line %zu", name,
				     line_no, names[nlines - 1], first + 1);
			goto fail;
		}
	}
	if (nlines == 0) {
		rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: no class names", name);
		goto fail;
	}
	ds_map_free(&seen);
	*out = names;
	*count = (int)nlines;
	return 0;
fail:
	ds_map_free(&seen);
	class_names_free(names, (int)nlines);
	return rc;
}

int class_names_read(const char *path, char ***out, int *count, char *err, size_t errsz)
{
	char *buf;
	size_t len;
	*out = NULL;
	*count = 0;
	int rc = ds_read_whole_file(path, CLASS_NAMES_FILE_MAX, &buf, &len, err, errsz);
	if (rc)
		return rc;
	rc = class_names_parse(buf, len, path, out, count, err, errsz);
	free(buf);
	return rc;
}

int class_names_check(char *const *names, const size_t *lens, size_t count, const char *source, char *err,
		      size_t errsz)
{
	char why[96];
	for (size_t k = 0; k < count; k++) {
		const char *problem = class_name_problem(names[k], lens ? lens[k] : strlen(names[k]), why, sizeof why);
		if (problem)
			return err_code(err, errsz, LFM_EXIT_DATA, "%s: class %zu: %s", source, k, problem);
	}
	ds_map seen = {0};
	ds_map_init(&seen, count);
	int rc = 0;
	for (size_t k = 0; k < count && !rc; k++) {
		size_t first;
		if (ds_map_put(&seen, names[k], k, 0, &first))
			rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: class %zu ('%s') repeats class %zu", source, k,
				     names[k], first);
	}
	ds_map_free(&seen);
	return rc;
}

void class_names_free(char **names, int count)
{
	if (!names)
		return;
	for (int k = 0; k < count; k++)
		free(names[k]);
	free(names);
}
