/* clip_ftfy.c — see clip_ftfy.h. Each step is one pass from one buffer into another, written from ftfy 6.3's
 * fixes.py and chardata.py (the step order, the tables and the "repeat until unchanged" loop of
 * fix_and_explain). */
#include "text/clip_ftfy.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "text/ftfy_encoding.h"
#include "text/ftfy_tables.h"
#include "text/html_unescape.h"

/* ftfy's max_decode_length: a segment without a line break is cut at this many code points. */
#define FTFY_MAX_SEGMENT 1000000

typedef struct cpbuf {
	uint32_t *p;
	size_t n, cap;
	int oom;
} cpbuf;

static void put(cpbuf *b, uint32_t c)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64;
		uint32_t *p = b->oom ? NULL : realloc(b->p, cap * sizeof *p);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	b->p[b->n++] = c;
}

static void put_n(cpbuf *b, const uint32_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(b, s[i]);
}

/* ---- unescape_html ---------------------------------------------------------------------------------- */

static int ascii_alnum(uint32_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Python's str.upper() of one code point: the simple mapping, except the full mappings of the characters
 * that all-caps entity names reach (SpecialCasing.txt: ß, ŉ and the ﬀ..ﬄ ligatures). */
static void put_upper(cpbuf *o, uint32_t c)
{
	static const struct {
		uint32_t c, up[3];
	} special[] = {
	    {0x00DF, {'S', 'S', 0}},   {0x0149, {0x02BC, 'N', 0}}, {0xFB00, {'F', 'F', 0}},
	    {0xFB01, {'F', 'I', 0}},   {0xFB02, {'F', 'L', 0}},    {0xFB03, {'F', 'F', 'I'}},
	    {0xFB04, {'F', 'F', 'L'}},
	};
	for (size_t i = 0; i < sizeof special / sizeof *special; i++)
		if (special[i].c == c) {
			for (int k = 0; k < 3 && special[i].up[k]; k++)
				put(o, special[i].up[k]);
			return;
		}
	put(o, (uint32_t)utf8proc_toupper((utf8proc_int32_t)c));
}

static void put_entity(cpbuf *o, const html_entity *e, int upper)
{
	for (int k = 0; k < 2 && e->cp[k]; k++) {
		if (upper)
			put_upper(o, e->cp[k]);
		else
			put(o, e->cp[k]);
	}
}

/* One match m[0..len) of &#?[0-9A-Za-z]{1,24}; (ftfy's _unescape_fixup). Returns 0 to keep it as it is. */
static int expand_reference(const uint32_t *m, size_t len, cpbuf *o)
{
	const html_entity *e = html_entity_find(m + 1, len - 1);
	if (e) { /* an HTML5 name with its ';' */
		put_entity(o, e, 0);
		return 1;
	}
	uint32_t tmp[32], low[32]; /* len <= 27 */
	size_t t = html_unescape(m, len, tmp);
	if (m[1] == '#') { /* a numeric reference, when html.unescape consumes it whole (its ';' too) */
		for (size_t i = 0; i < t; i++)
			if (tmp[i] == ';')
				return 0;
		put_n(o, tmp, t);
		return 1;
	}
	/* "&NAME;", the upper-cased form of an all-lower-case HTML5 name that html.unescape leaves alone */
	int has_upper = 0;
	for (size_t i = 1; i < len - 1; i++) {
		if (m[i] >= 'a' && m[i] <= 'z')
			return 0;
		has_upper |= m[i] >= 'A' && m[i] <= 'Z';
		low[i - 1] = m[i] >= 'A' && m[i] <= 'Z' ? m[i] + 32 : m[i];
	}
	low[len - 2] = ';';
	if (!has_upper || t != len || memcmp(tmp, m, len * sizeof *m) != 0)
		return 0;
	e = html_entity_find(low, len - 1);
	if (!e)
		return 0;
	put_entity(o, e, 1);
	return 1;
}

static void unescape_html(const uint32_t *s, size_t n, cpbuf *o)
{
	for (size_t i = 0; i < n;) {
		if (s[i] == '&') {
			size_t j = i + 1 + (i + 1 < n && s[i + 1] == '#'), r = 0;
			while (j + r < n && r <= 24 && ascii_alnum(s[j + r]))
				r++;
			if (r >= 1 && r <= 24 && j + r < n && s[j + r] == ';') {
				size_t end = j + r + 1;
				if (!expand_reference(s + i, end - i, o))
					put_n(o, s + i, end - i);
				i = end;
				continue;
			}
		}
		put(o, s[i++]);
	}
}

/* ---- the character-level fixers ---------------------------------------------------------------------- */

/* U+0080..U+009F decoded as Windows-1252, the unassigned five kept: the same table as html.unescape's
 * numeric references in that range. */
static void fix_c1_controls(const uint32_t *s, size_t n, cpbuf *o)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t c = s[i];
		if (c >= 0x80 && c <= 0x9F)
			for (size_t k = 0; k < html_invalid_charrefs_count; k++)
				if (html_invalid_charrefs[k].number == c) {
					c = html_invalid_charrefs[k].cp;
					break;
				}
		put(o, c);
	}
}

