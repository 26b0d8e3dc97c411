/* json.h — a small, strict JSON parser (RFC 8259) producing a tree, and a writer for strings.
 * Used for safetensors headers, reference.json and tool output. Depth and size are bounded; invalid UTF-8,
 * control characters in strings, trailing garbage, duplicate keys (an error; safetensors forbids them)
 * and numbers outside double range are errors with a byte offset. The tree is one allocation per node;
 * json_free releases it all. */
#ifndef LFM_JSON_H
#define LFM_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_value json_value;
struct json_value {
	json_type type;
	int boolean;
	double number;
	int is_integer;     /* the literal had no fraction or exponent and fits int64 */
	int64_t integer;    /* its value when is_integer */
	char *string;       /* JSON_STRING: decoded UTF-8, NUL-terminated (may contain no NUL: \u0000 refused) */
	size_t string_len;
	size_t count;       /* JSON_ARRAY / JSON_OBJECT: number of elements / members */
	json_value **items; /* elements, or member values */
	char **keys;        /* JSON_OBJECT: member names, in document order */
};

/* Parse text[0..len). Returns the tree, or NULL with a message like "at byte 17: expected ':'" in err. */
json_value *json_parse(const char *text, size_t len, char *err, size_t errsz);
void json_free(json_value *v);
const json_value *json_get(const json_value *obj, const char *key); /* NULL if absent or not an object */

/* Write s as a JSON string literal (quotes, escapes) to f. */
void json_write_string(FILE *f, const char *s, size_t len);

#endif
