/* dataset_wds.h — WebDataset-style tars (dataset_wds.c). A reader: uses dataset_archive.h,
 * dataset_build.h and the leaves. */
#ifndef LFM_DATASET_WDS_H
#define LFM_DATASET_WDS_H

#include <stddef.h>

#include "data/dataset_archive.h"
#include "data/dataset_build.h"

/* WebDataset: key and extension of a member name (key = up to the first dot of the file name). */
int wds_split_name(const char *name, size_t *key_len, const char **ext);
int ds_wds_from_scan(dataset *ds, ds_scan *scan, const dataset_options *o, char *err, size_t errsz);

#endif
