/* stream.c — see stream.h.
 *
 * Reading: bytes are pulled into one buffer as they arrive and decoded into msgpack-c's object model
 * (msgpack_object, containers in one msgpack_zone that is cleared and reused for every record, strings
 * pointing into the buffer), so the steady state allocates nothing per record. The decoder is our own
 * rather than msgpack_unpack: it is one pass instead of a framing scan plus msgpack-c's parse (about 60
 * against 165 ns for a 5-field pairs record here, which the pair/plan tools' 5 M records/s budget needs;
 * msgpack_unpacker_next would also allocate a zone per record), and it checks sizes before
 * allocating — msgpack-c allocates an array's elements as soon as it reads the count, so "array of 4
 * billion elements" in five bytes of garbage would reach malloc. An object that is not complete in the
 * buffer is scanned on incrementally as pieces arrive (each byte scanned once, whatever the piece size)
 * and decoded when complete. The unit test and the fuzz target compare it with msgpack_unpack.
 * sr_next_raw hands out the record's bytes instead, found by the same scan without building objects, or,
 * for the flat maps of small scalars that the pairs and plan streams are made of, by a shorter walk
 * (flat_map_size) that reaches the same size; the fuzz target checks both against sr_next.
 *
 * Writing: msgpack-c's packer appends into a 1 MiB buffer that goes to the FILE in one fwrite when full;
 * the mp_pack_kv_* helpers write short keys and numbers into that buffer directly, in msgpack-c's encoding.
 */
#include "io/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/tensor_dtype.h"
#include "base/json.h"

#define WRITE_BUFFER_SIZE (1u << 20)
/* The read buffer starts small (a short stream costs little, which keeps fuzzing fast) and doubles up to
 * READ_BUFFER_SIZE while reads keep filling it. */
#define READ_BUFFER_START (64u << 10)
#define READ_BUFFER_SIZE (1u << 20)
#define READ_MIN_SPACE (16u << 10) /* compact the buffer rather than read less than this */
/* A single object may need at most this much memory: its encoded bytes plus one msgpack_object per
 * element (what msgpack-c allocates). Larger ones are refused, not grown into. */
#define MAX_OBJECT_MEMORY ((size_t)256 << 20)
/* msgpack-c's unpacker holds at most MSGPACK_EMBED_STACK_SIZE (unpack_define.h: 32) open containers. */
#define MAX_DEPTH 32
#define ERR_SIZE (PATH_MAX + 256) /* a message names the stream, which may be a long path */
_Static_assert(sizeof(msgpack_object_kv) == 2 * sizeof(msgpack_object), "map pairs are two objects");
#if defined(__GLIBC__) && !defined(_IO_IN_BACKUP)
#define _IO_IN_BACKUP 0x100 /* glibc's libio flag: the FILE is reading from its ungetc backup area */
#endif

/* ================================ writing ================================ */

struct stream_writer {
	FILE *f;
	char *name;
	char *buf;
	size_t used, cap;
	msgpack_packer pk;
};

static void writer_flush(stream_writer *w)
{
	if (w->used && fwrite(w->buf, 1, w->used, w->f) != w->used)
		die_write_error(w->f, w->name);
	w->used = 0;
}

/* msgpack-c calls this for every piece it packs; the common case is a short memcpy. */
static int writer_append(void *data, const char *p, size_t n)
{
	stream_writer *w = data;
	if (n <= w->cap - w->used) {
		memcpy(w->buf + w->used, p, n);
		w->used += n;
		return 0;
	}
	writer_flush(w);
	if (n >= w->cap) {
		if (fwrite(p, 1, n, w->f) != n)
			die_write_error(w->f, w->name);
		return 0;
	}
	memcpy(w->buf, p, n);
	w->used = n;
	return 0;
}

/* A pipe holds 64 KiB by default: the writer fills it with one 1 MiB write, then the two processes take
 * turns 16 times per buffer. A 1 MiB pipe (the unprivileged maximum by default) lets both run at once
 * with far fewer switches. Best effort: not a pipe, or not allowed, changes nothing. */
static void widen_pipe(int fd)
{
#ifdef F_SETPIPE_SZ
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && fcntl(fd, F_GETPIPE_SZ) < (1 << 20))
		(void)fcntl(fd, F_SETPIPE_SZ, 1 << 20);
#else
	(void)fd;
#endif
}

stream_writer *sw_open(FILE *f, const char *name)
{
	stream_writer *w = xcalloc(1, sizeof *w);
	w->f = f;
	w->name = xstrdup(name ? name : "output");
	w->cap = WRITE_BUFFER_SIZE;
	w->buf = xmalloc(w->cap);
	msgpack_packer_init(&w->pk, w, writer_append);
	widen_pipe(fileno(f));
	return w;
}

msgpack_packer *sw_packer(stream_writer *w) { return &w->pk; }

unsigned char *sw_reserve(stream_writer *w, size_t n)
{
	if (n > w->cap)
		die(LFM_EXIT_IO, "%s: internal error: %zu bytes reserved, over the %zu-byte buffer", w->name, n,
		    w->cap);
	if (w->cap - w->used < n)
		writer_flush(w);
	return (unsigned char *)w->buf + w->used;
}

void sw_commit(stream_writer *w, size_t used)
{
	if (used > w->cap - w->used)
		die(LFM_EXIT_IO, "%s: internal error: %zu bytes committed, over the buffer", w->name, used);
	w->used += used;
}

void sw_close(stream_writer *w)
{
	if (!w)
		return;
	writer_flush(w);
	if (fflush(w->f) != 0 || ferror(w->f))
		die_write_error(w->f, w->name);
	free(w->buf);
	free(w->name);
	free(w);
}

/* The helpers below encode exactly as msgpack-c does (smallest integer form, fixstr for short strings;
 * the unit test compares byte for byte), but when the packer is a stream_writer's and there is room they
 * write key and value into its buffer in one step: keys and numbers are most of every record. */
