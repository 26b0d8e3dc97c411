/* dataset_tarindex.c — see dataset_tarindex.h: a root archive's index, read when it matches the archive,
 * else built by one pass and written (temporary file, then rename: a reader never sees half of one;
 * two processes building at once both write the same content). */
#include "data/dataset_tarindex.h"

#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "data/dataset_index.h"
#include "data/dataset_sha256.h"
#include "io/stream.h"

#define INDEX_KIND "lfm.tar-index"
#define INDEX_VERSION 1
#define EDGE ((size_t)64 << 10) /* the bytes hashed at each end of the archive */

static int index_off(void)
{
	const char *v = getenv("LFM_INDEX_CACHE");
	return v && (strcmp(v, "off") == 0 || strcmp(v, "0") == 0);
}

/* SHA-256 of n bytes at off (fewer at the end of the file). */
static int edge_hash(int fd, uint64_t off, size_t n, char *out)
{
	uint8_t *buf = xmalloc(n ? n : 1);
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	source_hash h;
	source_hash_init(&h);
	source_hash_update(&h, buf, got);
	uint8_t d[32];
	source_hash_final(&h, d);
	source_hash_hex(d, "sha256:", out);
	free(buf);
	return 0;
}

/* The archive as it is now: 0, or -1 when it is no regular file we can read (no index then). */
static int identify(const char *path, struct ds_index_identity *id)
{
	memset(id, 0, sizeof *id);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	int rc = -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		id->size = (unsigned long long)st.st_size;
		id->mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
		uint64_t size = (uint64_t)st.st_size;
		if (edge_hash(fd, 0, EDGE, id->head) == 0 &&
		    edge_hash(fd, size > EDGE ? size - EDGE : 0, EDGE, id->tail) == 0)
			rc = 0;
	}
	close(fd);
	return rc;
}

/* Whether the first 512 bytes look like a tar header (an uncompressed tar, the only kind indexed). */
static int looks_like_tar(const char *path)
{
	uint8_t b[512];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t r = pread(fd, b, sizeof b, 0);
	close(fd);
	return r == (ssize_t)sizeof b && memcmp(b + 257, "ustar", 5) == 0;
}

/* ---- reading ------------------------------------------------------------------------------------ */

static int damaged(char *err, size_t errsz, const char *name, uint64_t rec, const char *why)
{
	if (rec)
		err_set(err, errsz, "%s: record %llu: %s", name, (unsigned long long)rec, why);
	else
		err_set(err, errsz, "%s: %s", name, why);
	return -1;
}

