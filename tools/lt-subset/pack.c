/* pack.c — --pack FILE.tar: the selected samples copied into one tar for fast sequential reading, then
 * reopened so that the samples stream can describe the pack (its indices, keys and identity).
 *
 * Layouts:
 *   wds (default)  WebDataset: KEY.jpg (the original JPEG bytes) or KEY.rgb (CIFAR: the record's 3072
 *                  bytes of R, G, B planes, lossless and without an encoder) and KEY.cls (the label,
 *                  decimal). KEY is the source key without its .jpg extension, '/' and '.' turned into
 *                  '_' (WebDataset splits a key from its extension at the first dot of the file name).
 *                  Members in record order, the hold-out samples after the others.
 *   folder         an image folder: SPLIT/CLASS/FILE.jpg (the hold-out under val/), readable back by any
 *                  tool that reads image folders; JPEG sources only.
 * Every sample is read through the dataset (a symbolic link out of its folder is never followed) and must
 * pass --check's test (dataset_check_bytes) before it is copied: a pack holds only images the source
 * vouches for, never whatever a misnamed or linked file holds. FILE's extension picks the compression: .tar, .tar.gz/.tgz, .tar.zst, .tar.xz, .tar.bz2. Entries carry
 * fixed metadata (mode 0644, owner 0, mtime 0), so the same samples give the same archive bytes.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/errors.h"
#include "base/options.h"
#include "lt_subset.h"

typedef struct item {
	size_t src;     /* index in the source */
	int label;
	int hold;       /* 1: a hold-out sample */
	size_t pos;     /* its position in sel->main_idx or sel->hold_idx */
	char *member;   /* the image member's name */
	char *key;      /* its key once the pack is opened as a dataset */
} item;

static int add_filter(struct archive *a, const char *path)
{
	static const struct {
		const char *ext;
		int (*add)(struct archive *);
	} filters[] = {
		{".tar", archive_write_add_filter_none},   {".tar.gz", archive_write_add_filter_gzip},
		{".tgz", archive_write_add_filter_gzip},   {".tar.zst", archive_write_add_filter_zstd},
		{".tzst", archive_write_add_filter_zstd},  {".tar.xz", archive_write_add_filter_xz},
		{".txz", archive_write_add_filter_xz},     {".tar.bz2", archive_write_add_filter_bzip2},
	};
	size_t n = strlen(path);
	for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
		size_t e = strlen(filters[i].ext);
		if (n > e && strcmp(path + n - e, filters[i].ext) == 0) {
			if (filters[i].add(a) != ARCHIVE_OK)
				die(LFM_EXIT_IO, "%s: libarchive cannot write %s: %s", path, filters[i].ext,
				    archive_error_string(a));
			/* gzip stores the time of writing in its header unless told not to: the same samples
			 * must give the same bytes. */
			if (filters[i].add == archive_write_add_filter_gzip &&
			    (archive_write_set_filter_option(a, "gzip", "timestamp", NULL) < ARCHIVE_WARN ||
			     archive_write_set_filter_option(a, "gzip", "compression-level", "9") < ARCHIVE_WARN))
				die(LFM_EXIT_IO, "%s: %s", path, archive_error_string(a));
			return 0;
		}
	}
	return -1;
}

static char *wds_key(const char *key)
{
	size_t n = strlen(key);
	if (n > 4 && strcasecmp(key + n - 4, ".jpg") == 0)
		n -= 4;
	else if (n > 5 && strcasecmp(key + n - 5, ".jpeg") == 0)
		n -= 5;
	char *k = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		k[i] = key[i] == '/' || key[i] == '.' || key[i] == '\\' ? '_' : key[i];
	k[n] = 0;
	return k;
}

