/* test_errors.c — die/warn prefixes and exit codes, checked I/O, atomic output files (permissions kept,
 * symlinks followed, the same-file rule), option parsing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/options.h"
#include "../test.h"

static char tmpdir[] = "/tmp/lfm-test-errors.XXXXXX";

static void do_die(void *arg) { die(LFM_EXIT_DATA, "%s: bad record %d", (const char *)arg, 7); }

static void test_die_prefix_and_code(void)
{
	char err[512];
	int st = t_expect_exit(do_die, "in.bin", err, sizeof err);
	T_ASSERTF(st == LFM_EXIT_DATA, "status %d", st);
	T_ASSERTF(strcmp(err, "test_errors: in.bin: bad record 7\n") == 0, "stderr '%s'", err);
}

static void do_die_errno(void *arg)
{
	errno = ENOENT;
	die(LFM_EXIT_IO, "%s:", (const char *)arg);
}

static void test_die_appends_strerror(void)
{
	char err[512];
	int st = t_expect_exit(do_die_errno, "x.npy", err, sizeof err);
	T_ASSERT(st == LFM_EXIT_IO);
	T_ASSERTF(strstr(err, "x.npy: No such file or directory") != NULL, "stderr '%s'", err);
}

static void do_fopen_missing(void *arg) { xfopen((const char *)arg, "rb"); }

static void test_xfopen_missing_file(void)
{
	char err[512];
	int st = t_expect_exit(do_fopen_missing, "/nonexistent/dir/file", err, sizeof err);
	T_ASSERT(st == LFM_EXIT_IO);
	T_ASSERTF(strstr(err, "/nonexistent/dir/file") != NULL, "stderr '%s'", err);
}

static void do_short_read(void *arg)
{
	FILE *f = fmemopen("abc", 3, "rb");
	char buf[8];
	xfread(buf, 8, f, (const char *)arg);
}

static void test_short_read_is_truncation(void)
{
	char err[512];
	int st = t_expect_exit(do_short_read, "data.bin", err, sizeof err);
	T_ASSERT(st == LFM_EXIT_DATA);
	T_ASSERTF(strstr(err, "data.bin: truncated") != NULL, "stderr '%s'", err);
}

static void do_full_disk(void *arg)
{
	FILE *f = fopen("/dev/full", "wb");
	if (!f)
		exit(99);
	char buf[65536] = {0};
	xfwrite(buf, sizeof buf, f, "/dev/full");
	xfclose(f, "/dev/full");
}

static void test_full_disk_is_an_error(void)
{
	if (access("/dev/full", W_OK) != 0) {
		t_skip("test_full_disk_is_an_error", "/dev/full missing");
		return;
	}
	char err[512];
	int st = t_expect_exit(do_full_disk, NULL, err, sizeof err);
	T_ASSERTF(st == LFM_EXIT_IO, "status %d", st);
	T_ASSERTF(strstr(err, "No space left on device") != NULL, "stderr '%s'", err);
}

/* A stream on a pipe whose reading end is already closed. */
static FILE *pipe_without_reader(void)
{
	lfm_init("writer");
	int fds[2];
	if (pipe(fds) != 0)
		exit(99);
	close(fds[0]);
	return fdopen(fds[1], "wb");
}

static void do_closed_pipe(void *arg)
{
	FILE *f = pipe_without_reader();
	char buf[65536] = {0};
	xfwrite(buf, sizeof buf, f, "pipe");
	xfclose(f, "pipe");
	exit(98); /* not reached: the write ends the process */
}

/* An earlier write failed (stdio keeps the error), errno has moved on since: xfclose still sees that the
 * reader is gone. */
static void do_closed_pipe_late(void *arg)
{
	FILE *f = pipe_without_reader();
	fputs("lost", f);
	fflush(f); /* fails with EPIPE, sets f's error flag */
	errno = ENOENT;
	xfclose(f, "pipe");
	exit(98);
}

/* A reader that has gone away (`| head`): quiet, status 0, as lfm(7) documents; not a signal death. */
static void test_closed_pipe_ends_quietly(void)
{
	char err[512];
	int st = t_expect_exit(do_closed_pipe, NULL, err, sizeof err);
	T_ASSERTF(st == LFM_EXIT_OK, "status %d (a signal would be > 128)", st);
	T_ASSERTF(err[0] == 0, "stderr '%s'", err);
	st = t_expect_exit(do_closed_pipe_late, NULL, err, sizeof err);
	T_ASSERTF(st == LFM_EXIT_OK && err[0] == 0, "status %d, stderr '%s'", st, err);
}

