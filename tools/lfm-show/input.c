/* input.c — an input read once, whose kind is decided from its first bytes. Pipes cannot be rewound, so
 * the first bytes are kept and handed on: as the start of the whole content (npy, safetensors) or through
 * a FILE* that replays them before the rest (msgpack streams, read in pieces). Regular files are mapped
 * rather than read, so listing a large checkpoint costs little. */
#include "show.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"

static int io_err(char *err, size_t errsz, const char *name, const char *what, int e)
{
	snprintf(err, errsz, "%s: %s%s%s", name, what, e ? ": " : "", e ? strerror(e) : "");
	return LFM_EXIT_IO;
}

int input_open(input *in, const char *path, char *err, size_t errsz)
{
	memset(in, 0, sizeof *in);
	in->path = path;
	int from_stdin = strcmp(path, "-") == 0;
	in->name = from_stdin ? "stdin" : path;
	in->f = from_stdin ? stdin : fopen(path, "rb");
	if (!in->f)
		return io_err(err, errsz, in->name, "cannot open", errno);
	struct stat st;
	if (fstat(fileno(in->f), &st) != 0)
		return io_err(err, errsz, in->name, "cannot stat", errno);
	if (S_ISDIR(st.st_mode))
		return io_err(err, errsz, in->name, "is a directory", 0);
	/* Mapping reads from the start of the file: only right when reading starts there too (standard input
	 * may be a regular file a caller has already partly read). */
	in->regular = S_ISREG(st.st_mode) && lseek(fileno(in->f), 0, SEEK_CUR) == 0;
	in->prefix_len = fread(in->prefix, 1, sizeof in->prefix, in->f);
	if (in->prefix_len < sizeof in->prefix && ferror(in->f))
		return io_err(err, errsz, in->name, "read error", errno);
	return 0;
}

int input_slurp(input *in, char *err, size_t errsz)
{
	if (in->data)
		return 0;
	if (in->regular) {
		/* The file's size now; the mapping is independent of how much stdio has read. */
		struct stat st;
		if (fstat(fileno(in->f), &st) != 0)
			return io_err(err, errsz, in->name, "cannot stat", errno);
		if (st.st_size == 0) {
			in->data = in->prefix;
			in->len = 0;
			return 0;
		}
		if ((uintmax_t)st.st_size > SIZE_MAX)
			return io_err(err, errsz, in->name, "too large to map", 0);
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fileno(in->f), 0);
		if (m == MAP_FAILED)
			return io_err(err, errsz, in->name, "cannot map", errno);
		in->map = m;
		in->map_len = (size_t)st.st_size;
		in->data = m;
		in->len = in->map_len;
		return 0;
	}
	size_t cap = 1 << 16, n = in->prefix_len;
	unsigned char *buf = malloc(cap);
	if (!buf)
		return io_err(err, errsz, in->name, "out of memory", 0);
	memcpy(buf, in->prefix, n);
	for (;;) {
		if (n == cap) {
			unsigned char *bigger = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
			if (!bigger) {
				free(buf);
				return io_err(err, errsz, in->name, "out of memory", 0);
			}
			buf = bigger;
			cap *= 2;
		}
		size_t got = fread(buf + n, 1, cap - n, in->f);
		n += got;
		if (got == 0) {
			if (ferror(in->f)) {
				int e = errno;
				free(buf);
				return io_err(err, errsz, in->name, "read error", e);
			}
			break;
		}
	}
	in->buf = buf;
	in->data = buf;
	in->len = n;
	return 0;
}

/* fopencookie read function: the saved prefix first, then the underlying FILE. */
typedef struct replay {
	input *in;
	size_t pos; /* bytes of the prefix already handed out */
} replay;

static ssize_t replay_read(void *cookie, char *buf, size_t size)
{
	replay *r = cookie;
	if (r->pos < r->in->prefix_len) {
		size_t n = r->in->prefix_len - r->pos;
		if (n > size)
			n = size;
		memcpy(buf, r->in->prefix + r->pos, n);
		r->pos += n;
		return (ssize_t)n;
	}
	size_t got = fread(buf, 1, size, r->in->f);
	if (got == 0 && ferror(r->in->f))
		return -1;
	return (ssize_t)got;
}

static int replay_close(void *cookie)
{
	free(cookie);
	return 0;
}

FILE *input_stream(input *in, char *err, size_t errsz)
{
	replay *r = malloc(sizeof *r);
	if (!r) {
		io_err(err, errsz, in->name, "out of memory", 0);
		return NULL;
	}
	*r = (replay){.in = in, .pos = 0};
	cookie_io_functions_t fns = {.read = replay_read, .close = replay_close};
	FILE *f = fopencookie(r, "rb", fns);
	if (!f) {
		io_err(err, errsz, in->name, "cannot open a stream", errno);
		free(r);
	}
	return f;
}

int input_read_failed(const input *in)
{
	return in->f && ferror(in->f);
}

void input_close(input *in)
{
	if (in->map)
		munmap(in->map, in->map_len);
	free(in->buf);
	if (in->f && in->f != stdin)
		fclose(in->f);
	memset(in, 0, sizeof *in);
}
