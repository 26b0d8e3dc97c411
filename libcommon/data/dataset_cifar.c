/* dataset_cifar.c — the CIFAR-10 and CIFAR-100 binary releases, as published tarballs or unpacked.
 *
 *   cifar-10-batches-bin/data_batch_1..5.bin, test_batch.bin: records <label><3072 bytes>
 *   cifar-10-batches-bin/batches.meta.txt: the 10 class names, one a line
 *   cifar-100-binary/train.bin, test.bin: records <coarse label><fine label><3072 bytes>
 *   cifar-100-binary/fine_label_names.txt: the 100 class names (the fine label is the one used)
 *
 * The 3072 bytes are the red, green and blue planes of a 32x32 image, row-major. Sample i of the train
 * split is record i of data_batch_1..5 concatenated in that order. Batch files are parsed as they are
 * read (in whatever order the tarball holds them), so labels need no second pass; pixels are kept in
 * memory only when they cannot be read in place (a compressed tarball).
 */
#include "data/dataset_cifar.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "data/class_names.h"
#include "data/dataset_index.h"
#include "data/dataset_sha256.h"

#define MAX_SLOTS 9 /* data_batch_1 .. data_batch_9 */

/* ---- the batch-file parser ---------------------------------------------------------------------- */

void cifar_parser_init(cifar_parser *p, const char *name, int label_bytes, int num_classes, int skip_bad,
		       int keep_pixels, uint64_t size_hint)
{
	memset(p, 0, sizeof *p);
	p->name = name;
	p->label_bytes = label_bytes;
	p->num_classes = num_classes;
	p->skip_bad = skip_bad;
	p->keep_pixels = keep_pixels;
	/* The hint comes from an archive header: trust it only so far (a lie costs a reallocation). */
	if (size_hint > ((uint64_t)1 << 28))
		size_hint = (uint64_t)1 << 28;
	p->cap = (size_t)size_hint / (size_t)(label_bytes + CIFAR_PIXELS) + 1;
	p->labels = xmalloc_array(p->cap, sizeof *p->labels);
	if (keep_pixels)
		p->pixels = xmalloc_array(p->cap, CIFAR_PIXELS);
}

static void parser_grow(cifar_parser *p)
{
	p->cap *= 2;
	p->labels = xrealloc(p->labels, p->cap * sizeof *p->labels);
	if (p->keep_pixels) {
		if (p->cap > SIZE_MAX / CIFAR_PIXELS)
			die(LFM_EXIT_IO, "%s: too many records to hold in memory", p->name);
		p->pixels = xrealloc(p->pixels, p->cap * CIFAR_PIXELS);
	}
}

static int parser_record(cifar_parser *p, const uint8_t *rec, char *err, size_t errsz)
{
	int label = rec[p->label_bytes - 1];
	const char *problem = NULL;
	char why[128];
	if (p->label_bytes == 2 && rec[0] >= 20) {
		snprintf(why, sizeof why, "coarse label %d is out of range 0..19", rec[0]);
		problem = why;
	} else if (label >= p->num_classes) {
		snprintf(why, sizeof why, "label %d is out of range 0..%d", label, p->num_classes - 1);
		problem = why;
	}
	if (problem) {
		if (!p->skip_bad)
			return err_code(err, errsz, LFM_EXIT_DATA, "%s: record %zu: %s", p->name, p->records,
				       problem);
		if (!p->bad)
			snprintf(p->first_bad, sizeof p->first_bad, "%s: record %zu: %s", p->name, p->records,
				 problem);
		p->bad++;
		label = -1;
	}
	if (p->records == p->cap)
		parser_grow(p);
	p->labels[p->records] = label;
	if (p->keep_pixels)
		memcpy(p->pixels + p->records * CIFAR_PIXELS, rec + p->label_bytes, CIFAR_PIXELS);
	p->records++;
	return 0;
}