/* Whether the file at path holds exactly the n bytes want. */
static int file_holds(const char *path, const char *want, size_t n)
{
	size_t len;
	char *got = xread_file(path, &len);
	int same = len == n && memcmp(got, want, n) == 0;
	free(got);
	return same;
}

static void test_outfile_commit_renames(void)
{
	char *path = xasprintf("%s/out.bin", tmpdir);
	outfile o;
	outfile_open(&o, path, "wb");
	T_ASSERT(access(path, F_OK) != 0); /* nothing at the destination before the commit */
	xfwrite("hello", 5, o.f, path);
	outfile_commit(&o);
	T_ASSERT(file_holds(path, "hello", 5));
	unlink(path);
	free(path);
}

static void do_die_mid_output(void *arg)
{
	outfile o;
	outfile_open(&o, (const char *)arg, "wb");
	xfwrite("partial", 7, o.f, "out");
	die(LFM_EXIT_DATA, "failed halfway");
}

static void test_failure_leaves_old_file_and_no_temporary(void)
{
	char *path = xasprintf("%s/keep.bin", tmpdir);
	FILE *f = fopen(path, "wb");
	fputs("old", f);
	fclose(f);
	char err[256];
	int st = t_expect_exit(do_die_mid_output, path, err, sizeof err);
	T_ASSERT(st == LFM_EXIT_DATA);
	size_t len;
	char *got = xread_file(path, &len);
	T_ASSERT(len == 3 && memcmp(got, "old", 3) == 0);
	free(got);
	char *cmd = xasprintf("ls %s | grep -c tmp >/dev/null", tmpdir);
	T_ASSERTF(system(cmd) != 0, "a temporary file was left in %s", tmpdir);
	free(cmd);
	unlink(path);
	free(path);
}

static void test_outfile_to_a_device_writes_in_place(void)
{
	struct stat before, after;
	T_ASSERT(stat("/dev/null", &before) == 0 && S_ISCHR(before.st_mode));
	outfile o;
	outfile_open(&o, "/dev/null", "wb");
	xfwrite("discarded", 9, o.f, "/dev/null");
	outfile_commit(&o);
	T_ASSERT(stat("/dev/null", &after) == 0);
	T_ASSERTF(S_ISCHR(after.st_mode) && after.st_rdev == before.st_rdev,
		  "/dev/null is no longer the device");
}

/* The same-file rule: each case declares files in a child and expects exit 2 naming both, or exit 0. */
typedef struct same_case {
	const char *in, *out, *out2; /* paths under tmpdir; out2 a second output (or NULL) */
	int replaceable, in_place;
} same_case;

static void do_declare(void *arg)
{
	const same_case *c = arg;
	char *in = xasprintf("%s/%s", tmpdir, c->in), *out = xasprintf("%s/%s", tmpdir, c->out);
	if (c->replaceable)
		lfm_input_replaceable("--resume", in);
	else
		lfm_input("the input", in);
	if (c->in_place)
		lfm_output_in_place("--log", out);
	else
		lfm_output("-o", out);
	if (c->out2)
		lfm_output("--stats-npy", xasprintf("%s/%s", tmpdir, c->out2));
	exit(0);
}

static void test_same_file_rule(void)
{
	char *a = xasprintf("%s/a.mp", tmpdir), *hard = xasprintf("%s/hard.mp", tmpdir),
	     *soft = xasprintf("%s/soft.mp", tmpdir);
	FILE *f = fopen(a, "wb");
	fputs("input", f);
	fclose(f);
	T_ASSERT(link(a, hard) == 0 && symlink("a.mp", soft) == 0);
	static const same_case cases[] = {
	    {"a.mp", "a.mp", NULL, 0, 0},   {"a.mp", "hard.mp", NULL, 0, 0}, {"a.mp", "soft.mp", NULL, 0, 0},
	    {"soft.mp", "hard.mp", NULL, 0, 0}, {"a.mp", "new.mp", "new.mp", 0, 0}, {"a.mp", "a.mp", NULL, 1, 1},
	};
	for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
		char err[1024];
		int st = t_expect_exit(do_declare, (void *)&cases[k], err, sizeof err);
		T_ASSERTF(st == LFM_EXIT_USAGE, "case %zu: status %d (%s)", k, st, err);
		T_ASSERTF(strstr(err, cases[k].out) && strstr(err, cases[k].out2 ? cases[k].out2 : cases[k].in),
			  "case %zu: '%s' names not both", k, err);
	}
	/* allowed: other files; an atomic output replacing a replaceable input (lfm-fit --resume m -o m) */
	static const same_case fine[] = {{"a.mp", "b.mp", "c.mp", 0, 0}, {"a.mp", "a.mp", NULL, 1, 0}};
	for (size_t k = 0; k < sizeof fine / sizeof *fine; k++) {
		char err[1024];
		int st = t_expect_exit(do_declare, (void *)&fine[k], err, sizeof err);
		T_ASSERTF(st == 0, "allowed case %zu: status %d (%s)", k, st, err);
	}
	unlink(soft);
	unlink(hard);
	unlink(a);
	free(a);
	free(hard);
	free(soft);
}

