/* dataset_folder.h — image folders, [top/]<split>/<class>/<file>.jpg, in a directory or an archive
 * (dataset_folder.c). A reader: uses dataset_archive.h, dataset_build.h and the leaves. */
#ifndef LFM_DATASET_FOLDER_H
#define LFM_DATASET_FOLDER_H

#include <stddef.h>

#include "data/dataset_archive.h"
#include "data/dataset_build.h"

/* Whether dir holds [top/]<split>/<class>/ folders (the folder that holds them in *root_out when not
 * NULL), and the directory reader. */
int ds_is_folder_dir(const char *dir, char **root_out);
int ds_open_folder_dir(dataset *ds, const char *dir, const dataset_options *o, char *err, size_t errsz);
/* The top folder (or "") of an archive laid out as [top/]<split>/<class>/<file>; -1 if not that layout. */
int folder_archive_top(const ds_scan *scan, char **top);
int ds_folder_from_scan(dataset *ds, ds_scan *scan, const char *top, const dataset_options *o, char *err,
			size_t errsz);

#endif
