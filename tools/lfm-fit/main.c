/* lfm-fit — trains CLIP's visual tower (stage 1) or the matrix W_I on top of the frozen tower (stage 2) on a
 * mix plan, as the text-guided-mixup paper's official code does, on the CPU; writes safetensors checkpoints
 * that keep the weights' tensor names, a resume file for an exact continuation, and a metrics log.
 *
 * The tool's files: fit_options.c (the command line and the options a run stores), resume.c (--resume's
 * checks and the saved state), batches.c (the double-buffered batches), train.c (the epoch loop),
 * validation.c (--val), run_log.c (metrics records), tensorboard.c (--tensorboard's event files),
 * records.c (the examples: plan or samples stream,
 * checked against the dataset), signals.c (SIGINT/SIGTERM); resume.c also claims -o (the same-file rule,
 * the lock, a killed run's temporary files); this file is the glue. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/options.h"
#include "dist/dist.h"
#include "cuda_dist.h"
#include "base/thread_pool.h"
#include "data/batch_loader.h"
#include "io/npy.h"
#include "model/checkpoint.h"
#include "train/losses.h"
#include "run.h"
#include "signals.h"

/* FNV-1a over the bytes of an array: recognises the same text features at a resume. */
static uint64_t fnv1a(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* The model: the weights, or the checkpoint of the run to resume (whose options then apply). */
static void open_model(run *r)
{
	fit_options *o = &r->o;
	const char *model_path = o->resume ? o->resume : o->model;
	st_open_or_die(model_path, &r->source);
	char err[1024];
	clip_load_opts lo = {.towers = CLIP_VISION};
	if (clip_model_load(&r->model, &r->source, &lo, err, sizeof err))
		die(LFM_EXIT_DATA, "%s", err);
	r->D = r->model.cfg.embed_dim;
	if (o->resume) {
		run_resume_check(r);
	} else {
		r->origin_model = xstrdup(o->model);
		fit_options_defaults(o); /* a resumed run has its stored values */
	}
}

/* The text features, the examples and the dataset they index, and the run's length. */
static void open_inputs(run *r)
{
	fit_options *o = &r->o;
	int64_t ts[NPY_MAX_DIMS];
	size_t tcount;
	r->text = npy_load_f32(o->text, 2, ts, &tcount);
	if (ts[1] != r->D)
		die(LFM_EXIT_DATA, "%s: features of %lld dimensions, the model's embedding has %d", o->text,
		    (long long)ts[1], r->D);
	r->text_hash = fnv1a(r->text, tcount * sizeof *r->text);

	if (o->samples)
		record_source_open_samples(&r->src, o->samples, o->seed);
	else
		record_source_open_plan(&r->src, o->plan);
	r->C = r->src.header.info.classes;
	if (r->have_resume) {
		const char *input = st_meta(&r->resume, "input");
		if (!input || strcmp(input, r->src.header.info.header_json) != 0)
			die(LFM_EXIT_DATA, "%s: its header differs from the one the resumed run read (command aside): "
					   "resume with the same %s",
			    r->src.name, o->samples ? "samples stream" : "plan");
	}
	if (ts[0] != r->C)
		die(LFM_EXIT_DATA, "%s has %lld rows but %s has %d classes: text features for another class list", o->text,
		    (long long)ts[0], r->src.name, r->C);
	const char *split = r->stored_split ? r->stored_split : o->split ? o->split : r->src.header.info.split ? r->src.header.info.split : "train";
	r->split = xstrdup(split);
	dataset_options dopt = {.split = r->split, .root = o->root, .cache_dir = o->cache_dir};
	r->ds = dataset_open_or_die(o->data, &dopt);
	record_source_bind(&r->src, r->ds, o->data);
	r->per_epoch = r->src.header.per_epoch;
	if (o->samples) {
		r->epochs = o->epochs ? o->epochs : 1;
	} else {
		if (o->epochs > r->src.header.epochs)
			die(LFM_EXIT_USAGE, "--epochs %d: the plan holds %d epochs", o->epochs, r->src.header.epochs);
		r->epochs = o->epochs ? o->epochs : r->src.header.epochs;
	}
	o->epochs = r->epochs;
	r->steps_per_epoch = (r->per_epoch + (uint64_t)o->batch - 1) / (uint64_t)o->batch;
	fit_options_resolve_precision(o, r->cuda != NULL);
	r->opts_json = fit_options_json(o, r->epochs, r->split);
}

/* The training step on the compute pool: the tower runs image-parallel on it, each slice's products on one
 * OpenBLAS thread (faster than OpenBLAS's threads alone, which leave the rest of each layer to one core:
 * bench/RESULTS.md); stage 2 starts from the checkpoint's W_I when it has one. */
static void open_step(run *r, thread_pool *compute)
{
	const fit_options *o = &r->o;
	fit_context ctx = {FIT_BACKEND_CPU, compute, NULL, NULL, LFM_PRECISION_FP32, 0, r->dist};
	if (r->cuda)
		ctx = (fit_context){FIT_BACKEND_DEVICE, compute, &lfm_cuda_fit_ops, r->cuda, o->precision, o->recompute,
				    r->dist};
	size_t lo, hi; /* the step holds this rank's slice of a batch: rank 0's is a largest one */
	dist_slice((size_t)o->batch, 0, r->dist->world, &lo, &hi);
	loss_config lc;
	loss_config_defaults(&lc, o->loss, r->C);
	lc.counts = r->src.counts;
	lc.focal_gamma = o->focal_gamma;
	lc.mms_margin = o->mms_margin;
	lc.mms_temperature = o->mms_temperature;
	adam_config ac;
	adam_config_defaults(&ac);
	ac.weight_decay = o->weight_decay;
	ac.lr = o->lr;
	char err[1024];
	if (fit_init(&r->fs, &ctx, &r->model.vision, o->stage, r->text, r->C, &lc, &ac, (int)(hi - lo), err, sizeof err))
		die(LFM_EXIT_DATA, "%s", err);
	if (o->stage == 2) {
		const st_tensor *fc = st_find(&r->source, "fc.weight");
		if (fc) {
			if (fc->ndim != 2 || fc->shape[0] != r->D || fc->shape[1] != r->D ||
			    (fc->dtype != DT_F32 && fc->dtype != DT_F16 && fc->dtype != DT_BF16))
				die(LFM_EXIT_DATA, "%s: fc.weight is not a float [%d, %d] matrix",
				    o->resume ? o->resume : o->model, r->D, r->D);
			st_to_f32(fc, r->fs.head.fc);
			fit_host_changed(&r->fs);
		}
	}
}

/* The command that continues a stopped run: every option that is not stored in the resume file (the
 * arithmetic and the thread count are, so they need not be repeated), quoted for the shell. */
static char *resume_hint(const run *r)
{
	const fit_options *o = &r->o;
	const char *argv[32];
	int n = 0;
#define ARG2(flag, value) \
	do { \
		if (value) { \
			argv[n++] = flag; \
			argv[n++] = value; \
		} \
	} while (0)
	argv[n++] = lfm_progname();
	ARG2("--resume", o->output);
	ARG2("-o", o->output);
	ARG2("--text", o->text);
	ARG2("--data", o->data);
	ARG2("--root", o->root);
	ARG2("--cache-dir", o->cache_dir);
	ARG2("--val", o->val);
	ARG2("--val-data", o->val_data);
	ARG2("--log", o->log);
	ARG2("--tensorboard", o->tensorboard);
	if (o->log && o->log_json >= 0)
		ARG2("--log-format", o->log_json ? "json" : "msgpack");
	if (o->log_epochs_only)
		ARG2("--log-every", "epoch");
	if (o->samples)
		ARG2("--samples", o->samples);
	else
		argv[n++] = o->plan;
#undef ARG2
	return fit_command_line(n, (char **)argv);
}

/* --preprocess: on the device when the runner takes raw batches and the images share one size (CIFAR's
 * 32 x 32 always; with "device", the size of the first training sample, any other failing its batch). */
static void choose_preprocessing(run *r)
{
	const fit_options *o = &r->o;
	int kind = dataset_get_kind(r->ds), cifar = kind == DATASET_CIFAR10 || kind == DATASET_CIFAR100;
	if (o->preprocess == FIT_PREP_DEVICE && !fit_takes_raw(&r->fs))
		opt_usage_error("--preprocess device: the images are preprocessed on the CPU when training there "
				"(--device cuda for the GPU)");
	if (o->preprocess != FIT_PREP_CPU && fit_takes_raw(&r->fs)) {
		if (cifar) {
			r->raw_w = r->raw_h = 32;
		} else if (o->preprocess == FIT_PREP_DEVICE && dataset_count(r->ds) > 0) {
			char err[512];
			if (batch_loader_sample_size(r->ds, 0, &r->raw_w, &r->raw_h, err, sizeof err))
				die(LFM_EXIT_DATA, "%s: %s", o->data, err);
		}
	}
	if (r->raw_w)
		fprintf(stderr, "%s: preprocessing: on the device (%d x %d RGB8 images uploaded, resized to %d there)\n",
			lfm_progname(), r->raw_w, r->raw_h, r->model.cfg.image_resolution);
	else if (r->cuda)
		fprintf(stderr, "%s: preprocessing: on the CPU (%s)\n", lfm_progname(),
			o->preprocess == FIT_PREP_CPU ? "--preprocess cpu" : "images of any size; --preprocess device for same-size ones");
}

/* Several ranks: what each must be able to do alone (read the plan whole), said before anything starts. */
static void check_ranks(run *r)
{
	const fit_options *o = &r->o;
	if (r->dist->world == 1)
		return;
	if (o->plan && strcmp(o->plan, "-") == 0)
		opt_usage_error("the plan comes from stdin, but %d ranks each read it whole: give it as a file "
				"(lfm-mix ... > plan, then lfm-fit ... plan)",
				r->dist->world);
	if (o->samples && strcmp(o->samples, "-") == 0)
		opt_usage_error("--samples -: %d ranks each read the samples stream whole: give it as a file",
				r->dist->world);
}

/* Several ranks: said once, by rank 0, when the transport is known. */
static void announce_ranks(const run *r)
{
	if (r->dist->world > 1 && run_writes(r))
		fprintf(stderr, "%s: %d ranks (%s; gradients summed through %s), batch %d over all of them\n",
			lfm_progname(), r->dist->world, dist_launcher_name(r->dist->launcher), r->cuda ? "NCCL" : "MPI",
			r->o.batch);
}

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	run r;
	memset(&r, 0, sizeof r);
	fit_options *o = &r.o;
	fit_options_parse(argc, argv, o);
	r.dist = dist_open(&(dist_options){o->dist_timeout, o->dist_port, NULL});
	check_ranks(&r);
	run_claim_outputs(&r);
	if (run_writes(&r))
		signals_install(o->output);
	else
		signals_retake(); /* rank 0 writes -o: the others only need to hear a signal */
	r.command = fit_command_line(argc, argv);
	r.last_saved_step = -1;

	r.cuda = lfm_device_open_rank(o->device, r.dist->local_rank, r.dist->world);
	if (r.cuda && r.dist->world > 1) {
		char err[1024];
		if (lfm_cuda_dist_attach(r.cuda, r.dist, err, sizeof err))
			die(LFM_EXIT_IO, "%s", err);
	}
	announce_ranks(&r);
	if (r.dist->world > 1 && !r.cuda && !r.dist->allreduce_f32)
		opt_usage_error("%d ranks on the CPU need MPI to sum their gradients (launched by %s%s): start them "
				"with mpirun or srun --mpi=pmix, or train on GPUs (--device cuda: NCCL)",
				r.dist->world, dist_launcher_name(r.dist->launcher),
				dist_have_mpi() ? ", not an MPI launcher" : "; this lfm-fit was built without MPI");
	if (o->given & GIVEN_PRECISION) /* a CPU run refuses bf16 before it reads anything */
		fit_options_resolve_precision(o, r.cuda != NULL);
	open_model(&r);
	open_inputs(&r);
	thread_pool *compute = thread_pool_new(o->threads), *loaders = thread_pool_new(o->threads);
	open_step(&r, compute);
	if (r.have_resume)
		run_resume_apply(&r);
	choose_preprocessing(&r);
	r.have_val = o->val != NULL;
	if (r.have_val)
		validation_open(&r.val, o, r.ds, dataset_split(r.ds), r.src.header.info.header_json,
				r.src.header.info.counts, r.C, r.src.name, loaders, r.model.cfg.image_resolution, r.raw_w,
				r.raw_h);
	run_log_open(&r);
	run_tb_open(&r);

	const char *stop_why = run_train(&r, loaders);
	int exit_code = LFM_EXIT_OK;
	if (stop_why) {
		if (r.last_saved_step != r.fs.step)
			run_save(&r);
		long total_steps = (long)((uint64_t)r.epochs * r.steps_per_epoch);
		/* a signal to any rank stops them all: each exits as interrupted */
		int interrupted = strcmp(stop_why, "--max-steps") != 0;
		if (run_writes(&r)) {
			char *hint = resume_hint(&r);
			char how[96] = "";
			if (r.dist->world > 1)
				snprintf(how, sizeof how, " (%d ranks, started as this run was, by %s)", r.dist->world,
					 dist_launcher_name(r.dist->launcher));
			fprintf(stderr, "%s: %s at step %ld of %ld (epoch %llu); wrote %s and %s\n%s: continue with%s: %s\n",
				lfm_progname(), interrupted ? "interrupted" : "stopped", r.fs.step, total_steps,
				(unsigned long long)(r.records / r.per_epoch), o->output, r.resume_path, lfm_progname(), how,
				hint);
			free(hint);
		} else {
			warn("%s at step %ld with the other ranks (rank 0 saved the state)",
			     interrupted ? "interrupted" : "stopped", r.fs.step);
		}
		exit_code = interrupted ? LFM_EXIT_INTERRUPTED : LFM_EXIT_OK;
	} else {
		if (!r.saved_any) /* a resumed run that had nothing left to do */
			run_save(&r);
		if (run_writes(&r))
			run_remove_resume_files(&r);
	}
	metrics_close(&r.log);
	run_tb_close(&r);
	if (r.have_val)
		validation_close(&r.val);
	fit_free(&r.fs);
	lfm_cuda_close(r.cuda);
	dist_close(r.dist);
	thread_pool_free(compute);
	thread_pool_free(loaders);
	record_source_close(&r.src);
	dataset_close(r.ds);
	clip_model_free(&r.model);
	st_close(&r.source);
	free(r.text);
	free(r.command);
	free(r.opts_json);
	free(r.split);
	free(r.resume_path);
	free(r.resume_next_path);
	free(r.in_resume);
	free(r.in_resume_next);
	free(r.lock_path);
	free(r.origin_model);
	free(r.stored_split);
	free(r.first_command);
	free(r.resume_commands);
	return exit_code;
}
