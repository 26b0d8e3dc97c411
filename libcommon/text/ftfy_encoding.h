/* ftfy_encoding.h — ftfy 6.3's fix_encoding (the mojibake repair of fix_text: "cafÃ©" -> "café"), over code
 * points. Written from ftfy 6.3.1's __init__.py (fix_encoding_and_explain, _fix_encoding_one_step_and_explain),
 * fixes.py (restore_byte_a0, replace_lossy_sequences, decode_inconsistent_utf8, fix_c1_controls),
 * chardata.py and bad_codecs/ (the sloppy single-byte codecs, utf-8-variants), with its tables generated
 * into ftfy_tables.c. Repeated until the text stops changing, as ftfy does:
 *
 *   nothing to do for empty or ASCII text, or text that badness.is_bad does not find bad; else, for each of
 *   the ten single-byte encodings of chardata.CHARMAP_ENCODINGS in turn that can encode the text: encode
 *   it, put back the 0xA0 bytes that became spaces (restore_byte_a0, not for MacRoman), turn lost
 *   sequences into U+FFFD (replace_lossy_sequences, sloppy encodings only), and decode the bytes as UTF-8
 *   (as utf-8-variants, CESU-8 and Java's C0 80 allowed, when a 0xED or 0xC0 byte is there): the first
 *   that decodes is the result. Else the UTF-8-looking runs of the text are fixed one by one
 *   (decode_inconsistent_utf8); else Latin-1 text is read as Windows-1252; else C1 controls are. */
#ifndef LFM_FTFY_ENCODING_H
#define LFM_FTFY_ENCODING_H

#include <stddef.h>
#include <stdint.h>

/* ftfy.fix_encoding(s[0..n)) into a new malloc'ed *out of *out_n code points (free it). Returns 0, or -1
 * when out of memory (*out NULL). */
int ftfy_fix_encoding(const uint32_t *s, size_t n, uint32_t **out, size_t *out_n);

#endif
