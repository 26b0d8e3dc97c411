/* dataset_list.h — split lists, "path label" a line, relative to a root folder or archive
 * (dataset_list.c). A reader: uses dataset_archive.h (a root archive), dataset_build.h and the leaves. */
#ifndef LFM_DATASET_LIST_H
#define LFM_DATASET_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset_build.h"
#include "data/dataset_index.h"

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
