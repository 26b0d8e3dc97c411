/* ftfy_encoding.c — see ftfy_encoding.h. The regular expressions of fixes.py and chardata.py that work on
 * bytes (A_GRAVE_WORD_RE, ALTERED_UTF8_RE, LOSSY_UTF8_RE) and on text (UTF8_DETECTOR_RE) are written out
 * as scans that try the expression's alternatives at each position in its order and take the first that
 * matches, then go on after it, as re.sub does. */
#include "text/ftfy_encoding.h"

#include <stdlib.h>
#include <string.h>

#include "text/ftfy_badness.h"
#include "text/ftfy_tables.h"

/* ---- growable arrays ----------------------------------------------------------------------------------- */

typedef struct cpvec {
	uint32_t *p;
	size_t n, cap;
	int oom;
} cpvec;

typedef struct bytevec {
	uint8_t *p;
	size_t n, cap;
	int oom;
} bytevec;

static int grow(void **p, size_t *cap, size_t need, size_t size, int *oom)
{
	if (need <= *cap)
		return 1;
	if (*oom)
		return 0;
	size_t cap2 = *cap ? *cap : 64;
	while (cap2 < need)
		cap2 *= 2;
	void *q = realloc(*p, cap2 * size);
	if (!q) {
		*oom = 1;
		return 0;
	}
	*p = q;
	*cap = cap2;
	return 1;
}

static void cp_put(cpvec *v, uint32_t c)
{
	if (grow((void **)&v->p, &v->cap, v->n + 1, sizeof *v->p, &v->oom))
		v->p[v->n++] = c;
}

static void cp_put_n(cpvec *v, const uint32_t *s, size_t n)
{
	if (n && grow((void **)&v->p, &v->cap, v->n + n, sizeof *v->p, &v->oom)) {
		memcpy(v->p + v->n, s, n * sizeof *s);
		v->n += n;
	}
}

static void byte_put(bytevec *v, uint8_t b)
{
	if (grow((void **)&v->p, &v->cap, v->n + 1, 1, &v->oom))
		v->p[v->n++] = b;
}

static int same(const uint32_t *a, size_t an, const uint32_t *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an * sizeof *a) == 0);
}

/* ---- the single-byte encodings --------------------------------------------------------------------------- */

static int is_sloppy(int enc)
{
	return enc >= FTFY_SLOPPY_1252 && enc <= FTFY_SLOPPY_1257;
}

static int byte_cmp(const void *a, const void *b)
{
	const ftfy_charmap_byte *x = a, *y = b;
	return x->cp < y->cp ? -1 : x->cp > y->cp;
}

/* text.encode(enc) when every character encodes (chardata.possible_encoding); 0 when one does not (out
 * holds garbage then). Bytes below 0x80 are ASCII in every table but the sloppy codecs' 0x1A (U+FFFD). */
static int encode_text(int enc, const uint32_t *s, size_t n, bytevec *out)
{
	const uint32_t *t = ftfy_charmap_decode[enc];
	out->n = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = s[i];
		if (c < 0x80 && t[c] == c) {
			byte_put(out, (uint8_t)c);
			continue;
		}
		ftfy_charmap_byte key = {c, 0};
		const ftfy_charmap_byte *e = bsearch(&key, ftfy_charmap_encode[enc], FTFY_ENCODE_SIZE, sizeof key, byte_cmp);
		if (!e)
			return 0;
		byte_put(out, e->byte);
	}
	return 1;
}

/* ---- restore_byte_a0 -------------------------------------------------------------------------------------- */

static int cont_not_85_a0(uint8_t b) /* [\x80-\x84\x86-\x9f\xa1-\xbf] */
{
	return b >= 0x80 && b <= 0xBF && b != 0x85 && b != 0xA0;
}

static int cont(uint8_t b)
{
	return b >= 0x80 && b <= 0xBF;
}

