/* test_clip_ftfy.c — clip_ftfy_fix_text, ftfy 6.3's fix_text with its mojibake repair: each step on
 * texts that exercise it (the expected outputs follow ftfy's fixes.py and chardata.py), the steps' order
 * and ftfy's repeat-until-unchanged loop, the segment rule for '<', and every all-caps HTML entity against
 * CPython's html module (tests/unit/data/ftfy_upper_entities.tsv, scripts/make-ftfy-upper-entities.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "base/errors.h"
#include "text/clip_ftfy.h"
#include "../test.h"

/* fix_text of UTF-8 `in`, as UTF-8 in out. */
static void fix(const char *in, size_t len, char *out, size_t outsz)
{
	uint32_t *cps = xmalloc_array(len + 1, sizeof *cps), *fixed;
	size_t n = 0, fn;
	for (size_t p = 0; p < len;) {
		utf8proc_int32_t c;
		utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)in + p, (utf8proc_ssize_t)(len - p), &c);
		T_ASSERT(k > 0);
		if (k <= 0)
			break;
		cps[n++] = (uint32_t)c;
		p += (size_t)k;
	}
	T_ASSERT(clip_ftfy_fix_text(cps, n, &fixed, &fn) == 0);
	size_t o = 0;
	for (size_t i = 0; i < fn && o + 5 < outsz; i++)
		o += (size_t)utf8proc_encode_char((utf8proc_int32_t)fixed[i], (utf8proc_uint8_t *)out + o);
	out[o] = 0;
	free(cps);
	free(fixed);
}

static const struct {
	const char *in;
	size_t len; /* 0: strlen */
	const char *out;
} cases[] = {
	{"a photo of a cat", 0, "a photo of a cat"},
	{"", 0, ""},
	/* unescape_html: HTML5 names with ';' only, all-caps forms, numeric references taken whole */
	{"caf&eacute; &amp; &lt;3", 0, "caf\xc3\xa9 & <3"},
	{"&eacute &amp", 0, "&eacute &amp"},
	{"P&EACUTE;REZ BUNDESSTRA&SZLIG;E", 0, "P\xc3\x89REZ BUNDESSTRASSE"},
	{"&ntilde; &Ntilde; &NTILDE; &nTILDE;", 0, "\xc3\xb1 \xc3\x91 \xc3\x91 &nTILDE;"},
	{"&#x2019; &#8217; &#12a; &#xZZ; &#0;", 0, "' ' &#12a; &#xZZ; \xef\xbf\xbd"},
	{"&AMP;", 0, "&"},
	{"&abcdefghijklmnopqrstuvwxyz;", 0, "&abcdefghijklmnopqrstuvwxyz;"},
	/* the loop: unescaping repeats until nothing changes */
	{"&amp;amp;amp;", 0, "&"},
	/* the "auto" rule: a segment with '<' keeps its entities, and so do the segments after it */
	{"<b>&eacute;", 0, "<b>&eacute;"},
	{"&eacute;\n<\n&eacute;", 0, "\xc3\xa9\n<\n&eacute;"},
	/* fix_c1_controls: Windows-1252, the unassigned 0x81 kept; then fix_line_breaks sees no U+0085 */
	{"\xc2\x96 \xc2\x80 \xc2\x81 \xc2\x85", 0, "\xe2\x80\x93 \xe2\x82\xac \xc2\x81 \xe2\x80\xa6"},
	/* fix_latin_ligatures (then uncurl_quotes turns ŉ's U+02BC into ') */
	{"\xef\xac\x81sh \xef\xac\x83 \xc4\xb2ssel \xc7\x86 \xc5\x89", 0, "fish ffi IJssel d\xc5\xbe 'n"},
	/* fix_character_width */
	{"\xef\xbc\xac\xef\xbc\xaf\xef\xbc\xb5\xef\xbc\xa4\xe3\x80\x80\xef\xbc\x81", 0, "LOUD !"},
	{"\xef\xbd\xb6\xef\xbe\x9e", 0, "\xe3\x82\xac"}, /* halfwidth ka + voiced mark: NFKC, then NFC joins them */
	/* uncurl_quotes */
	{"\xe2\x80\x9cmen\xe2\x80\x99s\xe2\x80\x9d \xe2\x80\x9a\xca\xbc\xe2\x80\x9f", 0, "\"men's\" ''\""},
	/* fix_line_breaks */
	{"a\r\nb\rc\xe2\x80\xa8" "d\xe2\x80\xa9" "e", 0, "a\nb\nc\nd\ne"},
	/* remove_terminal_escapes, then remove_control_chars (ESC itself, BOM, U+001F, NUL; not \t \n \f) */
	{"\x1b[36;44mblue\x1b[0m \x1b[1;! \x1b[", 0, "blue [1;! ["},
	{"\xef\xbb\xbf" "a\x1f" "b\x7f\tc\x0c", 0, "ab\tc\x0c"},
	{"a\0b", 3, "ab"},
	{"\xe2\x81\xaa\xef\xbf\xbc" "x", 0, "x"},
	/* NFC */
	{"e\xcc\x81t\xc3\xa9", 0, "\xc3\xa9t\xc3\xa9"},
	/* NFC leaves a combining mark Python 3.11's Unicode 14 does not know (U+11F41, Unicode 15) in place */
	{"\xcc\xad\xf0\x91\xbd\x81", 0, "\xcc\xad\xf0\x91\xbd\x81"},
	/* fix_encoding, the mojibake repair (outputs from ftfy 6.3.1 itself). Latin-1 re-decoding */
	{"caf\xc3\x83\xc2\xa9", 0, "caf\xc3\xa9"},
	/* sloppy-windows-1252 */
	{"CAF\xc3\x83\xe2\x80\xb0", 0, "CAF\xc3\x89"},
	/* doubled: fix_encoding's own loop */
	{"caf\xc3\x83\xc6\x92\xc3\x82\xc2\xa9", 0, "caf\xc3\xa9"},
	/* restore_byte_a0: the 0xA0 that became a space */
	{"voil\xc3\x83 le travail", 0, "voil\xc3\xa0 le travail"},
	/* restore_byte_a0's exception for Portuguese */
	{"\xc3\x83 s vezes", 0, "\xc3\xa0s vezes"},
	/* replace_lossy_sequences: U+FFFD for the lost byte */
	{"\xc3\xa2\xe2\x82\xac\xc5\x93 like this \xc3\xa2\xe2\x82\xac\xef\xbf\xbd", 0, "\" like this \xef\xbf\xbd"},
	/* a four-byte sequence, its C1 byte kept */
	{"\xc3\xb0\xc5\xb8\xcb\x9c\xc2\x8d", 0, "\xf0\x9f\x98\x8d"},
	/* utf-8-variants: CESU-8 */
	{"\xc3\xad\xc2\xa0\xc2\xbd\xc3\xad\xc2\xb8\xc2\x8d", 0, "\xf0\x9f\x98\x8d"},
	/* utf-8-variants reads a final newline as the last byte of a CESU-8 pair, as ftfy's codec does */
	{"\xc3\xad\xc2\xa0\xc2\xbd\xc3\xad\xc2\xb8\n", 0, "\xf0\x9f\x98\x8a"},
	/* utf-8-variants: Java's NUL, then removed */
	{"null\xc3\x80\xc2\x80!", 0, "null!"},
	/* decode_inconsistent_utf8: mixed with correct text */
	{"caf\xc3\x83\xc2\xa9 and caf\xc3\xa9", 0, "caf\xc3\xa9 and caf\xc3\xa9"},
	/* Latin-1 read as Windows-1252 */
	{"\xc2\x93quoted\xc2\x94", 0, "\"quoted\""},
	/* fix_c1_controls inside fix_encoding, the undefined 0x81 kept */
	{"\xc2\x80\xc2\x81", 0, "\xe2\x82\xac\xc2\x81"},
	/* not bad: left alone */
	{"\xc3\x83", 0, "\xc3\x83"},
	/* not bad enough: left alone */
	{"a photo of \xd0\xa0\xd1\x9a\xd0\xa0\xd1\x95\xd0\xa1\xd0\x83\xd0\xa0\xd1\x94\xd0\xa0\xd0\x86\xd0\xa0\xc2\xb0", 0,
	 "a photo of \xd0\xa0\xd1\x9a\xd0\xa0\xd1\x95\xd0\xa1\xd0\x83\xd0\xa0\xd1\x94\xd0\xa0\xd0\x86\xd0\xa0\xc2\xb0"},
};

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char got[256];
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		fix(cases[i].in, len, got, sizeof got);
		T_ASSERTF(strcmp(got, cases[i].out) == 0, "case %zu: '%s' gives '%s', want '%s'", i, cases[i].in, got,
			  cases[i].out);
	}
}

