/* clip_tokenizer.c — see clip_tokenizer.h. A transcription of OpenAI's clip/simple_tokenizer.py whose
 * every step follows the Python semantics, including the corners where Python, its `regex` module and
 * utf8proc disagree:
 *
 * - ftfy.fix_text (clip_ftfy.h): every step of ftfy 6.3's default configuration (HTML entities, the
 *   mojibake repair fix_encoding — "cafÃ©" becomes "café" —, C1 controls, ligatures, character width,
 *   curly quotes, line breaks, terminal escapes, control characters, NFC), checked against PyPI's ftfy
 *   6.3.1 on 120,000 strings by tests/cli/ftfy_corpus.sh.
 * - html.unescape (CPython's, applied twice; html_unescape.h). One difference: CPython (3.11+) raises
 *   ValueError for a decimal reference of more than 4,300 digits; here it is a number too large (U+FFFD).
 * - White space: str.strip() strips str.isspace() characters, which include U+001C..U+001F; the `regex`
 *   module's \s (in whitespace_clean's \s+ and in the split pattern) is Unicode White_Space, which does
 *   not. So "a\x1fb" keeps its U+001F (a piece of its own) while a leading or trailing one is stripped.
 *   Both sets are the same in every Unicode version since 6.3 and are written out below.
 * - str.lower(): utf8proc_tolower is the simple mapping; Python applies the full one, which differs only
 *   for U+0130 (-> "i̇", two code points), and applies Final_Sigma: Σ lowercases to ς at the end of a
 *   word (after a cased letter, not before one, skipping case-ignorable characters), σ elsewhere.
 *   Cased and Case_Ignorable are derived from the general category plus the short lists below (checked
 *   against CPython for every code point).
 * - The split pattern is compiled with re.IGNORECASE, which in the `regex` module (1) lets the literal
 *   's' match U+017F ſ (its case variant), so "'ſ" is a contraction and "<|ſtartoftext|>" a special
 *   piece (that is then BPE-encoded, not mapped to SOT); (2) makes U+0345 (combining ypogegrammeni, a
 *   case variant of the letter ι) match none of the alternatives, so it is dropped like white space.
 * - Letters and numbers: \p{L} = Lu Ll Lt Lm Lo, \p{N} = Nd Nl No from utf8proc's tables (Unicode 15
 *   for Debian 12's utf8proc 2.8); characters assigned after the Unicode version of the reference
 *   Python's `regex` module may be classified differently there.
 *
 * BPE: simple_tokenizer.bpe() repeatedly takes the lowest-ranked pair present and merges all its
 * occurrences left to right. Here the pairs are in a heap ordered by (rank, position); all entries of the
 * lowest rank are merged left to right (stale entries skipped) before the pairs they create are added, so
 * the result is the same for any merges file, in O(n log n) rather than O(n^2) for a long piece. Symbols
 * are vocabulary ids, so a merge is one hash lookup of the id pair. */
#include "text/clip_tokenizer.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utf8proc.h>

#include "base/errors.h"
#include "text/clip_ftfy.h"
#include "text/html_unescape.h"

#ifndef LFM_DATADIR
#define LFM_DATADIR "/usr/local/share/lfm"
#endif

/* ---- the tokenizer --------------------------------------------------------------------------------- */

/* A merge: ids are below CLIP_VOCAB < 2^16, so a slot packs into 8 bytes (the table, 1 MiB, stays in
 * cache while tokenizing). */
typedef struct pair_slot {
	uint32_t key;          /* (left id << 16) | right id; PAIR_EMPTY when free */
	uint16_t rank, merged; /* the merge's line (rank) and the id of the merged symbol */
} pair_slot;
#define PAIR_EMPTY UINT32_MAX

struct clip_tokenizer {
	char *path;
	int32_t vocab_size, sot, eot;
	int32_t byte_sym[256];     /* id of the byte's character: the initial BPE symbol */
	int32_t byte_sym_end[256]; /* id of the byte's character + "</w>": the last symbol of a piece */
	int16_t byte_decoder[324]; /* character (< 324) of the byte-to-unicode map -> byte, -1 if none */
	char *strings;             /* the vocabulary's strings (as in the merges file: mapped characters) */
	uint32_t *string_off;      /* id -> offset in strings; vocab_size + 1 entries */
	pair_slot *pairs;          /* the merges: open addressing, linear probing */
	uint32_t pair_mask;
	int pair_shift;
};

/* bytes_to_unicode(): printable Latin-1 bytes map to themselves, the other 68 to U+0100 upward, in byte
 * order; the vocabulary lists the bytes in the order printable-first (bs in the Python). */