/* The length of the ALTERED_UTF8_RE match at b[p], or 0. */
static size_t altered_at(const uint8_t *b, size_t n, size_t p)
{
	size_t m = n - p;
	uint8_t c = b[p];
	if (m >= 2 && (c == 0xC2 || c == 0xC3 || c == 0xC5 || c == 0xCE || c == 0xD0 || c == 0xD9) && b[p + 1] == ' ')
		return 2;
	if (m >= 3 && (c == 0xE2 || c == 0xE3) && b[p + 1] == ' ' && cont_not_85_a0(b[p + 2]))
		return 3;
	if (m >= 3 && c >= 0xE0 && c <= 0xE3 && cont_not_85_a0(b[p + 1]) && b[p + 2] == ' ')
		return 3;
	if (m >= 4 && c == 0xF0) {
		if (b[p + 1] == ' ' && cont(b[p + 2]) && cont(b[p + 3]))
			return 4;
		if (cont(b[p + 1]) && b[p + 2] == ' ' && cont(b[p + 3]))
			return 4;
		if (cont(b[p + 1]) && cont(b[p + 2]) && b[p + 3] == ' ')
			return 4;
	}
	return 0;
}

static int altered_search(const bytevec *v)
{
	for (size_t p = 0; p < v->n; p++)
		if (altered_at(v->p, v->n, p))
			return 1;
	return 0;
}

static int starts(const uint8_t *b, size_t n, size_t p, const char *w)
{
	size_t k = strlen(w);
	return n - p >= k && memcmp(b + p, w, k) == 0;
}

/* fixes.restore_byte_a0: "\xc3 " not followed by " ", "quele", "quela", "quilo" or "s " becomes
 * "\xc3\xa0 " (A_GRAVE_WORD_RE), then the spaces inside ALTERED_UTF8_RE's matches become 0xA0. */
static void restore_byte_a0(const bytevec *in, bytevec *out)
{
	bytevec mid = {0};
	const uint8_t *b = in->p;
	size_t n = in->n;
	for (size_t p = 0; p < n;) {
		if (b[p] == 0xC3 && p + 1 < n && b[p + 1] == ' ' && !starts(b, n, p + 2, " ") &&
		    !starts(b, n, p + 2, "quele") && !starts(b, n, p + 2, "quela") && !starts(b, n, p + 2, "quilo") &&
		    !starts(b, n, p + 2, "s ")) {
			byte_put(&mid, 0xC3);
			byte_put(&mid, 0xA0);
			byte_put(&mid, ' ');
			p += 2;
			continue;
		}
		byte_put(&mid, b[p++]);
	}
	out->n = 0;
	out->oom |= mid.oom;
	for (size_t p = 0; p < mid.n;) {
		size_t k = altered_at(mid.p, mid.n, p);
		if (!k) {
			byte_put(out, mid.p[p++]);
			continue;
		}
		for (size_t j = 0; j < k; j++)
			byte_put(out, mid.p[p + j] == ' ' ? 0xA0 : mid.p[p + j]);
		p += k;
	}
	free(mid.p);
}

/* ---- replace_lossy_sequences ------------------------------------------------------------------------------ */

static int sub_or_q(uint8_t b) /* [\x1a?] */
{
	return b == 0x1A || b == '?';
}

static int sub_or_cont(uint8_t b) /* [\x1a\x80-\xbf] */
{
	return b == 0x1A || cont(b);
}

