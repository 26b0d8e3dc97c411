/* dataset_tarindex.h — a split list's root archive located member by member, the index kept on disk so that
 * the next open skips the pass (dataset_tarindex.c; the file: formats/tar-index.md, lfm-tar-index(5)).
 * Uses dataset_archive.h (the nested scan) and io/stream.h (the index is an msgpack stream); used by the
 * split-list reader.
 *
 * ImageNet's training tar is 140 GB: reading it to its end at every open (the one pass that finds where
 * each member is) would cost minutes each time a tool starts. The pass's result for an uncompressed tar,
 * the members' names, offsets and sizes and the file's SHA-256, is therefore written to an index file
 * "ARCHIVE.lfm-index" beside the archive, or, when that folder is not writable, in the cache folder
 * (--cache-dir) as "NAME.<hash of the archive's full path>.lfm-index". An index is used only when the
 * archive's size and modification time (to the nanosecond) and the SHA-256 of its first and last 64 KiB
 * are those it records; otherwise it is rebuilt (a message says so). A compressed archive has no index
 * (its members must be decompressed at every open anyway). LFM_INDEX_CACHE=off turns the index off:
 * nothing read, nothing written. */
#ifndef LFM_DATASET_TARINDEX_H
#define LFM_DATASET_TARINDEX_H

#include <stddef.h>
#include <stdio.h>

#include "data/dataset_archive.h"

/* What happened to the index (for messages and tests). */
enum ds_index_use {
	DS_INDEX_NONE = 0,   /* no index: a compressed archive, LFM_INDEX_CACHE=off, or not a regular file */
	DS_INDEX_REUSED = 1, /* read from an index file; the archive was not read */
	DS_INDEX_BUILT = 2,  /* the archive was read and an index file written */
	DS_INDEX_UNSAVED = 3 /* the archive was read; no index file could be written (a warning said why) */
};

/* ds_scan_archive_nested of path, through its index: the scan as a fresh pass would fill it (for an
 * uncompressed tar every member in place, DS_FD region 0; the file's size and SHA-256). Messages on
 * standard error (warn): when the index is built ("indexing ..."), rebuilt (why), or cannot be saved.
 * *use (may be NULL) says which. 0, or an exit code with a message in err (the pass's errors). */
int ds_scan_root(const char *path, ds_want_fn want, void *ctx, const char *cache_dir, ds_scan *out,
		 int *use, char *err, size_t errsz);

/* The index file's reader over an open stream, for the fuzz target and ds_scan_root: checks the header
 * against the archive's identity (size, mtime_ns, head and tail digests; NULL skips that check), then
 * every record (a name, an offset and size inside the archive of archive_size bytes), filling out's
 * members. 0, 1 when the index is for another state of the archive (stale; why in err), -1 when it is
 * damaged (why in err). */
struct ds_index_identity {
	unsigned long long size;
	long long mtime_ns;
	char head[80], tail[80]; /* "sha256:<hex>" */
};
int ds_index_read(FILE *f, const char *name, const struct ds_index_identity *want, ds_scan *out, char *err,
		  size_t errsz);

#endif