static int encode_uint(unsigned char *d, uint64_t v)
{
	if (v < 128) {
		d[0] = (unsigned char)v;
		return 1;
	}
	int n = v < 256 ? 1 : v < 65536 ? 2 : v <= UINT32_MAX ? 4 : 8;
	d[0] = n == 1 ? 0xcc : n == 2 ? 0xcd : n == 4 ? 0xce : 0xcf;
	for (int i = 0; i < n; i++)
		d[1 + i] = (unsigned char)(v >> 8 * (n - 1 - i));
	return 1 + n;
}

static int encode_int(unsigned char *d, int64_t v)
{
	if (v >= -32)
		return v < 128 ? (d[0] = (unsigned char)(v & 0xff), 1) : encode_uint(d, (uint64_t)v);
	int n = v >= -128 ? 1 : v >= -32768 ? 2 : v >= INT32_MIN ? 4 : 8;
	d[0] = n == 1 ? 0xd0 : n == 2 ? 0xd1 : n == 4 ? 0xd2 : 0xd3;
	uint64_t u = (uint64_t)v;
	for (int i = 0; i < n; i++)
		d[1 + i] = (unsigned char)(u >> 8 * (n - 1 - i));
	return 1 + n;
}

static int encode_f64(unsigned char *d, double v)
{
	uint64_t u;
	memcpy(&u, &v, 8);
	d[0] = 0xcb;
	for (int i = 0; i < 8; i++)
		d[1 + i] = (unsigned char)(u >> 8 * (7 - i));
	return 9;
}

/* Room for n bytes straight in the stream_writer behind pk, or NULL (another packer, or a full buffer). */
static inline char *direct_room(msgpack_packer *pk, size_t n)
{
	if (pk->callback != writer_append)
		return NULL;
	stream_writer *w = pk->data;
	if (w->cap - w->used < n)
		return NULL;
	char *d = w->buf + w->used;
	w->used += n;
	return d;
}

void mp_pack_cstr(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);
	char *d = n < 32 ? direct_room(pk, 1 + n) : NULL;
	if (d) {
		d[0] = (char)(0xa0 | n);
		memcpy(d + 1, s, n);
		return;
	}
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static void pack_kv_encoded(msgpack_packer *pk, const char *key, const unsigned char *val, int vlen)
{
	size_t klen = strlen(key);
	char *d = klen < 32 ? direct_room(pk, 1 + klen + (size_t)vlen) : NULL;
	if (d) {
		d[0] = (char)(0xa0 | klen);
		memcpy(d + 1, key, klen);
		memcpy(d + 1 + klen, val, (size_t)vlen);
		return;
	}
	mp_pack_cstr(pk, key);
	pk->callback(pk->data, (const char *)val, (size_t)vlen);
}

void mp_pack_kv_str(msgpack_packer *pk, const char *key, const char *value)
{
	mp_pack_cstr(pk, key);
	mp_pack_cstr(pk, value);
}

void mp_pack_kv_int(msgpack_packer *pk, const char *key, int64_t value)
{
	unsigned char v[9];
	pack_kv_encoded(pk, key, v, encode_int(v, value));
}

void mp_pack_kv_uint(msgpack_packer *pk, const char *key, uint64_t value)
{
	unsigned char v[9];
	pack_kv_encoded(pk, key, v, encode_uint(v, value));
}

void mp_pack_kv_f64(msgpack_packer *pk, const char *key, double value)
{
	unsigned char v[9];
	pack_kv_encoded(pk, key, v, encode_f64(v, value));
}

void mp_pack_kv_bool(msgpack_packer *pk, const char *key, int value)
{
	unsigned char v = value ? 0xc3 : 0xc2;
	pack_kv_encoded(pk, key, &v, 1);
}

/* Characters that never need quoting in a POSIX shell word (the same set as Python's shlex.quote). */
static int shell_safe(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@%+=:,./_-", *s))
			return 0;
	return 1;
}

void mp_pack_kv_command(msgpack_packer *pk, const char *key, int argc, char **argv)
{
	size_t cap = 1;
	for (int i = 0; i < argc; i++)
		cap += 4 * strlen(argv[i]) + 3; /* worst case: every character a quote, plus quotes and space */
	char *s = xmalloc(cap), *p = s;
	for (int i = 0; i < argc; i++) {
		if (i)
			*p++ = ' ';
		const char *a = argv[i];
		if (shell_safe(a)) {
			size_t n = strlen(a);
			memcpy(p, a, n);
			p += n;
			continue;
		}
		*p++ = '\'';
		for (; *a; a++) {
			if (*a == '\'') {
				memcpy(p, "'\\''", 4);
				p += 4;
			} else {
				*p++ = *a;
			}
		}
		*p++ = '\'';
	}
	*p = 0;
	mp_pack_kv_str(pk, key, s);
	free(s);
}

/* ================================ reading ================================ */

enum scan_result { SCAN_DONE, SCAN_MORE, SCAN_MALFORMED, SCAN_TOO_BIG, SCAN_TOO_DEEP, SCAN_NOMEM };

/* Where the scan of the current object stands; offsets are from the object's first byte, so the buffer
 * may move between reads. */
struct scan_state {
	size_t pos;       /* bytes of complete items so far */
	uint64_t items;   /* items seen (each becomes one msgpack_object) */
	unsigned depth;   /* open containers */
	unsigned char bad_byte;
	uint64_t left[MAX_DEPTH];         /* items each open container still expects */
	msgpack_object *next[MAX_DEPTH];  /* decoding: where each open container's next item goes */
};

enum item_kind { K_POSFIX, K_NEGFIX, K_NIL, K_FALSE, K_TRUE, K_UINT, K_INT, K_F32, K_F64, K_STR, K_BIN,
		 K_EXT, K_ARRAY, K_MAP };

