/* check_clip.c — the CLIP model against OpenAI's clip/model.py on a golden folder.
 *
 *   clip_text     text_tokens.npy (and text_prompts.txt through the tokenizer) -> text_features.npy
 *   clip_image    pixels.npy -> image_features.npy
 *   clip_hf       the same through model-hf.safetensors (Hugging Face names): against the golden features and
 *                 identical to what model.safetensors gives
 *   stage1_grads  the official stage-1 step's gradients: logits = normalize(visual(train_x)) .
 *                 train_text_features^T (no temperature), loss = mean soft-target cross-entropy with train_y;
 *                 stage1_logits.npy, then every tensor of stage1_grads_step1.safetensors (one line for the file:
 *                 the worst tensor's relative error; LFM_GOLDEN_VERBOSE=1 lists every tensor)
 * Forward values must match to a relative L2 error of 1e-5, gradients to 1e-4 per tensor. Everything is
 * derived from the folder's files (the architecture from model.safetensors' shapes), so the checks run
 * unchanged on a golden folder made the same way for another model size. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "cpu/clip_layers.h"
#include "cpu/clip_text.h"
#include "cpu/clip_vision.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "model/clip_weights.h"
#include "text/clip_tokenizer.h"
#include "golden.h"

#define TOL_FORWARD 1e-5
#define TOL_GRAD 1e-4

/* Token ids [n, ctx] as int32. */
static int32_t *load_tokens(golden_ctx *g, const char *file, int64_t shape[NPY_MAX_DIMS], const char *report)
{
	if (!golden_exists(g, file)) {
		golden_fail(g, report, "%s missing", file);
		return NULL;
	}
	char *path = golden_path(g, file);
	npy_array a;
	npy_load(path, &a);
	free(path);
	if (a.ndim != 2 || (a.dtype != DT_I32 && a.dtype != DT_I64)) {
		golden_fail(g, report, "%s: expected a 2-D int32 or int64 array", file);
		npy_free(&a);
		return NULL;
	}
	int32_t *ids = xmalloc_array(a.count, sizeof *ids);
	for (size_t i = 0; i < a.count; i++)
		ids[i] = a.dtype == DT_I32 ? ((int32_t *)a.data)[i] : (int32_t)((int64_t *)a.data)[i];
	shape[0] = a.shape[0];
	shape[1] = a.shape[1];
	npy_free(&a);
	return ids;
}

static int same_shape(golden_ctx *g, const char *report, const char *what, int64_t rows, int64_t cols,
		      const int64_t *ref)
{
	if (ref[0] == rows && ref[1] == cols)
		return 1;
	golden_fail(g, report, "%s: shape [%lld, %lld], the model gives [%lld, %lld]", what, (long long)ref[0],
		    (long long)ref[1], (long long)rows, (long long)cols);
	return 0;
}

/* encode_text of DIR/text_tokens.npy; NULL after reporting. */
static float *text_features_of_tokens(golden_ctx *g, clip_model *m, const char *report, int64_t *n_out)
{
	int64_t ts[NPY_MAX_DIMS];
	int32_t *ids = load_tokens(g, "text_tokens.npy", ts, report);
	if (!ids)
		return NULL;
	float *out = xmalloc_array((size_t)ts[0] * m->cfg.embed_dim, sizeof *out);
	char err[256];
	if (clip_encode_text(&m->text, ids, (size_t)ts[0], (int)ts[1], out, err, sizeof err)) {
		golden_fail(g, report, "text_tokens.npy: %s", err);
		free(out);
		out = NULL;
	}
	free(ids);
	*n_out = ts[0];
	return out;
}

/* Compare features [n, d] with a golden .npy under `report`. */
static void compare_features(golden_ctx *g, const char *report, const char *file, const float *ours, int64_t n,
			     int d)
{
	int64_t rs[NPY_MAX_DIMS];
	float *ref = golden_load_f32(g, file, 2, rs, report);
	if (!ref)
		return;
	if (same_shape(g, report, file, n, d, rs))
		golden_report(g, report, golden_rel_l2(ours, ref, (size_t)n * d), TOL_FORWARD);
	free(ref);
}