static void byte_map(uint32_t byte_char[256], uint8_t order[256])
{
	int n = 0, extra = 0;
	for (int b = 0; b < 256; b++) {
		int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
		if (printable) {
			byte_char[b] = (uint32_t)b;
			order[n++] = (uint8_t)b;
		}
	}
	for (int b = 0; b < 256; b++) {
		int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
		if (!printable) {
			byte_char[b] = 256u + (uint32_t)extra++;
			order[n++] = (uint8_t)b;
		}
	}
}

static size_t put_utf8(char *out, uint32_t cp)
{
	unsigned char *o = (unsigned char *)out;
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xC0 | (cp >> 6));
		o[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xE0 | (cp >> 12));
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (unsigned char)(0xF0 | (cp >> 18));
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Strict UTF-8 (no overlong forms, surrogates or values past U+10FFFF): decodes the sequence at s[0..avail)
 * into *cp and returns its length, or 0 when it is invalid. */
static size_t get_utf8(const unsigned char *s, size_t avail, uint32_t *cp)
{
	unsigned c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	size_t n;
	uint32_t v, min;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2, v = c & 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3, v = c & 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[k] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return n;
}

/* str.isspace(): bidirectional class WS, B or S, or category Zs. */
static int py_isspace(uint32_t c)
{
	if (c < 0x80)
		return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
	return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
	       c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* The `regex` module's \s: the White_Space property (str.isspace() without U+001C..U+001F). */
static int re_space(uint32_t c) { return py_isspace(c) && !(c >= 0x1C && c <= 0x1F); }

static int is_letter(uint32_t c)
{
	if (c < 0x80)
		return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
	utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
	return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}

static int is_number(uint32_t c)
{
	if (c < 0x80)
		return c >= '0' && c <= '9';
	utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
	return k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO;
}

/* Case_Ignorable: Mn Me Cf Lm Sk, and Word_Break MidLetter / MidNumLet / Single_Quote. */
static int case_ignorable(uint32_t c)
{
	static const uint32_t word_break_mid[] = {0x27,   0x2E,   0x3A,   0xB7,   0x387,  0x55F,
						  0x5F4,  0x2018, 0x2019, 0x2024, 0x2027, 0xFE13,
						  0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A};
	for (size_t i = 0; i < sizeof word_break_mid / sizeof word_break_mid[0]; i++)
		if (c == word_break_mid[i])
			return 1;
	utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
	return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_ME || k == UTF8PROC_CATEGORY_CF ||
	       k == UTF8PROC_CATEGORY_LM || k == UTF8PROC_CATEGORY_SK;
}

/* Cased: Lu Ll Lt, and the Other_Lowercase / Other_Uppercase characters that are not case-ignorable
 * (ª º, the Roman numerals, circled and squared letters); the others never reach this test. */
static int cased(uint32_t c)
{
	static const uint32_t other_cased[][2] = {{0xAA, 0xAA},       {0xBA, 0xBA},       {0x2160, 0x217F},
						  {0x24B6, 0x24E9},   {0x1F130, 0x1F149}, {0x1F150, 0x1F169},
						  {0x1F170, 0x1F189}};
	for (size_t i = 0; i < sizeof other_cased / sizeof other_cased[0]; i++)
		if (c >= other_cased[i][0] && c <= other_cased[i][1])
			return 1;
	utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
	return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT;
}

/* CPython's handle_capital_sigma: Σ at s[i] is final when preceded by a cased letter and not followed
 * by one, case-ignorable characters skipped both ways. */
static int final_sigma(const uint32_t *s, size_t n, size_t i)
{
	size_t j = i;
	while (j > 0 && case_ignorable(s[j - 1]))
		j--;
	if (j == 0 || !cased(s[j - 1]))
		return 0;
	j = i + 1;
	while (j < n && case_ignorable(s[j]))
		j++;
	return j == n || !cased(s[j]);
}

/* str.lower() of s[0..n) into out (room for 2n): returns the length. */
static size_t py_lower(const uint32_t *s, size_t n, uint32_t *out)
{
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = s[i];
		if (c < 0x80) {
			out[m++] = c >= 'A' && c <= 'Z' ? c + 32 : c;
		} else if (c == 0x130) { /* SpecialCasing: İ -> i + combining dot above */
			out[m++] = 'i';
			out[m++] = 0x307;
		} else if (c == 0x3A3) {
			out[m++] = final_sigma(s, n, i) ? 0x3C2 : 0x3C3;
		} else {
			out[m++] = (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
		}
	}
	return m;
}

/* ---- BPE ---------------------------------------------------------------------------------------------- */

static inline uint32_t pair_key(int32_t a, int32_t b) { return ((uint32_t)a << 16) | (uint32_t)b; }

static inline uint32_t pair_hash(const clip_tokenizer *t, uint32_t key)
{
	return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> t->pair_shift);
}