static uint64_t be_read(const unsigned char *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Fill o with the item of the given kind whose type byte is at q (size bytes with head of them framing). */
static inline int decode_item(msgpack_object *o, enum item_kind kind, const unsigned char *q, size_t head,
		       uint64_t size, uint64_t children, msgpack_zone *z)
{
	uint64_t payload = size - head;
	switch (kind) {
	case K_POSFIX: o->type = MSGPACK_OBJECT_POSITIVE_INTEGER; o->via.u64 = q[0]; break;
	case K_NEGFIX: o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER; o->via.i64 = (int8_t)q[0]; break;
	case K_NIL: o->type = MSGPACK_OBJECT_NIL; break;
	case K_FALSE: o->type = MSGPACK_OBJECT_BOOLEAN; o->via.boolean = false; break;
	case K_TRUE: o->type = MSGPACK_OBJECT_BOOLEAN; o->via.boolean = true; break;
	case K_UINT:
		o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
		o->via.u64 = be_read(q + 1, (unsigned)payload);
		break;
	case K_INT: {
		uint64_t u = be_read(q + 1, (unsigned)payload);
		int64_t v = payload == 1 ? (int8_t)u : payload == 2 ? (int16_t)u : payload == 4 ? (int32_t)u
											 : (int64_t)u;
		/* msgpack-c's convention: non-negative values are POSITIVE_INTEGER whatever their encoding */
		if (v < 0) {
			o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
			o->via.i64 = v;
		} else {
			o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
			o->via.u64 = (uint64_t)v;
		}
		break;
	}
	case K_F32: {
		uint32_t bits = (uint32_t)be_read(q + 1, 4);
		float f;
		memcpy(&f, &bits, 4);
		o->type = MSGPACK_OBJECT_FLOAT32;
		o->via.f64 = f;
		break;
	}
	case K_F64: {
		uint64_t bits = be_read(q + 1, 8);
		memcpy(&o->via.f64, &bits, 8);
		o->type = MSGPACK_OBJECT_FLOAT64;
		break;
	}
	case K_STR:
		o->type = MSGPACK_OBJECT_STR;
		o->via.str.size = (uint32_t)payload;
		o->via.str.ptr = (const char *)q + head;
		break;
	case K_BIN:
		o->type = MSGPACK_OBJECT_BIN;
		o->via.bin.size = (uint32_t)payload;
		o->via.bin.ptr = (const char *)q + head;
		break;
	case K_EXT:
		o->type = MSGPACK_OBJECT_EXT;
		o->via.ext.type = (int8_t)q[head];
		o->via.ext.size = (uint32_t)(payload - 1);
		o->via.ext.ptr = (const char *)q + head + 1;
		break;
	case K_ARRAY:
		o->type = MSGPACK_OBJECT_ARRAY;
		o->via.array.size = (uint32_t)children;
		o->via.array.ptr = NULL;
		if (children) {
			o->via.array.ptr = msgpack_zone_malloc(z, (size_t)children * sizeof(msgpack_object));
			if (!o->via.array.ptr)
				return -1;
		}
		break;
	case K_MAP:
		o->type = MSGPACK_OBJECT_MAP;
		o->via.map.size = (uint32_t)(children / 2);
		o->via.map.ptr = NULL;
		if (children) {
			o->via.map.ptr = msgpack_zone_malloc(z, (size_t)(children / 2) * sizeof(msgpack_object_kv));
			if (!o->via.map.ptr)
				return -1;
		}
		break;
	}
	return 0;
}

/* Scan (z NULL) or decode (into *root, containers allocated in z) the object at p[0..avail).
 * Scanning stops with SCAN_MORE where bytes are missing and resumes from s when more have arrived.
 * Decoding is the same walk with objects filled in, run in one call from a zeroed state; a decode that
 * stops with SCAN_MORE may go on as a scan from the same state. Both apply the same checks in the same
 * byte order, so an object is accepted or refused the same way whatever pieces it arrives in. */
static enum scan_result scan_object(struct scan_state *s, const unsigned char *p, size_t avail,
				    msgpack_zone *z, msgpack_object *root)
{
	size_t pos = s->pos;
	uint64_t items = s->items;
	unsigned depth = s->depth;
	enum scan_result res;
	for (;;) {
		if (pos >= avail) {
			res = SCAN_MORE;
			break;
		}
		unsigned b = p[pos];
		enum item_kind kind;
		size_t head = 1;       /* type byte plus length field */
		unsigned lenbytes = 0; /* size of the big-endian length field after the type byte */
		uint64_t payload = 0;  /* bytes after the head */
		uint64_t children = 0;
		if (b <= 0x7f) {
			kind = K_POSFIX;
		} else if (b >= 0xe0) {
			kind = K_NEGFIX;
		} else if (b <= 0x8f) {
			kind = K_MAP;
			children = b & 0x0f;
		} else if (b <= 0x9f) {
			kind = K_ARRAY;
			children = b & 0x0f;
		} else if (b <= 0xbf) {
			kind = K_STR;
			payload = b & 0x1f;
		} else {
			switch (b) {
			case 0xc0: kind = K_NIL; break;
			case 0xc2: kind = K_FALSE; break;
			case 0xc3: kind = K_TRUE; break;
			case 0xc4: kind = K_BIN; lenbytes = 1; break;
			case 0xc5: kind = K_BIN; lenbytes = 2; break;
			case 0xc6: kind = K_BIN; lenbytes = 4; break;
			case 0xc7: kind = K_EXT; lenbytes = 1; payload = 1; break; /* type byte + data */
			case 0xc8: kind = K_EXT; lenbytes = 2; payload = 1; break;
			case 0xc9: kind = K_EXT; lenbytes = 4; payload = 1; break;
			case 0xca: kind = K_F32; payload = 4; break;
			case 0xcb: kind = K_F64; payload = 8; break;
			case 0xcc: kind = K_UINT; payload = 1; break;
			case 0xcd: kind = K_UINT; payload = 2; break;
			case 0xce: kind = K_UINT; payload = 4; break;
			case 0xcf: kind = K_UINT; payload = 8; break;
			case 0xd0: kind = K_INT; payload = 1; break;
			case 0xd1: kind = K_INT; payload = 2; break;
			case 0xd2: kind = K_INT; payload = 4; break;
			case 0xd3: kind = K_INT; payload = 8; break;
			case 0xd4: kind = K_EXT; payload = 2; break; /* fixext 1..16: type + data */
			case 0xd5: kind = K_EXT; payload = 3; break;
			case 0xd6: kind = K_EXT; payload = 5; break;
			case 0xd7: kind = K_EXT; payload = 9; break;
			case 0xd8: kind = K_EXT; payload = 17; break;
			case 0xd9: kind = K_STR; lenbytes = 1; break;
			case 0xda: kind = K_STR; lenbytes = 2; break;
			case 0xdb: kind = K_STR; lenbytes = 4; break;
			case 0xdc: kind = K_ARRAY; lenbytes = 2; break;
			case 0xdd: kind = K_ARRAY; lenbytes = 4; break;
			case 0xde: kind = K_MAP; lenbytes = 2; break;
			case 0xdf: kind = K_MAP; lenbytes = 4; break;
			default: /* 0xc1, never used */
				s->bad_byte = (unsigned char)b;
				res = SCAN_MALFORMED;
				goto out;
			}
		}
		if (lenbytes) {
			head += lenbytes;
			if (avail - pos < head) {
				res = SCAN_MORE;
				break;
			}
			uint64_t len = be_read(p + pos + 1, lenbytes);
			if (kind == K_ARRAY || kind == K_MAP)
				children = len;
			else
				payload += len;
		}
		if (kind == K_MAP)
			children *= 2;
		uint64_t size = head + payload;
		/* Every child needs at least one byte and one msgpack_object: refuse now what cannot fit. */
		uint64_t need = pos + size + children + (items + 1 + children) * sizeof(msgpack_object);
		if (need > MAX_OBJECT_MEMORY) {
			res = SCAN_TOO_BIG;
			break;
		}
		if (size > avail - pos) {
			res = SCAN_MORE;
			break;
		}
		if ((kind == K_ARRAY || kind == K_MAP) && depth >= MAX_DEPTH) {
			res = SCAN_TOO_DEEP;
			break;
		}
		msgpack_object *o = NULL;
		if (z) {
			/* The root, or the next element of the innermost container (a map's key/value pairs
			 * are consecutive msgpack_objects: msgpack_object_kv is {key, val}). */
			o = depth ? s->next[depth - 1]++ : root;
			if (decode_item(o, kind, p + pos, head, size, children, z) != 0) {
				res = SCAN_NOMEM;
				break;
			}
		}
		pos += (size_t)size;
		items++;
		if (children) {
			s->left[depth] = children;
			if (z)
				s->next[depth] = kind == K_ARRAY ? o->via.array.ptr
								 : (msgpack_object *)(void *)o->via.map.ptr;
			depth++;
			continue;
		}
		/* A complete item: close every container it completes. */
		while (depth > 0 && --s->left[depth - 1] == 0)
			depth--;
		if (depth == 0) {
			res = SCAN_DONE;
			break;
		}
	}
out:
	s->pos = pos;
	s->items = items;
	s->depth = depth;
	return res;
}

enum { STATE_READING, STATE_END, STATE_FAILED };

/* A flat record's layout (flat_map_size): len bytes, of which those under mask hold pattern. */
#define SHAPE_MAX 128
struct raw_shape {
	size_t len, words; /* len 0: none yet */
	unsigned char mask[SHAPE_MAX], pattern[SHAPE_MAX];
};

struct stream_reader {
	FILE *f;
	int fd;          /* >= 0: read(2) directly, so a pipe's pieces are used as they arrive */
	char *name;
	unsigned char *buf;
	size_t cap, start, end; /* unparsed bytes are buf[start, end) */
	uint64_t base;   /* stream offset of buf[0] */
	int eof;
	int filled;      /* the last read filled all the room it was given */
	struct scan_state scan;
	msgpack_zone zone; /* the current record's; cleared by each sr_next */
	int zone_used;
	int raw_valid;     /* sr_next_raw's record is buf[raw_at, raw_at + raw_len) */
	size_t raw_at, raw_len;
	struct raw_shape raw_shape; /* the layout of sr_next_raw's last flat record */
	char *header_bytes;
	msgpack_zone *header_zone;
	msgpack_object header;
	char *kind;
	int version;
	uint64_t records;
	int state;     /* STATE_* */
	int err_code;  /* LFM_EXIT_DATA or LFM_EXIT_IO once failed */
	char err[ERR_SIZE];
};

/* Bytes a glibc FILE has buffered but not yet handed out (what gnulib's freadahead computes), or
 * SIZE_MAX where the FILE is opaque. */
static size_t stdio_buffered(FILE *f)
{
#if defined(__GLIBC__)
	size_t n = (size_t)(f->_IO_read_end - f->_IO_read_ptr);
	if (f->_flags & _IO_IN_BACKUP)
		n += (size_t)(f->_IO_save_end - f->_IO_save_base);
	return n;
#else
	(void)f;
	return SIZE_MAX;
#endif
}

static void reader_fail(stream_reader *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void reader_fail(stream_reader *r, int code, const char *fmt, ...)
{
	int n = snprintf(r->err, sizeof r->err, "%s: ", r->name);
	if (n < 0 || (size_t)n >= sizeof r->err)
		n = 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err + n, sizeof r->err - (size_t)n, fmt, ap);
	va_end(ap);
	r->state = STATE_FAILED;
	r->err_code = code;
}

/* Read more bytes into the buffer; sets eof at the end of input. Returns 0, or -1 on a read error. */
static int reader_fill(stream_reader *r)
{
	if (r->start > 0 && (r->cap - r->end < READ_MIN_SPACE || r->start == r->end)) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->base += r->start;
		r->end -= r->start;
		r->start = 0;
	}
	if (r->end == r->cap || (r->filled && r->cap < READ_BUFFER_SIZE)) {
		/* Input arrives faster than this buffer takes it, or the current object is larger than the
		 * buffer (the scanner's size limit bounds how far that goes). */
		size_t cap = r->cap * 2;
		unsigned char *b = realloc(r->buf, cap);
		if (!b) {
			reader_fail(r, LFM_EXIT_IO, "out of memory growing the read buffer to %zu bytes", cap);
			return -1;
		}
		r->buf = b;
		r->cap = cap;
	}
	size_t want = r->cap - r->end;
	if (r->fd >= 0) {
		ssize_t got;
		do
			got = read(r->fd, r->buf + r->end, want);
		while (got < 0 && errno == EINTR);
		if (got < 0) {
			reader_fail(r, LFM_EXIT_IO, "read error: %s", strerror(errno));
			return -1;
		}
		if (got == 0)
			r->eof = 1;
		r->end += (size_t)got;
		r->filled = (size_t)got == want;
		return 0;
	}
	size_t got = fread(r->buf + r->end, 1, want, r->f);
	r->end += got;
	r->filled = got == want;
	if (got < want) {
		if (ferror(r->f)) {
			reader_fail(r, LFM_EXIT_IO, "read error: %s", strerror(errno));
			return -1;
		}
		r->eof = 1;
	}
	return 0;
}

