/* dataset_tar.c — see dataset_tar.h: a tar followed block by block as its bytes are pushed in. */
#include "data/dataset_tar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

enum { ST_HEADER, ST_DATA, ST_EXT, ST_END };
enum { EXT_NONE, EXT_LONGNAME, EXT_PAX };

/* The largest GNU long name and pax header taken: real ones are a few hundred bytes. A larger size
 * field is damage, not a name. */
#define MAX_EXT ((size_t)1 << 20)

void tar_push_init(tar_push *t)
{
	memset(t, 0, sizeof *t);
	t->state = ST_HEADER;
}

void tar_push_free(tar_push *t)
{
	free(t->ext);
	free(t->long_name);
	t->ext = t->long_name = NULL;
}

/* A numeric header field: octal digits (leading blanks or NULs allowed, ended by a blank or NUL), or
 * GNU's base-256 (first byte's top bit set). 0, or -1 when it is neither. */
static int parse_number(const uint8_t *f, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (f[0] & 0x80) {
		if (f[0] & 0x40)
			return -1; /* negative */
		v = f[0] & 0x3f;
		for (size_t i = 1; i < n; i++) {
			if (v >> 55)
				return -1;
			v = v << 8 | f[i];
		}
		*out = v;
		return 0;
	}
	size_t i = 0;
	while (i < n && (f[i] == ' ' || f[i] == 0))
		i++;
	if (i == n) {
		*out = 0;
		return 0;
	}
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = v * 8 + (uint64_t)(f[i] - '0');
	}
	for (; i < n; i++)
		if (f[i] != ' ' && f[i] != 0)
			return -1;
	*out = v;
	return 0;
}

/* The header's checksum: the sum of its bytes with the checksum field read as blanks, unsigned (POSIX)
 * or signed (some old tars). */
static int checksum_ok(const uint8_t *b)
{
	uint64_t want;
	if (parse_number(b + 148, 8, &want) != 0)
		return 0;
	uint64_t u = 0;
	int64_t s = 0;
	for (int i = 0; i < 512; i++) {
		uint8_t c = i >= 148 && i < 156 ? ' ' : b[i];
		u += c;
		s += (int8_t)c;
	}
	return u == want || (s >= 0 && (uint64_t)s == want);
}

char *tar_member_name(const char *name)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	while (name[0] == '/')
		name++;
	char *s = xstrdup(name), *d = s;
	for (const char *p = s; *p; p++)
		if (!(*p == '/' && d > s && d[-1] == '/'))
			*d++ = *p;
	*d = 0;
	return s;
}

/* The records of a pax header, "LEN key=value\n" each: path and size are taken, sparse files refused,
 * the rest ignored. */
static int parse_pax(tar_push *t, uint64_t at, char *err, size_t errsz)
{
	size_t pos = 0;
	while (pos < t->ext_len) {
		size_t len = 0, i = pos;
		while (i < t->ext_len && t->ext[i] >= '0' && t->ext[i] <= '9' && len < MAX_EXT)
			len = len * 10 + (size_t)(t->ext[i++] - '0');
		if (i == pos || i >= t->ext_len || t->ext[i] != ' ' || len <= i - pos || pos + len > t->ext_len ||
		    t->ext[pos + len - 1] != '\n')
			return err_code(err, errsz, LFM_EXIT_DATA, "pax header at byte %llu: malformed record",
					(unsigned long long)at);
		const char *kv = t->ext + i + 1, *end = t->ext + pos + len - 1;
		const char *eq = memchr(kv, '=', (size_t)(end - kv));
		if (!eq)
			return err_code(err, errsz, LFM_EXIT_DATA, "pax header at byte %llu: a record without '='",
					(unsigned long long)at);
		size_t kn = (size_t)(eq - kv), vn = (size_t)(end - eq - 1);
		const char *v = eq + 1;
		if (kn == 4 && memcmp(kv, "path", 4) == 0) {
			if (memchr(v, 0, vn))
				return err_code(err, errsz, LFM_EXIT_DATA, "pax header at byte %llu: NUL in a path",
						(unsigned long long)at);
			free(t->long_name);
			t->long_name = xmalloc(vn + 1);
			memcpy(t->long_name, v, vn);
			t->long_name[vn] = 0;
		} else if (kn == 4 && memcmp(kv, "size", 4) == 0) {
			uint64_t s = 0;
			size_t k = 0;
			for (; k < vn && v[k] >= '0' && v[k] <= '9' && !(s >> 59); k++)
				s = s * 10 + (uint64_t)(v[k] - '0');
			if (k == 0 || k != vn)
				return err_code(err, errsz, LFM_EXIT_DATA, "pax header at byte %llu: bad size '%.*s'",
						(unsigned long long)at, (int)(vn < 40 ? vn : 40), v);
			t->pax_size = s;
			t->pax_size_set = 1;
		} else if (kn > 11 && memcmp(kv, "GNU.sparse.", 11) == 0) {
			return err_code(err, errsz, LFM_EXIT_DATA,
					"pax header at byte %llu: a sparse member (not stored in one piece; not read)",
					(unsigned long long)at);
		}
		pos += len;
	}
	return 0;
}

