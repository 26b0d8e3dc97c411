/* cuda_model_ops.c — attention.cu, embed.cu, head.cu, loss.cu and adam.cu against the CPU reference
 * (cpu/clip_layers.h, train/cosine_head.h, train/losses.h, train/adam.h): random inputs at ragged shapes,
 * every thread order under the emulation, NaN-poisoned outputs, gradients accumulated onto non-zero
 * buffers. Tolerances (max abs error over max |reference|): attention 1e-5 forward, 1e-4 backward (bf16:
 * 2e-2); embeddings exact; head 1e-6; losses 1e-6 and their gradients 1e-5; Adam 1e-6 after 3 steps. */
#include "cuda_test.h"
#include "cuda_kernels.h"
#include "base/errors.h"
#include "cpu/clip_layers.h"
#include "train/adam.h"
#include "train/cosine_head.h"
#include "train/losses.h"

static lfm_cuda_context *ctx;
static uint64_t seed = 100;

static float *rnd(size_t n, float scale, float **host) { return cuda_test_random_pair(ctx, &seed, n, scale, host); }
static double err_of(const float *dev, const float *want, size_t n) { return cuda_test_err_of(ctx, dev, want, n); }

static const int att_shapes[][5] = {{1, 1, 64, 1, 0}, {2, 17, 128, 2, 0}, {3, 5, 96, 3, 1}, {2, 33, 64, 2, 1}, {1, 50, 192, 3, 0}};

static void test_attention(void)
{
	for (size_t s = 0; s < sizeof att_shapes / sizeof *att_shapes; s++)
		for (int o = 0; o < CUDA_TEST_ORDERS; o++) {
			cuda_test_set_order(o);
			int B = att_shapes[s][0], T = att_shapes[s][1], C = att_shapes[s][2], NH = att_shapes[s][3];
			int causal = att_shapes[s][4];
			size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C, na = (size_t)B * NH * T * T;
			float *hq, *hdo, *hdq;
			float *q = rnd(nq, 1, &hq), *dout = rnd(no, 1, &hdo), *dq = rnd(nq, 1, &hdq);
			float *out = cuda_test_poisoned(ctx, no), *att = cuda_test_poisoned(ctx, na);
			float *scratch = lfm_dev_alloc_floats(ctx, cuda_attention_backward_scratch_floats(B, T, C, NH), "s");
			float *wo = malloc(no * sizeof *wo), *wa = malloc(na * sizeof *wa), *hs = malloc(na * sizeof *hs);
			attention_forward(wo, wa, hq, B, T, C, NH, causal);
			cuda_attention_forward(ctx, LFM_PRECISION_FP32, out, att, q, B, T, C, NH, causal, NULL);
			double e;
			T_ASSERTF((e = err_of(out, wo, no)) < 1e-5, "forward B=%d T=%d C=%d NH=%d causal=%d %s: %g", B, T, C, NH,
				  causal, cuda_test_order_name(o), e);
			T_ASSERTF((e = err_of(att, wa, na)) < 1e-5, "probabilities: %g", e);
			attention_backward(hdq, hs, hdo, hq, wa, B, T, C, NH, causal);
			cuda_attention_backward(ctx, LFM_PRECISION_FP32, dq, dout, q, att, B, T, C, NH, causal, scratch);
			T_ASSERTF((e = err_of(dq, hdq, nq)) < 1e-4, "backward B=%d T=%d C=%d NH=%d causal=%d: %g", B, T, C, NH,
				  causal, e);
			cuda_attention_forward(ctx, LFM_PRECISION_BF16, out, att, q, B, T, C, NH, causal, NULL);
			T_ASSERTF((e = err_of(out, wo, no)) < 2e-2, "bf16 forward: %g", e);
			free(hq), free(hdo), free(hdq), free(wo), free(wa), free(hs);
		}
}