static int get_u64(const msgpack_object *map, const char *key, uint64_t *out)
{
	const msgpack_object *v = mp_map_get(map, key);
	if (!v || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -1;
	*out = v->via.u64;
	return 0;
}

static int str_is(const msgpack_object *map, const char *key, const char *want)
{
	const msgpack_object *v = mp_map_get(map, key);
	return v && mp_str_eq(v, want);
}

int ds_index_read(FILE *f, const char *name, const struct ds_index_identity *want, ds_scan *out, char *err,
		  size_t errsz)
{
	memset(out, 0, sizeof *out);
	out->fd = -1;
	char why[512];
	stream_reader *r = sr_open(f, name, INDEX_KIND, INDEX_VERSION, why, sizeof why);
	if (!r) {
		err_set(err, errsz, "%s", why);
		return -1;
	}
	const msgpack_object *h = sr_header(r);
	const msgpack_object *arch = mp_map_get(h, "archive");
	uint64_t size, members;
	int64_t mtime;
	char *hash = mp_get_str(h, "hash");
	int rc = 0;
	if (!arch || arch->type != MSGPACK_OBJECT_MAP || get_u64(arch, "size", &size) ||
	    mp_get_int(arch, "mtime_ns", &mtime) || get_u64(h, "members", &members) || !hash ||
	    strlen(hash) != 71 || strncmp(hash, "sha256:", 7) != 0) {
		rc = damaged(err, errsz, name, 0, "header lacks archive {size, mtime_ns, head, tail}, members or hash");
		goto out;
	}
	if (want) {
		const char *what = size != want->size		  ? "size"
				   : mtime != want->mtime_ns	  ? "modification time"
				   : !str_is(arch, "head", want->head) ? "first 64 KiB"
				   : !str_is(arch, "tail", want->tail) ? "last 64 KiB"
								     : NULL;
		if (what) {
			err_set(err, errsz, "%s: made for another state of the archive (its %s changed)", name, what);
			rc = 1;
			goto out;
		}
	}
	snprintf(out->hash, sizeof out->hash, "%s", hash);
	out->size = size;
	out->in_place = 1;
	if (members > ((uint64_t)1 << 32)) {
		rc = damaged(err, errsz, name, 0, "an implausible member count");
		goto out;
	}
	out->cap = members ? (size_t)members : 1;
	out->m = xmalloc_array(out->cap, sizeof *out->m);
	msgpack_object o;
	int got;
	while ((got = sr_next(r, &o)) == 1) {
		uint64_t rec = sr_records_read(r);
		if (out->n == members) {
			rc = damaged(err, errsz, name, rec, "more records than the header's members");
			goto out;
		}
		const msgpack_object *nm = o.type == MSGPACK_OBJECT_MAP ? mp_map_get(&o, "name") : NULL;
		uint64_t msize, off = 0;
		if (!nm || nm->type != MSGPACK_OBJECT_STR || nm->via.str.size == 0 ||
		    memchr(nm->via.str.ptr, 0, nm->via.str.size) || get_u64(&o, "size", &msize)) {
			rc = damaged(err, errsz, name, rec, "not a member {name, offset, size}");
			goto out;
		}
		const msgpack_object *ov = mp_map_get(&o, "offset");
		int located = ov && ov->type != MSGPACK_OBJECT_NIL;
		if (located && (get_u64(&o, "offset", &off) || off > size || msize > size - off)) {
			rc = damaged(err, errsz, name, rec, "an offset or size outside the archive");
			goto out;
		}
		ds_member *m = &out->m[out->n++];
		memset(m, 0, sizeof *m);
		m->name = xmalloc(nm->via.str.size + 1);
		memcpy(m->name, nm->via.str.ptr, nm->via.str.size);
		m->name[nm->via.str.size] = 0;
		m->size = msize;
		m->nested = strstr(m->name, "//") != NULL;
		if (located)
			m->loc = (ds_loc){.off = off, .size = msize, .where = DS_FD, .region = 0};
	}
	if (got < 0) {
		err_set(err, errsz, "%s", sr_error(r));
		rc = -1;
	} else if (out->n != members) {
		rc = damaged(err, errsz, name, 0, "fewer records than the header's members (truncated)");
	}
out:
	free(hash);
	sr_close(r);
	if (rc)
		ds_scan_free(out);
	return rc;
}

/* ---- writing ------------------------------------------------------------------------------------ */

/* The index as bytes (an msgpack stream: header, then one record per member). */
static void encode(msgpack_sbuffer *sb, const char *path, const struct ds_index_identity *id, const ds_scan *s)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 6);
	mp_pack_kv_str(&pk, "format", INDEX_KIND "/1");
	mp_pack_cstr(&pk, "archive");
	msgpack_pack_map(&pk, 5);
	mp_pack_kv_str(&pk, "name", ds_basename(path));
	mp_pack_kv_uint(&pk, "size", id->size);
	mp_pack_kv_int(&pk, "mtime_ns", id->mtime_ns);
	mp_pack_kv_str(&pk, "head", id->head);
	mp_pack_kv_str(&pk, "tail", id->tail);
	mp_pack_kv_str(&pk, "hash", s->hash);
	mp_pack_kv_uint(&pk, "members", s->n);
	size_t nested = 0;
	for (size_t i = 0; i < s->n; i++)
		nested += s->m[i].nested;
	mp_pack_kv_uint(&pk, "nested", nested);
	mp_pack_kv_str(&pk, "written_by", lfm_progname());
	for (size_t i = 0; i < s->n; i++) {
		const ds_member *m = &s->m[i];
		msgpack_pack_map(&pk, 3);
		mp_pack_kv_str(&pk, "name", m->name);
		if (m->loc.where == DS_FD) {
			mp_pack_kv_uint(&pk, "offset", m->loc.off);
		} else {
			mp_pack_cstr(&pk, "offset");
			msgpack_pack_nil(&pk);
		}
		mp_pack_kv_uint(&pk, "size", m->size);
	}
}

/* Write bytes as file dest (a temporary beside it, renamed): 0, or -1 with errno. */
static int write_index(const char *dest, const msgpack_sbuffer *sb)
{
	char *tmp = xasprintf("%s.tmp.XXXXXX", dest);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		int e = errno;
		free(tmp);
		errno = e;
		return -1;
	}
	int rc = write_full(fd, sb->data, sb->size);
	if (rc == 0)
		rc = fchmod(fd, 0644);
	int e = errno;
	if (close(fd) != 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	if (rc == 0 && rename(tmp, dest) != 0) {
		rc = -1;
		e = errno;
	}
	if (rc)
		unlink(tmp);
	free(tmp);
	errno = e;
	return rc;
}

