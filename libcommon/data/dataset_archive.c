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
 * The file is read through our own callbacks, without a seek or skip callback, so every byte passes
 * through them once, in order, and is hashed on the way. Two libarchive readers are stacked: the
 * decompression (libarchive's filters under its raw format, or zlib for gzip) and the format (tar, zip,
 * cpio) reading the decompressed stream.
 *
 * Integrity: the stream is decompressed to its very end even after the format's end marker, so that
 * the checks at the end are made: zlib checks each gzip member's CRC-32 and length (libarchive's gzip
 * filter reads the trailer but does not compare it), libzstd and liblzma check frames and blocks as
 * libarchive drives them, and the zip reader checks each member's CRC-32 (ARCHIVE_WARN from
 * archive_read_data) when its data is read, so a compressed archive's members are all read, kept or not.
 * A mismatch fails the scan, naming the member being read or, for a check at the end of the stream,
 * the last one. A tar header libarchive finds damaged (ARCHIVE_RETRY: it would skip ahead to the next
 * good one, dropping what lies between) fails it too.
 *
 * Memory: a member kept is held whole (an image is decoded whole), so one larger than ds_member_limit
 * (LFM_MAX_MEMBER, 64 MiB) is not kept, and a .jpg/.jpeg whose first two bytes are no JPEG
 * start-of-image marker is dropped as soon as they are read; either becomes a DS_REFUSED location,
 * whose read fails with the reason. The bytes are still read (for the hash and the checksums).
 */
#include "data/dataset_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "data/dataset_index.h"
#include "data/dataset_sha256.h"
#include "data/dataset_tar.h"

/* The bytes the format reader (tar, zip, cpio) sees: the file itself, or the file decompressed. */
enum { SRC_GZIP, SRC_FILTER };

typedef struct scan_src {
	int fd;
	source_hash sha;
	uint64_t total;       /* bytes of the file read (and hashed) */
	int read_errno;
	int kind;
	int eof;              /* the file has been read to its end */
	int done;             /* the decompressed stream has ended (and its checks passed) */
	char failed[256];     /* SRC_GZIP: an error found after some output, reported by the next pull */
	z_stream z;           /* SRC_GZIP */
	int z_live;
	struct archive *filt; /* SRC_FILTER: libarchive's filters under its raw format */
	uint8_t buf[1 << 16]; /* read from the file */
	uint8_t out[1 << 16]; /* SRC_GZIP: inflated */
} scan_src;

/* Read the next piece of the file into buf + keep (keep bytes already there are kept), hashing it. */
static ssize_t file_read(scan_src *s, size_t keep)
{
	ssize_t n;
	do
		n = read(s->fd, s->buf + keep, sizeof s->buf - keep);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		s->read_errno = errno;
		return -1;
	}
	if (n == 0)
		s->eof = 1;
	source_hash_update(&s->sha, s->buf + keep, (size_t)n);
	s->total += (uint64_t)n;
	return n;
}

/* SRC_FILTER's input: the file, piece by piece. */
static la_ssize_t filt_read_cb(struct archive *a, void *ud, const void **buff)
{
	scan_src *s = ud;
	ssize_t n = file_read(s, 0);
	if (n < 0) {
		archive_set_error(a, s->read_errno, "read error: %s", strerror(s->read_errno));
		return -1;
	}
	*buff = s->buf;
	return n;
}

/* The next piece of the stream the format reader sees: its length (0 at the end), or -1 with a message
 * in why. A gzip stream is inflated here with zlib, which checks each member's CRC-32 and length at its
 * end (libarchive's gzip filter does not); other filters (zstd, xz, bzip2, ...) are libarchive's, read
 * through its raw format to the end of the stream, where their own checks are made. */
