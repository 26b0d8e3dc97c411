/* gpu_step.c — a throughput probe of the CUDA runner: the stage-1 training step (vision forward, cosine
 * logits against 100 text features, soft CE, backward, Adam) of a randomly initialised CLIP vision tower,
 * as images/s at each precision and batch size given. A benchmark (bench/): prints a table, never fails.
 *
 *   build/bench/gpu/gpu_step [ARCH [STEPS]]     ARCH: ViT-B/32 (default), ViT-B/16, ViT-L/14, tiny
 *
 * Pixels are random and uploaded each step (as lfm-fit does today); the time is from the first timed step
 * to the last one's loss on the host. */
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

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	const char *arch = argc > 1 ? argv[1] : "ViT-B/32";
	int steps = argc > 2 ? atoi(argv[2]) : 20;
	clip_config cfg;
	if (clip_config_preset(arch, &cfg))
		die(LFM_EXIT_USAGE, "unknown architecture '%s'", arch);
	lfm_cuda_context *cuda = lfm_device_open("cuda");
	clip_model m;
	clip_model_init_random(&m, &cfg, CLIP_VISION, 1);
	int C = 100, D = cfg.embed_dim, R = cfg.image_resolution;
	float *text = malloc((size_t)C * D * sizeof *text);
	for (size_t i = 0; i < (size_t)C * D; i++)
		text[i] = (float)sin(0.37 * (double)i + 1.0);
	int batches[] = {32, 128};
	printf("# %s, %s, stage 1 (forward, soft CE, backward, Adam), %d timed steps\n", arch, lfm_cuda_describe(cuda),
	       steps);
	printf("%-10s %6s %12s %12s %10s\n", "precision", "batch", "images/s", "ms/step", "loss");
	for (int p = 0; p < LFM_PRECISION_COUNT; p++)
		for (int bi = 0; bi < 2; bi++) {
			int B = batches[bi];
			float *pixels = malloc((size_t)B * 3 * R * R * sizeof *pixels);
			float *targets = calloc((size_t)B * C, sizeof *targets);
			for (size_t i = 0; i < (size_t)B * 3 * R * R; i++)
				pixels[i] = (float)sin(0.013 * (double)i);
			for (int b = 0; b < B; b++)
				targets[(size_t)b * C + b % C] = 0.7f, targets[(size_t)b * C + (b * 7 + 3) % C] += 0.3f;
			fit_context ctx = {FIT_BACKEND_DEVICE, NULL, &lfm_cuda_fit_ops, cuda, (lfm_precision)p};
			loss_config lc;
			loss_config_defaults(&lc, LOSS_CE, C);
			adam_config ac;
			adam_config_defaults(&ac);
			fit_state s;
			char err[512];
			if (fit_init(&s, &ctx, &m.vision, 1, text, C, &lc, &ac, B, err, sizeof err))
				die(LFM_EXIT_IO, "%s", err);
			double loss = 0;
			for (int i = 0; i < 3; i++)
				loss = fit_step(&s, pixels, targets, B, 1e-6);
			double t0 = now();
			for (int i = 0; i < steps; i++)
				loss = fit_step(&s, pixels, targets, B, 1e-6);
			double dt = now() - t0;
			printf("%-10s %6d %12.0f %12.2f %10.5f\n", lfm_precision_name((lfm_precision)p), B, B * steps / dt,
			       1e3 * dt / steps, loss);
			fflush(stdout);
			fit_free(&s);
			free(pixels);
			free(targets);
		}
	lfm_cuda_close(cuda);
	return 0;
}
