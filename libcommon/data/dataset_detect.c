/* dataset_detect.c — which reader reads a source (ds_open_source: a table of directory readers, the
 * archive open, the split-list fall-back), and what an archive holds, decided in the same pass that
 * indexes it.
 *
 * Member names tell the layouts apart: CIFAR's batch and meta file names; WebDataset's .cls members;
 * otherwise [top/]<split>/<class>/<file>.jpg. During the pass we cannot know yet which layout it is, so
 * each member is kept if any layout could need it: CIFAR batches of the split are parsed on the fly,
 * .cls files and images are kept, except images that are plainly another split's in folder layout. If
 * the archive then turns out to be a WebDataset (whose keys may look like folders), and such images were
 * dropped from a compressed archive, the archive is read a second time with the layout known.
 */
#include "data/dataset_detect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "data/class_names.h"
#include "data/dataset_archive.h"
#include "data/dataset_cifar.h"
#include "data/dataset_folder.h"
#include "data/dataset_list.h"
#include "data/dataset_wds.h"

typedef struct detect {
	const char *path; /* the archive */
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
		d->cifar = cifar_archive_new(d->path, d->o, !d->o->index_only && !d->scan->in_place);
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
	detect d = {.path = path, .o = o};
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

/* ---- which reader ------------------------------------------------------------------------------- */

/* The directory readers, tried in order: the first whose probe claims the directory reads it. */
typedef struct dir_reader {
	int (*probe)(const char *dir);
	int (*open)(dataset *ds, const char *dir, const dataset_options *o, char *err, size_t errsz);
} dir_reader;

static int is_folder_dir(const char *dir) { return ds_is_folder_dir(dir, NULL); }

static const dir_reader dir_readers[] = {
	{ds_is_cifar_dir, ds_open_cifar_dir},
	{is_folder_dir, ds_open_folder_dir},
};

/* Whether the start of a file looks like text (a split list) rather than binary data. */
static int looks_like_text(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof buf);
	close(fd);
	if (n <= 0)
		return 0;
	return memchr(buf, 0, (size_t)n) == NULL;
}

int ds_open_source(dataset *ds, const char *source, const dataset_options *o, char *err, size_t errsz)
{
	if (o->kind == DATASET_SPLIT_LIST)
		return ds_open_split_list(ds, source, o, err, errsz);
	struct stat st;
	if (stat(source, &st) != 0)
		return err_code(err, errsz, LFM_EXIT_IO, "%s: %s", source, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		for (size_t k = 0; k < sizeof dir_readers / sizeof *dir_readers; k++)
			if (dir_readers[k].probe(source))
				return dir_readers[k].open(ds, source, o, err, errsz);
		return err_code(err, errsz, LFM_EXIT_DATA,
				"%s: a directory with neither CIFAR batch files nor train/, test/ or "
				"val/ class folders",
				source);
	}
	int not_archive = 0;
	int rc = ds_open_archive(ds, source, o, err, errsz, &not_archive);
	if (rc && not_archive && looks_like_text(source)) {
		class_names_free(ds->class_names, ds->num_classes);
		ds->class_names = NULL;
		ds->num_classes = 0;
		free(ds->split);
		ds->split = xstrdup("list");
		rc = ds_open_split_list(ds, source, o, err, errsz);
	} else if (rc && not_archive) {
		rc = err_code(err, errsz, LFM_EXIT_DATA,
			      "%s: neither an archive libarchive can read nor a split list", source);
	}
	return rc;
}