int cifar_parser_feed(cifar_parser *p, const void *data, size_t n, char *err, size_t errsz)
{
	const uint8_t *d = data;
	size_t rs = (size_t)p->label_bytes + CIFAR_PIXELS;
	while (n) {
		if (p->have == 0 && n >= rs) { /* whole records straight from the input */
			int rc = parser_record(p, d, err, errsz);
			if (rc)
				return rc;
			d += rs;
			n -= rs;
			continue;
		}
		size_t take = rs - p->have < n ? rs - p->have : n;
		memcpy(p->rec + p->have, d, take);
		p->have += take;
		d += take;
		n -= take;
		if (p->have == rs) {
			p->have = 0;
			int rc = parser_record(p, p->rec, err, errsz);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int cifar_parser_finish(cifar_parser *p, char *err, size_t errsz)
{
	if (!p->have)
		return 0;
	size_t rs = (size_t)p->label_bytes + CIFAR_PIXELS;
	char why[256];
	snprintf(why, sizeof why, "%s: truncated: the file ends %zu bytes into record %zu (records are %zu bytes)",
		 p->name, p->have, p->records, rs);
	if (!p->skip_bad)
		return err_code(err, errsz, LFM_EXIT_DATA, "%s", why);
	if (!p->bad)
		snprintf(p->first_bad, sizeof p->first_bad, "%s", why);
	p->bad++;
	p->truncated = 1;
	p->have = 0;
	if (p->records == p->cap)
		parser_grow(p);
	p->labels[p->records] = -1;
	if (p->keep_pixels)
		memset(p->pixels + p->records * CIFAR_PIXELS, 0, CIFAR_PIXELS);
	p->records++;
	return 0;
}

void cifar_parser_free(cifar_parser *p)
{
	free(p->labels);
	free(p->pixels);
	p->labels = NULL;
	p->pixels = NULL;
}

/* ---- which files are CIFAR's -------------------------------------------------------------------- */

enum { FILE_NONE, FILE_BATCH10, FILE_BATCH100, FILE_META10, FILE_META100, FILE_OTHER100 };

/* What a file name is; for batches, whether it belongs to split and its slot. */
static int classify(const char *base, const char *split, int *slot, int *in_split)
{
	*slot = 0;
	*in_split = 0;
	if (strncmp(base, "data_batch_", 11) == 0 && base[11] >= '1' && base[11] <= '9' &&
	    strcmp(base + 12, ".bin") == 0) {
		*slot = base[11] - '1';
		*in_split = strcmp(split, "train") == 0;
		return FILE_BATCH10;
	}
	if (strcmp(base, "test_batch.bin") == 0) {
		*in_split = strcmp(split, "test") == 0;
		return FILE_BATCH10;
	}
	if (strcmp(base, "train.bin") == 0 || strcmp(base, "test.bin") == 0) {
		*in_split = strncmp(base, split, strlen(split)) == 0 && base[strlen(split)] == '.';
		return FILE_BATCH100;
	}
	if (strcmp(base, "batches.meta.txt") == 0)
		return FILE_META10;
	if (strcmp(base, "fine_label_names.txt") == 0)
		return FILE_META100;
	if (strcmp(base, "coarse_label_names.txt") == 0)
		return FILE_OTHER100;
	return FILE_NONE;
}

/* ---- assembling the dataset from parsed slots ------------------------------------------------------ */

typedef struct slot_state {
	int used;
	char *member;      /* archive member or file name */
	char *shown;       /* how messages name it: "ARCHIVE: member" inside an archive */
	cifar_parser p;
	ds_loc base;       /* DS_FD: where record 0 of the file starts; DS_MEM: pixels kept; DS_NONE */
} slot_state;

static int assemble(dataset *ds, slot_state *slots, int is100, const char *split, char **names, int nnames,
		    const dataset_options *o, const char *source, char *err, size_t errsz)
{
	int C = is100 ? 100 : 10;
	const char *meta = is100 ? "fine_label_names.txt" : "batches.meta.txt";
	if (strcmp(split, "val") == 0) {
		class_names_free(names, nnames);
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: CIFAR has a train and a test split, no val",
			       source);
	}
	int last = -1;
	for (int s = 0; s < MAX_SLOTS; s++)
		if (slots[s].used)
			last = s;
	if (last < 0) {
		class_names_free(names, nnames);
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: no %s for the %s split", source,
			       is100 ? (strcmp(split, "train") == 0 ? "train.bin" : "test.bin")
				     : (strcmp(split, "train") == 0 ? "data_batch_*.bin" : "test_batch.bin"),
			       split);
	}
	for (int s = 0; s < last; s++)
		if (!slots[s].used) {
			class_names_free(names, nnames);
			return err_code(err, errsz, LFM_EXIT_DATA, "%s: data_batch_%d.bin is missing (data_batch_%d.bin is there)",
				       source, s + 1, last + 1);
		}
	if (o->classes_file) {
		class_names_free(names, nnames);
		int rc = class_names_read(o->classes_file, &names, &nnames, err, errsz);
		if (rc)
			return rc;
	} else if (o->class_names) {
		class_names_free(names, nnames);
		names = xmalloc_array((size_t)o->num_class_names, sizeof *names);
		nnames = o->num_class_names;
		for (int k = 0; k < nnames; k++)
			names[k] = xstrdup(o->class_names[k]);
	}
	if (!names)
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: no %s with the class names (give a class list)",
			       source, meta);
	if (nnames != C) {
		class_names_free(names, nnames);
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: %d class names for CIFAR-%d's %d classes",
			       o->classes_file ? o->classes_file : meta, nnames, C, C);
	}
	ds->kind = is100 ? DATASET_CIFAR100 : DATASET_CIFAR10;
	ds->class_names = names;
	ds->num_classes = C;
	for (int s = 0; s <= last; s++) {
		slot_state *st = &slots[s];
		char stem[64];
		snprintf(stem, sizeof stem, "%s", ds_basename(st->member));
		char *dot = strrchr(stem, '.');
		if (dot)
			*dot = 0;
		size_t rs = (size_t)st->p.label_bytes + CIFAR_PIXELS;
		int region = -1;
		if (st->base.where == DS_MEM) {
			region = 1 + s;
			ds->mem[region] = st->p.pixels;
			ds->mem_size[region] = st->p.records * CIFAR_PIXELS;
			st->p.pixels = NULL;
		}
		for (size_t r = 0; r < st->p.records; r++) {
			char key[96];
			snprintf(key, sizeof key, "%s/%05zu", stem, r);
			ds_loc loc = {0};
			if (st->base.where == DS_MEM)
				loc = (ds_loc){.off = r * CIFAR_PIXELS, .size = CIFAR_PIXELS, .where = DS_MEM,
					       .region = (uint8_t)region};
			else if (st->base.where == DS_FD)
				loc = (ds_loc){.off = st->base.off + r * rs + (size_t)st->p.label_bytes,
					       .size = CIFAR_PIXELS, .where = DS_FD, .region = st->base.region};
			if (r + 1 == st->p.records && st->p.truncated)
				loc.where = DS_NONE;
			ds_add_sample(ds, st->p.labels[r], DATASET_SAMPLE_CIFAR, key, loc);
		}
		if (st->p.bad) {
			ds_note_bad(ds, "%s", st->p.first_bad);
			ds->bad += st->p.bad - 1;
		}
	}
	return 0;
}