static ssize_t src_pull(scan_src *s, const void **buff, char *why, size_t whysz)
{
	if (s->done)
		return 0;
	if (s->kind == SRC_FILTER) {
		size_t n;
		la_int64_t off;
		int r = archive_read_data_block(s->filt, buff, &n, &off);
		if (r == ARCHIVE_EOF) {
			s->done = 1;
			return 0;
		}
		if (r != ARCHIVE_OK) {
			const char *msg = archive_error_string(s->filt);
			snprintf(why, whysz, "%s", msg ? msg : "decompression failed");
			return -1;
		}
		return (ssize_t)n;
	}
	if (s->failed[0]) {
		snprintf(why, whysz, "%s", s->failed);
		return -1;
	}
	s->z.next_out = s->out;
	s->z.avail_out = sizeof s->out;
	while (s->z.avail_out == sizeof s->out) {
		if (s->z.avail_in == 0) {
			ssize_t n = s->eof ? 0 : file_read(s, 0);
			if (n <= 0) {
				snprintf(why, whysz, "%s",
					 n < 0 ? strerror(s->read_errno)
					       : "truncated gzip data (the file ends inside the compressed stream)");
				return -1;
			}
			s->z.next_in = s->buf;
			s->z.avail_in = (uInt)n;
		}
		int zr = inflate(&s->z, Z_NO_FLUSH);
		if (zr == Z_STREAM_END) {
			/* Another gzip member may follow (concatenated gzip files); anything else is ignored. */
			while (s->z.avail_in < 2 && !s->eof) {
				size_t keep = s->z.avail_in;
				memmove(s->buf, s->z.next_in, keep);
				ssize_t n = file_read(s, keep);
				if (n < 0) {
					snprintf(why, whysz, "%s", strerror(s->read_errno));
					return -1;
				}
				s->z.next_in = s->buf;
				s->z.avail_in = (uInt)(keep + (size_t)n);
			}
			if (s->z.avail_in >= 2 && s->z.next_in[0] == 0x1f && s->z.next_in[1] == 0x8b) {
				inflateReset(&s->z);
				continue;
			}
			s->done = 1;
			break;
		}
		if (zr != Z_OK) {
			/* The bytes inflated before it go first, so that the error is met where it is. */
			snprintf(s->failed, sizeof s->failed, "corrupt gzip data (%s)", s->z.msg ? s->z.msg : "zlib error");
			if (s->z.avail_out == sizeof s->out) {
				snprintf(why, whysz, "%s", s->failed);
				return -1;
			}
			break;
		}
	}
	*buff = s->out;
	return (ssize_t)(sizeof s->out - s->z.avail_out);
}

