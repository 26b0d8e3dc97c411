/* errors.c — see errors.h. */
#include "base/errors.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Process-wide by nature: the message prefix and the list of temporaries to remove if we die. These are
 * the only mutable globals in libcommon; both are set from main() through lfm_init/outfile_open. */
static const char *progname = "lfm";
#define MAX_PENDING 64
static char *pending_tmp[MAX_PENDING];

static void remove_pending(void)
{
	for (int i = 0; i < MAX_PENDING; i++)
		if (pending_tmp[i]) {
			unlink(pending_tmp[i]);
			pending_tmp[i] = NULL;
		}
}

static void on_fatal_signal(int sig)
{
	for (int i = 0; i < MAX_PENDING; i++)
		if (pending_tmp[i])
			unlink(pending_tmp[i]); /* async-signal-safe */
	signal(sig, SIG_DFL);
	raise(sig);
}

void lfm_init(const char *argv0)
{
	if (argv0 && *argv0) {
		const char *slash = strrchr(argv0, '/');
		progname = slash ? slash + 1 : argv0;
	}
	signal(SIGPIPE, SIG_IGN);
	opterr = 0; /* getopt's messages are replaced by opt_bad_option's, prefixed like every other one */
	atexit(remove_pending);
}

const char *lfm_progname(void) { return progname; }

void vwarn(const char *fmt, va_list ap)
{
	int saved = errno;
	fprintf(stderr, "%s: ", progname);
	vfprintf(stderr, fmt, ap);
	size_t n = strlen(fmt);
	if (n && fmt[n - 1] == ':')
		fprintf(stderr, " %s", strerror(saved));
	fputc('\n', stderr);
}

void warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

void die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	exit(code);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die(LFM_EXIT_IO, "out of memory allocating %zu bytes", n);
	return p;
}

void *xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);
	if (!p)
		die(LFM_EXIT_IO, "out of memory allocating %zu x %zu bytes", count, size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		die(LFM_EXIT_IO, "out of memory allocating %zu bytes", n);
	return q;
}

void *xmalloc_array(size_t count, size_t size)
{
	if (size && count > SIZE_MAX / size)
		die(LFM_EXIT_IO, "allocation of %zu x %zu bytes overflows", count, size);
	return xmalloc(count * size);
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xmalloc(n), s, n);
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		die(LFM_EXIT_IO, "formatting failed");
	char *s = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

FILE *xfopen(const char *path, const char *mode)
{
	if (strcmp(path, "-") == 0)
		return mode[0] == 'r' ? stdin : stdout;
	FILE *f = fopen(path, mode);
	if (!f)
		die(LFM_EXIT_IO, "%s:", path);
	return f;
}

void xfread(void *buf, size_t n, FILE *f, const char *name)
{
	size_t got = fread(buf, 1, n, f);
	if (got == n)
		return;
	if (ferror(f))
		die(LFM_EXIT_IO, "%s: read error:", name);
	die(LFM_EXIT_DATA, "%s: truncated (wanted %zu more bytes, got %zu)", name, n, got);
}

size_t xfread_some(void *buf, size_t n, FILE *f, const char *name)
{
	size_t got = fread(buf, 1, n, f);
	if (got < n && ferror(f))
		die(LFM_EXIT_IO, "%s: read error:", name);
	return got;
}

/* The reading end of f's pipe is closed: the write failed with EPIPE, or (when errno has moved on since an
 * earlier failed write) poll reports an error on a FIFO, which Linux does exactly when no reader is left. */
static int reader_gone(FILE *f, int err)
{
	if (err == EPIPE)
		return 1;
	struct stat st;
	int fd = f ? fileno(f) : -1;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode))
		return 0;
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

_Noreturn void die_write_error(FILE *f, const char *name)
{
	int saved = errno;
	if (reader_gone(f, saved))
		exit(LFM_EXIT_OK); /* quietly: the reader has all it wanted; unfinished files are removed at exit */
	errno = saved;
	die(LFM_EXIT_IO, "%s: write error:", name);
}

void xfwrite(const void *buf, size_t n, FILE *f, const char *name)
{
	if (n && fwrite(buf, 1, n, f) != n)
		die_write_error(f, name);
}

