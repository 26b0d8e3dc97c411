/* fit_options.h — lfm-fit's command line: the options, their defaults, and the two forms a run stores them
 * in (the JSON of checkpoints and resume files, and the command line itself), with the rule that a
 * resumed run keeps its stored options and refuses explicitly given ones that differ. */
#ifndef LFM_FIT_OPTIONS_H
#define LFM_FIT_OPTIONS_H

#include <stdint.h>

#include "model/precision.h"
#include "train/losses.h"

/* Options that change the arithmetic: a resumed run keeps the stored values, and refuses others. */
enum {
	GIVEN_STAGE = 1 << 0,
	GIVEN_EPOCHS = 1 << 1,
	GIVEN_LR = 1 << 2,
	GIVEN_MIN_LR = 1 << 3,
	GIVEN_BATCH = 1 << 4,
	GIVEN_LOSS = 1 << 5,
	GIVEN_SEED = 1 << 6,
	GIVEN_GAMMA = 1 << 7,
	GIVEN_MMS_MARGIN = 1 << 8,
	GIVEN_MMS_TEMP = 1 << 9,
	GIVEN_WD = 1 << 10,
	GIVEN_SPLIT = 1 << 11,
	GIVEN_THREADS = 1 << 12, /* not arithmetic, but a resumed run takes the stored count unless given */
	GIVEN_PRECISION = 1 << 13, /* a resumed run takes the stored precision unless given (see below) */
};

enum { FIT_PREP_AUTO, FIT_PREP_CPU, FIT_PREP_DEVICE };

typedef struct fit_options {
	const char *model, *text, *data, *split, *root, *cache_dir, *output, *resume, *val, *val_data, *log, *samples, *plan;
	const char *tensorboard; /* --tensorboard DIR (not stored: an output) */
	int stage, epochs, batch, threads, log_json, log_epochs_only;
	double lr, min_lr, focal_gamma, mms_margin, mms_temperature, weight_decay;
	loss_kind loss;
	uint64_t seed;
	long long max_steps;
	int force; /* --force: a learning rate above the plausible range */
	const char *device;     /* --device (NULL: choose) */
	lfm_precision precision; /* --precision, or the stored one, or the device's default */
	int stored_precision;   /* a resumed run's precision (-1: none stored) */
	int recompute;          /* --recompute (device memory only: not stored, results are the same bits) */
	int preprocess;         /* --preprocess: FIT_PREP_AUTO, _CPU, _DEVICE (not stored: the same bits) */
	double dist_timeout;    /* --dist-timeout (0: dist.h's default) */
	int dist_port;          /* --dist-port (0: from MASTER_PORT) */
	unsigned given;
} fit_options;

/* Parse argv into o (dies with a usage message on a bad command line). */
void fit_options_parse(int argc, char **argv, fit_options *o);
/* The defaults that depend on other options (--lr by stage, --min-lr from --lr), for a new run, and the
 * checks of the numbers: --min-lr above --lr refused, --lr above 1 refused without --force (usage errors),
 * below 1e-12 warned about. */
void fit_options_defaults(fit_options *o);
/* The options that change the arithmetic, as the JSON object stored in checkpoints and resume files. */
char *fit_options_json(const fit_options *o, int epochs, const char *split);
/* Take a resumed run's stored options (json_text from the resume file `file`); explicitly given ones must
 * agree (else dies with LFM_EXIT_USAGE). *split_out receives the stored split. Returns the stored thread
 * count. */
int fit_options_apply_stored(fit_options *o, const char *json_text, const char *file, char **split_out);
/* The precision the run computes in, once the device is known (on_gpu): --precision when given (the CPU
 * has fp32 only: anything else is a usage error), else a resumed run's stored one (a bf16 or tf32 run
 * resumed on the CPU continues in fp32, said on stderr), else bf16 on a GPU and fp32 on the CPU. */
void fit_options_resolve_precision(fit_options *o, int on_gpu);
/* argv as one line, arguments with shell metacharacters single-quoted (freshly allocated). */
char *fit_command_line(int argc, char **argv);

#endif
