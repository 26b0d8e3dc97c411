/* test_json.c — the strict JSON parser (jansson underneath): values and their decoding, every refusal
 * with its message (jansson's text after "at byte N: "), limits, duplicate keys, document order of
 * members, and json_write_string round trips. */
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "../test.h"

static json_value *parse(const char *s, char *err, size_t errsz) { return json_parse(s, strlen(s), err, errsz); }

static void test_literals_and_nesting(void)
{
	char err[256];
	const char *doc = " { \"a\" : [ true , false , null , 1 , \"x\" ] , \"b\" : { } , \"c\" : [ ] } ";
	json_value *v = parse(doc, err, sizeof err);
	T_ASSERTF(v, "%s", err);
	T_ASSERT(v->type == JSON_OBJECT && v->count == 3);
	T_ASSERT(strcmp(v->keys[0], "a") == 0 && strcmp(v->keys[1], "b") == 0 && strcmp(v->keys[2], "c") == 0);
	const json_value *a = json_get(v, "a");
	T_ASSERT(a && a->type == JSON_ARRAY && a->count == 5);
	T_ASSERT(a->items[0]->type == JSON_BOOL && a->items[0]->boolean == 1);
	T_ASSERT(a->items[1]->type == JSON_BOOL && a->items[1]->boolean == 0);
	T_ASSERT(a->items[2]->type == JSON_NULL);
	T_ASSERT(a->items[3]->type == JSON_NUMBER && a->items[3]->number == 1.0);
	T_ASSERT(a->items[4]->type == JSON_STRING && strcmp(a->items[4]->string, "x") == 0);
	T_ASSERT(json_get(v, "b")->type == JSON_OBJECT && json_get(v, "b")->count == 0);
	T_ASSERT(json_get(v, "c")->type == JSON_ARRAY && json_get(v, "c")->count == 0);
	T_ASSERT(json_get(v, "d") == NULL);
	T_ASSERT(json_get(a, "a") == NULL); /* not an object */
	json_free(v);
	/* Scalars are documents too (RFC 8259). */
	v = parse("\"just a string\"", err, sizeof err);
	T_ASSERT(v && v->type == JSON_STRING && v->string_len == 13);
	json_free(v);
	json_free(NULL);
}

static void test_numbers(void)
{
	static const struct {
		const char *text;
		double value;
		int is_integer;
		int64_t integer;
	} cases[] = {
		{"0", 0, 1, 0},
		{"-0", -0.0, 1, 0}, /* jansson: the integer 0, so number is +0.0 (== -0.0 here) */
		{"7", 7, 1, 7},
		{"-12", -12, 1, -12},
		{"12685060", 12685060, 1, 12685060},
		{"9223372036854775807", 9223372036854775807.0, 1, INT64_MAX},
		{"-9223372036854775808", -9223372036854775808.0, 1, INT64_MIN},
		{"1.5", 1.5, 0, 0},
		{"-0.25", -0.25, 0, 0},
		{"1e3", 1000, 0, 0},
		{"1E+3", 1000, 0, 0},
		{"25e-1", 2.5, 0, 0},
		{"2.0", 2.0, 0, 0},
		{"1e-400", 0, 0, 0}, /* underflow to zero is allowed: the value is within range */
		{"1.7976931348623157e308", 1.7976931348623157e308, 0, 0},
		{"0.1", 0.1, 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char err[256];
		json_value *v = parse(cases[i].text, err, sizeof err);
		T_ASSERTF(v && v->type == JSON_NUMBER, "%s: %s", cases[i].text, err);
		T_ASSERTF(v->number == cases[i].value, "%s -> %.17g", cases[i].text, v->number);
		T_ASSERTF(v->is_integer == cases[i].is_integer, "%s is_integer %d", cases[i].text, v->is_integer);
		if (cases[i].is_integer)
			T_ASSERTF(v->integer == cases[i].integer, "%s -> %lld", cases[i].text, (long long)v->integer);
		json_free(v);
	}
}

/* strtod must not follow the process locale: a comma-decimal locale would read "1.5" as 1. */
static int comma_locale(void)
{
	const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "de_DE", NULL};
	for (int i = 0; names[i]; i++)
		if (setlocale(LC_NUMERIC, names[i]))
			return 1;
	return 0;
}

