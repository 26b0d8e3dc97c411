/* dataset_build.h — the dataset structure and the operations a reader fills it with (dataset_build.c):
 * where a sample's bytes live, appending samples, noting holes and ignored files, setting classes, and
 * reading the bytes at a location. The layer between the leaves (dataset_index.h) and the readers: the
 * readers and dataset_core.c use it, it calls none of them (dataset_internal.h has the whole graph). */
#ifndef LFM_DATASET_BUILD_H
#define LFM_DATASET_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "data/dataset_index.h"

/* The size of a CIFAR sample: the R, G and B planes of a 32x32 image. */
#define CIFAR_PIXELS 3072

enum ds_where {
	DS_NONE = 0, /* no bytes: index-only, a hole, or not cached */
	DS_MEM,      /* ds->mem[region] + off */
	DS_FD,       /* pread(ds->fd[region], off) */
	DS_PATH,     /* the file ds->path_prefix + key (directories) */
	DS_REFUSED,  /* an archive member whose bytes were not kept: off is the enum ds_refusal, size its size */
};

/* Why an archive member's bytes were not kept (ds_loc.off of a DS_REFUSED location). */
enum ds_refusal {
	DS_TOO_BIG = 0,   /* larger than the limit on one member (ds_member_limit) */
	DS_NOT_JPEG = 1,  /* a .jpg/.jpeg member that does not start with a JPEG start-of-image marker */
};

/* The largest archive member whose bytes are kept or read whole: 64 MiB, or the environment's
 * LFM_MAX_MEMBER (bytes, or with a K, M or G suffix). Returns 0, or an exit code with a message in err
 * when LFM_MAX_MEMBER is not a size. */
#define DS_MEMBER_LIMIT_DEFAULT ((uint64_t)64 << 20)
int ds_member_limit(uint64_t *limit, char *err, size_t errsz);

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
	char *root_real;    /* DS_PATH: the directory's realpath; reads stay inside it (ds_read_confined) */

	size_t bad;          /* holes */
	char *bad_msg[32];
	size_t bad_msgs;
	size_t ignored;
	char *ignored_example;
	size_t links_out;    /* symbolic links out of the root, skipped (image folders) */
	char *links_out_example;
};

/* ---- building and reading -------------------------------------------------------------------- */

/* Append a sample; returns its index. */
size_t ds_add_sample(dataset *ds, int label, dataset_sample_kind kind, const char *key, ds_loc loc);
/* Record a skipped record's reason (the first 32 are kept) and count it. */
void ds_note_bad(dataset *ds, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ds_note_ignored(dataset *ds, const char *example);
void ds_note_link_out(dataset *ds, const char *example);
/* Read the bytes at loc (for sample keys with DS_PATH, key names the file). Memory locations are
 * returned in place (*owned = NULL), others in a fresh buffer (*owned = it). */
int ds_read_loc(const dataset *ds, const ds_loc *loc, const char *key, const uint8_t **data, size_t *size,
		void **owned, char *err, size_t errsz);
/* Set the class names (takes ownership) and count samples per class. */
void ds_set_classes(dataset *ds, char **names, int count);
void ds_count_classes(dataset *ds);

#endif
