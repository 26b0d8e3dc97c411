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
/* Messages then read "PROG[tag]: ..." (a data-parallel run's rank); NULL or "" drops the tag. */
void lfm_set_message_tag(const char *tag);

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
/* Write all n bytes to fd (again after a short write or EINTR), without dying, for writers that report
 * their own errors: 0, or -1 with errno set (ENOSPC for a write that wrote nothing). */
int write_full(int fd, const void *p, size_t n);
/* Read a whole file ("-" = stdin) into memory; *len receives its size; a NUL is appended. */
char *xread_file(const char *path, size_t *len);

/* Text built with stdio in memory (open_memstream): membuf_open gives the stream (dies when out of
 * memory), membuf_close ends it and returns the text, NUL-terminated, the caller's to free. */
typedef struct membuf {
	char *text;
	size_t len;
	FILE *f;
} membuf;
FILE *membuf_open(membuf *m);
char *membuf_close(membuf *m);

/* Error buffers: the non-dying entry points report a problem as a message in (err, errsz) and a return
 * value. err_set formats the message (nothing when err is NULL or errsz 0) and returns -1; err_code the
 * same, returning code (an LFM_EXIT_* status). */
int err_set(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int err_code(char *err, size_t errsz, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Atomic output: data goes to a temporary file beside the destination and is renamed into place only
 * by outfile_commit(), so a failure (die, signal) never leaves a partial file or clobbers an old one.
 * path NULL or "-" writes to stdout directly, and so does a path that names a device, FIFO or socket
 * (-o /dev/null must not replace the device with a file). Unfinished temporaries are unlinked at exit.
 * A file replaced keeps its permission bits (a new one gets 0666 & ~umask); a symlink is followed: the
 * file it points to is replaced (the temporary made in that file's folder) and the link stays, as a
 * program writing through the link in place would leave it (a dangling link is refused: exit 3). The
 * commit fsyncs the file, renames it, then fsyncs the folder, so a renamed output survives a crash.
 * outfile_open refuses (exit 2) a path that is the same file as a declared input (lfm_input below). */
typedef struct outfile {
	FILE *f;
	char *path; /* destination, NULL for stdout */
	char *tmp;  /* temporary name, NULL for stdout */
	int direct; /* a device or FIFO (e.g. /dev/null), written in place */
} outfile;
void outfile_open(outfile *o, const char *path, const char *mode /* "wb" */);
void outfile_commit(outfile *o);
void outfile_abort(outfile *o);
/* A temporary folder an output is assembled in and then renamed into place (clip-export's export
 * directory): until lfm_temp_dir_keep, the files names[] (a NULL-terminated list of names inside dir) are
 * unlinked and dir removed at exit and on SIGINT, SIGTERM and SIGHUP, as an outfile's temporary is. One
 * folder at a time; the strings are copied. */
void lfm_temp_dir_track(const char *dir, const char *const *names);
void lfm_temp_dir_keep(void);
/* rename(from, to), then the folder fsynced (the rename is on the disk); dies with LFM_EXIT_IO. */
void xrename(const char *from, const char *to);
/* Test hook of the commit's steps (lfm(7), ENVIRONMENT): each call counts one step of the process; when
 * LFM_TEST_DIE_AT_SAVE_STEP is N and this is the N-th, the process _exits with status 99 at once, as a
 * kill -9 would leave it (temporaries stay). outfile_commit calls it after the data is synced and after
 * the rename; lfm-fit's save calls it between its renames. LFM_TEST_SIGNAL_AT_SAVE_STEP=N instead
 * raises SIGTERM there, to test what a catch-all signal leaves (nothing but the committed outputs). */
void lfm_test_step(void);

/* The same-file rule (lfm(7), FILES): no output is the same file as an input or as another output, by
 * device and inode (so through hard links and symlinks; a path that does not exist yet is compared by its
 * folder's device and inode and its name). Each tool declares its files once its options are parsed and
 * before any work: lfm_input for a file it reads, lfm_output for one it writes; each declaration is
 * checked against the ones before it, and a clash dies with LFM_EXIT_USAGE naming both ("-o s.mp is the
 * same file as the samples stream s.mp"). what names the option ("-o", "--log", "the plan"); a NULL path
 * is an option not given (nothing declared), "-" stdin/stdout (checked through their descriptors when
 * they are regular files); devices, FIFOs, sockets and folders never clash. The strings are kept, not
 * copied: they must live as long as the process (argv's do).
 * lfm_input_replaceable declares an input that an atomic output (outfile: written aside, renamed over it)
 * may name — lfm-fit's --resume checkpoint and its resume files, continued in place (-o the same file);
 * an output written in place (lfm_output_in_place: a log appended to) may not. */
void lfm_input(const char *what, const char *path);
void lfm_input_replaceable(const char *what, const char *path);
void lfm_output(const char *what, const char *path);
void lfm_output_in_place(const char *what, const char *path);

/* An advisory lock (fcntl) that keeps two processes from writing the same output at once: takes an
 * exclusive lock on lock_path (created, removed at exit), or dies with LFM_EXIT_USAGE "<what> is being
 * written by process <pid> (lock <lock_path>)". Held until the process exits. */
void lfm_lock_output(const char *what, const char *lock_path);

#endif
