/* dataset_core.c — dataset.h's entry points: opening a dataset (options, then ds_open_source in
 * dataset_detect.c decides what the source is and which reader fills it), the accessors, reading a
 * sample's bytes and checking a sample. The top of the dataset code: it calls down into detect, build and
 * index (and image.h for the decoder's size limits), and nothing below calls it (the graph is in dataset_internal.h). */
#include "data/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "base/errors.h"
#include "data/class_names.h"
#include "data/dataset_build.h"
#include "data/dataset_detect.h"
#include "data/dataset_index.h"
#include "data/image.h"

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

	int rc = ds_open_source(ds, source, &o, err, errsz);
	if (!rc && o.kind != DATASET_AUTO && o.kind != ds->kind)
		rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: is a %s dataset, not %s", source,
			     dataset_kind_name(ds->kind), dataset_kind_name(o.kind));
	if (!rc && ds->num_classes <= 0)
		rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: no classes", source);
	/* Names from folders, archives and meta files as from class lists: UTF-8 (they become msgpack
	 * strings), no NUL, none twice. */
	if (!rc)
		rc = class_names_check(ds->class_names, NULL, (size_t)ds->num_classes, source, err, errsz);
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
	if (ds->links_out)
		warn("%s: skipped %zu symbolic link%s leading out of the dataset's folder (e.g. %s)", source,
		     ds->links_out, ds->links_out == 1 ? "" : "s", ds->links_out_example);
	return ds;
}

void dataset_close(dataset *ds)
{
	if (!ds)
		return;
	free(ds->split);
	free(ds->id_path);
	free(ds->id_hash);
	class_names_free(ds->class_names, ds->num_classes);
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
	free(ds->root_real);
	free(ds->links_out_example);
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
size_t dataset_links_out_count(const dataset *ds) { return ds->links_out; }
const char *dataset_links_out_example(const dataset *ds) { return ds->links_out_example; }

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

int dataset_check_bytes(const dataset *ds, size_t i, const dataset_sample *s, char *err, size_t errsz)
{
	if (s->kind != DATASET_SAMPLE_JPEG)
		return 0;
	const char *key = ds->keys.buf + ds->key_off[i];
	const uint8_t *d = s->data;
	size_t n = s->size;
	if (n < 4 || d[0] != 0xFF || d[1] != 0xD8)
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: %s: not a JPEG file (no start-of-image marker)",
				ds->id_path, key);
	tjhandle tj = tjInitDecompress();
	if (!tj)
		die(LFM_EXIT_IO, "libjpeg-turbo: cannot initialise a decompressor");
	int w = 0, h = 0, sub = 0, cs = 0, rc = 0;
	if (tjDecompressHeader3(tj, d, (unsigned long)n, &w, &h, &sub, &cs) != 0 || w <= 0 || h <= 0)
		rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: %s: corrupt JPEG header: %s", ds->id_path, key,
			      tjGetErrorStr2(tj));
	tjDestroy(tj);
	if (rc)
		return rc;
	char why[160];
	if (image_jpeg_limits(w, h, why, sizeof why) != 0)
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: %s: %s", ds->id_path, key, why);
	size_t sos = jpeg_scan_start(d, n);
	if (!sos)
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: %s: corrupt JPEG (broken marker segments)",
				ds->id_path, key);
	int eoi = 0;
	for (size_t p = sos + 2; p + 1 < n && !eoi; p++)
		eoi = d[p] == 0xFF && d[p + 1] == 0xD9;
	if (!eoi)
		return err_code(err, errsz, LFM_EXIT_DATA,
				"%s: %s: truncated JPEG (no end-of-image marker after the image data)", ds->id_path,
				key);
	return 0;
}

int dataset_check_sample(const dataset *ds, size_t i, char *err, size_t errsz)
{
	dataset_sample s;
	int rc = dataset_read(ds, i, &s, err, errsz);
	if (rc)
		return rc;
	rc = dataset_check_bytes(ds, i, &s, err, errsz);
	dataset_sample_free(&s);
	return rc;
}
