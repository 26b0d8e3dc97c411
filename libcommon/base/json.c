/* json.c — see json.h. A recursive-descent parser over the RFC 8259 grammar; every error names the byte
 * offset where parsing stopped. Nothing here dies: the input may be hostile (safetensors headers). */
#include "base/json.h"

#include <errno.h>
#include <locale.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
	const unsigned char *s;
	size_t len, pos;
	size_t nodes;
	locale_t c_locale; /* for strtod_l, created on the first non-integer number */
	char *err;
	size_t errsz;
	int failed;
} parser;

static void fail(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(parser *p, const char *fmt, ...)
{
	if (p->failed)
		return;
	p->failed = 1;
	if (!p->err || !p->errsz)
		return;
	int n = snprintf(p->err, p->errsz, "at byte %zu: ", p->pos);
	if (n < 0 || (size_t)n >= p->errsz)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errsz - (size_t)n, fmt, ap);
	va_end(ap);
}

/* A printable description of the byte at pos, for "unexpected ..." messages. */
static const char *describe_byte(parser *p, char *buf, size_t bufsz)
{
	if (p->pos >= p->len)
		return "end of input";
	unsigned c = p->s[p->pos];
	if (c >= 0x20 && c < 0x7f)
		snprintf(buf, bufsz, "'%c'", (int)c);
	else
		snprintf(buf, bufsz, "byte 0x%02x", c);
	return buf;
}

