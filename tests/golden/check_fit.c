/* check_fit.c — lfm-fit's stage-1 step (fit_step.h, the code the tool runs) against the official training
 * step in PyTorch on a golden folder:
 *
 *   stage1_step3  model.safetensors' vision tower; three Adam steps (reference.json: stage1.lr, adam.betas,
 *                 eps, weight_decay) on the same batch train_x / train_y with train_text_features, mean
 *                 soft-target cross-entropy on normalize(visual(x))·T^T. Compared:
 *                   - the three losses with reference.json stage1.losses (relative error < 1e-5);
 *                   - every tensor of stage1_params_step3.safetensors (relative L2 error < 1e-4 per tensor;
 *                     the line shows the worst tensor; LFM_GOLDEN_VERBOSE=1 lists each), EXCEPT the
 *                     attention key biases (the middle third of in_proj_bias; HF's k_proj.bias);
 *                   - those key biases on a line of their own, by absolute difference.
 *
 * Why the key biases are apart: adding a constant vector b to every key adds q·b to every score of a
 * query's row, which softmax ignores, so their true gradient is exactly zero and what PyTorch (and we)
 * compute there is rounding noise. Adam's update m̂/(sqrt(v̂) + eps) does not scale with the gradient, so
 * that noise moves the biases by an amount unrelated to the model (up to lr per step when the noise
 * exceeds eps; on tiny-clip, noise ~1e-10 against eps 1e-8, about 1e-6): the two runs' key biases agree
 * only to a relative error of order 1e-3 (of a tensor whose true value never moves), far outside 1e-4.
 * What can be checked is that they moved no more than Adam allows: each step moves a parameter by at
 * most lr·sqrt(Σ_i w_i² / u_i) (w, u the bias-corrected weights of the past gradients in the two moments;
 * Cauchy-Schwarz, eps ignored, which only shrinks steps), so two runs that started equal differ by at
 * most twice the sum of those bounds over the steps. That bound (≈ 6.0·lr for three steps at betas
 * 0.9/0.999) is the tolerance of the key-bias line, which also prints how far the reference moved them.
 *
 * Everything comes from the folder's files, so the check runs unchanged on a golden folder of another
 * model size. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/json.h"
#include "cpu/clip_text.h"
#include "cpu/clip_vision.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "model/clip_weights.h"
#include "train/adam.h"
#include "train/fit_step.h"
#ifdef LFM_GOLDEN_CUDA
#include "cuda_context.h"
#include "cuda_fit.h"
#endif
#include "train/losses.h"
#include "golden.h"

/* fp32 (the CPU, or the CUDA runner at fp32): the official step's arithmetic. bf16 and tf32 on the CUDA
 * runner: 1e-2 for the losses; 0.1 for the parameters after three steps, because the attention biases
 * start at zero, so their values after three steps ARE Adam's updates, which normalise each gradient
 * element to about ±lr whatever its size: where a gradient element is near zero its sign is set by the
 * products' rounding (measured on the tiny golden model in bf16: in_proj_bias 0.078, every other tensor
 * 5.4e-4 or less). */
static double tol_forward = 1e-5, tol_param = 1e-4;
#define TOL_FORWARD tol_forward
#define TOL_PARAM tol_param
#define STEPS 3

/* The largest distance Adam can move a parameter in `steps` steps, per unit of lr (see the top). */
static double adam_reach(double beta1, double beta2, int steps)
{
	double total = 0;
	for (int t = 1; t <= steps; t++) {
		double bc1 = 1 - pow(beta1, t), bc2 = 1 - pow(beta2, t), s = 0;
		for (int i = 1; i <= t; i++) {
			double w = (1 - beta1) * pow(beta1, t - i) / bc1, u = (1 - beta2) * pow(beta2, t - i) / bc2;
			s += w * w / u;
		}
		total += sqrt(s);
	}
	return total;
}