static void test_embed(void)
{
	for (int o = 0; o < CUDA_TEST_ORDERS; o++) {
		cuda_test_set_order(o);
		int B = 3, R = 24, P = 8, G = R / P, T = G * G + 1, C = 33, pd = 3 * P * P;
		size_t np = (size_t)B * 3 * R * R, nu = (size_t)B * G * G * pd;
		float *hp, *hpo, *hce, *hpe, *hdx, *hdpo, *hdce, *hdpe;
		float *pix = rnd(np, 1, &hp), *po = rnd((size_t)B * (T - 1) * C, 1, &hpo), *ce = rnd(C, 1, &hce);
		float *pe = rnd((size_t)T * C, 1, &hpe), *dx = rnd((size_t)B * T * C, 1, &hdx);
		float *dpo = rnd((size_t)B * (T - 1) * C, 1, &hdpo), *dce = rnd(C, 1, &hdce), *dpe = rnd((size_t)T * C, 1, &hdpe);
		float *patches = cuda_test_poisoned(ctx, nu), *x = cuda_test_poisoned(ctx, (size_t)B * T * C);
		float *want = malloc(nu * sizeof *want), *wx = malloc((size_t)B * T * C * sizeof *wx);
		patch_unfold(want, hp, B, R, P);
		cuda_patch_unfold(ctx, patches, pix, B, R, P);
		double e;
		T_ASSERTF((e = err_of(patches, want, nu)) == 0, "patch_unfold %s: %g", cuda_test_order_name(o), e);
		vision_embed_forward(wx, hpo, hce, hpe, B, T, C);
		cuda_vision_embed_forward(ctx, x, po, ce, pe, B, T, C);
		T_ASSERTF((e = err_of(x, wx, (size_t)B * T * C)) == 0, "vision_embed_forward: %g", e);
		vision_embed_backward(hdpo, hdce, hdpe, hdx, B, T, C);
		cuda_vision_embed_backward(ctx, dpo, dce, dpe, dx, B, T, C, NULL);
		T_ASSERTF((e = err_of(dpo, hdpo, (size_t)B * (T - 1) * C)) == 0, "dpatch_out: %g", e);
		T_ASSERTF((e = err_of(dce, hdce, C)) == 0, "dclass_emb: %g", e);
		T_ASSERTF((e = err_of(dpe, hdpe, (size_t)T * C)) == 0, "dpos_emb: %g", e);
		/* token embedding and row gathers */
		int V = 50, TT = 7;
		int32_t tok[3 * 7];
		for (int i = 0; i < 3 * TT; i++)
			tok[i] = (i * 17 + 3) % V;
		float *hte, *hpt;
		float *te = rnd((size_t)V * C, 1, &hte), *pt = rnd((size_t)TT * C, 1, &hpt);
		int32_t *dtok = lfm_dev_alloc(ctx, sizeof tok, "tokens");
		lfm_dev_upload(ctx, dtok, tok, sizeof tok);
		float *xt = cuda_test_poisoned(ctx, (size_t)3 * TT * C), *wt = malloc((size_t)3 * TT * C * sizeof *wt);
		for (int r = 0; r < 3 * TT; r++)
			for (int c = 0; c < C; c++)
				wt[(size_t)r * C + c] = hte[(size_t)tok[r] * C + c] + hpt[(size_t)(r % TT) * C + c];
		cuda_token_embed_forward(ctx, xt, dtok, te, pt, 3, TT, C);
		T_ASSERTF((e = err_of(xt, wt, (size_t)3 * TT * C)) == 0, "token_embed: %g", e);
		int32_t rows[3] = {20, 0, 9};
		int32_t *drows = lfm_dev_alloc(ctx, sizeof rows, "rows");
		lfm_dev_upload(ctx, drows, rows, sizeof rows);
		float *g = cuda_test_poisoned(ctx, (size_t)3 * C), *wg = malloc((size_t)3 * C * sizeof *wg);
		for (int i = 0; i < 3; i++)
			memcpy(wg + (size_t)i * C, wt + (size_t)rows[i] * C, C * sizeof *wg);
		cuda_gather_rows(ctx, g, xt, drows, 3, C);
		T_ASSERTF((e = err_of(g, wg, (size_t)3 * C)) == 0, "gather_rows: %g", e);
		for (int i = 0; i < 3; i++)
			for (int c = 0; c < C; c++)
				wt[(size_t)rows[i] * C + c] += wg[(size_t)i * C + c];
		cuda_scatter_add_rows(ctx, xt, g, drows, 3, C);
		T_ASSERTF((e = err_of(xt, wt, (size_t)3 * TT * C)) == 0, "scatter_add_rows: %g", e);
		free(hp), free(hpo), free(hce), free(hpe), free(hdx), free(hdpo), free(hdce), free(hdpe), free(want), free(wx);
		free(hte), free(hpt), free(wt), free(wg);
	}
}

