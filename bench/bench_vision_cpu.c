/* bench_vision_cpu — CLIP's vision tower on the CPU (libcommon/cpu/clip_vision.c, float32, OpenBLAS sgemm):
 * forward and forward+backward images/s and GFLOP/s, next to the machine's measured sgemm rate.
 *
 *   build/bench/bench_vision_cpu [-a ARCH] [-b BATCH] [-t THREADS,...] [-m SECONDS]
 *
 * ARCH (default ViT-B/32, at its resolution 224) with random weights drawn as OpenAI initialises them
 * (clip_init.h); a batch of BATCH (default 8) images of random normalised pixels. For each OpenBLAS thread
 * count in THREADS (default "1,2"):
 *   - cblas_sgemm rate on 1024 x 1024 x 1024, and on each matrix product shape the tower runs (called as
 *     matmul_forward calls it: inp[N,C] @ weight[OC,C]^T) with their FLOP-weighted rate: the speed the
 *     tower's products could reach on this machine;
 *   - the tower's forward (clip_vision_forward, inference activations) and forward + backward (training
 *     activations, clip_vision_backward of a fixed dL/dfeatures), with OpenBLAS's threads and, for more
 *     than one thread, image-parallel on a pool (clip_vision_set_pool, one OpenBLAS thread: lfm-fit's way).
 * Each figure is the best of repeated runs over at least SECONDS (default 2) of wall clock; the CPU
 * seconds of the process (all threads) in that run are shown too: on a machine shared with other work,
 * cpu/wall tells how much of the wall time the process got, and images per CPU second is the rate per
 * core the process had (for 1 thread, the rate an idle core would give).
 *
 * FLOPs are counted from the configuration (multiply-add = 2): per image forward
 *   patch embedding 2 G^2 (3 P^2) W + per layer (24 T W^2 + 4 T^2 W) + projection 2 W D,
 * with T = G^2 + 1 tokens (ViT-B/32 at 224: 8.82 GFLOP); the backward is twice the forward's products
 * (input and weight gradients) except the patch embedding's, which needs only its weight gradient.
 * LayerNorm, softmax, QuickGELU and residuals are not counted (a few percent of the time).
 * Not a test: it prints numbers, it passes or fails nothing. */
#include <cblas.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/options.h"
#include "base/rng.h"
#include "base/thread_pool.h"
#include "cpu/clip_text.h"
#include "cpu/clip_vision.h"
#include "model/clip_config.h"
#include "model/clip_init.h"
#include "model/clip_weights.h"

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }
static double cpu_now(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

typedef struct flops {
	double patch, layers, proj; /* per image forward */
} flops;

static flops count_flops(const clip_config *c)
{
	double G = clip_grid(c), T = clip_vision_tokens(c), W = c->vision_width, P = c->patch_size;
	flops f;
	f.patch = 2 * G * G * (3 * P * P) * W;
	f.layers = c->vision_layers * (24 * T * W * W + 4 * T * T * W);
	f.proj = 2 * W * c->embed_dim;
	return f;
}
static double forward_flops(const flops *f) { return f->patch + f->layers + f->proj; }
static double backward_flops(const flops *f) { return f->patch + 2 * (f->layers + f->proj); }

/* Best time of repeated runs of fn over at least `seconds` (and at least 2 runs after a warm-up). */
typedef struct timing {
	double wall, cpu; /* of the best run */
	int runs;
} timing;

typedef void (*bench_fn)(void *ctx);

static timing best_of(bench_fn fn, void *ctx, double seconds)
{
	fn(ctx); /* warm-up: first touches of memory, thread start */
	timing t = {1e30, 0, 0};
	double start = now();
	while (t.runs < 2 || now() - start < seconds) {
		double w0 = now(), c0 = cpu_now();
		fn(ctx);
		double w = now() - w0, c = cpu_now() - c0;
		if (w < t.wall) {
			t.wall = w;
			t.cpu = c;
		}
		t.runs++;
	}
	return t;
}

/* ---- sgemm --------------------------------------------------------------------------------------- */

typedef struct gemm_case {
	const char *what;
	int N, C, OC; /* out[N,OC] = inp[N,C] @ w[OC,C]^T */
	int per_image_forward; /* times per forward of the batch (layers) */
	float *a, *b, *out;
} gemm_case;

static void run_gemm(void *ctx)
{
	gemm_case *g = ctx;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->N, g->OC, g->C, 1.0f, g->a, g->C, g->b, g->C, 0.0f,
		    g->out, g->OC);
}