/* The length of the LOSSY_UTF8_RE match at b[p], or 0. */
static size_t lossy_at(const uint8_t *b, size_t n, size_t p)
{
	size_t m = n - p;
	uint8_t c = b[p];
	const uint8_t *q = b + p;
	if (m >= 2 && c >= 0xC2 && c <= 0xDF && q[1] == 0x1A)
		return 2;
	if (m >= 2 && (c == 0xC2 || c == 0xC3) && q[1] == '?')
		return 2;
	if (m >= 6 && c == 0xED && q[1] >= 0xA0 && q[1] <= 0xAF && q[3] == 0xED && q[4] >= 0xB0 && q[4] <= 0xBF) {
		if (sub_or_q(q[2]) && (sub_or_q(q[5]) || cont(q[5])))
			return 6;
		if ((sub_or_q(q[2]) || cont(q[2])) && sub_or_q(q[5]))
			return 6;
	}
	if (m >= 3 && c >= 0xE0 && c <= 0xEF) {
		if (sub_or_q(q[1]) && sub_or_cont(q[2]))
			return 3;
		if (sub_or_cont(q[1]) && sub_or_q(q[2]))
			return 3;
	}
	if (m >= 4 && c >= 0xF0 && c <= 0xF4) {
		if (sub_or_q(q[1]) && sub_or_cont(q[2]) && sub_or_cont(q[3]))
			return 4;
		if (sub_or_cont(q[1]) && sub_or_q(q[2]) && sub_or_cont(q[3]))
			return 4;
		if (sub_or_cont(q[1]) && sub_or_cont(q[2]) && sub_or_q(q[3]))
			return 4;
	}
	return c == 0x1A;
}

/* fixes.replace_lossy_sequences: each match becomes U+FFFD's UTF-8. */
static void replace_lossy_sequences(const bytevec *in, bytevec *out)
{
	out->n = 0;
	for (size_t p = 0; p < in->n;) {
		size_t k = lossy_at(in->p, in->n, p);
		if (!k) {
			byte_put(out, in->p[p++]);
			continue;
		}
		byte_put(out, 0xEF);
		byte_put(out, 0xBF);
		byte_put(out, 0xBD);
		p += k;
	}
}

/* ---- the UTF-8 decoders ---------------------------------------------------------------------------------- */

/* Python's strict UTF-8 decoder on b[0..n): appends to out; 0 on any error. */
static int decode_utf8(const uint8_t *b, size_t n, cpvec *out)
{
	for (size_t p = 0; p < n;) {
		uint8_t c = b[p];
		if (c < 0x80) {
			cp_put(out, c);
			p++;
			continue;
		}
		size_t k;
		uint32_t cp, lo2 = 0x80, hi2 = 0xBF;
		if (c >= 0xC2 && c <= 0xDF)
			k = 2, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF) {
			k = 3, cp = c & 0x0F;
			lo2 = c == 0xE0 ? 0xA0 : 0x80;
			hi2 = c == 0xED ? 0x9F : 0xBF;
		} else if (c >= 0xF0 && c <= 0xF4) {
			k = 4, cp = c & 0x07;
			lo2 = c == 0xF0 ? 0x90 : 0x80;
			hi2 = c == 0xF4 ? 0x8F : 0xBF;
		} else
			return 0;
		if (n - p < k || b[p + 1] < lo2 || b[p + 1] > hi2)
			return 0;
		for (size_t j = 1; j < k; j++) {
			if (!cont(b[p + j]))
				return 0;
			cp = cp << 6 | (b[p + j] & 0x3F);
		}
		cp_put(out, cp);
		p += k;
	}
	return 1;
}

/* The regex '$' of a bytes pattern at q: the end, or just before a final '\n'. */
static int dollar(const uint8_t *b, size_t n, size_t q)
{
	return q == n || (q + 1 == n && b[q] == '\n');
}

/* Whether bad_codecs.utf8_variants' SPECIAL_BYTES_RE (a Java null \xc0\x80, or a surrogate's three bytes
 * \xed[\xa0-\xbf][\x80-\xbf], each byte after the first also matched by '$') matches at b[p]. */
static int special_at(const uint8_t *b, size_t n, size_t p)
{
	if (b[p] == 0xC0)
		return dollar(b, n, p + 1) || b[p + 1] == 0x80;
	if (b[p] != 0xED)
		return 0;
	size_t q = p + 1;
	if (!dollar(b, n, q)) {
		if (b[q] < 0xA0 || b[q] > 0xBF)
			return 0;
		q++;
	}
	return dollar(b, n, q) || cont(b[q]);
}

