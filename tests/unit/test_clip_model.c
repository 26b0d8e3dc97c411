/* test_clip_model.c — the CLIP towers as a whole: the vision backward against finite differences of the
 * forward, the text tower's prefix sharing against a plain per-prompt forward built from the layers,
 * weights saved and loaded back (F32/F16/BF16, OpenAI and Hugging Face names), loading errors (missing and
 * mis-shaped tensors name the tensor and both shapes; exit status 1), OpenAI's initialisation, and the
 * golden model's two namings giving identical parameters (skipped without ../shared). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/rng.h"
#include "cpu/clip_layers.h"
#include "cpu/clip_text.h"
#include "cpu/clip_vision.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "model/clip_init.h"
#include "model/clip_weights.h"
#include "../test.h"

/* A small CLIP with two heads of 32 channels (so loading needs the head override). */
static clip_config tiny_config(void)
{
	return (clip_config){.embed_dim = 16, .image_resolution = 16, .patch_size = 8, .vision_width = 64,
			     .vision_layers = 2, .vision_heads = 2, .context_length = 16, .vocab_size = 300,
			     .text_width = 64, .text_layers = 2, .text_heads = 2};
}

static const clip_load_opts tiny_load = {.towers = CLIP_BOTH, .vision_heads = 2, .text_heads = 2};

/* Random tiny model whose LayerNorm weights and zero-initialised biases are perturbed too, so that every
 * parameter matters to the gradients. */
static void tiny_model(clip_model *m, uint64_t seed)
{
	clip_config c = tiny_config();
	clip_model_init_random(m, &c, CLIP_BOTH, seed);
	rng r;
	rng_init(&r, seed, 99);
	for (size_t i = 0; i < m->vision.num_params; i++)
		m->vision.param_memory[i] += (float)(0.02 * rng_normal(&r));
	for (size_t i = 0; i < m->text.num_params; i++)
		m->text.param_memory[i] += (float)(0.02 * rng_normal(&r));
}

static float *random_pixels(int B, int R, uint64_t seed)
{
	size_t n = (size_t)B * 3 * R * R;
	float *p = xmalloc_array(n, sizeof *p);
	rng r;
	rng_init(&r, seed, 7);
	for (size_t i = 0; i < n; i++)
		p[i] = (float)rng_normal(&r);
	return p;
}

static double vision_loss(clip_vision *v, const float *pixels, int B, const float *w)
{
	clip_vision_forward(v, pixels, B);
	double l = 0;
	for (size_t i = 0; i < (size_t)B * v->weights->cfg.embed_dim; i++)
		l += (double)v->acts.out[i] * w[i];
	return l;
}

/* Every vision parameter tensor: the backward's gradient along a random direction against central
 * differences of the (float) forward, with steps of 1% of the tensor's typical magnitude. */
