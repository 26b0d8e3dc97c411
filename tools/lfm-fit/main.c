/* lfm-fit — trains CLIP's visual tower (stage 1) or the matrix W_I on top of the frozen tower (stage 2) on a
 * mix plan, as the text-guided-mixup paper's official code does, on the CPU; writes safetensors checkpoints
 * that keep the weights' tensor names, a resume file for an exact continuation, and a metrics log. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/batch_loader.h"
#include "model/checkpoint.h"
#include "model/clip_weights.h"
#include "data/dataset.h"
#include "base/errors.h"
#include "train/fit_step.h"
#include "base/json.h"
#include "train/losses.h"
#include "train/lr_schedule.h"
#include "io/metrics.h"
#include "io/npy.h"
#include "base/options.h"
#include "base/progress.h"
#include "records.h"
#include "io/safetensors.h"
#include "io/samples.h"
#include "io/stream.h"
#include "base/thread_pool.h"

/* A run stopped by SIGINT or SIGTERM after saving its state (lfm-fit(1), EXIT STATUS). */

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
    "  -m, --model FILE      CLIP weights or a stage-1 checkpoint (safetensors, OpenAI or HF names)\n"
    "  -t, --text FILE       class text features, float32 [C, d] .npy (clip-embed-text)\n"
    "  -d, --data DATASET    the images the plan's indices refer to (as given to lt-subset)\n"
    "      --split S         the dataset split (default: the plan's \"split\", else train)\n"
    "      --root PATH       DATA is a split list whose paths are relative to PATH (ImageNet-LT, Places-LT)\n"
    "      --stage 1|2       1: train the visual tower (default); 2: freeze it, train W_I\n"
    "  -e, --epochs N        epochs to train (default: all of the plan's; with --samples 1)\n"
    "      --lr L            initial learning rate (default 1e-6 in stage 1, 1e-2 in stage 2)\n"
    "      --min-lr M        final rate of the cosine schedule (default lr / 1000)\n"
    "  -b, --batch B         images per step (default 32); an epoch's last batch may be smaller\n"
    "  -l, --loss L          ce (default), balce, focal, ldam or mms\n"
    "      --focal-gamma G   focal loss gamma (default 2)\n"
    "      --mms-margin M    MMS margin scale l (default 0.3)\n"
    "      --mms-temperature T  MMS temperature (default 0.01)\n"
    "      --weight-decay W  Adam's L2 weight decay (default 0)\n"
    "  -s, --seed S          seed of the flips (and of --samples' shuffles) (default 0)\n"
    "  -j, --threads N       threads for the model (image slices), decoding and Adam (default: all CPUs)\n"
    "      --samples FILE    train without a plan: the samples stream shuffled each epoch, no mixing\n"
    "      --val FILE        after each epoch, top-1 and loss on this samples stream (a validation\n"
    "                        split, never the test set), in the log's epoch records\n"
    "      --val-data DS     the dataset of --val (default: DATASET, opened with --val's split)\n"
    "      --resume CKPT     continue the run that wrote CKPT (and CKPT's resume file) exactly\n"
    "      --max-steps N     stop after step N (counted from the run's start), saving as at an interrupt\n"
    "      --log FILE        metrics: one record per step and per epoch (lfm.metrics/1)\n"
    "      --log-format F    msgpack (default) or json (JSON lines; the default for *.jsonl)\n"
    "      --log-every E     step (default: step and epoch records) or epoch (epoch records only)\n"
    "  -o, --output CKPT     the checkpoint (safetensors), rewritten after every epoch; its resume file\n"
    "                        CKPT.resume.safetensors is removed when the run completes\n"
    "  -h, --help            this help;  -V, --version  the version\n"
    "\n"
    "SIGINT/SIGTERM: the step in progress finishes, the checkpoint and resume file are written, exit 4.\n"
    "Exit status: 0 ok, 1 bad input data (or a NaN loss: the last checkpoint is kept), 2 usage,\n"
    "3 I/O error, 4 interrupted (resumable).  See lfm-fit(1), lfm-checkpoint(5), lfm-metrics(5).\n";

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
};

typedef struct options {
	const char *model, *text, *data, *split, *root, *output, *resume, *val, *val_data, *log, *samples, *plan;
	int stage, epochs, batch, threads, log_json, log_epochs_only;
	double lr, min_lr, focal_gamma, mms_margin, mms_temperature, weight_decay;
	loss_kind loss;
	uint64_t seed;
	long long max_steps;
	unsigned given;
} options;