/* "record 12", or "the stream header" for record 0 (only formatted for messages: it costs). */
static const char *describe(char *buf, size_t n, uint64_t record)
{
	if (record == 0)
		return "the stream header";
	snprintf(buf, n, "record %" PRIu64, record);
	return buf;
}

/* Read the next object: 1 with *len its size (at buf + start) and, when z is given, the object decoded
 * into *out with its containers in z; 0 at a clean end of input; -1 on failure (message set).
 * record: its number for messages, 0 for the header. */
static int reader_next_object(stream_reader *r, msgpack_zone *z, msgpack_object *out, uint64_t record,
			      size_t *len)
{
	struct scan_state *s = &r->scan;
	char whatbuf[40];
	memset(s, 0, offsetof(struct scan_state, left));
	/* Usually the whole object is in the buffer already: decode it in one pass. If not, the same walk
	 * goes on as a scan while bytes arrive, and the object is decoded once it is complete. */
	enum scan_result res = scan_object(s, r->buf + r->start, r->end - r->start, z, out);
	int decoded = res == SCAN_DONE && z;
	while (res == SCAN_MORE) {
		if (r->eof) {
			if (r->end == r->start)
				return 0;
			reader_fail(r, LFM_EXIT_DATA, "truncated inside %s (%zu bytes of it, then end of input)",
				    describe(whatbuf, sizeof whatbuf, record), r->end - r->start);
			return -1;
		}
		if (reader_fill(r) != 0)
			return -1;
		res = scan_object(s, r->buf + r->start, r->end - r->start, NULL, NULL);
	}
	const char *what = res == SCAN_DONE ? "" : describe(whatbuf, sizeof whatbuf, record);
	uint64_t at = r->base + r->start + s->pos;
	switch (res) {
	case SCAN_DONE:
		break;
	case SCAN_MORE: /* handled above */
	case SCAN_MALFORMED:
		reader_fail(r, LFM_EXIT_DATA, "malformed msgpack %s%s (byte 0x%02x at offset %" PRIu64 ")",
			    record ? "at " : "in ", what, s->bad_byte, at);
		return -1;
	case SCAN_TOO_BIG:
		reader_fail(r, LFM_EXIT_DATA,
			    "%s is too large (over %zu MiB in memory; a corrupt length at offset %" PRIu64 "?)", what,
			    MAX_OBJECT_MEMORY >> 20, at);
		return -1;
	case SCAN_TOO_DEEP:
		reader_fail(r, LFM_EXIT_DATA, "%s nests deeper than %d levels (offset %" PRIu64 ")", what,
			    MAX_DEPTH, at);
		return -1;
	case SCAN_NOMEM:
		reader_fail(r, LFM_EXIT_IO, "out of memory decoding %s", what);
		return -1;
	}
	*len = s->pos;
	if (z && !decoded) {
		msgpack_zone_clear(z); /* whatever the first, partial decode allocated */
		memset(s, 0, offsetof(struct scan_state, left));
		if (scan_object(s, r->buf + r->start, *len, z, out) != SCAN_DONE) {
			reader_fail(r, LFM_EXIT_IO, "out of memory decoding %s",
				    describe(whatbuf, sizeof whatbuf, record));
			return -1;
		}
	}
	return 1;
}

