/* progress.c — the stderr progress line (see progress.h).
 *
 * Lines look like
 *   embed: 1234/50000 images (2.5%) 812 images/s ETA 1:00
 *   embed: 1234 images 812 images/s                         (total unknown)
 *   embed: 50000 images in 61.6 s (812 images/s)            (the final line)
 * Each line is formatted into a buffer and written with one call, so it is not torn by other output.
 */
#include "base/progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { MODE_OFF = 0, MODE_TERMINAL = 1, MODE_PLAIN = 2 };

static const double TERMINAL_INTERVAL = 0.1; /* seconds between redraws on a terminal */
static const double PLAIN_INTERVAL = 10.0;   /* seconds between plain lines */

double progress_now(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0; /* cannot fail for CLOCK_MONOTONIC on Linux; progress is cosmetic anyway */
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void progress_start(progress *p, const char *label, uint64_t total, const char *unit)
{
	progress_start_at(p, label, 0, total, unit);
}

void progress_note(progress *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->note, sizeof p->note, fmt, ap);
	va_end(ap);
}

void progress_start_at(progress *p, const char *label, uint64_t first, uint64_t total, const char *unit)
{
	p->label = label ? label : "progress";
	p->unit = unit ? unit : "items";
	p->total = total;
	p->done = p->first = first;
	p->note[0] = 0;
	p->start = progress_now();
	p->last_draw = p->start;
	p->drawn = 0;
	const char *env = getenv("LFM_PROGRESS");
	if (env && strcmp(env, "0") == 0)
		p->mode = MODE_OFF;
	else if (env && strcmp(env, "1") == 0)
		p->mode = MODE_PLAIN;
	else
		p->mode = isatty(STDERR_FILENO) ? MODE_TERMINAL : MODE_PLAIN;
}

/* A rate with about three significant digits and no exponent. */
static void format_rate(char *buf, size_t size, double rate)
{
	if (rate >= 100)
		snprintf(buf, size, "%.0f", rate);
	else if (rate >= 10)
		snprintf(buf, size, "%.1f", rate);
	else
		snprintf(buf, size, "%.2f", rate);
}

/* h:mm:ss or m:ss. */
static void format_duration(char *buf, size_t size, double seconds)
{
	if (!(seconds >= 0) || seconds > 1e8) {
		snprintf(buf, size, "?");
		return;
	}
	unsigned long s = (unsigned long)(seconds + 0.5);
	if (s >= 3600)
		snprintf(buf, size, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, size, "%lu:%02lu", s / 60, s % 60);
}

static void emit(const progress *p, const char *line, int final)
{
	char out[600];
	if (p->mode == MODE_TERMINAL) /* back to column 0, the line, erase what a longer line left */
		snprintf(out, sizeof out, "\r%s\033[K%s", line, final ? "\n" : "");
	else
		snprintf(out, sizeof out, "%s\n", line);
	fputs(out, stderr);
	fflush(stderr);
}

/* Units done by this process (a resumed one started at first). */
static double done_here(const progress *p)
{
	return p->done > p->first ? (double)(p->done - p->first) : 0;
}

static void append_note(const progress *p, char *line, size_t size)
{
	size_t n = strlen(line);
	if (p->note[0] && n + 2 < size)
		snprintf(line + n, size - n, " %s", p->note);
}

static void draw(progress *p, double now)
{
	double elapsed = now - p->start;
	double rate = elapsed > 0 ? done_here(p) / elapsed : 0;
	char rate_s[32], line[512];
	format_rate(rate_s, sizeof rate_s, rate);
	if (p->total) {
		char eta[32];
		if (p->done >= p->total)
			snprintf(eta, sizeof eta, "0:00");
		else if (rate > 0)
			format_duration(eta, sizeof eta, (double)(p->total - p->done) / rate);
		else
			snprintf(eta, sizeof eta, "?");
		snprintf(line, sizeof line, "%s: %llu/%llu %s (%.1f%%) %s %s/s ETA %s", p->label,
			 (unsigned long long)p->done, (unsigned long long)p->total, p->unit,
			 100.0 * (double)p->done / (double)p->total, rate_s, p->unit, eta);
	} else {
		snprintf(line, sizeof line, "%s: %llu %s %s %s/s", p->label, (unsigned long long)p->done,
			 p->unit, rate_s, p->unit);
	}
	append_note(p, line, sizeof line);
	emit(p, line, 0);
	p->last_draw = now;
	p->drawn++;
}

void progress_update(progress *p, uint64_t done)
{
	p->done = done;
	if (p->mode == MODE_OFF)
		return;
	double now = progress_now();
	double interval = p->mode == MODE_TERMINAL ? TERMINAL_INTERVAL : PLAIN_INTERVAL;
	if (now - p->last_draw >= interval)
		draw(p, now);
}

void progress_finish(progress *p)
{
	if (p->mode == MODE_OFF)
		return;
	double now = progress_now();
	double elapsed = now - p->start;
	char rate_s[32], took[32], line[512];
	format_rate(rate_s, sizeof rate_s, elapsed > 0 ? done_here(p) / elapsed : 0);
	if (elapsed < 60)
		snprintf(took, sizeof took, "%.1f s", elapsed);
	else
		format_duration(took, sizeof took, elapsed);
	char count[64];
	if (p->total && p->done != p->total) /* stopped early: say how far it got */
		snprintf(count, sizeof count, "%llu/%llu", (unsigned long long)p->done,
			 (unsigned long long)p->total);
	else
		snprintf(count, sizeof count, "%llu", (unsigned long long)p->done);
	snprintf(line, sizeof line, "%s: %s %s in %s (%s %s/s)", p->label, count, p->unit, took, rate_s,
		 p->unit);
	append_note(p, line, sizeof line);
	emit(p, line, 1);
	p->last_draw = now;
	p->drawn++;
}
