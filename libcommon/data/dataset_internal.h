/* dataset_internal.h — what the dataset_*.c files share: the dataset structure, where a sample's bytes
 * live, the archive scanner, and the parsers (exposed here for the unit and fuzz tests).
 * Not part of the public API: tools use dataset.h only. */
#ifndef LFM_DATASET_INTERNAL_H
#define LFM_DATASET_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"

/* ---- SHA-256 (FIPS 180-4), for source identity -------------------------------------------------- */

typedef struct sha256_ctx {
	uint32_t h[8];
	uint64_t bytes;
	uint8_t block[64];
	size_t used;
} sha256_ctx;
void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t n);
void sha256_final(sha256_ctx *c, uint8_t digest[32]);
/* "prefix" followed by the 64 lower-case hex digits, in out (at least strlen(prefix) + 65 bytes). */
void sha256_hex(const uint8_t digest[32], const char *prefix, char *out);

/* ---- strings and a string -> index map ----------------------------------------------------------- */

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

/* ---- where bytes live --------------------------------------------------------------------------- */

enum ds_where {
	DS_NONE = 0, /* no bytes: index-only, a hole, or not cached */
	DS_MEM,      /* ds->mem[region] + off */
	DS_FD,       /* pread(ds->fd[region], off) */
	DS_PATH,     /* the file ds->path_prefix + key (directories) */
};

#define DS_MAX_REGIONS 16

typedef struct ds_loc {
	uint64_t off;
	uint64_t size;
	uint8_t where;  /* enum ds_where */
	uint8_t region; /* memory region or file descriptor slot */
} ds_loc;

struct dataset {
	dataset_kind kind;
	char *split;
	int index_only;

	dataset_identity id;
	char *id_path, *id_hash;

	int num_classes;
	char **class_names;
	size_t *class_count;

	size_t n, cap;
	int32_t *label;     /* -1 for a hole */
	uint8_t *skind;     /* dataset_sample_kind per sample */
	size_t *key_off;    /* into keys */
	ds_loc *loc;
	ds_strings keys;
	ds_map key_map;     /* key -> index, built at the end of the open */

	uint8_t *mem[DS_MAX_REGIONS];
	size_t mem_size[DS_MAX_REGIONS];
	int fd[DS_MAX_REGIONS];
	char *path_prefix;  /* DS_PATH: directory + "/" */

	size_t bad;          /* holes */
	char *bad_msg[32];
	size_t bad_msgs;
	size_t ignored;
	char *ignored_example;
};

