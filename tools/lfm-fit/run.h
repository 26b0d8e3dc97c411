/* run.h — one lfm-fit run: its options, model, step, examples and progress, shared by the files that
 * make the tool (main.c glue; resume.c the resume file's checks and the saved state; train.c the epoch
 * loop; run_log.c the metrics records). */
#ifndef LFM_FIT_RUN_H
#define LFM_FIT_RUN_H

#include <stdint.h>

#include "data/dataset.h"
#include "dist/dist.h"
#include "io/metrics.h"
#include "io/safetensors.h"
#include "io/tfevents.h"
#include "model/clip_weights.h"
#include "train/fit_step.h"
#include "cuda_context.h"
#include "cuda_fit.h"
#include "fit_options.h"
#include "records.h"
#include "validation.h"

typedef struct run {
	fit_options o;
	char *command, *opts_json, *split, *origin_model;
	char *resume_path, *resume_next_path; /* beside -o: the resume file, and the next one while saving */
	char *lock_path;                      /* -o's lock (lfm_lock_output) */
	char *in_resume, *in_resume_next;     /* beside --resume: the resume files it may continue from */
	char *first_command;   /* a resumed run: the command that started it (kept in the checkpoint) */
	char *resume_commands; /* a resumed run: JSON array of the commands that resumed it, this one last */
	st_file source;    /* the weights or the checkpoint the run starts from */
	clip_model model;
	fit_state fs;
	lfm_cuda_context *cuda; /* --device: the GPU's context, NULL on the CPU */
	dist_comm *dist;        /* the ranks (world 1: one process); rank 0 writes every output */
	int stored_world;       /* a resumed run: the world size its resume file records (0: not recorded) */
	record_source src;
	dataset *ds;
	float *text;       /* [C, D] */
	int C, D, epochs;
	uint64_t per_epoch, steps_per_epoch, text_hash;
	/* resuming: the resume file, open from run_resume_check to run_resume_apply */
	st_file resume;
	int have_resume;
	long resume_step;
	uint64_t resume_records;
	char *stored_split;
	/* progress of the run */
	uint64_t records;       /* trained on */
	double epoch_loss_sum;  /* of the epoch in progress */
	long epoch_steps;
	long last_saved_step;   /* -1: nothing written by this run */
	int saved_any;
	/* outputs */
	int raw_w, raw_h; /* > 0: batches go to the device as RGB8 images of this size (--preprocess) */
	int have_val;
	validation val;
	metrics_log log;
	tfevents_writer tb; /* --tensorboard (rank 0): tb.path NULL when there is none */
} run;

/* --resume: check the checkpoint and its resume file — the one of the two beside it (the resume file, the
 * next one of a save that was cut short) whose step and checkpoint_hash are the checkpoint's —, take the
 * stored options into r->o (explicit ones must agree) and keep the resume file open for
 * run_resume_apply. Dies with a message. */
void run_resume_check(run *r);
/* After the step is set up: Adam's moments from the resume file, the checks of the text features and
 * position, the examples skipped to where the run stopped; closes the resume file. */
void run_resume_apply(run *r);
/* The checkpoint and the resume file of the state now (dies, keeping the previous files, when the
 * parameters are no longer finite). The order keeps a resumable pair on disk at every instant
 * (lfm-checkpoint(5), Saving): the next resume file (naming the checkpoint by step and hash) renamed into
 * place beside the old pair, then the checkpoint, then the next resume file renamed over the old one. */
void run_save(run *r);
/* Before any work: the files of the run declared for the same-file rule, -o locked, and the temporary
 * files a killed run left beside -o (and its resume files) removed, each named in a warning. */
void run_claim_outputs(run *r);
/* The run completed: its resume files are removed. */
void run_remove_resume_files(run *r);

/* Open --log: a new log with its header, or, for a resumed run whose --log file exists, that log
 * continued (checked to be a metrics log, cut after the resumed step, appended to). */
void run_log_open(run *r);
/* The metrics log's header, and one record (kind "step" or "epoch"; steps < 0 and val NULL leave those
 * fields out); step records are left out of the log under --log-every epoch. Each record also goes to
 * --tensorboard's event file as scalars (tensorboard.c), every step's whatever --log-every says. */
void run_log_header(run *r);
void run_log_record(run *r, const char *kind, long epoch, long step, double loss, double lr, double ips,
		    double elapsed, long steps, const val_figures *val);
/* An output of the run (the log, the event file) failed with the message err: the state of the steps
 * trained since the last save is saved first (a stop as at a signal, resumable), then the run dies. */
_Noreturn void run_output_failed(run *r, const char *err);

/* --tensorboard DIR (tensorboard.c; rank 0 only, a no-op elsewhere or without the option): a new event
 * file in DIR (created when missing) starting with a SessionLog START at the first step this run trains,
 * so that TensorBoard drops the events a stopped piece of the run wrote after the checkpoint resumed
 * from; dies with a message naming DIR (exit 3) when it cannot be written. Then the scalars of one
 * record, and the close. */
void run_tb_open(run *r);
void run_tb_record(run *r, int is_epoch, long step, double loss, double lr, double ips, const val_figures *val);
void run_tb_close(run *r);

/* Rank 0 of the run (the one that writes), or a run of one process. */
static inline int run_writes(const run *r) { return !r->dist || r->dist->rank == 0; }

/* The epoch loop, from r->records to the end of the run or a stop: returns NULL when the run is
 * complete, else why it stopped ("SIGINT", "SIGTERM", "--max-steps"; the state is saved). Dies on bad
 * data or a loss that is not finite. */
const char *run_train(run *r, thread_pool *loaders);

#endif