static void free_slots(slot_state *slots)
{
	for (int s = 0; s < MAX_SLOTS; s++) {
		free(slots[s].member);
		free(slots[s].shown);
		if (slots[s].used)
			cifar_parser_free(&slots[s].p);
	}
}

/* ---- inside an archive ---------------------------------------------------------------------------- */

struct cifar_archive {
	const char *source; /* the archive, named in messages with the member */
	const char *split;
	int skip_bad, keep_pixels;
	int seen10, seen100;
	slot_state slots[MAX_SLOTS];
	char *meta_member;
	char dup[256]; /* a batch file that appeared twice */
};

cifar_archive *cifar_archive_new(const char *source, const dataset_options *o, int keep_pixels)
{
	cifar_archive *c = xcalloc(1, sizeof *c);
	c->source = source;
	c->split = o->split;
	c->skip_bad = o->skip_bad;
	c->keep_pixels = keep_pixels;
	return c;
}

int cifar_archive_seen(const cifar_archive *c) { return c->seen10 || c->seen100; }

int cifar_archive_want(cifar_archive *c, const char *name, uint64_t size)
{
	int slot, in_split;
	int what = classify(ds_basename(name), c->split, &slot, &in_split);
	switch (what) {
	case FILE_BATCH10:
	case FILE_BATCH100:
		if (what == FILE_BATCH10)
			c->seen10 = 1;
		else
			c->seen100 = 1;
		if (!in_split)
			return DS_SKIP;
		if (c->slots[slot].used) {
			snprintf(c->dup, sizeof c->dup, "%s", name);
			return DS_SKIP;
		}
		c->slots[slot].used = 1;
		c->slots[slot].member = xstrdup(name);
		c->slots[slot].shown = xasprintf("%s: %s", c->source, name);
		cifar_parser_init(&c->slots[slot].p, c->slots[slot].shown, what == FILE_BATCH10 ? 1 : 2,
				  what == FILE_BATCH10 ? 10 : 100, c->skip_bad, c->keep_pixels, size);
		return DS_STREAM;
	case FILE_META10:
	case FILE_META100:
		if (what == FILE_META10)
			c->seen10 = 1;
		else
			c->seen100 = 1;
		if (!c->meta_member || strcmp(ds_basename(c->meta_member), ds_basename(name)) != 0) {
			free(c->meta_member);
			c->meta_member = xstrdup(name);
		}
		return DS_KEEP;
	case FILE_OTHER100:
		c->seen100 = 1;
		return DS_SKIP;
	default:
		return -1;
	}
}

