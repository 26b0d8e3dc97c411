/* progress.h — a progress line on stderr: done/total, rate and ETA.
 * When stderr is a terminal, one line redrawn in place at most ~10 times a second; otherwise (logs, CI)
 * plain lines, at most one every 10 seconds (and one at the end), so logs stay readable.
 * LFM_PROGRESS=0 in the environment turns it off; LFM_PROGRESS=1 forces plain lines (unset or any other
 * value: decided by isatty). A line reads "label: done/total unit (pct%) rate unit/s ETA m:ss" (no total,
 * percentage or ETA when total is 0), then the note if one is set; the final one "label: done unit in T
 * (rate unit/s)" and the note. One progress
 * belongs to one thread; label and unit (NULL: "progress", "items") must outlive it. */
#ifndef LFM_PROGRESS_H
#define LFM_PROGRESS_H

#include <stdint.h>

typedef struct progress {
	const char *label;
	const char *unit;
	uint64_t total; /* 0 = unknown */
	uint64_t done;
	uint64_t first;  /* done when it started (a resumed run): rates and ETAs count from there */
	char note[96];   /* appended to each line ("loss 2.314"), "" for none */
	double start, last_draw;
	int mode; /* 0 off, 1 terminal, 2 plain lines */
	int drawn;
} progress;

void progress_start(progress *p, const char *label, uint64_t total, const char *unit);
/* The same for work that resumes at `first` of total: lines count from there ("436/1164"), rates and ETAs
 * from what this process did. */
void progress_start_at(progress *p, const char *label, uint64_t first, uint64_t total, const char *unit);
/* A short note shown at the end of the following lines (the running loss), cut to fit. */
void progress_note(progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void progress_update(progress *p, uint64_t done); /* cheap; draws only when due */
void progress_finish(progress *p);                /* final line with total time and mean rate */
/* Monotonic seconds, for tools that time themselves. */
double progress_now(void);

#endif