static void test_vision_backward_fd(void)
{
	clip_model m;
	tiny_model(&m, 1);
	clip_vision runner;
	clip_vision_adopt(&runner, &m.vision);
	clip_vision *v = &runner;
	int B = 2, D = m.cfg.embed_dim;
	float *pixels = random_pixels(B, m.cfg.image_resolution, 2);
	float *w = random_pixels(1, 4, 3); /* 48 >= B * D values */
	clip_vision_alloc_training(v);
	clip_vision_alloc_acts(v, B, 1);
	clip_vision_zero_grad(v);
	vision_loss(v, pixels, B, w);
	clip_vision_backward(v, w);
	T_ASSERT(B * D <= 48);

	clip_param_info info[CLIP_VISION_TENSORS];
	clip_vision_param_info(&m.vision.cfg, info);
	rng r;
	rng_init(&r, 5, 5);
	double worst = 0;
	const char *worst_name = "";
	for (int t = 0; t < CLIP_VISION_TENSORS; t++) {
		float *p = m.vision.param_memory + info[t].offset;
		const float *g = v->grad_memory + info[t].offset;
		size_t n = info[t].count;
		double rms = 0;
		for (size_t i = 0; i < n; i++)
			rms += (double)p[i] * p[i];
		rms = sqrt(rms / n);
		double h = 0.01 * fmax(rms, 0.2); /* small steps drown in float rounding */
		float *u = xmalloc_array(n, sizeof *u), *save = xmalloc_array(n, sizeof *save);
		memcpy(save, p, n * sizeof *p);
		double analytic = 0;
		for (size_t i = 0; i < n; i++) {
			u[i] = (float)rng_normal(&r);
			analytic += (double)g[i] * u[i];
		}
		/* central differences at h and 2h, Richardson-extrapolated: the h^2 error term cancels */
		double d[2];
		for (int k = 0; k < 2; k++) {
			double step = k ? 2 * h : h;
			for (size_t i = 0; i < n; i++)
				p[i] = (float)(save[i] + step * u[i]);
			double lp = vision_loss(v, pixels, B, w);
			for (size_t i = 0; i < n; i++)
				p[i] = (float)(save[i] - step * u[i]);
			double lm = vision_loss(v, pixels, B, w);
			d[k] = (lp - lm) / (2 * step);
		}
		memcpy(p, save, n * sizeof *p);
		double numeric = (4 * d[0] - d[1]) / 3;
		double e = fabs(numeric - analytic) / fmax(fabs(analytic), 1.0); /* absolute below 1: noise */
		if (e > worst) {
			worst = e;
			worst_name = info[t].field;
		}
		free(u);
		free(save);
	}
	T_ASSERTF(worst < 2e-3, "worst relative error %g in %s", worst, worst_name);
	free(pixels);
	free(w);
	clip_vision_free(v);
	clip_model_free(&m);
}

/* encode_image (inference activations, chunks) = the training forward. */
static void test_encode_image(void)
{
	clip_model m;
	tiny_model(&m, 4);
	int B = 3, D = m.cfg.embed_dim;
	float *pixels = random_pixels(B, m.cfg.image_resolution, 8);
	float *a = xmalloc_array((size_t)B * D, sizeof *a);
	clip_vision v;
	clip_vision_adopt(&v, &m.vision);
	clip_encode_image(&v, pixels, (size_t)B, a);
	T_ASSERT(!v.act_training);
	clip_vision_alloc_training(&v);
	clip_vision_alloc_acts(&v, B, 1);
	clip_vision_forward(&v, pixels, B);
	for (size_t i = 0; i < (size_t)B * D; i++)
		T_ASSERTF(fabsf(a[i] - v.acts.out[i]) <= 1e-6f * (1 + fabsf(a[i])), "%zu: %g vs %g", i, a[i],
			  v.acts.out[i]);
	/* one image alone gives the same features as in the batch */
	float one[16];
	clip_encode_image(&v, pixels + 2 * 3 * 16 * 16, 1, one);
	for (int i = 0; i < D; i++)
		T_ASSERTF(fabsf(one[i] - a[2 * D + i]) <= 1e-5f * (1 + fabsf(one[i])), "%d: %g vs %g", i, one[i],
			  a[2 * D + i]);
	free(pixels);
	free(a);
	clip_vision_free(&v);
	clip_model_free(&m);
}

/* Image-parallel execution (clip_vision_set_pool) against the single-threaded tower: the features, every
 * gradient (slices summed through the private slabs) and the inference path, for pools of 2, 3 and 8
 * participants on 5 images (uneven slices; more participants than images); the same pool twice gives the
 * same bits. The forward of an image does not depend on its slice but for the products' rounding, and
 * the gradients are sums of the same terms in another order: 1e-5 relative to the tensor's scale. */