int cifar_archive_stream(cifar_archive *c, const char *name, const void *data, size_t n, char *err,
			 size_t errsz)
{
	for (int s = 0; s < MAX_SLOTS; s++)
		if (c->slots[s].used && strcmp(c->slots[s].member, name) == 0)
			return data ? cifar_parser_feed(&c->slots[s].p, data, n, err, errsz)
				    : cifar_parser_finish(&c->slots[s].p, err, errsz);
	return 0;
}

int cifar_archive_finish(cifar_archive *c, dataset *ds, ds_scan *scan, const dataset_options *o,
			 char *err, size_t errsz)
{
	if (c->seen10 && c->seen100)
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: holds both CIFAR-10 and CIFAR-100 files",
			       ds->id_path);
	if (c->dup[0])
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: %s appears twice", ds->id_path, c->dup);
	int is100 = c->seen100;
	char **names = NULL;
	int nnames = 0;
	if (c->meta_member && !o->classes_file && !o->class_names) {
		for (size_t i = 0; i < scan->n; i++) {
			if (strcmp(scan->m[i].name, c->meta_member) != 0)
				continue;
			const uint8_t *data;
			size_t size;
			void *owned;
			int rc = ds_scan_read(scan, i, ds->id_path, &data, &size, &owned, err, errsz);
			if (!rc)
				rc = class_names_parse((const char *)data, size, scan->m[i].name, &names, &nnames, err,
						    errsz);
			free(owned);
			if (rc)
				return rc;
			break;
		}
	}
	for (int s = 0; s < MAX_SLOTS; s++) {
		slot_state *st = &c->slots[s];
		if (!st->used)
			continue;
		if (c->keep_pixels) {
			st->base.where = DS_MEM;
			continue;
		}
		st->base.where = DS_NONE;
		if (scan->in_place && !o->index_only) /* index_only: labels and keys only, reads refused */
			for (size_t i = 0; i < scan->n; i++)
				if (strcmp(scan->m[i].name, st->member) == 0 && scan->m[i].loc.where == DS_FD)
					st->base = scan->m[i].loc;
	}
	int rc = assemble(ds, c->slots, is100, c->split, names, nnames, o, ds->id_path, err, errsz);
	if (rc)
		return rc;
	ds->id.size = scan->size;
	ds->id_hash = xstrdup(scan->hash);
	ds_adopt_scan(ds, scan);
	return 0;
}

void cifar_archive_free(cifar_archive *c)
{
	if (!c)
		return;
	free_slots(c->slots);
	free(c->meta_member);
	free(c);
}

/* ---- unpacked, in a directory --------------------------------------------------------------------- */

static int has_file(const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	struct stat st;
	int ok = stat(p, &st) == 0 && S_ISREG(st.st_mode);
	free(p);
	return ok;
}

static int dir_has_cifar(const char *dir)
{
	return has_file(dir, "data_batch_1.bin") || has_file(dir, "test_batch.bin") ||
	       has_file(dir, "batches.meta.txt") || has_file(dir, "fine_label_names.txt") ||
	       (has_file(dir, "train.bin") && has_file(dir, "test.bin"));
}

/* The directory holding the batch files: dir itself, or its only subdirectory that does. */
static char *cifar_dir_of(const char *dir)
{
	if (dir_has_cifar(dir))
		return xstrdup(dir);
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	char *found = NULL;
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *sub = xasprintf("%s/%s", dir, e->d_name);
		struct stat st;
		if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode) && dir_has_cifar(sub)) {
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
		return NULL;
	}
	return found;
}

