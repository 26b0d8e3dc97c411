/* test_fit.c — the pieces of lfm-fit: the batch loader (mixing after preprocessing, equal to an
 * independent computation; the same bytes for every thread count and through the double buffer; the flip
 * coin's balance), the training step (deterministic; independent of the thread count Adam is spread over;
 * a non-finite loss changes nothing; repeated steps on one batch lower the loss) and checkpoints and
 * resume files (round trips under OpenAI and Hugging Face names, other tensors carried over unchanged).
 * Images come from the embedded demo data (data/cifar10-lt/test.tar.gz); those cases skip without it. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/rng.h"
#include "data/batch_loader.h"
#include "data/dataset.h"
#include "data/image.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "model/clip_init.h"
#include "model/clip_weights.h"
#include "train/fit_step.h"
#include "../test.h"

#define DEMO "data/cifar10-lt/test.tar.gz"
#define RES 32

static dataset *open_demo(void)
{
	if (access(DEMO, R_OK) != 0)
		return NULL;
	dataset_options o = {.split = "test"};
	char err[512];
	return dataset_open(DEMO, &o, err, sizeof err);
}

/* pre(sample) computed independently of the loader: dataset_load_rgb + clip_preprocess. */
static int reference_pre(const dataset *ds, size_t idx, int flip, float *out)
{
	rgb_image img;
	char err[256];
	if (dataset_load_rgb(ds, idx, &img, err, sizeof err))
		return -1;
	clip_preprocess(&img, RES, flip, out);
	image_free(&img);
	return 0;
}

#define NB 7
static const uint64_t idx_i[NB] = {0, 5, 17, 300, 999, 1500, 1999};
static const uint64_t idx_j[NB] = {1, 6, 17, 42, 1000, 3, 7};
static const float lxs[NB] = {0.25f, 1.0f, 0.5f, 0.0f, 0.8731f, 0.999f, 1e-3f};
static const uint8_t fi[NB] = {0, 1, 0, 1, 1, 0, 1}, fj[NB] = {1, 0, 0, 1, 0, 1, 1};

static void test_loader_matches_formula(void)
{
	dataset *ds = open_demo();
	if (!ds) {
		t_skip("test_loader_matches_formula", DEMO " not readable");
		return;
	}
	size_t item = 3 * RES * RES;
	float *out = malloc(NB * item * sizeof(float)), *a = malloc(item * sizeof(float)), *b = malloc(item * sizeof(float));
	batch_loader *bl = batch_loader_new(ds, RES, NULL, NB);
	batch_desc d = {NB, idx_i, idx_j, lxs, fi, fj};
	char err[512];
	int code = 0;
	T_ASSERTF(batch_loader_load(bl, &d, out, &code, err, sizeof err) == 0, "%s", err);
	for (int k = 0; k < NB; k++) {
		T_ASSERT(reference_pre(ds, idx_i[k], fi[k], a) == 0);
		T_ASSERT(reference_pre(ds, idx_j[k], fj[k], b) == 0);
		float lx = lxs[k];
		for (size_t p = 0; p < item; p++) {
			float want = lx * a[p] + (1.0f - lx) * b[p];
			if (lx == 1.0f)
				T_ASSERTF(out[k * item + p] == a[p], "item %d: lx = 1 must give pre(x_i) exactly", k);
			if (lx == 0.0f)
				T_ASSERTF(out[k * item + p] == b[p], "item %d: lx = 0 must give pre(x_j) exactly", k);
			T_ASSERTF(out[k * item + p] == want, "item %d pixel %zu: %.9g, want %.9g", k, p,
				  (double)out[k * item + p], (double)want);
		}
	}
	/* flips matter: item 0 unflipped differs */
	uint8_t nf[NB] = {0};
	batch_desc d2 = {NB, idx_i, idx_j, lxs, nf, nf};
	float *out2 = malloc(NB * item * sizeof(float));
	T_ASSERT(batch_loader_load(bl, &d2, out2, &code, err, sizeof err) == 0);
	T_ASSERT(memcmp(out, out2, item * sizeof(float)) != 0);
	batch_loader_free(bl);
	free(out);
	free(out2);
	free(a);
	free(b);
	dataset_close(ds);
}