/* Whether parameter-block element k is an attention key bias of the tower. */
static int is_key_bias(const clip_config *c, size_t k)
{
	clip_param_info info[CLIP_VISION_TENSORS];
	clip_vision_param_info(c, info);
	for (int i = 0; i < CLIP_VISION_TENSORS; i++) {
		if (strcmp(info[i].field, "blocks.qkv_b") != 0)
			continue;
		if (k < info[i].offset || k >= info[i].offset + info[i].count)
			return 0;
		size_t W = (size_t)c->vision_width, within = (k - info[i].offset) % (3 * W);
		return within >= W && within < 2 * W;
	}
	return 0;
}

void golden_check_stage1_step3(golden_ctx *g)
{
	const char *rloss = "stage1 losses (reference.json stage1.losses)", *rp = "stage1_params_step3.safetensors",
		   *rk = "stage1_params_step3 key biases (max abs)";
	json_value *ref = golden_load_reference(g, rloss);
	if (!ref)
		return;
	clip_model m;
	memset(&m, 0, sizeof m);
	int have_model = 0, have_fit = 0;
	golden_batch gb = {0}; /* x, y and text below are its arrays */
	float *x = NULL, *y = NULL, *text = NULL;
	fit_state s;
	char err[1024];
	if (golden_load_model(g, "model.safetensors", CLIP_VISION, &m, rloss))
		goto out;
	have_model = 1;
	const clip_config *c = &m.cfg;
	if (golden_load_batch(g, c, &gb, rloss))
		goto out;
	x = gb.x;
	y = gb.y;
	text = gb.text;
	int B = gb.B, C = gb.C;
	adam_config opt;
	adam_config_defaults(&opt);
	const json_value *adam = json_get(ref, "adam"), *betas = adam ? json_get(adam, "betas") : NULL;
	if (betas && betas->type == JSON_ARRAY && betas->count == 2 && betas->items[0]->type == JSON_NUMBER &&
	    betas->items[1]->type == JSON_NUMBER) {
		opt.beta1 = betas->items[0]->number;
		opt.beta2 = betas->items[1]->number;
	}
	opt.eps = golden_ref_number(ref, "adam", "eps", opt.eps);
	opt.weight_decay = golden_ref_number(ref, "adam", "weight_decay", 0);
	double lr = golden_ref_number(ref, "stage1", "lr", NAN);
	if (isnan(lr)) {
		golden_fail(g, rloss, "reference.json has no stage1.lr");
		goto out;
	}
	loss_config lc;
	loss_config_defaults(&lc, LOSS_CE, C);
	fit_context ctx = {.backend = FIT_BACKEND_CPU, .pool = NULL};
#ifdef LFM_GOLDEN_CUDA
	/* the CUDA build of the checker (BUILD/emu/golden-check, BUILD/golden-check-cuda): the same step through
	 * the CUDA runner, at LFM_GOLDEN_PRECISION (fp32 unless set) */
	static lfm_cuda_context *cuda;
	if (!cuda)
		cuda = lfm_device_open("cuda");
	lfm_precision prec = LFM_PRECISION_FP32;
	const char *pe = getenv("LFM_GOLDEN_PRECISION");
	if (pe && lfm_precision_parse(pe, &prec))
		die(LFM_EXIT_USAGE, "LFM_GOLDEN_PRECISION=%s: fp32, tf32 or bf16", pe);
	ctx = (fit_context){FIT_BACKEND_DEVICE, NULL, &lfm_cuda_fit_ops, cuda, prec, 0, NULL};
	if (prec != LFM_PRECISION_FP32)
		tol_forward = 1e-2, tol_param = 0.1;
#endif
	if (fit_init(&s, &ctx, &m.vision, 1, text, C, &lc, &opt, B, err, sizeof err)) {
		golden_fail(g, rloss, "%s", err);
		goto out;
	}
	have_fit = 1;
	double losses[STEPS];
	for (int t = 0; t < STEPS; t++)
		losses[t] = fit_step(&s, x, y, B, lr);
	fit_sync_host(&s); /* the parameters into the host block (a device runner trains its own copy) */

	const json_value *st1 = json_get(ref, "stage1"), *rl = st1 ? json_get(st1, "losses") : NULL;
	if (!rl || rl->type != JSON_ARRAY || rl->count < STEPS) {
		golden_fail(g, rloss, "reference.json has no stage1.losses (%d values)", STEPS);
	} else {
		double worst = 0;
		for (int t = 0; t < STEPS; t++) {
			double want = rl->items[t]->type == JSON_NUMBER ? rl->items[t]->number : NAN;
			double e = fabs(losses[t] - want) / fabs(want);
			if (!(e <= worst))
				worst = e;
		}
		golden_report(g, rloss, worst, TOL_FORWARD);
	}

	if (!golden_exists(g, rp)) {
		golden_fail(g, rp, "missing");
		goto out;
	}
	char *path = golden_path(g, rp);
	st_file f;
	int rc = st_open(path, &f, err, sizeof err);
	free(path);
	if (rc) {
		golden_fail(g, rp, "%s", err);
		goto out;
	}
	/* the original values, for the key biases' starting point */
	clip_model m0;
	{
		char *p0 = golden_path(g, "model.safetensors");
		clip_load_opts o = {.towers = CLIP_VISION};
		clip_model_load_or_die(&m0, p0, &o);
		free(p0);
	}
	clip_naming nm = st_find(&f, "visual.conv1.weight") ? CLIP_NAMING_OPENAI : CLIP_NAMING_HF;
	size_t nref = clip_tensor_refs(c, CLIP_VISION, nm, NULL);
	clip_tensor_ref *refs = xmalloc_array(nref, sizeof *refs);
	clip_tensor_refs(c, CLIP_VISION, nm, refs);
	double worst = 0, key_worst = 0, key_moved = 0;
	const char *worst_name = "-";
	size_t found = 0, key_count = 0;
	int verbose = getenv("LFM_GOLDEN_VERBOSE") != NULL;
	for (size_t i = 0; i < nref; i++) {
		const st_tensor *t = st_find(&f, refs[i].name);
		if (!t)
			continue;
		found++;
		double e;
		if (t->count != refs[i].count) {
			e = INFINITY;
		} else {
			float *want = st_to_f32(t, NULL);
			const float *src = m.vision.param_memory + refs[i].offset;
			const float *start = m0.vision.param_memory + refs[i].offset;
			double num = 0, den = 0;
			size_t rows = refs[i].transposed ? (size_t)refs[i].shape[0] : 1;
			size_t cols = refs[i].transposed ? (size_t)refs[i].shape[1] : refs[i].count;
			for (size_t a = 0; a < rows; a++)
				for (size_t b = 0; b < cols; b++) {
					size_t fk = a * cols + b;                               /* file order */
					size_t bk = refs[i].transposed ? b * rows + a : fk;      /* block order */
					double ours = src[bk], w = want[fk];
					if (!refs[i].transposed && is_key_bias(c, refs[i].offset + bk)) {
						double d = fabs(ours - w);
						if (!(d <= key_worst))
							key_worst = d;
						double mv = fabs(w - start[bk]);
						if (mv > key_moved)
							key_moved = mv;
						key_count++;
						continue;
					}
					num += (ours - w) * (ours - w);
					den += w * w;
				}
			e = den > 0 ? sqrt(num / den) : (num == 0 ? 0 : INFINITY);
			free(want);
		}
		if (verbose)
			printf("  %-60s %.3g\n", refs[i].name, e);
		if (!(e <= worst)) {
			worst = e;
			worst_name = refs[i].name;
		}
	}
	if (found != f.n_tensors || found == 0) {
		golden_fail(g, rp, "%zu of its %zu tensors are vision-tower parameters of this model", found, f.n_tensors);
	} else {
		printf("  (%zu tensors; worst: %s)\n", found, worst_name);
		golden_report(g, rp, worst, TOL_PARAM);
		double bound = 2 * adam_reach(opt.beta1, opt.beta2, STEPS) * lr;
		printf("  (%zu key-bias values, true gradient 0; the reference moved them up to %.3g; bound %.3g = 2 x "
		       "Adam's reach in %d steps)\n",
		       key_count, key_moved, bound, STEPS);
		if (key_count)
			golden_report(g, rk, key_worst, bound);
	}
	free(refs);
	st_close(&f);
	clip_model_free(&m0);
out:
	if (have_fit)
		fit_free(&s);
	if (have_model)
		clip_model_free(&m);
	golden_batch_free(&gb);
	json_free(ref);
}
