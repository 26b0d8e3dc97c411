/* train.c — lfm-fit's epoch loop: batches in order from where the run stands, one optimisation step each,
 * the learning rate of the epoch (cosine, stepped per epoch), a metrics record per step; at an epoch's
 * end validation, the epoch record and the saved state; a signal or --max-steps stops at a step's end.
 *
 * Data parallel (train/fit_step.h): each rank trains on its slice of the batch, its part of the loss and
 * its "stop" (a signal it received) are summed over the ranks in one small collective, the gradients in
 * another, then every rank applies the same update. Decisions that end the loop (a signal, a loss that is
 * not finite) are taken from the sums, so every rank takes them at the same step. One process takes the
 * same path with sums that do nothing, which is fit_step's arithmetic bit for bit. */
#include "run.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/errors.h"
#include "base/progress.h"
#include "train/lr_schedule.h"
#include "batches.h"
#include "signals.h"

/* A loss that is not finite: stop with the message that says what is kept (every rank knows it from the
 * sums, so each ends its part of the collective work first: a launcher then sees an ordered exit). */
static void die_not_finite(run *r, double loss, uint64_t e)
{
	const fit_options *o = &r->o;
	if (r->dist->world > 1 && r->dist->rank != 0) {
		dist_close(r->dist);
		exit(LFM_EXIT_DATA); /* rank 0 says why */
	}
	if (r->dist->world > 1) {
		dist_close(r->dist);
		r->dist = NULL;
	}
	if (r->saved_any || o->resume)
		die(LFM_EXIT_DATA, "step %ld (epoch %llu): the loss is %s; stopping. %s keeps the last good "
				   "state (step %ld). A lower --lr may help",
		    r->fs.step + 1, (unsigned long long)e, isnan(loss) ? "NaN" : "infinite", o->output,
		    r->saved_any ? r->last_saved_step : r->resume_step);
	die(LFM_EXIT_DATA, "step %ld (epoch %llu): the loss is %s; stopping before any checkpoint was "
			   "written (%s left as it was). A lower --lr may help",
	    r->fs.step + 1, (unsigned long long)e, isnan(loss) ? "NaN" : "infinite", o->output);
}

static int max_steps_reached(const run *r)
{
	return r->o.max_steps && r->fs.step >= r->o.max_steps;
}

/* The ranks' signals, summed: the signal number of the lowest-numbered one that any rank received (each
 * rank adds one flag per signal kind), 0 for none. One process: its own. */
/* This rank's signal as two flags (SIGINT, SIGTERM) to be summed with the others', and the signal the
 * sums say (SIGINT first). */
static void signal_flags(double v[2])
{
	int sig = signals_stop_requested();
	v[0] = sig == SIGINT;
	v[1] = sig == SIGTERM;
}

static int signal_of_sums(const double v[2]) { return v[0] > 0 ? SIGINT : v[1] > 0 ? SIGTERM : 0; }

static int stop_agreed(run *r, const char *what)
{
	if (r->dist->world == 1)
		return signals_stop_requested();
	double v[2];
	signal_flags(v);
	dist_sum_f64(r->dist, v, 2, what);
	return signal_of_sums(v);
}

static const char *stop_reason(int sig)
{
	return sig ? signals_name(sig) : "--max-steps";
}

/* One step on this rank's slice b of the batch: the ranks' loss parts summed (with their stop flags in
 * the same collective), then the gradients, then the update when the loss is finite. Returns the global
 * batch's mean loss; *stop the agreed signal. */
static double train_step(run *r, const fit_batch *b, double lr, int *stop)
{
	fit_state *s = &r->fs;
	char what[64];
	snprintf(what, sizeof what, "the loss of step %ld", s->step + 1);
	double part = b->count == 0 ? fit_forward_backward_part(s, NULL, NULL, 0, b->global_count)
		      : b->raw ? fit_forward_backward_raw_part(s, &(fit_raw_batch){FIT_RAW_BATCH_OF(b->raw)}, b->targets,
							      b->global_count)
			       : fit_forward_backward_part(s, b->pixels, b->targets, b->count, b->global_count);
	double loss = part;
	*stop = 0;
	if (r->dist->world > 1) {
		double v[3] = {part};
		signal_flags(v + 1);
		dist_sum_f64(r->dist, v, 3, what);
		loss = v[0];
		*stop = signal_of_sums(v + 1);
	} else {
		*stop = signals_stop_requested();
	}
	if (!isfinite(loss))
		return loss;
	snprintf(what, sizeof what, "the gradients of step %ld", s->step + 1);
	fit_reduce_grads(s, what);
	fit_update(s, lr);
	return loss;
}

