/* signals.h — lfm-fit's SIGINT and SIGTERM: the first one asks the run to stop at the next step's end
 * (the state is then saved and the tool exits 4, resumable); a second one stops at once, as any tool
 * would, through the handler it replaced (errors.c's: remove temporary files, then die of the signal). */
#ifndef LFM_FIT_SIGNALS_H
#define LFM_FIT_SIGNALS_H

/* Take SIGINT and SIGTERM. errors.c installs its own handlers when the first output file is opened:
 * this opens and abandons `output` first (which also checks early that its folder is writable), so that
 * ours replace them for good and call them on a second signal. */
void signals_install(const char *output);
/* Take them again (after a save: opening the outputs may have installed errors.c's again where the probe
 * installed nothing, e.g. when CKPT is a device). */
void signals_retake(void);
/* The first signal received (SIGINT or SIGTERM), 0 while none. */
int signals_stop_requested(void);
/* "SIGINT", "SIGTERM". */
const char *signals_name(int sig);

#endif