static void test_vision_slices(void)
{
	clip_model ref, m;
	tiny_model(&ref, 11);
	tiny_model(&m, 11);
	int B = 5, D = ref.cfg.embed_dim;
	float *pixels = random_pixels(B, ref.cfg.image_resolution, 12);
	float *w = random_pixels(1, 8, 13); /* 192 >= B * D */
	clip_vision ref_runner, runner, *rv = &ref_runner, *v = &runner;
	clip_vision_adopt(rv, &ref.vision);
	clip_vision_adopt(v, &m.vision);
	clip_vision_alloc_training(rv);
	clip_vision_alloc_acts(rv, B, 1);
	clip_vision_zero_grad(rv);
	clip_vision_forward(rv, pixels, B);
	clip_vision_backward(rv, w);
	size_t n = ref.vision.num_params;
	double gscale = 0;
	for (size_t i = 0; i < n; i++)
		gscale = fmax(gscale, fabs(rv->grad_memory[i]));
	T_ASSERT(gscale > 0);
	float *first = xmalloc_array(n, sizeof *first);
	static const int sizes[] = {2, 3, 8};
	for (size_t t = 0; t < sizeof sizes / sizeof *sizes; t++) {
		thread_pool *pool = thread_pool_new(sizes[t]);
		clip_vision_set_pool(v, pool);
		clip_vision_alloc_training(v);
		clip_vision_alloc_acts(v, B, 1);
		for (int rep = 0; rep < 2; rep++) {
			clip_vision_zero_grad(v);
			clip_vision_forward(v, pixels, B);
			for (size_t i = 0; i < (size_t)B * D; i++)
				T_ASSERTF(fabsf(v->acts.out[i] - rv->acts.out[i]) <= 1e-5f * (1 + fabsf(rv->acts.out[i])),
					  "pool %d: feature %zu: %g vs %g", sizes[t], i, v->acts.out[i], rv->acts.out[i]);
			clip_vision_backward(v, w);
			double worst = 0;
			size_t at = 0;
			for (size_t i = 0; i < n; i++) {
				double e = fabs((double)v->grad_memory[i] - rv->grad_memory[i]);
				if (e > worst) {
					worst = e;
					at = i;
				}
			}
			T_ASSERTF(worst <= 1e-5 * gscale, "pool %d: gradient %zu off by %g (scale %g)", sizes[t], at,
				  worst, gscale);
			if (rep == 0)
				memcpy(first, v->grad_memory, n * sizeof *first);
			else
				T_ASSERTF(memcmp(first, v->grad_memory, n * sizeof *first) == 0,
					  "pool %d: two runs differ", sizes[t]);
		}
		float feats[5 * 16];
		clip_vision_free(v); /* inference activations on a fresh runner over fresh weights, the same values */
		clip_model_free(&m);
		tiny_model(&m, 11);
		clip_vision_adopt(v, &m.vision);
		clip_vision_set_pool(v, pool);
		clip_encode_image(v, pixels, (size_t)B, feats);
		for (size_t i = 0; i < (size_t)B * D; i++)
			T_ASSERTF(fabsf(feats[i] - rv->acts.out[i]) <= 1e-5f * (1 + fabsf(rv->acts.out[i])),
				  "pool %d: encode_image %zu: %g vs %g", sizes[t], i, feats[i], rv->acts.out[i]);
		clip_vision_set_pool(v, NULL);
		thread_pool_free(pool);
	}
	free(first);
	free(pixels);
	free(w);
	clip_vision_free(rv);
	clip_vision_free(v);
	clip_model_free(&ref);
	clip_model_free(&m);
}

/* The text tower as OpenAI computes it, one prompt at a time from the layer functions: every position up
 * to and including the EOT (argmax) with causal attention, ln_final at the EOT, the projection. */
