/* check_training.c — golden checks of the training mathematics (losses.h, cosine_head.h, adam.h):
 *
 *   mms     the MMS loss of mms_logits.npy against train_y.npy with train_text_features.npy (margin l and
 *           temperature from reference.json's "mms"): the loss vs reference.json mms.loss and
 *           d(loss)/d(logits) vs mms_dlogits.npy
 *   stage2  the official stage-2 step: the visual tower frozen at stage1_params_step3.safetensors (the rest
 *           of the tower, if any, from model.safetensors), features of train_x, logits =
 *           normalize(W·f)·train_text_features^T with W = fc.weight = I, mean soft CE with train_y, Adam
 *           (reference.json's betas, eps, weight decay and stage2.lr) for three steps on the same batch:
 *           fc.weight's gradient at step 1 vs stage2_grads_step1.safetensors, its value after step 3 vs
 *           stage2_params_step3.safetensors, the three losses vs reference.json stage2.losses, and the
 *           trained model's logits of train_x vs mms_logits.npy (which the reference computed with it).
 *
 * Forward values (losses, logits) must match to a relative error of 1e-5, gradients and updated parameters
 * to 1e-4 (relative L2), as ../shared/README.md says float32 references support. Everything is taken from
 * the folder's files, so the checks run unchanged on a golden folder of another model size.
 *
 * The stage-2 mathematics after the features is golden_stage2_from_features(), which takes the frozen
 * tower's features as input; only the features come from clip_model.h. */
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
#include "train/cosine_head.h"
#include "train/losses.h"
#include "golden.h"

#define TOL_FORWARD 1e-5
#define TOL_GRAD 1e-4

/* fc.weight [D, D] of a safetensors file as float32; NULL after reporting. */
static float *load_fc(golden_ctx *g, const char *file, int D)
{
	if (!golden_exists(g, file)) {
		golden_fail(g, file, "missing");
		return NULL;
	}
	char *path = golden_path(g, file);
	st_file f;
	char err[1024];
	float *out = NULL;
	if (st_open(path, &f, err, sizeof err)) {
		golden_fail(g, file, "%s", err);
	} else {
		const st_tensor *t = st_find(&f, "fc.weight");
		if (!t)
			golden_fail(g, file, "no tensor 'fc.weight'");
		else if (t->ndim != 2 || t->shape[0] != D || t->shape[1] != D)
			golden_fail(g, file, "fc.weight is not [%d, %d]", D, D);
		else
			out = st_to_f32(t, NULL);
		st_close(&f);
	}
	free(path);
	return out;
}

static double rel_err(double got, double want)
{
	return want == 0 ? fabs(got) : fabs(got - want) / fabs(want);
}

/* ---- mms --------------------------------------------------------------------------------------------- */

void golden_check_mms(golden_ctx *g)
{
	const char *rl = "mms loss (reference.json mms.loss)", *rd = "mms_dlogits.npy";
	json_value *ref = golden_load_reference(g, rl);
	if (!ref)
		return;
	int64_t zs[NPY_MAX_DIMS], ys[NPY_MAX_DIMS], ts[NPY_MAX_DIMS], ds[NPY_MAX_DIMS];
	float *z = golden_load_f32(g, "mms_logits.npy", 2, zs, rl);
	float *y = z ? golden_load_f32(g, "train_y.npy", 2, ys, rl) : NULL;
	float *t = y ? golden_load_f32(g, "train_text_features.npy", 2, ts, rl) : NULL;
	float *dref = t ? golden_load_f32(g, "mms_dlogits.npy", 2, ds, rd) : NULL;
	if (!dref)
		goto out;
	int B = (int)zs[0], C = (int)zs[1];
	if (ys[0] != B || ys[1] != C || ts[0] != C || ds[0] != B || ds[1] != C) {
		golden_fail(g, rl, "mms_logits [%d, %d], train_y [%lld, %lld], train_text_features [%lld, %lld], "
				   "mms_dlogits [%lld, %lld] do not fit together",
			    B, C, (long long)ys[0], (long long)ys[1], (long long)ts[0], (long long)ts[1],
			    (long long)ds[0], (long long)ds[1]);
		goto out;
	}
	loss_config c;
	loss_config_defaults(&c, LOSS_MMS, C);
	c.text_features = t;
	c.text_dim = (int)ts[1];
	c.mms_margin = golden_ref_number(ref, "mms", "l", 0.3);
	c.mms_temperature = golden_ref_number(ref, "mms", "temp", 0.01);
	double want = golden_ref_number(ref, "mms", "loss", NAN);
	loss_fn L;
	char err[256];
	if (loss_init(&L, &c, err, sizeof err)) {
		golden_fail(g, rl, "%s", err);
		goto out;
	}
	float *d = xmalloc_array((size_t)B * C, sizeof *d);
	double loss = loss_forward_backward(&L, z, y, B, d);
	if (isnan(want))
		golden_fail(g, rl, "reference.json has no mms.loss");
	else
		golden_report(g, rl, rel_err(loss, want), TOL_FORWARD);
	golden_report(g, rd, golden_rel_l2(d, dref, (size_t)B * C), TOL_GRAD);
	free(d);
	loss_free(&L);
out:
	free(z);
	free(y);
	free(t);
	free(dref);
	json_free(ref);
}