static void test_head(void)
{
	for (int o = 0; o < CUDA_TEST_ORDERS; o++) {
		cuda_test_set_order(o);
		int B = 7, D = 33, C = 11;
		float *hf, *ht, *hW, *hdl, *hdf, *hdW;
		float *f = rnd((size_t)B * D, 1, &hf), *text = rnd((size_t)C * D, 1, &ht), *W = rnd((size_t)D * D, 1, &hW);
		float *dl = rnd((size_t)B * C, 1, &hdl), *df = rnd((size_t)B * D, 1, &hdf), *dW = rnd((size_t)D * D, 1, &hdW);
		for (int i = 0; i < D; i++) /* a zero row: no direction, zero output and gradient */
			hf[3 * D + i] = 0;
		lfm_dev_upload(ctx, f, hf, (size_t)B * D * sizeof(float));
		float *fn = cuda_test_poisoned(ctx, (size_t)B * D), *norm = cuda_test_poisoned(ctx, B);
		float *logits = cuda_test_poisoned(ctx, (size_t)B * C), *h = cuda_test_poisoned(ctx, (size_t)B * D);
		float *wfn = malloc((size_t)B * D * sizeof(float)), *wn = malloc(B * sizeof(float));
		float *wl = malloc((size_t)B * C * sizeof(float)), *wh = malloc((size_t)B * D * sizeof(float));
		double e;
		cosine_l2norm_forward(wfn, wn, hf, B, D);
		cuda_l2norm_forward(ctx, fn, norm, f, B, D);
		T_ASSERTF((e = err_of(fn, wfn, (size_t)B * D)) < 1e-6, "l2norm %s: %g", cuda_test_order_name(o), e);
		T_ASSERTF((e = err_of(norm, wn, B)) < 1e-6, "norms: %g", e);
		cosine_logits_forward(wl, wfn, ht, B, D, C);
		cuda_cosine_logits_forward(ctx, logits, fn, text, B, D, C);
		T_ASSERTF((e = err_of(logits, wl, (size_t)B * C)) < 1e-6, "logits: %g", e);
		cosine_logits_backward(hdf, hdl, ht, B, D, C);
		cuda_cosine_logits_backward(ctx, df, dl, text, B, D, C);
		T_ASSERTF((e = err_of(df, hdf, (size_t)B * D)) < 1e-6, "dlogits -> dfn: %g", e);
		cosine_fc_forward(wh, hf, hW, B, D);
		cuda_cosine_fc_forward(ctx, h, f, W, B, D);
		T_ASSERTF((e = err_of(h, wh, (size_t)B * D)) < 1e-6, "fc forward: %g", e);
		float *hg, *hd2;
		float *grad = rnd((size_t)B * D, 1, &hg), *d2 = rnd((size_t)B * D, 1, &hd2);
		cosine_fc_backward(hd2, hdW, hg, hf, hW, B, D);
		cuda_cosine_fc_backward(ctx, d2, dW, grad, f, W, B, D);
		T_ASSERTF((e = err_of(d2, hd2, (size_t)B * D)) < 1e-6, "fc backward df: %g", e);
		T_ASSERTF((e = err_of(dW, hdW, (size_t)D * D)) < 1e-6, "fc backward dW: %g", e);
		float *hd3;
		float *d3 = rnd((size_t)B * D, 1, &hd3);
		cosine_l2norm_backward(hd3, hg, wfn, wn, B, D);
		cuda_l2norm_backward(ctx, d3, grad, fn, norm, B, D);
		T_ASSERTF((e = err_of(d3, hd3, (size_t)B * D)) < 1e-6, "l2norm backward: %g", e);
		free(hf), free(ht), free(hW), free(hdl), free(hdf), free(hdW), free(wfn), free(wn), free(wl), free(wh);
		free(hg), free(hd2), free(hd3);
	}
}