static void naive_text(const clip_text_weights *t, const int32_t *ids, int stride, float *out)
{
	const clip_config *c = &t->cfg;
	int W = c->text_width, eot = 0;
	for (int i = 1; i < stride; i++)
		if (ids[i] > ids[eot])
			eot = i;
	int T = eot + 1;
	size_t TW = (size_t)T * W;
	float *x = xmalloc_array(TW, sizeof *x), *ln = xmalloc_array(TW, sizeof *ln);
	float *qkv = xmalloc_array(3 * TW, sizeof *qkv), *y = xmalloc_array(TW, sizeof *y);
	float *att = xmalloc_array((size_t)c->text_heads * T * T, sizeof *att);
	float *h = xmalloc_array(4 * TW, sizeof *h), *tmp = xmalloc_array(TW, sizeof *tmp);
	for (int i = 0; i < T; i++)
		for (int k = 0; k < W; k++)
			x[(size_t)i * W + k] = t->params.token_emb[(size_t)ids[i] * W + k] + t->params.pos_emb[(size_t)i * W + k];
	for (int l = 0; l < c->text_layers; l++) {
		clip_blocks b = clip_blocks_layer(&t->params.blocks, l, W);
		layernorm_forward(ln, NULL, NULL, x, b.ln1_w, b.ln1_b, (size_t)T, W);
		matmul_forward(qkv, ln, b.qkv_w, b.qkv_b, (size_t)T, W, 3 * W);
		attention_forward(y, att, qkv, 1, T, W, c->text_heads, 1);
		matmul_forward(tmp, y, b.attn_out_w, b.attn_out_b, (size_t)T, W, W);
		residual_forward(x, x, tmp, TW);
		layernorm_forward(ln, NULL, NULL, x, b.ln2_w, b.ln2_b, (size_t)T, W);
		matmul_forward(h, ln, b.fc_w, b.fc_b, (size_t)T, W, 4 * W);
		quick_gelu_forward(h, h, 4 * TW);
		matmul_forward(tmp, h, b.fcproj_w, b.fcproj_b, (size_t)T, 4 * W, W);
		residual_forward(x, x, tmp, TW);
	}
	layernorm_forward(ln, NULL, NULL, x + (size_t)eot * W, t->params.ln_final_w, t->params.ln_final_b, 1, W);
	projection_forward(out, ln, t->params.proj, 1, W, c->embed_dim);
	free(x), free(ln), free(qkv), free(y), free(att), free(h), free(tmp);
}

static void test_text_tower(void)
{
	clip_model m;
	tiny_model(&m, 6);
	const int S = 6, ctx = 16, D = m.cfg.embed_dim, EOT = 299;
	/* shared prefixes, one prompt twice, a lone SOT-EOT, one at full context, padding after EOT */
	int32_t ids[6][16] = {
		{298, 5, 6, 7, EOT},
		{298, 5, 6, 8, 9, EOT},
		{298, 5, 6, 7, EOT, 3, 4, 5}, /* = prompt 0 with junk after the EOT */
		{298, EOT},
		{298, 5, 6, 7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, EOT},
		{298, 5, 6, 8, 9, EOT},
	};
	float *all = xmalloc_array((size_t)S * D, sizeof *all), ref[16], one[16];
	char err[256];
	T_ASSERT(clip_encode_text(&m.text, &ids[0][0], (size_t)S, ctx, all, err, sizeof err) == 0);
	for (int s = 0; s < S; s++) {
		naive_text(&m.text, ids[s], ctx, ref);
		T_ASSERT(clip_encode_text(&m.text, ids[s], 1, ctx, one, err, sizeof err) == 0);
		for (int i = 0; i < D; i++) {
			float a = all[(size_t)s * D + i];
			T_ASSERTF(fabsf(a - ref[i]) <= 1e-5f * (1 + fabsf(ref[i])), "prompt %d [%d]: %g vs naive %g", s, i,
				  a, ref[i]);
			T_ASSERTF(fabsf(a - one[i]) <= 1e-5f * (1 + fabsf(one[i])), "prompt %d [%d]: %g vs alone %g", s, i,
				  a, one[i]);
		}
	}
	for (int i = 0; i < D; i++) {
		T_ASSERT(all[0 * D + i] == all[2 * D + i]);
		T_ASSERT(all[1 * D + i] == all[5 * D + i]);
	}
	/* ids outside the vocabulary are refused, naming the sequence */
	int32_t bad[3] = {298, 300, 299};
	T_ASSERT(clip_encode_text(&m.text, bad, 1, 3, one, err, sizeof err) == -1);
	T_ASSERTF(strstr(err, "sequence 0") && strstr(err, "token id 300"), "%s", err);
	free(all);
	clip_model_free(&m);
}