static const char *type_name(const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: return "nil";
	case MSGPACK_OBJECT_BOOLEAN: return "a boolean";
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "an integer";
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: return "a float";
	case MSGPACK_OBJECT_STR: return "a string";
	case MSGPACK_OBJECT_BIN: return "binary data";
	case MSGPACK_OBJECT_ARRAY: return "an array";
	case MSGPACK_OBJECT_MAP: return "a map";
	case MSGPACK_OBJECT_EXT: return "an ext value";
	}
	return "an unknown object";
}

/* s[0..n) made safe to print in a message: printable ASCII kept, the rest as \xNN, at most ~48 chars. */
static void printable(char *out, size_t outsz, const char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 8 < outsz; i++) {
		unsigned char c = (unsigned char)s[i];
		if (o > 48) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", c);
	}
	out[o] = 0;
}

static int kind_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '-' || c == '+';
}

/* Split "KIND/VERSION"; kind is [A-Za-z0-9._+-]+, VERSION a positive decimal without leading zeros. */
static int parse_format(const char *s, size_t n, char **kind, int *version)
{
	size_t slash = n;
	while (slash > 0 && s[slash - 1] != '/')
		slash--;
	if (slash < 2 || slash == n)
		return -1;
	size_t klen = slash - 1;
	for (size_t i = 0; i < klen; i++)
		if (!kind_char(s[i]))
			return -1;
	if (s[slash] == '0' || n - slash > 9)
		return -1;
	int v = 0;
	for (size_t i = slash; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*kind = xmalloc(klen + 1);
	memcpy(*kind, s, klen);
	(*kind)[klen] = 0;
	*version = v;
	return 0;
}

static int reader_read_header(stream_reader *r, const char *kind, int max_version)
{
	size_t len;
	int got = reader_next_object(r, NULL, NULL, 0, &len);
	if (got < 0)
		return -1;
	if (got == 0) {
		reader_fail(r, LFM_EXIT_DATA, "empty input (no stream header)");
		return -1;
	}
	/* The header outlives the read buffer's reuse: give it its own bytes and zone. */
	r->header_bytes = xmalloc(len);
	memcpy(r->header_bytes, r->buf + r->start, len);
	r->start += len;
	r->header_zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
	struct scan_state hs;
	memset(&hs, 0, offsetof(struct scan_state, left));
	if (!r->header_zone || scan_object(&hs, (const unsigned char *)r->header_bytes, len, r->header_zone,
					   &r->header) != SCAN_DONE) {
		reader_fail(r, LFM_EXIT_IO, "out of memory reading the stream header");
		return -1;
	}
	if (r->header.type != MSGPACK_OBJECT_MAP) {
		reader_fail(r, LFM_EXIT_DATA, "not an lfm stream (first object is %s, expected a header map)",
			    type_name(&r->header));
		return -1;
	}
	const msgpack_object *fmt = mp_map_get(&r->header, "format");
	if (!fmt) {
		reader_fail(r, LFM_EXIT_DATA, "not an lfm stream (the header map has no \"format\" entry)");
		return -1;
	}
	if (fmt->type != MSGPACK_OBJECT_STR) {
		reader_fail(r, LFM_EXIT_DATA,
			    "not an lfm stream (header \"format\" is %s, expected a string like \"lfm.samples/1\")",
			    type_name(fmt));
		return -1;
	}
	if (parse_format(fmt->via.str.ptr, fmt->via.str.size, &r->kind, &r->version) != 0) {
		char shown[64];
		printable(shown, sizeof shown, fmt->via.str.ptr, fmt->via.str.size);
		reader_fail(r, LFM_EXIT_DATA, "not an lfm stream (header format \"%s\" is not KIND/VERSION)",
			    shown);
		return -1;
	}
	if (kind && strcmp(kind, r->kind) != 0) {
		reader_fail(r, LFM_EXIT_DATA, "stream is %s/%d, expected %s", r->kind, r->version, kind);
		return -1;
	}
	if (r->version > max_version) {
		reader_fail(r, LFM_EXIT_DATA, "%s/%d is newer than this tool understands (up to version %d)",
			    r->kind, r->version, max_version);
		return -1;
	}
	return 0;
}

static stream_reader *reader_open(FILE *f, const char *name, const char *kind, int max_version, char *err,
				  size_t errsz, int *code)
{
	stream_reader *r = xcalloc(1, sizeof *r);
	r->f = f;
	r->name = xstrdup(name ? name : "input");
	int fd = fileno(f);
	r->fd = fd >= 0 && stdio_buffered(f) == 0 ? fd : -1;
	widen_pipe(fd);
	r->cap = READ_BUFFER_START;
	r->buf = xmalloc(r->cap);
	if (!msgpack_zone_init(&r->zone, MSGPACK_ZONE_CHUNK_SIZE))
		die(LFM_EXIT_IO, "out of memory");
	if (reader_read_header(r, kind, max_version) != 0) {
		if (err && errsz)
			snprintf(err, errsz, "%s", r->err);
		*code = r->err_code;
		sr_close(r);
		return NULL;
	}
	r->state = STATE_READING;
	return r;
}

stream_reader *sr_open(FILE *f, const char *name, const char *kind, int max_version, char *err,
		       size_t errsz)
{
	int code;
	return reader_open(f, name, kind, max_version, err, errsz, &code);
}

stream_reader *sr_open_or_die(FILE *f, const char *name, const char *kind, int max_version)
{
	char err[ERR_SIZE];
	int code = LFM_EXIT_DATA;
	stream_reader *r = reader_open(f, name, kind, max_version, err, sizeof err, &code);
	if (!r)
		die(code, "%s", err);
	return r;
}

const msgpack_object *sr_header(const stream_reader *r) { return &r->header; }
const char *sr_kind(const stream_reader *r) { return r->kind; }
int sr_version(const stream_reader *r) { return r->version; }
const char *sr_error(const stream_reader *r) { return r->err; }
uint64_t sr_records_read(const stream_reader *r) { return r->records; }

int sr_next(stream_reader *r, msgpack_object *out)
{
	r->raw_valid = 0;
	if (r->state != STATE_READING)
		return r->state == STATE_END ? 0 : -1;
	if (r->zone_used) {
		msgpack_zone_clear(&r->zone); /* the previous record ends here (stream.h's ownership rule) */
		r->zone_used = 0;
	}
	size_t len;
	r->zone_used = 1;
	int got = reader_next_object(r, &r->zone, out, r->records + 1, &len);
	if (got == 0)
		r->state = STATE_END;
	if (got <= 0)
		return got;
	r->start += len;
	r->records++;
	return 1;
}

int sr_next_or_die(stream_reader *r, msgpack_object *out)
{
	int got = sr_next(r, out);
	if (got < 0)
		die(r->err_code, "%s", r->err);
	return got;
}

/* Encoded size of an item that is a scalar whose size its type byte alone gives (fixint, nil, booleans,
 * fixstr, numbers, fixext), or 0 for anything else (containers, and items with a length field). */
static const unsigned char scalar_size[256] = {
#define R8(x) x, x, x, x, x, x, x, x
	R8(1), R8(1), R8(1), R8(1), R8(1), R8(1), R8(1), R8(1), R8(1), R8(1), R8(1), R8(1), R8(1), R8(1),
	R8(1), R8(1),                 /* 0x00 - 0x7f positive fixint */
	R8(0), R8(0), R8(0), R8(0),   /* 0x80 - 0x9f fixmap, fixarray */
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, /* 0xa0 - 0xbf fixstr: 1 + length */
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
	1, 0, 1, 1,                   /* 0xc0 nil, 0xc1 never used, 0xc2 false, 0xc3 true */
	0, 0, 0, 0, 0, 0,             /* 0xc4 - 0xc9 bin 8/16/32, ext 8/16/32 */
	5, 9,                         /* 0xca float 32, 0xcb float 64 */
	2, 3, 5, 9, 2, 3, 5, 9,       /* 0xcc - 0xd3 uint 8 - 64, int 8 - 64 */
	3, 4, 6, 10, 18,              /* 0xd4 - 0xd8 fixext 1 - 16 */
	0, 0, 0, 0, 0, 0, 0,          /* 0xd9 - 0xdf str 8/16/32, array 16/32, map 16/32 */
	R8(1), R8(1), R8(1), R8(1),   /* 0xe0 - 0xff negative fixint */
#undef R8
};

/* The size of the object at p[0..avail) when it is a fixmap of such scalars complete in the buffer (what
 * every record of the pairs and plan streams is), else 0. Such an object is tiny and one level deep, so
 * scan_object would accept it with this same size: this is only a faster way to the same answer.
 * Walking item by item is a chain of dependent loads (each item's place depends on the size of the one
 * before), ~30 ns for a pairs record; but records of a stream mostly share their layout, and a record
 * whose type bytes (only the type: a fixint's value bits masked off) sit at the same offsets as the last
 * one's has its size, by induction over its items. So the last layout is kept as a byte mask and
 * pattern and a record is first compared with it a word at a time (~6 ns). */
static size_t flat_map_size(struct raw_shape *sh, const unsigned char *p, size_t avail)
{
	if (sh->len && sh->words * 8 <= avail) {
		uint64_t diff = 0;
		for (size_t k = 0; k < sh->words; k++) {
			uint64_t w, m, t;
			memcpy(&w, p + 8 * k, 8);
			memcpy(&m, sh->mask + 8 * k, 8);
			memcpy(&t, sh->pattern + 8 * k, 8);
			diff |= (w & m) ^ t;
		}
		if (diff == 0)
			return sh->len;
	}
	sh->len = 0;
	if (avail == 0 || (p[0] & 0xf0) != 0x80)
		return 0;
	memset(sh->mask, 0, sizeof sh->mask);
	memset(sh->pattern, 0, sizeof sh->pattern);
	sh->mask[0] = 0xff;
	sh->pattern[0] = p[0];
	size_t pos = 1;
	for (unsigned items = 2 * (p[0] & 0x0f); items > 0; items--) {
		if (pos >= avail)
			return 0;
		unsigned b = p[pos], n = scalar_size[b];
		if (n == 0)
			return 0;
		if (pos < SHAPE_MAX) {
			unsigned m = b < 0x80 ? 0x80 : b >= 0xe0 ? 0xe0 : 0xff; /* fixints: the type bits only */
			sh->mask[pos] = (unsigned char)m;
			sh->pattern[pos] = (unsigned char)(b & m);
		}
		pos += n;
	}
	if (pos > avail)
		return 0;
	if (pos <= SHAPE_MAX) {
		sh->len = pos;
		sh->words = (pos + 7) / 8;
	}
	return pos;
}

int sr_next_raw(stream_reader *r, const unsigned char **data, size_t *len)
{
	r->raw_valid = 0;
	if (r->state != STATE_READING)
		return r->state == STATE_END ? 0 : -1;
	if (r->zone_used) {
		msgpack_zone_clear(&r->zone);
		r->zone_used = 0;
	}
	size_t n = flat_map_size(&r->raw_shape, r->buf + r->start, r->end - r->start);
	if (n == 0) {
		int got = reader_next_object(r, NULL, NULL, r->records + 1, &n);
		if (got == 0)
			r->state = STATE_END;
		if (got <= 0)
			return got;
	}
	r->raw_valid = 1;
	r->raw_at = r->start;
	r->raw_len = n;
	*data = r->buf + r->start;
	*len = n;
	r->start += n;
	r->records++;
	return 1;
}

int sr_next_raw_or_die(stream_reader *r, const unsigned char **data, size_t *len)
{
	int got = sr_next_raw(r, data, len);
	if (got < 0)
		die(r->err_code, "%s", r->err);
	return got;
}

int sr_decode_raw(stream_reader *r, msgpack_object *out)
{
	if (!r->raw_valid) {
		reader_fail(r, LFM_EXIT_IO, "sr_decode_raw: no record from sr_next_raw to decode");
		return -1;
	}
	if (r->zone_used)
		msgpack_zone_clear(&r->zone);
	r->zone_used = 1;
	struct scan_state *s = &r->scan;
	memset(s, 0, offsetof(struct scan_state, left));
	if (scan_object(s, r->buf + r->raw_at, r->raw_len, &r->zone, out) != SCAN_DONE ||
	    s->pos != r->raw_len) {
		char whatbuf[40];
		reader_fail(r, LFM_EXIT_IO, "out of memory decoding %s",
			    describe(whatbuf, sizeof whatbuf, r->records));
		return -1;
	}
	return 0;
}

void sr_close(stream_reader *r)
{
	if (!r)
		return;
	msgpack_zone_destroy(&r->zone);
	if (r->header_zone)
		msgpack_zone_free(r->header_zone);
	free(r->header_bytes);
	free(r->kind);
	free(r->buf);
	free(r->name);
	free(r);
}

/* ================================ maps ================================ */

static int key_is(const msgpack_object *k, const char *key, size_t n)
{
	return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && memcmp(k->via.str.ptr, key, n) == 0;
}

const msgpack_object *mp_map_get(const msgpack_object *map, const char *key)
{
	if (!map || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	size_t n = strlen(key);
	for (uint32_t i = 0; i < map->via.map.size; i++)
		if (key_is(&map->via.map.ptr[i].key, key, n))
			return &map->via.map.ptr[i].val;
	return NULL;
}

int mp_get_int(const msgpack_object *map, const char *key, int64_t *out)
{
	const msgpack_object *v = mp_map_get(map, key);
	if (!v)
		return -1;
	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= (uint64_t)INT64_MAX) {
		*out = (int64_t)v->via.u64;
		return 0;
	}
	if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*out = v->via.i64;
		return 0;
	}
	return -1;
}

