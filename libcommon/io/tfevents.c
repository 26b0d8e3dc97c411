/* tfevents.c — see tfevents.h. */
#include "io/tfevents.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/crc32c.h"
#include "base/errors.h"

/* ---- encoding ---- */

uint32_t tfrecord_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

uint32_t tfrecord_masked_crc(const void *data, size_t n) { return tfrecord_mask(crc32c(0, data, n)); }

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

void tfrecord_frame(const void *data, size_t n, unsigned char head[12], unsigned char tail[4])
{
	put_le(head, (uint64_t)n, 8);
	put_le(head + 8, tfrecord_masked_crc(head, 8), 4);
	put_le(tail, tfrecord_masked_crc(data, n), 4);
}

/* A protobuf writer that counts every byte and stores those that fit (the snprintf rule). */
typedef struct pb {
	unsigned char *out;
	size_t cap, len;
} pb;

static void pb_byte(pb *b, unsigned v)
{
	if (b->len < b->cap)
		b->out[b->len] = (unsigned char)v;
	b->len++;
}

static void pb_varint(pb *b, uint64_t v)
{
	while (v >= 0x80) {
		pb_byte(b, (unsigned)(v & 0x7f) | 0x80);
		v >>= 7;
	}
	pb_byte(b, (unsigned)v);
}

static size_t varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

enum { WIRE_VARINT = 0, WIRE_64 = 1, WIRE_LEN = 2, WIRE_32 = 5 };

static void pb_key(pb *b, int field, int wire) { pb_varint(b, (uint64_t)field << 3 | (uint64_t)wire); }

static void pb_fixed(pb *b, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		pb_byte(b, (unsigned)(v >> (8 * i)) & 0xff);
}

static void pb_double(pb *b, int field, double v)
{
	uint64_t u;
	memcpy(&u, &v, 8);
	if (u == 0) /* proto3: a zero scalar outside a oneof is not written */
		return;
	pb_key(b, field, WIRE_64);
	pb_fixed(b, u, 8);
}

static void pb_bytes(pb *b, int field, const void *p, size_t n)
{
	pb_key(b, field, WIRE_LEN);
	pb_varint(b, n);
	for (size_t i = 0; i < n; i++)
		pb_byte(b, ((const unsigned char *)p)[i]);
}

/* Event's first two fields. int64 steps are varints of their two's complement (ten bytes when negative). */
static void event_head(pb *b, double wall_time, int64_t step)
{
	pb_double(b, 1, wall_time);
	if (step != 0) {
		pb_key(b, 2, WIRE_VARINT);
		pb_varint(b, (uint64_t)step);
	}
}

size_t tfevents_encode_version(unsigned char *out, size_t cap, double wall_time)
{
	pb b = {out, cap, 0};
	static const char version[] = "brain.Event:2";
	event_head(&b, wall_time, 0);
	pb_bytes(&b, 3, version, sizeof version - 1);
	return b.len;
}

size_t tfevents_encode_start(unsigned char *out, size_t cap, double wall_time, int64_t step)
{
	pb b = {out, cap, 0};
	event_head(&b, wall_time, step);
	pb_key(&b, 7, WIRE_LEN); /* session_log: SessionLog { status = START (1) } */
	pb_varint(&b, 2);
	pb_key(&b, 1, WIRE_VARINT);
	pb_varint(&b, 1);
	return b.len;
}

size_t tfevents_encode_scalar(unsigned char *out, size_t cap, double wall_time, int64_t step, const char *tag,
			      float value)
{
	pb b = {out, cap, 0};
	size_t tn = strlen(tag);
	/* Value { tag = 1 (when not empty); simple_value = 2 (a oneof member: written even when 0) } */
	size_t value_len = (tn ? 1 + varint_size(tn) + tn : 0) + 1 + 4;
	size_t summary_len = 1 + varint_size(value_len) + value_len;
	event_head(&b, wall_time, step);
	pb_key(&b, 5, WIRE_LEN);
	pb_varint(&b, summary_len);
	pb_key(&b, 1, WIRE_LEN);
	pb_varint(&b, value_len);
	if (tn)
		pb_bytes(&b, 1, tag, tn);
	uint32_t u;
	memcpy(&u, &value, 4);
	pb_key(&b, 2, WIRE_32);
	pb_fixed(&b, u, 4);
	return b.len;
}

/* ---- writing ---- */

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* mkdir -p: each missing component in turn; an existing non-folder is refused by the caller's stat. */
static int make_dirs(const char *dir, char *err, size_t errsz)
{
	char *p = xstrdup(dir);
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != 0)
			continue;
		char c = *s;
		*s = 0;
		if (mkdir(p, 0777) != 0 && errno != EEXIST) {
			int e = errno;
			int rc = err_set(err, errsz, "%s: cannot create the folder: %s", p, strerror(e));
			free(p);
			return rc;
		}
		*s = c;
		if (c == 0)
			break;
	}
	free(p);
	return 0;
}

