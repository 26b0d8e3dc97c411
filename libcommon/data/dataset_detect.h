/* dataset_detect.h — which reader reads a source (dataset_detect.c): the table of directory readers, the
 * one-pass archive open that tells CIFAR tarballs, image-folder archives and WebDataset apart, and the
 * fall-back to a split list. The top of the reader layer: dataset_core.c calls ds_open_source only. */
#ifndef LFM_DATASET_DETECT_H
#define LFM_DATASET_DETECT_H

#include <stddef.h>

#include "data/dataset_build.h"

/* The one-pass archive open shared by CIFAR tarballs, image-folder archives and WebDataset; *not_archive
 * is set when libarchive recognised no archive format (the file may be a split list). */
int ds_open_archive(dataset *ds, const char *path, const dataset_options *o, char *err, size_t errsz,
		    int *not_archive);

/* Fill the freshly made ds from source (options already defaulted: split set, kind SPLIT_LIST when a root
 * is given): a split list when o->kind says so; a directory through the first directory reader that
 * claims it; a file through the archive open, or as a split list when it is no archive and looks like
 * text. 0, or an exit code with a message in err (ds is then for dataset_close only). */
int ds_open_source(dataset *ds, const char *source, const dataset_options *o, char *err, size_t errsz);

#endif
