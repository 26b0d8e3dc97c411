/* dataset_folder.c — image folders: [top/]<split>/<class>/<file>.jpg, in a directory or an archive.
 *
 * Classes are the union of the class folders of every split (so train and test agree on labels even if
 * one split lacks a class), in byte order, unless a class list is given; then a folder that is not in
 * the list is an unknown class (an error, or a counted skip). Samples are ordered class by class, files
 * by name within a class. Only .jpg/.jpeg files directly inside a class folder are samples; other files
 * are counted as ignored (hidden files silently).
 *
 * In a directory, a split folder, class folder or file that is a symbolic link resolving outside the
 * dataset's folder is skipped and counted (dataset_links_out_count), never read: the dataset is what is
 * under its folder (dataset_index.h, "reads confined to a root"). Links that stay inside are followed.
 */
#include "data/dataset_folder.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/errors.h"
#include "data/class_names.h"
#include "data/dataset_index.h"
#include "data/dataset_sha256.h"

static const char *const SPLITS[] = {"train", "test", "val"};

static int is_jpeg_name(const char *name)
{
	return ds_has_ext(name, ".jpg") || ds_has_ext(name, ".jpeg");
}

/* ---- class names: given, or collected ------------------------------------------------------------- */

typedef struct name_set {
	ds_strings s;
	size_t *off;
	size_t n, cap;
} name_set;

static void name_set_add(name_set *ns, const char *name, size_t len)
{
	/* Linear membership check is fine: class counts are small (<= a few thousand) but files many, so
	 * callers add each folder once. */
	for (size_t i = 0; i < ns->n; i++)
		if (strlen(ns->s.buf + ns->off[i]) == len && memcmp(ns->s.buf + ns->off[i], name, len) == 0)
			return;
	if (ns->n == ns->cap)
		ns->off = xrealloc(ns->off, (ns->cap = ns->cap ? ns->cap * 2 : 64) * sizeof *ns->off);
	ns->off[ns->n++] = ds_strings_add(&ns->s, name, len);
}

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The final class list: from the options, or the collected folder names sorted. */
static int class_list(const name_set *found, const dataset_options *o, char ***names, int *count, char *err,
		      size_t errsz)
{
	if (o->classes_file)
		return class_names_read(o->classes_file, names, count, err, errsz);
	if (o->class_names) {
		*count = o->num_class_names;
		*names = xmalloc_array((size_t)*count ? (size_t)*count : 1, sizeof **names);
		for (int k = 0; k < *count; k++)
			(*names)[k] = xstrdup(o->class_names[k]);
		return 0;
	}
	*count = (int)found->n;
	*names = xmalloc_array(found->n ? found->n : 1, sizeof **names);
	for (size_t k = 0; k < found->n; k++)
		(*names)[k] = xstrdup(found->s.buf + found->off[k]);
	qsort(*names, found->n, sizeof **names, cmp_cstr);
	return 0;
}

/* ---- building the samples ------------------------------------------------------------------------ */

typedef struct file_entry {
	char *rel;     /* "train/cat/0001.jpg" */
	size_t order;  /* position in the source listing: the later of two equal names wins */
	int label;
	uint64_t size;
	ds_loc loc;
} file_entry;

