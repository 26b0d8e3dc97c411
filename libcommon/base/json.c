/* json.c — see json.h. Parsing is jansson's (json_loadb with strict flags); this file bounds the document
 * before jansson sees it (depth and value count, with the byte where a limit is crossed, so a hostile
 * 100 MB safetensors header cannot make jansson build a huge tree), converts jansson's tree to json_value,
 * and keeps our own string writer. Nothing here dies: the input may be hostile. */

/* jansson.h declares json_type and JSON_OBJECT, JSON_ARRAY, JSON_STRING, JSON_NULL, as json.h does: its
 * names are renamed while it is read (JANSSON_OBJECT, ...), and only those names, not jansson's macros
 * that expand to the clashing ones (json_is_object, ...), are used below. */
#define json_type jansson_type
#define JSON_OBJECT JANSSON_OBJECT
#define JSON_ARRAY JANSSON_ARRAY
#define JSON_STRING JANSSON_STRING
#define JSON_NULL JANSSON_NULL
#include <jansson.h>
#undef json_type
#undef JSON_OBJECT
#undef JSON_ARRAY
#undef JSON_STRING
#undef JSON_NULL

#include "base/json.h"

#include <stdlib.h>
#include <string.h>

/* REJECT_DUPLICATES: safetensors forbids duplicate names. DECODE_ANY: a scalar is a document too (RFC
 * 8259). Not ALLOW_NUL (\u0000 refused: our strings are NUL-terminated), not DISABLE_EOF_CHECK (trailing
 * garbage refused), not DECODE_INT_AS_REAL (integers keep their exact value). */
#define JSON_LOAD_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)

static void set_err(char *err, size_t errsz, size_t at, const char *msg)
{
	if (err && errsz)
		snprintf(err, errsz, "at byte %zu: %s", at, msg);
}

/* jansson's message, with bytes that are not printable ASCII (it quotes the offending token, which may
 * be invalid UTF-8) written as \xNN so the message is always clean text. */
static void set_jansson_err(char *err, size_t errsz, const json_error_t *e)
{
	char clean[4 * JSON_ERROR_TEXT_LENGTH];
	size_t n = 0;
	for (const unsigned char *c = (const unsigned char *)e->text; *c && n + 5 < sizeof clean; c++) {
		if (*c >= 0x20 && *c < 0x7f)
			clean[n++] = (char)*c;
		else
			n += (size_t)snprintf(clean + n, sizeof clean - n, "\\x%02x", *c);
	}
	clean[n] = 0;
	set_err(err, errsz, e->position > 0 ? (size_t)e->position : 0, clean);
}

static int in_number(unsigned c)
{
	return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
}

/* Depth and number of values, counted without parsing: exact for a valid document (containers, literals,
 * numbers, and strings that are not member names), a rough count for an invalid one, which jansson then
 * refuses anyway. Returns 0, or -1 with the message for the byte where a limit is crossed. */
static int check_limits(const unsigned char *s, size_t len, char *err, size_t errsz)
{
	size_t values = 0;
	int depth = 0;
	char msg[64];
	for (size_t i = 0; i < len; i++) {
		size_t at = i;
		unsigned c = s[i];
		int value = 0;
		if (c == '"') { /* a value unless a ':' follows: then a member name */
			for (i++; i < len && s[i] != '"'; i++)
				i += s[i] == '\\';
			size_t j = i + 1;
			while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r'))
				j++;
			value = j >= len || s[j] != ':';
		} else if (c == '[' || c == '{') {
			if (++depth > JSON_MAX_DEPTH) {
				snprintf(msg, sizeof msg, "nesting deeper than %d levels", JSON_MAX_DEPTH);
				set_err(err, errsz, at, msg);
				return -1;
			}
			value = 1;
		} else if (c == ']' || c == '}') {
			if (depth > 0)
				depth--;
		} else if (c == 't' || c == 'f' || c == 'n') /* true, false, null */
			value = 1;
		else if (c == '-' || (c >= '0' && c <= '9'))
			value = i == 0 || !in_number(s[i - 1]); /* a number's first character */
		if (value && ++values > JSON_MAX_NODES) {
			snprintf(msg, sizeof msg, "more than %d values", JSON_MAX_NODES);
			set_err(err, errsz, at, msg);
			return -1;
		}
	}
	return 0;
}

/* jansson's tree as ours. check_limits has bounded it (depth, count), so the recursion is shallow. */
static json_value *convert(const json_t *j)
{
	json_value *v = calloc(1, sizeof *v);
	if (!v)
		return NULL;
	switch (json_typeof(j)) {
	case JANSSON_OBJECT: {
		v->type = JSON_OBJECT;
		size_t n = json_object_size(j);
		if (!n)
			break;
		v->items = calloc(n, sizeof *v->items);
		v->keys = calloc(n, sizeof *v->keys);
		if (!v->items || !v->keys)
			goto bad;
		const char *key;
		json_t *member;
		/* jansson >= 2.8 iterates members in insertion order, that is, document order. */
		json_object_foreach((json_t *)j, key, member) {
			if (v->count == n)
				break;
			v->keys[v->count] = strdup(key);
			v->items[v->count] = v->keys[v->count] ? convert(member) : NULL;
			if (!v->items[v->count]) {
				free(v->keys[v->count]);
				v->keys[v->count] = NULL;
				goto bad;
			}
			v->count++;
		}
		break;
	}
	case JANSSON_ARRAY: {
		v->type = JSON_ARRAY;
		size_t n = json_array_size(j);
		if (!n)
			break;
		v->items = calloc(n, sizeof *v->items);
		if (!v->items)
			goto bad;
		for (; v->count < n; v->count++)
			if (!(v->items[v->count] = convert(json_array_get(j, v->count))))
				goto bad;
		break;
	}
	case JANSSON_STRING: {
		v->type = JSON_STRING;
		v->string_len = json_string_length(j);
		v->string = malloc(v->string_len + 1);
		if (!v->string)
			goto bad;
		memcpy(v->string, json_string_value(j), v->string_len);
		v->string[v->string_len] = 0;
		break;
	}
	case JSON_INTEGER:
		v->type = JSON_NUMBER;
		v->is_integer = 1;
		v->integer = (int64_t)json_integer_value(j);
		v->number = (double)v->integer;
		break;
	case JSON_REAL:
		v->type = JSON_NUMBER;
		v->number = json_real_value(j);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		v->type = JSON_BOOL;
		v->boolean = json_typeof(j) == JSON_TRUE;
		break;
	case JANSSON_NULL:
		v->type = JSON_NULL;
		break;
	}
	return v;
bad:
	json_free(v);
	return NULL;
}

json_value *json_parse(const char *text, size_t len, char *err, size_t errsz)
{
	if (err && errsz)
		err[0] = 0;
	if (check_limits((const unsigned char *)text, len, err, errsz) != 0)
		return NULL;
	json_error_t e;
	json_t *j = json_loadb(text, len, JSON_LOAD_FLAGS, &e);
	if (!j) {
		set_jansson_err(err, errsz, &e);
		return NULL;
	}
	json_value *v = convert(j);
	json_decref(j);
	if (!v)
		set_err(err, errsz, 0, "out of memory");
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
