/* train.c — lfm-fit's epoch loop: batches in order from where the run stands, one optimisation step each,
 * the learning rate of the epoch (cosine, stepped per epoch), a metrics record per step; at an epoch's
 * end validation, the epoch record and the saved state; a signal or --max-steps stops at a step's end.
 *
 * A data-parallel run will reduce the gradients between fit_forward_backward and fit_update (see
 * train/fit_step.h); one process takes both halves here. */
#include "run.h"

#include <math.h>
#include <stdio.h>

#include "base/errors.h"
#include "base/progress.h"
#include "train/lr_schedule.h"
#include "batches.h"
#include "signals.h"

/* A loss that is not finite: stop with the message that says what is kept. */
static void die_not_finite(const run *r, double loss, uint64_t e)
{
	const fit_options *o = &r->o;
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

static const char *stop_reason(void)
{
	int sig = signals_stop_requested();
	return sig ? signals_name(sig) : "--max-steps";
}

const char *run_train(run *r, thread_pool *loaders)
{
	const fit_options *o = &r->o;
	char err[1024];
	batches *bt = batches_new(r->ds, r->model.cfg.image_resolution, r->raw_w, r->raw_h, loaders, o->batch, r->C,
				  r->per_epoch, o->seed, &r->src);
	uint64_t total = (uint64_t)r->epochs * r->per_epoch;
	long total_steps = (long)((uint64_t)r->epochs * r->steps_per_epoch), step0 = r->fs.step;
	char label[32];
	snprintf(label, sizeof label, "lfm-fit stage %d", o->stage);
	progress prog;
	progress_start_at(&prog, label, (uint64_t)step0, (uint64_t)total_steps, "steps");
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
		if (signals_stop_requested() || batches_begin(bt, e, pos, err, sizeof err)) {
			/* A signal also stops the programs upstream in a pipeline: a plan that ends now is their
			 * doing, not an error. The state was saved at the last epoch's end. */
			if (!signals_stop_requested())
				die(LFM_EXIT_DATA, "%s", err);
			stop_why = stop_reason();
			break;
		}
		while (pos < r->per_epoch) {
			int code = LFM_EXIT_DATA;
			fit_batch b;
			if (batches_wait(bt, &b, &code, err, sizeof err))
				die(code, "%s: %s", o->data, err);
			/* read ahead, and load while this step trains (a signal: train this step, then stop below) */
			if (!signals_stop_requested() && batches_read_ahead(bt, err, sizeof err) < 0 &&
			    !signals_stop_requested())
				die(LFM_EXIT_DATA, "%s", err);
			double loss = b.raw ? fit_step_raw(&r->fs, &(fit_raw_batch){FIT_RAW_BATCH_OF(b.raw)}, b.targets, lr)
					    : fit_step(&r->fs, b.pixels, b.targets, b.count, lr);
			if (!isfinite(loss)) {
				progress_finish(&prog);
				die_not_finite(r, loss, e);
			}
			r->records += (uint64_t)b.count;
			pos += (uint64_t)b.count;
			r->epoch_loss_sum += loss;
			r->epoch_steps++;
			double now = progress_now();
			if (!o->log_epochs_only)
				run_log_record(r, "step", (long)e, r->fs.step, loss, lr, b.count / (now - t_prev), now - t0, -1,
					       NULL);
			t_prev = now;
			progress_note(&prog, "loss %.4g%s", r->epoch_loss_sum / (double)r->epoch_steps, val_note);
			progress_update(&prog, (uint64_t)r->fs.step);
			if ((signals_stop_requested() || max_steps_reached(r)) && pos < r->per_epoch) {
				stop_why = stop_reason();
				break;
			}
		}
		if (stop_why)
			break;
		/* the epoch's end */
		double now = progress_now(), valr[2];
		long steps = r->fs.step - epoch_first_step;
		if (r->have_val) {
			validation_run(&r->val, &r->fs, o->batch, o->val, &valr[0], &valr[1]);
			snprintf(val_note, sizeof val_note, ", val top-1 %.1f%% (epoch %llu)", 100 * valr[0],
				 (unsigned long long)e);
		}
		run_log_record(r, "epoch", (long)e, r->fs.step, r->epoch_loss_sum / (double)r->epoch_steps, lr,
			       steps ? (double)(r->records - epoch_first_record) / (now - t_epoch) : 0, progress_now() - t0,
			       r->epoch_steps, r->have_val ? valr : NULL);
		r->epoch_loss_sum = 0;
		r->epoch_steps = 0;
		run_save(r);
		if (r->records < total && (signals_stop_requested() || max_steps_reached(r))) {
			stop_why = stop_reason();
			break;
		}
	}
	progress_finish(&prog);
	batches_free(bt);
	return stop_why;
}