static void add_member(struct archive *a, const char *pack, const char *name, const void *data, size_t n)
{
	struct archive_entry *e = archive_entry_new();
	if (!e)
		die(LFM_EXIT_IO, "out of memory (libarchive)");
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)n);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if (archive_write_header(a, e) != ARCHIVE_OK)
		die(LFM_EXIT_IO, "%s: writing %s: %s", pack, name, archive_error_string(a));
	if (n && archive_write_data(a, data, n) != (la_ssize_t)n)
		die(LFM_EXIT_IO, "%s: writing %s: %s", pack, name, archive_error_string(a));
	archive_entry_free(e);
}

static int cmp_folder(const void *x, const void *y)
{
	const item *a = x, *b = y;
	if (a->hold != b->hold)
		return a->hold - b->hold;
	if (a->label != b->label)
		return a->label < b->label ? -1 : 1;
	return strcmp(a->member, b->member);
}

static int cmp_name(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

static const char *bad_folder_name(const char *s)
{
	if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return "is not usable as a folder name";
	if (strchr(s, '/'))
		return "contains '/'";
	return NULL;
}

void pack_write(const dataset *ds, const lt_options *o, const selection *sel, pack_result *out)
{
	memset(out, 0, sizeof *out);
	int folder = o->pack_layout == PACK_FOLDER;
	int C = dataset_num_classes(ds);
	size_t n = sel->n_main + sel->n_hold;
	dataset_kind kind = dataset_get_kind(ds);
	if (folder && (kind == DATASET_CIFAR10 || kind == DATASET_CIFAR100))
		die(LFM_EXIT_DATA, "--pack-layout folder needs JPEG samples; %s holds raw CIFAR pixels (use the "
				   "wds layout)",
		    o->source);
	item *it = xcalloc(n ? n : 1, sizeof *it);
	for (size_t j = 0; j < n; j++) {
		it[j].hold = j >= sel->n_main;
		it[j].pos = it[j].hold ? j - sel->n_main : j;
		it[j].src = it[j].hold ? sel->hold_idx[it[j].pos] : sel->main_idx[j];
		it[j].label = dataset_label(ds, it[j].src);
		const char *key = dataset_key(ds, it[j].src);
		if (folder) {
			const char *cls = dataset_class_name(ds, it[j].label), *why = bad_folder_name(cls);
			if (why)
				die(LFM_EXIT_DATA, "--pack-layout folder: class name '%s' %s", cls, why);
			const char *base = strrchr(key, '/');
			base = base ? base + 1 : key;
			it[j].member = xasprintf("%s/%s/%s", it[j].hold ? "val" : o->split, cls, base);
			it[j].key = xstrdup(it[j].member);
		} else {
			it[j].key = wds_key(key);
		}
	}
	if (folder)
		qsort(it, n, sizeof *it, cmp_folder);

	/* Two samples must not land on one name. */
	{
		char **names = xmalloc_array(n ? n : 1, sizeof *names);
		for (size_t j = 0; j < n; j++)
			names[j] = it[j].key;
		qsort(names, n, sizeof *names, cmp_name);
		for (size_t j = 1; j < n; j++)
			if (strcmp(names[j - 1], names[j]) == 0)
				die(LFM_EXIT_DATA, "--pack: two samples would both be stored as '%s'", names[j]);
		free(names);
	}

	outfile of;
	outfile_open(&of, o->pack, "wb");
	struct archive *a = archive_write_new();
	if (!a)
		die(LFM_EXIT_IO, "out of memory (libarchive)");
	if (add_filter(a, o->pack) != 0)
		opt_usage_error("--pack: '%s' must end in .tar, .tar.gz, .tgz, .tar.zst, .tar.xz or .tar.bz2",
				o->pack);
	/* A compressed pack ends where its compressed stream does (libarchive pads the last block with
	 * zeros otherwise, which gzip -t calls trailing garbage). */
	if (!(strlen(o->pack) > 4 && strcmp(o->pack + strlen(o->pack) - 4, ".tar") == 0))
		archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_FILE(a, of.f) != ARCHIVE_OK)
		die(LFM_EXIT_IO, "%s: %s", o->pack, archive_error_string(a));
	char err[1024];
	for (size_t j = 0; j < n; j++) {
		dataset_sample s;
		int rc = dataset_read(ds, it[j].src, &s, err, sizeof err);
		if (!rc && (rc = dataset_check_bytes(ds, it[j].src, &s, err, sizeof err)))
			dataset_sample_free(&s);
		if (rc)
			die(rc, "--pack: %s (nothing is packed that --check refuses; --check --skip-bad leaves such "
				"samples out)",
			    err);
		if (folder) {
			if (s.kind != DATASET_SAMPLE_JPEG)
				die(LFM_EXIT_DATA, "--pack-layout folder needs JPEG samples; %s is raw CIFAR pixels "
						   "(use the wds layout)",
				    dataset_key(ds, it[j].src));
			add_member(a, o->pack, it[j].member, s.data, s.size);
		} else {
			char *name = xasprintf("%s.%s", it[j].key, s.kind == DATASET_SAMPLE_CIFAR ? "rgb" : "jpg");
			add_member(a, o->pack, name, s.data, s.size);
			free(name);
			char cls[16];
			int len = snprintf(cls, sizeof cls, "%d", it[j].label);
			name = xasprintf("%s.cls", it[j].key);
			add_member(a, o->pack, name, cls, (size_t)len);
			free(name);
		}
		dataset_sample_free(&s);
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		die(LFM_EXIT_IO, "%s: %s", o->pack, archive_error_string(a));
	archive_write_free(a);
	outfile_commit(&of);

	/* Reopen it as the streams will describe it. */
	const char **names = xmalloc_array((size_t)C, sizeof *names);
	for (int k = 0; k < C; k++)
		names[k] = dataset_class_name(ds, k);
	dataset_options po = {.split = folder ? o->split : "train", .class_names = names, .num_class_names = C,
			      .index_only = 1, .cache_dir = o->cache_dir};
	out->main_ds = dataset_open_or_die(o->pack, &po);
	out->hold_ds = out->main_ds;
	if (folder && sel->n_hold) {
		po.split = "val";
		out->hold_ds = dataset_open_or_die(o->pack, &po);
	}
	free(names);
	out->n_main = sel->n_main;
	out->n_hold = sel->n_hold;
	out->main_index = xmalloc_array(sel->n_main ? sel->n_main : 1, sizeof *out->main_index);
	out->hold_index = xmalloc_array(sel->n_hold ? sel->n_hold : 1, sizeof *out->hold_index);
	out->main_key = xcalloc(sel->n_main ? sel->n_main : 1, sizeof *out->main_key);
	out->hold_key = xcalloc(sel->n_hold ? sel->n_hold : 1, sizeof *out->hold_key);
	for (size_t j = 0; j < n; j++) {
		const dataset *p = it[j].hold ? out->hold_ds : out->main_ds;
		int64_t at = dataset_find_key(p, it[j].key);
		if (at < 0 || dataset_label(p, (size_t)at) != it[j].label)
			die(LFM_EXIT_IO, "%s: reading the pack back: %s %s", o->pack, it[j].key,
			    at < 0 ? "is missing" : "has another label");
		if (it[j].hold) {
			out->hold_index[it[j].pos] = at;
			out->hold_key[it[j].pos] = it[j].key;
		} else {
			out->main_index[it[j].pos] = at;
			out->main_key[it[j].pos] = it[j].key;
		}
		free(it[j].member);
	}
	free(it);
}

void pack_result_free(pack_result *p)
{
	if (p->hold_ds != p->main_ds)
		dataset_close(p->hold_ds);
	dataset_close(p->main_ds);
	free(p->main_index);
	free(p->hold_index);
	for (size_t j = 0; j < p->n_main; j++)
		free(p->main_key[j]);
	for (size_t j = 0; j < p->n_hold; j++)
		free(p->hold_key[j]);
	free(p->main_key);
	free(p->hold_key);
	memset(p, 0, sizeof *p);
}