const char *run_train(run *r, thread_pool *loaders)
{
	const fit_options *o = &r->o;
	char err[1024];
	batches *bt = batches_new(r->ds, r->model.cfg.image_resolution, r->raw_w, r->raw_h, loaders, o->batch, r->C,
				  r->per_epoch, o->seed, &r->src, r->dist->rank, r->dist->world);
	uint64_t total = (uint64_t)r->epochs * r->per_epoch;
	long total_steps = (long)((uint64_t)r->epochs * r->steps_per_epoch), step0 = r->fs.step;
	char label[32];
	snprintf(label, sizeof label, "lfm-fit stage %d", o->stage);
	progress prog;
	progress_start_at(&prog, label, (uint64_t)step0, (uint64_t)total_steps, "steps");
	if (!run_writes(r))
		prog.mode = 0; /* off: rank 0 shows the run's progress */
	double t0 = progress_now(), t_prev = t0;
	const char *stop_why = NULL;
	char val_note[64] = ""; /* the last validation, in the progress line */
	if (max_steps_reached(r) && r->records < total)
		stop_why = "--max-steps"; /* a resumed run already there */

	while (r->records < total && !stop_why) {
		uint64_t e = r->records / r->per_epoch, pos = r->records % r->per_epoch;
		double lr = lr_cosine(o->lr, o->min_lr, r->epochs, (long)e);
		double t_epoch = progress_now();
		long epoch_first_step = r->fs.step;
		uint64_t epoch_first_record = r->records;
		int start_sig = stop_agreed(r, "the stop decision at an epoch's start");
		if (start_sig || batches_begin(bt, e, pos, err, sizeof err)) {
			/* A signal also stops the programs upstream in a pipeline: a plan that ends now is their
			 * doing, not an error. The state was saved at the last epoch's end. */
			if (!start_sig && !signals_stop_requested())
				die(LFM_EXIT_DATA, "%s", err);
			stop_why = stop_reason(start_sig ? start_sig : signals_stop_requested());
			break;
		}
		while (pos < r->per_epoch) {
			int code = LFM_EXIT_DATA;
			fit_batch b;
			if (batches_wait(bt, &b, &code, err, sizeof err))
				die(code, "%s: %s", o->data, err);
			/* read ahead, and load while this step trains (a signal: train this step, then stop below) */
			/* (several ranks: always, since whether to stop is only agreed after the step) */
			int alone = r->dist->world == 1;
			if ((!alone || !signals_stop_requested()) && batches_read_ahead(bt, err, sizeof err) < 0 &&
			    (!alone || !signals_stop_requested()))
				die(LFM_EXIT_DATA, "%s", err);
			int sig = 0;
			double loss = train_step(r, &b, lr, &sig);
			if (!isfinite(loss)) {
				progress_finish(&prog);
				die_not_finite(r, loss, e);
			}
			r->records += (uint64_t)b.global_count;
			pos += (uint64_t)b.global_count;
			r->epoch_loss_sum += loss;
			r->epoch_steps++;
			double now = progress_now();
			run_log_record(r, "step", (long)e, r->fs.step, loss, lr, b.global_count / (now - t_prev), now - t0, -1,
				       NULL);
			t_prev = now;
			progress_note(&prog, "loss %.4g%s", r->epoch_loss_sum / (double)r->epoch_steps, val_note);
			progress_update(&prog, (uint64_t)r->fs.step);
			if ((sig || max_steps_reached(r)) && pos < r->per_epoch) {
				stop_why = stop_reason(sig);
				break;
			}
		}
		if (stop_why)
			break;
		/* the epoch's end */
		double now = progress_now();
		val_figures valr;
		long steps = r->fs.step - epoch_first_step;
		if (r->have_val) {
			validation_run(&r->val, &r->fs, o->batch, o->val, r->dist, &valr);
			snprintf(val_note, sizeof val_note, ", val top-1 %.1f%% (epoch %llu)", 100 * valr.top1,
				 (unsigned long long)e);
		}
		run_log_record(r, "epoch", (long)e, r->fs.step, r->epoch_loss_sum / (double)r->epoch_steps, lr,
			       steps ? (double)(r->records - epoch_first_record) / (now - t_epoch) : 0, progress_now() - t0,
			       r->epoch_steps, r->have_val ? &valr : NULL);
		r->epoch_loss_sum = 0;
		r->epoch_steps = 0;
		run_save(r);
		int end_sig = stop_agreed(r, "the stop decision at an epoch's end");
		if (r->records < total && (end_sig || max_steps_reached(r))) {
			stop_why = stop_reason(end_sig);
			break;
		}
	}
	progress_finish(&prog);
	batches_free(bt);
	return stop_why;
}
