/* dataset.h — image datasets as users have them on disk, opened once and then read by sample index.
 *
 * Sources (detected from what the path holds; formats/samples.md and lt-subset(1) show examples):
 *   - CIFAR-10 / CIFAR-100 binary releases: the published tarballs (cifar-10-binary.tar.gz,
 *     cifar-100-binary.tar.gz) read through libarchive without unpacking, or the same files unpacked in a
 *     directory. Records <label><3072 bytes: R, G, B planes of 32x32>; CIFAR-100 <coarse><fine><3072>
 *     (the fine label is used). Splits "train" (data_batch_1..5.bin in that order, or train.bin) and
 *     "test" (test_batch.bin, test.bin). Class names from batches.meta.txt / fine_label_names.txt.
 *   - Image folders <split>/<class>/<file>.jpg in a directory or in an archive libarchive reads (tar,
 *     tar.gz, tar.bz2, tar.xz, tar.zst, zip), optionally under one top folder. Classes: the union of the
 *     class folders of every split, in byte order (strcmp), unless a class list is given.
 *   - WebDataset-style tars: key.jpg (or key.jpeg; key.rgb = 3072 bytes of CIFAR planes) + key.cls (the
 *     label as decimal text), samples in the order their key first appears.
 *   - Split lists ("relative/path label" a line: ImageNet-LT, Places-LT) with a root folder or archive
 *     the paths are relative to; without a root the dataset holds labels and keys only.
 *     A root archive may be ImageNet's or Places365's as downloaded (a tar of per-class tars, a flat
 *     tar, Places365's letter folders: the rules in dataset_list.c); an uncompressed one is read in
 *     place through its index file, ARCHIVE.lfm-index or in cache_dir (dataset_tarindex.h).
 *
 * Sample indices are deterministic: CIFAR — the record's position in the split's batches concatenated in
 * order; image folders — class by class in label order, files sorted by name (strcmp) within a class;
 * WebDataset — tar order; split lists — line order (blank lines do not count). A record that cannot be
 * used (label out of range, truncated, unknown class file...) is an error, or with skip_bad a "hole": it
 * keeps its index, has label -1 and is never returned by dataset_read; so indices do not depend on
 * skip_bad.
 *
 * Random access: the index is built in one sequential pass over the source. Uncompressed tars are read
 * in place (pread at each member's data offset); directories file by file; CIFAR pixels are held in
 * memory (150 MB for CIFAR-10 train); the members of compressed archives (tar.gz, zip, ...) that the
 * split needs are decompressed once, at open, into memory or, with cache_dir, into an unlinked temporary
 * file there (disk instead of RAM). A gzip stream has no random access, and an offset table for
 * deflate would need 32 KB of window per access point; decompressing once costs one pass we make anyway.
 * That pass reads a compressed archive to its end and refuses it when a checksum does not match (gzip,
 * zip, zstd, xz); a member over LFM_MAX_MEMBER (64 MiB) or a .jpg not starting like a JPEG is not kept,
 * and reading it fails naming it (dataset_archive.c).
 *
 * Identity (for the samples stream's header): size and a SHA-256. A file source (archive, CIFAR tarball,
 * split list) is hashed whole, during the indexing pass, and reported as "sha256:<64 hex>", the value
 * sha256sum prints, so a header can be checked against a published checksum. A directory is identified by
 * the listing of the files the dataset reads, "sha256-listing:<hex>": SHA-256 of "<size> <path>\n" for
 * each file in path order (hashing every image of a large folder would cost a full read); its size is
 * the sum of those files' sizes.
 *
 * Threads: after dataset_open returns, a dataset is immutable; dataset_read, dataset_load_rgb,
 * dataset_check_sample and every accessor may be called from any number of threads at once (reads use
 * pread or memory, never a shared file position). dataset_close must not race with them.
 *
 * Errors: functions that can fail return 0 or an exit code (LFM_EXIT_DATA 1 for bad data, LFM_EXIT_IO 3
 * for missing or unreadable files) with a message naming the file, member or record in err.
 */
#ifndef LFM_DATASET_H
#define LFM_DATASET_H

#include <stddef.h>
#include <stdint.h>

typedef struct dataset dataset;
struct rgb_image; /* image.h */

typedef enum dataset_kind {
	DATASET_AUTO = 0,   /* options only: detect from the source */
	DATASET_CIFAR10,
	DATASET_CIFAR100,
	DATASET_IMAGE_FOLDER,
	DATASET_WEBDATASET,
	DATASET_SPLIT_LIST,
} dataset_kind;

typedef struct dataset_options {
	const char *split;        /* "train" (NULL = train), "test" or "val"; ignored by lists and WebDataset */
	dataset_kind kind;        /* DATASET_AUTO, or DATASET_SPLIT_LIST to read source as a split list */
	const char *root;         /* split lists: the folder or archive the paths are relative to (NULL:
				   * labels and keys only); setting it implies DATASET_SPLIT_LIST */
	const char *classes_file; /* class names, one a line, in label order; NULL: from the source */
	const char *const *class_names; /* the same given in memory (used when classes_file is NULL) */
	int num_class_names;
	int skip_bad;    /* unusable records become holes (label -1, counted) instead of failing the open */
	int index_only;  /* keep labels and keys only; no sample bytes are cached (dataset_read refuses) */
	const char *cache_dir; /* compressed archives: cache members in a temporary file here, not memory;
				* a split list's root archive: its index is kept here when not beside it */
} dataset_options;

