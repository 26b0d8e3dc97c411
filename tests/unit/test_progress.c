/* test_progress.c — the progress line: plain lines (pacing, counts, rate, ETA, final line), off mode,
 * automatic mode on a pipe, and the redrawn line on a pseudo-terminal.
 *
 * Plain lines are due every 10 s; instead of waiting, tests move the struct's start and last_draw
 * back in time (the struct is public, and that is all the clock is used for).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/progress.h"
#include "../test.h"

static int count_substr(const char *s, const char *sub)
{
	int n = 0;
	for (const char *p = strstr(s, sub); p; p = strstr(p + strlen(sub), sub))
		n++;
	return n;
}

static void pretend_elapsed(progress *p, double seconds)
{
	p->start -= seconds;
	p->last_draw -= seconds;
}

/* Each scenario runs in a child with stderr captured; arg is the LFM_PROGRESS value or NULL. */
static void set_mode(const char *env)
{
	if (env)
		setenv("LFM_PROGRESS", env, 1);
	else
		unsetenv("LFM_PROGRESS");
}

static void run_short_job(void *arg)
{
	set_mode(arg);
	progress p;
	progress_start(&p, "embed", 100, "images");
	for (uint64_t i = 1; i <= 100; i++)
		progress_update(&p, i);
	progress_finish(&p);
}

static void test_plain_short_job_prints_only_the_final_line(void)
{
	char err[4096];
	int st = t_expect_exit(run_short_job, "1", err, sizeof err);
	T_ASSERT(st == 0);
	T_ASSERTF(count_substr(err, "\n") == 1, "stderr '%s'", err);
	T_ASSERTF(strncmp(err, "embed: 100 images in ", 21) == 0, "stderr '%s'", err);
	T_ASSERTF(strstr(err, " images/s)\n") != NULL, "stderr '%s'", err);
	T_ASSERTF(strchr(err, '\r') == NULL && strchr(err, '\033') == NULL, "control characters in '%s'", err);
}

static void run_paced(void *arg)
{
	set_mode(arg);
	progress p;
	progress_start(&p, "pairs", 1000, "records");
	progress_update(&p, 10); /* not due yet */
	pretend_elapsed(&p, 1000);
	progress_update(&p, 250); /* due: rate 0.25/s, 750 left, ETA 3000 s */
	progress_update(&p, 260); /* just drawn: not due */
	pretend_elapsed(&p, 5);
	progress_update(&p, 270); /* 5 s later: still not due */
	pretend_elapsed(&p, 6);
	progress_update(&p, 500); /* 11 s after the last line: due */
	progress_finish(&p);      /* stopped halfway: says how far it got */
}

static void test_plain_lines_are_paced_and_complete(void)
{
	char err[4096];
	int st = t_expect_exit(run_paced, "1", err, sizeof err);
	T_ASSERT(st == 0);
	T_ASSERTF(count_substr(err, "\n") == 3, "want 3 lines, stderr '%s'", err);
	/* "label: done/total unit (pct%) rate unit/s ETA m:ss"; ETA 3000 s = 50:00 (a slow machine adds
	 * 3 s per second of delay, hence only the prefix) */
	T_ASSERTF(strstr(err, "pairs: 250/1000 records (25.0%) 0.25 records/s ETA 50:0") == err,
		  "stderr '%s'", err);
	T_ASSERTF(strstr(err, "\npairs: 500/1000 records (50.0%) ") != NULL, "stderr '%s'", err);
	/* the final line: count out of total (stopped early), time in m:ss beyond a minute, mean rate */
	T_ASSERTF(strstr(err, "\npairs: 500/1000 records in 16:5") != NULL, "stderr '%s'", err);
	T_ASSERTF(strstr(err, " records/s)\n") != NULL, "stderr '%s'", err);
}

static void run_hours(void *arg)
{
	set_mode(arg);
	progress p;
	progress_start(&p, "train", 200, NULL);
	pretend_elapsed(&p, 3600);
	progress_update(&p, 100); /* ETA one hour */
	progress_start(&p, "scan", 0, "files");
	pretend_elapsed(&p, 4000);
	progress_update(&p, 100000); /* unknown total: no percentage, no ETA */
	progress_finish(&p);
}

static void test_plain_eta_hours_and_unknown_total(void)
{
	char err[4096];
	int st = t_expect_exit(run_hours, "1", err, sizeof err);
	T_ASSERT(st == 0);
	T_ASSERTF(strstr(err, "train: 100/200 items (50.0%) 0.03 items/s ETA 1:00:0") == err, "stderr '%s'",
		  err);
	T_ASSERTF(strstr(err, "\nscan: 100000 files 25.0 files/s\n") != NULL, "stderr '%s'", err);
	T_ASSERTF(strstr(err, "\nscan: 100000 files in 1:06:4") != NULL, "stderr '%s'", err);
	T_ASSERTF(strstr(err, " (25.0 files/s)\n") != NULL, "stderr '%s'", err);
	T_ASSERTF(count_substr(err, "ETA") == 1 && count_substr(err, "%") == 1, "unknown total: '%s'", err);
}

