/* dataset_core.c — opening a dataset (deciding what the source is), the accessors, and reading a
 * sample's bytes. The per-format loaders live in dataset_cifar.c, dataset_folder.c, dataset_wds.c and
 * dataset_list.c; the archive pass in dataset_archive.c. */
#include "data/dataset_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "base/errors.h"

/* ---- building ------------------------------------------------------------------------------------ */

size_t ds_add_sample(dataset *ds, int label, dataset_sample_kind kind, const char *key, ds_loc loc)
{
	if (ds->n == ds->cap) {
		ds->cap = ds->cap ? ds->cap * 2 : 1024;
		ds->label = xrealloc(ds->label, ds->cap * sizeof *ds->label);
		ds->skind = xrealloc(ds->skind, ds->cap * sizeof *ds->skind);
		ds->key_off = xrealloc(ds->key_off, ds->cap * sizeof *ds->key_off);
		ds->loc = xrealloc(ds->loc, ds->cap * sizeof *ds->loc);
	}
	size_t i = ds->n++;
	ds->label[i] = label;
	ds->skind[i] = (uint8_t)kind;
	ds->key_off[i] = ds_strings_add(&ds->keys, key, strlen(key));
	ds->loc[i] = loc;
	if (label < 0)
		ds->loc[i].where = DS_NONE;
	return i;
}

void ds_note_bad(dataset *ds, const char *fmt, ...)
{
	if (ds->bad_msgs < sizeof ds->bad_msg / sizeof ds->bad_msg[0]) {
		char buf[512];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(buf, sizeof buf, fmt, ap);
		va_end(ap);
		ds->bad_msg[ds->bad_msgs++] = xstrdup(buf);
	}
	ds->bad++;
}

void ds_note_ignored(dataset *ds, const char *example)
{
	if (!ds->ignored_example)
		ds->ignored_example = xstrdup(example);
	ds->ignored++;
}

void ds_set_classes(dataset *ds, char **names, int count)
{
	ds_free_names(ds->class_names, ds->num_classes);
	ds->class_names = names;
	ds->num_classes = count;
	ds_count_classes(ds);
}

void ds_count_classes(dataset *ds)
{
	free(ds->class_count);
	ds->class_count = xcalloc(ds->num_classes ? (size_t)ds->num_classes : 1, sizeof *ds->class_count);
	for (size_t i = 0; i < ds->n; i++)
		if (ds->label[i] >= 0 && ds->label[i] < ds->num_classes)
			ds->class_count[ds->label[i]]++;
}

/* ---- opening ------------------------------------------------------------------------------------- */

const char *dataset_kind_name(dataset_kind kind)
{
	switch (kind) {
	case DATASET_CIFAR10: return "cifar10";
	case DATASET_CIFAR100: return "cifar100";
	case DATASET_IMAGE_FOLDER: return "image-folder";
	case DATASET_WEBDATASET: return "webdataset";
	case DATASET_SPLIT_LIST: return "split-list";
	default: return "auto";
	}
}

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

int dataset_try_open(dataset **out, const char *source, const dataset_options *opts, char *err,
		     size_t errsz)
{
	*out = NULL;
	dataset_options o = {0};
	if (opts)
		o = *opts;
	if (!o.split)
		o.split = "train";
	if (o.root)
		o.kind = DATASET_SPLIT_LIST;
	/* "list" is the split a split-list dataset reports (and a samples stream made from one carries);
	 * split lists ignore the split, so it is accepted for them. */
	int list_split = strcmp(o.split, "list") == 0 && o.kind == DATASET_SPLIT_LIST;
	if (!list_split && !ds_is_split_name(o.split, strlen(o.split)))
		return err_code(err, errsz, LFM_EXIT_DATA, "unknown split '%s' (train, test or val)", o.split);

	dataset *ds = xcalloc(1, sizeof *ds);
	for (int r = 0; r < DS_MAX_REGIONS; r++)
		ds->fd[r] = -1;
	ds->split = xstrdup(o.kind == DATASET_SPLIT_LIST ? "list" : o.split);
	ds->index_only = o.index_only;
	ds->id_path = xstrdup(source);

	int rc;
	if (o.kind == DATASET_SPLIT_LIST) {
		rc = ds_open_split_list(ds, source, &o, err, errsz);
	} else {
		struct stat st;
		if (stat(source, &st) != 0) {
			rc = err_code(err, errsz, LFM_EXIT_IO, "%s: %s", source, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			if (ds_is_cifar_dir(source))
				rc = ds_open_cifar_dir(ds, source, &o, err, errsz);
			else if (ds_is_folder_dir(source, NULL))
				rc = ds_open_folder_dir(ds, source, &o, err, errsz);
			else
				rc = err_code(err, errsz, LFM_EXIT_DATA,
					     "%s: a directory with neither CIFAR batch files nor train/, test/ or "
					     "val/ class folders",
					     source);
		} else {
			int not_archive = 0;
			rc = ds_open_archive(ds, source, &o, err, errsz, &not_archive);
			if (rc && not_archive && looks_like_text(source)) {
				ds_free_names(ds->class_names, ds->num_classes);
				ds->class_names = NULL;
				ds->num_classes = 0;
				free(ds->split);
				ds->split = xstrdup("list");
				rc = ds_open_split_list(ds, source, &o, err, errsz);
			} else if (rc && not_archive) {
				rc = err_code(err, errsz, LFM_EXIT_DATA,
					     "%s: neither an archive libarchive can read nor a split list", source);
			}
		}
	}
	if (!rc && o.kind != DATASET_AUTO && o.kind != ds->kind)
		rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: is a %s dataset, not %s", source,
			     dataset_kind_name(ds->kind), dataset_kind_name(o.kind));
	if (!rc && ds->num_classes <= 0)
		rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: no classes", source);
	if (rc) {
		dataset_close(ds);
		return rc;
	}
	ds->id.path = ds->id_path;
	ds->id.hash = ds->id_hash;
	ds_count_classes(ds);
	ds_map_init(&ds->key_map, ds->n);
	for (size_t i = 0; i < ds->n; i++)
		ds_map_put(&ds->key_map, ds->keys.buf + ds->key_off[i], i, 0, NULL);
	*out = ds;
	return 0;
}