int mp_get_f64(const msgpack_object *map, const char *key, double *out)
{
	const msgpack_object *v = mp_map_get(map, key);
	if (!v)
		return -1;
	switch (v->type) {
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: *out = v->via.f64; return 0;
	case MSGPACK_OBJECT_POSITIVE_INTEGER: *out = (double)v->via.u64; return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: *out = (double)v->via.i64; return 0;
	default: return -1;
	}
}

char *mp_get_str(const msgpack_object *map, const char *key)
{
	const msgpack_object *v = mp_map_get(map, key);
	if (!v || v->type != MSGPACK_OBJECT_STR || memchr(v->via.str.ptr, 0, v->via.str.size))
		return NULL; /* an embedded NUL would silently shorten the C string */
	char *s = xmalloc((size_t)v->via.str.size + 1);
	memcpy(s, v->via.str.ptr, v->via.str.size);
	s[v->via.str.size] = 0;
	return s;
}

int mp_str_eq(const msgpack_object *o, const char *s)
{
	return o && key_is(o, s, strlen(s));
}

/* ================================ JSON ================================ */

static void write_base64(FILE *f, const char *data, size_t n)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)data;
	char quad[4];
	fputc('"', f);
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		quad[0] = alphabet[v >> 18 & 63];
		quad[1] = alphabet[v >> 12 & 63];
		quad[2] = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
		quad[3] = i + 2 < n ? alphabet[v & 63] : '=';
		fwrite(quad, 1, 4, f);
	}
	fputc('"', f);
}