static const pair_slot *pair_find(const clip_tokenizer *t, int32_t a, int32_t b)
{
	uint32_t key = pair_key(a, b);
	for (uint32_t h = pair_hash(t, key);; h = (h + 1) & t->pair_mask) {
		const pair_slot *s = &t->pairs[h];
		if (s->key == key)
			return s;
		if (s->key == PAIR_EMPTY)
			return NULL;
	}
}

typedef struct heap_entry {
	int32_t rank, left; /* ordered by rank, then position */
	int32_t a, b;       /* the symbols when pushed: the entry is stale once they changed */
} heap_entry;

static inline int heap_less(const heap_entry *x, const heap_entry *y)
{
	return x->rank < y->rank || (x->rank == y->rank && x->left < y->left);
}

static void heap_push(heap_entry *h, size_t *n, heap_entry e)
{
	size_t i = (*n)++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!heap_less(&e, &h[parent]))
			break;
		h[i] = h[parent];
		i = parent;
	}
	h[i] = e;
}

static heap_entry heap_pop(heap_entry *h, size_t *n)
{
	heap_entry top = h[0], last = h[--*n];
	size_t i = 0, size = *n;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= size)
			break;
		if (c + 1 < size && heap_less(&h[c + 1], &h[c]))
			c++;
		if (!heap_less(&h[c], &last))
			break;
		h[i] = h[c];
		i = c;
	}
	if (size)
		h[i] = last;
	return top;
}

/* Per-call working memory for the BPE of one piece, grown to the longest piece. */
typedef struct bpe_work {
	size_t cap;
	int32_t *sym, *next, *prev, *touched;
	heap_entry *heap;
} bpe_work;

static int bpe_reserve(bpe_work *w, size_t n)
{
	if (n <= w->cap)
		return 0;
	size_t cap = n < 64 ? 64 : n;
	int32_t *p = realloc(w->sym, cap * 4 * sizeof(int32_t));
	if (!p)
		return -1;
	w->sym = p, w->next = p + cap, w->prev = p + 2 * cap, w->touched = p + 3 * cap;
	heap_entry *h = realloc(w->heap, 3 * cap * sizeof *h); /* n-1 pairs + at most 2 per merge */
	if (!h)
		return -1;
	w->heap = h;
	w->cap = cap;
	return 0;
}

static void bpe_push_pair(const clip_tokenizer *t, bpe_work *w, size_t *nheap, int32_t left)
{
	int32_t right = w->next[left];
	if (right < 0)
		return;
	const pair_slot *p = pair_find(t, w->sym[left], w->sym[right]);
	if (p)
		heap_push(w->heap, nheap, (heap_entry){p->rank, left, w->sym[left], w->sym[right]});
}

/* The ids of one piece (its bytes b[0..n), n >= 1) appended to out[*count..cap); sets *full when they did
 * not all fit. */
