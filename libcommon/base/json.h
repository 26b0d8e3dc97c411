/* json.h — a strict JSON parser (RFC 8259) producing a tree, and a writer for strings.
 * Used for safetensors headers, reference.json and tool output. Parsing is jansson's (>= 2.8, which keeps
 * object members in document order), converted to the tree below so callers need no jansson. Invalid
 * UTF-8, control characters in strings, \u0000, unpaired surrogates, trailing garbage, duplicate keys (an
 * error; safetensors forbids them), numbers outside the grammar or outside double range are errors with
 * a byte offset ("at byte N: " and jansson's message). Integer literals outside int64 are errors too
 * (jansson: "too big integer"), not doubles; a safetensors header never needs one. "-0" reads as the
 * integer 0 (number +0.0). Depth and size are bounded (JSON_MAX_DEPTH, JSON_MAX_NODES) before jansson
 * builds anything, so hostile input costs bounded stack and memory. Numbers are read in the C sense
 * ('.' decimal point) whatever the process locale. Never dies. The tree is one allocation per node (plus
 * its strings and arrays); json_free releases it all. */
#ifndef LFM_JSON_H
#define LFM_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 64        /* nesting of arrays and objects */
#define JSON_MAX_NODES (1 << 21) /* values in one document (about 200 MB of tree at most) */

/* Length of the valid UTF-8 sequence at s[0..avail) (avail >= 1), or 0 if invalid (overlong forms,
 * surrogates and code points above U+10FFFF are invalid, as RFC 3629 says). The parser's own check, also
 * used where other text must be UTF-8 (class names: data/class_names.h). */
size_t utf8_seq_len(const unsigned char *s, size_t avail);

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_value json_value;
struct json_value {
	json_type type;
	int boolean;
	double number;
	int is_integer;     /* the literal had no fraction or exponent (it then fits int64: larger is refused) */
	int64_t integer;    /* its value when is_integer */
	char *string;       /* JSON_STRING: decoded UTF-8, NUL-terminated (may contain no NUL: \u0000 refused) */
	size_t string_len;
	size_t count;       /* JSON_ARRAY / JSON_OBJECT: number of elements / members */
	json_value **items; /* elements, or member values */
	char **keys;        /* JSON_OBJECT: member names, in document order */
};

/* Parse text[0..len). Returns the tree, or NULL with a message like "at byte 6: ':' expected near '1'" in err. */
json_value *json_parse(const char *text, size_t len, char *err, size_t errsz);
void json_free(json_value *v);
const json_value *json_get(const json_value *obj, const char *key); /* NULL if absent or not an object */

/* Write s as a JSON string literal (quotes, escapes) to f. */
void json_write_string(FILE *f, const char *s, size_t len);

#endif