static int params_equal(const float *a, const float *b, size_t n)
{
	return memcmp(a, b, n * sizeof *a) == 0;
}

/* Saved and loaded back: F32 exactly, F16/BF16 as the rounded values, OpenAI and HF names. */
static void test_save_load(void)
{
	clip_model m;
	tiny_model(&m, 9);
	static const dtype dts[3] = {DT_F32, DT_F16, DT_BF16};
	for (int naming = 0; naming < 2; naming++)
		for (int d = 0; d < 3; d++) {
			m.naming = naming ? CLIP_NAMING_HF : CLIP_NAMING_OPENAI;
			char *path = t_tmp_path("m.safetensors");
			clip_model_save(&m, CLIP_BOTH, dts[d], path, NULL);
			clip_model back;
			char err[512];
			st_file f;
			T_ASSERTF(st_open(path, &f, err, sizeof err) == 0, "%s", err);
			T_ASSERTF(clip_model_load(&back, &f, &tiny_load, err, sizeof err) == 0, "%s", err);
			T_ASSERT(strcmp(st_meta(&f, "naming"), clip_naming_name(m.naming)) == 0);
			st_close(&f);
			T_ASSERT(back.naming == m.naming);
			T_ASSERT(memcmp(&back.cfg, &m.cfg, sizeof m.cfg) == 0);
			T_ASSERT(back.has_logit_scale && back.logit_scale == m.logit_scale);
			const clip_model *src = &m;
			for (int tw = 0; tw < 2; tw++) {
				const float *a = tw ? src->text.param_memory : src->vision.param_memory;
				const float *b = tw ? back.text.param_memory : back.vision.param_memory;
				size_t n = tw ? src->text.num_params : src->vision.num_params;
				for (size_t i = 0; i < n; i++) {
					float want = dts[d] == DT_F32   ? a[i]
						     : dts[d] == DT_F16 ? f16_to_f32(f32_to_f16(a[i]))
									: bf16_to_f32(f32_to_bf16(a[i]));
					T_ASSERTF(b[i] == want, "naming %d dtype %d tower %d [%zu]: %g vs %g", naming, d, tw, i,
						  b[i], want);
				}
			}
			clip_model_free(&back);
		}
	clip_model_free(&m);
}

/* A vision-only checkpoint (checkpoint_save, from a vision-only source) with fc.weight under HF names:
 * loads back, keeps the names, the metadata describes only what it holds. */