static void test_loader_threads_and_double_buffer(void)
{
	dataset *ds = open_demo();
	if (!ds) {
		t_skip("test_loader_threads_and_double_buffer", DEMO " not readable");
		return;
	}
	size_t item = 3 * RES * RES, bytes = NB * item * sizeof(float);
	float *one = malloc(bytes);
	char err[512];
	int code;
	batch_loader *bl1 = batch_loader_new(ds, RES, NULL, NB);
	batch_desc d = {NB, idx_i, idx_j, lxs, fi, fj};
	T_ASSERT(batch_loader_load(bl1, &d, one, &code, err, sizeof err) == 0);
	batch_loader_free(bl1);
	thread_pool *pool = thread_pool_new(3);
	batch_loader *bl = batch_loader_new(ds, RES, pool, NB);
	/* three batches through the double buffer: the same batch, a reversed one, the same again */
	uint64_t ri[NB], rj[NB];
	float rl[NB];
	uint8_t rfi[NB], rfj[NB];
	for (int k = 0; k < NB; k++) {
		ri[k] = idx_i[NB - 1 - k];
		rj[k] = idx_j[NB - 1 - k];
		rl[k] = lxs[NB - 1 - k];
		rfi[k] = fi[NB - 1 - k];
		rfj[k] = fj[NB - 1 - k];
	}
	batch_desc rev = {NB, ri, rj, rl, rfi, rfj};
	batch_loader_start(bl, &d);
	const float *p1 = batch_loader_finish(bl, &code, err, sizeof err);
	T_ASSERT(p1);
	batch_loader_start(bl, &rev); /* fills the other buffer while p1 is still held */
	T_ASSERTF(memcmp(p1, one, bytes) == 0, "4 threads differ from 1");
	const float *p2 = batch_loader_finish(bl, &code, err, sizeof err);
	T_ASSERT(p2 && p2 != p1);
	for (int k = 0; k < NB; k++)
		T_ASSERTF(memcmp(p2 + k * item, one + (NB - 1 - k) * item, item * sizeof(float)) == 0, "item %d", k);
	batch_loader_start(bl, &d);
	const float *p3 = batch_loader_finish(bl, &code, err, sizeof err);
	T_ASSERT(p3 == p1 && memcmp(p3, one, bytes) == 0);
	batch_loader_free(bl);
	thread_pool_free(pool);
	free(one);
	dataset_close(ds);
}

/* The coin is a pure function of its arguments and fair: 200,000 draws over positions and epochs within
 * 5.5 standard deviations of half (a false failure once in 2.6e7). */
static void test_flip_coin(void)
{
	long heads = 0, n = 0, agree = 0;
	for (uint64_t e = 0; e < 4; e++)
		for (uint64_t p = 0; p < 25000; p++) {
			int a = batch_flip_coin(7, e, p, 0), b = batch_flip_coin(7, e, p, 1);
			T_ASSERT((a == 0 || a == 1) && a == batch_flip_coin(7, e, p, 0));
			heads += a + b;
			agree += a == b;
			n += 2;
		}
	double sd = sqrt(n * 0.25);
	T_ASSERTF(fabs(heads - n / 2.0) < 5.5 * sd, "%ld heads of %ld", heads, n);
	/* the two images' coins are independent: they agree half the time */
	double sd2 = sqrt(n / 2 * 0.25);
	T_ASSERTF(fabs(agree - n / 4.0) < 5.5 * sd2, "%ld agreements of %ld", agree, n / 2);
	T_ASSERT(batch_flip_coin(7, 0, 0, 0) != batch_flip_coin(8, 0, 0, 0) || batch_flip_coin(7, 0, 1, 0) != batch_flip_coin(8, 0, 1, 0) ||
		 batch_flip_coin(7, 0, 2, 0) != batch_flip_coin(8, 0, 2, 0) || batch_flip_coin(7, 0, 3, 0) != batch_flip_coin(8, 0, 3, 0) ||
		 batch_flip_coin(7, 0, 4, 0) != batch_flip_coin(8, 0, 4, 0));
}

/* ---- the step -------------------------------------------------------------------------------------- */

#define SB 4
#define SC 5

typedef struct fixture {
	clip_model m;
	float *pixels, *targets, *text;
} fixture;

