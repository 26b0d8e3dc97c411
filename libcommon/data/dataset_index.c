/* dataset_index.c — the small containers the dataset readers share: messages, a string arena, a
 * string -> index hash map, whole files, reads confined to a root, and names (base name, extension, split). */
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

const char *ds_next_line(const char *buf, size_t len, size_t *pos, size_t *n)
{
	const char *line = buf + *pos;
	const char *nl = memchr(line, '\n', len - *pos);
	*n = nl ? (size_t)(nl - line) : len - *pos;
	*pos += *n + (nl ? 1 : 0);
	return line;
}

/* A pipe or a device (--list <(...), /dev/null): read until its end, at most max bytes. */
static int read_stream(int fd, const char *path, size_t max, char **out, size_t *len, char *err, size_t errsz)
{
	size_t got = 0, cap = 1 << 16;
	char *buf = xmalloc(cap + 1);
	for (;;) {
		if (got == cap)
			buf = xrealloc(buf, (cap *= 2) + 1);
		ssize_t r = read(fd, buf + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			return err_code(err, errsz, LFM_EXIT_IO, "%s: read error: %s", path, strerror(e));
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > max) {
			free(buf);
			return err_code(err, errsz, LFM_EXIT_DATA, "%s: too large (more than %zu bytes expected)", path,
				       max);
		}
	}
	buf[got] = 0;
	*out = buf;
	*len = got;
	return 0;
}

/* Read an open file to its end (closing it): a regular file by its size, a pipe or a device as a stream,
 * unless regular_only. */
static int read_fd(int fd, const char *path, size_t max, int regular_only, char **out, size_t *len, char *err,
		   size_t errsz)
{
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return err_code(err, errsz, LFM_EXIT_IO, "%s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		int rc = S_ISDIR(st.st_mode) ? err_code(err, errsz, LFM_EXIT_IO, "%s: is a directory", path)
			 : regular_only	     ? err_code(err, errsz, LFM_EXIT_DATA, "%s: not a regular file", path)
					     : read_stream(fd, path, max, out, len, err, errsz);
		close(fd);
		return rc;
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

int ds_read_whole_file(const char *path, size_t max, char **out, size_t *len, char *err, size_t errsz)
{
	*out = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_code(err, errsz, LFM_EXIT_IO, "%s: %s", path, strerror(errno));
	return read_fd(fd, path, max, 0, out, len, err, errsz);
}

/* ---- confinement to a root -------------------------------------------------------------------------- */

static int inside(const char *root_real, const char *real)
{
	size_t n = strlen(root_real);
	if (n == 1 && root_real[0] == '/')
		return 1;
	return strncmp(real, root_real, n) == 0 && (real[n] == '/' || real[n] == 0);
}

char *ds_link_leaves(const char *root_real, const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode))
		return NULL;
	char *real = realpath(path, NULL);
	if (!real)
		return NULL; /* dangling or a loop: the caller's stat fails on it */
	if (inside(root_real, real)) {
		free(real);
		return NULL;
	}
	return real;
}

int ds_read_confined(const char *root_real, const char *path, size_t max, char **out, size_t *len, char *err,
		     size_t errsz)
{
	*out = NULL;
	*len = 0;
	char *real = realpath(path, NULL);
	if (!real)
		return err_code(err, errsz, LFM_EXIT_IO, "%s: %s", path, strerror(errno));
	if (!inside(root_real, real)) {
		int rc = err_code(err, errsz, LFM_EXIT_DATA,
				  "%s: a symbolic link leads out of the dataset root %s (to %s): not read", path,
				  root_real, real);
		free(real);
		return rc;
	}
	/* the resolved name, so that no link is followed between the check and the open; O_NONBLOCK: a
	 * FIFO is refused by read_fd rather than waited on */
	int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	free(real);
	if (fd < 0)
		return err_code(err, errsz, LFM_EXIT_IO, "%s: %s", path, strerror(errno));
	return read_fd(fd, path, max, 1, out, len, err, errsz);
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