static uint64_t padded(uint64_t n) { return (n + 511) / 512 * 512; }

/* A complete header block at byte at of the inner tar. */
static int header(tar_push *t, uint64_t at, tar_member_fn fn, void *ctx, char *err, size_t errsz)
{
	const uint8_t *b = t->block;
	int zero = 1;
	for (int i = 0; i < 512 && zero; i++)
		zero = b[i] == 0;
	if (zero) {
		t->ended = 1;
		t->state = ST_END;
		return 0;
	}
	if (!checksum_ok(b))
		return err_code(err, errsz, LFM_EXIT_DATA,
				"header at byte %llu%s%s%s: bad checksum (not a tar, or damaged)", (unsigned long long)at,
				t->last[0] ? " (after " : "", t->last, t->last[0] ? ")" : "");
	uint64_t size;
	if (parse_number(b + 124, 12, &size) != 0)
		return err_code(err, errsz, LFM_EXIT_DATA, "header at byte %llu: bad size field",
				(unsigned long long)at);
	if (t->pax_size_set)
		size = t->pax_size;
	char type = (char)b[156];
	if (type == 'L' || type == 'x') {
		if (size > MAX_EXT)
			return err_code(err, errsz, LFM_EXIT_DATA, "header at byte %llu: a %s of %llu bytes",
					(unsigned long long)at, type == 'L' ? "long name" : "pax header",
					(unsigned long long)size);
		free(t->ext);
		t->ext = xmalloc((size_t)size + 1);
		t->ext_len = 0;
		t->ext_want = (size_t)size;
		t->skip = padded(size);
		t->state = ST_EXT;
		t->block[0] = (uint8_t)type; /* remembered for when the data is in (size 0: at once) */
		return 0;
	}
	if (type == 'S')
		return err_code(err, errsz, LFM_EXIT_DATA,
				"header at byte %llu: a GNU sparse member (not stored in one piece; not read)",
				(unsigned long long)at);
	int data = !(type == '2' || type == '3' || type == '4' || type == '5' || type == '6');
	if (type == '0' || type == 0 || type == '7') {
		char *name;
		if (t->long_name) {
			name = tar_member_name(t->long_name);
		} else {
			char n[101], prefix[156];
			memcpy(n, b, 100);
			n[100] = 0;
			prefix[0] = 0;
			if (memcmp(b + 257, "ustar\0", 6) == 0) { /* POSIX ustar: the prefix field; GNU's is not one */
				memcpy(prefix, b + 345, 155);
				prefix[155] = 0;
			}
			char *joined = prefix[0] ? xasprintf("%s/%s", prefix, n) : xstrdup(n);
			name = tar_member_name(joined);
			free(joined);
		}
		snprintf(t->last, sizeof t->last, "%s", name);
		int rc = 0;
		if (name[0] && name[strlen(name) - 1] != '/')
			rc = fn(ctx, name, at + 512, size, err, errsz);
		free(name);
		if (rc)
			return rc;
	}
	free(t->long_name);
	t->long_name = NULL;
	t->pax_size_set = 0;
	t->skip = data ? padded(size) : 0;
	t->state = t->skip ? ST_DATA : ST_HEADER;
	t->data_size = data ? size : 0; /* the data bytes proper, for a message when they are cut short */
	return 0;
}