static void fix_latin_ligatures(const uint32_t *s, size_t n, cpbuf *o)
{
	static const struct {
		uint32_t c, to[3];
	} lig[] = {
	    {0x0132, {'I', 'J', 0}},      {0x0133, {'i', 'j', 0}},      {0x0149, {0x02BC, 'n', 0}},
	    {0x01F1, {'D', 'Z', 0}},      {0x01F2, {'D', 'z', 0}},      {0x01F3, {'d', 'z', 0}},
	    {0x01C4, {'D', 0x017D, 0}},   {0x01C5, {'D', 0x017E, 0}},   {0x01C6, {'d', 0x017E, 0}},
	    {0x01C7, {'L', 'J', 0}},      {0x01C8, {'L', 'j', 0}},      {0x01C9, {'l', 'j', 0}},
	    {0x01CA, {'N', 'J', 0}},      {0x01CB, {'N', 'j', 0}},      {0x01CC, {'n', 'j', 0}},
	    {0xFB00, {'f', 'f', 0}},      {0xFB01, {'f', 'i', 0}},      {0xFB02, {'f', 'l', 0}},
	    {0xFB03, {'f', 'f', 'i'}},    {0xFB04, {'f', 'f', 'l'}},    {0xFB05, {0x017F, 't', 0}},
	    {0xFB06, {'s', 't', 0}},
	};
	for (size_t i = 0; i < n; i++) {
		size_t k = 0, nl = sizeof lig / sizeof *lig;
		if (s[i] >= 0x0132)
			while (k < nl && lig[k].c != s[i])
				k++;
		else
			k = nl;
		if (k == nl) {
			put(o, s[i]);
			continue;
		}
		for (int q = 0; q < 3 && lig[k].to[q]; q++)
			put(o, lig[k].to[q]);
	}
}

/* NFKC of one code point (utf8proc), appended; returns 0 when it is the code point itself. */
static int put_nfkc(cpbuf *o, uint32_t c)
{
	utf8proc_uint8_t u[4];
	utf8proc_ssize_t k = utf8proc_encode_char((utf8proc_int32_t)c, u);
	utf8proc_uint8_t *d = NULL;
	utf8proc_ssize_t dn = utf8proc_map(u, k, &d, UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
	if (dn < 0) {
		o->oom |= dn == UTF8PROC_ERROR_NOMEM;
		return 0;
	}
	int same = dn == k && memcmp(d, u, (size_t)k) == 0;
	for (utf8proc_ssize_t p = 0; !same && p < dn;) {
		utf8proc_int32_t cp;
		p += utf8proc_iterate(d + p, dn - p, &cp);
		put(o, (uint32_t)cp);
	}
	free(d);
	return !same;
}

static void fix_character_width(const uint32_t *s, size_t n, cpbuf *o)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == 0x3000)
			put(o, ' ');
		else if (s[i] < 0xFF01 || s[i] > 0xFFEF || !put_nfkc(o, s[i]))
			put(o, s[i]);
	}
}

static void uncurl_quotes(const uint32_t *s, size_t n, cpbuf *o)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t c = s[i];
		put(o, c == 0x02BC || (c >= 0x2018 && c <= 0x201B) ? '\'' : c >= 0x201C && c <= 0x201F ? '"' : c);
	}
}

static void fix_line_breaks(const uint32_t *s, size_t n, cpbuf *o)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t c = s[i];
		if (c == '\r' && i + 1 < n && s[i + 1] == '\n')
			i++;
		put(o, c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x85 ? '\n' : c);
	}
}

/* ESC '[' then digits and ';' then one ASCII letter. */
static void remove_terminal_escapes(const uint32_t *s, size_t n, cpbuf *o)
{
	for (size_t i = 0; i < n;) {
		if (s[i] == 0x1B && i + 1 < n && s[i + 1] == '[') {
			size_t j = i + 2;
			while (j < n && ((s[j] >= '0' && s[j] <= '9') || s[j] == ';'))
				j++;
			if (j < n && ((s[j] | 0x20) >= 'a' && (s[j] | 0x20) <= 'z')) {
				i = j + 1;
				continue;
			}
		}
		put(o, s[i++]);
	}
}

static void remove_control_chars(const uint32_t *s, size_t n, cpbuf *o)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t c = s[i];
		int drop = c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F ||
			   (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
		if (!drop)
			put(o, c);
	}
}

/* Whether Python's unicodedata (Unicode 14 in Python 3.11) leaves c unassigned. */
static int python_unassigned(uint32_t c)
{
	return ftfy_in_ranges(ftfy_unassigned_ranges, ftfy_unassigned_ranges_count, c);
}