static int bpe_piece(const clip_tokenizer *t, bpe_work *w, const unsigned char *b, size_t n, int32_t *out,
		     int *count, int cap, int *full)
{
	if (bpe_reserve(w, n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		w->sym[i] = i + 1 < n ? t->byte_sym[b[i]] : t->byte_sym_end[b[i]];
		w->next[i] = i + 1 < n ? (int32_t)(i + 1) : -1;
		w->prev[i] = (int32_t)i - 1;
	}
	size_t nheap = 0;
	for (size_t i = 0; i + 1 < n; i++)
		bpe_push_pair(t, w, &nheap, (int32_t)i);
	while (nheap) {
		/* All occurrences of the lowest-ranked pair, left to right; then the pairs they made. */
		int32_t rank = w->heap[0].rank;
		size_t ntouched = 0;
		while (nheap && w->heap[0].rank == rank) {
			heap_entry e = heap_pop(w->heap, &nheap);
			int32_t l = e.left, r = w->next[l];
			if (w->sym[l] != e.a || r < 0 || w->sym[r] != e.b || w->prev[l] == -2)
				continue; /* stale: a symbol was merged since */
			const pair_slot *p = pair_find(t, e.a, e.b);
			w->sym[l] = p->merged;
			w->next[l] = w->next[r];
			if (w->next[r] >= 0)
				w->prev[w->next[r]] = l;
			w->prev[r] = -2; /* dead */
			w->sym[r] = -1;
			w->touched[ntouched++] = l;
		}
		for (size_t k = 0; k < ntouched; k++) {
			int32_t l = w->touched[k];
			if (w->prev[l] >= 0)
				bpe_push_pair(t, w, &nheap, w->prev[l]);
			bpe_push_pair(t, w, &nheap, l);
		}
	}
	for (int32_t i = 0; i >= 0; i = w->next[i]) {
		if (*count >= cap) {
			*full = 1;
			break;
		}
		out[(*count)++] = w->sym[i];
	}
	return 0;
}

/* ---- the split pattern ---------------------------------------------------------------------------------- */

/* Does s[i..n) start with lit? 's' also matches ſ (U+017F): the pattern is case-insensitive. */
static size_t match_literal(const uint32_t *s, size_t n, size_t i, const char *lit)
{
	size_t k = 0;
	for (; lit[k]; k++) {
		if (i + k >= n)
			return 0;
		uint32_t c = s[i + k];
		if (c != (unsigned char)lit[k] && !(lit[k] == 's' && c == 0x17F))
			return 0;
	}
	return k;
}

/* Length of the piece of the pattern that starts at s[i], or 0 when none does (white space, U+0345). */
static size_t match_piece(const uint32_t *s, size_t n, size_t i)
{
	static const char *const specials[] = {"<|startoftext|>", "<|endoftext|>"};
	static const char *const contractions[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
	uint32_t c = s[i];
	size_t len;
	if (c == '<')
		for (size_t k = 0; k < 2; k++)
			if ((len = match_literal(s, n, i, specials[k])))
				return len;
	if (c == '\'')
		for (size_t k = 0; k < sizeof contractions / sizeof contractions[0]; k++)
			if ((len = match_literal(s, n, i, contractions[k])))
				return len;
	if (is_letter(c)) {
		len = 1;
		while (i + len < n && is_letter(s[i + len]))
			len++;
		return len;
	}
	if (is_number(c))
		return 1;
	len = 0;
	while (i + len < n && !re_space(s[i + len]) && s[i + len] != 0x345 && !is_letter(s[i + len]) &&
	       !is_number(s[i + len]))
		len++;
	return len;
}

/* ---- clip_tokenize ------------------------------------------------------------------------------------- */

int clip_tokenize(const clip_tokenizer *t, const char *text, size_t len, int32_t *out, int context, char *err,
		  size_t errsz)
{
	if (context < 1) {
		(void)err_set(err, errsz, "context %d: must be at least 1", context);
		return -1;
	}
	if (len > (size_t)INT32_MAX / 8) {
		(void)err_set(err, errsz, "text of %zu bytes: too long", len);
		return -1;
	}
	/* Two text buffers of len code points (decoding and unescaping never lengthen the text) and one of
	 * 2*len for the lower-cased text (U+0130 becomes two code points). */
	size_t cap = len ? len : 1;
	uint32_t *buf = malloc(cap * 4 * sizeof *buf);
	if (!buf) {
		(void)err_set(err, errsz, "out of memory for a text of %zu bytes", len);
		return -1;
	}
	uint32_t *a = buf, *b = buf + cap, *low = buf + 2 * cap;
	unsigned char *piece = NULL; /* the UTF-8 of one piece */
	int ret = -1;
	bpe_work w = {0};

	const unsigned char *u = (const unsigned char *)text;
	size_t n = 0, amp = 0;
	for (size_t pos = 0; pos < len;) {
		size_t k = get_utf8(u + pos, len - pos, &a[n]);
		if (!k) {
			(void)err_set(err, errsz, "invalid UTF-8 at byte %zu", pos);
			goto done;
		}
		n++;
		pos += k;
	}
	/* basic_clean: html.unescape(html.unescape(ftfy.fix_text(text))).strip(). ftfy may lengthen the text
	 * (ﬃ -> ffi), so the buffers grow to its result. */
	uint32_t *fixed;
	size_t fn;
	if (clip_ftfy_fix_text(a, n, &fixed, &fn)) {
		(void)err_set(err, errsz, "out of memory for a text of %zu bytes", len);
		goto done;
	}
	if (fn > cap) {
		uint32_t *grown = realloc(buf, fn * 4 * sizeof *buf);
		if (!grown) {
			free(fixed);
			(void)err_set(err, errsz, "out of memory for a text of %zu bytes", len);
			goto done;
		}
		buf = grown;
		cap = fn;
		a = buf;
		b = buf + cap;
		low = buf + 2 * cap;
	}
	memcpy(a, fixed, fn * sizeof *a);
	free(fixed);
	n = fn;
	for (size_t i = 0; i < n && !amp; i++)
		amp = a[i] == '&';
	if (amp) {
		n = html_unescape(a, n, b);
		n = html_unescape(b, n, a);
	}
	size_t start = 0;
	while (start < n && py_isspace(a[start]))
		start++;
	while (n > start && py_isspace(a[n - 1]))
		n--;
	/* whitespace_clean: re.sub(r'\s+', ' ', text).strip() */
	size_t m = 0;
	for (size_t i = start; i < n;) {
		if (re_space(a[i])) {
			while (i < n && re_space(a[i]))
				i++;
			b[m++] = ' ';
		} else {
			b[m++] = a[i++];
		}
	}
	start = 0;
	while (start < m && py_isspace(b[start]))
		start++;
	while (m > start && py_isspace(b[m - 1]))
		m--;
	n = py_lower(b + start, m - start, low);
	piece = malloc(4 * n + 1);
	if (!piece) {
		(void)err_set(err, errsz, "out of memory for a text of %zu bytes", len);
		goto done;
	}

	out[0] = t->sot;
	int count = 1, full = 0;
	for (size_t i = 0; i < n && !full;) {
		size_t plen = match_piece(low, n, i);
		if (!plen) {
			i++;
			continue;
		}
		size_t nb = 0;
		for (size_t k = 0; k < plen; k++)
			nb += put_utf8((char *)piece + nb, low[i + k]);
		if ((nb == 15 && memcmp(piece, "<|startoftext|>", 15) == 0) ||
		    (nb == 13 && memcmp(piece, "<|endoftext|>", 13) == 0)) {
			/* simple_tokenizer's cache holds these two as single symbols. */
			if (count < context)
				out[count++] = nb == 15 ? t->sot : t->eot;
			else
				full = 1;
		} else if (bpe_piece(t, &w, piece, nb, out, &count, context, &full) != 0) {
			(void)err_set(err, errsz, "out of memory");
			goto done;
		}
		i += plen;
	}
	/* clip.tokenize(truncate=True): [SOT] + ids + [EOT], cut to the context with EOT kept last. */
	if (full || count + 1 > context) {
		out[context - 1] = t->eot;
		ret = context;
	} else {
		out[count] = t->eot;
		ret = count + 1;
	}
done:
	free(w.sym);
	free(w.heap);
	free(buf);
	free(piece);
	return ret;
}

/* ---- clip_detokenize ----------------------------------------------------------------------------------- */

char *clip_detokenize(const clip_tokenizer *t, const int32_t *ids, size_t n, char *err, size_t errsz)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		if (ids[i] < 0 || ids[i] >= t->vocab_size) {
			(void)err_set(err, errsz, "token %zu: id %ld outside the vocabulary (0..%d)", i, (long)ids[i],
				t->vocab_size - 1);
			return NULL;
		}
		total += t->string_off[ids[i] + 1] - t->string_off[ids[i]];
	}
	/* Bytes first (a vocabulary string has at most as many bytes as UTF-8 characters), then the
	 * decoded text, where each invalid byte grows to at most 3 bytes (U+FFFD). */
	unsigned char *bytes = malloc(total + 1);
	char *text = malloc(3 * total + 1);
	if (!bytes || !text) {
		free(bytes);
		free(text);
		(void)err_set(err, errsz, "out of memory");
		return NULL;
	}
	size_t nb = 0;
	for (size_t i = 0; i < n; i++) {
		const unsigned char *s = (const unsigned char *)t->strings + t->string_off[ids[i]];
		size_t slen = t->string_off[ids[i] + 1] - t->string_off[ids[i]];
		for (size_t k = 0; k < slen;) {
			uint32_t cp = 0;
			size_t step = get_utf8(s + k, slen - k, &cp); /* checked valid when loaded */
			k += step ? step : 1;
			if (cp >= sizeof t->byte_decoder / sizeof t->byte_decoder[0] || t->byte_decoder[cp] < 0) {
				free(bytes);
				free(text);
				(void)err_set(err, errsz, "token %zu (id %ld): character U+%04X is not a byte's", i,
					(long)ids[i], (unsigned)cp);
				return NULL;
			}
			bytes[nb++] = (unsigned char)t->byte_decoder[cp];
		}
	}
	/* bytearray.decode('utf-8', errors='replace'): one U+FFFD per maximal invalid subsequence. */
	size_t m = 0;
	for (size_t i = 0; i < nb;) {
		uint32_t cp;
		size_t k = get_utf8(bytes + i, nb - i, &cp);
		if (k) {
			memcpy(text + m, bytes + i, k);
			m += k, i += k;
			continue;
		}
		unsigned c = bytes[i];
		size_t want = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 1;
		size_t used = 1;
		while (used < want && i + used < nb) {
			unsigned d = bytes[i + used];
			unsigned lo = 0x80, hi = 0xBF;
			if (used == 1 && c == 0xE0)
				lo = 0xA0;
			else if (used == 1 && c == 0xED)
				hi = 0x9F;
			else if (used == 1 && c == 0xF0)
				lo = 0x90;
			else if (used == 1 && c == 0xF4)
				hi = 0x8F;
			if (d < lo || d > hi)
				break;
			used++;
		}
		m += put_utf8(text + m, 0xFFFD);
		i += used;
	}
	text[m] = 0;
	free(bytes);
	/* .replace('</w>', ' ') */
	size_t o = 0;
	for (size_t i = 0; i < m;) {
		if (i + 4 <= m && memcmp(text + i, "</w>", 4) == 0) {
			text[o++] = ' ';
			i += 4;
		} else {
			text[o++] = text[i++];
		}
	}
	text[o] = 0;
	return text;
}