static void test_numbers_ignore_locale(void)
{
	T_ASSERT(comma_locale());
	T_ASSERT(strtod("1.5", NULL) == 1.0); /* the locale really is comma-decimal */
	json_value *v = parse("[1.5, 2e-1]", NULL, 0);
	setlocale(LC_NUMERIC, "C");
	T_ASSERT(v && v->items[0]->number == 1.5 && v->items[1]->number == 0.2);
	json_free(v);
}

static void test_strings_and_escapes(void)
{
	static const struct {
		const char *text, *decoded;
		size_t len;
	} cases[] = {
		{"\"\"", "", 0},
		{"\"a\\\"b\\\\c\\/d\"", "a\"b\\c/d", 7},
		{"\"\\b\\f\\n\\r\\t\"", "\b\f\n\r\t", 5},
		{"\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac", 6},
		{"\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4},          /* surrogate pair: U+1F600 */
		{"\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf", 4},          /* U+10FFFF */
		{"\"caf\xc3\xa9 \xe6\x97\xa5\xf0\x9f\x98\x80\"", "caf\xc3\xa9 \xe6\x97\xa5\xf0\x9f\x98\x80", 13},
		{"\"\x7f\"", "\x7f", 1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char err[256];
		json_value *v = parse(cases[i].text, err, sizeof err);
		T_ASSERTF(v && v->type == JSON_STRING, "case %zu: %s", i, err);
		T_ASSERTF(v->string_len == cases[i].len && memcmp(v->string, cases[i].decoded, cases[i].len) == 0 &&
				  v->string[v->string_len] == 0,
			  "case %zu: got '%s' (%zu bytes)", i, v->string, v->string_len);
		json_free(v);
	}
}

/* Every refusal, with the message it must give. */
static void test_invalid_documents(void)
{
	static const struct {
		const char *text, *message;
	} cases[] = {
		{"", "at byte 0: unexpected token near end of file"},
		{"   ", "at byte 3: unexpected token near end of file"},
		{"{", "at byte 1: string or '}' expected near end of file"},
		{"[1,]", "at byte 4: unexpected token near ']'"},
		{"[1 2]", "at byte 4: ']' expected near '2'"},
		{"{\"a\" 1}", "at byte 6: ':' expected near '1'"},
		{"{\"a\":1,}", "at byte 8: string or '}' expected near '}'"},
		{"{\"a\":1 \"b\":2}", "'}' expected near '\"b\"'"},
		{"{1:2}", "string or '}' expected near '1'"},
		{"{'a':1}", "string or '}' expected near '''"},
		{"01", "at byte 1: invalid token near '0'"},
		{"1.", "invalid token near '1.'"},
		{".5", "invalid token near '.'"},
		{"-", "invalid token near '-'"},
		{"-a", "invalid token near '-'"},
		{"1e", "invalid token near '1e'"},
		{"1e+", "invalid token near '1e+'"},
		{"+1", "invalid token near '+'"},
		{"1e400", "real number overflow"},
		{"-1e400", "real number overflow"},
		{"NaN", "invalid token near 'NaN'"},
		{"Infinity", "invalid token"},
		{"tru", "invalid token near 'tru'"},
		{"nul", "invalid token"},
		{"True", "invalid token"},
		{"[1] x", "at byte 5: end of file expected near 'x'"},
		{"[1]]", "end of file expected near ']'"},
		{"\"abc", "premature end of input"},
		{"\"abc\\\"", "premature end of input"},
		{"\"\\u0000\"", "\\u0000 is not allowed"},
		{"\"\\ud800\"", "invalid Unicode '\\uD800'"},
		{"\"\\ud800\\u0041\"", "invalid Unicode '\\uD800\\u0041'"},
		{"\"\\udc00\"", "invalid Unicode '\\uDC00'"},
		{"\"\\u12G4\"", "invalid escape"},
		{"\"\\u12\"", "invalid escape"},
		{"\"\\x41\"", "invalid escape near '\"\\x'"},
		{"\"\\'\"", "invalid escape"},
		{"\"a\x01\"", "control character 0x1 near"},
		{"\"a\tb\"", "control character 0x9"},
		{"\"\xc0\x80\"", "unable to decode byte 0xc0"},             /* overlong NUL */
		{"\"\xe0\x80\xaf\"", "unable to decode byte 0xe0"},         /* overlong '/' */
		{"\"\xed\xa0\x80\"", "unable to decode byte 0xed"},         /* UTF-8-encoded surrogate */
		{"\"\xf4\x90\x80\x80\"", "unable to decode byte 0xf4"},     /* above U+10FFFF */
		{"\"\xe2\x82\"", "unable to decode byte 0xe2"},             /* cut short */
		{"\"\x80\"", "unable to decode byte 0x80"},                 /* lone continuation byte */
		{"\"\xff\"", "unable to decode byte 0xff"},
		{"[1] // comment", "end of file expected near '/'"},
		{"\xef\xbb\xbf{}", "invalid token near '\\xef\\xbb\\xbf'"}, /* a BOM is not JSON (shown escaped) */
		{"{\"a\":1,\"b\":2,\"a\":3}", "at byte 16: duplicate object key near '\"a\"'"},
		{"{\"x\":{\"k\":1,\"k\":1}}", "duplicate object key near '\"k\"'"},
		/* Integer literals beyond int64: jansson refuses them (the old parser read them as doubles). */
		{"9223372036854775808", "too big integer"}, /* one past INT64_MAX */
		{"-9223372036854775809", "too big negative integer"},
		{"100000000000000000000000", "too big integer"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char err[256] = "unset";
		json_value *v = parse(cases[i].text, err, sizeof err);
		T_ASSERTF(v == NULL, "case %zu '%s' was accepted", i, cases[i].text);
		T_ASSERTF(strstr(err, cases[i].message) != NULL, "case %zu '%s': message '%s', wanted '%s'", i,
			  cases[i].text, err, cases[i].message);
	}
}

/* Length is respected: bytes after len are never read, and an embedded NUL is an error, not an end. */
static void test_length_bounds(void)
{
	char err[256];
	json_value *v = json_parse("[1]garbage", 3, err, sizeof err);
	T_ASSERTF(v && v->count == 1, "%s", err);
	json_free(v);
	v = json_parse("[1]\0", 4, err, sizeof err);
	T_ASSERTF(v == NULL && strstr(err, "at byte 4: end of file expected") != NULL, "%s", err);
	v = json_parse("\"a\0b\"", 5, err, sizeof err);
	T_ASSERTF(v == NULL && strstr(err, "control character 0x0 ") != NULL, "%s", err);
	/* An error with no buffer must not crash. */
	T_ASSERT(json_parse("[", 1, NULL, 0) == NULL);
}

static char *repeat(const char *open, int n, const char *middle, const char *close)
{
	size_t lo = strlen(open), lm = strlen(middle), lc = strlen(close);
	char *s = malloc(n * (lo + lc) + lm + 1), *p = s;
	for (int i = 0; i < n; i++, p += lo)
		memcpy(p, open, lo);
	memcpy(p, middle, lm);
	p += lm;
	for (int i = 0; i < n; i++, p += lc)
		memcpy(p, close, lc);
	*p = 0;
	return s;
}

static void test_depth_limit(void)
{
	char err[256];
	char *ok = repeat("[", JSON_MAX_DEPTH, "1", "]");
	json_value *v = parse(ok, err, sizeof err);
	T_ASSERTF(v != NULL, "depth %d refused: %s", JSON_MAX_DEPTH, err);
	json_free(v);
	free(ok);
	char *deep = repeat("[", JSON_MAX_DEPTH + 1, "1", "]");
	v = parse(deep, err, sizeof err);
	T_ASSERT(v == NULL && strstr(err, "nesting deeper than 64 levels") != NULL);
	free(deep);
	char *very_deep = repeat("{\"a\":", 100000, "1", "}"); /* no stack overflow */
	v = parse(very_deep, err, sizeof err);
	T_ASSERT(v == NULL && strstr(err, "nesting deeper") != NULL);
	free(very_deep);
}

static void test_node_limit(void)
{
	size_t n = (size_t)JSON_MAX_NODES; /* with the array itself: one too many */
	char *s = malloc(2 * n + 2);
	s[0] = '[';
	for (size_t i = 0; i < n; i++)
		memcpy(s + 1 + 2 * i, "0,", 2);
	s[2 * n] = ']';
	s[2 * n + 1] = 0;
	char err[256];
	json_value *v = json_parse(s, 2 * n + 1, err, sizeof err);
	T_ASSERTF(v == NULL && strstr(err, "more than 2097152 values"), "%s", err);
	s[2 * n - 2] = ']'; /* n - 1 elements + the array: exactly the limit */
	v = json_parse(s, 2 * n - 1, err, sizeof err);
	T_ASSERTF(v != NULL && v->count == n - 1, "%s", err);
	json_free(v);
	free(s);
}

/* An object of arrays with `target` values in all, of every kind; member names are many (1,049), so the
 * limit would be crossed early if they were counted as values. */
static char *values_doc(size_t target, size_t *len)
{
	static const char *vals[] = {"-1.5e+3", "\"s:\"", "true", "0", "null", "{}", "false", "2E-2"};
	size_t cap = target * 10 + 64, n = 0, values = 1; /* the object */
	char *s = malloc(cap);
	s[n++] = '{';
	for (size_t m = 0; values < target; m++) {
		n += (size_t)snprintf(s + n, cap - n, "%s\"k%zu\" : [", m ? "," : "", m);
		values++;
		for (size_t e = 0; e < 2000 && values < target; e++, values++)
			n += (size_t)snprintf(s + n, cap - n, "%s%s", e ? "," : "", vals[e % 8]);
		s[n++] = ']';
	}
	s[n++] = '}';
	*len = n;
	return s;
}

/* The limit counts values, not member names: a document at exactly the limit is read, one value more
 * is refused before jansson builds anything. */
static void test_node_limit_object(void)
{
	size_t n;
	char err[256], *s = values_doc((size_t)JSON_MAX_NODES, &n);
	json_value *v = json_parse(s, n, err, sizeof err);
	T_ASSERTF(v != NULL && v->count == 1049, "%s", err);
	const json_value *k0 = v ? json_get(v, "k0") : NULL;
	T_ASSERT(k0 && k0->items[0]->number == -1500 && strcmp(k0->items[1]->string, "s:") == 0);
	json_free(v);
	free(s);
	s = values_doc((size_t)JSON_MAX_NODES + 1, &n);
	v = json_parse(s, n, err, sizeof err);
	T_ASSERTF(v == NULL && strstr(err, "more than 2097152 values"), "%s", err);
	free(s);
}

static void test_many_keys_duplicate_found(void)
{
	/* 20,000 members with one duplicate at the end: found, and quickly (sorted, not quadratic). */
	size_t cap = 20000 * 16 + 64, n = 0;
	char *s = malloc(cap);
	s[n++] = '{';
	for (int i = 0; i < 20000; i++)
		n += (size_t)snprintf(s + n, cap - n, "\"k%d\":%d,", i, i);
	n += (size_t)snprintf(s + n, cap - n, "\"k123\":0}");
	char err[256];
	json_value *v = json_parse(s, n, err, sizeof err);
	T_ASSERTF(v == NULL && strstr(err, "duplicate object key near '\"k123\"'"), "%s", err);
	memcpy(s + n - 9, "\"z\":0}", 6); /* the last member renamed: no duplicate left */
	v = json_parse(s, n - 3, err, sizeof err);
	T_ASSERTF(v != NULL && v->count == 20001, "%s", err);
	T_ASSERT(json_get(v, "k19999")->integer == 19999);
	/* Members keep document order (jansson >= 2.8 iterates in insertion order, not hash order). */
	for (int i = 0; i < 20000; i++) {
		char k[16];
		snprintf(k, sizeof k, "k%d", i);
		T_ASSERTF(strcmp(v->keys[i], k) == 0 && v->items[i]->integer == i, "member %d is '%s'", i, v->keys[i]);
	}
	T_ASSERT(strcmp(v->keys[20000], "z") == 0);
	json_free(v);
	free(s);
}

static char *write_to_string(const char *s, size_t len, size_t *outlen)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, outlen);
	json_write_string(f, s, len);
	fclose(f);
	return buf;
}

static void test_write_string_escapes(void)
{
	size_t n;
	char *out = write_to_string("a\"b\\c\n\t\x01\x1f\x7f/\xc3\xa9", 13, &n);
	T_ASSERTF(strcmp(out, "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f\\u007f/\xc3\xa9\"") == 0, "got %s", out);
	free(out);
	/* Invalid UTF-8 and NUL still give valid JSON. */
	out = write_to_string("x\xff\xc0\x80y\0z", 7, &n);
	T_ASSERTF(strcmp(out, "\"x\\ufffd\\ufffd\\ufffdy\\u0000z\"") == 0, "got %s", out);
	free(out);
}

/* Random valid UTF-8 strings (all code point ranges, controls included) survive write + parse. */
static void test_write_parse_round_trip(void)
{
	uint64_t state = 0x9e3779b97f4a7c15ull;
	for (int trial = 0; trial < 2000; trial++) {
		char s[256];
		size_t n = 0;
		int cps = (int)(trial % 40);
		for (int i = 0; i < cps; i++) {
			state = state * 6364136223846793005ull + 1442695040888963407ull;
			uint32_t r = (uint32_t)(state >> 33);
			uint32_t cp;
			switch (r % 4) {
			case 0: cp = 1 + r / 4 % 0x7f; break;
			case 1: cp = 0x80 + r / 4 % 0x780; break;
			case 2: cp = 0x800 + r / 4 % 0xf800; break;
			default: cp = 0x10000 + r / 4 % 0x100000; break;
			}
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0x41;
			if (cp < 0x80)
				s[n++] = (char)cp;
			else if (cp < 0x800) {
				s[n++] = (char)(0xc0 | cp >> 6);
				s[n++] = (char)(0x80 | (cp & 0x3f));
			} else if (cp < 0x10000) {
				s[n++] = (char)(0xe0 | cp >> 12);
				s[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
				s[n++] = (char)(0x80 | (cp & 0x3f));
			} else {
				s[n++] = (char)(0xf0 | cp >> 18);
				s[n++] = (char)(0x80 | (cp >> 12 & 0x3f));
				s[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
				s[n++] = (char)(0x80 | (cp & 0x3f));
			}
		}
		size_t outlen;
		char *out = write_to_string(s, n, &outlen);
		char err[256];
		json_value *v = json_parse(out, outlen, err, sizeof err);
		T_ASSERTF(v && v->type == JSON_STRING, "trial %d: %s", trial, err);
		T_ASSERTF(v->string_len == n && memcmp(v->string, s, n) == 0, "trial %d differs", trial);
		json_free(v);
		free(out);
	}
}

int main(void)
{
	T_RUN(test_literals_and_nesting);
	T_RUN(test_numbers);
	if (comma_locale())
		T_RUN(test_numbers_ignore_locale);
	else
		t_skip("test_numbers_ignore_locale", "no comma-decimal locale installed");
	setlocale(LC_NUMERIC, "C");
	T_RUN(test_strings_and_escapes);
	T_RUN(test_invalid_documents);
	T_RUN(test_length_bounds);
	T_RUN(test_depth_limit);
	T_RUN(test_node_limit);
	T_RUN(test_node_limit_object);
	T_RUN(test_many_keys_duplicate_found);
	T_RUN(test_write_string_escapes);
	T_RUN(test_write_parse_round_trip);
	return t_summary();
}
