/* dataset_wds.c — WebDataset-style tars: the files of one sample share a key (the member name up to the
 * first dot of its file name) and differ in extension: key.jpg / key.jpeg (a JPEG) or key.rgb (3072
 * bytes of CIFAR planes, what lt-subset --pack writes for CIFAR), and key.cls (the label as decimal
 * text). Samples are in the order their key first appears; other extensions (.txt, .json) are ignored.
 * Class names come from a class list; without one they are "0", "1", ... up to the largest label. */
#include "data/dataset_wds.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/errors.h"
#include "data/class_names.h"
#include "data/dataset_index.h"

#define MAX_LABEL 1000000

int wds_split_name(const char *name, size_t *key_len, const char **ext)
{
	const char *base = ds_basename(name);
	const char *dot = strchr(base, '.');
	if (!dot || dot == base || !dot[1])
		return 0;
	*key_len = (size_t)(dot - name);
	*ext = dot + 1;
	return 1;
}

typedef struct wsample {
	char *key;
	long img, cls;   /* member indices or -1 */
	int img_kind;
	const char *problem;
} wsample;

/* The label in a .cls file: decimal digits with optional surrounding blanks. */
static int parse_cls(const uint8_t *d, size_t n, int *label)
{
	size_t i = 0;
	while (i < n && isspace(d[i]))
		i++;
	if (i == n)
		return -1;
	long v = 0;
	size_t digits = 0;
	for (; i < n && d[i] >= '0' && d[i] <= '9'; i++, digits++) {
		v = v * 10 + (d[i] - '0');
		if (v > MAX_LABEL)
			return -1;
	}
	while (i < n && isspace(d[i]))
		i++;
	if (!digits || i != n)
		return -1;
	*label = (int)v;
	return 0;
}

int ds_wds_from_scan(dataset *ds, ds_scan *scan, const dataset_options *o, char *err, size_t errsz)
{
	wsample *s = NULL;
	size_t ns = 0, cap = 0;
	ds_map keys = {0};
	ds_map_init(&keys, 1024);
	for (size_t i = 0; i < scan->n; i++) {
		size_t kl;
		const char *ext;
		if (!wds_split_name(scan->m[i].name, &kl, &ext))
			continue;
		int is_img = strcasecmp(ext, "jpg") == 0 || strcasecmp(ext, "jpeg") == 0;
		int is_rgb = strcasecmp(ext, "rgb") == 0;
		int is_cls = strcasecmp(ext, "cls") == 0;
		int is_other_img = strcasecmp(ext, "png") == 0 || strcasecmp(ext, "webp") == 0 ||
				   strcasecmp(ext, "ppm") == 0 || strcasecmp(ext, "bmp") == 0;
		if (!is_img && !is_rgb && !is_cls && !is_other_img)
			continue;
		char *key = xmalloc(kl + 1);
		memcpy(key, scan->m[i].name, kl);
		key[kl] = 0;
		size_t at;
		if (ds_map_get(&keys, key, &at)) {
			free(key);
		} else {
			if (ns == cap)
				s = xrealloc(s, (cap = cap ? cap * 2 : 1024) * sizeof *s);
			at = ns++;
			s[at] = (wsample){.key = key, .img = -1, .cls = -1};
			ds_map_put(&keys, key, at, 0, NULL);
		}
		wsample *w = &s[at];
		if (is_cls) {
			if (w->cls >= 0)
				w->problem = "two .cls files";
			w->cls = (long)i;
		} else if (is_other_img) {
			if (!w->problem)
				w->problem = "image format not supported (JPEG or .rgb expected)";
		} else {
			if (w->img >= 0)
				w->problem = "two images";
			w->img = (long)i;
			w->img_kind = is_rgb ? DATASET_SAMPLE_CIFAR : DATASET_SAMPLE_JPEG;
		}
	}
	ds_map_free(&keys);

	int given = 0;
	char **names = NULL;
	int count = 0, rc = 0, max_label = -1;
	if (o->classes_file) {
		rc = class_names_read(o->classes_file, &names, &count, err, errsz);
		given = 1;
	} else if (o->class_names) {
		count = o->num_class_names;
		names = xmalloc_array((size_t)count ? (size_t)count : 1, sizeof *names);
		for (int k = 0; k < count; k++)
			names[k] = xstrdup(o->class_names[k]);
		given = 1;
	}
	if (!rc && ns == 0)
		rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: no samples (key.jpg + key.cls members)", ds->id_path);
	for (size_t j = 0; j < ns && !rc; j++) {
		wsample *w = &s[j];
		int label = -1;
		char why[160];
		const char *problem = w->problem;
		if (!problem && w->cls < 0)
			problem = "no .cls file";
		if (!problem && w->img < 0)
			problem = "no image (.jpg or .rgb)";
		if (!problem) {
			const uint8_t *d;
			size_t n;
			void *owned;
			rc = ds_scan_read(scan, (size_t)w->cls, ds->id_path, &d, &n, &owned, err, errsz);
			if (rc)
				break;
			if (parse_cls(d, n, &label) != 0)
				problem = "its .cls file is not a label (decimal digits)";
			free(owned);
		}
		if (!problem && given && label >= count) {
			snprintf(why, sizeof why, "label %d is out of range 0..%d", label, count - 1);
			problem = why;
		}
		if (!problem && w->img_kind == DATASET_SAMPLE_CIFAR && scan->m[w->img].size != CIFAR_PIXELS) {
			snprintf(why, sizeof why, ".rgb file of %llu bytes, not %d",
				 (unsigned long long)scan->m[w->img].size, CIFAR_PIXELS);
			problem = why;
		}
		if (problem) {
			if (!o->skip_bad) {
				rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: sample %s: %s", ds->id_path, w->key,
					     problem);
				break;
			}
			ds_note_bad(ds, "sample %s: %s", w->key, problem);
			label = -1;
		}
		ds_loc loc = {0};
		if (label >= 0 && !o->index_only)
			loc = scan->m[w->img].loc;
		if (label > max_label)
			max_label = label;
		ds_add_sample(ds, label, label >= 0 ? (dataset_sample_kind)w->img_kind : DATASET_SAMPLE_JPEG,
			      w->key, loc);
	}
	for (size_t j = 0; j < ns; j++)
		free(s[j].key);
	free(s);
	if (rc) {
		class_names_free(names, count);
		return rc;
	}
	if (!given) {
		count = max_label + 1;
		names = xmalloc_array((size_t)count ? (size_t)count : 1, sizeof *names);
		for (int k = 0; k < count; k++)
			names[k] = xasprintf("%d", k);
	}
	ds->kind = DATASET_WEBDATASET;
	ds->class_names = names;
	ds->num_classes = count;
	ds->id.size = scan->size;
	ds->id_hash = xstrdup(scan->hash);
	ds_adopt_scan(ds, scan);
	return 0;
}
