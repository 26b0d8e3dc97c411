/* html_unescape.h — CPython's html.unescape() over code points, exactly (the character-reference grammar
 * &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?), the full HTML5 named table with the legacy
 * names that need no ';' and the longest-prefix rule ("&ampx" -> "&x"), and the numeric rules: NUL and
 * surrogates -> U+FFFD, 0x80..0x9F as Windows-1252, control and non-characters dropped), from the tables
 * html_entities.c generates from CPython's html module. Used by the CLIP tokenizer (OpenAI's basic_clean
 * calls html.unescape twice) and by its ftfy steps (clip_ftfy.h). */
#ifndef LFM_HTML_UNESCAPE_H
#define LFM_HTML_UNESCAPE_H

#include <stddef.h>
#include <stdint.h>

#include "text/html_entities.h"

/* html.unescape(s[0..n)) into out (never longer than the input). Returns the length. */
size_t html_unescape(const uint32_t *s, size_t n, uint32_t *out);

/* The entity named name[0..len) exactly (with its ';' if it has one), or NULL. */
const html_entity *html_entity_find(const uint32_t *name, size_t len);

#endif
