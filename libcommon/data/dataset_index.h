/* dataset_index.h — the small things every dataset reader shares (dataset_index.c): a string arena, a
 * string -> index map, class-name lists, whole small files, and names (base name, extension, split). A
 * leaf of the data/ graph (dataset_internal.h): it knows nothing of the dataset structure. */
#ifndef LFM_DATASET_INDEX_H
#define LFM_DATASET_INDEX_H

#include <stddef.h>

/* Many small strings in one growing buffer, referred to by offset (stable across growth). */
typedef struct ds_strings {
	char *buf;
	size_t len, cap;
} ds_strings;
size_t ds_strings_add(ds_strings *s, const char *str, size_t n); /* copies n bytes + NUL; returns offset */
void ds_strings_free(ds_strings *s);

/* Open addressing over string keys that must outlive the map (build it once the strings are final). */
typedef struct ds_map_entry {
	const char *key;
	size_t value;
} ds_map_entry;
typedef struct ds_map {
	ds_map_entry *e;
	size_t cap, n;
} ds_map;
void ds_map_init(ds_map *m, size_t expected);
/* Insert; if the key is present, *old gets its value (may be NULL), it is replaced when replace is set,
 * and 1 is returned; 0 when inserted. */
int ds_map_put(ds_map *m, const char *key, size_t value, int replace, size_t *old);
int ds_map_get(const ds_map *m, const char *key, size_t *value); /* 1 found, 0 not */
void ds_map_free(ds_map *m);

/* Class names from a text file or buffer: one a line, \r\n tolerated, trailing blank lines ignored,
 * surrounding blanks trimmed; an empty line in the middle, a duplicate or no name at all is an error. */
int ds_parse_names(const char *buf, size_t len, const char *name, char ***out, int *count, char *err,
		   size_t errsz);
int ds_read_names_file(const char *path, char ***out, int *count, char *err, size_t errsz);
void ds_free_names(char **names, int count);

/* Read a whole (small) file; a NUL is appended. 0 or an exit code. */
int ds_read_whole_file(const char *path, size_t max, char **out, size_t *len, char *err, size_t errsz);

/* ---- names ---------------------------------------------------------------------------------------- */

/* The file name part of a path, and whether a name ends in ext (case-insensitive, ext with the dot). */
const char *ds_basename(const char *path);
int ds_has_ext(const char *name, const char *ext);
int ds_is_split_name(const char *s, size_t n); /* "train", "test" or "val" */

#endif