/* Every all-caps entity ftfy decodes, with CPython's str.upper() of its expansion. */
static void test_upper_entities(void)
{
	FILE *f = fopen("tests/unit/data/ftfy_upper_entities.tsv", "r");
	T_ASSERT(f != NULL);
	if (!f)
		return;
	char line[256];
	int rows = 0, bad = 0;
	char first[1024] = "";
	while (fgets(line, sizeof line, f)) {
		char *tab = strchr(line, '\t');
		if (!tab)
			continue;
		*tab = 0;
		char in[300], want[64], got[256];
		snprintf(in, sizeof in, "&%s", line);
		size_t w = 0;
		for (char *p = tab + 1; *p && *p != '\n';) {
			char *e;
			unsigned long cp = strtoul(p, &e, 16);
			w += (size_t)utf8proc_encode_char((utf8proc_int32_t)cp, (utf8proc_uint8_t *)want + w);
			p = *e == ' ' ? e + 1 : e;
		}
		want[w] = 0;
		fix(in, strlen(in), got, sizeof got);
		if (strcmp(got, want) != 0 && !bad++)
			snprintf(first, sizeof first, "%s -> '%s', want '%s'", in, got, want);
		rows++;
	}
	fclose(f);
	T_ASSERTF(rows > 1000, "only %d rows", rows);
	T_ASSERTF(bad == 0, "%d of %d differ; first: %s", bad, rows, first);
}

/* A long text of ligatures: the result is three times the input. */
static void test_growth(void)
{
	size_t n = 100000;
	char *in = xmalloc(3 * n + 1), *out = xmalloc(3 * n + 8);
	for (size_t i = 0; i < n; i++)
		memcpy(in + 3 * i, "\xef\xac\x83", 3);
	fix(in, 3 * n, out, 3 * n + 8);
	T_ASSERT(strlen(out) == 3 * n);
	T_ASSERT(strncmp(out, "ffiffi", 6) == 0);
	free(in);
	free(out);
}

int main(void)
{
	T_RUN(test_cases);
	T_RUN(test_upper_entities);
	T_RUN(test_growth);
	return t_summary();
}
