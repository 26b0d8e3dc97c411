/* dataset_list.c — split lists: "relative/path label" a line (ImageNet-LT, Places-LT), the paths relative
 * to a root folder or archive.
 *
 * The label is the last blank-separated field, so paths may contain spaces; \r\n line ends and blank
 * lines are tolerated (blank lines take no index). Paths must stay inside the root: absolute paths and
 * ".." components are refused, and in a root folder a path that resolves outside it through a symbolic
 * link is refused when the sample is read (an error, or a failed --check; dataset_index.h). Without a class list the classes are 0 .. largest label, each named after
 * the folder its images are in when that is the same for all of them ("train/airfield/x.jpg" ->
 * "airfield"), else by its number. Files in a root folder are not looked at until read or checked; in a
 * root archive, a listed file that is not a member is found at open (an error, or a hole with skip_bad).
 * A root archive may be ImageNet's or Places365's tars as downloaded: the rules that map list paths onto
 * their members are below ("list paths onto archive members"); an uncompressed one is located through its
 * index file (dataset_tarindex.h), tars inside it included.
 */
#include "data/dataset_list.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/errors.h"
#include "data/class_names.h"
#include "data/dataset_archive.h"
#include "data/dataset_index.h"
#include "data/dataset_sha256.h"
#include "data/dataset_tarindex.h"

#define MAX_LABEL 1000000

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* Why a path may not be used, or NULL. */
static const char *bad_path(const char *p, size_t n)
{
	if (n == 0)
		return "empty path";
	if (p[0] == '/')
		return "absolute path (paths are relative to the root)";
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && p[j] != '/')
			j++;
		if (j - i == 2 && p[i] == '.' && p[i + 1] == '.')
			return "path leaves the root ('..')";
		i = j + 1;
	}
	return NULL;
}

int split_list_parse(const char *buf, size_t len, const char *name, int num_classes, int skip_bad,
		     split_list *out, char *err, size_t errsz)
{
	memset(out, 0, sizeof *out);
	out->max_label = -1;
	size_t cap = 0, line_no = 0;
	for (size_t pos = 0; pos < len;) {
		size_t n;
		const char *line = ds_next_line(buf, len, &pos, &n);
		line_no++;
		while (n && is_blank(line[n - 1]))
			n--;
		size_t start = 0;
		while (start < n && is_blank(line[start]))
			start++;
		if (start == n)
			continue; /* blank line */
		const char *problem = NULL;
		char why[128];
		long label = -1;
		size_t path_len = 0;
		const char *path = line + start;
		if (memchr(line, 0, n)) {
			problem = "NUL byte in the line";
		} else {
			size_t sep = n;
			while (sep > start && !is_blank(line[sep - 1]))
				sep--;
			if (sep == start) {
				problem = "no label (lines are 'path label')";
			} else {
				path_len = sep - start;
				while (path_len && is_blank(path[path_len - 1]))
					path_len--;
				label = 0;
				for (size_t i = sep; i < n; i++) {
					if (line[i] < '0' || line[i] > '9' || label > MAX_LABEL) {
						snprintf(why, sizeof why, "label '%.*s' is not an integer 0..%d",
							 (int)(n - sep < 40 ? n - sep : 40), line + sep, MAX_LABEL);
						problem = why;
						break;
					}
					label = label * 10 + (line[i] - '0');
				}
				if (!problem && label > MAX_LABEL) {
					snprintf(why, sizeof why, "label %ld is larger than %d", label, MAX_LABEL);
					problem = why;
				}
				if (!problem && num_classes > 0 && label >= num_classes) {
					snprintf(why, sizeof why, "label %ld is out of range 0..%d", label,
						 num_classes - 1);
					problem = why;
				}
				if (!problem)
					problem = bad_path(path, path_len);
			}
		}
		if (problem) {
			if (!skip_bad) {
				int rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: line %zu: %s", name, line_no, problem);
				split_list_free(out);
				return rc;
			}
			if (!out->bad)
				snprintf(out->first_bad, sizeof out->first_bad, "%s: line %zu: %s", name, line_no,
					 problem);
			out->bad++;
			label = -1;
			char tag[48];
			snprintf(tag, sizeof tag, "line %zu", line_no);
			path = tag;
			path_len = strlen(tag);
			if (out->n == cap) {
				cap = cap ? cap * 2 : 1024;
				out->path_off = xrealloc(out->path_off, cap * sizeof *out->path_off);
				out->label = xrealloc(out->label, cap * sizeof *out->label);
			}
			out->path_off[out->n] = ds_strings_add(&out->paths, path, path_len);
			out->label[out->n++] = -1;
			continue;
		}
		if (out->n == cap) {
			cap = cap ? cap * 2 : 1024;
			out->path_off = xrealloc(out->path_off, cap * sizeof *out->path_off);
			out->label = xrealloc(out->label, cap * sizeof *out->label);
		}
		out->path_off[out->n] = ds_strings_add(&out->paths, path, path_len);
		out->label[out->n++] = (int32_t)label;
		if (label > out->max_label)
			out->max_label = (int)label;
	}
	return 0;
}