/* The shortest decimal that reads back as the same float (is_f32) or double; "1.0" rather than "1", so
 * the reader still sees a float. NaN and infinities, which JSON lacks, become the strings "NaN",
 * "Infinity" and "-Infinity". */
static void write_float(FILE *f, double v, int is_f32)
{
	if (isnan(v)) {
		fputs("\"NaN\"", f);
		return;
	}
	if (isinf(v)) {
		fputs(v > 0 ? "\"Infinity\"" : "\"-Infinity\"", f);
		return;
	}
	char s[40];
	format_shortest(s, sizeof s, v, is_f32 ? DT_F32 : DT_F64);
	fputs(s, f);
	if (!strpbrk(s, ".e"))
		fputs(".0", f);
}

static void write_json(FILE *f, const msgpack_object *o);

/* The JSON text of a non-string key is kept up to KEY_TEXT_MAX bytes, then "..." marks the cut: each
 * level of keys inside keys escapes the quotes and backslashes of the level below again, doubling the
 * text, so 32 levels of maps used as keys (a few hundred bytes of input) would otherwise need 2^32 bytes
 * and as many steps. */
#define KEY_TEXT_MAX ((size_t)64 << 10)

struct capped_text {
	char *buf; /* KEY_TEXT_MAX + 3 bytes */
	size_t len;
	int cut;
};

