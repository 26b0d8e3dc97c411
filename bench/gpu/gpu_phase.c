/* gpu_phase.c — a throughput probe of the training runner, phase by phase: stage 1 (the vision tower's
 * forward, soft CE, backward, Adam), stage 2 (the tower frozen, forward only, W_I trained by Adam) and the
 * evaluation pass (forward, W_I, cosine logits back on the host), on a randomly initialised CLIP vision
 * tower against 100 text features. The companion of gpu_step.c (stage 1 only, every precision at batch 32
 * and 128, a table): this one measures one phase at the precisions and batch sizes asked for and prints
 * machine-readable lines for scripts/gpu-bench.sh. A benchmark (bench/): prints figures, fails nothing.
 *
 *   build/bench/gpu/gpu_phase [--arch A] [--phase stage1|stage2|eval] [--precision fp32,tf32,bf16]
 *                             [--batch 32,128] [--steps N] [--warmup N] [--device cuda|cuda:N|cpu]
 *
 * Defaults: ViT-B/32, stage2, bf16, batch 32, 20 timed steps after 3 untimed ones, cuda. --precision and
 * --batch take comma-separated lists; every pair is measured in turn (one fresh runner each) in this one
 * process. --device cpu runs the CPU runner (one thread for the tower's own loops, OpenBLAS's threads for
 * the products; fp32 only): a check of the program where there is no GPU, not a GPU figure. One line a
 * configuration, after a "# ..." line naming the device:
 *
 *   phase=stage2 arch=ViT-B/32 precision=bf16 batch=32 steps=20 warmup=3 images_per_s=R ms_per_step=M
 *   ms_median=M loss=L
 *
 * images_per_s = batch * steps / (the timed steps' time); ms_median, the median step. Every step ends on
 * the host (fit_step returns its loss, fit_logits copies the logits back), so each is synchronous, as in
 * lfm-fit; pixels are random and uploaded as float32 every step (as lfm-fit does today). For eval, loss=
 * is replaced by argmax_mean=, the mean of the logits' argmax (a value the host read, nothing more). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/errors.h"
#include "cuda_context.h"
#include "cuda_fit.h"
#include "model/clip_init.h"
#include "train/fit_step.h"

enum { PHASE_STAGE1, PHASE_STAGE2, PHASE_EVAL };
static const char *const phase_names[] = {"stage1", "stage2", "eval"};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static _Noreturn void usage(const char *msg)
{
	fprintf(stderr,
		"gpu_phase: %s\nusage: gpu_phase [--arch A] [--phase stage1|stage2|eval] [--precision fp32,tf32,bf16]\n"
		"                 [--batch 32,128] [--steps N] [--warmup N] [--device cuda|cuda:N|cpu]\n",
		msg);
	exit(LFM_EXIT_USAGE);
}

/* A comma-separated list of positive integers into out[max]; returns the count. */
static int parse_ints(const char *s, int *out, int max)
{
	int n = 0;
	char *copy = strdup(s), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *end;
		long v = strtol(t, &end, 10);
		if (*end || v < 1 || v > 1 << 20 || n == max)
			usage("--batch: a comma-separated list of positive integers (at most 16)");
		out[n++] = (int)v;
	}
	free(copy);
	if (!n)
		usage("--batch: empty list");
	return n;
}

