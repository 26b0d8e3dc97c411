/* test.h — the unit-test harness: one test program per libcommon part, one line per test case.
 *
 *   static void test_something(void) { T_ASSERT(x == 1); T_ASSERTF(y < 2, "y=%g", y); }
 *   int main(void) { T_RUN(test_something); return t_summary(); }
 *
 * Output lines are "ok - NAME", "not ok - NAME: file:line: condition [message]" or "skip - NAME: why";
 * tests/run.sh counts them. A test case stops at its first failed assertion. t_expect_exit runs a
 * function in a child process and captures its exit status and stderr, for testing that bad input dies
 * with the right code and message.
 */
#ifndef LFM_TEST_H
#define LFM_TEST_H

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int t_failures_total, t_case_failed;
static char t_case_msg[1024];

static inline void t_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	if (t_case_failed)
		return;
	t_case_failed = 1;
	int n = snprintf(t_case_msg, sizeof t_case_msg, "%s:%d: %s", file, line, cond);
	if (fmt && n > 0 && (size_t)n < sizeof t_case_msg) {
		va_list ap;
		va_start(ap, fmt);
		size_t used = (size_t)n;
		used += (size_t)snprintf(t_case_msg + used, sizeof t_case_msg - used, " [");
		if (used < sizeof t_case_msg)
			used += (size_t)vsnprintf(t_case_msg + used, sizeof t_case_msg - used, fmt, ap);
		if (used < sizeof t_case_msg)
			snprintf(t_case_msg + used, sizeof t_case_msg - used, "]");
		va_end(ap);
	}
}

#define T_ASSERT(c)                                                    \
	do {                                                           \
		if (!(c)) {                                            \
			t_fail(__FILE__, __LINE__, #c, NULL);          \
			return;                                        \
		}                                                      \
	} while (0)
#define T_ASSERTF(c, ...)                                              \
	do {                                                           \
		if (!(c)) {                                            \
			t_fail(__FILE__, __LINE__, #c, __VA_ARGS__);   \
			return;                                        \
		}                                                      \
	} while (0)

static inline void t_run(const char *name, void (*fn)(void))
{
	t_case_failed = 0;
	t_case_msg[0] = 0;
	fflush(stdout);
	fn();
	if (t_case_failed) {
		t_failures_total++;
		printf("not ok - %s: %s\n", name, t_case_msg);
	} else {
		printf("ok - %s\n", name);
	}
	fflush(stdout);
}
#define T_RUN(fn) t_run(#fn, fn)

static inline void t_skip(const char *name, const char *why)
{
	printf("skip - %s: %s\n", name, why);
	fflush(stdout);
}

static inline int t_summary(void) { return t_failures_total ? 1 : 0; }

/* Run fn(arg) in a child; return its exit status (128+signal if killed) and its stderr in errbuf. */
static inline int t_expect_exit(void (*fn)(void *), void *arg, char *errbuf, size_t errsz)
{
	int pipefd[2];
	if (pipe(pipefd) != 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(pipefd[0]);
		dup2(pipefd[1], 2);
		int devnull_out = dup(1);
		(void)devnull_out;
		fn(arg);
		fflush(stderr);
		_exit(0);
	}
	close(pipefd[1]);
	size_t used = 0;
	ssize_t got;
	char sink[256];
	while ((got = read(pipefd[0], used + 1 < errsz ? errbuf + used : sink,
			   used + 1 < errsz ? errsz - 1 - used : sizeof sink)) > 0)
		if (used + 1 < errsz)
			used += (size_t)got;
	if (errsz)
		errbuf[used] = 0;
	close(pipefd[0]);
	int status;
	waitpid(pid, &status, 0);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* A scratch folder for the test program, made on first use; t_tmpdir_remove() deletes it and everything
 * in it (call it at the end of main). */
static char t_tmpdir_buf[64];
static inline const char *t_tmpdir(void)
{
	if (!t_tmpdir_buf[0]) {
		strcpy(t_tmpdir_buf, "/tmp/lfm-test.XXXXXX");
		if (!mkdtemp(t_tmpdir_buf)) {
			perror("mkdtemp");
			exit(3);
		}
	}
	return t_tmpdir_buf;
}

/* "TMPDIR/name" in one of eight rotating buffers, so one call can take several paths. */
static inline char *t_tmp_path(const char *name)
{
	static char buf[8][512];
	static int slot;
	slot = (slot + 1) % 8;
	snprintf(buf[slot], sizeof buf[slot], "%s/%s", t_tmpdir(), name);
	return buf[slot];
}

static inline int t_remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static inline void t_tmpdir_remove(void)
{
	if (t_tmpdir_buf[0])
		nftw(t_tmpdir_buf, t_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write n bytes to path, or stop the test program (a broken scratch folder is not a test result). */
static inline void t_write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(3);
	}
}

/* Path of the shared golden folder, or NULL when the clone has no ../shared (a user's clone). */
static inline const char *t_golden_dir(void)
{
	const char *env = getenv("LFM_GOLDEN_DIR");
	const char *dir = env ? env : "../shared/golden/tiny-clip";
	return access(dir, R_OK) == 0 ? dir : NULL;
}

#endif
