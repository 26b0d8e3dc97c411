/* class_names.h — the one reader of class-name lists (class_names.c), for every tool and dataset reader
 * that takes class names from text: lt-subset's and the readers' --classes (dataset_options.classes_file),
 * CIFAR's batches.meta.txt / fine_label_names.txt, clip-embed-text's CLASSES. One reader so that a list one
 * tool accepts is a list every tool accepts, and a name that reaches a stream header is valid UTF-8 (a
 * msgpack string; Python's msgpack refuses anything else).
 *
 * The rules: one name a line, in label order; "\n" or "\r\n" line ends; blanks (space, tab) around a name
 * are trimmed; blank lines may end the list but not separate names; no comment syntax (a '#' is part of a
 * name). Refused, with the line number: a NUL byte, invalid UTF-8 (RFC 3629: no overlong forms, no
 * surrogates), a name longer than CLASS_NAME_MAX bytes, a name that repeats an earlier one, an empty line
 * between names, more than CLASS_NAMES_MAX names, no name at all. Depends on base/ and the data/ leaves
 * only (dataset_index.h for its map and whole files). */
#ifndef LFM_CLASS_NAMES_H
#define LFM_CLASS_NAMES_H

#include <stddef.h>

/* The longest name, in bytes: CLIP reads 77 tokens of a prompt at most, and no class name needs more
 * than a few dozen bytes; the cap keeps a stray multi-megabyte line from reaching the tokenizer. */
#define CLASS_NAME_MAX 1024
#define CLASS_NAMES_MAX 1000000          /* names in one list */
#define CLASS_NAMES_FILE_MAX (64u << 20) /* bytes of a list file */

/* Why name[0..len) cannot be a class name ("empty class name", "NUL byte in a class name", "invalid
 * UTF-8 at byte K of the name", "class name of N bytes (at most 1024)"), or NULL when it can. The text
 * goes in why[whysz]. */
const char *class_name_problem(const char *name, size_t len, char *why, size_t whysz);

/* Parse buf[0..len), a list as the rules say; name is the file named in messages. 0 with *out
 * (class_names_free) and *count, or LFM_EXIT_DATA with "NAME: line N: ..." in err. */
int class_names_parse(const char *buf, size_t len, const char *name, char ***out, int *count, char *err,
		      size_t errsz);

/* The same from a file (at most CLASS_NAMES_FILE_MAX bytes); a missing or unreadable file is LFM_EXIT_IO. */
int class_names_read(const char *path, char ***out, int *count, char *err, size_t errsz);

/* Names that came from elsewhere (a stream header): each as class_name_problem says, none twice.
 * 0, or LFM_EXIT_DATA with "SOURCE: class K: ..." in err. lens[k] is names[k]'s length (names may hold
 * NUL bytes until checked); lens NULL: strlen. */
int class_names_check(char *const *names, const size_t *lens, size_t count, const char *source, char *err,
		      size_t errsz);

void class_names_free(char **names, int count);

#endif