/* NFC (utf8proc) of s[0..n), appended. */
static void nfc_run(const uint32_t *s, size_t n, cpbuf *o)
{
	utf8proc_uint8_t *u = malloc(4 * n + 1), *d = NULL;
	if (!u) {
		o->oom = 1;
		return;
	}
	utf8proc_ssize_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += utf8proc_encode_char((utf8proc_int32_t)s[i], u + k);
	utf8proc_ssize_t dn = utf8proc_map(u, k, &d, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	free(u);
	if (dn < 0) { /* only out of memory: the input is valid code points */
		o->oom = 1;
		return;
	}
	for (utf8proc_ssize_t p = 0; p < dn;) {
		utf8proc_int32_t cp;
		p += utf8proc_iterate(d + p, dn - p, &cp);
		put(o, (uint32_t)cp);
	}
	free(d);
}

/* NFC as Python's unicodedata.normalize does it. Below U+0300 every character is its own NFC and none
 * combines with another, so text made only of those is left as it is. A code point Python does not know
 * is, to Python, a starter that composes with nothing, so nothing moves across it or combines with it:
 * the runs between such code points are normalised on their own and the code points kept — utf8proc,
 * with a newer Unicode, might otherwise reorder a new combining mark (U+11F41 KAWI SIGN KILLER, Unicode
 * 15) where Python does not. */
static void normalize_nfc(const uint32_t *s, size_t n, cpbuf *o)
{
	uint32_t top = 0;
	for (size_t i = 0; i < n; i++)
		top = s[i] > top ? s[i] : top;
	if (top < 0x300) {
		put_n(o, s, n);
		return;
	}
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && (s[i] < 0x300 || !python_unassigned(s[i])))
			continue;
		if (i > start)
			nfc_run(s + start, i - start, o);
		if (i < n)
			put(o, s[i]);
		start = i + 1;
	}
}

/* ftfy's fix_encoding (ftfy_encoding.h), the mojibake repair. */
static void fix_encoding(const uint32_t *s, size_t n, cpbuf *o)
{
	uint32_t *fixed;
	size_t fn;
	if (ftfy_fix_encoding(s, n, &fixed, &fn)) {
		o->oom = 1;
		return;
	}
	put_n(o, fixed, fn);
	free(fixed);
}

/* ---- fix_and_explain and fix_text -------------------------------------------------------------------- */

typedef void (*fixer)(const uint32_t *s, size_t n, cpbuf *o);

/* One segment, every step in ftfy's order until a round changes nothing; appended to out. */
static void fix_segment(const uint32_t *s, size_t n, int unescape, cpbuf *out)
{
	static const fixer steps[] = {fix_encoding,        fix_c1_controls,     fix_latin_ligatures,    fix_character_width,
				      uncurl_quotes,       fix_line_breaks,        remove_terminal_escapes,
				      remove_control_chars, normalize_nfc};
	cpbuf cur = {0}, next = {0};
	put_n(&cur, s, n);
	while (!cur.oom) {
		cpbuf start = {0};
		put_n(&start, cur.p, cur.n);
		if (unescape) {
			next.n = 0;
			unescape_html(cur.p, cur.n, &next);
			cpbuf t = cur;
			cur = next;
			next = t;
		}
		for (size_t k = 0; k < sizeof steps / sizeof *steps && !cur.oom && !next.oom; k++) {
			next.n = 0;
			steps[k](cur.p, cur.n, &next);
			cpbuf t = cur;
			cur = next;
			next = t;
		}
		int same = !start.oom && start.n == cur.n && (cur.n == 0 || memcmp(start.p, cur.p, cur.n * 4) == 0);
		cur.oom |= start.oom | next.oom;
		free(start.p);
		if (same)
			break;
	}
	put_n(out, cur.p, cur.n);
	out->oom |= cur.oom;
	free(cur.p);
	free(next.p);
}

int clip_ftfy_fix_text(const uint32_t *s, size_t n, uint32_t **out, size_t *out_n)
{
	cpbuf o = {0};
	int unescape = 1; /* "auto": off from the first segment holding a '<' on */
	for (size_t pos = 0; pos < n && !o.oom;) {
		size_t end = pos;
		while (end < n && s[end] != '\n')
			end++;
		end = end < n ? end + 1 : n;
		if (end - pos > FTFY_MAX_SEGMENT)
			end = pos + FTFY_MAX_SEGMENT;
		for (size_t i = pos; i < end && unescape; i++)
			unescape = s[i] != '<';
		fix_segment(s + pos, end - pos, unescape, &o);
		pos = end;
	}
	put(&o, 0); /* never an empty allocation */
	if (o.oom) {
		free(o.p);
		*out = NULL;
		*out_n = 0;
		return -1;
	}
	*out = o.p;
	*out_n = o.n - 1;
	return 0;
}
