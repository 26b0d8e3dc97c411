/* dataset_archive.c — one sequential pass over an archive with libarchive: the member list, the bytes
 * the caller will need later, and the SHA-256 of the whole file.
 *
 * Random access afterwards:
 *   - an uncompressed tar is read in place: each member's data offset in the file is recorded (the
 *     number of bytes libarchive had consumed when it returned the member's header) and later read
 *     with pread;
 *   - in anything compressed (tar.gz, tar.zst, zip, ...) the members the caller wants are copied, as
 *     they are decompressed, into one memory buffer or, with a cache directory, into an unlinked
 *     temporary file there; members it does not want cost only their decompression.
 * The archive is fed to libarchive through our own read callback, without a seek or skip callback, so
 * every byte passes through it once, in order, and is hashed on the way.
 */
#include "data/dataset_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "data/dataset_sha256.h"

typedef struct scan_src {
	int fd;
	source_hash sha;
	uint64_t total;
	int read_errno;
	uint8_t buf[1 << 16];
} scan_src;

static la_ssize_t read_cb(struct archive *a, void *ud, const void **buff)
{
	scan_src *s = ud;
	ssize_t n;
	do
		n = read(s->fd, s->buf, sizeof s->buf);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		s->read_errno = errno;
		archive_set_error(a, errno, "read error: %s", strerror(errno));
		return -1;
	}
	source_hash_update(&s->sha, s->buf, (size_t)n);
	s->total += (uint64_t)n;
	*buff = s->buf;
	return n;
}

/* Append bytes to the cache (memory or temporary file); off receives where they start. */
static int cache_append(ds_scan *s, const void *data, size_t n, const char *path, char *err, size_t errsz)
{
	if (s->fd >= 0) {
		const uint8_t *p = data;
		while (n) {
			ssize_t w = write(s->fd, p, n);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return err_code(err, errsz, LFM_EXIT_IO, "%s: writing the cache file: %s", path,
					       strerror(w < 0 ? errno : ENOSPC));
			p += w;
			n -= (size_t)w;
			s->mem_len += (size_t)w; /* mem_len counts the file's length too */
		}
		return 0;
	}
	if (s->mem_len + n > s->mem_cap) {
		size_t cap = s->mem_cap ? s->mem_cap : (1u << 20);
		while (cap < s->mem_len + n)
			cap *= 2;
		s->mem = xrealloc(s->mem, cap);
		s->mem_cap = cap;
	}
	memcpy(s->mem + s->mem_len, data, n);
	s->mem_len += n;
	return 0;
}

static char *normalise_name(const char *name)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	while (name[0] == '/')
		name++;
	return xstrdup(name);
}

static int archive_failed(struct archive *a, const scan_src *src, const char *path, const char *what,
			  char *err, size_t errsz)
{
	const char *msg = archive_error_string(a);
	if (src->read_errno)
		return err_code(err, errsz, LFM_EXIT_IO, "%s: read error: %s", path, strerror(src->read_errno));
	return err_code(err, errsz, LFM_EXIT_DATA, "%s: %s%s%s", path, what, msg ? ": " : "", msg ? msg : "");
}

