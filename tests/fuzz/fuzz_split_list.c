/* fuzz_split_list.c — the split-list parser and the class-name parser (libcommon/data/dataset_list.c,
 * dataset_index.c) over a memory buffer.
 *
 * Input: one control byte (the number of classes bounding labels, 0 = unbounded; skip_bad in the top
 * bit), then the text. Checked: no crash, and that what is accepted is what the format allows: a label
 * within bounds (or -1, a hole, only with skip_bad), a path that is relative, non-empty and has no ".."
 * component and no NUL; class names non-empty, without surrounding blanks, distinct. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_internal.h"

#define CHECK(c) \
	do { \
		if (!(c)) \
			abort(); \
	} while (0)

static int has_dotdot(const char *p)
{
	for (const char *s = p; *s;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return 1;
		if (!e)
			break;
		s = e + 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int classes = data[0] & 0x7f, skip_bad = data[0] >> 7;
	const char *text = (const char *)data + 1;
	size_t n = size - 1;
	char err[256];
	split_list l;
	int rc = split_list_parse(text, n, "fuzz.txt", classes, skip_bad, &l, err, sizeof err);
	if (rc) {
		CHECK(!skip_bad && rc == 1 && strncmp(err, "fuzz.txt: line ", 15) == 0);
	} else {
		size_t holes = 0;
		for (size_t i = 0; i < l.n; i++) {
			const char *p = l.paths.buf + l.path_off[i];
			int32_t y = l.label[i];
			if (y < 0) {
				holes++;
				continue;
			}
			CHECK(classes == 0 || y < classes);
			CHECK(y <= l.max_label);
			CHECK(*p && *p != '/' && !has_dotdot(p));
			CHECK(strlen(p) <= n);
		}
		CHECK(holes == l.bad && (skip_bad || holes == 0));
		split_list_free(&l);
	}

	char **names;
	int count;
	if (class_names_parse(text, n, "fuzz.txt", &names, &count, err, sizeof err) == 0) {
		CHECK(count > 0);
		for (int k = 0; k < count; k++) {
			size_t len = strlen(names[k]);
			CHECK(len > 0 && names[k][0] != ' ' && names[k][len - 1] != ' ' && names[k][len - 1] != '\r');
			for (int j = 0; j < k; j++)
				CHECK(strcmp(names[j], names[k]) != 0);
		}
		class_names_free(names, count);
	}
	return 0;
}