static void test_losses(void)
{
	static const int shapes[][2] = {{1, 2}, {8, 10}, {33, 100}, {5, 1000}};
	for (int kind = 0; kind < LOSS_KIND_COUNT; kind++)
		for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
			int B = shapes[s][0], C = shapes[s][1];
			float *hz, *hc, *htf;
			float *z = rnd((size_t)B * C, 2, &hz);
			hc = cuda_test_random(C, seed++, 1);
			htf = cuda_test_random((size_t)C * 8, seed++, 1);
			for (int k = 0; k < C; k++)
				hc[k] = 5 + 100 * fabsf(hc[k]);
			float *ht = calloc((size_t)B * C, sizeof *ht);
			for (int b = 0; b < B; b++) { /* a two-class mix, a one-hot row, a tie */
				int i = (b * 7) % C, j = (b * 3 + 1) % C;
				float lam = b % 3 == 0 ? 1.0f : b % 3 == 1 ? 0.5f : 0.3f;
				ht[(size_t)b * C + i] += lam;
				ht[(size_t)b * C + j] += 1 - lam;
			}
			loss_config lc;
			loss_config_defaults(&lc, (loss_kind)kind, C);
			lc.counts = hc;
			lc.text_features = htf;
			lc.text_dim = 8;
			loss_fn L;
			char err[256];
			T_ASSERTF(loss_init(&L, &lc, err, sizeof err) == 0, "%s", err);
			float *wd = malloc((size_t)B * C * sizeof *wd);
			double want = loss_forward_backward(&L, hz, ht, B, wd);
			float *t = cuda_test_upload(ctx, ht, (size_t)B * C), *dz = cuda_test_poisoned(ctx, (size_t)B * C);
			float *sh = L.class_shift ? cuda_test_upload(ctx, L.class_shift, C) : NULL;
			float *mg = L.margins ? cuda_test_upload(ctx, L.margins, C) : NULL;
			float *of = L.offsets ? cuda_test_upload(ctx, L.offsets, (size_t)C * C) : NULL;
			cuda_loss dl = {kind, C, sh, mg, of, L.gamma, L.scale, L.temperature};
			float *scratch = lfm_dev_alloc_floats(ctx, cuda_loss_scratch_floats(B, C), "scratch");
			double *dloss = lfm_dev_alloc(ctx, sizeof(double), "loss"), got;
			cuda_loss_forward_backward(ctx, &dl, dloss, z, t, B, dz, scratch);
			lfm_dev_download(ctx, &got, dloss, sizeof got);
			T_ASSERTF(fabs(got - want) <= 1e-6 * fabs(want), "%s B=%d C=%d: loss %.9g, CPU %.9g", loss_kind_name(kind), B, C,
				  got, want);
			double e = err_of(dz, wd, (size_t)B * C);
			T_ASSERTF(e < 1e-5, "%s B=%d C=%d: dlogits %g", loss_kind_name(kind), B, C, e);
			/* a NaN logit: NaN loss, every gradient NaN */
			hz[0] = NAN;
			lfm_dev_upload(ctx, z, hz, sizeof(float));
			cuda_loss_forward_backward(ctx, &dl, dloss, z, t, B, dz, scratch);
			lfm_dev_download(ctx, &got, dloss, sizeof got);
			float *g = cuda_test_download(ctx, dz, (size_t)B * C);
			int all_nan = 1;
			for (size_t i = 0; i < (size_t)B * C; i++)
				all_nan &= isnan(g[i]);
			T_ASSERTF(isnan(got) && all_nan, "%s: a NaN logit gives loss %g", loss_kind_name(kind), got);
			loss_free(&L);
			free(hz), free(hc), free(htf), free(ht), free(wd), free(g);
		}
}