/* The index's name in the cache folder: the archive's name and the first 16 hex digits of the SHA-256
 * of its full path (two archives of the same name in different folders do not share an index). */
static char *cached_name(const char *path, const char *cache_dir)
{
	char *real = realpath(path, NULL);
	const char *p = real ? real : path;
	source_hash h;
	source_hash_init(&h);
	source_hash_update(&h, p, strlen(p));
	uint8_t d[32];
	source_hash_final(&h, d);
	char hex[80];
	source_hash_hex(d, "", hex);
	hex[16] = 0;
	char *name = xasprintf("%s/%s.%s.lfm-index", cache_dir, ds_basename(path), hex);
	free(real);
	return name;
}

/* Try the index file at ipath: 0 read (out filled), 1 absent, 2 stale or damaged (a note in why). */
static int try_read(const char *ipath, const struct ds_index_identity *id, ds_scan *out, char *why,
		    size_t whysz)
{
	FILE *f = fopen(ipath, "rb");
	if (!f)
		return 1;
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return 1;
	}
	int rc = ds_index_read(f, ipath, id, out, why, whysz);
	fclose(f);
	return rc == 0 ? 0 : 2;
}

int ds_scan_root(const char *path, ds_want_fn want, void *ctx, const char *cache_dir, ds_scan *out,
		 int *use, char *err, size_t errsz)
{
	int dummy;
	if (!use)
		use = &dummy;
	*use = DS_INDEX_NONE;
	struct ds_index_identity id;
	if (index_off() || identify(path, &id) != 0 || !looks_like_tar(path))
		return ds_scan_archive_nested(path, want, ctx, cache_dir, out, err, errsz);

	char *beside = xasprintf("%s.lfm-index", path);
	char *cached = cache_dir ? cached_name(path, cache_dir) : NULL;
	char note[600] = "";
	int rc = 1;
	for (int k = 0; k < 2 && rc != 0; k++) {
		const char *ip = k == 0 ? beside : cached;
		if (!ip)
			continue;
		char why[512];
		int r = try_read(ip, &id, out, why, sizeof why);
		if (r == 0) {
			out->fd = open(path, O_RDONLY | O_CLOEXEC);
			if (out->fd < 0) {
				rc = err_code(err, errsz, LFM_EXIT_IO, "%s: %s", path, strerror(errno));
				ds_scan_free(out);
				goto done;
			}
			*use = DS_INDEX_REUSED;
			rc = 0;
		} else if (r == 2 && !note[0]) {
			snprintf(note, sizeof note, "%s", why);
		}
	}
	if (rc == 0)
		goto done;

	if (note[0])
		warn("%s; rebuilding the index", note);
	if (id.size >= 1000000)
		warn("%s: indexing (one pass over its %.1f MB; the index is kept for the next open)", path,
		     (double)id.size / 1e6);
	else
		warn("%s: indexing (one pass over its %llu bytes; the index is kept for the next open)", path, id.size);
	rc = ds_scan_archive_nested(path, want, ctx, cache_dir, out, err, errsz);
	if (rc || !out->in_place)
		goto done;
	/* The archive must not have changed while it was read: the index would describe neither state. */
	struct ds_index_identity after;
	if (identify(path, &after) != 0 || after.size != id.size || after.mtime_ns != id.mtime_ns) {
		warn("%s: changed while it was being indexed; no index kept", path);
		*use = DS_INDEX_UNSAVED;
		goto done;
	}
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	encode(&sb, path, &id, out);
	char beside_why[256] = "", cached_why[256] = "";
	if (write_index(beside, &sb) == 0) {
		*use = DS_INDEX_BUILT;
	} else {
		snprintf(beside_why, sizeof beside_why, "%s", strerror(errno));
		if (cached && write_index(cached, &sb) == 0)
			*use = DS_INDEX_BUILT;
		else if (cached)
			snprintf(cached_why, sizeof cached_why, "%s", strerror(errno));
	}
	msgpack_sbuffer_destroy(&sb);
	if (*use != DS_INDEX_BUILT) {
		*use = DS_INDEX_UNSAVED;
		if (cached)
			warn("%s: cannot keep its index (beside it, %s: %s; in --cache-dir, %s: %s): the next open "
			     "reads the archive again",
			     path, beside, beside_why, cached, cached_why);
		else
			warn("%s: cannot keep its index beside it (%s: %s): the next open reads the archive again; "
			     "give --cache-dir DIR to keep it there",
			     path, beside, beside_why);
	}
done:
	free(beside);
	free(cached);
	return rc;
}
