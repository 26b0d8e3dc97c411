/* run_log.c — lfm-fit's metrics records (formats/metrics.md): the header naming the run, one record per
 * step and per epoch. */
#include "run.h"

#include "io/stream.h"

void run_log_header(run *r)
{
	metrics_log *log = &r->log;
	msgpack_packer *pk = metrics_begin(log);
	int n = 13 + (r->o.resume != NULL);
	msgpack_pack_map(pk, (size_t)n);
	mp_pack_kv_str(pk, "format", "lfm.metrics/1");
	mp_pack_kv_str(pk, "command", r->command);
	mp_pack_kv_int(pk, "stage", r->o.stage);
	mp_pack_kv_str(pk, "every", r->o.log_epochs_only ? "epoch" : "step");
	mp_pack_kv_int(pk, "epochs", r->epochs);
	mp_pack_kv_int(pk, "steps_per_epoch", (int64_t)r->steps_per_epoch);
	mp_pack_kv_int(pk, "records_per_epoch", (int64_t)r->per_epoch);
	mp_pack_kv_int(pk, "batch", r->o.batch);
	mp_pack_kv_str(pk, "loss", loss_kind_name(r->o.loss));
	mp_pack_kv_f64(pk, "lr", r->o.lr);
	mp_pack_kv_f64(pk, "min_lr", r->o.min_lr);
	mp_pack_kv_uint(pk, "seed", r->o.seed);
	mp_pack_kv_str(pk, "model", r->origin_model);
	if (r->o.resume)
		mp_pack_kv_str(pk, "resumed_from", r->o.resume);
	metrics_end(log);
}

void run_log_record(run *r, const char *kind, long epoch, long step, double loss, double lr, double ips,
		    double elapsed, long steps, const double *val)
{
	metrics_log *log = &r->log;
	msgpack_packer *pk = metrics_begin(log);
	msgpack_pack_map(pk, (size_t)(7 + (steps >= 0) + (val ? 2 : 0)));
	mp_pack_kv_str(pk, "kind", kind);
	mp_pack_kv_int(pk, "epoch", epoch);
	mp_pack_kv_int(pk, "step", step);
	mp_pack_kv_f64(pk, "loss", loss);
	mp_pack_kv_f64(pk, "lr", lr);
	mp_pack_kv_f64(pk, "images_per_s", ips);
	mp_pack_kv_f64(pk, "elapsed_s", elapsed);
	if (steps >= 0)
		mp_pack_kv_int(pk, "steps", steps);
	if (val) {
		mp_pack_kv_f64(pk, "val_top1", val[0]);
		mp_pack_kv_f64(pk, "val_loss", val[1]);
	}
	metrics_end(log);
}