int ds_is_cifar_dir(const char *dir)
{
	char *d = cifar_dir_of(dir);
	free(d);
	return d != NULL;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int ds_open_cifar_dir(dataset *ds, const char *dir, const dataset_options *o, char *err, size_t errsz)
{
	char *cdir = cifar_dir_of(dir);
	if (!cdir)
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: no CIFAR batch files", dir);
	/* The files, in name order (for the identity listing). */
	DIR *d = opendir(cdir);
	if (!d) {
		int e = errno;
		free(cdir);
		return err_code(err, errsz, LFM_EXIT_IO, "%s: %s", dir, strerror(e));
	}
	char **files = NULL;
	size_t nfiles = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (nfiles == cap)
			files = xrealloc(files, (cap = cap ? cap * 2 : 16) * sizeof *files);
		files[nfiles++] = xstrdup(e->d_name);
	}
	closedir(d);
	qsort(files, nfiles, sizeof *files, cmp_str);

	slot_state slots[MAX_SLOTS];
	memset(slots, 0, sizeof slots);
	int seen10 = 0, seen100 = 0, rc = 0;
	char **names = NULL;
	int nnames = 0;
	source_hash listing;
	source_hash_init(&listing);
	uint64_t total = 0;
	size_t prefix_len = strlen(dir);
	uint8_t *buf = xmalloc(1 << 16);
	for (size_t f = 0; f < nfiles && !rc; f++) {
		int slot, in_split;
		int what = classify(files[f], o->split, &slot, &in_split);
		if (what == FILE_NONE)
			continue;
		if (what == FILE_BATCH10 || what == FILE_META10)
			seen10 = 1;
		else
			seen100 = 1;
		int use_meta = (what == FILE_META10 || what == FILE_META100) && !o->classes_file && !o->class_names;
		if (!((what == FILE_BATCH10 || what == FILE_BATCH100) && in_split) && !use_meta)
			continue;
		char *path = xasprintf("%s/%s", cdir, files[f]);
		const char *rel = path + prefix_len + (path[prefix_len] == '/');
		struct stat st;
		if (use_meta) {
			char *text;
			size_t len;
			rc = ds_read_whole_file(path, 1 << 20, &text, &len, err, errsz);
			if (!rc) {
				class_names_free(names, nnames);
				names = NULL;
				rc = class_names_parse(text, len, path, &names, &nnames, err, errsz);
				free(text);
			}
			if (!rc && stat(path, &st) == 0) {
				char line[4200];
				snprintf(line, sizeof line, "%llu %s\n", (unsigned long long)st.st_size, rel);
				source_hash_update(&listing, line, strlen(line));
				total += (uint64_t)st.st_size;
			}
			free(path);
			continue;
		}
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) != 0) {
			rc = err_code(err, errsz, LFM_EXIT_IO, "%s: %s", path, strerror(errno));
			if (fd >= 0)
				close(fd);
			free(path);
			break;
		}
		slot_state *ss = &slots[slot];
		ss->used = 1;
		ss->member = path;
		cifar_parser_init(&ss->p, ds_basename(ss->member), what == FILE_BATCH10 ? 1 : 2,
				  what == FILE_BATCH10 ? 10 : 100, o->skip_bad, 0, (uint64_t)st.st_size);
		ds->fd[1 + slot] = fd;
		ss->base = (ds_loc){.off = 0, .where = o->index_only ? DS_NONE : DS_FD, .region = (uint8_t)(1 + slot)};
		for (;;) {
			ssize_t n = read(fd, buf, 1 << 16);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				rc = err_code(err, errsz, LFM_EXIT_IO, "%s: read error: %s", path, strerror(errno));
				break;
			}
			if (n == 0) {
				rc = cifar_parser_finish(&ss->p, err, errsz);
				break;
			}
			if ((rc = cifar_parser_feed(&ss->p, buf, (size_t)n, err, errsz)))
				break;
		}
		char line[4200];
		snprintf(line, sizeof line, "%llu %s\n", (unsigned long long)st.st_size, rel);
		source_hash_update(&listing, line, strlen(line));
		total += (uint64_t)st.st_size;
	}
	free(buf);
	for (size_t f = 0; f < nfiles; f++)
		free(files[f]);
	free(files);
	if (!rc && seen10 && seen100)
		rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: holds both CIFAR-10 and CIFAR-100 files", cdir);
	if (!rc) {
		rc = assemble(ds, slots, seen100, o->split, names, nnames, o, dir, err, errsz);
		names = NULL;
	}
	class_names_free(names, nnames);
	free_slots(slots);
	free(cdir);
	if (rc)
		return rc;
	uint8_t digest[32];
	source_hash_final(&listing, digest);
	char hex[96];
	source_hash_hex(digest, "sha256-listing:", hex);
	ds->id_hash = xstrdup(hex);
	ds->id.size = total;
	return 0;
}