/* bytes.decode("utf-8-variants") (bad_codecs/utf8_variants.py): strict UTF-8 between the special
 * sequences; C0 followed by anything is U+0000 (the match made sure it is 80, or the '\n' that ends the
 * bytes); a surrogate pair in CESU-8 is its code point; any other surrogate is an error. */
static int decode_utf8_variants(const uint8_t *b, size_t n, cpvec *out)
{
	size_t pos = 0;
	while (pos < n) {
		size_t m = pos;
		while (m < n && !special_at(b, n, m))
			m++;
		if (!decode_utf8(b + pos, m - pos, out))
			return 0;
		if (m == n)
			break;
		const uint8_t *q = b + m;
		size_t left = n - m;
		if (q[0] == 0xC0) {
			if (left < 2)
				return 0;
			cp_put(out, 0);
			pos = m + 2;
			continue;
		}
		/* CESU8_RE.match: \xed [\xa0-\xaf] [\x80-\xbf] \xed [\xb0-\xbf] [\x80-\xbf], where with six or
		 * more bytes left only the last can be the '$' before a final '\n' */
		if (left < 6)
			return 0;
		if (!(q[1] >= 0xA0 && q[1] <= 0xAF && cont(q[2]) && q[3] == 0xED && q[4] >= 0xB0 && q[4] <= 0xBF &&
		      (cont(q[5]) || (left == 6 && q[5] == '\n'))))
			return 0;
		cp_put(out, (((uint32_t)q[1] & 0x0F) << 16) + (((uint32_t)q[2] & 0x3F) << 10) +
				(((uint32_t)q[4] & 0x0F) << 6) + ((uint32_t)q[5] & 0x3F) + 0x10000);
		pos = m + 6;
	}
	return 1;
}

/* ---- decode_inconsistent_utf8 ----------------------------------------------------------------------------- */

static int fix_encoding(const uint32_t *s, size_t n, cpvec *out);

/* The length of the UTF8_DETECTOR_RE match at s[p], or 0: after a character that is not
 * utf8_continuation_strict, one or more of (first_of_2 cont | first_of_3 cont{2} | first_of_4 cont{3}),
 * greedily, the first alternative that fits each time (nothing follows the group, so that is the match). */
static size_t detector_at(const uint32_t *s, size_t n, size_t p)
{
	if (p > 0 && (ftfy_class(s[p - 1]) & FTFY_UTF8_CONT_STRICT))
		return 0;
	size_t q = p;
	for (;;) {
		uint32_t a = ftfy_class(s[q]);
		size_t k = 0;
		if ((a & FTFY_UTF8_FIRST2) && q + 1 < n && (ftfy_class(s[q + 1]) & FTFY_UTF8_CONT))
			k = 2;
		else if ((a & FTFY_UTF8_FIRST3) && q + 2 < n && (ftfy_class(s[q + 1]) & FTFY_UTF8_CONT) &&
			 (ftfy_class(s[q + 2]) & FTFY_UTF8_CONT))
			k = 3;
		else if ((a & FTFY_UTF8_FIRST4) && q + 3 < n && (ftfy_class(s[q + 1]) & FTFY_UTF8_CONT) &&
			 (ftfy_class(s[q + 2]) & FTFY_UTF8_CONT) && (ftfy_class(s[q + 3]) & FTFY_UTF8_CONT))
			k = 4;
		if (!k)
			break;
		q += k;
		if (q >= n)
			break;
	}
	return q - p;
}

/* fixes.decode_inconsistent_utf8: each detected run that is shorter than the text and is_bad gets
 * fix_encoding on its own. */
static void decode_inconsistent_utf8(const uint32_t *s, size_t n, cpvec *out)
{
	for (size_t p = 0; p < n;) {
		size_t k = detector_at(s, n, p);
		if (!k) {
			cp_put(out, s[p++]);
			continue;
		}
		if (k < n && ftfy_is_bad(s + p, k))
			out->oom |= fix_encoding(s + p, k, out) != 0;
		else
			cp_put_n(out, s + p, k);
		p += k;
	}
}

/* ---- fix_encoding --------------------------------------------------------------------------------------- */