static int cmp_entry(const void *a, const void *b)
{
	const file_entry *x = a, *y = b;
	if (x->label != y->label)
		return x->label < y->label ? -1 : 1;
	int c = strcmp(x->rel, y->rel);
	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* The class folder name of rel ("train/cat/0001.jpg" -> "cat"), as a pointer and a length. */
static const char *class_of(const char *rel, size_t *len)
{
	const char *a = strchr(rel, '/') + 1;
	const char *b = strchr(a, '/');
	*len = (size_t)(b - a);
	return a;
}

static int build(dataset *ds, file_entry *files, size_t n, char **names, int count, const dataset_options *o,
		 char *err, size_t errsz)
{
	ds_map classes = {0};
	ds_map_init(&classes, (size_t)count);
	for (int k = 0; k < count; k++)
		ds_map_put(&classes, names[k], (size_t)k, 0, NULL);
	int rc = 0;
	size_t kept = 0, i = 0;
	for (; i < n; i++) {
		size_t len;
		const char *c = class_of(files[i].rel, &len);
		char cls[1024];
		snprintf(cls, sizeof cls, "%.*s", (int)(len < 1000 ? len : 1000), c);
		size_t k;
		if (!ds_map_get(&classes, cls, &k)) {
			if (!o->skip_bad) {
				rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: %s: unknown class '%s' (not in %s)",
					     ds->id_path, files[i].rel, cls,
					     o->classes_file ? o->classes_file : "the class list");
				break;
			}
			ds_note_bad(ds, "%s: unknown class '%s'", files[i].rel, cls);
			free(files[i].rel);
			continue;
		}
		files[i].label = (int)k;
		files[kept++] = files[i];
	}
	if (!rc) {
		if (kept > 1) /* files is NULL when a directory has no images (qsort wants a pointer) */
			qsort(files, kept, sizeof *files, cmp_entry);
		for (size_t j = 0; j < kept; j++) {
			if (j + 1 < kept && strcmp(files[j].rel, files[j + 1].rel) == 0)
				continue; /* the archive holds it twice: the later copy counts, as tar extracts it */
			ds_add_sample(ds, files[j].label, DATASET_SAMPLE_JPEG, files[j].rel, files[j].loc);
		}
	}
	for (size_t j = 0; j < kept; j++)
		free(files[j].rel);
	for (; rc && i < n; i++)
		free(files[i].rel);
	ds_map_free(&classes);
	if (rc) {
		class_names_free(names, count);
		return rc;
	}
	ds->kind = DATASET_IMAGE_FOLDER;
	ds->class_names = names;
	ds->num_classes = count;
	return 0;
}

/* ---- in a directory ------------------------------------------------------------------------------- */

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int has_split_dir(const char *dir)
{
	for (int s = 0; s < 3; s++) {
		char *p = xasprintf("%s/%s", dir, SPLITS[s]);
		int ok = is_dir(p);
		free(p);
		if (ok)
			return 1;
	}
	return 0;
}

int ds_is_folder_dir(const char *dir, char **root_out)
{
	if (root_out)
		*root_out = NULL;
	if (has_split_dir(dir)) {
		if (root_out)
			*root_out = xstrdup(dir);
		return 1;
	}
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	char *found = NULL;
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *sub = xasprintf("%s/%s", dir, e->d_name);
		if (is_dir(sub) && has_split_dir(sub)) {
			count++;
			free(found);
			found = sub;
		} else {
			free(sub);
		}
	}
	closedir(d);
	if (count != 1) {
		free(found);
		return 0;
	}
	if (root_out)
		*root_out = found;
	else
		free(found);
	return 1;
}