static void fill_random(float *x, size_t n, uint64_t seed)
{
	rng r;
	rng_init(&r, seed, 0);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)rng_normal(&r);
}

static double gemm_rate(gemm_case *g, double seconds, timing *out)
{
	g->a = xmalloc_array((size_t)g->N * g->C, sizeof(float));
	g->b = xmalloc_array((size_t)g->OC * g->C, sizeof(float));
	g->out = xmalloc_array((size_t)g->N * g->OC, sizeof(float));
	fill_random(g->a, (size_t)g->N * g->C, 1);
	fill_random(g->b, (size_t)g->OC * g->C, 2);
	timing t = best_of(run_gemm, g, seconds);
	free(g->a);
	free(g->b);
	free(g->out);
	if (out)
		*out = t;
	return 2.0 * g->N * g->C * g->OC / t.wall;
}

/* ---- the tower ----------------------------------------------------------------------------------- */

typedef struct tower_ctx {
	clip_vision *v;
	const float *pixels, *dfeat;
	int B;
} tower_ctx;

static void run_forward(void *ctx)
{
	tower_ctx *t = ctx;
	clip_vision_forward(t->v, t->pixels, t->B);
}

static void run_train_step(void *ctx)
{
	tower_ctx *t = ctx;
	clip_vision_forward(t->v, t->pixels, t->B);
	clip_vision_zero_grad(t->v);
	clip_vision_backward(t->v, t->dfeat);
}

/* best_of with the tower image-parallel on a pool of nt threads, one OpenBLAS thread per slice. */
static timing best_of_image_parallel(clip_vision *v, int nt, bench_fn fn, void *ctx, double seconds)
{
	thread_pool *pool = thread_pool_new(nt);
	clip_vision_set_pool(v, pool); /* one OpenBLAS thread while it is set */
	timing t = best_of(fn, ctx, seconds);
	clip_vision_set_pool(v, NULL);
	thread_pool_free(pool);
	return t;
}

static void parse_threads(const char *s, int *list, int *n)
{
	*n = 0;
	char *copy = xstrdup(s), *save = NULL;
	for (char *p = strtok_r(copy, ",", &save); p && *n < 8; p = strtok_r(NULL, ",", &save))
		list[(*n)++] = (int)opt_int("--threads", p, 1, 1024);
	free(copy);
	if (!*n)
		opt_usage_error("--threads: give a comma-separated list of thread counts");
}