/* Zero-initialised options are the defaults (train split, auto-detected kind, everything else off). */
dataset *dataset_open(const char *source, const dataset_options *opts, char *err, size_t errsz);
/* The same, returning 0 or the exit code (LFM_EXIT_DATA / LFM_EXIT_IO) for the failure. */
int dataset_try_open(dataset **out, const char *source, const dataset_options *opts, char *err,
		     size_t errsz);
/* For tools: dies with the code and message. */
dataset *dataset_open_or_die(const char *source, const dataset_options *opts);
void dataset_close(dataset *ds);

dataset_kind dataset_get_kind(const dataset *ds);
const char *dataset_kind_name(dataset_kind kind); /* "cifar10", "image-folder", ... */
const char *dataset_split(const dataset *ds);     /* the split opened ("train"; lists: "list") */

size_t dataset_count(const dataset *ds);          /* samples, holes included */
int dataset_num_classes(const dataset *ds);
const char *dataset_class_name(const dataset *ds, int k);
size_t dataset_class_count(const dataset *ds, int k); /* samples of class k, holes excluded */
int dataset_label(const dataset *ds, size_t i);   /* 0 .. C-1, or -1 for a hole */
/* "data_batch_1/00042" (CIFAR: batch file without .bin / record number in it), "train/cat/0001.jpg"
 * (image folders: the path below the top folder), the WebDataset key, or the list's path. */
const char *dataset_key(const dataset *ds, size_t i);
/* The index of the sample with this key, or -1. */
int64_t dataset_find_key(const dataset *ds, const char *key);

typedef struct dataset_identity {
	const char *path; /* as given to dataset_open */
	uint64_t size;
	const char *hash; /* "sha256:<hex>" (files) or "sha256-listing:<hex>" (directories) */
} dataset_identity;
const dataset_identity *dataset_source(const dataset *ds);

/* Holes: how many, and the reason for the first few (j < dataset_bad_messages()). */
size_t dataset_bad_count(const dataset *ds);
size_t dataset_bad_messages(const dataset *ds);
const char *dataset_bad_message(const dataset *ds, size_t j);
/* Image-folder files that were not used (not .jpg/.jpeg, or deeper than <class>/<file>), and an example. */
size_t dataset_ignored_count(const dataset *ds);
const char *dataset_ignored_example(const dataset *ds);
/* Image-folder entries (split or class folders, files) that are symbolic links resolving outside the
 * dataset's folder: skipped, never read; how many and an example. dataset_open_or_die warns about them.
 * (Split lists refuse such a link when the sample is read: see dataset_read.) */
size_t dataset_links_out_count(const dataset *ds);
const char *dataset_links_out_example(const dataset *ds);

typedef enum dataset_sample_kind {
	DATASET_SAMPLE_JPEG = 1,  /* data is an encoded JPEG file */
	DATASET_SAMPLE_CIFAR = 2, /* data is 3072 bytes: the R, G and B planes of a 32x32 image */
} dataset_sample_kind;

typedef struct dataset_sample {
	dataset_sample_kind kind;
	int label;
	const uint8_t *data; /* valid until dataset_sample_free (or dataset_close) */
	size_t size;
	void *owned;         /* internal: the buffer to free, NULL when data points into the dataset */
} dataset_sample;

/* The encoded bytes of sample i. Thread-safe. Free with dataset_sample_free. */
int dataset_read(const dataset *ds, size_t i, dataset_sample *out, char *err, size_t errsz);
void dataset_sample_free(dataset_sample *s);
/* Sample i decoded to 8-bit RGB through image.h (dataset_sample_rgb with a decoder of its own). Thread-safe.
 * Free with image_free. */
int dataset_load_rgb(const dataset *ds, size_t i, struct rgb_image *out, char *err, size_t errsz);

/* The one way from a sample's bytes to an RGB image: CIFAR planes rearranged (image_from_cifar_planes), a
 * JPEG decoded with dec (image.h's jpeg_decoder, one per thread; NULL: a decoder for this call only).
 * Returns DATASET_RGB_OK with out set (free with image_free), or why it failed with out empty: the caller
 * words the message (a JPEG's reason, without a file name, is in why). */
enum {
	DATASET_RGB_OK = 0,
	DATASET_RGB_CIFAR_SIZE = 1, /* a CIFAR sample that is not 3072 bytes */
	DATASET_RGB_NOMEM = 2,      /* no memory for the CIFAR image */
	DATASET_RGB_JPEG = 3,       /* the JPEG did not decode; the decoder's reason in why */
};
struct jpeg_decoder; /* image.h */
int dataset_sample_rgb(const dataset_sample *s, struct jpeg_decoder *dec, struct rgb_image *out, char *why,
		       size_t whysz);
/* Whether sample i is usable without decoding its pixels: readable, and for a JPEG a start-of-image
 * marker, a header libjpeg-turbo parses, a size within the decoder's limits (IMAGE_MAX_SIDE,
 * IMAGE_MAX_PIXELS: image_jpeg_limits) and an end-of-image marker near the end (a cheap test for
 * truncation). What passes would also decode as far as the header and markers tell. Thread-safe. */
int dataset_check_sample(const dataset *ds, size_t i, char *err, size_t errsz);
/* The same test on sample i's bytes already read (s from dataset_read): 0, or LFM_EXIT_DATA. */
int dataset_check_bytes(const dataset *ds, size_t i, const dataset_sample *s, char *err, size_t errsz);

#endif
