/* html_entities.h — the character-reference tables of CPython's html.unescape(), generated into
 * html_entities.c from CPython's own html module. clip_tokenizer.c resolves references with them exactly
 * as OpenAI's CLIP tokenizer does (it calls html.unescape twice). */
#ifndef LFM_HTML_ENTITIES_H
#define LFM_HTML_ENTITIES_H

#include <stddef.h>
#include <stdint.h>

typedef struct html_entity {
	const char *name; /* without the '&'; with the ';' when the name has one ("amp;" and "amp" both exist) */
	uint32_t cp[2];   /* the expansion: one or two code points, cp[1] == 0 when one */
} html_entity;

/* A numeric reference that expands to another character than its number (&#0; -> U+FFFD, &#x80; -> '€'). */
typedef struct html_charref_fix {
	uint32_t number, cp;
} html_charref_fix;

extern const html_entity html_entities[]; /* sorted by strcmp on name */
extern const size_t html_entities_count;
extern const html_charref_fix html_invalid_charrefs[]; /* sorted by number */
extern const size_t html_invalid_charrefs_count;
extern const uint32_t html_invalid_codepoints[]; /* sorted; numeric references expanding to nothing */
extern const size_t html_invalid_codepoints_count;

#endif