static const char usage[] =
    "usage: bench_vision_cpu [-a ARCH] [-b BATCH] [-t THREADS,...] [-m SECONDS]\n"
    "CLIP vision tower forward and forward+backward on the CPU vs the machine's sgemm rate.\n"
    "  -a, --arch ARCH       tiny, ViT-B/32 (default), ViT-B/16, ViT-L/14\n"
    "  -b, --batch N         images per forward (default 8)\n"
    "  -t, --threads LIST    OpenBLAS thread counts to run, comma-separated (default 1,2)\n"
    "  -m, --min-seconds S   repeat each measurement for at least S seconds (default 2)\n";

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	static const struct option longopts[] = {
	    {"arch", required_argument, 0, 'a'},        {"batch", required_argument, 0, 'b'},
	    {"threads", required_argument, 0, 't'},     {"min-seconds", required_argument, 0, 'm'},
	    {"help", no_argument, 0, 'h'},              {0, 0, 0, 0}};
	const char *arch = "ViT-B/32";
	int B = 8, threads[8], n_threads;
	double seconds = 2;
	parse_threads("1,2", threads, &n_threads);
	int c;
	while ((c = getopt_long(argc, argv, "a:b:t:m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': arch = optarg; break;
		case 'b': B = (int)opt_int("--batch", optarg, 1, 4096); break;
		case 't': parse_threads(optarg, threads, &n_threads); break;
		case 'm': seconds = opt_double("--min-seconds", optarg, 0, 3600); break;
		case 'h': opt_help(usage);
		default: opt_usage_error("unknown or incomplete option");
		}
	}
	clip_config cfg;
	if (clip_config_preset(arch, &cfg))
		opt_choice("--arch", arch, clip_preset_names);

	clip_model m;
	clip_model_init_random(&m, &cfg, CLIP_VISION, 1);
	clip_vision runner, *v = &runner;
	clip_vision_adopt(v, &m.vision);
	int R = cfg.image_resolution, T = clip_vision_tokens(&cfg), W = cfg.vision_width, D = cfg.embed_dim;
	size_t px = (size_t)B * 3 * R * R;
	float *pixels = xmalloc_array(px, sizeof *pixels), *dfeat = xmalloc_array((size_t)B * D, sizeof *dfeat);
	fill_random(pixels, px, 3);
	fill_random(dfeat, (size_t)B * D, 4);
	for (size_t i = 0; i < (size_t)B * D; i++)
		dfeat[i] *= 1e-3f;
	flops fl = count_flops(&cfg);
	double fwd = forward_flops(&fl), bwd = backward_flops(&fl);

	char load[64] = "?";
	FILE *la = fopen("/proc/loadavg", "r");
	if (la) {
		if (!fgets(load, sizeof load, la))
			snprintf(load, sizeof load, "?");
		load[strcspn(load, "\n")] = 0;
		fclose(la);
	}
	printf("CLIP %s vision tower: %dx%d px, patch %d, %d tokens, width %d, %d layers, %d heads; batch %d\n",
	       arch, R, R, cfg.patch_size, T, W, cfg.vision_layers, cfg.vision_heads, B);
	printf("FLOPs per image: forward %.3f G (patch embedding %.3f G, %d blocks %.3f G, projection %.4f G); "
	       "backward %.3f G\n", fwd * 1e-9, fl.patch * 1e-9, cfg.vision_layers, fl.layers * 1e-9, fl.proj * 1e-9,
	       bwd * 1e-9);
	printf("machine: %ld online CPUs; load average at start: %s\n\n", sysconf(_SC_NPROCESSORS_ONLN), load);

	int N = B * T, NP = B * (T - 1);
	gemm_case shapes[] = {
	    {"patch embedding", NP, clip_patch_dim(&cfg), W, 0, 0, 0, 0},
	    {"attn in_proj (qkv)", N, W, 3 * W, cfg.vision_layers, 0, 0, 0},
	    {"attn out_proj", N, W, W, cfg.vision_layers, 0, 0, 0},
	    {"mlp c_fc", N, W, 4 * W, cfg.vision_layers, 0, 0, 0},
	    {"mlp c_proj", N, 4 * W, W, cfg.vision_layers, 0, 0, 0},
	};
	int n_shapes = (int)(sizeof shapes / sizeof shapes[0]);
	shapes[0].per_image_forward = 1;

	/* sgemm and the forward for each thread count (inference activations) ... */
	double shape_rate[8];
	tower_ctx ctx = {v, pixels, dfeat, B};
	clip_vision_alloc_acts(v, B, 0);
	for (int ti = 0; ti < n_threads; ti++) {
		int nt = threads[ti];
		openblas_set_num_threads(nt);
		printf("== %d thread%s (openblas_set_num_threads)\n", nt, nt == 1 ? "" : "s");
		printf("%-36s %10s %10s %10s\n", "sgemm N x K x M (inp @ w^T)", "ms", "GFLOP/s", "cpu/wall");
		gemm_case big = {"square", 1024, 1024, 1024, 0, 0, 0, 0};
		timing t;
		double r = gemm_rate(&big, seconds, &t);
		printf("%-36s %10.2f %10.1f %10.2f\n", "1024 x 1024 x 1024", t.wall * 1e3, r * 1e-9, t.cpu / t.wall);
		double tower_time = 0, tower_flop = 0;
		for (int k = 0; k < n_shapes; k++) {
			gemm_case *g = &shapes[k];
			r = gemm_rate(g, seconds / 2, &t);
			char label[96];
			snprintf(label, sizeof label, "%s %dx%dx%d", g->what, g->N, g->C, g->OC);
			printf("%-36s %10.2f %10.1f %10.2f\n", label, t.wall * 1e3, r * 1e-9, t.cpu / t.wall);
			tower_time += t.wall * g->per_image_forward;
			tower_flop += 2.0 * g->N * g->C * g->OC * g->per_image_forward;
		}
		shape_rate[ti] = tower_flop / tower_time;
		printf("%-36s %10.2f %10.1f\n", "the tower's products, FLOP-weighted", tower_time * 1e3,
		       shape_rate[ti] * 1e-9);
		timing tf = best_of(run_forward, &ctx, seconds);
		double gf = B * fwd / tf.wall;
		printf("%-36s %10.1f ms/batch %8.2f images/s %7.1f GFLOP/s  %3.0f%% of sgemm  cpu/wall %.2f  "
		       "%.2f images/cpu-s\n\n", "vision tower forward", tf.wall * 1e3, B / tf.wall, gf * 1e-9,
		       100 * gf / shape_rate[ti], tf.cpu / tf.wall, B / tf.cpu);
		if (nt > 1) { /* the same threads as slices of images (clip_vision_set_pool), as lfm-fit runs it */
			tf = best_of_image_parallel(v, nt, run_forward, &ctx, seconds);
			gf = B * fwd / tf.wall;
			printf("%-36s %10.1f ms/batch %8.2f images/s %7.1f GFLOP/s  %3.0f%% of sgemm  cpu/wall %.2f  "
			       "%.2f images/cpu-s\n\n", "  image-parallel (lfm-fit's way)", tf.wall * 1e3, B / tf.wall,
			       gf * 1e-9, 100 * gf / shape_rate[ti], tf.cpu / tf.wall, B / tf.cpu);
		}
		fflush(stdout);
	}
	/* ... then forward + backward (training activations: every layer's kept) */
	clip_vision_alloc_training(v);
	clip_vision_alloc_acts(v, B, 1);
	for (int ti = 0; ti < n_threads; ti++) {
		int nt = threads[ti];
		openblas_set_num_threads(nt);
		timing tt = best_of(run_train_step, &ctx, seconds);
		double gf = B * (fwd + bwd) / tt.wall;
		printf("%d thread%s: %-24s %10.1f ms/batch %8.2f images/s %7.1f GFLOP/s  %3.0f%% of sgemm  cpu/wall %.2f  "
		       "%.2f images/cpu-s\n", nt, nt == 1 ? " " : "s", "forward + backward", tt.wall * 1e3, B / tt.wall,
		       gf * 1e-9, 100 * gf / shape_rate[ti], tt.cpu / tt.wall, B / tt.cpu);
		if (nt > 1) {
			tt = best_of_image_parallel(v, nt, run_train_step, &ctx, seconds);
			gf = B * (fwd + bwd) / tt.wall;
			printf("%d threads: %-24s %10.1f ms/batch %8.2f images/s %7.1f GFLOP/s  %3.0f%% of sgemm  "
			       "cpu/wall %.2f  %.2f images/cpu-s\n", nt, "  image-parallel", tt.wall * 1e3, B / tt.wall,
			       gf * 1e-9, 100 * gf / shape_rate[ti], tt.cpu / tt.wall, B / tt.cpu);
		}
		fflush(stdout);
	}
	free(pixels);
	free(dfeat);
	clip_vision_free(v);
	clip_model_free(&m);
	return 0;
}
