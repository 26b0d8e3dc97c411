/* dataset_archive.h — one sequential pass over an archive with libarchive (dataset_archive.c): the member
 * list, the members' bytes kept for later (within a limit per member), the SHA-256 of the file, and its
 * checksums verified. Uses dataset_build.h (locations, the dataset a scan is adopted into) and the
 * leaves; used by the readers of archives. */
#ifndef LFM_DATASET_ARCHIVE_H
#define LFM_DATASET_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset_build.h"

enum ds_want {
	DS_SKIP = 0,   /* only its name and size are recorded */
	DS_KEEP = 1,   /* its bytes must be readable later (in place, cached in memory or a temp file) */
	DS_STREAM = 2, /* its bytes are handed to the stream callback as they are read */
};

typedef struct ds_member {
	char *name;  /* "./" and leading "/" removed */
	uint64_t size;
	ds_loc loc;  /* DS_FD region 0 (in place or temp cache), DS_MEM region 0 (memory cache) or DS_NONE */
	int nested;  /* a member of a tar inside the archive: name is "OUTER.tar//INNER" */
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

/* One sequential pass over the archive at path, hashing every byte of the file on the way and checking
 * the checksums its compression and format carry (a mismatch is an error naming the member). A member
 * kept that is over ds_member_limit, or a .jpg/.jpeg that does not start like a JPEG, gets a DS_REFUSED
 * location instead of its bytes. */
int ds_scan_archive(const char *path, ds_want_fn want, ds_stream_fn stream, void *ctx,
		    const char *cache_dir, ds_scan *out, char *err, size_t errsz);
/* The same for a split list's root (nested mode): in an uncompressed tar, every member named *.tar is
 * itself read as a tar as its bytes pass (dataset_tar.h), and its regular members are added to the scan
 * after it, named "OUTER//INNER" ("n01440764.tar//n01440764_10026.JPEG"; "//" never occurs in a
 * normalised inner name), located in place at their offset in the file: ImageNet's training tar of
 * per-class tars is then read with one pread per image. One level: a tar in a tar in a tar is a member
 * of the inner tar like any other. A damaged or truncated inner tar fails the scan, naming it. No stream
 * callback: members are only located. */
int ds_scan_archive_nested(const char *path, ds_want_fn want, void *ctx, const char *cache_dir, ds_scan *out,
			   char *err, size_t errsz);
/* Move the scan's fd and memory cache into region 0 of ds (the members' locations refer to it). */
void ds_adopt_scan(dataset *ds, ds_scan *scan);
/* Read member i's bytes (kept or in place) before the scan is adopted. */
int ds_scan_read(const ds_scan *scan, size_t i, const char *source, const uint8_t **data, size_t *size,
		 void **owned, char *err, size_t errsz);
void ds_scan_free(ds_scan *scan);

#endif