dataset *dataset_open(const char *source, const dataset_options *opts, char *err, size_t errsz)
{
	dataset *ds;
	return dataset_try_open(&ds, source, opts, err, errsz) ? NULL : ds;
}

dataset *dataset_open_or_die(const char *source, const dataset_options *opts)
{
	char err[1024];
	dataset *ds;
	int rc = dataset_try_open(&ds, source, opts, err, sizeof err);
	if (rc)
		die(rc, "%s", err);
	return ds;
}

void dataset_close(dataset *ds)
{
	if (!ds)
		return;
	free(ds->split);
	free(ds->id_path);
	free(ds->id_hash);
	ds_free_names(ds->class_names, ds->num_classes);
	free(ds->class_count);
	free(ds->label);
	free(ds->skind);
	free(ds->key_off);
	free(ds->loc);
	ds_strings_free(&ds->keys);
	ds_map_free(&ds->key_map);
	for (int r = 0; r < DS_MAX_REGIONS; r++) {
		free(ds->mem[r]);
		if (ds->fd[r] >= 0)
			close(ds->fd[r]);
	}
	free(ds->path_prefix);
	for (size_t j = 0; j < ds->bad_msgs; j++)
		free(ds->bad_msg[j]);
	free(ds->ignored_example);
	free(ds);
}

/* ---- accessors ----------------------------------------------------------------------------------- */

dataset_kind dataset_get_kind(const dataset *ds) { return ds->kind; }
const char *dataset_split(const dataset *ds) { return ds->split; }
size_t dataset_count(const dataset *ds) { return ds->n; }
int dataset_num_classes(const dataset *ds) { return ds->num_classes; }
const dataset_identity *dataset_source(const dataset *ds) { return &ds->id; }
size_t dataset_bad_count(const dataset *ds) { return ds->bad; }
size_t dataset_bad_messages(const dataset *ds) { return ds->bad_msgs; }
size_t dataset_ignored_count(const dataset *ds) { return ds->ignored; }
const char *dataset_ignored_example(const dataset *ds) { return ds->ignored_example; }

const char *dataset_bad_message(const dataset *ds, size_t j)
{
	return j < ds->bad_msgs ? ds->bad_msg[j] : NULL;
}

const char *dataset_class_name(const dataset *ds, int k)
{
	return k >= 0 && k < ds->num_classes ? ds->class_names[k] : NULL;
}

size_t dataset_class_count(const dataset *ds, int k)
{
	return k >= 0 && k < ds->num_classes ? ds->class_count[k] : 0;
}

int dataset_label(const dataset *ds, size_t i) { return i < ds->n ? ds->label[i] : -1; }

const char *dataset_key(const dataset *ds, size_t i)
{
	return i < ds->n ? ds->keys.buf + ds->key_off[i] : NULL;
}

int64_t dataset_find_key(const dataset *ds, const char *key)
{
	size_t i;
	return ds_map_get(&ds->key_map, key, &i) ? (int64_t)i : -1;
}

/* ---- reading ------------------------------------------------------------------------------------- */

