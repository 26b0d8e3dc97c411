/* dataset_index.c — the small containers the dataset readers share: messages, a string arena, a
 * string -> index hash map, class-name lists, and names (base name, extension, split). */
#include "data/dataset_index.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"

size_t ds_strings_add(ds_strings *s, const char *str, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + n + 1)
			cap *= 2;
		s->buf = xrealloc(s->buf, cap);
		s->cap = cap;
	}
	size_t off = s->len;
	memcpy(s->buf + off, str, n);
	s->buf[off + n] = 0;
	s->len += n + 1;
	return off;
}

void ds_strings_free(ds_strings *s)
{
	free(s->buf);
	memset(s, 0, sizeof *s);
}

/* FNV-1a then a 64-bit finaliser: cheap, and good enough spread for path-like keys. */
static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3u;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdu;
	h ^= h >> 33;
	return h;
}

void ds_map_init(ds_map *m, size_t expected)
{
	size_t cap = 16;
	while (cap < expected * 2)
		cap *= 2;
	m->e = xcalloc(cap, sizeof *m->e);
	m->cap = cap;
	m->n = 0;
}

static void map_grow(ds_map *m)
{
	ds_map old = *m;
	ds_map_init(m, old.cap); /* doubles: init sizes for 2 x expected */
	for (size_t i = 0; i < old.cap; i++)
		if (old.e[i].key)
			ds_map_put(m, old.e[i].key, old.e[i].value, 0, NULL);
	free(old.e);
}

int ds_map_put(ds_map *m, const char *key, size_t value, int replace, size_t *old)
{
	if (!m->e)
		ds_map_init(m, 16);
	if ((m->n + 1) * 2 > m->cap)
		map_grow(m);
	size_t mask = m->cap - 1;
	for (size_t i = hash_str(key) & mask;; i = (i + 1) & mask) {
		if (!m->e[i].key) {
			m->e[i].key = key;
			m->e[i].value = value;
			m->n++;
			return 0;
		}
		if (strcmp(m->e[i].key, key) == 0) {
			if (old)
				*old = m->e[i].value;
			if (replace) {
				m->e[i].key = key;
				m->e[i].value = value;
			}
			return 1;
		}
	}
}

int ds_map_get(const ds_map *m, const char *key, size_t *value)
{
	if (!m->e)
		return 0;
	size_t mask = m->cap - 1;
	for (size_t i = hash_str(key) & mask; m->e[i].key; i = (i + 1) & mask)
		if (strcmp(m->e[i].key, key) == 0) {
			if (value)
				*value = m->e[i].value;
			return 1;
		}
	return 0;
}

void ds_map_free(ds_map *m)
{
	free(m->e);
	memset(m, 0, sizeof *m);
}

void ds_free_names(char **names, int count)
{
	if (!names)
		return;
	for (int k = 0; k < count; k++)
		free(names[k]);
	free(names);
}

int ds_parse_names(const char *buf, size_t len, const char *name, char ***out, int *count, char *err,
		   size_t errsz)
{
	*out = NULL;
	*count = 0;
	/* Lines, with trailing blank lines dropped. */
	size_t nlines = 0, cap = 16;
	char **names = xmalloc_array(cap, sizeof *names);
	size_t pending_blank = 0, line_no = 0;
	ds_map seen = {0};
	int rc = 0;
	for (size_t pos = 0; pos < len;) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + (nl ? 1 : 0);
		line_no++;
		if (memchr(line, 0, n)) {
			rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: line %zu: NUL byte in a class name", name,
				     line_no);
			goto fail;
		}
		while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
			n--;
		while (n && (*line == ' ' || *line == '\t')) {
			line++;
			n--;
		}
		if (n == 0) {
			pending_blank++;
			continue;
		}
		if (pending_blank) {
			rc = err_code(err, errsz, LFM_EXIT_DATA,
				     "%s: line %zu: empty line between class names (one name a line)", name,
				     line_no - 1);
			goto fail;
		}
		if (nlines == 1000000) {
			rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: more than 1,000,000 class names", name);
			goto fail;
		}
		if (nlines == cap)
			names = xrealloc(names, (cap *= 2) * sizeof *names);
		names[nlines] = xmalloc(n + 1);
		memcpy(names[nlines], line, n);
		names[nlines][n] = 0;
		nlines++;
		size_t first;
		if (ds_map_put(&seen, names[nlines - 1], nlines - 1, 0, &first)) {
			rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: line %zu: class '%s' repeats line %zu", name,
				     line_no, names[nlines - 1], first + 1);
			goto fail;
		}
	}
	if (nlines == 0) {
		rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: no class names", name);
		goto fail;
	}
	ds_map_free(&seen);
	*out = names;
	*count = (int)nlines;
	return 0;
fail:
	ds_map_free(&seen);
	ds_free_names(names, (int)nlines);
	return rc;
}

int ds_read_whole_file(const char *path, size_t max, char **out, size_t *len, char *err, size_t errsz)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_code(err, errsz, LFM_EXIT_IO, "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		int e = errno;
		close(fd);
		return err_code(err, errsz, LFM_EXIT_IO, "%s: %s", path,
			       S_ISDIR(st.st_mode) ? "is a directory" : strerror(e));
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: too large (%lld bytes; at most %zu expected)",
			       path, (long long)st.st_size, max);
	}
	size_t size = (size_t)st.st_size, got = 0;
	char *buf = xmalloc(size + 1);
	while (got < size) {
		ssize_t r = pread(fd, buf + got, size - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = errno;
			close(fd);
			free(buf);
			return r < 0 ? err_code(err, errsz, LFM_EXIT_IO, "%s: read error: %s", path, strerror(e))
				     : err_code(err, errsz, LFM_EXIT_IO, "%s: file shrank while being read", path);
		}
		got += (size_t)r;
	}
	close(fd);
	buf[size] = 0;
	*out = buf;
	*len = size;
	return 0;
}

int ds_read_names_file(const char *path, char ***out, int *count, char *err, size_t errsz)
{
	char *buf;
	size_t len;
	int rc = ds_read_whole_file(path, 64u << 20, &buf, &len, err, errsz);
	if (rc)
		return rc;
	rc = ds_parse_names(buf, len, path, out, count, err, errsz);
	free(buf);
	return rc;
}

/* ---- names ---------------------------------------------------------------------------------------- */

const char *ds_basename(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

int ds_has_ext(const char *name, const char *ext)
{
	size_t n = strlen(name), e = strlen(ext);
	return n > e && strcasecmp(name + n - e, ext) == 0;
}

int ds_is_split_name(const char *s, size_t n)
{
	return (n == 5 && memcmp(s, "train", 5) == 0) || (n == 4 && memcmp(s, "test", 4) == 0) ||
	       (n == 3 && memcmp(s, "val", 3) == 0);
}