/* ---- loading ---------------------------------------------------------------------------------------- */

/* Reads the file (through gzip when it is compressed) until it holds `lines` complete lines or ends.
 * Only the merges the vocabulary uses are read: about a fifth of the file. */
static char *read_lines(const char *path, size_t lines, size_t *len, char *err, size_t errsz)
{
	struct archive *ar = archive_read_new();
	if (!ar) {
		(void)err_set(err, errsz, "%s: out of memory", path);
		return NULL;
	}
	char *buf = NULL;
	archive_read_support_filter_gzip(ar);
	archive_read_support_format_raw(ar);
	struct archive_entry *entry;
	if (archive_read_open_filename(ar, path, 1 << 16) != ARCHIVE_OK ||
	    archive_read_next_header(ar, &entry) != ARCHIVE_OK) {
		(void)err_set(err, errsz, "%s: %s", path,
			archive_error_string(ar) ? archive_error_string(ar) : "cannot read (empty?)");
		goto fail;
	}
	size_t cap = 1 << 20, n = 0, seen = 0;
	buf = malloc(cap + 1);
	if (!buf) {
		(void)err_set(err, errsz, "%s: out of memory", path);
		goto fail;
	}
	while (seen < lines) {
		if (n == cap) {
			char *p = cap > SIZE_MAX / 4 ? NULL : realloc(buf, 2 * cap + 1);
			if (!p) {
				(void)err_set(err, errsz, "%s: out of memory", path);
				goto fail;
			}
			buf = p, cap *= 2;
		}
		la_ssize_t got = archive_read_data(ar, buf + n, cap - n);
		if (got < 0) {
			(void)err_set(err, errsz, "%s: %s", path, archive_error_string(ar));
			goto fail;
		}
		if (got == 0)
			break;
		for (char *p = buf + n; (p = memchr(p, '\n', (size_t)(buf + n + got - p))); p++)
			if (++seen == lines) {
				n = (size_t)(p - buf) + 1;
				got = 0;
				break;
			}
		n += (size_t)got;
	}
	archive_read_free(ar);
	buf[n] = 0;
	*len = n;
	return buf;
fail:
	archive_read_free(ar);
	free(buf);
	return NULL;
}