static void test_off_prints_nothing(void)
{
	char err[4096];
	int st = t_expect_exit(run_paced, "0", err, sizeof err);
	T_ASSERT(st == 0);
	T_ASSERTF(err[0] == 0, "stderr '%s'", err);
	st = t_expect_exit(run_short_job, "0", err, sizeof err);
	T_ASSERT(st == 0 && err[0] == 0);
}

static void test_auto_mode_on_a_pipe_is_plain(void)
{
	const char *modes[] = {NULL, "", "2"}; /* unset or anything else: decided by isatty */
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		char err[4096];
		int st = t_expect_exit(run_paced, (void *)modes[i], err, sizeof err);
		T_ASSERT(st == 0);
		T_ASSERTF(count_substr(err, "\n") == 3 && strchr(err, '\r') == NULL, "mode %zu: '%s'", i, err);
	}
}

static void test_terminal_redraws_in_place_at_most_ten_times_a_second(void)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
		if (master >= 0)
			close(master);
		t_skip("test_terminal_redraws_in_place_at_most_ten_times_a_second", "no pseudo-terminals");
		return;
	}
	const char *name = ptsname(master);
	int slave = name ? open(name, O_RDWR | O_NOCTTY) : -1;
	T_ASSERT(slave >= 0);
	fflush(stderr);
	int saved = dup(2);
	T_ASSERT(saved >= 0 && dup2(slave, 2) == 2);
	unsetenv("LFM_PROGRESS");

	progress p;
	progress_start(&p, "decode", 1000000, "images");
	int mode = p.mode;
	uint64_t updates = 0;
	double t0 = progress_now(), elapsed;
	while ((elapsed = progress_now() - t0) < 0.35)
		progress_update(&p, ++updates);
	progress_finish(&p);

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(slave);
	static char out[65536];
	size_t used = 0;
	int flags = fcntl(master, F_GETFL);
	fcntl(master, F_SETFL, flags | O_NONBLOCK);
	for (;;) {
		ssize_t got = read(master, out + used, sizeof out - 1 - used);
		if (got <= 0)
			break; /* EAGAIN (drained) or EIO (slave closed) */
		used += (size_t)got;
	}
	out[used] = 0;
	close(master);

	T_ASSERTF(mode == 1, "mode %d on a terminal", mode);
	int redraws = count_substr(out, "\033[K"); /* each draw erases the rest of the line */
	/* thousands of updates, one redraw per 0.1 s: 0.1, 0.2, 0.3 s, plus the final line */
	T_ASSERTF(updates > 100, "only %llu updates", (unsigned long long)updates);
	T_ASSERTF(redraws >= 2 && redraws <= 4 + 1, "%d redraws for %llu updates in %.2f s: '%s'", redraws,
		  (unsigned long long)updates, elapsed, out);
	T_ASSERTF(count_substr(out, "\r") >= redraws, "lines not redrawn in place: '%s'", out);
	T_ASSERTF(strstr(out, "\rdecode: ") == out, "output '%s'", out);
	T_ASSERTF(strstr(out, "/1000000 images (") != NULL, "output '%s'", out);
	const char *final = strstr(out, "images in ");
	T_ASSERTF(final != NULL && strchr(final, '\n') != NULL, "no final line ending the output: '%s'", out);
}

static void test_now_is_monotonic(void)
{
	double a = progress_now();
	T_ASSERT(a > 0);
	double prev = a;
	for (int i = 0; i < 100000; i++) {
		double t = progress_now();
		T_ASSERT(t >= prev);
		prev = t;
	}
	usleep(20000);
	double b = progress_now();
	T_ASSERTF(b - a >= 0.019 && b - a < 5, "20 ms sleep measured as %g s", b - a);
}

static void run_resumed_with_note(void *arg)
{
	set_mode(arg);
	progress p;
	progress_start_at(&p, "fit", 400, 1000, "steps");
	progress_note(&p, "loss %.3f", 2.3141);
	pretend_elapsed(&p, 100);
	progress_update(&p, 500); /* 100 steps in 100 s since the start at 400: 1/s, 500 left */
	progress_note(&p, "loss %.3f val %.1f%%", 1.5, 42.0);
	progress_finish(&p);
}

/* A resumed run counts from where it stands, its rate and ETA from what this process did; the note
 * follows each line. */
static void test_resumed_counts_and_note(void)
{
	char err[4096];
	int st = t_expect_exit(run_resumed_with_note, "1", err, sizeof err);
	T_ASSERT(st == 0);
	T_ASSERTF(strstr(err, "fit: 500/1000 steps (50.0%) 1.00 steps/s ETA 8:20 loss 2.314\n") != NULL, "stderr '%s'", err);
	T_ASSERTF(strstr(err, "fit: 500/1000 steps in 1:40 (1.00 steps/s) loss 1.500 val 42.0%\n") != NULL, "stderr '%s'",
		  err);
}

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	T_RUN(test_plain_short_job_prints_only_the_final_line);
	T_RUN(test_plain_lines_are_paced_and_complete);
	T_RUN(test_plain_eta_hours_and_unknown_total);
	T_RUN(test_off_prints_nothing);
	T_RUN(test_auto_mode_on_a_pipe_is_plain);
	T_RUN(test_terminal_redraws_in_place_at_most_ten_times_a_second);
	T_RUN(test_now_is_monotonic);
	T_RUN(test_resumed_counts_and_note);
	return t_summary();
}