static void parse_options(int argc, char **argv, options *o)
{
	enum { O_SPLIT = 256, O_STAGE, O_LR, O_MIN_LR, O_GAMMA, O_MMS_MARGIN, O_MMS_TEMP, O_WD, O_SAMPLES, O_VAL,
	       O_VAL_DATA, O_RESUME, O_MAX_STEPS, O_LOG, O_LOG_FORMAT, O_LOG_EVERY, O_ROOT };
	static const struct option longopts[] = {
	    {"model", required_argument, 0, 'm'},       {"text", required_argument, 0, 't'},
	    {"data", required_argument, 0, 'd'},        {"split", required_argument, 0, O_SPLIT},
	    {"root", required_argument, 0, O_ROOT},
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
	    {"version", no_argument, 0, 'V'},           {0, 0, 0, 0}};
	static const char *const stages[] = {"1", "2", NULL};
	static const char *const formats[] = {"msgpack", "json", NULL};
	static const char *const everies[] = {"step", "epoch", NULL};
	*o = (options){.stage = 1, .batch = 32, .loss = LOSS_CE, .log_json = -1, .focal_gamma = 2,
		       .mms_margin = 0.3, .mms_temperature = 0.01};
	int c;
	while ((c = getopt_long(argc, argv, "m:t:d:e:b:l:s:j:o:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 't': o->text = optarg; break;
		case 'd': o->data = optarg; break;
		case O_SPLIT: o->split = optarg; o->given |= GIVEN_SPLIT; break;
		case O_ROOT: o->root = optarg; break;
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
		case 'j': o->threads = (int)opt_int("--threads", optarg, 1, 1024); break;
		case O_SAMPLES: o->samples = optarg; break;
		case O_VAL: o->val = optarg; break;
		case O_VAL_DATA: o->val_data = optarg; break;
		case O_RESUME: o->resume = optarg; break;
		case O_MAX_STEPS: o->max_steps = opt_int("--max-steps", optarg, 1, 1LL << 50); break;
		case O_LOG: o->log = optarg; break;
		case O_LOG_FORMAT: o->log_json = opt_choice("--log-format", optarg, formats); break;
		case O_LOG_EVERY: o->log_epochs_only = opt_choice("--log-every", optarg, everies); break;
		case 'o': o->output = optarg; break;
		case 'h': opt_help(usage);
		case 'V': opt_version();
		default: opt_usage_error("unknown or incomplete option");
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

static void set_defaults(options *o)
{
	if (!(o->given & GIVEN_LR))
		o->lr = o->stage == 1 ? 1e-6 : 1e-2;
	if (!(o->given & GIVEN_MIN_LR))
		o->min_lr = o->lr / 1000;
}

/* ---- the options as stored in checkpoints and resume files ------------------------------------------ */

/* The shortest of %.15g .. %.17g that reads back as v (an exact record without 0.29999999999999999). */
static const char *num(char buf[32], double v)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, 32, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return buf;
}

static char *options_json(const options *o, int epochs, const char *split)
{
	char n[6][32];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		die(LFM_EXIT_IO, "cannot allocate memory:");
	fprintf(f, "{\"stage\":%d,\"epochs\":%d,\"lr\":%s,\"min_lr\":%s,\"batch\":%d,\"loss\":\"%s\",", o->stage, epochs,
		num(n[0], o->lr), num(n[1], o->min_lr), o->batch, loss_kind_name(o->loss));
	fprintf(f, "\"seed\":%llu,\"focal_gamma\":%s,\"mms_margin\":%s,\"mms_temperature\":%s,", (unsigned long long)o->seed,
		num(n[2], o->focal_gamma), num(n[3], o->mms_margin), num(n[4], o->mms_temperature));
	fprintf(f, "\"weight_decay\":%s,\"adam_betas\":[0.9,0.999],\"adam_eps\":1e-08,\"threads\":%d,\"split\":",
		num(n[5], o->weight_decay), o->threads);
	json_write_string(f, split, strlen(split));
	fprintf(f, ",\"input\":\"%s\"}", o->samples ? "samples" : "plan");
	if (fclose(f) != 0)
		die(LFM_EXIT_IO, "cannot allocate memory:");
	return buf;
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

/* Take the stored options; explicitly given ones must agree. Returns the stored thread count. */
static int apply_stored_options(options *o, const char *json_text, const char *file, char **split_out)
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
	int threads = (int)stored_number(j, "threads", file);
	json_free(j);
	return threads;
}

/* argv as one line, arguments with shell metacharacters single-quoted. */
static char *command_line(int argc, char **argv)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		die(LFM_EXIT_IO, "cannot allocate memory:");
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
	if (fclose(f) != 0)
		die(LFM_EXIT_IO, "cannot allocate memory:");
	return buf;
}

/* FNV-1a over the bytes of an array: recognises the same text features at a resume. */
static uint64_t fnv1a(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* ---- signals ---------------------------------------------------------------------------------------- */

/* The tool's mutable globals, for the handler: the first SIGINT/SIGTERM, and what a second one does. */
static volatile sig_atomic_t stop_signal;
static void (*previous_handler[2])(int); /* errors.c's: remove temporary files, then die of the signal */

static void on_signal(int sig)
{
	if (!stop_signal) {
		stop_signal = sig; /* the loop finishes the step, saves and exits */
		return;
	}
	/* A second signal: stop now, as any tool would (the last complete checkpoint stays). */
	void (*h)(int) = previous_handler[sig == SIGTERM];
	if (h && h != SIG_DFL && h != SIG_IGN) {
		h(sig);
		return;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Ours on SIGINT and SIGTERM, keeping the handler each replaces for a second signal. */
static void take_signals(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART; /* reads of a plan from a pipe carry on */
	for (int k = 0; k < 2; k++) {
		int sig = k ? SIGTERM : SIGINT;
		if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == on_signal)
			continue;
		if (sigaction(sig, &sa, &old) != 0)
			die(LFM_EXIT_IO, "cannot install the signal handlers:");
		previous_handler[k] = old.sa_handler;
	}
}

/* errors.c installs its own SIGINT/SIGTERM handlers (removing temporary files, then dying) when the
 * first output file is opened; open and abandon one now — which also checks early that CKPT's folder is
 * writable — so that ours replace them for good and call them on a second signal. (take_signals runs
 * again after each save, for the case where CKPT is a device and the probe installed nothing.) */
static void install_signals(const char *output)
{
	outfile probe;
	outfile_open(&probe, output, "wb");
	outfile_abort(&probe);
	take_signals();
}

/* ---- batches ---------------------------------------------------------------------------------------- */

typedef struct pending_batch {
	int count;
	uint64_t *i, *j;
	float *lx;
	uint8_t *flip_i, *flip_j;
	float *targets; /* [B, C] */
	batch_desc desc;
} pending_batch;

static void batch_alloc(pending_batch *b, int B, int C)
{
	b->i = xmalloc_array((size_t)B, sizeof *b->i);
	b->j = xmalloc_array((size_t)B, sizeof *b->j);
	b->lx = xmalloc_array((size_t)B, sizeof *b->lx);
	b->flip_i = xmalloc_array((size_t)B, 1);
	b->flip_j = xmalloc_array((size_t)B, 1);
	b->targets = xmalloc_array((size_t)B * C, sizeof *b->targets);
}

static void batch_release(pending_batch *b)
{
	free(b->i);
	free(b->j);
	free(b->lx);
	free(b->flip_i);
	free(b->flip_j);
	free(b->targets);
}

/* The next `count` records (positions pos.. of epoch e) as a batch: indices, weights, the flip coins of
 * (seed, epoch, position), and the soft targets ly·e_yi + (1 − ly)·e_yj. 0, or -1 with a message (a bad
 * or missing record). */
static int batch_read(pending_batch *b, record_source *src, int count, uint64_t e, uint64_t pos, uint64_t seed,
		      int C, char *err, size_t errsz)
{
	memset(b->targets, 0, (size_t)count * C * sizeof *b->targets);
	for (int k = 0; k < count; k++) {
		fit_record r;
		if (record_source_try_next(src, &r, err, errsz))
			return -1;
		b->i[k] = r.i;
		b->j[k] = r.j;
		b->lx[k] = r.lx;
		b->flip_i[k] = (uint8_t)batch_flip_coin(seed, e, pos + (uint64_t)k, 0);
		b->flip_j[k] = (uint8_t)batch_flip_coin(seed, e, pos + (uint64_t)k, 1);
		float *t = b->targets + (size_t)k * C;
		t[r.yi] += r.ly;
		t[r.yj] += 1.0f - r.ly;
	}
	b->count = count;
	b->desc = (batch_desc){count, b->i, b->j, b->lx, b->flip_i, b->flip_j};
	return 0;
}

/* ---- validation ------------------------------------------------------------------------------------- */

typedef struct validation {
	samples_set smp;
	dataset *own_ds; /* opened here when the training dataset does not hold the split */
	batch_loader *bl;
	float *pixels, *logits, *targets;
} validation;

static void validation_open(validation *v, const options *o, dataset *train_ds, const char *train_split,
			    thread_pool *pool, int R)
{
	memset(v, 0, sizeof *v);
	samples_read(o->val, 0, &v->smp);
	const dataset *ds = train_ds;
	char *split = NULL;
	const msgpack_object *sp = mp_map_get(&v->smp.header, "split");
	if (sp && sp->type == MSGPACK_OBJECT_STR)
		split = xasprintf("%.*s", (int)sp->via.str.size, sp->via.str.ptr);
	if (o->val_data || (split && strcmp(split, train_split) != 0)) {
		dataset_options dopt = {.split = split, .root = o->val_data ? NULL : o->root};
		v->own_ds = dataset_open_or_die(o->val_data ? o->val_data : o->data, &dopt);
		ds = v->own_ds;
	}
	free(split);
	if (v->smp.num_classes != dataset_num_classes(ds))
		die(LFM_EXIT_DATA, "%s has %d classes, its dataset %d", o->val, v->smp.num_classes,
		    dataset_num_classes(ds));
	for (size_t k = 0; k < v->smp.n; k++)
		if (v->smp.index[k] >= dataset_count(ds) || dataset_label(ds, (size_t)v->smp.index[k]) != v->smp.label[k])
			die(LFM_EXIT_DATA, "%s: sample %zu (index %llu, label %d) does not match the dataset: the wrong "
					   "dataset or split for --val",
			    o->val, k, (unsigned long long)v->smp.index[k], (int)v->smp.label[k]);
	v->bl = batch_loader_new(ds, R, pool, o->batch);
	v->pixels = xmalloc_array((size_t)o->batch * 3 * R * R, sizeof(float));
	v->logits = xmalloc_array((size_t)o->batch * v->smp.num_classes, sizeof(float));
	v->targets = xmalloc_array((size_t)o->batch * v->smp.num_classes, sizeof(float));
}

static void validation_close(validation *v)
{
	batch_loader_free(v->bl);
	if (v->own_ds)
		dataset_close(v->own_ds);
	samples_free(&v->smp);
	free(v->pixels);
	free(v->logits);
	free(v->targets);
}

/* Top-1 accuracy and mean loss (the training loss on one-hot targets) over the validation samples. */
static void validation_run(validation *v, fit_state *fs, int B, const char *name, double *top1, double *loss)
{
	int C = fs->classes;
	size_t right = 0;
	double sum = 0;
	for (size_t first = 0; first < v->smp.n; first += (size_t)B) {
		int count = v->smp.n - first < (size_t)B ? (int)(v->smp.n - first) : B;
		batch_desc d = {count, (const uint64_t *)v->smp.index + first, NULL, NULL, NULL, NULL};
		int code = LFM_EXIT_DATA;
		char err[600];
		if (batch_loader_load(v->bl, &d, v->pixels, &code, err, sizeof err))
			die(code, "%s: %s", name, err);
		fit_logits(fs, v->pixels, count, v->logits);
		memset(v->targets, 0, (size_t)count * C * sizeof(float));
		for (int b = 0; b < count; b++) {
			int y = v->smp.label[first + (size_t)b];
			v->targets[(size_t)b * C + y] = 1;
			const float *z = v->logits + (size_t)b * C;
			int best = 0;
			for (int k = 1; k < C; k++)
				if (z[k] > z[best])
					best = k;
			right += best == y;
		}
		sum += loss_forward_backward(&fs->loss, v->logits, v->targets, count, NULL) * count;
	}
	*top1 = v->smp.n ? (double)right / (double)v->smp.n : 0;
	*loss = v->smp.n ? sum / (double)v->smp.n : 0;
}

/* ---- the run ---------------------------------------------------------------------------------------- */

typedef struct run {
	options o;
	char *command, *opts_json, *split, *resume_path, *origin_model;
	st_file source;
	clip_model model;
	fit_state fs;
	record_source src;
	int C, D, epochs;
	uint64_t per_epoch, steps_per_epoch, text_hash;
	/* progress of the run */
	uint64_t records;       /* trained on */
	double epoch_loss_sum;  /* of the epoch in progress */
	long epoch_steps;
	long last_saved_step;   /* -1: nothing written by this run */
	int saved_any;
} run;

static void save_state(run *r)
{
	char step[32], epoch[32], records[32], esteps[32], esum[64], seed[32], threads[32], stage[8], text[32];
	fit_sync_host(&r->fs);
	if (!fit_params_finite(&r->fs))
		die(LFM_EXIT_DATA, "step %ld: the trained parameters are no longer finite; %s was not rewritten%s", r->fs.step,
		    r->o.output, r->saved_any ? " (it holds the last good state)" : "");
	snprintf(step, sizeof step, "%ld", r->fs.step);
	snprintf(epoch, sizeof epoch, "%llu", (unsigned long long)(r->records / r->per_epoch));
	snprintf(records, sizeof records, "%llu", (unsigned long long)r->records);
	snprintf(esteps, sizeof esteps, "%ld", r->epoch_steps);
	snprintf(esum, sizeof esum, "%a", r->epoch_loss_sum);
	snprintf(seed, sizeof seed, "%llu", (unsigned long long)r->o.seed);
	snprintf(threads, sizeof threads, "%d", r->o.threads);
	snprintf(stage, sizeof stage, "%d", r->o.stage);
	snprintf(text, sizeof text, "%016llx", (unsigned long long)r->text_hash);
	const char *plan = r->o.samples ? r->o.samples : r->o.plan;
	const char *rmeta[] = {"stage", stage, "step", step, "epoch", epoch, "records", records, "epoch_steps", esteps,
			       "epoch_loss_sum", esum, "options", r->opts_json, "input", r->src.header_json,
			       "text_fnv1a64", text, "threads", threads, "command", r->command, NULL};
	resume_save(r->resume_path, &r->model.cfg, r->model.naming, r->o.stage, fit_moment(&r->fs, 1),
		    fit_moment(&r->fs, 2), rmeta);
	const char *cmeta[] = {"lfm.format", CHECKPOINT_FORMAT, "stage", stage, "epoch", epoch, "step", step, "seed", seed,
			       "options", r->opts_json, "command", r->command, "model", r->origin_model,
			       r->o.samples ? "samples" : "plan", plan, NULL};
	checkpoint_save(r->o.output, &r->source, &r->model, r->o.stage == 2 ? r->fs.head.fc : NULL, cmeta);
	r->last_saved_step = r->fs.step;
	r->saved_any = 1;
	take_signals();
}

static void metrics_header(metrics_log *log, const run *r)
{
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

static void metrics_record(metrics_log *log, const char *kind, long epoch, long step, double loss, double lr,
			   double ips, double elapsed, long steps, const double *val)
{
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

static const char *signal_name(int sig) { return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal"; }

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	run r;
	memset(&r, 0, sizeof r);
	options *o = &r.o;
	parse_options(argc, argv, o);
	install_signals(o->output);
	r.command = command_line(argc, argv);
	r.last_saved_step = -1;

	/* the model: weights, or the checkpoint of the run to resume */
	const char *model_path = o->resume ? o->resume : o->model;
	st_open_or_die(model_path, &r.source);
	char err[1024];
	clip_load_opts lo = {.towers = CLIP_VISION};
	if (clip_model_load(&r.model, &r.source, &lo, err, sizeof err))
		die(LFM_EXIT_DATA, "%s", err);
	const clip_config *cfg = &r.model.cfg;
	r.D = cfg->embed_dim;
	r.resume_path = checkpoint_resume_path(o->output);

	st_file rs;
	int have_resume = 0;
	long resume_step = 0;
	uint64_t resume_records = 0;
	char *stored_split = NULL;
	if (o->resume) {
		const char *fmt = st_meta(&r.source, "lfm.format");
		if (!fmt || strcmp(fmt, CHECKPOINT_FORMAT) != 0)
			die(LFM_EXIT_DATA, "%s: not an lfm-fit checkpoint (no metadata lfm.format = %s)", o->resume,
			    CHECKPOINT_FORMAT);
		char *rpath = checkpoint_resume_path(o->resume);
		if (access(rpath, F_OK) != 0)
			die(LFM_EXIT_IO, "%s: no resume file beside the checkpoint (%s): the run completed (its resume "
					 "file is removed at the end) or was not written by lfm-fit",
			    o->resume, rpath);
		st_open_or_die(rpath, &rs);
		have_resume = 1;
		const char *opts = st_meta(&rs, "options"), *st = st_meta(&rs, "step"), *rec = st_meta(&rs, "records");
		const char *cst = st_meta(&r.source, "step");
		if (!opts || !st || !rec)
			die(LFM_EXIT_DATA, "%s: not a resume file of lfm-fit (metadata options, step, records missing)",
			    rpath);
		resume_step = strtol(st, NULL, 10);
		resume_records = strtoull(rec, NULL, 10);
		if (!cst || strtol(cst, NULL, 10) != resume_step)
			die(LFM_EXIT_DATA, "%s is at step %s but its resume file %s at step %ld: the run stopped while "
					   "writing them; resume from an earlier copy",
			    o->resume, cst ? cst : "?", rpath, resume_step);
		int stored_threads = apply_stored_options(o, opts, rpath, &stored_split);
		if (stored_threads != o->threads)
			warn("the run used %d threads, this one %d: the batches are sliced differently over the threads, so the losses "
			     "will match the uninterrupted run's closely but not bit for bit",
			     stored_threads, o->threads);
		const char *origin = st_meta(&r.source, "model");
		r.origin_model = xstrdup(origin ? origin : o->resume);
		free(rpath);
	} else {
		r.origin_model = xstrdup(o->model);
		set_defaults(o); /* a resumed run has its stored values */
	}

	/* text features */
	int64_t ts[NPY_MAX_DIMS];
	size_t tcount;
	float *text = npy_load_f32(o->text, 2, ts, &tcount);
	if (ts[1] != r.D)
		die(LFM_EXIT_DATA, "%s: features of %lld dimensions, the model's embedding has %d", o->text,
		    (long long)ts[1], r.D);
	r.text_hash = fnv1a(text, tcount * sizeof *text);

	/* the examples and the dataset they index */
	if (o->samples)
		record_source_open_samples(&r.src, o->samples, o->seed);
	else
		record_source_open_plan(&r.src, o->plan);
	r.C = r.src.classes;
	if (have_resume) {
		const char *input = st_meta(&rs, "input");
		if (!input || strcmp(input, r.src.header_json) != 0)
			die(LFM_EXIT_DATA, "%s: its header differs from the one the resumed run read (command aside): "
					   "resume with the same %s",
			    r.src.name, o->samples ? "samples stream" : "plan");
	}
	if (ts[0] != r.C)
		die(LFM_EXIT_DATA, "%s has %lld rows but %s has %d classes: text features for another class list", o->text,
		    (long long)ts[0], r.src.name, r.C);
	const char *split = stored_split ? stored_split : o->split ? o->split : r.src.split ? r.src.split : "train";
	r.split = xstrdup(split);
	dataset_options dopt = {.split = r.split, .root = o->root};
	dataset *ds = dataset_open_or_die(o->data, &dopt);
	record_source_bind(&r.src, ds, o->data);
	r.per_epoch = r.src.per_epoch;
	if (o->samples) {
		r.epochs = o->epochs ? o->epochs : 1;
	} else {
		if (o->epochs > r.src.epochs)
			die(LFM_EXIT_USAGE, "--epochs %d: the plan holds %d epochs", o->epochs, r.src.epochs);
		r.epochs = o->epochs ? o->epochs : r.src.epochs;
	}
	o->epochs = r.epochs;
	r.steps_per_epoch = (r.per_epoch + (uint64_t)o->batch - 1) / (uint64_t)o->batch;
	r.opts_json = options_json(o, r.epochs, r.split);

	/* the step */
	thread_pool *compute = thread_pool_new(o->threads), *loaders = thread_pool_new(o->threads);
	/* The tower runs image-parallel on the compute pool, each slice's products on one OpenBLAS thread:
	 * faster than OpenBLAS's threads alone, which leave the rest of each layer to one core (bench/RESULTS.md). */
	fit_context ctx = {FIT_BACKEND_CPU, compute};
	loss_config lc;
	loss_config_defaults(&lc, o->loss, r.C);
	lc.counts = r.src.counts;
	lc.focal_gamma = o->focal_gamma;
	lc.mms_margin = o->mms_margin;
	lc.mms_temperature = o->mms_temperature;
	adam_config ac;
	adam_config_defaults(&ac);
	ac.weight_decay = o->weight_decay;
	ac.lr = o->lr;
	if (fit_init(&r.fs, &ctx, &r.model.vision, o->stage, text, r.C, &lc, &ac, o->batch, err, sizeof err))
		die(LFM_EXIT_DATA, "%s", err);
	if (o->stage == 2) {
		const st_tensor *fc = st_find(&r.source, "fc.weight");
		if (fc) {
			if (fc->ndim != 2 || fc->shape[0] != r.D || fc->shape[1] != r.D ||
			    (fc->dtype != DT_F32 && fc->dtype != DT_F16 && fc->dtype != DT_BF16))
				die(LFM_EXIT_DATA, "%s: fc.weight is not a float [%d, %d] matrix", model_path, r.D, r.D);
			st_to_f32(fc, r.fs.head.fc);
			fit_host_changed(&r.fs);
		}
	}
	if (have_resume) {
		if (resume_load(&rs, cfg, r.model.naming, o->stage, fit_moment(&r.fs, 1), fit_moment(&r.fs, 2), err,
				sizeof err))
			die(LFM_EXIT_DATA, "%s", err);
		fit_host_changed(&r.fs);
		const char *th = st_meta(&rs, "text_fnv1a64");
		char hex[32];
		snprintf(hex, sizeof hex, "%016llx", (unsigned long long)r.text_hash);
		if (!th || strcmp(th, hex) != 0)
			die(LFM_EXIT_DATA, "%s: not the text features the resumed run used", o->text);
		const char *es = st_meta(&rs, "epoch_steps"), *el = st_meta(&rs, "epoch_loss_sum");
		r.epoch_steps = es ? strtol(es, NULL, 10) : 0;
		r.epoch_loss_sum = el ? strtod(el, NULL) : 0;
		if (resume_records > (uint64_t)r.epochs * r.per_epoch || resume_records % r.per_epoch % (uint64_t)o->batch)
			die(LFM_EXIT_DATA, "%s: position %llu is not a batch boundary of this run", o->resume,
			    (unsigned long long)resume_records);
		r.fs.step = resume_step;
		record_source_skip(&r.src, resume_records);
		r.records = resume_records;
		st_close(&rs);
		if (r.records % r.per_epoch == 0) { /* the epoch in progress had not begun */
			r.epoch_steps = 0;
			r.epoch_loss_sum = 0;
		}
	}

	validation val;
	if (o->val)
		validation_open(&val, o, ds, dataset_split(ds), loaders, cfg->image_resolution);
	metrics_log log;
	metrics_open(&log, o->log, o->log_json);
	metrics_header(&log, &r);

	int R = cfg->image_resolution;
	batch_loader *bl = batch_loader_new(ds, R, loaders, o->batch);
	pending_batch pend[2];
	batch_alloc(&pend[0], o->batch, r.C);
	batch_alloc(&pend[1], o->batch, r.C);
	uint64_t total = (uint64_t)r.epochs * r.per_epoch;
	long total_steps = (long)((uint64_t)r.epochs * r.steps_per_epoch), step0 = r.fs.step;
	char label[32];
	snprintf(label, sizeof label, "lfm-fit stage %d", o->stage);
	progress prog;
	progress_start(&prog, label, (uint64_t)(total_steps - step0), "steps");
	double t0 = progress_now(), t_prev = t0;
	int exit_code = LFM_EXIT_OK;
	const char *stop_why = NULL;
	if (o->max_steps && r.fs.step >= o->max_steps && r.records < total)
		stop_why = "--max-steps"; /* a resumed run already there */

	while (r.records < total && !stop_why) {
		uint64_t e = r.records / r.per_epoch, pos = r.records % r.per_epoch;
		double lr = lr_cosine(o->lr, o->min_lr, r.epochs, (long)e);
		double t_epoch = progress_now();
		long epoch_first_step = r.fs.step;
		uint64_t epoch_first_record = r.records;
		int cur = 0;
		int count = (int)(r.per_epoch - pos < (uint64_t)o->batch ? r.per_epoch - pos : (uint64_t)o->batch);
		if (stop_signal || batch_read(&pend[cur], &r.src, count, e, pos, o->seed, r.C, err, sizeof err)) {
			/* A signal also stops the programs upstream in a pipeline: a plan that ends now is their
			 * doing, not an error. The state was saved at the last epoch's end. */
			if (!stop_signal)
				die(LFM_EXIT_DATA, "%s", err);
			stop_why = signal_name(stop_signal);
			break;
		}
		batch_loader_start(bl, &pend[cur].desc);
		while (pos < r.per_epoch) {
			int code = LFM_EXIT_DATA;
			const float *px = batch_loader_finish(bl, &code, err, sizeof err);
			if (!px)
				die(code, "%s: %s", o->data, err);
			pending_batch *b = &pend[cur];
			uint64_t next = pos + (uint64_t)b->count;
			if (next < r.per_epoch && !stop_signal) { /* read ahead, and load while this step trains */
				int n2 = (int)(r.per_epoch - next < (uint64_t)o->batch ? r.per_epoch - next : (uint64_t)o->batch);
				if (batch_read(&pend[cur ^ 1], &r.src, n2, e, next, o->seed, r.C, err, sizeof err) == 0)
					batch_loader_start(bl, &pend[cur ^ 1].desc);
				else if (!stop_signal) /* (a signal: train this step, then stop below) */
					die(LFM_EXIT_DATA, "%s", err);
			}
			double loss = fit_step(&r.fs, px, b->targets, b->count, lr);
			if (!isfinite(loss)) {
				progress_finish(&prog);
				if (r.saved_any || o->resume)
					die(LFM_EXIT_DATA, "step %ld (epoch %llu): the loss is %s; stopping. %s keeps the last good "
							   "state (step %ld). A lower --lr may help",
					    r.fs.step + 1, (unsigned long long)e, isnan(loss) ? "NaN" : "infinite", o->output,
					    r.saved_any ? r.last_saved_step : resume_step);
				die(LFM_EXIT_DATA, "step %ld (epoch %llu): the loss is %s; stopping before any checkpoint was "
						   "written (%s left as it was). A lower --lr may help",
				    r.fs.step + 1, (unsigned long long)e, isnan(loss) ? "NaN" : "infinite", o->output);
			}
			r.records += (uint64_t)b->count;
			pos = next;
			cur ^= 1;
			r.epoch_loss_sum += loss;
			r.epoch_steps++;
			double now = progress_now();
			if (!o->log_epochs_only)
				metrics_record(&log, "step", (long)e, r.fs.step, loss, lr, b->count / (now - t_prev), now - t0, -1,
					       NULL);
			t_prev = now;
			progress_update(&prog, (uint64_t)(r.fs.step - step0));
			int stop = stop_signal || (o->max_steps && r.fs.step >= o->max_steps);
			if (stop && pos < r.per_epoch) {
				stop_why = stop_signal ? signal_name(stop_signal) : "--max-steps";
				break;
			}
		}
		if (stop_why)
			break;
		/* the epoch's end */
		double now = progress_now(), valr[2];
		long steps = r.fs.step - epoch_first_step;
		if (o->val)
			validation_run(&val, &r.fs, o->batch, o->val, &valr[0], &valr[1]);
		metrics_record(&log, "epoch", (long)e, r.fs.step, r.epoch_loss_sum / (double)r.epoch_steps, lr,
			       steps ? (double)(r.records - epoch_first_record) / (now - t_epoch) : 0, progress_now() - t0,
			       r.epoch_steps, o->val ? valr : NULL);
		r.epoch_loss_sum = 0;
		r.epoch_steps = 0;
		save_state(&r);
		if (r.records < total && (stop_signal || (o->max_steps && r.fs.step >= o->max_steps))) {
			stop_why = stop_signal ? signal_name(stop_signal) : "--max-steps";
			break;
		}
	}
	progress_finish(&prog);
	if (stop_why) {
		if (r.last_saved_step != r.fs.step)
			save_state(&r);
		fprintf(stderr, "%s: %s at step %ld of %ld (epoch %llu); wrote %s and %s\n"
				"%s: continue with: %s --resume %s -o %s --text %s --data %s %s%s\n",
			lfm_progname(), stop_signal ? "interrupted" : "stopped", r.fs.step, total_steps,
			(unsigned long long)(r.records / r.per_epoch), o->output, r.resume_path, lfm_progname(),
			lfm_progname(), o->output, o->output, o->text, o->data, o->samples ? "--samples " : "",
			o->samples ? o->samples : o->plan);
		exit_code = stop_signal ? LFM_EXIT_INTERRUPTED : LFM_EXIT_OK;
	} else {
		if (!r.saved_any) /* a resumed run that had nothing left to do */
			save_state(&r);
		if (unlink(r.resume_path) != 0)
			warn("%s: cannot remove the resume file:", r.resume_path);
	}
	metrics_close(&log);
	batch_loader_free(bl);
	if (o->val)
		validation_close(&val);
	batch_release(&pend[0]);
	batch_release(&pend[1]);
	fit_free(&r.fs);
	thread_pool_free(compute);
	thread_pool_free(loaders);
	record_source_close(&r.src);
	dataset_close(ds);
	clip_model_free(&r.model);
	st_close(&r.source);
	free(text);
	free(r.command);
	free(r.opts_json);
	free(r.split);
	free(r.resume_path);
	free(r.origin_model);
	free(stored_split);
	return exit_code;
}
