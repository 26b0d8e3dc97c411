/* clip_ftfy.h — ftfy.fix_text (ftfy 6.3), which OpenAI's basic_clean applies to every prompt before
 * html.unescape, over code points.
 *
 * Every step of ftfy's default configuration is applied, in ftfy's order (fix_and_explain) and repeated
 * until the text stops changing, on segments that end at each '\n' or after 1,000,000 code points
 * (max_decode_length), with ftfy's "auto" HTML rule: once a segment holds a '<', that segment and all
 * later ones keep their entities:
 *   unescape_html        &name; from the HTML5 table (with the ';' only), all-caps forms of the lower-case
 *                        names (&NTILDE; -> Ñ, &SZLIG; -> SS), numeric references that html.unescape
 *                        resolves whole;
 *   fix_encoding         the mojibake repair, ftfy_encoding.h: "cafÃ©" -> "café", "â€œ" -> '"', doubled
 *                        mojibake, UTF-8 read as Windows-125x, ISO-8859-2, MacRoman or CP437, lost 0xA0
 *                        bytes, CESU-8; only where ftfy's badness heuristic (ftfy_badness.h) finds the
 *                        text bad;
 *   fix_c1_controls      U+0080..U+009F as Windows-1252 (the five unassigned bytes stay);
 *   fix_latin_ligatures  ﬁ -> fi, Ĳ -> IJ, ǆ -> dž, ... (ftfy's 22);
 *   fix_character_width  U+FF01..U+FFEF to their NFKC forms, U+3000 to a space;
 *   uncurl_quotes        U+02BC, U+2018..U+201B -> ', U+201C..U+201F -> ";
 *   fix_line_breaks      \r\n, \r, U+2028, U+2029, U+0085 -> \n;
 *   remove_terminal_escapes  ESC [ (digits or ;)* letter;
 *   remove_control_chars U+0000..U+0008, U+000B, U+000E..U+001F, U+007F, U+206A..U+206F, U+FEFF,
 *                        U+FFF9..U+FFFC;
 *   NFC normalisation    utf8proc's, except that code points Python 3.11's unicodedata (Unicode 14) does
 *                        not know stay in place, as they do in Python.
 * fix_surrogates has nothing to do: the input is valid UTF-8, which holds no surrogates.
 *
 * The result equals PyPI's ftfy 6.3.1 fix_text under Python 3.11: tests/cli/ftfy_corpus.sh compares them
 * on 120,000 strings (tests/interop/ftfy_corpus.py), with no mismatch. Where Python's Unicode version
 * matters (the heuristic's \s and \w, NFC), the tables follow Python 3.11's, as OpenAI's pipeline runs. */
#ifndef LFM_CLIP_FTFY_H
#define LFM_CLIP_FTFY_H

#include <stddef.h>
#include <stdint.h>

/* fix_text of s[0..n): the result in a new malloc'ed array *out (free it) of *out_n code points.
 * Returns 0, or -1 when out of memory (*out NULL). */
int clip_ftfy_fix_text(const uint32_t *s, size_t n, uint32_t **out, size_t *out_n);

#endif
