/* dataset_detect.c — what an archive holds, decided in the same pass that indexes it.
 *
 * Member names tell the layouts apart: CIFAR's batch and meta file names; WebDataset's .cls members;
 * otherwise [top/]<split>/<class>/<file>.jpg. During the pass we cannot know yet which layout it is, so
 * each member is kept if any layout could need it: CIFAR batches of the split are parsed on the fly,
 * .cls files and images are kept, except images that are plainly another split's in folder layout. If
 * the archive then turns out to be a WebDataset (whose keys may look like folders), and such images were
 * dropped from a compressed archive, the archive is read a second time with the layout known.
 */
#include "data/dataset_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

typedef struct detect {
	const dataset_options *o;
	ds_scan *scan; /* being filled: in_place is known before the first member */
	cifar_archive *cifar;
	int cifar_configured;
	int saw_cls;
	size_t other_split_images; /* images dropped as another split's */
	int wds_only;              /* second pass: keep every image and .cls */
} detect;

static int is_image(const char *name)
{
	return ds_has_ext(name, ".jpg") || ds_has_ext(name, ".jpeg") || ds_has_ext(name, ".rgb");
}

/* Whether name is [top/]<other split>/<class>/<file>. */
static int other_split(const char *name, const char *split)
{
	const char *c0 = name, *s0 = strchr(c0, '/');
	if (!s0)
		return 0;
	const char *c1 = s0 + 1, *s1 = strchr(c1, '/');
	if (!s1)
		return 0;
	const char *s2 = strchr(s1 + 1, '/');
	size_t l0 = (size_t)(s0 - c0), l1 = (size_t)(s1 - c1), sl = strlen(split);
	if (ds_is_split_name(c0, l0))
		return !(l0 == sl && memcmp(c0, split, sl) == 0);
	if (s2 && ds_is_split_name(c1, l1))
		return !(l1 == sl && memcmp(c1, split, sl) == 0);
	return 0;
}

static int want(void *ctx, const char *name, uint64_t size)
{
	detect *d = ctx;
	if (d->wds_only)
		return (is_image(name) && !d->o->index_only) || ds_has_ext(name, ".cls") ? DS_KEEP : DS_SKIP;
	if (!d->cifar_configured) {
		d->cifar_configured = 1;
		d->cifar = cifar_archive_new(d->o, !d->o->index_only && !d->scan->in_place);
	}
	int w = cifar_archive_want(d->cifar, name, size);
	if (w >= 0)
		return w;
	if (ds_has_ext(name, ".cls")) {
		d->saw_cls = 1;
		return DS_KEEP;
	}
	if (!is_image(name) || d->o->index_only)
		return DS_SKIP;
	if (other_split(name, d->o->split)) {
		d->other_split_images++;
		return DS_SKIP;
	}
	return DS_KEEP;
}

static int stream(void *ctx, const char *name, const void *data, size_t n, char *err, size_t errsz)
{
	detect *d = ctx;
	return d->cifar ? cifar_archive_stream(d->cifar, name, data, n, err, errsz) : 0;
}

int ds_open_archive(dataset *ds, const char *path, const dataset_options *o, char *err, size_t errsz,
		    int *not_archive)
{
	*not_archive = 0;
	detect d = {.o = o};
	ds_scan scan;
	d.scan = &scan;
	int rc = ds_scan_archive(path, want, stream, &d, o->cache_dir, &scan, err, errsz);
	if (rc) {
		*not_archive = scan.not_archive;
		cifar_archive_free(d.cifar);
		return rc;
	}
	if (d.cifar && cifar_archive_seen(d.cifar)) {
		rc = cifar_archive_finish(d.cifar, ds, &scan, o, err, errsz);
	} else if (d.saw_cls) {
		if (d.other_split_images && !scan.in_place) {
			ds_scan_free(&scan);
			detect again = {.o = o, .scan = &scan, .wds_only = 1};
			rc = ds_scan_archive(path, want, NULL, &again, o->cache_dir, &scan, err, errsz);
		}
		if (!rc)
			rc = ds_wds_from_scan(ds, &scan, o, err, errsz);
	} else {
		char *top;
		if (folder_archive_top(&scan, &top) == 0) {
			rc = ds_folder_from_scan(ds, &scan, top, o, err, errsz);
			free(top);
		} else {
			rc = err_code(err, errsz, LFM_EXIT_DATA,
				     "%s: not a dataset layout this reader knows: no CIFAR batch files, no WebDataset "
				     ".cls members, no [top/]<split>/<class>/<image> folders (or more than one top "
				     "folder)",
				     path);
		}
	}
	cifar_archive_free(d.cifar);
	ds_scan_free(&scan);
	return rc;
}
