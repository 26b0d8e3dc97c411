/* progress.h — a progress line on stderr: done/total, rate and ETA.
 * When stderr is a terminal, one line redrawn in place at most ~10 times a second; otherwise (logs, CI)
 * plain lines, at most one every 10 seconds (and one at the end), so logs stay readable.
 * LFM_PROGRESS=0 in the environment turns it off; LFM_PROGRESS=1 forces plain lines (unset or any other
 * value: decided by isatty). A line reads "label: done/total unit (pct%) rate unit/s ETA m:ss" (no total,
 * percentage or ETA when total is 0); the final one "label: done unit in T (rate unit/s)". One progress
 * belongs to one thread; label and unit (NULL: "progress", "items") must outlive it. */
#ifndef LFM_PROGRESS_H
#define LFM_PROGRESS_H

#include <stdint.h>

typedef struct progress {
	const char *label;
	const char *unit;
	uint64_t total; /* 0 = unknown */
	uint64_t done;
	double start, last_draw;
	int mode; /* 0 off, 1 terminal, 2 plain lines */
	int drawn;
} progress;

void progress_start(progress *p, const char *label, uint64_t total, const char *unit);
void progress_update(progress *p, uint64_t done); /* cheap; draws only when due */
void progress_finish(progress *p);                /* final line with total time and mean rate */
/* Monotonic seconds, for tools that time themselves. */
double progress_now(void);

#endif
