/* errors.c — see errors.h. */
#include "base/errors.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Process-wide by nature: the message prefix, the list of temporaries to remove if we die, the files
 * declared for the same-file rule and the step counter of the test hook. These are the only mutable
 * globals in libcommon; all are set from main() through lfm_init, outfile_open and the declarations. */
static const char *progname = "lfm";
static char message_tag[32]; /* "rank 1" in a data-parallel run: "lfm-fit[rank 1]: ..." */
#define MAX_PENDING 64
static char *pending_tmp[MAX_PENDING];
/* A temporary folder an output is assembled in (lfm_temp_dir_track): removed after the files above. */
static char *pending_dir;
static char **pending_dir_files;

static void remove_pending(void)
{
	for (int i = 0; i < MAX_PENDING; i++)
		if (pending_tmp[i]) {
			unlink(pending_tmp[i]);
			pending_tmp[i] = NULL;
		}
	if (pending_dir) {
		rmdir(pending_dir);
		pending_dir = NULL;
	}
}

static void on_fatal_signal(int sig)
{
	for (int i = 0; i < MAX_PENDING; i++)
		if (pending_tmp[i])
			unlink(pending_tmp[i]); /* async-signal-safe, as rmdir is */
	if (pending_dir)
		rmdir(pending_dir);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Don't let a catch-all signal leave a temporary behind. */
static void catch_fatal_signals(void)
{
	static int handlers_set;
	if (!handlers_set) {
		handlers_set = 1;
		signal(SIGINT, on_fatal_signal);
		signal(SIGTERM, on_fatal_signal);
		signal(SIGHUP, on_fatal_signal);
	}
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

void lfm_set_message_tag(const char *tag) { snprintf(message_tag, sizeof message_tag, "%s", tag ? tag : ""); }

void vwarn(const char *fmt, va_list ap)
{
	int saved = errno;
	if (*message_tag)
		fprintf(stderr, "%s[%s]: ", progname, message_tag);
	else
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

int write_full(int fd, const void *p, size_t n)
{
	const char *b = p;
	while (n > 0) {
		ssize_t k = write(fd, b, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = ENOSPC;
			return -1;
		}
		b += k;
		n -= (size_t)k;
	}
	return 0;
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

void lfm_temp_dir_track(const char *dir, const char *const *names)
{
	lfm_temp_dir_keep();
	size_t n = 0;
	while (names[n])
		n++;
	pending_dir_files = xcalloc(n + 1, sizeof *pending_dir_files);
	for (size_t i = 0; i < n; i++) {
		pending_dir_files[i] = xasprintf("%s/%s", dir, names[i]);
		pending_add(pending_dir_files[i]);
	}
	catch_fatal_signals();
	pending_dir = xstrdup(dir);
}

void lfm_temp_dir_keep(void)
{
	if (!pending_dir_files)
		return;
	char *dir = pending_dir;
	pending_dir = NULL; /* first, so a signal now removes nothing more of a folder being put in place */
	for (size_t i = 0; pending_dir_files[i]; i++) {
		pending_remove(pending_dir_files[i]);
		free(pending_dir_files[i]);
	}
	free(pending_dir_files);
	pending_dir_files = NULL;
	free(dir);
}

FILE *membuf_open(membuf *m)
{
	m->text = NULL;
	m->len = 0;
	m->f = open_memstream(&m->text, &m->len);
	if (!m->f)
		die(LFM_EXIT_IO, "cannot allocate memory:");
	return m->f;
}

char *membuf_close(membuf *m)
{
	if (fclose(m->f) != 0)
		die(LFM_EXIT_IO, "cannot allocate memory:");
	m->f = NULL;
	return m->text;
}

/* ---- the same-file rule ------------------------------------------------------------------------ */

/* A declared file: its device and inode, or (not there yet) its folder's and its name. */
typedef struct declared {
	const char *what, *path;
	dev_t dev;
	ino_t ino;
	const char *name; /* NULL: an existing file (dev, ino its own); else the folder's dev, ino + this name */
	char *name_mem;
	int output, in_place, replaceable;
} declared;
#define MAX_DECLARED 64
static declared declared_files[MAX_DECLARED];
static int n_declared;

/* Fill d's identity from path; 0 when the file is not one the rule concerns (a device, FIFO, socket,
 * folder, an unreadable stdin/stdout). */
static int identify(declared *d, const char *path, int output)
{
	struct stat st;
	if (strcmp(path, "-") == 0) {
		if (fstat(output ? STDOUT_FILENO : STDIN_FILENO, &st) != 0 || !S_ISREG(st.st_mode))
			return 0;
	} else if (stat(path, &st) != 0) {
		if (!output || errno != ENOENT)
			return 0; /* an unreadable input is reported by its reader */
		char *copy = xstrdup(path), *dir = dirname(copy);
		struct stat ds;
		int ok = stat(dir, &ds) == 0;
		free(copy);
		if (!ok)
			return 0; /* the folder is missing: opening the output says so */
		copy = xstrdup(path);
		d->name_mem = xstrdup(basename(copy));
		free(copy);
		d->name = d->name_mem;
		d->dev = ds.st_dev;
		d->ino = ds.st_ino;
		return 1;
	} else if (!S_ISREG(st.st_mode)) {
		return 0;
	}
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	return 1;
}

static const char *shown(const char *path, int output)
{
	return path && strcmp(path, "-") != 0 ? path : output ? "stdout" : "stdin";
}

static void declare(const char *what, const char *path, int output, int in_place, int replaceable)
{
	declared d = {.what = what, .path = path, .output = output, .in_place = in_place, .replaceable = replaceable};
	if (!path || !identify(&d, path, output))
		return;
	for (int i = 0; i < n_declared; i++) {
		const declared *e = &declared_files[i];
		if (e->dev != d.dev || e->ino != d.ino || (e->name == NULL) != (d.name == NULL) ||
		    (d.name && strcmp(e->name, d.name) != 0) || (!e->output && !d.output))
			continue;
		const declared *in = e->output ? &d : e, *out = e->output ? e : &d;
		if (!in->output && in->replaceable && !out->in_place)
			continue; /* an atomic output continuing its input in place (lfm-fit --resume m -o m) */
		if (in->output) /* two outputs */
			die(LFM_EXIT_USAGE, "%s %s and %s %s are the same file: each output needs a file of its own",
			    e->what, shown(e->path, 1), what, shown(path, 1));
		die(LFM_EXIT_USAGE, "%s %s is the same file as %s %s: an output never overwrites an input; write it "
				    "elsewhere",
		    out->what, shown(out->path, 1), in->what, shown(in->path, 0));
	}
	if (n_declared == MAX_DECLARED)
		die(LFM_EXIT_USAGE, "too many files on the command line (at most %d)", MAX_DECLARED);
	declared_files[n_declared++] = d;
}

void lfm_input(const char *what, const char *path) { declare(what, path, 0, 0, 0); }
void lfm_input_replaceable(const char *what, const char *path) { declare(what, path, 0, 0, 1); }
void lfm_output(const char *what, const char *path) { declare(what, path, 1, 0, 0); }
void lfm_output_in_place(const char *what, const char *path) { declare(what, path, 1, 1, 0); }

/* outfile_open's check: path (an existing regular file) is none of the declared inputs. */
static void check_not_input(const char *path, const struct stat *st)
{
	for (int i = 0; i < n_declared; i++) {
		const declared *e = &declared_files[i];
		if (!e->output && !e->replaceable && !e->name && e->dev == st->st_dev && e->ino == st->st_ino)
			die(LFM_EXIT_USAGE, "%s is the same file as %s %s: an output never overwrites an input; write it "
					    "elsewhere",
			    path, e->what, shown(e->path, 0));
	}
}

/* ---- the lock ------------------------------------------------------------------------------------ */

void lfm_lock_output(const char *what, const char *lock_path)
{
	for (int tries = 0; tries < 100; tries++) {
		int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
		if (fd < 0)
			die(LFM_EXIT_IO, "%s: cannot create the lock file:", lock_path);
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
		if (fcntl(fd, F_SETLK, &fl) != 0) {
			if (errno != EACCES && errno != EAGAIN)
				die(LFM_EXIT_IO, "%s: cannot lock:", lock_path);
			struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
			long pid = fcntl(fd, F_GETLK, &q) == 0 && q.l_type != F_UNLCK ? (long)q.l_pid : 0;
			close(fd);
			if (!pid)
				continue; /* released meanwhile: try again */
			die(LFM_EXIT_USAGE, "%s is being written by process %ld (lock %s): one run per output", what, pid,
			    lock_path);
		}
		/* Locked; but a holder that was ending may have unlinked the file we opened: lock the one there. */
		struct stat a, b;
		if (fstat(fd, &a) == 0 && stat(lock_path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			if (ftruncate(fd, 0) == 0) {
				char pid[32];
				int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
				if (write(fd, pid, (size_t)n) != n)
					warn("%s: cannot write the pid:", lock_path);
			}
			pending_add(xstrdup(lock_path)); /* removed at exit; the descriptor stays open until then */
			return;
		}
		close(fd);
	}
	die(LFM_EXIT_IO, "%s: cannot take the lock (it keeps being replaced)", lock_path);
}

/* ---- the test hook ------------------------------------------------------------------------------- */

void lfm_test_step(void)
{
	static long at = -1, sig_at = -1, count;
	if (at < 0) {
		const char *e = getenv("LFM_TEST_DIE_AT_SAVE_STEP");
		at = e && *e ? strtol(e, NULL, 10) : 0;
		e = getenv("LFM_TEST_SIGNAL_AT_SAVE_STEP");
		sig_at = e && *e ? strtol(e, NULL, 10) : 0;
	}
	++count;
	if (at > 0 && count == at)
		_exit(99);
	if (sig_at > 0 && count == sig_at)
		raise(SIGTERM); /* as a kill(1) would: the handlers clean up, the process ends by the signal */
}

/* ---- atomic outputs ------------------------------------------------------------------------------ */

/* fsync the folder holding path, so a rename into it is on the disk. */
static void sync_folder(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return; /* a folder we cannot open for reading: the rename stands, durability is the system's */
	if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
		die(LFM_EXIT_IO, "%s: cannot sync its folder:", path);
	close(fd);
}

void xrename(const char *from, const char *to)
{
	if (rename(from, to) != 0)
		die(LFM_EXIT_IO, "%s: cannot rename %s into place:", to, from);
	sync_folder(to);
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
	struct stat st, lst;
	int exists = stat(path, &st) == 0;
	if (exists && !S_ISREG(st.st_mode)) {
		o->f = fopen(path, mode);
		if (!o->f)
			die(LFM_EXIT_IO, "%s:", path);
		o->path = NULL;
		o->direct = 1;
		return;
	}
	if (exists)
		check_not_input(path, &st);
	/* A symlink: the file it names is replaced, the link stays. */
	if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
		o->path = realpath(path, NULL);
		if (!o->path)
			die(LFM_EXIT_IO, "%s: a symbolic link to a file that cannot be reached:", path);
	} else {
		o->path = xstrdup(path);
	}
	o->tmp = xasprintf("%s.tmp.XXXXXX", o->path);
	int fd = mkstemp(o->tmp);
	if (fd < 0)
		die(LFM_EXIT_IO, "%s: cannot create temporary file:", path);
	catch_fatal_signals();
	pending_add(o->tmp);
	mode_t perm;
	if (exists) {
		perm = st.st_mode & 07777; /* a file replaced keeps its permissions */
	} else {
		mode_t mask = umask(0); /* mkstemp makes 0600; new outputs get the usual 0666 & ~umask */
		umask(mask);
		perm = 0666 & ~mask;
	}
	if (fchmod(fd, perm) != 0)
		warn("%s: cannot set the permissions:", o->tmp);
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
	lfm_test_step();
	xrename(o->tmp, o->path);
	pending_remove(o->tmp);
	lfm_test_step();
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
