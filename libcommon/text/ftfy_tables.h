/* ftfy_tables.h — the data of ftfy 6.3.1's mojibake repair, generated into ftfy_tables.c from the installed
 * ftfy by scripts/make-ftfy-tables.py (ftfy is MIT/Apache-2.0; only its tables are taken): the single-byte
 * encodings it re-decodes in, and which of its character classes each code point belongs to, as Python's
 * re sees them (so ranges, \s and \w follow Python 3.11's unicodedata, Unicode 14, not utf8proc's). */
#ifndef LFM_FTFY_TABLES_H
#define LFM_FTFY_TABLES_H

#include <stddef.h>
#include <stdint.h>

/* chardata.CHARMAP_ENCODINGS in ftfy's order; the index of each */
enum {
	FTFY_LATIN1,
	FTFY_SLOPPY_1252,
	FTFY_SLOPPY_1251,
	FTFY_SLOPPY_1250,
	FTFY_SLOPPY_1253,
	FTFY_SLOPPY_1254,
	FTFY_SLOPPY_1257,
	FTFY_ISO8859_2,
	FTFY_MACROMAN,
	FTFY_CP437,
	FTFY_N_CHARMAPS
};
extern const char *const ftfy_charmap_names[FTFY_N_CHARMAPS];
/* byte -> code point; each table is one-to-one, so encoding is its inverse, and the characters it reaches
 * are exactly those chardata.possible_encoding accepts for that encoding */
extern const uint32_t ftfy_charmap_decode[FTFY_N_CHARMAPS][256];
/* encoding: bytes 0x80..0xFF and 0x1A of each table, sorted by code point (the other bytes are ASCII) */
#define FTFY_ENCODE_SIZE 129
typedef struct ftfy_charmap_byte {
	uint32_t cp;
	uint8_t byte;
} ftfy_charmap_byte;
extern const ftfy_charmap_byte ftfy_charmap_encode[FTFY_N_CHARMAPS][FTFY_ENCODE_SIZE];
/* Python's strict windows-1252: 0xFFFFFFFF for the five unassigned bytes */
extern const uint32_t ftfy_windows1252_strict[256];

/* The class bits: badness.MOJIBAKE_CATEGORIES, then chardata.UTF8_CLUES, then Python's \s. */
enum {
	FTFY_COMMON = 1 << 0,
	FTFY_C1 = 1 << 1,
	FTFY_BAD = 1 << 2,
	FTFY_LAW = 1 << 3,
	FTFY_CURRENCY = 1 << 4,
	FTFY_START_PUNCT = 1 << 5,
	FTFY_END_PUNCT = 1 << 6,
	FTFY_NUMERIC = 1 << 7,
	FTFY_KAOMOJI = 1 << 8,
	FTFY_UPPER_ACCENTED = 1 << 9,
	FTFY_LOWER_ACCENTED = 1 << 10,
	FTFY_UPPER_COMMON = 1 << 11,
	FTFY_LOWER_COMMON = 1 << 12,
	FTFY_BOX = 1 << 13,
	FTFY_UTF8_FIRST2 = 1 << 14,
	FTFY_UTF8_FIRST3 = 1 << 15,
	FTFY_UTF8_FIRST4 = 1 << 16,
	FTFY_UTF8_CONT = 1 << 17,
	FTFY_UTF8_CONT_STRICT = 1 << 18,
	FTFY_SPACE = 1 << 19 /* Python's re \s */
};

typedef struct ftfy_char_class {
	uint32_t cp, bits;
} ftfy_char_class;
extern const ftfy_char_class ftfy_char_classes[]; /* sorted by cp; code points in no class are absent */
extern const size_t ftfy_char_classes_count;
extern const uint32_t ftfy_word_ranges[][2]; /* Python's re \w, sorted inclusive ranges */
extern const size_t ftfy_word_ranges_count;
/* the code points Python's unicodedata leaves unassigned (Cn), sorted inclusive ranges: NFC must leave
 * them where they are, as Python does, even where utf8proc knows them as combining marks */
extern const uint32_t ftfy_unassigned_ranges[][2];
extern const size_t ftfy_unassigned_ranges_count;

/* Whether c lies in one of the n sorted, disjoint inclusive ranges r (the tables above): binary search. */
static inline int ftfy_in_ranges(const uint32_t (*r)[2], size_t n, uint32_t c)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r[mid][1] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && r[lo][0] <= c;
}

#endif