/* The vocabulary's strings by content -> id, last one wins (Python's dict(zip(vocab, range(...)))). */
typedef struct string_map {
	int32_t *slot;
	uint64_t mask;
	const char *strings;
	const uint32_t *off;
} string_map;

static uint64_t string_hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static int32_t *string_slot(string_map *m, const char *s, size_t n)
{
	for (uint64_t h = string_hash(s, n) & m->mask;; h = (h + 1) & m->mask) {
		int32_t id = m->slot[h];
		if (id < 0)
			return &m->slot[h];
		size_t idlen = m->off[id + 1] - m->off[id];
		if (idlen == n && memcmp(m->strings + m->off[id], s, n) == 0)
			return &m->slot[h];
	}
}

static int32_t string_find(string_map *m, const char *s, size_t n) { return *string_slot(m, s, n); }

/* ''.join(line.split()) of a merges line into out (str.split() splits on str.isspace() characters).
 * Returns the joined length; *parts receives the number of parts and *split the length of the first. */
static size_t join_line(const char *s, size_t n, char *out, int *parts, size_t *split)
{
	size_t m = 0;
	int count = 0, in_part = 0;
	*split = 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp = (unsigned char)s[i];
		size_t k = cp < 0x80 ? 1 : get_utf8((const unsigned char *)s + i, n - i, &cp); /* valid: checked */
		if (py_isspace(cp)) {
			in_part = 0;
		} else {
			if (!in_part && count++ == 1)
				*split = m;
			in_part = 1;
			memcpy(out + m, s + i, k);
			m += k;
		}
		i += k;
	}
	*parts = count;
	return m;
}