/* _fix_encoding_one_step_and_explain: the text after one step, appended to out. */
static void one_step(const uint32_t *s, size_t n, cpvec *out)
{
	int ascii = 1;
	for (size_t i = 0; i < n && ascii; i++)
		ascii = s[i] < 0x80;
	if (n == 0 || ascii || !ftfy_is_bad(s, n)) {
		cp_put_n(out, s, n);
		return;
	}
	bytevec bytes = {0}, tmp = {0};
	int latin1 = 0;
	size_t start = out->n;
	for (int enc = 0; enc < FTFY_N_CHARMAPS; enc++) {
		if (!encode_text(enc, s, n, &bytes))
			continue;
		latin1 |= enc == FTFY_LATIN1;
		if (enc != FTFY_MACROMAN && altered_search(&bytes)) {
			restore_byte_a0(&bytes, &tmp);
			bytevec t = bytes;
			bytes = tmp;
			tmp = t;
		}
		if (is_sloppy(enc)) {
			replace_lossy_sequences(&bytes, &tmp);
			bytevec t = bytes;
			bytes = tmp;
			tmp = t;
		}
		if (bytes.oom || tmp.oom) {
			out->oom = 1;
			goto done;
		}
		int variants = memchr(bytes.p, 0xED, bytes.n) || memchr(bytes.p, 0xC0, bytes.n);
		int ok = variants ? decode_utf8_variants(bytes.p, bytes.n, out) : decode_utf8(bytes.p, bytes.n, out);
		if (ok)
			goto done;
		out->n = start; /* UnicodeDecodeError: the next encoding */
	}
	/* decode_inconsistent_utf8, when it changes something */
	decode_inconsistent_utf8(s, n, out);
	if (out->oom || !same(out->p + start, out->n - start, s, n))
		goto done;
	out->n = start;
	/* Latin-1 text read as Windows-1252 (ftfy asks whether "windows-1252" is among the possible encodings,
	 * a name that list never holds, so this is always tried), unless a byte is undefined there */
	if (latin1) {
		int ok = 1, changed = 0;
		for (size_t i = 0; i < n && ok; i++) {
			uint32_t c = ftfy_windows1252_strict[s[i]];
			ok = c != 0xFFFFFFFF;
			changed |= c != s[i];
		}
		if (ok && changed) {
			for (size_t i = 0; i < n; i++)
				cp_put(out, ftfy_windows1252_strict[s[i]]);
			goto done;
		}
	}
	/* fix_c1_controls */
	for (size_t i = 0; i < n; i++)
		cp_put(out, s[i] >= 0x80 && s[i] <= 0x9F ? ftfy_charmap_decode[FTFY_SLOPPY_1252][s[i]] : s[i]);
done:
	free(bytes.p);
	free(tmp.p);
}

/* fix_encoding_and_explain: steps until one changes nothing; the result appended to out. Returns -1 when
 * out of memory. */
static int fix_encoding(const uint32_t *s, size_t n, cpvec *out)
{
	cpvec cur = {0}, next = {0};
	cp_put_n(&cur, s, n);
	while (!cur.oom && !next.oom) {
		next.n = 0;
		one_step(cur.p, cur.n, &next);
		if (next.oom || same(cur.p, cur.n, next.p, next.n))
			break;
		cpvec t = cur;
		cur = next;
		next = t;
	}
	int oom = cur.oom || next.oom;
	if (!oom)
		cp_put_n(out, cur.p, cur.n);
	free(cur.p);
	free(next.p);
	return oom || out->oom ? -1 : 0;
}

int ftfy_fix_encoding(const uint32_t *s, size_t n, uint32_t **out, size_t *out_n)
{
	cpvec o = {0};
	int r = fix_encoding(s, n, &o);
	cp_put(&o, 0); /* never an empty allocation */
	if (r || o.oom) {
		free(o.p);
		*out = NULL;
		*out_n = 0;
		return -1;
	}
	*out = o.p;
	*out_n = o.n - 1;
	return 0;
}