void split_list_free(split_list *l)
{
	ds_strings_free(&l->paths);
	free(l->path_off);
	free(l->label);
	memset(l, 0, sizeof *l);
}

/* Class names from the folders: label k is named after the parent folder of its paths if they agree. */
static char **derived_names(const split_list *l, int count)
{
	char **names = xcalloc((size_t)count ? (size_t)count : 1, sizeof *names);
	char *conflict = xcalloc((size_t)count ? (size_t)count : 1, 1);
	for (size_t i = 0; i < l->n; i++) {
		int k = l->label[i];
		if (k < 0 || conflict[k])
			continue;
		const char *p = l->paths.buf + l->path_off[i];
		const char *slash = strrchr(p, '/');
		if (!slash) {
			conflict[k] = 1;
			continue;
		}
		const char *start = slash;
		while (start > p && start[-1] != '/')
			start--;
		size_t n = (size_t)(slash - start);
		if (n == 0) {
			conflict[k] = 1;
		} else if (!names[k]) {
			names[k] = xmalloc(n + 1);
			memcpy(names[k], start, n);
			names[k][n] = 0;
		} else if (strlen(names[k]) != n || memcmp(names[k], start, n) != 0) {
			conflict[k] = 1;
		}
	}
	/* Folder names must also be distinct across labels, else numbers for all. */
	ds_map seen = {0};
	int ok = 1;
	for (int k = 0; k < count && ok; k++)
		ok = !conflict[k] && names[k] && !ds_map_put(&seen, names[k], (size_t)k, 0, NULL);
	ds_map_free(&seen);
	for (int k = 0; k < count; k++)
		if (!ok) {
			free(names[k]);
			names[k] = xasprintf("%d", k);
		}
	free(conflict);
	return names;
}

/* ---- list paths onto archive members --------------------------------------------------------------
 *
 * A list path ("train/n01440764/n01440764_10026.JPEG") names a member of the root archive, tried in this
 * order:
 *   1. the member of that name;
 *   2. the member of that name under the archive's one top folder ("places365_standard/train/...");
 *   3. for a path SPLIT/CLASS/FILE (SPLIT train, val or test), the member CLASS/FILE of a layout that
 *      has no split folder: FILE in the tar CLASS.tar inside the archive (ImageNet's training tar of
 *      per-class tars: "n01440764.tar//n01440764_10026.JPEG"), or FILE under Places365's letter
 *      folders, [TOP/]L/CAT/FILE or [TOP/]L/CAT/SUB/FILE with L the first letter of CAT, the list
 *      writing CAT/SUB as CAT-SUB ("data_256/a/apartment_building/outdoor/00000001.jpg" for
 *      "train/apartment_building-outdoor/00000001.jpg");
 *   4. in a flat archive (no tar inside it, every member in the same folder, the top one or one below it:
 *      ImageNet's validation tar, Places365's val_256.tar), the member with the path's file name: such an
 *      archive has no class folders, the list's folders only sort its files by class.
 * Ambiguity cannot arise in 3 and 4 for these layouts (an archive holds a name once); where an archive
 * does hold a name twice the later member is used, as tar extracts it. */

/* The CLASS/FILE a member stands for without a split folder (rule 3), or NULL. */
static char *class_file_alias(const ds_member *m)
{
	const char *name = m->name;
	if (m->nested) {
		const char *sep = strstr(name, "//");
		const char *outer = name, *slash;
		while ((slash = memchr(outer, '/', (size_t)(sep - outer))) != NULL)
			outer = slash + 1;
		size_t stem = (size_t)(sep - outer) - 4; /* without ".tar" */
		const char *inner = sep + 2;
		return xasprintf("%.*s/%s", (int)stem, outer, inner);
	}
	const char *c[6];
	size_t len[6];
	int n = 0;
	for (const char *p = name; n < 6;) {
		const char *e = strchr(p, '/');
		c[n] = p;
		len[n++] = e ? (size_t)(e - p) : strlen(p);
		if (!e)
			break;
		p = e + 1;
	}
	if (n > 5 || strchr(c[n - 1] + len[n - 1], '/'))
		return NULL;
	for (int i = 0; i <= 1; i++) {
		int rest = n - i - 1; /* components after the letter: CAT/FILE or CAT/SUB/FILE */
		if (rest < 2 || rest > 3 || len[i] != 1 || c[i][0] < 'a' || c[i][0] > 'z' || len[i + 1] == 0 ||
		    c[i + 1][0] != c[i][0])
			continue;
		if (rest == 2)
			return xasprintf("%.*s/%s", (int)len[i + 1], c[i + 1], c[i + 2]);
		return xasprintf("%.*s-%.*s/%s", (int)len[i + 1], c[i + 1], (int)len[i + 2], c[i + 2], c[i + 3]);
	}
	return NULL;
}