static void skip_ws(parser *p)
{
	while (p->pos < p->len) {
		unsigned char c = p->s[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static json_value *new_node(parser *p, json_type t)
{
	if (p->nodes >= JSON_MAX_NODES) {
		fail(p, "more than %d values", JSON_MAX_NODES);
		return NULL;
	}
	json_value *v = calloc(1, sizeof *v);
	if (!v) {
		fail(p, "out of memory");
		return NULL;
	}
	p->nodes++;
	v->type = t;
	return v;
}

size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	size_t n;
	unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* UTF-16 surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else
		return 0;
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

static size_t put_utf8(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static int hex4(parser *p, size_t at, unsigned *out)
{
	if (at + 4 > p->len)
		return -1;
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned c = p->s[at + (size_t)i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	*out = v;
	return 0;
}

/* Parse a string literal at pos (which is '"'); returns a malloc'd decoded copy and its length. The
 * decoded form is never longer than the literal, so one allocation of the literal's length suffices. */
static char *parse_string_raw(parser *p, size_t *out_len)
{
	size_t start = ++p->pos, end = start;
	/* Find the closing quote first, to size the buffer. */
	while (end < p->len && p->s[end] != '"') {
		if (p->s[end] == '\\')
			end++;
		end++;
	}
	if (end >= p->len) {
		p->pos = p->len;
		fail(p, "unterminated string");
		return NULL;
	}
	char *out = malloc(end - start + 1);
	if (!out) {
		fail(p, "out of memory");
		return NULL;
	}
	size_t n = 0;
	while (p->pos < end) {
		unsigned c = p->s[p->pos];
		if (c < 0x20) {
			fail(p, "control character 0x%02x in string", c);
			goto bad;
		}
		if (c != '\\') {
			size_t k = utf8_seq_len(p->s + p->pos, end - p->pos);
			if (!k) {
				fail(p, "invalid UTF-8 in string");
				goto bad;
			}
			memcpy(out + n, p->s + p->pos, k);
			n += k;
			p->pos += k;
			continue;
		}
		char e = (char)p->s[p->pos + 1];
		const char *simple = strchr("\"\\/bfnrt", e);
		if (e && simple) {
			static const char decoded[] = "\"\\/\b\f\n\r\t";
			out[n++] = decoded[simple - "\"\\/bfnrt"];
			p->pos += 2;
			continue;
		}
		if (e != 'u') {
			fail(p, "invalid escape '\\%c'", e >= 0x20 && e < 0x7f ? e : '?');
			goto bad;
		}
		unsigned hi, lo;
		if (hex4(p, p->pos + 2, &hi) != 0) {
			fail(p, "invalid \\u escape");
			goto bad;
		}
		unsigned long cp = hi;
		if (hi >= 0xdc00 && hi <= 0xdfff) {
			fail(p, "unpaired low surrogate \\u%04x", hi);
			goto bad;
		}
		if (hi >= 0xd800 && hi <= 0xdbff) {
			if (p->pos + 12 > end || p->s[p->pos + 6] != '\\' || p->s[p->pos + 7] != 'u' ||
			    hex4(p, p->pos + 8, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff) {
				fail(p, "unpaired high surrogate \\u%04x", hi);
				goto bad;
			}
			cp = 0x10000 + (((unsigned long)hi - 0xd800) << 10) + (lo - 0xdc00);
			p->pos += 6;
		}
		if (cp == 0) {
			fail(p, "\\u0000 in string");
			goto bad;
		}
		n += put_utf8(out + n, cp);
		p->pos += 6;
	}
	p->pos = end + 1;
	out[n] = 0;
	*out_len = n;
	return out;
bad:
	free(out);
	return NULL;
}

static json_value *parse_value(parser *p, int depth);

static int cmp_key_index(const void *a, const void *b, void *keys_arg)
{
	char **keys = keys_arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(keys[i], keys[j]);
	return c ? c : (i < j ? -1 : i > j);
}

/* Refuse duplicate member names: sort member indices by name (O(n log n), so a hostile header with
 * many members stays cheap) and compare neighbours. Reports the later of the first duplicate pair. */
static int check_duplicates(parser *p, json_value *obj, const size_t *key_pos)
{
	if (obj->count < 2)
		return 0;
	size_t *idx = malloc(obj->count * sizeof *idx);
	if (!idx) {
		fail(p, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < obj->count; i++)
		idx[i] = i;
	qsort_r(idx, obj->count, sizeof *idx, cmp_key_index, obj->keys);
	size_t dup = (size_t)-1;
	for (size_t i = 1; i < obj->count; i++)
		if (strcmp(obj->keys[idx[i - 1]], obj->keys[idx[i]]) == 0 && (dup == (size_t)-1 || idx[i] < dup))
			dup = idx[i];
	free(idx);
	if (dup == (size_t)-1)
		return 0;
	p->pos = key_pos[dup];
	fail(p, "duplicate key \"%.200s\"", obj->keys[dup]);
	return -1;
}

static int grow(parser *p, void **arr, size_t elem, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 4;
	void *n = realloc(*arr, ncap * elem);
	if (!n) {
		fail(p, "out of memory");
		return -1;
	}
	*arr = n;
	*cap = ncap;
	return 0;
}

static json_value *parse_array(parser *p, int depth)
{
	json_value *v = new_node(p, JSON_ARRAY);
	if (!v)
		return NULL;
	size_t cap = 0;
	p->pos++; /* '[' */
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == ']') {
		p->pos++;
		return v;
	}
	for (;;) {
		json_value *item = parse_value(p, depth + 1);
		if (!item || grow(p, (void **)&v->items, sizeof *v->items, &cap, v->count + 1) != 0) {
			json_free(item);
			goto bad;
		}
		v->items[v->count++] = item;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == ']') {
			p->pos++;
			return v;
		}
		char b[32];
		fail(p, "expected ',' or ']' in array, found %s", describe_byte(p, b, sizeof b));
		goto bad;
	}
bad:
	json_free(v);
	return NULL;
}

static json_value *parse_object(parser *p, int depth)
{
	json_value *v = new_node(p, JSON_OBJECT);
	if (!v)
		return NULL;
	size_t cap = 0, kcap = 0, pcap = 0;
	size_t *key_pos = NULL;
	char b[32];
	p->pos++; /* '{' */
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == '}') {
		p->pos++;
		return v;
	}
	for (;;) {
		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != '"') {
			fail(p, "expected a member name (a string), found %s", describe_byte(p, b, sizeof b));
			goto bad;
		}
		size_t kpos = p->pos, klen;
		char *key = parse_string_raw(p, &klen);
		if (!key)
			goto bad;
		if (grow(p, (void **)&v->keys, sizeof *v->keys, &kcap, v->count + 1) != 0 ||
		    grow(p, (void **)&key_pos, sizeof *key_pos, &pcap, v->count + 1) != 0 ||
		    grow(p, (void **)&v->items, sizeof *v->items, &cap, v->count + 1) != 0) {
			free(key);
			goto bad;
		}
		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != ':') {
			fail(p, "expected ':' after member name, found %s", describe_byte(p, b, sizeof b));
			free(key);
			goto bad;
		}
		p->pos++;
		json_value *item = parse_value(p, depth + 1);
		if (!item) {
			free(key);
			goto bad;
		}
		v->keys[v->count] = key;
		key_pos[v->count] = kpos;
		v->items[v->count++] = item;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == '}') {
			size_t end = ++p->pos;
			if (check_duplicates(p, v, key_pos) != 0)
				goto bad;
			p->pos = end;
			free(key_pos);
			return v;
		}
		fail(p, "expected ',' or '}' in object, found %s", describe_byte(p, b, sizeof b));
		goto bad;
	}
bad:
	free(key_pos);
	json_free(v);
	return NULL;
}

static int is_digit(unsigned c) { return c >= '0' && c <= '9'; }

static json_value *parse_number(parser *p)
{
	size_t start = p->pos, i = p->pos;
	int integral = 1;
	if (i < p->len && p->s[i] == '-')
		i++;
	if (i < p->len && p->s[i] == '0')
		i++;
	else if (i < p->len && is_digit(p->s[i]) && p->s[i] != '0')
		while (i < p->len && is_digit(p->s[i]))
			i++;
	else {
		p->pos = i;
		fail(p, "invalid number: expected a digit");
		return NULL;
	}
	if (i < p->len && p->s[i] == '.') {
		integral = 0;
		i++;
		if (i >= p->len || !is_digit(p->s[i])) {
			p->pos = i;
			fail(p, "invalid number: expected a digit after '.'");
			return NULL;
		}
		while (i < p->len && is_digit(p->s[i]))
			i++;
	}
	if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
		integral = 0;
		i++;
		if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
			i++;
		if (i >= p->len || !is_digit(p->s[i])) {
			p->pos = i;
			fail(p, "invalid number: expected a digit in the exponent");
			return NULL;
		}
		while (i < p->len && is_digit(p->s[i]))
			i++;
	}
	/* The literal is validated; copy it so strtod sees a NUL-terminated string. Long literals (a
	 * thousand digits) are legal, so the copy is sized to the literal. */
	size_t n = i - start;
	char small[64], *lit = n < sizeof small ? small : malloc(n + 1);
	if (!lit) {
		fail(p, "out of memory");
		return NULL;
	}
	memcpy(lit, p->s + start, n);
	lit[n] = 0;
	json_value *v = NULL;
	if (!p->c_locale) {
		p->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
		if (!p->c_locale) {
			fail(p, "cannot create the C locale");
			goto out;
		}
	}
	errno = 0;
	double d = strtod_l(lit, NULL, p->c_locale);
	if (errno == ERANGE && (d > 1.0 || d < -1.0)) {
		fail(p, "number %.40s%s is outside the range of a double", lit, n > 40 ? "..." : "");
		goto out;
	}
	v = new_node(p, JSON_NUMBER);
	if (!v)
		goto out;
	v->number = d;
	if (integral) {
		/* Exact int64 value, when it fits. */
		int neg = lit[0] == '-';
		uint64_t mag = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
		int fits = 1;
		for (const char *c = lit + neg; *c; c++) {
			unsigned dgt = (unsigned)(*c - '0');
			if (mag > (limit - dgt) / 10) {
				fits = 0;
				break;
			}
			mag = mag * 10 + dgt;
		}
		if (fits) {
			v->is_integer = 1;
			v->integer = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
		}
	}
	p->pos = i;
out:
	if (lit != small)
		free(lit);
	return v;
}