/* Append a sample; returns its index. */
size_t ds_add_sample(dataset *ds, int label, dataset_sample_kind kind, const char *key, ds_loc loc);
/* Record a skipped record's reason (the first 32 are kept) and count it. */
void ds_note_bad(dataset *ds, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ds_note_ignored(dataset *ds, const char *example);
/* Read the bytes at loc (for sample keys with DS_PATH, key names the file). Memory locations are
 * returned in place (*owned = NULL), others in a fresh buffer (*owned = it). */
int ds_read_loc(const dataset *ds, const ds_loc *loc, const char *key, const uint8_t **data, size_t *size,
		void **owned, char *err, size_t errsz);
/* Set the class names (takes ownership) and count samples per class. */
void ds_set_classes(dataset *ds, char **names, int count);
void ds_count_classes(dataset *ds);

/* ---- archives ----------------------------------------------------------------------------------- */

enum ds_want {
	DS_SKIP = 0,   /* only its name and size are recorded */
	DS_KEEP = 1,   /* its bytes must be readable later (in place, cached in memory or a temp file) */
	DS_STREAM = 2, /* its bytes are handed to the stream callback as they are read */
};

typedef struct ds_member {
	char *name;  /* "./" and leading "/" removed */
	uint64_t size;
	ds_loc loc;  /* DS_FD region 0 (in place or temp cache), DS_MEM region 0 (memory cache) or DS_NONE */
} ds_member;

typedef struct ds_scan {
	ds_member *m;
	size_t n, cap;
	int not_archive; /* libarchive recognised no archive format (the file may be a split list) */
	int in_place;    /* an uncompressed tar: every member is readable at its offset in fd */
	int fd;          /* the archive (in place) or the temporary cache file; -1 if none */
	uint8_t *mem;    /* the memory cache */
	size_t mem_len, mem_cap;
	uint64_t size;   /* of the archive file */
	char hash[80];   /* "sha256:..." */
} ds_scan;

typedef int (*ds_want_fn)(void *ctx, const char *name, uint64_t size);
/* Called with each piece of a DS_STREAM member's data, then once with data == NULL at its end. Returns 0
 * or an exit code with a message in err. */
typedef int (*ds_stream_fn)(void *ctx, const char *name, const void *data, size_t n, char *err,
			    size_t errsz);

/* One sequential pass over the archive at path, hashing every byte of the file on the way. */
int ds_scan_archive(const char *path, ds_want_fn want, ds_stream_fn stream, void *ctx,
		    const char *cache_dir, ds_scan *out, char *err, size_t errsz);
/* Move the scan's fd and memory cache into region 0 of ds (the members' locations refer to it). */
void ds_adopt_scan(dataset *ds, ds_scan *scan);
/* Read member i's bytes (kept or in place) before the scan is adopted. */
int ds_scan_read(const ds_scan *scan, size_t i, const char *source, const uint8_t **data, size_t *size,
		 void **owned, char *err, size_t errsz);
void ds_scan_free(ds_scan *scan);
/* The file name part of a path, and whether a name ends in ext (case-insensitive, ext with the dot). */
const char *ds_basename(const char *path);
int ds_has_ext(const char *name, const char *ext);
int ds_is_split_name(const char *s, size_t n); /* "train", "test" or "val" */

/* ---- CIFAR ---------------------------------------------------------------------------------------- */

#define CIFAR_PIXELS 3072

/* Incremental parser of one batch file: fed pieces of any size, it splits records and checks labels. */
typedef struct cifar_parser {
	const char *name;   /* for messages: "data_batch_1.bin" */
	int label_bytes;    /* 1 (CIFAR-10) or 2 (CIFAR-100: coarse, fine) */
	int num_classes;    /* 10 or 100: a label >= this is out of range */
	int skip_bad;
	int keep_pixels;
	uint8_t rec[2 + CIFAR_PIXELS];
	size_t have;        /* bytes of rec filled */
	size_t records;     /* complete records seen (holes included) */
	int32_t *labels;    /* [records], -1 for a bad one */
	uint8_t *pixels;    /* [records * 3072] when keep_pixels */
	size_t cap;
	size_t bad;
	char first_bad[256];
	int truncated;      /* the last record was incomplete (a hole with skip_bad) */
} cifar_parser;

void cifar_parser_init(cifar_parser *p, const char *name, int label_bytes, int num_classes, int skip_bad,
		       int keep_pixels, uint64_t size_hint);
int cifar_parser_feed(cifar_parser *p, const void *data, size_t n, char *err, size_t errsz);
int cifar_parser_finish(cifar_parser *p, char *err, size_t errsz);
void cifar_parser_free(cifar_parser *p);

/* Loaders, each filling an opened dataset (kind, samples, classes, identity). */
int ds_open_cifar_dir(dataset *ds, const char *dir, const dataset_options *o, char *err, size_t errsz);
int ds_is_cifar_dir(const char *dir);
/* ---- the one-pass archive open shared by CIFAR tarballs, image-folder archives and WebDataset ---- */
int ds_open_archive(dataset *ds, const char *path, const dataset_options *o, char *err, size_t errsz,
		    int *not_archive);

/* CIFAR inside an archive: the per-member hooks used during the scan, and the final assembly. */
typedef struct cifar_archive cifar_archive;
cifar_archive *cifar_archive_new(const dataset_options *o, int keep_pixels);
/* Whether name is a CIFAR batch or meta file: DS_STREAM / DS_KEEP, or -1 if it is not CIFAR's. */
int cifar_archive_want(cifar_archive *c, const char *name, uint64_t size);
int cifar_archive_stream(cifar_archive *c, const char *name, const void *data, size_t n, char *err,
			 size_t errsz);
int cifar_archive_seen(const cifar_archive *c); /* any CIFAR file */
int cifar_archive_finish(cifar_archive *c, dataset *ds, ds_scan *scan, const dataset_options *o,
			 char *err, size_t errsz);
void cifar_archive_free(cifar_archive *c);

/* Image folders. A file of the folder: its path below the top folder, and where its bytes are. */
typedef struct folder_file {
	const char *rel; /* "train/cat/0001.jpg" */
	uint64_t size;
	ds_loc loc;
} folder_file;
int ds_is_folder_dir(const char *dir, char **root_out);
int ds_open_folder_dir(dataset *ds, const char *dir, const dataset_options *o, char *err, size_t errsz);
/* The top folder (or "") of an archive laid out as [top/]<split>/<class>/<file>; -1 if not that layout. */
int folder_archive_top(const ds_scan *scan, char **top);
int ds_folder_from_scan(dataset *ds, ds_scan *scan, const char *top, const dataset_options *o, char *err,
			size_t errsz);

/* WebDataset: key and extension of a member name (key = up to the first dot of the file name). */
int wds_split_name(const char *name, size_t *key_len, const char **ext);
int ds_wds_from_scan(dataset *ds, ds_scan *scan, const dataset_options *o, char *err, size_t errsz);

/* Split lists. */
typedef struct split_list {
	size_t n;
	ds_strings paths;
	size_t *path_off;
	int32_t *label;     /* -1 for a bad line (skip_bad) */
	int max_label;
	size_t bad;
	char first_bad[256];
} split_list;
/* Parse "path label" lines. num_classes > 0 bounds labels; 0 accepts 0 .. 1,000,000. */
int split_list_parse(const char *buf, size_t len, const char *name, int num_classes, int skip_bad,
		     split_list *out, char *err, size_t errsz);
void split_list_free(split_list *l);
int ds_open_split_list(dataset *ds, const char *list_path, const dataset_options *o, char *err,
		       size_t errsz);

#endif