static int pread_all(int fd, uint8_t *buf, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = 0;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

int ds_read_loc(const dataset *ds, const ds_loc *loc, const char *key, const uint8_t **data, size_t *size,
		void **owned, char *err, size_t errsz)
{
	*owned = NULL;
	*data = NULL;
	*size = 0;
	switch (loc->where) {
	case DS_MEM:
		if (loc->off + loc->size > ds->mem_size[loc->region])
			return err_code(err, errsz, LFM_EXIT_DATA, "%s: %s: outside the cached data", ds->id_path,
				       key);
		*data = ds->mem[loc->region] + loc->off;
		*size = (size_t)loc->size;
		return 0;
	case DS_FD: {
		if (loc->size > ((uint64_t)1 << 40))
			return err_code(err, errsz, LFM_EXIT_DATA, "%s: %s: implausible size", ds->id_path, key);
		uint8_t *buf = xmalloc((size_t)loc->size);
		if (pread_all(ds->fd[loc->region], buf, (size_t)loc->size, loc->off) != 0) {
			int e = errno;
			free(buf);
			if (e)
				return err_code(err, errsz, LFM_EXIT_IO, "%s: %s: read error: %s", ds->id_path, key,
					       strerror(e));
			return err_code(err, errsz, LFM_EXIT_IO, "%s: %s: the file ended early (changed since it was indexed?)",
				       ds->id_path, key);
		}
		*data = buf;
		*size = (size_t)loc->size;
		*owned = buf;
		return 0;
	}
	case DS_PATH: {
		char *path = xasprintf("%s%s", ds->path_prefix, key);
		char *buf;
		size_t len;
		int rc = ds_read_whole_file(path, (size_t)1 << 36, &buf, &len, err, errsz);
		free(path);
		if (rc)
			return rc;
		*data = (const uint8_t *)buf;
		*size = len;
		*owned = buf;
		return 0;
	}
	default:
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: %s: no image data (%s)", ds->id_path, key,
			       ds->index_only ? "the dataset was opened for labels only"
					      : "not in the archive or no root given");
	}
}

int dataset_read(const dataset *ds, size_t i, dataset_sample *out, char *err, size_t errsz)
{
	memset(out, 0, sizeof *out);
	if (i >= ds->n)
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: sample %zu does not exist (%zu samples)",
			       ds->id_path, i, ds->n);
	const char *key = ds->keys.buf + ds->key_off[i];
	if (ds->label[i] < 0)
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: sample %zu (%s) was skipped as bad", ds->id_path,
			       i, key);
	int rc = ds_read_loc(ds, &ds->loc[i], key, &out->data, &out->size, &out->owned, err, errsz);
	if (rc)
		return rc;
	out->kind = (dataset_sample_kind)ds->skind[i];
	out->label = ds->label[i];
	if (out->kind == DATASET_SAMPLE_CIFAR && out->size != CIFAR_PIXELS) {
		size_t got = out->size;
		dataset_sample_free(out);
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: %s: %zu bytes of raw pixels, expected %d",
			       ds->id_path, key, got, CIFAR_PIXELS);
	}
	return 0;
}

void dataset_sample_free(dataset_sample *s)
{
	free(s->owned);
	memset(s, 0, sizeof *s);
}

/* Walk the marker segments up to the first start-of-scan; return its offset or 0 if malformed. */
static size_t jpeg_scan_start(const uint8_t *d, size_t n)
{
	size_t p = 2;
	while (p + 4 <= n) {
		if (d[p] != 0xFF)
			return 0;
		while (p + 1 < n && d[p + 1] == 0xFF) /* fill bytes */
			p++;
		if (p + 4 > n)
			return 0;
		uint8_t m = d[p + 1];
		if (m == 0xDA)
			return p;
		if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {
			p += 2;
			continue;
		}
		if (m == 0xD9)
			return 0;
		size_t len = (size_t)d[p + 2] << 8 | d[p + 3];
		if (len < 2)
			return 0;
		p += 2 + len;
	}
	return 0;
}

int dataset_check_sample(const dataset *ds, size_t i, char *err, size_t errsz)
{
	dataset_sample s;
	int rc = dataset_read(ds, i, &s, err, errsz);
	if (rc)
		return rc;
	const char *key = ds->keys.buf + ds->key_off[i];
	if (s.kind == DATASET_SAMPLE_JPEG) {
		const uint8_t *d = s.data;
		size_t n = s.size;
		if (n < 4 || d[0] != 0xFF || d[1] != 0xD8) {
			rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: %s: not a JPEG file (no start-of-image marker)",
				     ds->id_path, key);
			goto out;
		}
		tjhandle tj = tjInitDecompress();
		if (!tj)
			die(LFM_EXIT_IO, "libjpeg-turbo: cannot initialise a decompressor");
		int w = 0, h = 0, sub = 0, cs = 0;
		int bad = tjDecompressHeader3(tj, d, (unsigned long)n, &w, &h, &sub, &cs) != 0 || w <= 0 ||
			  h <= 0;
		if (bad)
			rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: %s: corrupt JPEG header: %s", ds->id_path, key,
				     tjGetErrorStr2(tj));
		tjDestroy(tj);
		if (bad)
			goto out;
		size_t sos = jpeg_scan_start(d, n);
		if (!sos) {
			rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: %s: corrupt JPEG (broken marker segments)",
				     ds->id_path, key);
			goto out;
		}
		int eoi = 0;
		for (size_t p = sos + 2; p + 1 < n && !eoi; p++)
			eoi = d[p] == 0xFF && d[p + 1] == 0xD9;
		if (!eoi)
			rc = err_code(err, errsz, LFM_EXIT_DATA,
				     "%s: %s: truncated JPEG (no end-of-image marker after the image data)",
				     ds->id_path, key);
	}
out:
	dataset_sample_free(&s);
	return rc;
}
