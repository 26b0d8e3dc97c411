/* run_log.c — lfm-fit's metrics records (formats/metrics.md): the header naming the run, one record per
 * step and per epoch. */
#include "run.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/errors.h"
#include "io/stream.h"

void run_output_failed(run *r, const char *err)
{
	if (r->fs.step != r->resume_step && r->last_saved_step != r->fs.step) {
		run_save(r);
		die(LFM_EXIT_IO, "%s; the run stopped at step %ld, saved in %s (continue with --resume)", err, r->fs.step,
		    r->o.output);
	}
	die(LFM_EXIT_IO, "%s", err);
}

/* The log cannot be written (a full disk, a closed pipe): saved, then the log's message. */
static void log_end(run *r)
{
	char err[1024];
	if (metrics_try_end(&r->log, err, sizeof err) != 0)
		run_output_failed(r, err);
}

void run_log_open(run *r)
{
	const fit_options *o = &r->o;
	if (!run_writes(r)) { /* rank 0 writes the log: the others' records go nowhere */
		metrics_open(&r->log, NULL, o->log_json);
		return;
	}
	struct stat st;
	if (o->log && r->have_resume && strcmp(o->log, "-") != 0 && stat(o->log, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size > 0) {
		/* the run's own log, continued: records after the resumed step (logged after the checkpoint
		 * it resumes from) are cut, the others kept, and no second header is written */
		metrics_keep k;
		char err[1024];
		if (metrics_log_keep(o->log, r->resume_step, &k, err, sizeof err))
			die(LFM_EXIT_USAGE, "--log: %s; a resumed run continues its own log (give another file for a new one)",
			    err);
		if (o->log_json >= 0 && o->log_json != k.json)
			die(LFM_EXIT_USAGE, "--log-format %s: %s is a %s log", o->log_json ? "json" : "msgpack", o->log,
			    k.json ? "JSON lines" : "msgpack");
		if (k.dropped)
			warn("%s: %llu records of steps after %ld (logged after the checkpoint) cut: they are trained again",
			     o->log, (unsigned long long)k.dropped, r->resume_step);
		metrics_open_append(&r->log, o->log, k.json);
		return;
	}
	metrics_open(&r->log, o->log, o->log_json);
	run_log_header(r);
}

void run_log_header(run *r)
{
	metrics_log *log = &r->log;
	msgpack_packer *pk = metrics_begin(log);
	int n = 14 + (r->o.resume != NULL);
	msgpack_pack_map(pk, (size_t)n);
	mp_pack_kv_str(pk, "format", "lfm.metrics/1");
	mp_pack_kv_str(pk, "command", r->command);
	mp_pack_kv_int(pk, "stage", r->o.stage);
	mp_pack_kv_str(pk, "every", r->o.log_epochs_only ? "epoch" : "step");
	mp_pack_kv_int(pk, "epochs", r->epochs);
	mp_pack_kv_int(pk, "steps_per_epoch", (int64_t)r->steps_per_epoch);
	mp_pack_kv_int(pk, "records_per_epoch", (int64_t)r->per_epoch);
	mp_pack_kv_int(pk, "batch", r->o.batch);
	mp_pack_kv_int(pk, "ranks", r->dist->world);
	mp_pack_kv_str(pk, "loss", loss_kind_name(r->o.loss));
	mp_pack_kv_f64(pk, "lr", r->o.lr);
	mp_pack_kv_f64(pk, "min_lr", r->o.min_lr);
	mp_pack_kv_uint(pk, "seed", r->o.seed);
	mp_pack_kv_str(pk, "model", r->origin_model);
	if (r->o.resume)
		mp_pack_kv_str(pk, "resumed_from", r->o.resume);
	log_end(r);
}

void run_log_record(run *r, const char *kind, long epoch, long step, double loss, double lr, double ips,
		    double elapsed, long steps, const val_figures *val)
{
	int is_epoch = strcmp(kind, "epoch") == 0;
	run_tb_record(r, is_epoch, step, loss, lr, ips, val);
	if (!is_epoch && r->o.log_epochs_only)
		return;
	metrics_log *log = &r->log;
	int groups = 0; /* the groups with validation samples: val_top1_<group> */
	for (int g = 0; val && g < EVAL_NUM_GROUPS; g++)
		groups += !isnan(val->group_top1[g]);
	msgpack_packer *pk = metrics_begin(log);
	int on_gpu = r->cuda != NULL && steps >= 0; /* epoch records of a GPU run: its peak device memory */
	msgpack_pack_map(pk, (size_t)(7 + (steps >= 0) + (val ? 2 + groups : 0) + on_gpu));
	mp_pack_kv_str(pk, "kind", kind);
	mp_pack_kv_int(pk, "epoch", epoch);
	mp_pack_kv_int(pk, "step", step);
	mp_pack_kv_f64(pk, "loss", loss);
	mp_pack_kv_f64(pk, "lr", lr);
	mp_pack_kv_f64(pk, "images_per_s", ips);
	mp_pack_kv_f64(pk, "elapsed_s", elapsed);
	if (steps >= 0)
		mp_pack_kv_int(pk, "steps", steps);
	if (on_gpu)
		mp_pack_kv_uint(pk, "device_peak_bytes", (uint64_t)lfm_cuda_peak_bytes(r->cuda));
	if (val) {
		mp_pack_kv_f64(pk, "val_top1", val->top1);
		mp_pack_kv_f64(pk, "val_loss", val->loss);
		for (int g = 0; g < EVAL_NUM_GROUPS; g++)
			if (!isnan(val->group_top1[g])) {
				char key[32];
				snprintf(key, sizeof key, "val_top1_%s", eval_group_name(g));
				mp_pack_kv_f64(pk, key, val->group_top1[g]);
			}
	}
	log_end(r);
}