static void test_checkpoint(void)
{
	clip_model full, v;
	tiny_model(&full, 11);
	char *path = t_tmp_path("ckpt.safetensors");
	full.naming = CLIP_NAMING_HF;
	clip_model_save(&full, CLIP_VISION, DT_F32, path, NULL);
	clip_load_opts o = {.towers = CLIP_VISION, .vision_heads = 2};
	clip_model_load_or_die(&v, path, &o);
	T_ASSERT(v.towers == CLIP_VISION && v.naming == CLIP_NAMING_HF);
	int D = v.cfg.embed_dim;
	float *fc = xmalloc_array((size_t)D * D, sizeof *fc);
	for (int i = 0; i < D * D; i++)
		fc[i] = (float)(i % (D + 1) == 0) + 0.001f * (float)i;
	const char *extra[] = {"stage", "2", NULL};
	/* the file the "run" started from is the vision-only one just written */
	st_file src, f;
	char err[512];
	T_ASSERTF(st_open(path, &src, err, sizeof err) == 0, "%s", err);
	char *out = t_tmp_path("ckpt-out.safetensors");
	checkpoint_save(out, &src, &v, fc, extra);
	st_close(&src);
	T_ASSERTF(st_open(out, &f, err, sizeof err) == 0, "%s", err);
	const st_tensor *t = st_find(&f, "fc.weight");
	T_ASSERT(t && t->dtype == DT_F32 && t->ndim == 2 && t->shape[0] == D && t->shape[1] == D);
	T_ASSERT(memcmp(t->data, fc, (size_t)D * D * sizeof *fc) == 0);
	T_ASSERT(st_find(&f, "visual_projection.weight") && !st_find(&f, "visual.proj"));
	T_ASSERT(strcmp(st_meta(&f, "stage"), "2") == 0 && strcmp(st_meta(&f, "naming"), "hf-clipmodel") == 0);
	const char *cfg = st_meta(&f, "config");
	T_ASSERTF(strstr(cfg, "\"vision_heads\":2") && !strstr(cfg, "transformer_width"), "%s", cfg);
	clip_model back;
	T_ASSERTF(clip_model_load(&back, &f, &o, err, sizeof err) == 0, "%s", err);
	T_ASSERT(params_equal(back.vision.param_memory, full.vision.param_memory, full.vision.num_params));
	st_close(&f);
	free(fc);
	clip_model_free(&back);
	clip_model_free(&v);
	clip_model_free(&full);
}

/* Write the OpenAI-named tensors of m, leaving out `skip` and giving `reshape` the shape [10]. */
static void write_altered(const clip_model *m, const char *path, const char *skip, const char *reshape,
			  int towers)
{
	static float ten[10];
	st_writer *w = st_writer_new();
	for (int tw = 0; tw < 2; tw++) {
		int tower = tw ? CLIP_TEXT : CLIP_VISION;
		if (!(towers & tower))
			continue;
		const float *block = tw ? m->text.param_memory : m->vision.param_memory;
		size_t n = clip_tensor_refs(&m->cfg, tower, CLIP_NAMING_OPENAI, NULL);
		clip_tensor_ref *refs = xmalloc_array(n, sizeof *refs);
		clip_tensor_refs(&m->cfg, tower, CLIP_NAMING_OPENAI, refs);
		for (size_t i = 0; i < n; i++) {
			if (skip && strcmp(refs[i].name, skip) == 0)
				continue;
			if (reshape && strcmp(refs[i].name, reshape) == 0) {
				int64_t s[1] = {10};
				st_writer_add(w, refs[i].name, DT_F32, 1, s, ten);
			} else {
				st_writer_add(w, refs[i].name, DT_F32, refs[i].ndim, refs[i].shape, block + refs[i].offset);
			}
		}
		st_writer_save(w, path); /* names are copied; data must live until here */
		free(refs);
	}
	st_writer_free(w);
}

static void load_or_die_child(void *arg)
{
	clip_model m;
	clip_model_load_or_die(&m, arg, &tiny_load);
}

static void expect_load_error(const char *path, int code, const char *const *needles)
{
	char err[2048];
	int rc = t_expect_exit(load_or_die_child, (void *)path, err, sizeof err);
	if (rc != code || strncmp(err, "test_clip_model: ", 17) != 0) {
		t_fail(__FILE__, __LINE__, "exit status and prefix", "status %d: %s", rc, err);
		return;
	}
	for (int i = 0; needles[i]; i++)
		if (!strstr(err, needles[i])) {
			t_fail(__FILE__, __LINE__, needles[i], "message: %s", err);
			return;
		}
}