static int parse_precisions(const char *s, lfm_precision *out, int max)
{
	int n = 0;
	char *copy = strdup(s), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (n == max || lfm_precision_parse(t, &out[n]))
			usage("--precision: a comma-separated list of fp32, tf32, bf16");
		n++;
	}
	free(copy);
	if (!n)
		usage("--precision: empty list");
	return n;
}

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	const char *arch = "ViT-B/32", *device = "cuda";
	int phase = PHASE_STAGE2, steps = 20, warmup = 3;
	int batches[16], nb = 1;
	lfm_precision precs[16];
	int np = 1;
	batches[0] = 32;
	precs[0] = LFM_PRECISION_BF16;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("usage: gpu_phase [--arch A] [--phase stage1|stage2|eval] [--precision fp32,tf32,bf16]\n"
			       "                 [--batch 32,128] [--steps N] [--warmup N] [--device cuda|cuda:N|cpu]\n");
			return 0;
		}
		if (!v)
			usage("an option without its value");
		i++;
		if (!strcmp(a, "--arch"))
			arch = v;
		else if (!strcmp(a, "--device"))
			device = v;
		else if (!strcmp(a, "--phase")) {
			int k = 0;
			while (k < 3 && strcmp(v, phase_names[k]))
				k++;
			if (k == 3)
				usage("--phase: stage1, stage2 or eval");
			phase = k;
		} else if (!strcmp(a, "--precision"))
			np = parse_precisions(v, precs, 16);
		else if (!strcmp(a, "--batch"))
			nb = parse_ints(v, batches, 16);
		else if (!strcmp(a, "--steps") || !strcmp(a, "--warmup")) {
			char *end;
			long n = strtol(v, &end, 10);
			if (*end || n < (a[2] == 's') || n > 100000)
				usage("--steps must be >= 1, --warmup >= 0");
			*(a[2] == 's' ? &steps : &warmup) = (int)n;
		} else
			usage("unknown option");
	}
	clip_config cfg;
	if (clip_config_preset(arch, &cfg))
		die(LFM_EXIT_USAGE, "unknown architecture '%s'", arch);
	lfm_cuda_context *cuda = lfm_device_open(device);
	if (!cuda)
		for (int p = 0; p < np; p++)
			if (precs[p] != LFM_PRECISION_FP32)
				die(LFM_EXIT_USAGE, "the CPU computes in fp32 only (--precision %s)", lfm_precision_name(precs[p]));
	clip_model m;
	clip_model_init_random(&m, &cfg, CLIP_VISION, 1);
	int C = 100, D = cfg.embed_dim, R = cfg.image_resolution;
	float *text = malloc((size_t)C * D * sizeof *text);
	float *fc = calloc((size_t)D * D, sizeof *fc);
	for (size_t i = 0; i < (size_t)C * D; i++)
		text[i] = (float)sin(0.37 * (double)i + 1.0);
	for (int d = 0; d < D; d++)
		fc[(size_t)d * D + d] = 1.0f; /* W_I as stage 2 starts it: the identity */
	printf("# gpu_phase %s, %s on %s, %d timed steps after %d\n", phase_names[phase], arch,
	       cuda ? lfm_cuda_describe(cuda) : "the CPU", steps, warmup);
	fflush(stdout);
	double *times = malloc((size_t)steps * sizeof *times);
	for (int p = 0; p < np; p++)
		for (int bi = 0; bi < nb; bi++) {
			int B = batches[bi];
			float *pixels = malloc((size_t)B * 3 * R * R * sizeof *pixels);
			float *targets = calloc((size_t)B * C, sizeof *targets);
			float *logits = malloc((size_t)B * C * sizeof *logits);
			if (!pixels || !targets || !logits)
				die(LFM_EXIT_IO, "out of memory for batch %d", B);
			for (size_t i = 0; i < (size_t)B * 3 * R * R; i++)
				pixels[i] = (float)sin(0.013 * (double)i);
			for (int b = 0; b < B; b++)
				targets[(size_t)b * C + b % C] = 0.7f, targets[(size_t)b * C + (b * 7 + 3) % C] += 0.3f;
			fit_context ctx = {.backend = cuda ? FIT_BACKEND_DEVICE : FIT_BACKEND_CPU,
					   .pool = NULL,
					   .device = cuda ? &lfm_cuda_fit_ops : NULL,
					   .device_context = cuda,
					   .precision = precs[p]};
			loss_config lc;
			loss_config_defaults(&lc, LOSS_CE, C);
			adam_config ac;
			adam_config_defaults(&ac);
			fit_state s;
			char err[512];
			int rc = phase == PHASE_EVAL
					 ? fit_init_eval(&s, &ctx, &m.vision, text, C, fc, B, err, sizeof err)
					 : fit_init(&s, &ctx, &m.vision, phase == PHASE_STAGE1 ? 1 : 2, text, C, &lc, &ac, B, err,
						    sizeof err);
			if (rc)
				die(LFM_EXIT_IO, "%s", err);
			double lr = phase == PHASE_STAGE1 ? 1e-6 : 1e-2, loss = 0;
			for (int i = 0; i < warmup + steps; i++) {
				double t0 = now();
				if (phase == PHASE_EVAL) {
					fit_logits(&s, pixels, B, logits);
					long sum = 0;
					for (int b = 0; b < B; b++) {
						int best = 0;
						for (int c = 1; c < C; c++)
							if (logits[(size_t)b * C + c] > logits[(size_t)b * C + best])
								best = c;
						sum += best;
					}
					loss = (double)sum / B;
				} else
					loss = fit_step(&s, pixels, targets, B, lr);
				if (i >= warmup)
					times[i - warmup] = now() - t0;
			}
			double total = 0;
			for (int i = 0; i < steps; i++)
				total += times[i];
			qsort(times, (size_t)steps, sizeof *times, cmp_double);
			double median = steps % 2 ? times[steps / 2] : 0.5 * (times[steps / 2 - 1] + times[steps / 2]);
			printf("phase=%s arch=%s precision=%s batch=%d steps=%d warmup=%d images_per_s=%.3f ms_per_step=%.3f "
			       "ms_median=%.3f %s=%.6g\n",
			       phase_names[phase], arch, lfm_precision_name(precs[p]), B, steps, warmup, B * steps / total,
			       1e3 * total / steps, 1e3 * median, phase == PHASE_EVAL ? "argmax_mean" : "loss", loss);
			fflush(stdout);
			fit_free(&s);
			free(pixels);
			free(targets);
			free(logits);
		}
	free(times);
	free(text);
	free(fc);
	clip_model_free(&m);
	if (cuda)
		lfm_cuda_close(cuda);
	return 0;
}