static int match_word(parser *p, const char *w)
{
	size_t n = strlen(w);
	if (p->len - p->pos >= n && memcmp(p->s + p->pos, w, n) == 0) {
		p->pos += n;
		return 1;
	}
	return 0;
}

static json_value *parse_value(parser *p, int depth)
{
	char b[32];
	skip_ws(p);
	if (p->pos >= p->len) {
		fail(p, "expected a value, found end of input");
		return NULL;
	}
	json_value *v;
	unsigned char c = p->s[p->pos];
	if ((c == '{' || c == '[') && depth > JSON_MAX_DEPTH) {
		fail(p, "nesting deeper than %d levels", JSON_MAX_DEPTH);
		return NULL;
	}
	switch (c) {
	case '{':
		return parse_object(p, depth);
	case '[':
		return parse_array(p, depth);
	case '"': {
		size_t n;
		char *s = parse_string_raw(p, &n);
		if (!s)
			return NULL;
		v = new_node(p, JSON_STRING);
		if (!v) {
			free(s);
			return NULL;
		}
		v->string = s;
		v->string_len = n;
		return v;
	}
	case 't':
	case 'f':
	case 'n':
		if (match_word(p, "true") || match_word(p, "false")) {
			v = new_node(p, JSON_BOOL);
			if (v)
				v->boolean = p->s[p->pos - 4] == 't';
			return v;
		}
		if (match_word(p, "null"))
			return new_node(p, JSON_NULL);
		break;
	default:
		if (c == '-' || is_digit(c))
			return parse_number(p);
	}
	fail(p, "expected a value, found %s", describe_byte(p, b, sizeof b));
	return NULL;
}

json_value *json_parse(const char *text, size_t len, char *err, size_t errsz)
{
	parser p = {.s = (const unsigned char *)text, .len = len, .err = err, .errsz = errsz};
	if (err && errsz)
		err[0] = 0;
	json_value *v = parse_value(&p, 1);
	if (v) {
		skip_ws(&p);
		if (p.pos < p.len) {
			char b[32];
			fail(&p, "unexpected %s after the value", describe_byte(&p, b, sizeof b));
			json_free(v);
			v = NULL;
		}
	}
	if (p.c_locale)
		freelocale(p.c_locale);
	return v;
}

void json_free(json_value *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->count; i++) {
		if (v->items)
			json_free(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->string);
	free(v);
}

const json_value *json_get(const json_value *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < obj->count; i++)
		if (strcmp(obj->keys[i], key) == 0)
			return obj->items[i];
	return NULL;
}

void json_write_string(FILE *f, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	fputc('"', f);
	for (size_t i = 0; i < len;) {
		unsigned c = u[i];
		const char *esc = NULL;
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		}
		if (esc) {
			fputs(esc, f);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			i++;
		} else {
			/* Valid UTF-8 passes through; an invalid byte becomes U+FFFD so the output is
			 * always valid JSON. */
			size_t k = utf8_seq_len(u + i, len - i);
			if (k) {
				fwrite(u + i, 1, k, f);
				i += k;
			} else {
				fputs("\\ufffd", f);
				i++;
			}
		}
	}
	fputc('"', f);
}