/* The prompts of DIR/text_prompts.txt through the tokenizer: [n, context] ids, zero padded. */
static int32_t *tokenize_prompts(golden_ctx *g, int context, int64_t *n_out, const char *report)
{
	char err[512];
	clip_tokenizer *tok = clip_tokenizer_load(NULL, err, sizeof err);
	if (!tok) {
		golden_fail(g, report, "%s", err);
		return NULL;
	}
	char *path = golden_path(g, "text_prompts.txt");
	size_t len;
	char *text = xread_file(path, &len);
	free(path);
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	lines += len && text[len - 1] != '\n';
	int32_t *ids = xcalloc(lines ? lines * (size_t)context : 1, sizeof *ids);
	size_t n = 0;
	for (char *p = text; p < text + len; n++) {
		char *nl = memchr(p, '\n', (size_t)(text + len - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
		if (clip_tokenize(tok, p, l, ids + n * context, context, err, sizeof err) < 0) {
			golden_fail(g, report, "text_prompts.txt line %zu: %s", n + 1, err);
			free(ids);
			ids = NULL;
			break;
		}
		p += l + 1;
	}
	free(text);
	clip_tokenizer_free(tok);
	*n_out = (int64_t)n;
	return ids;
}

void golden_check_clip_text(golden_ctx *g)
{
	const char *report = "text_features.npy (text_tokens.npy)";
	clip_model m;
	if (golden_load_model(g, "model.safetensors", CLIP_TEXT, &m, report))
		return;
	int64_t n;
	float *feat = text_features_of_tokens(g, &m, report, &n);
	if (feat)
		compare_features(g, report, "text_features.npy", feat, n, m.cfg.embed_dim);
	free(feat);

	report = "text_features.npy (text_prompts.txt)";
	if (!golden_exists(g, "text_prompts.txt")) {
		golden_fail(g, report, "text_prompts.txt missing");
	} else {
		int32_t *ids = tokenize_prompts(g, m.cfg.context_length, &n, report);
		if (ids) {
			float *out = xmalloc_array((size_t)n * m.cfg.embed_dim, sizeof *out);
			char err[256];
			if (clip_encode_text(&m.text, ids, (size_t)n, m.cfg.context_length, out, err, sizeof err))
				golden_fail(g, report, "%s", err);
			else
				compare_features(g, report, "text_features.npy", out, n, m.cfg.embed_dim);
			free(out);
			free(ids);
		}
	}
	clip_model_free(&m);
}

/* encode_image of DIR/pixels.npy; NULL after reporting. */
static float *image_features(golden_ctx *g, clip_model *m, const char *report, int64_t *n_out)
{
	int64_t ps[NPY_MAX_DIMS];
	float *pixels = golden_load_f32(g, "pixels.npy", 4, ps, report);
	if (!pixels)
		return NULL;
	int R = m->cfg.image_resolution;
	if (ps[1] != 3 || ps[2] != R || ps[3] != R) {
		golden_fail(g, report, "pixels.npy: shape [%lld, %lld, %lld, %lld], the model takes [n, 3, %d, %d]",
			    (long long)ps[0], (long long)ps[1], (long long)ps[2], (long long)ps[3], R, R);
		free(pixels);
		return NULL;
	}
	float *out = xmalloc_array((size_t)ps[0] * m->cfg.embed_dim, sizeof *out);
	clip_encode_image_once(&m->vision, pixels, (size_t)ps[0], out);
	free(pixels);
	*n_out = ps[0];
	return out;
}

void golden_check_clip_image(golden_ctx *g)
{
	const char *report = "image_features.npy (pixels.npy)";
	clip_model m;
	if (golden_load_model(g, "model.safetensors", CLIP_VISION, &m, report))
		return;
	int64_t n;
	float *feat = image_features(g, &m, report, &n);
	if (feat)
		compare_features(g, report, "image_features.npy", feat, n, m.cfg.embed_dim);
	free(feat);
	clip_model_free(&m);
}

void golden_check_clip_hf(golden_ctx *g)
{
	const char *rt = "model-hf: text_features.npy", *ri = "model-hf: image_features.npy";
	const char *same = "model-hf = model.safetensors (max abs diff)";
	clip_model hf, oa;
	if (golden_load_model(g, "model-hf.safetensors", CLIP_BOTH, &hf, rt))
		return;
	if (hf.naming != CLIP_NAMING_HF)
		golden_fail(g, rt, "model-hf.safetensors was not read with Hugging Face names");
	int64_t nt = 0, ni = 0;
	float *ft = text_features_of_tokens(g, &hf, rt, &nt);
	if (ft)
		compare_features(g, rt, "text_features.npy", ft, nt, hf.cfg.embed_dim);
	float *fi = image_features(g, &hf, ri, &ni);
	if (fi)
		compare_features(g, ri, "image_features.npy", fi, ni, hf.cfg.embed_dim);
	if (ft && fi && golden_load_model(g, "model.safetensors", CLIP_BOTH, &oa, same) == 0) {
		int64_t n2 = 0, n3 = 0;
		float *ot = text_features_of_tokens(g, &oa, same, &n2);
		float *oi = image_features(g, &oa, same, &n3);
		if (ot && oi && oa.cfg.embed_dim == hf.cfg.embed_dim && n2 == nt && n3 == ni) {
			double d1 = golden_max_abs(ft, ot, (size_t)nt * hf.cfg.embed_dim);
			double d2 = golden_max_abs(fi, oi, (size_t)ni * hf.cfg.embed_dim);
			golden_report(g, same, d1 > d2 || d1 != d1 ? d1 : d2, 0.0);
		} else if (ot && oi) {
			golden_fail(g, same, "the two files give different shapes");
		}
		free(ot);
		free(oi);
		clip_model_free(&oa);
	}
	free(ft);
	free(fi);
	clip_model_free(&hf);
}

/* Mean soft-target cross-entropy of logits [B, K] against y [B, K], and its gradient. */
static double soft_ce(const float *logits, const float *y, int B, int K, float *dlogits)
{
	double loss = 0;
	for (int b = 0; b < B; b++) {
		const float *z = logits + (size_t)b * K, *t = y + (size_t)b * K;
		double mx = z[0], sum = 0, ysum = 0;
		for (int k = 1; k < K; k++)
			mx = z[k] > mx ? z[k] : mx;
		for (int k = 0; k < K; k++)
			sum += exp(z[k] - mx);
		double lse = mx + log(sum);
		for (int k = 0; k < K; k++) {
			loss -= t[k] * (z[k] - lse);
			ysum += t[k];
		}
		for (int k = 0; k < K; k++)
			dlogits[(size_t)b * K + k] = (float)((exp(z[k] - lse) * ysum - t[k]) / B);
	}
	return loss / B;
}

void golden_check_stage1_grads(golden_ctx *g)
{
	const char *rl = "stage1_logits.npy", *rg = "stage1_grads_step1.safetensors";
	clip_model m;
	if (golden_load_model(g, "model.safetensors", CLIP_VISION, &m, rl))
		return;
	const clip_config *c = &m.cfg;
	int D = c->embed_dim;
	golden_batch gb;
	if (golden_load_batch(g, c, &gb, rl)) {
		clip_model_free(&m);
		return;
	}
	const float *x = gb.x, *y = gb.y, *tf = gb.text;
	int B = gb.B, K = gb.C;
	clip_vision runner, *v = &runner;
	clip_vision_adopt(v, &m.vision);
	clip_vision_alloc_training(v);
	clip_vision_alloc_acts(v, B, 1);
	clip_vision_forward(v, x, B);
	float *fn = xmalloc_array((size_t)B * D, sizeof *fn), *norm = xmalloc_array((size_t)B, sizeof *norm);
	float *logits = xmalloc_array((size_t)B * K, sizeof *logits), *dlogits = xmalloc_array((size_t)B * K, sizeof *dlogits);
	float *dfn = xcalloc((size_t)B * D, sizeof *dfn), *dfeat = xcalloc((size_t)B * D, sizeof *dfeat);
	l2norm_forward(fn, norm, v->acts.out, (size_t)B, D);
	matmul_forward(logits, fn, tf, NULL, (size_t)B, D, K); /* fn @ text^T */
	int64_t ls[NPY_MAX_DIMS];
	float *ref_logits = golden_load_f32(g, "stage1_logits.npy", 2, ls, rl);
	if (ref_logits && same_shape(g, rl, "stage1_logits.npy", B, K, ls))
		golden_report(g, rl, golden_rel_l2(logits, ref_logits, (size_t)B * K), TOL_FORWARD);
	free(ref_logits);

	soft_ce(logits, y, B, K, dlogits);
	matmul_backward(dfn, NULL, NULL, dlogits, fn, tf, (size_t)B, D, K);
	l2norm_backward(dfeat, dfn, fn, norm, (size_t)B, D);
	clip_vision_zero_grad(v);
	clip_vision_backward(v, dfeat);

	if (!golden_exists(g, rg)) {
		golden_fail(g, rg, "missing");
	} else {
		char *path = golden_path(g, rg);
		st_file f;
		char err[1024];
		if (st_open(path, &f, err, sizeof err)) {
			golden_fail(g, rg, "%s", err);
		} else {
			/* Our gradients under the file's names (OpenAI's; HF's also understood). */
			clip_naming nm = st_find(&f, "visual.conv1.weight") ? CLIP_NAMING_OPENAI : CLIP_NAMING_HF;
			size_t nref = clip_tensor_refs(c, CLIP_VISION, nm, NULL);
			clip_tensor_ref *refs = xmalloc_array(nref, sizeof *refs);
			clip_tensor_refs(c, CLIP_VISION, nm, refs);
			double worst = 0;
			const char *worst_name = "-";
			size_t found = 0;
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
					float *ref = st_to_f32(t, NULL);
					float *ours = xmalloc_array(refs[i].count, sizeof *ours);
					const float *src = v->grad_memory + refs[i].offset;
					if (refs[i].transposed) {
						size_t rows = (size_t)refs[i].shape[0], cols = (size_t)refs[i].shape[1];
						for (size_t a = 0; a < rows; a++)
							for (size_t b = 0; b < cols; b++)
								ours[a * cols + b] = src[b * rows + a];
					} else {
						memcpy(ours, src, refs[i].count * sizeof *ours);
					}
					e = golden_rel_l2(ours, ref, refs[i].count);
					free(ref);
					free(ours);
				}
				if (verbose)
					printf("  %-60s %.3g\n", refs[i].name, e);
				if (!(e <= worst)) {
					worst = e;
					worst_name = refs[i].name;
				}
			}
			if (found != f.n_tensors || found == 0) {
				golden_fail(g, rg, "%zu of its %zu tensors are vision-tower parameters of this model",
					    found, f.n_tensors);
			} else {
				printf("  (%zu tensors; worst: %s)\n", found, worst_name);
				golden_report(g, rg, worst, TOL_GRAD);
			}
			free(refs);
			st_close(&f);
		}
		free(path);
	}
	free(fn);
	free(norm);
	free(logits);
	free(dlogits);
	free(dfn);
	free(dfeat);
	golden_batch_free(&gb);
	clip_vision_free(v);
	clip_model_free(&m);
}