static void test_load_errors(void)
{
	clip_model m;
	tiny_model(&m, 10);
	char *path = t_tmp_path("bad.safetensors");
	write_altered(&m, path, "visual.transformer.resblocks.1.attn.out_proj.weight", NULL, CLIP_BOTH);
	expect_load_error(path, 1,
			  (const char *[]){path, "tensor 'visual.transformer.resblocks.1.attn.out_proj.weight' missing",
					   "[64, 64]", NULL});
	write_altered(&m, path, NULL, "transformer.resblocks.0.mlp.c_fc.bias", CLIP_BOTH);
	expect_load_error(path, 1,
			  (const char *[]){"tensor 'transformer.resblocks.0.mlp.c_fc.bias'", "shape [10] found",
					   "[256] expected", NULL});
	write_altered(&m, path, NULL, "visual.proj", CLIP_BOTH);
	expect_load_error(path, 1, (const char *[]){"'visual.proj'", "[10] found", "[64, embed] expected", NULL});
	expect_load_error(t_tmp_path("absent.safetensors"), 3, (const char *[]){"absent.safetensors", NULL});
	/* a text-only file: fine for the text tower, an error for the vision tower */
	write_altered(&m, path, NULL, NULL, CLIP_TEXT);
	expect_load_error(path, 1, (const char *[]){"no vision tower", "visual.conv1.weight", NULL});
	st_file f;
	char err[512];
	T_ASSERT(st_open(path, &f, err, sizeof err) == 0);
	clip_model t;
	clip_load_opts o = {.towers = CLIP_TEXT, .text_heads = 2};
	T_ASSERTF(clip_model_load(&t, &f, &o, err, sizeof err) == 0, "%s", err);
	T_ASSERT(t.towers == CLIP_TEXT && t.cfg.vision_width == 0 && t.cfg.text_layers == 2);
	T_ASSERT(params_equal(t.text.param_memory, m.text.param_memory, m.text.num_params));
	clip_model_free(&t);
	/* without the override, width 64 means one head; a width that is no multiple of 64 needs one */
	o.text_heads = 0;
	T_ASSERTF(clip_model_load(&t, &f, &o, err, sizeof err) == 0, "%s", err);
	T_ASSERT(t.cfg.text_heads == 1);
	clip_model_free(&t);
	st_close(&f);
	clip_model_free(&m);
}

/* OpenAI's initialisation: the standard deviations and bounds of clip_init.h, deterministic per seed, each
 * tensor independent of the others. Sample sizes make every tolerance more than 10 standard errors wide. */
