/* dataset_build.c — see dataset_build.h: what the readers build a dataset with (appending samples, holes,
 * ignored files, classes) and reading the bytes at a sample's location. Moved out of dataset_core.c so
 * that the readers need nothing of core and the data/ graph has no circle (dataset_internal.h). */
#include "data/dataset_build.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "data/class_names.h"

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

void ds_note_link_out(dataset *ds, const char *example)
{
	if (!ds->links_out_example)
		ds->links_out_example = xstrdup(example);
	ds->links_out++;
}

void ds_set_classes(dataset *ds, char **names, int count)
{
	class_names_free(ds->class_names, ds->num_classes);
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

int ds_member_limit(uint64_t *limit, char *err, size_t errsz)
{
	*limit = DS_MEMBER_LIMIT_DEFAULT;
	const char *v = getenv("LFM_MAX_MEMBER");
	if (!v || !*v)
		return 0;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	int shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (errno || end == v || *end || v[0] == '-' || n == 0 || n > (UINT64_MAX >> shift))
		return err_code(err, errsz, LFM_EXIT_USAGE,
				"LFM_MAX_MEMBER=%s: not a size (a positive number of bytes, or with K, M or G)", v);
	*limit = (uint64_t)n << shift;
	return 0;
}

/* The limit's value for a message: "64 MiB", or bytes when it is no whole number of MiB. */
static void limit_text(uint64_t limit, char *buf, size_t n)
{
	if (limit % ((uint64_t)1 << 20) == 0)
		snprintf(buf, n, "%llu MiB", (unsigned long long)(limit >> 20));
	else
		snprintf(buf, n, "%llu bytes", (unsigned long long)limit);
}

static int too_big(const char *source, const char *key, uint64_t size, char *err, size_t errsz)
{
	uint64_t limit;
	char lim[64] = "the";
	if (ds_member_limit(&limit, NULL, 0) == 0)
		limit_text(limit, lim, sizeof lim);
	return err_code(err, errsz, LFM_EXIT_DATA,
			"%s: %s: %llu bytes, over the %s limit on one archive member (LFM_MAX_MEMBER raises it): "
			"not read",
			source, key, (unsigned long long)size, lim);
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
	case DS_REFUSED:
		if (loc->off == DS_NOT_JPEG)
			return err_code(err, errsz, LFM_EXIT_DATA, "%s: %s: not a JPEG file (no start-of-image marker)",
				       ds->id_path, key);
		return too_big(ds->id_path, key, loc->size, err, errsz);
	case DS_FD: {
		uint64_t limit;
		int rc = ds_member_limit(&limit, err, errsz);
		if (rc)
			return rc;
		if (loc->size > limit)
			return too_big(ds->id_path, key, loc->size, err, errsz);
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
		int rc = ds->root_real ? ds_read_confined(ds->root_real, path, (size_t)1 << 36, &buf, &len, err, errsz)
				       : ds_read_whole_file(path, (size_t)1 << 36, &buf, &len, err, errsz);
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

