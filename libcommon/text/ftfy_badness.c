/* ftfy_badness.c — see ftfy_badness.h. BADNESS_RE is an alternation of short sequences of character
 * classes; is_bad only asks whether one of them matches somewhere, so each alternative is tested at each
 * position, in the expression's order (the order does not matter for "somewhere", it only keeps the code
 * easy to hold against badness.py). Written from ftfy 6.3.1's badness.py. */
#include "text/ftfy_badness.h"

#include "text/ftfy_tables.h"

uint32_t ftfy_class(uint32_t c)
{
	size_t lo = 0, hi = ftfy_char_classes_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ftfy_char_classes[mid].cp < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ftfy_char_classes_count && ftfy_char_classes[lo].cp == c ? ftfy_char_classes[lo].bits : 0;
}

int ftfy_is_word(uint32_t c)
{
	return ftfy_in_ranges(ftfy_word_ranges, ftfy_word_ranges_count, c);
}

/* c is one of the code points of the 0-terminated list */
static int in(uint32_t c, const uint32_t *list)
{
	for (; *list; list++)
		if (*list == c)
			return 1;
	return 0;
}

static int lower_az(uint32_t c)
{
	return c >= 'a' && c <= 'z';
}

static int ascii_alpha(uint32_t c)
{
	return lower_az(c) || (c >= 'A' && c <= 'Z');
}

#define LA FTFY_LOWER_ACCENTED
#define UA FTFY_UPPER_ACCENTED
#define LC FTFY_LOWER_COMMON
#define UC FTFY_UPPER_COMMON
#define SP FTFY_START_PUNCT
#define EP FTFY_END_PUNCT
#define CUR FTFY_CURRENCY
#define NUM FTFY_NUMERIC
#define LAW FTFY_LAW
#define BOX FTFY_BOX
#define BAD FTFY_BAD
#define C1 FTFY_C1

/* Whether an alternative of BADNESS_RE matches at s[i]; k[j] is the class of s[i + j] (0 past the end),
 * m the number of code points left from i. */