static void test_adam(void)
{
	static const size_t lengths[] = {1, 31, 1025, 100003};
	for (size_t s = 0; s < sizeof lengths / sizeof *lengths; s++)
		for (int wd = 0; wd < 2; wd++) {
			size_t n = lengths[s];
			float *hp, *hg;
			float *p = rnd(n, 1, &hp), *g = rnd(n, 1, &hg);
			float *m = lfm_dev_alloc_floats(ctx, n, "m"), *v = lfm_dev_alloc_floats(ctx, n, "v");
			lfm_dev_zero(ctx, m, n * sizeof(float)), lfm_dev_zero(ctx, v, n * sizeof(float));
			float *hm = calloc(n, sizeof *hm), *hv = calloc(n, sizeof *hv);
			adam_config c;
			adam_config_defaults(&c);
			c.lr = 1e-3, c.weight_decay = wd ? 0.01 : 0;
			/* the scalars-in-device-memory variant (what a graph replays), on its own copies */
			float *p2 = lfm_dev_alloc_floats(ctx, n, "p2"), *m2 = lfm_dev_alloc_floats(ctx, n, "m2"),
			      *v2 = lfm_dev_alloc_floats(ctx, n, "v2");
			lfm_dev_copy(ctx, p2, p, n * sizeof(float));
			lfm_dev_zero(ctx, m2, n * sizeof(float)), lfm_dev_zero(ctx, v2, n * sizeof(float));
			cuda_adam_scalars *sc = lfm_dev_alloc(ctx, sizeof *sc, "scalars");
			uint16_t *shadow = lfm_dev_alloc(ctx, n * 2, "shadow"), *rounded = lfm_dev_alloc(ctx, n * 2, "rounded");
			for (long t = 1; t <= 3; t++) {
				adam_step(hp, hg, hm, hv, n, &c, t);
				cuda_adam_step(ctx, p, g, m, v, n, &c, t);
				cuda_adam_scalars hs;
				cuda_adam_scalars_for(&hs, &c, t);
				lfm_dev_upload(ctx, sc, &hs, sizeof hs);
				cuda_adam_step_device(ctx, p2, g, m2, v2, n, sc, t == 3 ? shadow : NULL);
				c.lr *= 0.5; /* a schedule: the scalars change every step */
			}
			double e = err_of(p, hp, n);
			T_ASSERTF(e < 1e-6, "adam n=%zu wd=%d: %g", n, wd, e);
			T_ASSERTF((e = err_of(v, hv, n)) < 1e-6, "adam v n=%zu: %g", n, e);
			float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
			lfm_dev_download(ctx, a, p, n * sizeof *a);
			lfm_dev_download(ctx, b, p2, n * sizeof *b);
			T_ASSERTF(!memcmp(a, b, n * sizeof *a), "adam with device scalars n=%zu: not the same bits", n);
			/* the bf16 shadow written by the last update: cuda_round_bf16 of the parameters, bit for bit */
			cuda_round_bf16(ctx, rounded, p2, n);
			uint16_t *hs = malloc(n * 2), *hr = malloc(n * 2);
			lfm_dev_download(ctx, hs, shadow, n * 2);
			lfm_dev_download(ctx, hr, rounded, n * 2);
			T_ASSERTF(!memcmp(hs, hr, n * 2), "adam's bf16 shadow n=%zu: not cuda_round_bf16's bits", n);
			free(hs), free(hr), free(a), free(b);
			lfm_dev_free(ctx, sc, sizeof *sc);
			lfm_dev_free(ctx, p2, n * 4), lfm_dev_free(ctx, m2, n * 4), lfm_dev_free(ctx, v2, n * 4);
			free(hp), free(hg), free(hm), free(hv);
		}
}

int main(int argc, char **argv)
{
	(void)argc;
	lfm_init(argv[0]);
	ctx = cuda_test_context("cuda_model_ops");
	T_RUN(test_attention);
	T_RUN(test_embed);
	T_RUN(test_head);
	T_RUN(test_losses);
	T_RUN(test_adam);
	return t_summary();
}