typedef struct event_args {
	double wall;
	int64_t step;
	const char *tag; /* NULL: the version Event */
	float value;
	int start;       /* the SessionLog START Event */
} event_args;

static size_t encode(const event_args *a, unsigned char *out, size_t cap)
{
	if (a->start)
		return tfevents_encode_start(out, cap, a->wall, a->step);
	if (!a->tag)
		return tfevents_encode_version(out, cap, a->wall);
	return tfevents_encode_scalar(out, cap, a->wall, a->step, a->tag, a->value);
}

/* One Event as one record: frame and data in one buffer, so one write(2) carries it. */
static int put_event(tfevents_writer *w, const event_args *a, char *err, size_t errsz)
{
	if (!w->path)
		return err_set(err, errsz, "tensorboard: the event file is not open");
	size_t n = encode(a, NULL, 0);
	unsigned char stack[512], *rec = n + 16 <= sizeof stack ? stack : xmalloc(n + 16);
	encode(a, rec + 12, n);
	tfrecord_frame(rec + 12, n, rec, rec + 12 + n);
	int rc = write_full(w->fd, rec, n + 16), e = errno;
	if (rec != stack)
		free(rec);
	if (rc)
		return err_set(err, errsz, "%s: write error: %s", w->path, strerror(e));
	return 0;
}

int tfevents_open(tfevents_writer *w, const char *dir, char *err, size_t errsz)
{
	w->fd = -1;
	w->path = NULL;
	if (!dir || !*dir)
		return err_set(err, errsz, "--tensorboard: an empty folder name");
	struct stat st;
	if (stat(dir, &st) != 0) {
		if (errno != ENOENT)
			return err_set(err, errsz, "%s: cannot use it as the event files' folder: %s", dir, strerror(errno));
		if (make_dirs(dir, err, errsz))
			return -1;
	} else if (!S_ISDIR(st.st_mode)) {
		return err_set(err, errsz, "%s: not a folder (--tensorboard names the folder the event files go in)", dir);
	}
	char host[HOST_NAME_MAX + 1] = "localhost";
	if (gethostname(host, sizeof host) != 0 || !host[0])
		strcpy(host, "localhost");
	host[HOST_NAME_MAX] = 0;
	for (char *c = host; *c; c++) /* a name is one path component */
		if (*c == '/')
			*c = '_';
	double wall = wall_now();
	int dir_len = (int)strlen(dir); /* "runs/" names the file runs/events..., not runs//events... */
	while (dir_len > 1 && dir[dir_len - 1] == '/')
		dir_len--;
	for (int n = 0;; n++) {
		char *path = xasprintf("%.*s/events.out.tfevents.%lld.%s.%ld.%d", dir_len, dir, (long long)wall, host,
				       (long)getpid(), n);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0666);
		if (fd >= 0) {
			w->fd = fd;
			w->path = path;
			break;
		}
		int e = errno;
		if (e == EEXIST && n < 1000) {
			free(path);
			continue;
		}
		int rc = err_set(err, errsz, "%s: cannot create an event file in it: %s", dir, strerror(e));
		free(path);
		return rc;
	}
	event_args a = {.wall = wall};
	if (put_event(w, &a, err, errsz)) {
		close(w->fd);
		unlink(w->path);
		free(w->path);
		w->fd = -1;
		w->path = NULL;
		return -1;
	}
	return 0;
}

int tfevents_scalar(tfevents_writer *w, const char *tag, int64_t step, float value, char *err, size_t errsz)
{
	event_args a = {wall_now(), step, tag, value, 0};
	return put_event(w, &a, err, errsz);
}

int tfevents_start(tfevents_writer *w, int64_t step, char *err, size_t errsz)
{
	event_args a = {wall_now(), step, NULL, 0, 1};
	return put_event(w, &a, err, errsz);
}

int tfevents_close(tfevents_writer *w, char *err, size_t errsz)
{
	if (!w->path)
		return 0;
	int rc = 0;
	if (fsync(w->fd) != 0 && errno != EINVAL && errno != EROFS)
		rc = err_set(err, errsz, "%s: write error: %s", w->path, strerror(errno));
	if (close(w->fd) != 0 && rc == 0)
		rc = err_set(err, errsz, "%s: write error: %s", w->path, strerror(errno));
	free(w->path);
	w->fd = -1;
	w->path = NULL;
	return rc;
}
