/* fit_options.c — see fit_options.h. */
#include "fit_options.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/tensor_dtype.h"
#include "base/json.h"
#include "base/options.h"

static const char usage[] =
    "usage: lfm-fit --model WEIGHTS --text FEATURES.npy --data DATASET [options] -o CKPT [PLAN]\n"
    "       lfm-fit --model WEIGHTS --text FEATURES.npy --data DATASET --samples TRAIN_SAMPLES [options] -o CKPT\n"
    "       lfm-fit --resume CKPT --text FEATURES.npy --data DATASET [options] -o CKPT [PLAN]\n"
    "\n"
    "Trains on a mix plan (lfm-mix; a file or '-' for stdin, the default) in batches of B consecutive\n"
    "records: x = lx*pre(x_i) + (1-lx)*pre(x_j), target = ly*e_yi + (1-ly)*e_yj. Stage 1 trains the\n"
    "visual tower on normalize(visual(x)).T^T; stage 2 freezes it and trains W_I (fc.weight, identity at\n"
    "first) on normalize(W_I visual(x)).T^T. Adam, cosine learning rate stepped per epoch.\n"
    "\n"
    "  -m, --model FILE      CLIP weights or a stage-1 checkpoint (safetensors, OpenAI or HF names;\n"
    "                        or a Hugging Face model directory)\n"
    "  -t, --text FILE       class text features [C, d] .npy (clip-embed-text; float64/16 converted)\n"
    "  -d, --data DATASET    the images the plan's indices refer to (as given to lt-subset)\n"
    "      --split S         the dataset split (default: the plan's \"split\", else train)\n"
    "      --root PATH       DATA is a split list whose paths are relative to PATH (ImageNet-LT, Places-LT)\n"
    "      --cache-dir DIR   where the root archive's index is (when not beside it), and compressed\n"
    "                        archives are decompressed into a temporary file (default: memory)\n"
    "      --stage 1|2       1: train the visual tower (default); 2: freeze it, train W_I\n"
    "  -e, --epochs N        epochs to train (default: all of the plan's; with --samples 1)\n"
    "      --lr L            initial learning rate (default 1e-6 in stage 1, 1e-2 in stage 2)\n"
    "      --min-lr M        final rate of the cosine schedule (default lr / 1000)\n"
    "  -b, --batch B         images per step (default 32), over all ranks; an epoch's last batch may be smaller\n"
    "  -l, --loss L          ce (default), balce, focal, ldam or mms\n"
    "      --focal-gamma G   focal loss gamma (default 2)\n"
    "      --mms-margin M    MMS margin scale l (default 0.3)\n"
    "      --mms-temperature T  MMS temperature (default 0.01)\n"
    "      --weight-decay W  Adam's L2 weight decay (default 0)\n"
    "      --force           train with a learning rate above 1 (refused otherwise: Adam moves every\n"
    "                        weight by about lr a step)\n"
    "  -s, --seed S          seed of the flips (and of --samples' shuffles) (default 0)\n"
    "  -j, --threads N       threads for the model (image slices), decoding and Adam (default and 0: all CPUs)\n"
    "      --device D        cpu, cuda or cuda:N (default: the first GPU when one is usable, else the CPU)\n"
    "      --precision P     the GPU's matrix products: bf16 (default on a GPU), tf32 or fp32 (the official\n"
    "                        arithmetic; the CPU's only one)\n"
    "      --preprocess P    where images are resized, flipped, normalised and mixed: auto (default: the GPU\n"
    "                        for CIFAR, else the CPU), cpu, or device (same-size images only; same bits)\n"
    "      --recompute       GPU, stage 1: keep only each block's input, recompute its activations in\n"
    "                        backward (about 1/7 of the activation memory, ~1/3 more compute; same bits)\n"
    "      --dist-timeout S  several ranks: seconds a rank waits for the others (the bootstrap, each step's\n"
    "                        sums) before it stops with a message (default 600)\n"
    "      --dist-port PORT  NCCL's bootstrap port at MASTER_ADDR without MPI (default MASTER_PORT, + 1 under\n"
    "                        torchrun's agent)\n"
    "      --samples FILE    train without a plan: the samples stream shuffled each epoch, no mixing\n"
    "      --val FILE        after each epoch, top-1 and loss on this samples stream (a validation\n"
    "                        split, never the test set), in the log's epoch records\n"
    "      --val-data DS     the dataset of --val (default: DATASET, opened with --val's split)\n"
    "      --resume CKPT     continue the run that wrote CKPT (and CKPT's resume file) exactly\n"
    "      --max-steps N     stop after step N (counted from the run's start), saving as at an interrupt\n"
    "      --log FILE        metrics: one record per step and per epoch (lfm.metrics/1)\n"
    "      --log-format F    msgpack (default) or json (JSON lines; the default for *.jsonl)\n"
    "      --log-every E     step (default: step and epoch records) or epoch (epoch records only)\n"
    "      --tensorboard DIR\n"
    "                        TensorBoard event files in DIR (made when missing): per step train/loss,\n"
    "                        train/lr, train/images_per_s; per epoch epoch/loss, epoch/images_per_s and,\n"
    "                        with --val, val/top1, val/loss, val/top1_many|medium|few (lfm-tensorboard(5))\n"
    "  -o, --output CKPT     the checkpoint (safetensors), rewritten after every epoch; its resume file\n"
    "                        CKPT.resume.safetensors is removed when the run completes\n"
    "  -h, --help            this help;  -V, --version  the version\n"
    "\n"
    "Several ranks (mpirun, srun, or RANK/WORLD_SIZE/LOCAL_RANK): each takes its slice of every batch, the\n"
    "gradients are summed (NCCL on GPUs, MPI on CPUs), rank 0 writes. See lfm-fit(1), SEVERAL GPUS.\n"
    "SIGINT/SIGTERM: the step in progress finishes, the checkpoint and resume file are written, exit 4.\n"
    "Exit status: 0 ok, 1 bad input data (or a NaN loss: the last checkpoint is kept), 2 usage,\n"
    "3 I/O error, 4 interrupted (resumable).  See lfm-fit(1), lfm-checkpoint(5), lfm-metrics(5).\n";

