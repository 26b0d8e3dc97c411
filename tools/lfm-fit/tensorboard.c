/* tensorboard.c — lfm-fit --tensorboard DIR: the metrics records as TensorBoard scalars (io/tfevents.h;
 * the tags: formats/tensorboard.md). Written by rank 0 only, as the log is; the step of every scalar is
 * the optimisation step (fs.step, counted from the run's start, so a resumed run's scalars continue its
 * curves). Values are float32, as TensorBoard's simple_value holds them. */
#include "run.h"

#include <math.h>
#include <stdio.h>

#include "base/errors.h"

void run_tb_open(run *r)
{
	r->tb.path = NULL;
	r->tb.fd = -1;
	if (!r->o.tensorboard || !run_writes(r))
		return;
	char err[1024];
	if (tfevents_open(&r->tb, r->o.tensorboard, err, sizeof err))
		die(LFM_EXIT_IO, "--tensorboard: %s", err);
	/* the steps from here on are this run's: what an earlier piece wrote at them is stale */
	if (tfevents_start(&r->tb, r->fs.step + 1, err, sizeof err))
		die(LFM_EXIT_IO, "--tensorboard: %s", err);
}

static void scalar(run *r, const char *tag, long step, double v)
{
	char err[1024];
	if (tfevents_scalar(&r->tb, tag, step, (float)v, err, sizeof err))
		run_output_failed(r, err);
}

void run_tb_record(run *r, int is_epoch, long step, double loss, double lr, double ips, const val_figures *val)
{
	if (!r->tb.path)
		return;
	if (!is_epoch) {
		scalar(r, "train/loss", step, loss);
		scalar(r, "train/lr", step, lr);
		scalar(r, "train/images_per_s", step, ips);
		return;
	}
	scalar(r, "epoch/loss", step, loss);
	scalar(r, "epoch/images_per_s", step, ips);
	if (!val)
		return;
	scalar(r, "val/top1", step, val->top1);
	scalar(r, "val/loss", step, val->loss);
	for (int g = 0; g < EVAL_NUM_GROUPS; g++)
		if (!isnan(val->group_top1[g])) { /* a group without validation samples has no curve */
			char tag[32];
			snprintf(tag, sizeof tag, "val/top1_%s", eval_group_name(g));
			scalar(r, tag, step, val->group_top1[g]);
		}
}

void run_tb_close(run *r)
{
	char err[1024];
	if (tfevents_close(&r->tb, err, sizeof err))
		die(LFM_EXIT_IO, "--tensorboard: %s", err);
}
