/* clip_tokenizer.h — CLIP's byte-level BPE tokenizer, token for token as OpenAI's clip/simple_tokenizer.py
 * with clip.tokenize(text, truncate=True):
 *
 *   text -> ftfy.fix_text -> html.unescape twice -> strip -> runs of white space to one ' ' -> strip
 *        -> str.lower()
 *        -> split by the pattern  <|startoftext|> | <|endoftext|> | 's|'t|'re|'ve|'m|'ll|'d
 *                                 | \p{L}+ | \p{N} | [^\s\p{L}\p{N}]+   (regex module, IGNORECASE)
 *        -> each piece's UTF-8 bytes through the byte-to-unicode map -> BPE with the ranked merges of
 *           bpe_simple_vocab_16e6.txt.gz, "</w>" on the last symbol -> vocabulary ids
 *        -> SOT (49406), the ids, EOT (49407); cut to the context (77) with EOT kept as the last id.
 *
 * The first step, ftfy.fix_text, is clip_ftfy.h's (ftfy 6.3 exactly, its mojibake repair included). The
 * Unicode tables are utf8proc's; see clip_tokenizer.c for the details that follow Python's semantics
 * rather than utf8proc's (full lower-casing of U+0130, final sigma, white space).
 *
 * A loaded tokenizer is read-only: one may be shared by threads. Nothing here dies; errors come back as
 * messages in err (which may be NULL). */
#ifndef LFM_CLIP_TOKENIZER_H
#define LFM_CLIP_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#define CLIP_BPE_FILE "bpe_simple_vocab_16e6.txt.gz"
#define CLIP_CONTEXT 77     /* clip.tokenize's context_length */
#define CLIP_VOCAB 49408    /* 256 bytes, 256 bytes + "</w>", 48,894 merges, SOT, EOT */
#define CLIP_MERGES 48894
#define CLIP_SOT 49406
#define CLIP_EOT 49407

typedef struct clip_tokenizer clip_tokenizer;

/* Load the vocabulary from bpe_path (gzip-compressed as OpenAI ships it, or plain text). path NULL
 * searches for CLIP_BPE_FILE in, in order:
 *   $LFM_DATADIR/clip/             (the environment variable, when set)
 *   EXEDIR/../share/lfm/clip/      (EXEDIR: the running executable's folder, from /proc/self/exe: an
 *                                    installed tool finds the installed copy wherever the prefix is)
 *   EXEDIR/../data/clip/           (a tool run from the source tree: bin/../data/clip)
 *   LFM_DATADIR/clip/              (the compiled-in install location, PREFIX/share/lfm)
 * Returns NULL with a message in err (naming every place tried, or the file and what is wrong with it). */
clip_tokenizer *clip_tokenizer_load(const char *bpe_path, char *err, size_t errsz);
void clip_tokenizer_free(clip_tokenizer *t);

/* The file the vocabulary came from. */
const char *clip_tokenizer_path(const clip_tokenizer *t);

/* Tokenize text[0..len) (UTF-8; NUL bytes are characters like any other) to SOT ... EOT, at most context
 * ids (context >= 1; when the text is longer, the ids are cut to context and the last one is replaced by
 * EOT, as clip.tokenize(truncate=True)). Writes the ids to out[0..context) and returns their number, or
 * returns -1 with a message: "invalid UTF-8 at byte K" (K counted from 0), a bad context, out of memory. */
int clip_tokenize(const clip_tokenizer *t, const char *text, size_t len, int32_t *out, int context, char *err,
		  size_t errsz);

/* The text of ids[0..n) as simple_tokenizer.py's decode(): the tokens' bytes, decoded as UTF-8 with each
 * maximal invalid sequence replaced by U+FFFD, then "</w>" replaced by " ". Returns a malloc'd
 * NUL-terminated string, or NULL with a message (an id outside the vocabulary, out of memory). */
char *clip_detokenize(const clip_tokenizer *t, const int32_t *ids, size_t n, char *err, size_t errsz);

#endif