static void fixture_make(fixture *f)
{
	clip_config c;
	clip_config_preset("tiny", &c);
	clip_model_init_random(&f->m, &c, CLIP_VISION, 3);
	size_t np = (size_t)SB * 3 * c.image_resolution * c.image_resolution;
	f->pixels = malloc(np * sizeof(float));
	rng r;
	rng_init(&r, 1, 2);
	for (size_t i = 0; i < np; i++)
		f->pixels[i] = (float)rng_normal(&r);
	f->text = malloc((size_t)SC * c.embed_dim * sizeof(float));
	for (int i = 0; i < SC * c.embed_dim; i++)
		f->text[i] = (float)rng_normal(&r);
	f->targets = calloc((size_t)SB * SC, sizeof(float));
	for (int b = 0; b < SB; b++) {
		f->targets[b * SC + b % SC] += 0.7f;
		f->targets[b * SC + (b + 2) % SC] += 0.3f;
	}
}

static void fixture_free(fixture *f)
{
	clip_model_free(&f->m);
	free(f->pixels);
	free(f->targets);
	free(f->text);
}

static int start(fit_state *s, fixture *f, int stage, thread_pool *pool)
{
	loss_config lc;
	loss_config_defaults(&lc, LOSS_CE, SC);
	adam_config ac;
	adam_config_defaults(&ac);
	char err[256];
	fit_context ctx = {.backend = FIT_BACKEND_CPU, .pool = pool};
	return fit_init(s, &ctx, &f->m.vision, stage, f->text, SC, &lc, &ac, SB, err, sizeof err);
}

/* Two runs on pools of one size are bit-identical; another pool size (the tower image-parallel in other
 * slices) changes the rounding only. */
static void test_step_deterministic_and_threads(void)
{
	for (int stage = 1; stage <= 2; stage++) {
		fixture a, b, c;
		fixture_make(&a);
		fixture_make(&b);
		fixture_make(&c);
		fit_state sa, sb, sc;
		thread_pool *pool_a = thread_pool_new(3), *pool_b = thread_pool_new(3);
		T_ASSERT(start(&sa, &a, stage, pool_a) == 0);
		T_ASSERT(start(&sb, &b, stage, pool_b) == 0);
		T_ASSERT(start(&sc, &c, stage, NULL) == 0);
		double la[4], lb[4], lc[4];
		for (int t = 0; t < 4; t++) {
			la[t] = fit_step(&sa, a.pixels, a.targets, SB, 1e-3);
			lb[t] = fit_step(&sb, b.pixels, b.targets, SB, 1e-3);
			lc[t] = fit_step(&sc, c.pixels, c.targets, SB, 1e-3);
		}
		size_t n;
		float *pa = fit_params(&sa, &n), *pb = fit_params(&sb, &n), *pc = fit_params(&sc, &n);
		T_ASSERTF(memcmp(la, lb, sizeof la) == 0, "stage %d losses differ", stage);
		T_ASSERTF(memcmp(pa, pb, n * sizeof(float)) == 0, "stage %d parameters differ", stage);
		T_ASSERTF(memcmp(fit_moment(&sa, 2), fit_moment(&sb, 2), n * sizeof(float)) == 0, "stage %d moments", stage);
		for (int t = 0; t < 4; t++)
			T_ASSERTF(fabs(la[t] - lc[t]) <= 1e-5 * fabs(lc[t]), "stage %d step %d: loss %.9g on 3 threads, %.9g on one",
				  stage, t, la[t], lc[t]);
		/* Adam divides by sqrt(v): where a gradient is near 0 a rounding difference can move a parameter by
		 * up to lr a step, so the bound on single elements is Adam's, and the mean shows the agreement. */
		double worst = 0, mean = 0;
		for (size_t i = 0; i < n; i++) {
			double d = fabs((double)pa[i] - pc[i]);
			worst = fmax(worst, d);
			mean += d / (double)n;
		}
		T_ASSERTF(worst <= 4 * 2 * 1e-3 && mean <= 1e-6, "stage %d: parameters differ by %g at most, %g on average, "
			  "between 3 threads and one", stage, worst, mean);
		T_ASSERTF(la[3] < la[0], "stage %d: loss %g -> %g after 3 steps on one batch", stage, la[0], la[3]);
		T_ASSERT(sa.step == 4 && sb.step == 4 && sc.step == 4);
		if (stage == 2) /* the tower is frozen */
			T_ASSERT(memcmp(a.m.vision.param_memory, c.m.vision.param_memory, a.m.vision.num_params * sizeof(float)) == 0);
		fit_free(&sa);
		fit_free(&sb);
		fit_free(&sc);
		thread_pool_free(pool_a);
		thread_pool_free(pool_b);
		fixture_free(&a);
		fixture_free(&b);
		fixture_free(&c);
	}
}

