/* dataset_cifar.h — the CIFAR-10/100 binary releases (dataset_cifar.c): the record parser, the unpacked
 * directory reader, and the hooks the archive pass (dataset_detect.c) calls for CIFAR members. A reader:
 * uses dataset_archive.h, dataset_build.h and the leaves, never dataset_core.c. */
#ifndef LFM_DATASET_CIFAR_H
#define LFM_DATASET_CIFAR_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset_archive.h"
#include "data/dataset_build.h"

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

/* Whether dir holds CIFAR batch files, and the directory reader: it fills an opened dataset (kind,
 * samples, classes, identity). */
int ds_open_cifar_dir(dataset *ds, const char *dir, const dataset_options *o, char *err, size_t errsz);
int ds_is_cifar_dir(const char *dir);

/* CIFAR inside an archive: the per-member hooks used during the scan, and the final assembly. */
typedef struct cifar_archive cifar_archive;
cifar_archive *cifar_archive_new(const char *source, const dataset_options *o, int keep_pixels); /* source: the archive */
/* Whether name is a CIFAR batch or meta file: DS_STREAM / DS_KEEP, or -1 if it is not CIFAR's. */
int cifar_archive_want(cifar_archive *c, const char *name, uint64_t size);
int cifar_archive_stream(cifar_archive *c, const char *name, const void *data, size_t n, char *err,
			 size_t errsz);
int cifar_archive_seen(const cifar_archive *c); /* any CIFAR file */
int cifar_archive_finish(cifar_archive *c, dataset *ds, ds_scan *scan, const dataset_options *o,
			 char *err, size_t errsz);
void cifar_archive_free(cifar_archive *c);

#endif