void xfclose(FILE *f, const char *name)
{
	int bad = fflush(f) != 0 || ferror(f);
	if (bad)
		die_write_error(f, name); /* errno as the failed write left it */
	if (f == stdin || f == stdout || f == stderr)
		return;
	if (fclose(f) != 0)
		die(LFM_EXIT_IO, "%s: error closing:", name);
}

char *xread_file(const char *path, size_t *len)
{
	FILE *f = xfopen(path, "rb");
	size_t cap = 1 << 16, n = 0;
	char *buf = xmalloc(cap + 1);
	for (;;) {
		size_t got = xfread_some(buf + n, cap - n, f, path);
		n += got;
		if (n < cap && got == 0)
			break;
		if (n == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
	}
	if (f != stdin)
		fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

static void pending_add(char *tmp)
{
	for (int i = 0; i < MAX_PENDING; i++)
		if (!pending_tmp[i]) {
			pending_tmp[i] = tmp;
			return;
		}
	die(LFM_EXIT_IO, "too many output files open at once");
}

static void pending_remove(const char *tmp)
{
	for (int i = 0; i < MAX_PENDING; i++)
		if (pending_tmp[i] == tmp)
			pending_tmp[i] = NULL;
}

void outfile_open(outfile *o, const char *path, const char *mode)
{
	memset(o, 0, sizeof *o);
	if (!path || strcmp(path, "-") == 0) {
		o->f = stdout;
		return;
	}
	/* A device, FIFO or socket (/dev/null, /dev/stdout, a named pipe) is written in place: a temporary
	 * renamed over it would replace the device with a regular file. */
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		o->f = fopen(path, mode);
		if (!o->f)
			die(LFM_EXIT_IO, "%s:", path);
		o->path = NULL;
		o->direct = 1;
		return;
	}
	o->path = xstrdup(path);
	o->tmp = xasprintf("%s.tmp.XXXXXX", path);
	int fd = mkstemp(o->tmp);
	if (fd < 0)
		die(LFM_EXIT_IO, "%s: cannot create temporary file:", path);
	/* Don't let a catch-all signal leave the temporary behind. */
	static int handlers_set;
	if (!handlers_set) {
		handlers_set = 1;
		signal(SIGINT, on_fatal_signal);
		signal(SIGTERM, on_fatal_signal);
		signal(SIGHUP, on_fatal_signal);
	}
	pending_add(o->tmp);
	mode_t mask = umask(0); /* mkstemp makes 0600; outputs get the usual 0666 & ~umask */
	umask(mask);
	fchmod(fd, 0666 & ~mask);
	o->f = fdopen(fd, mode);
	if (!o->f)
		die(LFM_EXIT_IO, "%s:", o->tmp);
}

void outfile_commit(outfile *o)
{
	if (o->direct) {
		xfclose(o->f, "output");
		o->f = NULL;
		o->direct = 0;
		return;
	}
	if (!o->path) {
		xfclose(o->f, "stdout");
		return;
	}
	if (fflush(o->f) != 0 || ferror(o->f) || fsync(fileno(o->f)) != 0)
		die(LFM_EXIT_IO, "%s: write error:", o->path);
	if (fclose(o->f) != 0)
		die(LFM_EXIT_IO, "%s: error closing:", o->path);
	if (rename(o->tmp, o->path) != 0)
		die(LFM_EXIT_IO, "%s: cannot rename %s into place:", o->path, o->tmp);
	pending_remove(o->tmp);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof *o);
}

void outfile_abort(outfile *o)
{
	if (o->direct) {
		fclose(o->f);
		o->f = NULL;
		o->direct = 0;
		return;
	}
	if (!o->path)
		return;
	fclose(o->f);
	unlink(o->tmp);
	pending_remove(o->tmp);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof *o);
}

static void err_vformat(char *err, size_t errsz, const char *fmt, va_list ap)
{
	if (err && errsz)
		vsnprintf(err, errsz, fmt, ap);
}

int err_set(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vformat(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

int err_code(char *err, size_t errsz, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vformat(err, errsz, fmt, ap);
	va_end(ap);
	return code;
}