/* Data parallel in one process: the parts of a batch split as two ranks split it (fit_forward_backward_part,
 * the loss divided by the whole batch), with their losses and gradients summed, are the whole batch's
 * step up to rounding (OpenBLAS rounds a row by where it stands in a product, so the logits of a part
 * differ from the whole batch's in their last bits) and the order of summation; an empty part gives zero gradients and loss 0. */
static void test_step_parts_sum_to_the_batch(void)
{
	for (int stage = 1; stage <= 2; stage++) {
		fixture a;
		fixture_make(&a);
		fit_state s;
		T_ASSERT(start(&s, &a, stage, NULL) == 0);
		size_t n, R = (size_t)a.m.cfg.image_resolution, img = 3 * R * R;
		double whole = fit_forward_backward(&s, a.pixels, a.targets, SB);
		float *g = fit_grads(&s, &n), *want = malloc(n * sizeof(float)), *sum = calloc(n, sizeof(float));
		memcpy(want, g, n * sizeof(float));
		double parts = 0;
		for (int r = 0; r < 2; r++) {
			size_t lo, hi;
			dist_slice(SB, r, 2, &lo, &hi);
			parts += fit_forward_backward_part(&s, a.pixels + lo * img, a.targets + lo * SC, (int)(hi - lo), SB);
			g = fit_grads(&s, &n);
			for (size_t i = 0; i < n; i++)
				sum[i] += g[i];
		}
		T_ASSERTF(fabs(parts - whole) <= 1e-6 * fabs(whole), "stage %d: parts %.17g, whole %.17g", stage, parts,
			  whole);
		double worst = 0, scale = 0;
		for (size_t i = 0; i < n; i++) {
			worst = fmax(worst, fabs((double)sum[i] - want[i]));
			scale = fmax(scale, fabs((double)want[i]));
		}
		T_ASSERTF(scale > 0 && worst <= 1e-5 * scale, "stage %d: summed parts' gradients differ by %g (scale %g)",
			  stage, worst, scale);
		/* a half batch divided by the half is not the part: the divisor is what makes the sum right */
		double half = fit_forward_backward(&s, a.pixels, a.targets, SB / 2);
		double part = fit_forward_backward_part(&s, a.pixels, a.targets, SB / 2, SB);
		T_ASSERTF(fabs(half * (SB / 2) - part * SB) <= 1e-9 * fabs(part * SB) && fabs(half - part) > 1e-6,
			  "stage %d: half %.9g part %.9g", stage, half, part);
		T_ASSERT(fit_forward_backward_part(&s, NULL, NULL, 0, SB) == 0);
		g = fit_grads(&s, &n);
		for (size_t i = 0; i < n; i++)
			T_ASSERTF(g[i] == 0, "stage %d: an empty part's gradient %zu is %g", stage, i, g[i]);
		free(want);
		free(sum);
		fit_free(&s);
		fixture_free(&a);
	}
}

/* The split step: forward + backward leaves the parameters as they were with the gradients ready, the
 * update then applies them; together they are fit_step, bit for bit. An evaluation state gives the same
 * logits as a training state with the same W. */