static void test_init(void)
{
	clip_config c;
	T_ASSERT(clip_config_preset("tiny", &c) == 0);
	clip_model a, b, t;
	clip_model_init_random(&a, &c, CLIP_BOTH, 5);
	clip_model_init_random(&b, &c, CLIP_BOTH, 6);
	clip_model_init_random(&t, &c, CLIP_TEXT, 5);
	T_ASSERT(params_equal(a.text.param_memory, t.text.param_memory, a.text.num_params));
	T_ASSERT(!params_equal(a.text.param_memory, b.text.param_memory, a.text.num_params));
	T_ASSERT(fabsf(a.logit_scale - 2.6592600f) < 1e-6f);
	double W = 128, L = 2;
	const struct {
		int text;
		float *p;
		size_t n;
		double sd;    /* expected standard deviation */
		double bound; /* 0 for normal, the uniform bound otherwise */
	} cases[] = {
		{1, a.text.params.token_emb, 49408 * 128, 0.02, 0},
		{1, a.text.params.pos_emb, 77 * 128, 0.01, 0},
		{1, a.text.params.blocks.qkv_w, 2 * 3 * 128 * 128, 1 / sqrt(W), 0},
		{1, a.text.params.blocks.attn_out_w, 2 * 128 * 128, 1 / sqrt(W) / sqrt(2 * L), 0},
		{1, a.text.params.blocks.fc_w, 2 * 512 * 128, 1 / sqrt(2 * W), 0},
		{1, a.text.params.blocks.fcproj_w, 2 * 128 * 512, 1 / sqrt(W) / sqrt(2 * L), 0},
		{1, a.text.params.blocks.fc_b, 2 * 512, 0, 1 / sqrt(W)},
		{0, a.vision.params.conv1, 128 * 192, 0, 1 / sqrt(192)},
		{0, a.vision.params.pos_emb, 17 * 128, 1 / sqrt(W), 0},
		{0, a.vision.params.blocks.qkv_w, 2 * 3 * 128 * 128, 0, sqrt(6 / (4 * W))},
		{0, a.vision.params.blocks.fcproj_w, 2 * 128 * 512, 0, 1 / sqrt(4 * W)},
		{0, a.vision.params.blocks.fcproj_b, 2 * 128, 0, 1 / sqrt(4 * W)},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		double s = 0, mx = 0;
		for (size_t i = 0; i < cases[k].n; i++) {
			s += (double)cases[k].p[i] * cases[k].p[i];
			mx = fmax(mx, fabs(cases[k].p[i]));
		}
		double sd = sqrt(s / cases[k].n), want = cases[k].bound ? cases[k].bound / sqrt(3) : cases[k].sd;
		double tol = 12 * want / sqrt(2.0 * cases[k].n) * (cases[k].bound ? 0.9 : 1); /* ~12 SE */
		T_ASSERTF(fabs(sd - want) < tol, "case %zu: sd %g, expected %g", k, sd, want);
		if (cases[k].bound)
			T_ASSERTF(mx <= cases[k].bound, "case %zu: %g beyond the bound %g", k, mx, cases[k].bound);
	}
	for (int i = 0; i < 128; i++) {
		T_ASSERT(a.vision.params.ln_pre_w[i] == 1 && a.vision.params.ln_pre_b[i] == 0);
		T_ASSERT(a.text.params.blocks.qkv_b[i] == 0 && a.vision.params.blocks.attn_out_b[i] == 0);
	}
	clip_model_free(&a);
	clip_model_free(&b);
	clip_model_free(&t);
}

/* The golden model under both namings: the same parameters bit for bit. */
static void test_golden_namings(void)
{
	const char *dir = t_golden_dir();
	if (!dir) {
		t_skip("test_golden_namings", "no ../shared/golden/tiny-clip");
		return;
	}
	char *p1 = xasprintf("%s/model.safetensors", dir), *p2 = xasprintf("%s/model-hf.safetensors", dir);
	clip_model a, b;
	clip_load_opts o = {.towers = CLIP_BOTH};
	clip_model_load_or_die(&a, p1, &o);
	clip_model_load_or_die(&b, p2, &o);
	T_ASSERT(a.naming == CLIP_NAMING_OPENAI && b.naming == CLIP_NAMING_HF);
	T_ASSERT(memcmp(&a.cfg, &b.cfg, sizeof a.cfg) == 0);
	T_ASSERT(a.cfg.vision_heads == 2 && a.cfg.image_resolution == 32 && a.cfg.context_length == 77);
	T_ASSERT(params_equal(a.vision.param_memory, b.vision.param_memory, a.vision.num_params));
	T_ASSERT(params_equal(a.text.param_memory, b.text.param_memory, a.text.num_params));
	clip_model_free(&a);
	clip_model_free(&b);
	free(p1);
	free(p2);
}

int main(void)
{
	lfm_init("test_clip_model");
	T_RUN(test_vision_backward_fd);
	T_RUN(test_encode_image);
	T_RUN(test_vision_slices);
	T_RUN(test_text_tower);
	T_RUN(test_save_load);
	T_RUN(test_checkpoint);
	T_RUN(test_load_errors);
	T_RUN(test_init);
	if (t_golden_dir())
		T_RUN(test_golden_namings);
	else
		test_golden_namings();
	t_tmpdir_remove();
	return t_summary();
}