static la_ssize_t read_cb(struct archive *a, void *ud, const void **buff)
{
	scan_src *s = ud;
	char why[512];
	ssize_t n = src_pull(s, buff, why, sizeof why);
	if (n < 0) {
		archive_set_error(a, s->read_errno ? s->read_errno : EINVAL, "%s", why);
		return -1;
	}
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

/* Read the decompressed stream to its end, for its checks: 0, or -1 with the decoder's complaint in why. */
static int src_drain(scan_src *s, char *why, size_t whysz)
{
	for (;;) {
		const void *b;
		ssize_t n = src_pull(s, &b, why, whysz);
		if (n <= 0)
			return n < 0 ? -1 : 0;
	}
}

/* The format reader failed (what: how far it got). When the decompressed stream is damaged too, that is
 * the cause, and named first: garbled data makes a tar header look damaged, say. */
static int archive_failed(struct archive *a, scan_src *src, const char *path, const char *what,
			  char *err, size_t errsz)
{
	const char *msg = archive_error_string(a);
	char why[512];
	int decompressed = src->kind == SRC_GZIP || (src->filt && archive_filter_count(src->filt) > 1);
	if (decompressed && !src->read_errno && src_drain(src, why, sizeof why) != 0 && !src->read_errno)
		return err_code(err, errsz, LFM_EXIT_DATA,
				"%s: %s: the archive is damaged; reading it, libarchive said: %s%s%s", path, why,
				what, msg ? ": " : "", msg ? msg : "");
	if (src->read_errno)
		return err_code(err, errsz, LFM_EXIT_IO, "%s: read error: %s", path, strerror(src->read_errno));
	return err_code(err, errsz, LFM_EXIT_DATA, "%s: %s%s%s", path, what, msg ? ": " : "", msg ? msg : "");
}

/* Choose how the file is decompressed: gzip (by its magic) with zlib, anything else through libarchive's
 * filters (none for a plain tar or a zip: the file's bytes pass through unchanged). */
static int src_open(scan_src *s, const char *path, char *err, size_t errsz)
{
	uint8_t magic[3];
	if (pread(s->fd, magic, sizeof magic, 0) == (ssize_t)sizeof magic && magic[0] == 0x1f &&
	    magic[1] == 0x8b && magic[2] == 8) {
		s->kind = SRC_GZIP;
		if (inflateInit2(&s->z, 15 + 16) != Z_OK) /* 16: a gzip wrapper, its CRC-32 checked */
			die(LFM_EXIT_IO, "out of memory (zlib)");
		s->z_live = 1;
		return 0;
	}
	s->kind = SRC_FILTER;
	s->filt = archive_read_new();
	if (!s->filt)
		die(LFM_EXIT_IO, "out of memory (libarchive)");
	archive_read_support_filter_all(s->filt);
	archive_read_support_format_raw(s->filt);
	struct archive_entry *e;
	int r = archive_read_open(s->filt, s, NULL, filt_read_cb, NULL);
	if (r == ARCHIVE_OK)
		r = archive_read_next_header(s->filt, &e);
	if (r == ARCHIVE_OK)
		return 0;
	if (s->read_errno)
		return err_code(err, errsz, LFM_EXIT_IO, "%s: read error: %s", path, strerror(s->read_errno));
	if (r == ARCHIVE_EOF || s->total == 0) {
		s->done = 1; /* an empty file: the format reader says what it makes of that */
		return 0;
	}
	const char *msg = archive_error_string(s->filt);
	return err_code(err, errsz, LFM_EXIT_DATA, "%s: cannot decompress%s%s", path, msg ? ": " : "",
			msg ? msg : "");
}

static void src_close(scan_src *s)
{
	if (s->filt)
		archive_read_free(s->filt);
	if (s->z_live)
		inflateEnd(&s->z);
	if (s->fd >= 0)
		close(s->fd);
}

/* Forget the bytes cached from off on (a member not kept after all). */
static int cache_drop(ds_scan *s, uint64_t off, const char *path, char *err, size_t errsz)
{
	if (s->fd >= 0 && lseek(s->fd, (off_t)off, SEEK_SET) < 0)
		return err_code(err, errsz, LFM_EXIT_IO, "%s: the cache file: %s", path, strerror(errno));
	s->mem_len = (size_t)off;
	return 0;
}

static void append_name(char *err, size_t errsz, const char *fmt, const char *name)
{
	if (err && errsz) {
		size_t used = strlen(err);
		snprintf(err + used, errsz - used, fmt, name);
	}
}

/* The members of a tar inside the tar being scanned, added to the scan as "OUTER//INNER" at their place
 * in the file. */
typedef struct nest_ctx {
	ds_scan *out;
	const char *outer; /* the inner tar's name in the outer one */
	uint64_t base;     /* the file offset of the inner tar's first byte */
} nest_ctx;

static int add_nested(void *ctx, const char *name, uint64_t off, uint64_t size, char *err, size_t errsz)
{
	nest_ctx *c = ctx;
	ds_scan *out = c->out;
	if (out->n == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 1024;
		out->m = xrealloc(out->m, out->cap * sizeof *out->m);
	}
	ds_member *m = &out->m[out->n++];
	memset(m, 0, sizeof *m);
	m->name = xasprintf("%s//%s", c->outer, name);
	m->size = size;
	m->nested = 1;
	m->loc = (ds_loc){.off = c->base + off, .size = size, .where = DS_FD, .region = 0};
	return 0;
}

static int scan_archive(const char *path, ds_want_fn want, ds_stream_fn stream, void *ctx,
			const char *cache_dir, int nested, ds_scan *out, char *err, size_t errsz);

int ds_scan_archive(const char *path, ds_want_fn want, ds_stream_fn stream, void *ctx,
		    const char *cache_dir, ds_scan *out, char *err, size_t errsz)
{
	return scan_archive(path, want, stream, ctx, cache_dir, 0, out, err, errsz);
}

int ds_scan_archive_nested(const char *path, ds_want_fn want, void *ctx, const char *cache_dir, ds_scan *out,
			   char *err, size_t errsz)
{
	return scan_archive(path, want, NULL, ctx, cache_dir, 1, out, err, errsz);
}

static int scan_archive(const char *path, ds_want_fn want, ds_stream_fn stream, void *ctx,
			const char *cache_dir, int nested, ds_scan *out, char *err, size_t errsz)
{
	memset(out, 0, sizeof *out);
	out->fd = -1;
	uint64_t limit;
	int rc = ds_member_limit(&limit, err, errsz);
	if (rc)
		return rc;
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
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_format_zip(a);
	archive_read_support_format_cpio(a);
	int started = 0;
	uint8_t *piece = NULL;
	if ((rc = src_open(src, path, err, errsz)) != 0)
		goto done;
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
		/* ARCHIVE_WARN from a header is about its names or attributes (a pathname not convertible to
		 * the locale, say) and is let pass; ARCHIVE_RETRY is a header libarchive found damaged and
		 * would skip, with whatever members it held: refused, like any worse failure. */
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN || r == ARCHIVE_RETRY) {
			if (out->n == 0 && archive_errno(a) == EILSEQ && !src->read_errno &&
			    archive_format(a) == 0) {
				out->not_archive = 1;
				rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: not an archive libarchive can read",
					     path);
			} else {
				rc = archive_failed(a, src, path, out->n ? "damaged or truncated after member"
									 : "cannot read",
						    err, errsz);
				if (out->n)
					append_name(err, errsz, " (after %s)", out->m[out->n - 1].name);
			}
			goto done;
		}
		if (!started) {
			started = 1;
			out->in_place = src->kind == SRC_FILTER && src->filt && archive_filter_count(src->filt) == 1 &&
					archive_filter_code(src->filt, 0) == ARCHIVE_FILTER_NONE &&
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
		size_t mi = out->n++;
		ds_member *m = &out->m[mi];
		memset(m, 0, sizeof *m);
		m->name = tar_member_name(raw); /* so "//" can separate the levels of a tar inside a tar */
		m->size = archive_entry_size_is_set(e) && archive_entry_size(e) > 0 ? (uint64_t)archive_entry_size(e) : 0;
		int w = want ? want(ctx, m->name, m->size) : DS_SKIP;
		if (out->in_place && archive_entry_sparse_count(e) == 0) {
			int64_t off = archive_filter_bytes(a, 0);
			m->loc = (ds_loc){.off = (uint64_t)off, .size = m->size, .where = DS_FD, .region = 0};
		}
		/* A tar read in place has no checksum over its data: what is not streamed is skipped (by
		 * reading it: hashed). Anything else is decompressed to its end, kept or not, so that the zip
		 * format checks each member's CRC-32 (libarchive does so only for data read). */
		/* A tar inside an uncompressed tar (nested mode) is followed as its bytes pass: its members are
		 * then read in place too, with one pread each. */
		int nest = nested && out->in_place && m->loc.where == DS_FD && ds_has_ext(m->name, ".tar");
		if (out->in_place && w != DS_STREAM && !nest)
			continue;
		tar_push inner;
		nest_ctx nc = {out, NULL, m->loc.off};
		if (nest) {
			tar_push_init(&inner);
			w = DS_SKIP;
		}
		/* A member kept is held whole: one over the limit is refused before its bytes are kept (they
		 * are still read, for the checksums), as is a JPEG by name that does not start like one. */
		int keep = w == DS_KEEP;
		int jpeg = keep && (ds_has_ext(m->name, ".jpg") || ds_has_ext(m->name, ".jpeg"));
		uint8_t head[2];
		size_t head_n = 0;
		if (keep && m->size > limit) {
			keep = 0;
			m->loc = (ds_loc){.off = DS_TOO_BIG, .where = DS_REFUSED};
		} else if (keep) {
			m->loc = (ds_loc){.off = out->mem_len, .size = 0, .where = out->fd >= 0 ? DS_FD : DS_MEM,
					  .region = 0};
		}
		if (!piece)
			piece = xmalloc(1 << 16);
		uint64_t got_total = 0;
		for (;;) {
			la_ssize_t got = archive_read_data(a, piece, 1 << 16);
			if (got == 0)
				break;
			if (got < 0) {
				/* ARCHIVE_WARN here is a zip member's CRC-32 or size that does not match: refused. */
				rc = archive_failed(a, src, path, "damaged or truncated member", err, errsz);
				append_name(err, errsz, " (%s)", out->m[mi].name);
				if (nest)
					tar_push_free(&inner);
				goto done;
			}
			if (nest) {
				nc.outer = out->m[mi].name;
				char why[512];
				int nrc = tar_push_feed(&inner, piece, (size_t)got, add_nested, &nc, why, sizeof why);
				m = &out->m[mi]; /* the members may have moved */
				if (nrc) {
					rc = err_code(err, errsz, nrc, "%s: %s, the tar inside it: %s", path, m->name, why);
					tar_push_free(&inner);
					goto done;
				}
				got_total += (uint64_t)got;
				continue;
			}
			got_total += (uint64_t)got;
			for (size_t k = 0; jpeg && head_n < 2 && k < (size_t)got; k++)
				head[head_n++] = piece[k];
			int refuse = -1;
			if (keep && jpeg && head_n == 2 && (head[0] != 0xFF || head[1] != 0xD8))
				refuse = DS_NOT_JPEG;
			else if (keep && got_total > limit)
				refuse = DS_TOO_BIG;
			if (refuse >= 0) {
				if ((rc = cache_drop(out, m->loc.off, path, err, errsz)) != 0)
					goto done;
				keep = 0;
				m->loc = (ds_loc){.off = (uint64_t)refuse, .where = DS_REFUSED};
			} else if (keep) {
				rc = cache_append(out, piece, (size_t)got, path, err, errsz);
			} else if (w == DS_STREAM && stream) {
				rc = stream(ctx, m->name, piece, (size_t)got, err, errsz);
			}
			if (rc)
				goto done;
		}
		if (nest) {
			char why[512];
			int nrc = tar_push_finish(&inner, why, sizeof why);
			tar_push_free(&inner);
			if (nrc) {
				rc = err_code(err, errsz, nrc, "%s: %s, the tar inside it: %s", path, m->name, why);
				goto done;
			}
			m->size = got_total;
			m->loc.size = got_total;
			continue;
		}
		if (w == DS_STREAM && stream && (rc = stream(ctx, m->name, NULL, 0, err, errsz)))
			goto done;
		if (keep && jpeg && head_n < 2) {
			if ((rc = cache_drop(out, m->loc.off, path, err, errsz)) != 0)
				goto done;
			m->loc = (ds_loc){.off = DS_NOT_JPEG, .where = DS_REFUSED};
			keep = 0;
		}
		m->size = got_total;
		if (keep || out->in_place || m->loc.where == DS_REFUSED)
			m->loc.size = got_total;
	}
	/* Read the stream to its end: a compressed stream's checksum comes after the archive's last member
	 * (the gzip trailer's CRC-32, a zstd frame's or an xz block's check), and the format reader stops
	 * at the archive's end marker. */
	char why[512];
	if (src_drain(src, why, sizeof why) != 0) {
		if (src->read_errno)
			rc = err_code(err, errsz, LFM_EXIT_IO, "%s: read error: %s", path, strerror(src->read_errno));
		else
			rc = err_code(err, errsz, LFM_EXIT_DATA,
				      "%s: %s, at the end of the compressed stream: the archive is damaged (its "
				      "checksum covers every member%s%s; none of it is used)",
				      path, why, out->n ? ", the last " : "", out->n ? out->m[out->n - 1].name : "");
		goto done;
	}
	/* Hash the rest of the file (a tar's zero blocks beyond its end marker, a zip's directory). */
	while (!src->eof) {
		if (file_read(src, 0) < 0) {
			rc = err_code(err, errsz, LFM_EXIT_IO, "%s: read error: %s", path, strerror(src->read_errno));
			goto done;
		}
	}
	uint8_t digest[32];
	source_hash_final(&src->sha, digest);
	source_hash_hex(digest, "sha256:", out->hash);
	out->size = src->total;
done:
	free(piece);
	archive_read_free(a);
	if (out->in_place && !rc)
		src->fd = -1; /* now the scan's */
	src_close(src);
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