static void test_step_split_and_eval(void)
{
	for (int stage = 1; stage <= 2; stage++) {
		fixture a, b;
		fixture_make(&a);
		fixture_make(&b);
		fit_state sa, sb;
		T_ASSERT(start(&sa, &a, stage, NULL) == 0);
		T_ASSERT(start(&sb, &b, stage, NULL) == 0);
		size_t n, ng;
		float *pa = fit_params(&sa, &n), *pb = fit_params(&sb, &n);
		float *before = malloc(n * sizeof(float));
		for (int t = 0; t < 3; t++) {
			double la = fit_step(&sa, a.pixels, a.targets, SB, 1e-3);
			memcpy(before, pb, n * sizeof(float));
			double lb = fit_forward_backward(&sb, b.pixels, b.targets, SB);
			T_ASSERT(memcmp(before, pb, n * sizeof(float)) == 0 && sb.step == t);
			const float *g = fit_grads(&sb, &ng);
			double gn = 0;
			for (size_t i = 0; i < ng; i++)
				gn += (double)g[i] * g[i];
			T_ASSERTF(ng == n && gn > 0 && isfinite(gn), "stage %d: gradient norm^2 %g over %zu", stage, gn, ng);
			fit_update(&sb, 1e-3);
			T_ASSERT(la == lb && sb.step == t + 1);
		}
		T_ASSERTF(memcmp(pa, pb, n * sizeof(float)) == 0, "stage %d: split step differs from fit_step", stage);
		/* evaluation: the trained W (stage 2) or none (stage 1) */
		fit_state e;
		fit_context ctx = {.backend = FIT_BACKEND_CPU, .pool = NULL};
		char err[256];
		T_ASSERT(fit_init_eval(&e, &ctx, &a.m.vision, a.text, SC, stage == 2 ? sa.head.fc : NULL, SB, err,
				       sizeof err) == 0);
		float *la = malloc((size_t)SB * SC * sizeof(float)), *le = malloc((size_t)SB * SC * sizeof(float));
		fit_logits(&sa, a.pixels, SB, la);
		fit_logits(&e, a.pixels, SB, le);
		T_ASSERTF(memcmp(la, le, (size_t)SB * SC * sizeof(float)) == 0, "stage %d: evaluation logits differ", stage);
		free(la);
		free(le);
		fit_free(&e);
		free(before);
		fit_free(&sa);
		fit_free(&sb);
		fixture_free(&a);
		fixture_free(&b);
	}
}

/* fit_features (lfm-eval --features): after fit_logits, unit rows whose products with the normalised
 * text features are the logits; with W (stage 2) they are normalize(W x) of the zero-shot features x
 * (the tower's output normalised first changes only the scale W is applied at), and differ from them. */
static void test_features_are_the_logits_source(void)
{
	fixture a;
	fixture_make(&a);
	fit_state s2;
	T_ASSERT(start(&s2, &a, 2, NULL) == 0);
	for (int t = 0; t < 3; t++)
		fit_step(&s2, a.pixels, a.targets, SB, 1e-2); /* W away from the identity */
	const int D = a.m.cfg.embed_dim;
	fit_context ctx = {.backend = FIT_BACKEND_CPU, .pool = NULL};
	char err[256];
	float *logits = malloc((size_t)SB * SC * sizeof(float));
	float *f0 = malloc((size_t)SB * D * sizeof(float)), *fw = malloc((size_t)SB * D * sizeof(float));
	float *tn = malloc((size_t)SC * D * sizeof(float));
	for (int c = 0; c < SC; c++) {
		double nn = 0;
		for (int k = 0; k < D; k++)
			nn += (double)a.text[c * D + k] * a.text[c * D + k];
		for (int k = 0; k < D; k++)
			tn[c * D + k] = (float)(a.text[c * D + k] / sqrt(nn));
	}
	for (int with_w = 0; with_w <= 1; with_w++) {
		fit_state e;
		T_ASSERT(fit_init_eval(&e, &ctx, &a.m.vision, a.text, SC, with_w ? s2.head.fc : NULL, SB, err, sizeof err) == 0);
		fit_logits(&e, a.pixels, SB, logits);
		float *f = with_w ? fw : f0;
		fit_features(&e, SB, f);
		double worst_norm = 0, worst_logit = 0;
		for (int b = 0; b < SB; b++) {
			double nn = 0;
			for (int k = 0; k < D; k++)
				nn += (double)f[b * D + k] * f[b * D + k];
			worst_norm = fmax(worst_norm, fabs(sqrt(nn) - 1));
			for (int c = 0; c < SC; c++) {
				double dot = 0;
				for (int k = 0; k < D; k++)
					dot += (double)f[b * D + k] * tn[c * D + k];
				worst_logit = fmax(worst_logit, fabs(dot - logits[b * SC + c]));
			}
		}
		T_ASSERTF(worst_norm < 1e-6, "W %d: a feature row's norm is off by %g", with_w, worst_norm);
		T_ASSERTF(worst_logit < 1e-5, "W %d: features . text^T differs from the logits by %g", with_w, worst_logit);
		fit_free(&e);
	}
	double worst = 0, moved = 0;
	for (int b = 0; b < SB; b++) {
		double y[512], nn = 0;
		T_ASSERT(D <= 512);
		for (int i = 0; i < D; i++) {
			y[i] = 0;
			for (int k = 0; k < D; k++)
				y[i] += (double)s2.head.fc[i * D + k] * f0[b * D + k];
			nn += y[i] * y[i];
		}
		for (int i = 0; i < D; i++) {
			worst = fmax(worst, fabs(y[i] / sqrt(nn) - fw[b * D + i]));
			moved = fmax(moved, fabs(fw[b * D + i] - f0[b * D + i]));
		}
	}
	T_ASSERTF(worst < 1e-5, "features with W differ from normalize(W x) by %g", worst);
	T_ASSERTF(moved > 1e-4, "W left the features unchanged (%g): the check above proves nothing", moved);
	free(logits);
	free(f0);
	free(fw);
	free(tn);
	fit_free(&s2);
	fixture_free(&a);
}