/* Sorted names of the entries of a directory (hidden ones left out). */
static char **list_dir(const char *path, size_t *n, int *err_no)
{
	*n = 0;
	*err_no = 0;
	DIR *d = opendir(path);
	if (!d) {
		*err_no = errno;
		return NULL;
	}
	char **v = NULL;
	size_t cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (*n == cap)
			v = xrealloc(v, (cap = cap ? cap * 2 : 64) * sizeof *v);
		v[(*n)++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (*n > 1) /* v is NULL for an empty directory */
		qsort(v, *n, sizeof *v, cmp_cstr);
	return v;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* 1 when path is a link out of the root: noted (rel names it) and to be skipped. */
static int link_out(dataset *ds, const char *path, const char *rel)
{
	char *target = ds_link_leaves(ds->root_real, path);
	if (!target)
		return 0;
	char *example = xasprintf("%s -> %s", rel, target);
	ds_note_link_out(ds, example);
	free(example);
	free(target);
	return 1;
}

/* A folder of the dataset that may be used: a directory, not a link out of the root (noted when
 * note is set, so that each is counted once). */
static int usable_dir(dataset *ds, const char *path, const char *rel, int note)
{
	if (!is_dir(path))
		return 0;
	if (!note) {
		char *target = ds_link_leaves(ds->root_real, path);
		free(target);
		return !target;
	}
	return !link_out(ds, path, rel);
}

int ds_open_folder_dir(dataset *ds, const char *dir, const dataset_options *o, char *err, size_t errsz)
{
	char *root;
	if (!ds_is_folder_dir(dir, &root))
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: no train/, test/ or val/ folder", dir);
	ds->root_real = realpath(root, NULL);
	if (!ds->root_real) {
		int rc = err_code(err, errsz, LFM_EXIT_IO, "%s: %s", root, strerror(errno));
		free(root);
		return rc;
	}
	name_set found = {0};
	for (int s = 0; s < 3; s++) {
		char *sp = xasprintf("%s/%s", root, SPLITS[s]);
		size_t n;
		int e;
		char **cls = usable_dir(ds, sp, SPLITS[s], 0) ? list_dir(sp, &n, &e) : NULL;
		for (size_t i = 0; cls && i < n; i++) {
			char *cp = xasprintf("%s/%s", sp, cls[i]);
			if (usable_dir(ds, cp, cls[i], 0))
				name_set_add(&found, cls[i], strlen(cls[i]));
			free(cp);
		}
		if (cls)
			free_list(cls, n);
		free(sp);
	}
	char *split_dir = xasprintf("%s/%s", root, o->split);
	int rc = 0;
	file_entry *files = NULL;
	size_t nfiles = 0, cap = 0;
	source_hash listing;
	source_hash_init(&listing);
	uint64_t total = 0;
	char **names = NULL;
	int count = 0;
	if (!usable_dir(ds, split_dir, o->split, 1)) {
		rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: no %s/ folder%s", dir, o->split,
			     ds->links_out ? " (a symbolic link out of the dataset's folder)" : "");
		goto out;
	}
	size_t ncls;
	int e;
	char **cls = list_dir(split_dir, &ncls, &e);
	if (!cls && e) {
		rc = err_code(err, errsz, LFM_EXIT_IO, "%s: %s", split_dir, strerror(e));
		goto out;
	}
	for (size_t c = 0; c < ncls && !rc; c++) {
		char *cp = xasprintf("%s/%s", split_dir, cls[c]);
		char *crel = xasprintf("%s/%s", o->split, cls[c]);
		int skip = link_out(ds, cp, crel);
		if (!skip && !is_dir(cp))
			ds_note_ignored(ds, crel);
		free(crel);
		if (skip || !is_dir(cp)) {
			free(cp);
			continue;
		}
		size_t nf;
		char **fl = list_dir(cp, &nf, &e);
		if (!fl && e)
			rc = err_code(err, errsz, LFM_EXIT_IO, "%s: %s", cp, strerror(e));
		for (size_t f = 0; f < nf && !rc; f++) {
			char *rel = xasprintf("%s/%s/%s", o->split, cls[c], fl[f]);
			char *full = xasprintf("%s/%s", root, rel);
			struct stat st;
			if (link_out(ds, full, rel)) {
				free(rel);
				free(full);
				continue;
			}
			if (stat(full, &st) != 0 || !S_ISREG(st.st_mode) || !is_jpeg_name(fl[f])) {
				ds_note_ignored(ds, rel);
				free(rel);
				free(full);
				continue;
			}
			free(full);
			if (nfiles == cap)
				files = xrealloc(files, (cap = cap ? cap * 2 : 1024) * sizeof *files);
			files[nfiles] = (file_entry){.rel = rel, .order = nfiles, .size = (uint64_t)st.st_size,
						     .loc = {.where = o->index_only ? DS_NONE : DS_PATH}};
			nfiles++;
		}
		if (fl)
			free_list(fl, nf);
		free(cp);
	}
	free_list(cls, ncls);
	if (rc)
		goto out;
	/* Identity: the listing of the files used, in path order. */
	{
		char **order = xmalloc_array(nfiles ? nfiles : 1, sizeof *order);
		for (size_t i = 0; i < nfiles; i++)
			order[i] = files[i].rel;
		/* files are already in (class folder, name) order, which is path order */
		for (size_t i = 0; i < nfiles; i++) {
			char line[64];
			snprintf(line, sizeof line, "%llu ", (unsigned long long)files[i].size);
			source_hash_update(&listing, line, strlen(line));
			source_hash_update(&listing, order[i], strlen(order[i]));
			source_hash_update(&listing, "\n", 1);
			total += files[i].size;
		}
		free(order);
	}
	rc = class_list(&found, o, &names, &count, err, errsz);
	if (rc)
		goto out;
	rc = build(ds, files, nfiles, names, count, o, err, errsz);
	nfiles = 0;
	if (rc)
		goto out;
	ds->path_prefix = xasprintf("%s/", root);
	uint8_t digest[32];
	source_hash_final(&listing, digest);
	char hex[96];
	source_hash_hex(digest, "sha256-listing:", hex);
	ds->id_hash = xstrdup(hex);
	ds->id.size = total;
out:
	for (size_t i = 0; i < nfiles; i++)
		free(files[i].rel);
	free(files);
	free(split_dir);
	free(root);
	ds_strings_free(&found.s);
	free(found.off);
	return rc;
}

/* ---- in an archive ---------------------------------------------------------------------------- */

/* Path components: pointers to the starts and the count, or max + 1 when there are more than max (only
 * the first max are filled in then). A trailing slash ends the path. */
static int components(const char *p, const char **c, size_t *len, int max)
{
	int n = 0;
	while (*p) {
		if (n == max)
			return max + 1; /* deeper than max */
		const char *s = strchr(p, '/');
		c[n] = p;
		len[n] = s ? (size_t)(s - p) : strlen(p);
		n++;
		if (!s)
			break;
		p = s + 1;
	}
	return n;
}

int folder_archive_top(const ds_scan *scan, char **top)
{
	*top = NULL;
	int direct = 0, under = 0;
	const char *top_name = NULL;
	size_t top_len = 0;
	for (size_t i = 0; i < scan->n; i++) {
		const char *c[5];
		size_t len[5];
		int n = components(scan->m[i].name, c, len, 4);
		if (n >= 3 && ds_is_split_name(c[0], len[0]))
			direct = 1;
		else if (n >= 4 && ds_is_split_name(c[1], len[1])) {
			if (!top_name) {
				top_name = c[0];
				top_len = len[0];
			} else if (top_len != len[0] || memcmp(top_name, c[0], top_len) != 0) {
				return -1; /* two top folders */
			}
			under = 1;
		}
	}
	if (direct) {
		*top = xstrdup("");
		return 0;
	}
	if (under) {
		*top = xmalloc(top_len + 1);
		memcpy(*top, top_name, top_len);
		(*top)[top_len] = 0;
		return 0;
	}
	return -1;
}

int ds_folder_from_scan(dataset *ds, ds_scan *scan, const char *top, const dataset_options *o, char *err,
			size_t errsz)
{
	size_t tl = strlen(top);
	name_set found = {0};
	file_entry *files = NULL;
	size_t nfiles = 0, cap = 0;
	size_t split_len = strlen(o->split);
	/* Class folders of every split, then the split's files. Classes are few: remember the last one
	 * added to skip the linear check for the runs of files of one class. */
	const char *last_cls = NULL;
	size_t last_len = 0;
	for (size_t i = 0; i < scan->n; i++) {
		const char *name = scan->m[i].name;
		if (tl) {
			if (strncmp(name, top, tl) != 0 || name[tl] != '/')
				continue;
			name += tl + 1;
		}
		const char *c[4];
		size_t len[4];
		int n = components(name, c, len, 3);
		if (n < 3 || !ds_is_split_name(c[0], len[0]))
			continue;
		/* As in a directory: hidden class folders (".git", and "." or ".." in a member name) are
		 * passed over, and a file in no class folder ("train//x.jpg") is not a sample. */
		if (len[1] && c[1][0] == '.')
			continue;
		if (len[1] == 0) {
			if (len[0] == split_len && memcmp(c[0], o->split, split_len) == 0)
				ds_note_ignored(ds, name);
			continue;
		}
		if (!(last_cls && last_len == len[1] && memcmp(last_cls, c[1], len[1]) == 0)) {
			name_set_add(&found, c[1], len[1]);
			last_cls = c[1];
			last_len = len[1];
		}
		if (len[0] != split_len || memcmp(c[0], o->split, split_len) != 0)
			continue;
		if (n > 3 || !is_jpeg_name(c[2])) {
			if (c[2][0] != '.')
				ds_note_ignored(ds, name);
			continue;
		}
		if (c[2][0] == '.')
			continue;
		if (nfiles == cap)
			files = xrealloc(files, (cap = cap ? cap * 2 : 1024) * sizeof *files);
		files[nfiles] = (file_entry){.rel = xstrdup(name), .order = i, .size = scan->m[i].size,
					     .loc = scan->m[i].loc};
		if (o->index_only)
			files[nfiles].loc.where = DS_NONE;
		nfiles++;
	}
	char **names = NULL;
	int count = 0;
	int rc = class_list(&found, o, &names, &count, err, errsz);
	if (!rc && nfiles == 0) {
		rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: no %s/<class>/*.jpg images%s%s%s", ds->id_path,
			     o->split, tl ? " under " : "", tl ? top : "", tl ? "/" : "");
		class_names_free(names, count);
	} else if (!rc) {
		rc = build(ds, files, nfiles, names, count, o, err, errsz); /* owns names and the paths */
		nfiles = 0;
	}
	for (size_t i = 0; i < nfiles; i++)
		free(files[i].rel);
	free(files);
	ds_strings_free(&found.s);
	free(found.off);
	if (rc)
		return rc;
	ds->id.size = scan->size;
	ds->id_hash = xstrdup(scan->hash);
	ds_adopt_scan(ds, scan);
	return 0;
}