/* The path without its split folder (rule 3), or NULL. */
static const char *without_split(const char *path)
{
	const char *slash = strchr(path, '/');
	return slash && ds_is_split_name(path, (size_t)(slash - path)) ? slash + 1 : NULL;
}

static const char *dir_end(const char *name)
{
	const char *slash = strrchr(name, '/');
	return slash ? slash : name;
}

typedef struct member_maps {
	ds_map exact, stripped, class_file, base;
	char **aliases; /* the class_file keys (the map keeps pointers) */
	int flat;
} member_maps;

static void maps_build(member_maps *mm, const ds_scan *scan)
{
	memset(mm, 0, sizeof *mm);
	ds_map_init(&mm->exact, scan->n);
	ds_map_init(&mm->stripped, scan->n);
	ds_map_init(&mm->class_file, 16);
	mm->aliases = xcalloc(scan->n ? scan->n : 1, sizeof *mm->aliases);
	mm->flat = scan->n > 0;
	for (size_t m = 0; m < scan->n; m++) {
		const ds_member *mb = &scan->m[m];
		ds_map_put(&mm->exact, mb->name, m, 1, NULL);
		const char *slash = strchr(mb->name, '/');
		if (slash && !mb->nested)
			ds_map_put(&mm->stripped, slash + 1, m, 0, NULL);
		if ((mm->aliases[m] = class_file_alias(mb)) != NULL)
			ds_map_put(&mm->class_file, mm->aliases[m], m, 1, NULL);
		/* flat: one folder, the archive's top or one below it ("val_256/"), for every member; a deeper
		 * one is a class folder (an archive of one class), whose file names say nothing of the others' */
		const char *d0 = scan->m[0].name, *d = mb->name;
		size_t dl = (size_t)(dir_end(d) - d);
		if (mb->nested || dl != (size_t)(dir_end(d0) - d0) || memcmp(d, d0, dl) != 0 || memchr(d, '/', dl))
			mm->flat = 0;
	}
	if (mm->flat) {
		ds_map_init(&mm->base, scan->n);
		for (size_t m = 0; m < scan->n; m++)
			ds_map_put(&mm->base, ds_basename(scan->m[m].name), m, 1, NULL);
	}
}

static int maps_find(const member_maps *mm, const char *path, size_t *m)
{
	const char *rest = without_split(path);
	return ds_map_get(&mm->exact, path, m) || ds_map_get(&mm->stripped, path, m) ||
	       (rest && ds_map_get(&mm->class_file, rest, m)) || (mm->flat && ds_map_get(&mm->base, ds_basename(path), m));
}

static void maps_free(member_maps *mm, size_t n)
{
	ds_map_free(&mm->exact);
	ds_map_free(&mm->stripped);
	ds_map_free(&mm->class_file);
	ds_map_free(&mm->base);
	for (size_t m = 0; m < n && mm->aliases; m++)
		free(mm->aliases[m]);
	free(mm->aliases);
	memset(mm, 0, sizeof *mm);
}

/* During a compressed archive's pass (members must be kept as they are decompressed, before the layout
 * is known): keep a member any rule could match. */
typedef struct list_want {
	ds_map *paths, *rests, *bases;
	int index_only; /* names suffice */
} list_want;

static int want_listed(void *ctx, const char *name, uint64_t size)
{
	list_want *w = ctx;
	if (w->index_only)
		return DS_SKIP;
	if (ds_map_get(w->paths, name, NULL))
		return DS_KEEP;
	const char *slash = strchr(name, '/');
	if (slash && ds_map_get(w->paths, slash + 1, NULL))
		return DS_KEEP;
	if (ds_map_get(w->bases, ds_basename(name), NULL))
		return DS_KEEP;
	ds_member m = {.name = (char *)name};
	char *alias = class_file_alias(&m);
	int keep = alias && ds_map_get(w->rests, alias, NULL);
	free(alias);
	return keep ? DS_KEEP : DS_SKIP;
}