static void test_step_nonfinite_changes_nothing(void)
{
	fixture f;
	fixture_make(&f);
	fit_state s;
	T_ASSERT(start(&s, &f, 1, NULL) == 0);
	fit_step(&s, f.pixels, f.targets, SB, 1e-3);
	size_t n;
	float *p = fit_params(&s, &n);
	float *keep = malloc(n * sizeof(float)), *keep_m = malloc(n * sizeof(float));
	memcpy(keep, p, n * sizeof(float));
	memcpy(keep_m, fit_moment(&s, 1), n * sizeof(float));
	f.targets[3] = NAN;
	double l = fit_step(&s, f.pixels, f.targets, SB, 1e-3);
	T_ASSERT(!isfinite(l));
	T_ASSERT(s.step == 1);
	T_ASSERT(memcmp(keep, p, n * sizeof(float)) == 0 && memcmp(keep_m, fit_moment(&s, 1), n * sizeof(float)) == 0);
	T_ASSERT(fit_params_finite(&s));
	p[10] = INFINITY;
	T_ASSERT(!fit_params_finite(&s));
	free(keep);
	free(keep_m);
	fit_free(&s);
	fixture_free(&f);
}

/* ---- checkpoints ----------------------------------------------------------------------------------- */

static void test_checkpoint_roundtrip(void)
{
	for (int hf = 0; hf <= 1; hf++) {
		char dir[] = "/tmp/test_fit.XXXXXX";
		T_ASSERT(mkdtemp(dir));
		char *wpath = xasprintf("%s/w.safetensors", dir), *cpath = xasprintf("%s/c.safetensors", dir);
		clip_config c;
		clip_config_preset("tiny", &c);
		clip_model m;
		clip_model_init_random(&m, &c, CLIP_BOTH, 5);
		m.naming = hf ? CLIP_NAMING_HF : CLIP_NAMING_OPENAI;
		const char *wmeta[] = {"arch", "tiny", NULL};
		clip_model_save(&m, CLIP_BOTH, DT_F16, wpath, wmeta);
		clip_model_free(&m);

		st_file src;
		char err[512];
		T_ASSERT(st_open(wpath, &src, err, sizeof err) == 0);
		clip_load_opts lo = {.towers = CLIP_VISION};
		T_ASSERT(clip_model_load(&m, &src, &lo, err, sizeof err) == 0);
		for (size_t i = 0; i < m.vision.num_params; i++) /* "train" it */
			m.vision.param_memory[i] += 1e-3f * (float)(i % 17);
		size_t D = (size_t)c.embed_dim;
		float *fc = malloc(D * D * sizeof(float));
		for (size_t i = 0; i < D * D; i++)
			fc[i] = (float)i / 7;
		const char *meta[] = {"stage", "2", "arch", "replaced", NULL};
		checkpoint_save(cpath, &src, &m, fc, meta);

		st_file ck;
		T_ASSERT(st_open(cpath, &ck, err, sizeof err) == 0);
		clip_model back;
		T_ASSERT(clip_model_load(&back, &ck, &lo, err, sizeof err) == 0);
		T_ASSERT(back.naming == m.naming);
		T_ASSERT(memcmp(back.vision.param_memory, m.vision.param_memory, m.vision.num_params * sizeof(float)) == 0);
		const st_tensor *f2 = st_find(&ck, "fc.weight");
		T_ASSERT(f2 && f2->dtype == DT_F32 && memcmp(f2->data, fc, D * D * sizeof(float)) == 0);
		/* every other tensor of the source, unchanged; the vision tensors now F32 */
		size_t others = 0;
		for (size_t i = 0; i < src.n_tensors; i++) {
			const st_tensor *a = &src.tensors[i], *b = st_find(&ck, a->name);
			T_ASSERTF(b, "%s missing", a->name);
			if (b->dtype == a->dtype) {
				T_ASSERTF(b->end - b->begin == a->end - a->begin && memcmp(a->data, b->data, a->end - a->begin) == 0,
					  "%s changed", a->name);
				others++;
			} else {
				T_ASSERT(b->dtype == DT_F32);
			}
		}
		T_ASSERT(others > 0 && ck.n_tensors == src.n_tensors + 1);
		T_ASSERT(st_meta(&ck, "stage") && strcmp(st_meta(&ck, "stage"), "2") == 0);
		T_ASSERT(strcmp(st_meta(&ck, "arch"), "replaced") == 0);
		T_ASSERT(strcmp(st_meta(&ck, "naming"), hf ? "hf-clipmodel" : "openai-clip") == 0);
		T_ASSERT(strstr(st_meta(&ck, "config"), "\"transformer_width\":128") != NULL);

		/* resume file: the moments round-trip through the file's layout (HF transposes the projection) */
		char *rpath = checkpoint_resume_path(cpath);
		char *want_rpath = xasprintf("%s/c.resume.safetensors", dir);
		T_ASSERT(strcmp(rpath, want_rpath) == 0);
		free(want_rpath);
		size_t n = m.vision.num_params;
		float *mm = malloc(n * sizeof(float)), *vv = malloc(n * sizeof(float));
		float *mm2 = calloc(n, sizeof(float)), *vv2 = calloc(n, sizeof(float));
		for (size_t i = 0; i < n; i++) {
			mm[i] = (float)i * 0.5f;
			vv[i] = (float)(n - i);
		}
		const char *rmeta[] = {"step", "3", NULL};
		resume_save(rpath, &c, m.naming, 1, mm, vv, rmeta);
		st_file rf;
		T_ASSERT(st_open(rpath, &rf, err, sizeof err) == 0);
		T_ASSERTF(resume_load(&rf, &c, m.naming, 1, mm2, vv2, err, sizeof err) == 0, "%s", err);
		T_ASSERT(memcmp(mm, mm2, n * sizeof(float)) == 0 && memcmp(vv, vv2, n * sizeof(float)) == 0);
		T_ASSERT(strcmp(st_meta(&rf, "lfm.format"), RESUME_FORMAT) == 0);
		const st_tensor *proj = st_find(&rf, hf ? "adam.m.visual_projection.weight" : "adam.m.visual.proj");
		T_ASSERT(proj && proj->ndim == 2 && proj->shape[0] == (hf ? (int64_t)D : 128));
		/* a checkpoint is not a resume file */
		T_ASSERT(resume_load(&ck, &c, m.naming, 1, mm2, vv2, err, sizeof err) == -1 && strstr(err, "not a resume file"));
		st_close(&rf);
		unlink(rpath);
		free(rpath);
		free(mm);
		free(vv);
		free(mm2);
		free(vv2);
		st_close(&ck);
		clip_model_free(&back);
		st_close(&src);
		clip_model_free(&m);
		free(fc);
		unlink(cpath);
		unlink(wpath);
		rmdir(dir);
		free(cpath);
		free(wpath);
	}
}

static void test_resume_path(void)
{
	char *a = checkpoint_resume_path("run/s1.safetensors"), *b = checkpoint_resume_path("s1.ckpt");
	T_ASSERT(strcmp(a, "run/s1.resume.safetensors") == 0);
	T_ASSERT(strcmp(b, "s1.ckpt.resume.safetensors") == 0);
	free(a);
	free(b);
}

int main(void)
{
	lfm_init("test_fit");
	T_RUN(test_loader_matches_formula);
	T_RUN(test_loader_threads_and_double_buffer);
	T_RUN(test_flip_coin);
	T_RUN(test_step_deterministic_and_threads);
	T_RUN(test_step_split_and_eval);
	T_RUN(test_features_are_the_logits_source);
	T_RUN(test_step_parts_sum_to_the_batch);
	T_RUN(test_step_nonfinite_changes_nothing);
	T_RUN(test_checkpoint_roundtrip);
	T_RUN(test_resume_path);
	return t_summary();
}