/* ---- stage 2 ----------------------------------------------------------------------------------------- */

/* Replace the tower's parameters by the visual tensors of DIR/file (OpenAI or HF names); the number of
 * tensors taken, or -1 after reporting. */
static int overlay_vision(golden_ctx *g, clip_model *m, const char *file, const char *report)
{
	if (!golden_exists(g, file)) {
		golden_fail(g, report, "%s missing", file);
		return -1;
	}
	char *path = golden_path(g, file);
	st_file f;
	char err[1024];
	int rc = st_open(path, &f, err, sizeof err);
	free(path);
	if (rc) {
		golden_fail(g, report, "%s", err);
		return -1;
	}
	clip_naming nm = st_find(&f, "vision_model.embeddings.patch_embedding.weight") ? CLIP_NAMING_HF
										      : CLIP_NAMING_OPENAI;
	size_t nref = clip_tensor_refs(&m->cfg, CLIP_VISION, nm, NULL);
	clip_tensor_ref *refs = xmalloc_array(nref, sizeof *refs);
	clip_tensor_refs(&m->cfg, CLIP_VISION, nm, refs);
	int taken = 0;
	for (size_t i = 0; i < nref && taken >= 0; i++) {
		const st_tensor *t = st_find(&f, refs[i].name);
		if (!t)
			continue;
		if (t->count != refs[i].count) {
			golden_fail(g, report, "%s: tensor '%s' has %zu values, the model %zu", file, refs[i].name,
				    t->count, refs[i].count);
			taken = -1;
			break;
		}
		float *vals = st_to_f32(t, NULL);
		float *dst = m->vision.param_memory + refs[i].offset;
		if (refs[i].transposed) { /* the file holds [rows, cols] = the transpose of our block */
			size_t rows = (size_t)refs[i].shape[0], cols = (size_t)refs[i].shape[1];
			for (size_t a = 0; a < rows; a++)
				for (size_t b = 0; b < cols; b++)
					dst[b * rows + a] = vals[a * cols + b];
		} else {
			memcpy(dst, vals, refs[i].count * sizeof *dst);
		}
		free(vals);
		taken++;
	}
	free(refs);
	st_close(&f);
	if (taken == 0) {
		golden_fail(g, report, "%s: no visual tensor found", file);
		return -1;
	}
	return taken;
}

/* What the stage-2 run produced. */
typedef struct stage2_result {
	double losses[3];
	float *grad_step1; /* [D, D] */
	float *fc_step3;   /* [D, D] */
	float *logits;     /* [B, C] the trained model's logits (after step 3) */
} stage2_result;

/* The official stage-2 step on fixed features: W = I, three Adam steps of mean soft CE on the same
 * batch. Features [B, D] (the frozen tower's output), text [C, D], targets [B, C]. 0, or -1 with err. */
static int golden_stage2_from_features(const float *features, int B, int D, const float *text, int C,
				       const float *targets, const adam_config *opt, stage2_result *res, char *err,
				       size_t errsz)
{
	cosine_head hd;
	if (cosine_head_init(&hd, text, C, D, 2, err, errsz))
		return -1;
	loss_config lc;
	loss_config_defaults(&lc, LOSS_CE, C);
	loss_fn L;
	if (loss_init(&L, &lc, err, errsz)) {
		cosine_head_free(&hd);
		return -1;
	}
	size_t nw = (size_t)D * D;
	float *logits = xmalloc_array((size_t)B * C, sizeof *logits), *dl = xmalloc_array((size_t)B * C, sizeof *dl);
	res->grad_step1 = xmalloc_array(nw, sizeof(float));
	res->fc_step3 = xmalloc_array(nw, sizeof(float));
	for (int t = 1; t <= 3; t++) {
		cosine_head_zero_grad(&hd);
		cosine_head_forward(&hd, features, B, logits);
		res->losses[t - 1] = loss_forward_backward(&L, logits, targets, B, dl);
		cosine_head_backward(&hd, dl, NULL); /* the tower is frozen: no feature gradient */
		if (t == 1)
			memcpy(res->grad_step1, hd.fc_grad, nw * sizeof(float));
		adam_step(hd.fc, hd.fc_grad, hd.fc_m, hd.fc_v, nw, opt, t);
	}
	memcpy(res->fc_step3, hd.fc, nw * sizeof(float));
	cosine_head_forward(&hd, features, B, logits);
	res->logits = logits;
	free(dl);
	loss_free(&L);
	cosine_head_free(&hd);
	return 0;
}