void fit_options_parse(int argc, char **argv, fit_options *o)
{
	enum { O_SPLIT = 256, O_STAGE, O_LR, O_MIN_LR, O_GAMMA, O_MMS_MARGIN, O_MMS_TEMP, O_WD, O_SAMPLES, O_VAL,
	       O_VAL_DATA, O_RESUME, O_MAX_STEPS, O_LOG, O_LOG_FORMAT, O_LOG_EVERY, O_ROOT, O_FORCE, O_DEVICE,
	       O_PRECISION, O_RECOMPUTE, O_PREPROCESS, O_DIST_TIMEOUT, O_DIST_PORT, O_TENSORBOARD, O_CACHE_DIR };
	static const struct option longopts[] = {
	    {"model", required_argument, 0, 'm'},       {"text", required_argument, 0, 't'},
	    {"data", required_argument, 0, 'd'},        {"split", required_argument, 0, O_SPLIT},
	    {"root", required_argument, 0, O_ROOT},      {"force", no_argument, 0, O_FORCE},
	    {"cache-dir", required_argument, 0, O_CACHE_DIR},
	    {"stage", required_argument, 0, O_STAGE},   {"epochs", required_argument, 0, 'e'},
	    {"lr", required_argument, 0, O_LR},         {"min-lr", required_argument, 0, O_MIN_LR},
	    {"batch", required_argument, 0, 'b'},       {"loss", required_argument, 0, 'l'},
	    {"focal-gamma", required_argument, 0, O_GAMMA},
	    {"mms-margin", required_argument, 0, O_MMS_MARGIN},
	    {"mms-temperature", required_argument, 0, O_MMS_TEMP},
	    {"weight-decay", required_argument, 0, O_WD},
	    {"seed", required_argument, 0, 's'},        {"threads", required_argument, 0, 'j'},
	    {"samples", required_argument, 0, O_SAMPLES}, {"val", required_argument, 0, O_VAL},
	    {"val-data", required_argument, 0, O_VAL_DATA}, {"resume", required_argument, 0, O_RESUME},
	    {"max-steps", required_argument, 0, O_MAX_STEPS}, {"log", required_argument, 0, O_LOG},
	    {"log-format", required_argument, 0, O_LOG_FORMAT}, {"log-every", required_argument, 0, O_LOG_EVERY},
	    {"output", required_argument, 0, 'o'},      {"help", no_argument, 0, 'h'},
	    {"device", required_argument, 0, O_DEVICE}, {"precision", required_argument, 0, O_PRECISION},
	    {"recompute", no_argument, 0, O_RECOMPUTE}, {"preprocess", required_argument, 0, O_PREPROCESS},
	    {"dist-timeout", required_argument, 0, O_DIST_TIMEOUT}, {"dist-port", required_argument, 0, O_DIST_PORT},
	    {"tensorboard", required_argument, 0, O_TENSORBOARD},
	    {"version", no_argument, 0, 'V'},           {0, 0, 0, 0}};
	static const char *const stages[] = {"1", "2", NULL};
	static const char *const formats[] = {"msgpack", "json", NULL};
	static const char *const everies[] = {"step", "epoch", NULL};
	static const char *const preprocesses[] = {"auto", "cpu", "device", NULL};
	*o = (fit_options){.stage = 1, .batch = 32, .loss = LOSS_CE, .log_json = -1, .focal_gamma = 2,
		       .mms_margin = 0.3, .mms_temperature = 0.01, .stored_precision = -1};
	int c;
	while ((c = getopt_long(argc, argv, ":m:t:d:e:b:l:s:j:o:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 't': o->text = optarg; break;
		case 'd': o->data = optarg; break;
		case O_SPLIT: o->split = optarg; o->given |= GIVEN_SPLIT; break;
		case O_ROOT: o->root = optarg; break;
		case O_CACHE_DIR: o->cache_dir = optarg; break;
		case O_FORCE: o->force = 1; break;
		case O_STAGE: o->stage = 1 + opt_choice("--stage", optarg, stages); o->given |= GIVEN_STAGE; break;
		case 'e': o->epochs = (int)opt_int("--epochs", optarg, 1, 1000000); o->given |= GIVEN_EPOCHS; break;
		case O_LR: o->lr = opt_double_gt("--lr", optarg, 0, 1e300); o->given |= GIVEN_LR; break;
		case O_MIN_LR: o->min_lr = opt_double("--min-lr", optarg, 0, 1e300); o->given |= GIVEN_MIN_LR; break;
		case 'b': o->batch = (int)opt_int("--batch", optarg, 1, 65536); o->given |= GIVEN_BATCH; break;
		case 'l': o->loss = (loss_kind)opt_choice("--loss", optarg, loss_kind_names); o->given |= GIVEN_LOSS; break;
		case O_GAMMA: o->focal_gamma = opt_double("--focal-gamma", optarg, 0, 1000); o->given |= GIVEN_GAMMA; break;
		case O_MMS_MARGIN:
			o->mms_margin = opt_double("--mms-margin", optarg, 0, 1000);
			o->given |= GIVEN_MMS_MARGIN;
			break;
		case O_MMS_TEMP:
			o->mms_temperature = opt_double_gt("--mms-temperature", optarg, 0, 1e6);
			o->given |= GIVEN_MMS_TEMP;
			break;
		case O_WD: o->weight_decay = opt_double("--weight-decay", optarg, 0, 1e6); o->given |= GIVEN_WD; break;
		case 's': o->seed = opt_u64("--seed", optarg, 0, UINT64_MAX); o->given |= GIVEN_SEED; break;
		case 'j': o->threads = (int)opt_int("--threads", optarg, 0, 1024); o->given |= GIVEN_THREADS; break;
		case O_DEVICE: o->device = optarg; break;
		case O_RECOMPUTE: o->recompute = 1; break;
		case O_DIST_TIMEOUT: o->dist_timeout = opt_double_gt("--dist-timeout", optarg, 0, 1e9); break;
		case O_DIST_PORT: o->dist_port = (int)opt_int("--dist-port", optarg, 1, 65535); break;
		case O_PREPROCESS: o->preprocess = opt_choice("--preprocess", optarg, preprocesses); break;
		case O_PRECISION:
			o->precision = (lfm_precision)opt_choice("--precision", optarg, lfm_precision_names);
			o->given |= GIVEN_PRECISION;
			break;
		case O_SAMPLES: o->samples = optarg; break;
		case O_VAL: o->val = optarg; break;
		case O_VAL_DATA: o->val_data = optarg; break;
		case O_RESUME: o->resume = optarg; break;
		case O_MAX_STEPS: o->max_steps = opt_int("--max-steps", optarg, 1, 1LL << 50); break;
		case O_LOG: o->log = optarg; break;
		case O_LOG_FORMAT: o->log_json = opt_choice("--log-format", optarg, formats); break;
		case O_LOG_EVERY: o->log_epochs_only = opt_choice("--log-every", optarg, everies); break;
		case O_TENSORBOARD: o->tensorboard = optarg; break;
		case 'o': o->output = optarg; break;
		case 'h': opt_help(usage);
		case 'V': opt_version();
		default: opt_bad_option(c, argv);
		}
	}
	if (optind < argc)
		o->plan = argv[optind++];
	if (optind < argc)
		opt_usage_error("more than one plan: '%s'", argv[optind]);
	if (!o->model && !o->resume)
		opt_usage_error("--model WEIGHTS (or --resume CKPT) is required");
	if (o->model && o->resume)
		opt_usage_error("--model and --resume exclude each other: a resumed run continues from its checkpoint");
	if (!o->text)
		opt_usage_error("--text FEATURES.npy is required");
	if (!o->data)
		opt_usage_error("--data DATASET is required");
	if (!o->output || strcmp(o->output, "-") == 0)
		opt_usage_error("-o CKPT is required (a file: checkpoints are rewritten during the run)");
	if (o->samples && o->plan)
		opt_usage_error("--samples trains without a plan; '%s' was given too", o->plan);
	if (o->val_data && !o->val)
		opt_usage_error("--val-data needs --val");
	if (!o->samples && !o->plan)
		o->plan = "-";
	if (o->threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		o->threads = n > 0 ? (int)(n < 1024 ? n : 1024) : 1;
	}
}

/* Adam moves each weight by about lr a step whatever the gradient's size, and the logits are cosines
 * bounded by 1, so a rate above 1 trains noise without ever producing a NaN to stop at; the paper's
 * rates are 1e-9 .. 0.5. */
#define LR_MAX_PLAUSIBLE 1.0
#define LR_MIN_PLAUSIBLE 1e-12

void fit_options_defaults(fit_options *o)
{
	if (!(o->given & GIVEN_LR))
		o->lr = o->stage == 1 ? 1e-6 : 1e-2;
	if (!(o->given & GIVEN_MIN_LR))
		o->min_lr = o->lr / 1000;
	if (o->min_lr > o->lr)
		opt_usage_error("--min-lr %g is above --lr %g: the cosine schedule falls from --lr to --min-lr", o->min_lr,
				o->lr);
	if (o->lr > LR_MAX_PLAUSIBLE && !o->force)
		opt_usage_error("--lr %g: Adam moves every weight by about the learning rate each step, so above %g the "
				"weights are swamped (the paper uses 1e-9 .. 0.5); --force to train anyway",
				o->lr, LR_MAX_PLAUSIBLE);
	if (o->lr < LR_MIN_PLAUSIBLE)
		warn("--lr %g: below %g the weights hardly move in float32", o->lr, LR_MIN_PLAUSIBLE);
}

/* ---- the options as stored in checkpoints and resume files ------------------------------------------ */

/* The shortest text that reads back as v (an exact record without 0.29999999999999999). */
static const char *num(char buf[32], double v)
{
	format_shortest(buf, 32, v, DT_F64);
	return buf;
}

char *fit_options_json(const fit_options *o, int epochs, const char *split)
{
	char n[6][32];
	membuf m;
	FILE *f = membuf_open(&m);
	fprintf(f, "{\"stage\":%d,\"epochs\":%d,\"lr\":%s,\"min_lr\":%s,\"batch\":%d,\"loss\":\"%s\",", o->stage, epochs,
		num(n[0], o->lr), num(n[1], o->min_lr), o->batch, loss_kind_name(o->loss));
	fprintf(f, "\"seed\":%llu,\"focal_gamma\":%s,\"mms_margin\":%s,\"mms_temperature\":%s,", (unsigned long long)o->seed,
		num(n[2], o->focal_gamma), num(n[3], o->mms_margin), num(n[4], o->mms_temperature));
	fprintf(f, "\"weight_decay\":%s,\"adam_betas\":[0.9,0.999],\"adam_eps\":1e-08,\"threads\":%d,\"split\":",
		num(n[5], o->weight_decay), o->threads);
	json_write_string(f, split, strlen(split));
	fprintf(f, ",\"input\":\"%s\",\"precision\":\"%s\"}", o->samples ? "samples" : "plan",
		lfm_precision_name(o->precision));
	return membuf_close(&m);
}

static double stored_number(const json_value *j, const char *key, const char *file)
{
	const json_value *v = json_get(j, key);
	if (!v || v->type != JSON_NUMBER)
		die(LFM_EXIT_DATA, "%s: metadata \"options\" has no number \"%s\"", file, key);
	return v->number;
}

static void conflict(const char *opt, const char *given, const char *stored)
{
	die(LFM_EXIT_USAGE, "option %s %s differs from the resumed run's %s (a resumed run keeps its options)", opt,
	    given, stored);
}

int fit_options_apply_stored(fit_options *o, const char *json_text, const char *file, char **split_out)
{
	char err[256];
	json_value *j = json_parse(json_text, strlen(json_text), err, sizeof err);
	if (!j || j->type != JSON_OBJECT)
		die(LFM_EXIT_DATA, "%s: metadata \"options\" is not a JSON object%s%s", file, j ? "" : ": ", j ? "" : err);
	char a[64], b[64];
#define NUM_OPTION(flag, field, name)                                                                           \
	do {                                                                                                   \
		double st = stored_number(j, name, file);                                                      \
		if ((o->given & flag) && (double)o->field != st) {                                             \
			snprintf(a, sizeof a, "%.17g", (double)o->field);                                      \
			snprintf(b, sizeof b, "%.17g", st);                                                    \
			conflict("--" name, a, b);                                                            \
		}                                                                                              \
		o->field = st;                                                                                 \
	} while (0)
	int stage = (int)stored_number(j, "stage", file);
	if ((o->given & GIVEN_STAGE) && o->stage != stage) {
		snprintf(a, sizeof a, "%d", o->stage);
		snprintf(b, sizeof b, "%d", stage);
		conflict("--stage", a, b);
	}
	o->stage = stage;
	NUM_OPTION(GIVEN_EPOCHS, epochs, "epochs");
	NUM_OPTION(GIVEN_LR, lr, "lr");
	NUM_OPTION(GIVEN_BATCH, batch, "batch");
	NUM_OPTION(GIVEN_GAMMA, focal_gamma, "focal_gamma");
	NUM_OPTION(GIVEN_MMS_MARGIN, mms_margin, "mms_margin");
	NUM_OPTION(GIVEN_MMS_TEMP, mms_temperature, "mms_temperature");
	NUM_OPTION(GIVEN_WD, weight_decay, "weight_decay");
#undef NUM_OPTION
	double st = stored_number(j, "min_lr", file);
	if ((o->given & GIVEN_MIN_LR) && o->min_lr != st) {
		snprintf(a, sizeof a, "%.17g", o->min_lr);
		snprintf(b, sizeof b, "%.17g", st);
		conflict("--min-lr", a, b);
	}
	o->min_lr = st;
	const json_value *seed = json_get(j, "seed");
	if (!seed || seed->type != JSON_NUMBER || !seed->is_integer || seed->integer < 0)
		die(LFM_EXIT_DATA, "%s: metadata \"options\" has no integer \"seed\"", file);
	if ((o->given & GIVEN_SEED) && o->seed != (uint64_t)seed->integer) {
		snprintf(a, sizeof a, "%llu", (unsigned long long)o->seed);
		snprintf(b, sizeof b, "%lld", (long long)seed->integer);
		conflict("--seed", a, b);
	}
	o->seed = (uint64_t)seed->integer;
	const json_value *loss = json_get(j, "loss");
	loss_kind lk;
	if (!loss || loss->type != JSON_STRING || loss_kind_parse(loss->string, &lk))
		die(LFM_EXIT_DATA, "%s: metadata \"options\" has no known \"loss\"", file);
	if ((o->given & GIVEN_LOSS) && o->loss != lk)
		conflict("--loss", loss_kind_name(o->loss), loss->string);
	o->loss = lk;
	const json_value *split = json_get(j, "split");
	if (!split || split->type != JSON_STRING)
		die(LFM_EXIT_DATA, "%s: metadata \"options\" has no \"split\"", file);
	if ((o->given & GIVEN_SPLIT) && strcmp(o->split, split->string) != 0)
		conflict("--split", o->split, split->string);
	*split_out = xstrdup(split->string);
	const json_value *input = json_get(j, "input");
	if (input && input->type == JSON_STRING && strcmp(input->string, o->samples ? "samples" : "plan") != 0)
		die(LFM_EXIT_USAGE, "the resumed run trained on %s; give the same input (%s)",
		    strcmp(input->string, "samples") == 0 ? "a samples stream" : "a plan",
		    strcmp(input->string, "samples") == 0 ? "--samples FILE" : "the PLAN argument");
	/* older checkpoints have no precision: they were all fp32 (CPU) runs */
	const json_value *prec = json_get(j, "precision");
	lfm_precision sp = LFM_PRECISION_FP32;
	if (prec && (prec->type != JSON_STRING || lfm_precision_parse(prec->string, &sp)))
		die(LFM_EXIT_DATA, "%s: metadata \"options\" has an unknown \"precision\"", file);
	o->stored_precision = (int)sp;
	int threads = (int)stored_number(j, "threads", file);
	json_free(j);
	return threads;
}

void fit_options_resolve_precision(fit_options *o, int on_gpu)
{
	if (o->given & GIVEN_PRECISION) {
		if (!on_gpu && o->precision != LFM_PRECISION_FP32)
			opt_usage_error("--precision %s: the CPU computes in fp32 only (--device cuda for %s)",
					lfm_precision_name(o->precision), lfm_precision_name(o->precision));
		if (o->stored_precision >= 0 && o->precision != (lfm_precision)o->stored_precision)
			warn("--precision %s: the resumed run trained in %s so far", lfm_precision_name(o->precision),
			     lfm_precision_name((lfm_precision)o->stored_precision));
		return;
	}
	if (o->stored_precision >= 0) {
		o->precision = (lfm_precision)o->stored_precision;
		if (!on_gpu && o->precision != LFM_PRECISION_FP32) {
			fprintf(stderr, "%s: precision: the resumed run trained in %s on a GPU; the CPU continues in fp32\n",
				lfm_progname(), lfm_precision_name(o->precision));
			o->precision = LFM_PRECISION_FP32;
		}
	} else
		o->precision = on_gpu ? LFM_PRECISION_BF16 : LFM_PRECISION_FP32;
	if (on_gpu)
		fprintf(stderr, "%s: precision: %s%s\n", lfm_progname(), lfm_precision_name(o->precision),
			o->stored_precision >= 0 ? " (the resumed run's)"
			: o->precision == LFM_PRECISION_BF16 ? " (the default on a GPU; --precision fp32 for the official arithmetic)"
							     : "");
}

char *fit_command_line(int argc, char **argv)
{
	membuf m;
	FILE *f = membuf_open(&m);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		int plain = *a != 0;
		for (const char *p = a; *p; p++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%", *p))
				plain = 0;
		if (i)
			fputc(' ', f);
		if (plain) {
			fputs(a, f);
		} else {
			fputc('\'', f);
			for (const char *p = a; *p; p++)
				if (*p == '\'')
					fputs("'\\''", f);
				else
					fputc(*p, f);
			fputc('\'', f);
		}
	}
	return membuf_close(&m);
}