int ds_scan_archive(const char *path, ds_want_fn want, ds_stream_fn stream, void *ctx,
		    const char *cache_dir, ds_scan *out, char *err, size_t errsz)
{
	memset(out, 0, sizeof *out);
	out->fd = -1;
	scan_src *src = xmalloc(sizeof *src);
	memset(src, 0, offsetof(scan_src, buf));
	source_hash_init(&src->sha);
	src->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (src->fd < 0) {
		int e = errno;
		free(src);
		return err_code(err, errsz, LFM_EXIT_IO, "%s: %s", path, strerror(e));
	}
	struct archive *a = archive_read_new();
	if (!a)
		die(LFM_EXIT_IO, "out of memory (libarchive)");
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_format_zip(a);
	archive_read_support_format_cpio(a);
	int rc = 0, started = 0;
	uint8_t *piece = NULL;
	if (archive_read_open(a, src, NULL, read_cb, NULL) != ARCHIVE_OK) {
		/* libarchive bids for the format while opening; its "unrecognised" errno is EILSEQ here
		 * (ARCHIVE_ERRNO_FILE_FORMAT, not in the public header). */
		if (archive_errno(a) == EILSEQ && !src->read_errno) {
			out->not_archive = 1;
			rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: not an archive libarchive can read", path);
		} else {
			rc = archive_failed(a, src, path, "cannot read", err, errsz);
		}
		goto done;
	}
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_RETRY)
			continue;
		if (r < ARCHIVE_WARN) {
			if (out->n == 0 && archive_errno(a) == EILSEQ && !src->read_errno &&
			    archive_format(a) == 0) {
				out->not_archive = 1;
				rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: not an archive libarchive can read",
					     path);
			} else {
				rc = archive_failed(a, src, path, out->n ? "damaged or truncated after member"
									 : "cannot read",
						    err, errsz);
				if (out->n && err && errsz) {
					size_t used = strlen(err);
					snprintf(err + used, errsz - used, " (after %s)", out->m[out->n - 1].name);
				}
			}
			goto done;
		}
		if (!started) {
			started = 1;
			out->in_place = archive_filter_count(a) == 1 &&
					archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE &&
					(archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_TAR;
			if (out->in_place) {
				out->fd = src->fd;
			} else if (cache_dir) {
				char *tmpl = xasprintf("%s/lfm-cache.XXXXXX", cache_dir);
				out->fd = mkstemp(tmpl);
				if (out->fd < 0) {
					rc = err_code(err, errsz, LFM_EXIT_IO, "%s: cannot create a cache file: %s",
						     cache_dir, strerror(errno));
					free(tmpl);
					goto done;
				}
				unlink(tmpl); /* anonymous: disappears with the descriptor */
				free(tmpl);
			}
		}
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		const char *raw = archive_entry_pathname(e);
		if (!raw)
			raw = archive_entry_pathname_utf8(e);
		if (!raw || !*raw)
			continue;
		if (out->n == out->cap) {
			out->cap = out->cap ? out->cap * 2 : 1024;
			out->m = xrealloc(out->m, out->cap * sizeof *out->m);
		}
		ds_member *m = &out->m[out->n++];
		memset(m, 0, sizeof *m);
		m->name = normalise_name(raw);
		m->size = archive_entry_size_is_set(e) && archive_entry_size(e) > 0 ? (uint64_t)archive_entry_size(e) : 0;
		int w = want ? want(ctx, m->name, m->size) : DS_SKIP;
		if (out->in_place && archive_entry_sparse_count(e) == 0) {
			int64_t off = archive_filter_bytes(a, 0);
			m->loc = (ds_loc){.off = (uint64_t)off, .size = m->size, .where = DS_FD, .region = 0};
		}
		if (w == DS_SKIP || (w == DS_KEEP && out->in_place))
			continue; /* archive_read_next_header skips the data (by reading it: hashed) */
		if (w == DS_KEEP)
			m->loc = (ds_loc){.off = out->mem_len, .size = 0,
					  .where = out->fd >= 0 ? DS_FD : DS_MEM, .region = 0};
		if (!piece)
			piece = xmalloc(1 << 16);
		uint64_t got_total = 0;
		for (;;) {
			la_ssize_t got = archive_read_data(a, piece, 1 << 16);
			if (got == 0)
				break;
			if (got < 0) {
				rc = archive_failed(a, src, path, "damaged or truncated member", err, errsz);
				if (err && errsz) {
					size_t used = strlen(err);
					snprintf(err + used, errsz - used, " (%s)", m->name);
				}
				goto done;
			}
			got_total += (uint64_t)got;
			if (w == DS_KEEP) {
				rc = cache_append(out, piece, (size_t)got, path, err, errsz);
			} else if (stream) {
				rc = stream(ctx, m->name, piece, (size_t)got, err, errsz);
			}
			if (rc)
				goto done;
		}
		if (w == DS_STREAM && stream && (rc = stream(ctx, m->name, NULL, 0, err, errsz)))
			goto done;
		m->size = got_total;
		if (w == DS_KEEP)
			m->loc.size = got_total;
		else if (out->in_place)
			m->loc.size = got_total;
	}
	/* Hash the rest of the file (the tar's zero blocks beyond its end marker, a zip's directory). */
	for (;;) {
		ssize_t n = read(src->fd, src->buf, sizeof src->buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_code(err, errsz, LFM_EXIT_IO, "%s: read error: %s", path, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		source_hash_update(&src->sha, src->buf, (size_t)n);
		src->total += (uint64_t)n;
	}
	uint8_t digest[32];
	source_hash_final(&src->sha, digest);
	source_hash_hex(digest, "sha256:", out->hash);
	out->size = src->total;
done:
	free(piece);
	archive_read_free(a);
	if (!out->in_place || rc)
		close(src->fd);
	if (rc && out->in_place)
		out->fd = -1;
	free(src);
	if (rc) {
		int na = out->not_archive;
		ds_scan_free(out);
		out->not_archive = na;
	}
	return rc;
}

void ds_adopt_scan(dataset *ds, ds_scan *scan)
{
	if (scan->fd >= 0) {
		ds->fd[0] = scan->fd;
		scan->fd = -1;
	}
	if (scan->mem) {
		ds->mem[0] = scan->mem_len ? xrealloc(scan->mem, scan->mem_len) : scan->mem;
		ds->mem_size[0] = scan->mem_len;
		scan->mem = NULL;
	}
}

void ds_scan_free(ds_scan *scan)
{
	for (size_t i = 0; i < scan->n; i++)
		free(scan->m[i].name);
	free(scan->m);
	free(scan->mem);
	if (scan->fd >= 0)
		close(scan->fd);
	memset(scan, 0, sizeof *scan);
	scan->fd = -1;
}

int ds_scan_read(const ds_scan *scan, size_t i, const char *source, const uint8_t **data, size_t *size,
		 void **owned, char *err, size_t errsz)
{
	/* A temporary dataset whose region 0 is the scan's cache, so ds_read_loc does the work. */
	dataset view;
	memset(&view, 0, sizeof view);
	view.id_path = (char *)source;
	for (int r = 0; r < DS_MAX_REGIONS; r++)
		view.fd[r] = -1;
	view.fd[0] = scan->fd;
	view.mem[0] = scan->mem;
	view.mem_size[0] = scan->mem_len;
	return ds_read_loc(&view, &scan->m[i].loc, scan->m[i].name, data, size, owned, err, errsz);
}