int ds_open_split_list(dataset *ds, const char *list_path, const dataset_options *o, char *err,
		       size_t errsz)
{
	char *text;
	size_t len;
	int rc = ds_read_whole_file(list_path, (size_t)1 << 32, &text, &len, err, errsz);
	if (rc)
		return rc;
	source_hash sha;
	source_hash_init(&sha);
	source_hash_update(&sha, text, len);
	uint8_t digest[32];
	source_hash_final(&sha, digest);
	char hex[96];
	source_hash_hex(digest, "sha256:", hex);

	char **names = NULL;
	int count = 0;
	if (o->classes_file) {
		rc = class_names_read(o->classes_file, &names, &count, err, errsz);
	} else if (o->class_names) {
		count = o->num_class_names;
		names = xmalloc_array((size_t)count ? (size_t)count : 1, sizeof *names);
		for (int k = 0; k < count; k++)
			names[k] = xstrdup(o->class_names[k]);
	}
	split_list l = {0};
	if (!rc)
		rc = split_list_parse(text, len, list_path, count, o->skip_bad, &l, err, errsz);
	free(text);
	if (!rc && l.n == 0)
		rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: %s", list_path,
			     len ? "no samples (only blank lines)" : "the list is empty");
	if (rc) {
		class_names_free(names, count);
		split_list_free(&l);
		return rc;
	}
	if (!names) {
		count = l.max_label + 1;
		names = derived_names(&l, count);
	}
	ds->kind = DATASET_SPLIT_LIST;
	ds->class_names = names;
	ds->num_classes = count;
	ds->id.size = len;
	ds->id_hash = xstrdup(hex);
	if (l.bad) {
		ds_note_bad(ds, "%s", l.first_bad);
		ds->bad += l.bad - 1;
	}

	struct stat st;
	ds_scan scan = {.fd = -1};
	member_maps maps = {0};
	int archive_root = 0;
	if (o->root) {
		if (stat(o->root, &st) != 0) {
			rc = err_code(err, errsz, LFM_EXIT_IO, "%s: %s", o->root, strerror(errno));
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			ds->path_prefix = xasprintf("%s/", o->root);
			ds->root_real = realpath(o->root, NULL);
			if (!ds->root_real) {
				rc = err_code(err, errsz, LFM_EXIT_IO, "%s: %s", o->root, strerror(errno));
				goto out;
			}
		} else {
			archive_root = 1;
			ds_map listed = {0}, rests = {0}, bases = {0};
			ds_map_init(&listed, l.n);
			ds_map_init(&rests, l.n);
			ds_map_init(&bases, l.n);
			for (size_t i = 0; i < l.n; i++)
				if (l.label[i] >= 0) {
					const char *p = l.paths.buf + l.path_off[i], *rest = without_split(p);
					ds_map_put(&listed, p, i, 0, NULL);
					ds_map_put(&bases, ds_basename(p), i, 0, NULL);
					if (rest)
						ds_map_put(&rests, rest, i, 0, NULL);
				}
			list_want w = {&listed, &rests, &bases, o->index_only};
			rc = ds_scan_root(o->root, want_listed, &w, o->cache_dir, &scan, NULL, err, errsz);
			ds_map_free(&listed);
			ds_map_free(&rests);
			ds_map_free(&bases);
			if (rc)
				goto out;
			maps_build(&maps, &scan);
		}
	}
	for (size_t i = 0; i < l.n; i++) {
		const char *path = l.paths.buf + l.path_off[i];
		int label = l.label[i];
		ds_loc loc = {0};
		if (label >= 0 && o->root) {
			if (!archive_root) {
				loc.where = o->index_only ? DS_NONE : DS_PATH;
			} else {
				size_t m;
				if (maps_find(&maps, path, &m)) {
					if (!o->index_only)
						loc = scan.m[m].loc;
				} else if (!o->skip_bad) {
					rc = err_code(err, errsz, LFM_EXIT_IO, "%s: %s (sample %zu of %s) is not in the archive",
						     o->root, path, i, list_path);
					goto out;
				} else {
					ds_note_bad(ds, "%s: %s is not in the archive", o->root, path);
					label = -1;
				}
			}
		}
		ds_add_sample(ds, label, DATASET_SAMPLE_JPEG, path, loc);
	}
	if (archive_root)
		ds_adopt_scan(ds, &scan);
out:
	maps_free(&maps, scan.n);
	ds_scan_free(&scan);
	split_list_free(&l);
	return rc;
}
