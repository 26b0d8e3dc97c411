/* dataset_index.h — the small things every dataset reader shares (dataset_index.c): a string arena, a
 * string -> index map, whole small files, and names (base name, extension, split). A
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

/* The line at *pos of buf[0..len) (*pos < len): its start, and in *n its length without the '\n'; *pos
 * moves past it. For the line-oriented lists (class names, split lists). */
const char *ds_next_line(const char *buf, size_t len, size_t *pos, size_t *n);

/* Read a whole (small) file; a NUL is appended. A pipe or a device is read to its end. 0 or an exit code. */
int ds_read_whole_file(const char *path, size_t max, char **out, size_t *len, char *err, size_t errsz);

/* Reads confined to a dataset root (root_real: its realpath). A symbolic link inside an image folder or
 * under a split list's root is followed only where it resolves to somewhere inside the root: a dataset
 * is what is under its root, and a link out of it (leak.jpg -> ~/.ssh/id_rsa) must not carry other files
 * into training or into a --pack tar. Links that stay inside are followed (a class folder linked to
 * another is common, and harmless). Not a defence against a concurrent attacker (the check and the open
 * are two steps; the open takes the resolved name, with O_NOFOLLOW).
 *
 * ds_link_leaves: when path itself is a symbolic link resolving outside root_real, its target (free it);
 * NULL otherwise (no link, a link inside, or a dangling one).
 * ds_read_confined: ds_read_whole_file for sample files: path resolved, refused (LFM_EXIT_DATA) when
 * outside root_real or not a regular file. */
char *ds_link_leaves(const char *root_real, const char *path);
int ds_read_confined(const char *root_real, const char *path, size_t max, char **out, size_t *len, char *err,
		     size_t errsz);

/* ---- names ---------------------------------------------------------------------------------------- */

/* The file name part of a path, and whether a name ends in ext (case-insensitive, ext with the dot). */
const char *ds_basename(const char *path);
int ds_has_ext(const char *name, const char *ext);
int ds_is_split_name(const char *s, size_t n); /* "train", "test" or "val" */

#endif
