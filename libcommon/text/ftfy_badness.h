/* ftfy_badness.h — ftfy 6.3's mojibake heuristic (badness.py's BADNESS_RE, through is_bad) and the
 * character classes it and chardata.py's UTF8_DETECTOR_RE are made of (ftfy_tables.h). */
#ifndef LFM_FTFY_BADNESS_H
#define LFM_FTFY_BADNESS_H

#include <stddef.h>
#include <stdint.h>

/* The FTFY_* class bits of code point c (0 for most). */
uint32_t ftfy_class(uint32_t c);

/* Whether Python's re \w matches c. */
int ftfy_is_word(uint32_t c);

/* badness.is_bad(s[0..n)): whether BADNESS_RE matches anywhere. Linear in n: every alternative of the
 * expression is a fixed, short sequence, checked at each position. */
int ftfy_is_bad(const uint32_t *s, size_t n);

#endif