/* An extended header's data is all in: what it says applies to the next header. */
static int ext_done(tar_push *t, uint64_t at, char *err, size_t errsz)
{
	t->ext[t->ext_len] = 0;
	int rc = 0;
	if (t->block[0] == 'L') {
		size_t n = strnlen(t->ext, t->ext_len);
		free(t->long_name);
		t->long_name = xmalloc(n + 1);
		memcpy(t->long_name, t->ext, n);
		t->long_name[n] = 0;
	} else {
		rc = parse_pax(t, at, err, errsz);
	}
	free(t->ext);
	t->ext = NULL;
	return rc;
}

int tar_push_feed(tar_push *t, const uint8_t *p, size_t n, tar_member_fn fn, void *ctx, char *err,
		  size_t errsz)
{
	while (n || (t->state == ST_EXT && t->skip == 0)) {
		switch (t->state) {
		case ST_END:
			t->pos += n;
			return 0;
		case ST_HEADER: {
			size_t k = 512 - t->have < n ? 512 - t->have : n;
			memcpy(t->block + t->have, p, k);
			t->have += k;
			p += k;
			n -= k;
			t->pos += k;
			if (t->have == 512) {
				t->have = 0;
				int rc = header(t, t->pos - 512, fn, ctx, err, errsz);
				if (rc)
					return rc;
			}
			break;
		}
		case ST_DATA: {
			uint64_t k = t->skip < n ? t->skip : n;
			t->skip -= k;
			p += k;
			n -= (size_t)k;
			t->pos += k;
			if (t->skip == 0)
				t->state = ST_HEADER;
			break;
		}
		case ST_EXT: {
			uint64_t k = t->skip < n ? t->skip : n;
			size_t room = t->ext_want - t->ext_len;
			size_t take = k < room ? (size_t)k : room;
			memcpy(t->ext + t->ext_len, p, take);
			t->ext_len += take;
			t->skip -= k;
			p += k;
			n -= (size_t)k;
			t->pos += k;
			if (t->skip == 0) {
				t->state = ST_HEADER;
				int rc = ext_done(t, t->pos, err, errsz);
				if (rc)
					return rc;
			}
			break;
		}
		}
	}
	return 0;
}

int tar_push_finish(tar_push *t, char *err, size_t errsz)
{
	switch (t->state) {
	case ST_END:
		return 0;
	case ST_HEADER:
		if (t->have == 0)
			return 0; /* no end marker, but nothing cut short */
		return err_code(err, errsz, LFM_EXIT_DATA, "truncated inside a header at byte %llu%s%s%s",
				(unsigned long long)(t->pos - t->have), t->last[0] ? " (after " : "", t->last,
				t->last[0] ? ")" : "");
	case ST_DATA: {
		/* Only the padding after the last member's data missing is harmless: its bytes are all there. */
		uint64_t pad = padded(t->data_size) - t->data_size;
		if (t->skip <= pad)
			return 0;
		return err_code(err, errsz, LFM_EXIT_DATA, "%s: cut short (%llu of its %llu bytes; truncated)", t->last,
				(unsigned long long)(t->data_size - (t->skip - pad)), (unsigned long long)t->data_size);
	}
	default:
		return err_code(err, errsz, LFM_EXIT_DATA, "truncated inside an extended header at byte %llu",
				(unsigned long long)t->pos);
	}
}