static void test_outfile_keeps_permissions_and_follows_symlinks(void)
{
	char *path = xasprintf("%s/perm.bin", tmpdir), *lnk = xasprintf("%s/perm-link.bin", tmpdir);
	outfile o;
	outfile_open(&o, path, "wb");
	xfwrite("one", 3, o.f, path);
	outfile_commit(&o);
	T_ASSERT(chmod(path, 0640) == 0 && symlink("perm.bin", lnk) == 0);
	outfile_open(&o, lnk, "wb");
	xfwrite("two", 3, o.f, lnk);
	outfile_commit(&o);
	struct stat st, lst;
	T_ASSERT(stat(path, &st) == 0 && lstat(lnk, &lst) == 0);
	T_ASSERTF((st.st_mode & 07777) == 0640, "mode %o", (unsigned)(st.st_mode & 07777));
	T_ASSERTF(S_ISLNK(lst.st_mode), "the link was replaced by a file");
	T_ASSERT(file_holds(path, "two", 3));
	unlink(lnk);
	unlink(path);
	free(lnk);
	free(path);
}

static void do_opt(void *arg)
{
	const char **a = arg;
	opt_double_gt(a[0], a[1], 0, 100);
}

static void test_option_errors_name_the_option(void)
{
	const char *cases[][3] = {
	    {"--tau", "0", "option --tau: '0' must be > 0"},
	    {"--tau", "abc", "option --tau: 'abc' is not a finite number"},
	    {"--tau", "nan", "not a finite number"},
	    {"--tau", "1e9", "must be > 0 and <= 100"},
	    {"--tau", "", "not a finite number"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char err[512];
		int st = t_expect_exit(do_opt, (void *)cases[i], err, sizeof err);
		T_ASSERTF(st == LFM_EXIT_USAGE, "case %zu status %d", i, st);
		T_ASSERTF(strstr(err, cases[i][2]) != NULL, "case %zu stderr '%s'", i, err);
	}
}

static void test_option_numbers_in_range(void)
{
	T_ASSERT(opt_int("--epochs", "50", 1, 1000) == 50);
	T_ASSERT(opt_int("--n", "-3", -10, 10) == -3);
	T_ASSERT(opt_u64("--seed", "18446744073709551615", 0, UINT64_MAX) == UINT64_MAX);
	T_ASSERT(opt_double("--alpha", "1.25", 0, 10) == 1.25);
	static const char *const methods[] = {"lfm", "mixup", "remix", NULL};
	T_ASSERT(opt_choice("--method", "remix", methods) == 2);
}

static void do_int_junk(void *arg) { opt_int("--epochs", (const char *)arg, 1, 100); }

static void test_option_integer_rejects_junk(void)
{
	const char *bad[] = {"10x", "1.5", "", "0", "101", "99999999999999999999999"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char err[512];
		int st = t_expect_exit(do_int_junk, (void *)bad[i], err, sizeof err);
		T_ASSERTF(st == LFM_EXIT_USAGE, "'%s' status %d", bad[i], st);
		T_ASSERTF(strstr(err, "--epochs") != NULL, "'%s' stderr '%s'", bad[i], err);
	}
}

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	if (!mkdtemp(tmpdir))
		die(LFM_EXIT_IO, "mkdtemp:");
	T_RUN(test_die_prefix_and_code);
	T_RUN(test_die_appends_strerror);
	T_RUN(test_xfopen_missing_file);
	T_RUN(test_short_read_is_truncation);
	T_RUN(test_full_disk_is_an_error);
	T_RUN(test_closed_pipe_ends_quietly);
	T_RUN(test_outfile_commit_renames);
	T_RUN(test_failure_leaves_old_file_and_no_temporary);
	T_RUN(test_outfile_to_a_device_writes_in_place);
	T_RUN(test_same_file_rule);
	T_RUN(test_outfile_keeps_permissions_and_follows_symlinks);
	T_RUN(test_option_errors_name_the_option);
	T_RUN(test_option_numbers_in_range);
	T_RUN(test_option_integer_rejects_junk);
	rmdir(tmpdir);
	return t_summary();
}