static ssize_t capped_write(void *cookie, const char *p, size_t n)
{
	struct capped_text *c = cookie;
	size_t room = KEY_TEXT_MAX - c->len, take = n < room ? n : room;
	memcpy(c->buf + c->len, p, take);
	c->len += take;
	c->cut |= take < n;
	return (ssize_t)n; /* the rest is dropped, not an error */
}

/* A map key as a JSON string: strings as they are, binary as base64, anything else as its JSON text. */
static void write_key(FILE *f, const msgpack_object *k)
{
	if (k->type == MSGPACK_OBJECT_STR) {
		json_write_string(f, k->via.str.ptr, k->via.str.size);
		return;
	}
	if (k->type == MSGPACK_OBJECT_BIN) {
		write_base64(f, k->via.bin.ptr, k->via.bin.size);
		return;
	}
	struct capped_text c = {xmalloc(KEY_TEXT_MAX + 3), 0, 0};
	FILE *m = fopencookie(&c, "w", (cookie_io_functions_t){.write = capped_write});
	if (!m)
		die(LFM_EXIT_IO, "out of memory writing JSON");
	write_json(m, k);
	if (fclose(m) != 0)
		die(LFM_EXIT_IO, "out of memory writing JSON");
	if (c.cut) {
		memcpy(c.buf + c.len, "...", 3);
		c.len += 3;
	}
	json_write_string(f, c.buf, c.len);
	free(c.buf);
}

static void write_json(FILE *f, const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: fputs("null", f); return;
	case MSGPACK_OBJECT_BOOLEAN: fputs(o->via.boolean ? "true" : "false", f); return;
	case MSGPACK_OBJECT_POSITIVE_INTEGER: fprintf(f, "%" PRIu64, o->via.u64); return;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: fprintf(f, "%" PRId64, o->via.i64); return;
	case MSGPACK_OBJECT_FLOAT32: write_float(f, o->via.f64, 1); return;
	case MSGPACK_OBJECT_FLOAT64: write_float(f, o->via.f64, 0); return;
	case MSGPACK_OBJECT_STR: json_write_string(f, o->via.str.ptr, o->via.str.size); return;
	case MSGPACK_OBJECT_BIN: write_base64(f, o->via.bin.ptr, o->via.bin.size); return;
	case MSGPACK_OBJECT_ARRAY:
		fputc('[', f);
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i)
				fputc(',', f);
			write_json(f, &o->via.array.ptr[i]);
		}
		fputc(']', f);
		return;
	case MSGPACK_OBJECT_MAP:
		fputc('{', f);
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			if (i)
				fputc(',', f);
			write_key(f, &o->via.map.ptr[i].key);
			fputc(':', f);
			write_json(f, &o->via.map.ptr[i].val);
		}
		fputc('}', f);
		return;
	case MSGPACK_OBJECT_EXT:
		fprintf(f, "{\"ext\":%d,\"data\":", (int)o->via.ext.type);
		write_base64(f, o->via.ext.ptr, o->via.ext.size);
		fputc('}', f);
		return;
	}
	fputs("null", f); /* no other type exists; keep the output valid JSON regardless */
}

void mp_write_json(FILE *f, const msgpack_object *o) { write_json(f, o); }