void golden_check_stage2(golden_ctx *g)
{
	const char *rloss = "stage2 losses (reference.json stage2.losses)", *rg = "stage2_grads_step1.safetensors",
		   *rp = "stage2_params_step3.safetensors", *rlog = "mms_logits.npy (stage-2 model, step 3)";
	json_value *ref = golden_load_reference(g, rloss);
	if (!ref)
		return;
	clip_model m;
	memset(&m, 0, sizeof m);
	int have_model = 0;
	golden_batch gb = {0}; /* x, y and text below are its arrays */
	float *x = NULL, *y = NULL, *text = NULL, *feat = NULL, *gref = NULL, *pref = NULL;
	stage2_result res = {{0}, NULL, NULL, NULL};
	if (golden_load_model(g, "model.safetensors", CLIP_VISION, &m, rloss))
		goto out;
	have_model = 1;
	if (overlay_vision(g, &m, "stage1_params_step3.safetensors", rloss) < 0)
		goto out;
	const clip_config *c = &m.cfg;
	int D = c->embed_dim;
	if (golden_load_batch(g, c, &gb, rloss))
		goto out;
	x = gb.x;
	y = gb.y;
	text = gb.text;
	int B = gb.B, C = gb.C;
	feat = xmalloc_array((size_t)B * D, sizeof *feat);
	clip_encode_image_once(&m.vision, x, (size_t)B, feat);

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
	opt.lr = golden_ref_number(ref, "stage2", "lr", NAN);
	if (isnan(opt.lr)) {
		golden_fail(g, rloss, "reference.json has no stage2.lr");
		goto out;
	}
	char err[1024];
	if (golden_stage2_from_features(feat, B, D, text, C, y, &opt, &res, err, sizeof err)) {
		golden_fail(g, rloss, "%s", err);
		goto out;
	}

	const json_value *st2 = json_get(ref, "stage2"), *losses = st2 ? json_get(st2, "losses") : NULL;
	if (!losses || losses->type != JSON_ARRAY || losses->count < 1) {
		golden_fail(g, rloss, "reference.json has no stage2.losses");
	} else {
		double worst = 0;
		size_t n = losses->count < 3 ? losses->count : 3;
		for (size_t i = 0; i < n; i++) {
			double want = losses->items[i]->type == JSON_NUMBER ? losses->items[i]->number : NAN;
			double e = rel_err(res.losses[i], want);
			if (!(e <= worst))
				worst = e;
		}
		golden_report(g, rloss, worst, TOL_FORWARD);
	}
	gref = load_fc(g, rg, D);
	if (gref)
		golden_report(g, rg, golden_rel_l2(res.grad_step1, gref, (size_t)D * D), TOL_GRAD);
	pref = load_fc(g, rp, D);
	if (pref)
		golden_report(g, rp, golden_rel_l2(res.fc_step3, pref, (size_t)D * D), TOL_GRAD);
	if (golden_exists(g, "mms_logits.npy")) {
		int64_t ls[NPY_MAX_DIMS];
		float *lref = golden_load_f32(g, "mms_logits.npy", 2, ls, rlog);
		if (ls[0] != B || ls[1] != C)
			golden_fail(g, rlog, "shape [%lld, %lld], the model gives [%d, %d]", (long long)ls[0],
				    (long long)ls[1], B, C);
		else
			golden_report(g, rlog, golden_rel_l2(res.logits, lref, (size_t)B * C), TOL_FORWARD);
		free(lref);
	}
out:
	free(res.grad_step1);
	free(res.fc_step3);
	free(res.logits);
	golden_batch_free(&gb);
	free(feat);
	free(gref);
	free(pref);
	if (have_model)
		clip_model_free(&m);
	json_free(ref);
}