static clip_tokenizer *load_file(const char *path, char *err, size_t errsz)
{
	size_t len;
	char *text = read_lines(path, 1 + CLIP_MERGES, &len, err, errsz);
	if (!text)
		return NULL;
	clip_tokenizer *t = calloc(1, sizeof *t);
	string_map map = {0};
	const char **line = malloc((CLIP_MERGES + 1) * sizeof *line);
	size_t *line_len = malloc((CLIP_MERGES + 1) * sizeof *line_len);
	int32_t *split = malloc(CLIP_MERGES * sizeof *split); /* length of a merge's first part; -1: not a pair */
	if (!t || !line || !line_len || !split)
		goto oom;
	for (size_t pos = 0; pos < len;) {
		uint32_t cp;
		size_t k = (unsigned char)text[pos] < 0x80 ? 1 : get_utf8((const unsigned char *)text + pos, len - pos, &cp);
		if (!k) {
			(void)err_set(err, errsz, "%s: invalid UTF-8 at byte %zu of the text", path, pos);
			goto fail;
		}
		pos += k;
	}
	/* merges = lines[1:48895], the first line being "#version: 0.2" */
	size_t nlines = 0;
	for (char *p = text; nlines < CLIP_MERGES + 1 && p <= text + len;) {
		char *nl = memchr(p, '\n', (size_t)(text + len - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
		if (!nl && l == 0)
			break;
		line[nlines] = p, line_len[nlines++] = l;
		if (!nl)
			break;
		p = nl + 1;
	}
	if (nlines < CLIP_MERGES + 1) {
		(void)err_set(err, errsz, "%s: %zu merges, expected %d (is it CLIP's bpe_simple_vocab_16e6.txt.gz?)",
			path, nlines ? nlines - 1 : 0, CLIP_MERGES);
		goto fail;
	}
	t->vocab_size = 512 + CLIP_MERGES + 2;
	t->sot = CLIP_SOT, t->eot = CLIP_EOT;
	t->string_off = malloc(((size_t)t->vocab_size + 1) * sizeof *t->string_off);
	t->strings = malloc(256 * 2 * 2 + 256 * 2 * 4 + (len + 1) + 32);
	if (!t->string_off || !t->strings)
		goto oom;

	/* vocab = bytes, bytes + "</w>", the merges joined, the two specials. */
	uint32_t byte_char[256];
	uint8_t order[256];
	byte_map(byte_char, order);
	memset(t->byte_decoder, 0xFF, sizeof t->byte_decoder);
	size_t used = 0;
	int32_t id = 0;
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < 256; i++) {
			t->string_off[id++] = (uint32_t)used;
			used += put_utf8(t->strings + used, byte_char[order[i]]);
			if (pass) {
				memcpy(t->strings + used, "</w>", 4);
				used += 4;
			} else {
				t->byte_decoder[byte_char[order[i]]] = order[i];
			}
		}
	for (size_t r = 0; r < CLIP_MERGES; r++) {
		int parts;
		size_t first;
		t->string_off[id++] = (uint32_t)used;
		used += join_line(line[r + 1], line_len[r + 1], t->strings + used, &parts, &first);
		split[r] = parts == 2 ? (int32_t)first : -1;
	}
	t->string_off[id++] = (uint32_t)used;
	memcpy(t->strings + used, "<|startoftext|>", 15);
	used += 15;
	t->string_off[id++] = (uint32_t)used;
	memcpy(t->strings + used, "<|endoftext|>", 13);
	used += 13;
	t->string_off[id] = (uint32_t)used;

	map.mask = (1u << 17) - 1; /* 131,072 slots for 49,408 strings */
	map.slot = malloc((map.mask + 1) * sizeof *map.slot);
	map.strings = t->strings, map.off = t->string_off;
	t->pair_shift = 64 - 17;
	t->pair_mask = (1u << 17) - 1;
	t->pairs = malloc((t->pair_mask + 1) * sizeof *t->pairs);
	if (!map.slot || !t->pairs)
		goto oom;
	memset(map.slot, 0xFF, (map.mask + 1) * sizeof *map.slot);
	int repeated = 0; /* a string twice in the vocabulary: never in CLIP's file, but Python's dict allows it */
	for (int32_t i = 0; i < t->vocab_size; i++) {
		int32_t *slot = string_slot(&map, t->strings + t->string_off[i], t->string_off[i + 1] - t->string_off[i]);
		repeated |= *slot >= 0;
		*slot = i;
	}
	for (int b = 0; b < 256; b++) {
		char s[8];
		size_t k = put_utf8(s, byte_char[b]);
		t->byte_sym[b] = string_find(&map, s, k);
		memcpy(s + k, "</w>", 4);
		t->byte_sym_end[b] = string_find(&map, s, k + 4);
	}
	t->sot = string_find(&map, "<|startoftext|>", 15);
	t->eot = string_find(&map, "<|endoftext|>", 13);

	/* bpe_ranks = dict(zip(merges, range(len(merges)))): a repeated pair keeps its last rank. */
	for (size_t i = 0; i <= t->pair_mask; i++)
		t->pairs[i].key = PAIR_EMPTY;
	for (size_t r = 0; r < CLIP_MERGES; r++) {
		if (split[r] < 0)
			continue; /* not a pair: can never match one */
		int32_t self = 512 + (int32_t)r;
		const char *str = t->strings + t->string_off[self];
		size_t slen = t->string_off[self + 1] - t->string_off[self], alen = (size_t)split[r];
		int32_t a = string_find(&map, str, alen), b = string_find(&map, str + alen, slen - alen);
		if (a < 0 || b < 0)
			continue; /* a symbol outside the vocabulary never occurs in a word */
		int32_t merged = repeated ? string_find(&map, str, slen) : self;
		uint32_t key = pair_key(a, b);
		uint32_t h = pair_hash(t, key);
		while (t->pairs[h].key != PAIR_EMPTY && t->pairs[h].key != key)
			h = (h + 1) & t->pair_mask;
		t->pairs[h] = (pair_slot){key, (uint16_t)r, (uint16_t)merged};
	}
	t->path = strdup(path);
	if (!t->path)
		goto oom;
	free(map.slot);
	free(line);
	free(line_len);
	free(split);
	free(text);
	return t;
oom:
	(void)err_set(err, errsz, "%s: out of memory", path);
fail:
	free(map.slot);
	free(line);
	free(line_len);
	free(split);
	free(text);
	clip_tokenizer_free(t);
	return NULL;
}

clip_tokenizer *clip_tokenizer_load(const char *bpe_path, char *err, size_t errsz)
{
	if (bpe_path)
		return load_file(bpe_path, err, errsz);
	/* The folders to search, as (base, suffix) pairs. */
	const char *base[4], *suffix[4];
	int ndirs = 0;
	const char *env = getenv("LFM_DATADIR");
	if (env && *env)
		base[ndirs] = env, suffix[ndirs++] = "/clip";
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	char *slash = n > 0 ? (exe[n] = 0, strrchr(exe, '/')) : NULL;
	if (slash) {
		*slash = 0;
		base[ndirs] = exe, suffix[ndirs++] = "/../share/lfm/clip";
		base[ndirs] = exe, suffix[ndirs++] = "/../data/clip";
	}
	base[ndirs] = LFM_DATADIR, suffix[ndirs++] = "/clip";
	char tried[1024] = "";
	size_t tlen = 0;
	for (int i = 0; i < ndirs; i++) {
		char path[PATH_MAX];
		int w = snprintf(path, sizeof path, "%s%s/%s", base[i], suffix[i], CLIP_BPE_FILE);
		if (w > 0 && (size_t)w < sizeof path && access(path, R_OK) == 0)
			return load_file(path, err, errsz);
		w = snprintf(tried + tlen, sizeof tried - tlen, "%s%s%s", i ? ", " : "", base[i], suffix[i]);
		if (w > 0 && (size_t)w < sizeof tried - tlen)
			tlen += (size_t)w;
	}
	(void)err_set(err, errsz, "cannot find %s (looked in %s; set LFM_DATADIR or give the file's path)",
		CLIP_BPE_FILE, tried);
	return NULL;
}

void clip_tokenizer_free(clip_tokenizer *t)
{
	if (!t)
		return;
	free(t->path);
	free(t->strings);
	free(t->string_off);
	free(t->pairs);
	free(t);
}

const char *clip_tokenizer_path(const clip_tokenizer *t) { return t->path; }
