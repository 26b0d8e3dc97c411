/* signals.c — see signals.h. */
#include "signals.h"

#include <signal.h>
#include <string.h>

#include "base/errors.h"

/* The tool's mutable globals, for the handler: the first SIGINT/SIGTERM, and what a second one does. */
static volatile sig_atomic_t stop_signal;
static void (*previous_handler[2])(int); /* errors.c's: remove temporary files, then die of the signal */

static void on_signal(int sig)
{
	if (!stop_signal) {
		stop_signal = sig; /* the loop finishes the step, saves and exits */
		return;
	}
	/* A second signal: stop now, as any tool would (the last complete checkpoint stays). */
	void (*h)(int) = previous_handler[sig == SIGTERM];
	if (h && h != SIG_DFL && h != SIG_IGN) {
		h(sig);
		return;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

void signals_retake(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART; /* reads of a plan from a pipe carry on */
	for (int k = 0; k < 2; k++) {
		int sig = k ? SIGTERM : SIGINT;
		if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == on_signal)
			continue;
		if (sigaction(sig, &sa, &old) != 0)
			die(LFM_EXIT_IO, "cannot install the signal handlers:");
		previous_handler[k] = old.sa_handler;
	}
}

void signals_install(const char *output)
{
	outfile probe;
	outfile_open(&probe, output, "wb");
	outfile_abort(&probe);
	signals_retake();
}

int signals_stop_requested(void)
{
	return (int)stop_signal;
}

const char *signals_name(int sig)
{
	return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
}