static int bad_at(const uint32_t *s, size_t i, size_t m, const uint32_t *k)
{
	const uint32_t *c = s + i;
	uint32_t a = k[0], b = k[1], d = k[2];
	if (a & C1)
		return 1;
	if (m < 2)
		return 0;
	if ((a & (BAD | LA | UA | BOX | SP | EP | CUR | NUM | LAW)) && (b & BAD))
		return 1;
	if (m >= 3 && ascii_alpha(c[0]) && (b & (LC | UC)) && (d & BAD))
		return 1;
	if ((a & BAD) && (b & (LA | UA | BOX | SP | EP | CUR | NUM | LAW)))
		return 1;
	if ((a & (LA | LC | BOX | EP | CUR | NUM)) && (b & UA))
		return 1;
	if ((a & (BOX | EP | CUR | NUM)) && (b & LA))
		return 1;
	if ((a & (LA | BOX | EP)) && (b & CUR))
		return 1;
	if (m >= 3 && (a & FTFY_SPACE) && (b & UA) && (d & CUR))
		return 1;
	if ((a & (UA | BOX)) && (b & (NUM | LAW)))
		return 1;
	if (m >= 3 && (a & (LA | UA | BOX | CUR | EP)) && (b & SP) && (d & NUM))
		return 1;
	if (m >= 3 && (a & (LA | UA | CUR | NUM | BOX | LAW)) && (b & EP) && (d & SP))
		return 1;
	if ((a & (CUR | NUM | BOX)) && (b & SP))
		return 1;
	if (m >= 3 && lower_az(c[0]) && (b & UA) && (d & (SP | CUR)))
		return 1;
	if ((a & BOX) && (b & FTFY_KAOMOJI))
		return 1;
	if ((a & (LA | UA | CUR | NUM | SP | EP | LAW)) && (b & BOX))
		return 1;
	if ((a & BOX) && (b & EP))
		return 1;
	if (m >= 3 && (a & (LA | UA)) && (b & (SP | EP)) && ftfy_is_word(c[2]))
		return 1;
	/* [Œœ][^A-Za-z] */
	if ((c[0] == 0x152 || c[0] == 0x153) && !ascii_alpha(c[1]))
		return 1;
	/* [{upper_accented}]° */
	if ((a & UA) && c[1] == 0xB0)
		return 1;
	/* [ÂÃÎÐ][€œŠš¢£Ÿž\xa0\xad®©°·»{start_punctuation}{end_punctuation}–—´] */
	if (in(c[0], U"\u00C2\u00C3\u00CE\u00D0") &&
	    ((b & (SP | EP)) || in(c[1], U"\u20AC\u0153\u0160\u0161\u00A2\u00A3\u0178\u017E\u00A0\u00AD\u00AE\u00A9"
				       U"\u00B0\u00B7\u00BB\u2013\u2014\u00B4")))
		return 1;
	/* × [²³] */
	if (c[0] == 0xD7 && (c[1] == 0xB2 || c[1] == 0xB3))
		return 1;
	/* [ØÙ] [{common}{currency}{bad}{numeric}{start_punctuation}ŸŠ®°µ»], twice */
	if (m >= 4 && (c[0] == 0xD8 || c[0] == 0xD9) && (c[2] == 0xD8 || c[2] == 0xD9)) {
		static const uint32_t more[] = U"\u0178\u0160\u00AE\u00B0\u00B5\u00BB";
		uint32_t cls = FTFY_COMMON | CUR | BAD | NUM | SP;
		if (((b & cls) || in(c[1], more)) && ((k[3] & cls) || in(c[3], more)))
			return 1;
	}
	/* à[²µ¹¼½¾] */
	if (c[0] == 0xE0 && in(c[1], U"\u00B2\u00B5\u00B9\u00BC\u00BD\u00BE"))
		return 1;
	/* √[±∂†≠®™´≤≥¥µø] */
	if (c[0] == 0x221A && in(c[1], U"\u00B1\u2202\u2020\u2260\u00AE\u2122\u00B4\u2264\u2265\u00A5\u00B5\u00F8"))
		return 1;
	/* ≈[°¢] */
	if (c[0] == 0x2248 && (c[1] == 0xB0 || c[1] == 0xA2))
		return 1;
	/* ‚Ä[ìîïòôúùû†°¢π] */
	if (m >= 3 && c[0] == 0x201A && c[1] == 0xC4 &&
	    in(c[2], U"\u00EC\u00EE\u00EF\u00F2\u00F4\u00FA\u00F9\u00FB\u2020\u00B0\u00A2\u03C0"))
		return 1;
	/* ‚[âó][àä°ê] */
	if (m >= 3 && c[0] == 0x201A && (c[1] == 0xE2 || c[1] == 0xF3) && in(c[2], U"\u00E0\u00E4\u00B0\u00EA"))
		return 1;
	/* вЂ */
	if (c[0] == 0x432 && c[1] == 0x402)
		return 1;
	/* [ВГРС][{c1}{bad}{start_punctuation}{end_punctuation}{currency}°µ][ВГРС] */
	if (m >= 3 && in(c[0], U"\u0412\u0413\u0420\u0421") && in(c[2], U"\u0412\u0413\u0420\u0421") &&
	    ((b & (C1 | BAD | SP | EP | CUR)) || c[1] == 0xB0 || c[1] == 0xB5))
		return 1;
	/* ГўВЂВ.[A-Za-z ]  ('.' is any character but '\n') */
	if (m >= 7 && c[0] == 0x413 && c[1] == 0x45E && c[2] == 0x412 && c[3] == 0x402 && c[4] == 0x412 &&
	    c[5] != '\n' && (ascii_alpha(c[6]) || c[6] == ' '))
		return 1;
	/* Ã[\xa0¡] */
	if (c[0] == 0xC3 && (c[1] == 0xA0 || c[1] == 0xA1))
		return 1;
	/* [a-z]\s?[ÃÂ][ ] */
	if (m >= 3 && lower_az(c[0]) &&
	    (((c[1] == 0xC3 || c[1] == 0xC2) && c[2] == ' ') ||
	     (m >= 4 && (b & FTFY_SPACE) && (c[2] == 0xC3 || c[2] == 0xC2) && c[3] == ' ')))
		return 1;
	/* ^[ÃÂ][ ] */
	if (i == 0 && (c[0] == 0xC3 || c[0] == 0xC2) && c[1] == ' ')
		return 1;
	/* [a-z.,?!{end_punctuation}] Â [ {start_punctuation}{end_punctuation}]  (VERBOSE: the spaces outside
	 * the classes are not part of it) */
	if (m >= 3 && (lower_az(c[0]) || in(c[0], U".,?!") || (a & EP)) && c[1] == 0xC2 &&
	    (c[2] == ' ' || (d & (SP | EP))))
		return 1;
	/* β€[™\xa0Ά\xad®°] */
	if (m >= 3 && c[0] == 0x3B2 && c[1] == 0x20AC && in(c[2], U"\u2122\u00A0\u0386\u00AD\u00AE\u00B0"))
		return 1;
	/* [ΒΓΞΟ][{c1}{bad}{start_punctuation}{end_punctuation}{currency}°][ΒΓΞΟ] */
	if (m >= 3 && in(c[0], U"\u0392\u0393\u039E\u039F") && in(c[2], U"\u0392\u0393\u039E\u039F") &&
	    ((b & (C1 | BAD | SP | EP | CUR)) || c[1] == 0xB0))
		return 1;
	/* ā€ */
	if (c[0] == 0x101 && c[1] == 0x20AC)
		return 1;
	return 0;
}

int ftfy_is_bad(const uint32_t *s, size_t n)
{
	/* k: the classes of s[i..i+4), slid along */
	uint32_t k[4] = {0, 0, 0, 0};
	for (size_t j = 0; j < 4 && j < n; j++)
		k[j] = ftfy_class(s[j]);
	for (size_t i = 0; i < n; i++) {
		if (bad_at(s, i, n - i, k))
			return 1;
		k[0] = k[1];
		k[1] = k[2];
		k[2] = k[3];
		k[3] = i + 4 < n ? ftfy_class(s[i + 4]) : 0;
	}
	return 0;
}
