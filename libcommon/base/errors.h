/* errors.h — diagnostics, exit codes and checked I/O shared by every tool.
 *
 * Conventions (sbase's): messages go to stderr prefixed with the tool's name; a format ending in ':'
 * gets ": strerror(errno)" appended. Every helper named x* either succeeds or dies with a message
 * naming the file and the problem, so callers never test a return value they could forget.
 */
#ifndef LFM_ERRORS_H
#define LFM_ERRORS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* The one exit-code table for all tools; documented in man/lfm.7 (EXIT STATUS). */
enum lfm_exit {
	LFM_EXIT_OK = 0,    /* success */
	LFM_EXIT_DATA = 1,  /* bad input data: malformed, truncated, inconsistent, numerically invalid */
	LFM_EXIT_USAGE = 2, /* bad command line: unknown option, value out of range, missing argument */
	LFM_EXIT_IO = 3,    /* I/O or system error: cannot open, read, write, allocate; full disk; closed pipe */
	LFM_EXIT_INTERRUPTED = 4, /* stopped by SIGINT/SIGTERM after saving its state: resumable (lfm-fit) */
};

/* Call first in main(): records the name used as message prefix, ignores SIGPIPE (so a closed pipe is
 * reported as a write error with LFM_EXIT_IO instead of killing the tool silently) and registers the
 * removal of unfinished output files at exit. */
void lfm_init(const char *argv0);
const char *lfm_progname(void);

_Noreturn void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vwarn(const char *fmt, va_list ap);

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
void *xmalloc_array(size_t count, size_t size); /* overflow-checked count*size */
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Open a file; "-" means stdin (mode "r...") or stdout (mode "w..."). Dies naming path on failure. */
FILE *xfopen(const char *path, const char *mode);
/* Read exactly n bytes; a short read dies with LFM_EXIT_DATA "<name>: truncated (...)". */
void xfread(void *buf, size_t n, FILE *f, const char *name);
/* Read up to n bytes; returns the count (0 at end of file); a read error dies. */
size_t xfread_some(void *buf, size_t n, FILE *f, const char *name);
void xfwrite(const void *buf, size_t n, FILE *f, const char *name);
/* A write to f failed (errno as the write left it): when f is a pipe whose reader has gone (`| head`),
 * exit 0 without a word, as the reader has all it wanted (lfm(7), EXIT STATUS; temporaries are removed);
 * any other error (a full disk, EIO) dies with LFM_EXIT_IO "<name>: write error: ...". */
_Noreturn void die_write_error(FILE *f, const char *name);
/* Flush and close, treating any pending error (full disk, closed pipe) as fatal. stdin/stdout allowed. */
void xfclose(FILE *f, const char *name);
/* Read a whole file ("-" = stdin) into memory; *len receives its size; a NUL is appended. */
char *xread_file(const char *path, size_t *len);

/* Error buffers: the non-dying entry points report a problem as a message in (err, errsz) and a return
 * value. err_set formats the message (nothing when err is NULL or errsz 0) and returns -1; err_code the
 * same, returning code (an LFM_EXIT_* status). */
int err_set(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int err_code(char *err, size_t errsz, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Atomic output: data goes to a temporary file beside the destination and is renamed into place only
 * by outfile_commit(), so a failure (die, signal) never leaves a partial file or clobbers an old one.
 * path NULL or "-" writes to stdout directly, and so does a path that names a device, FIFO or socket
 * (-o /dev/null must not replace the device with a file). Unfinished temporaries are unlinked at exit. */
typedef struct outfile {
	FILE *f;
	char *path; /* destination, NULL for stdout */
	char *tmp;  /* temporary name, NULL for stdout */
	int direct; /* a device or FIFO (e.g. /dev/null), written in place */
} outfile;
void outfile_open(outfile *o, const char *path, const char *mode /* "wb" */);
void outfile_commit(outfile *o);
void outfile_abort(outfile *o);

#endif
