/* cuda_attention_fused.c — attention_fused.cu against the CPU reference (cpu/clip_layers.h's
 * attention_forward / attention_backward) at CLIP's sequence lengths (T = 50, 77 causal, 197, 257) with
 * head dim 64, and at a few ragged ones (T = 1, 5; head dims 32 and 128; 257 causal): random inputs,
 * outputs and the backward's scratch poisoned with NaN, every thread order under the emulation.
 *
 * Checked: out (max abs error over max |reference| < 1e-5), lse against a double-precision log-sum-exp
 * (< 1e-5), the same bits in every thread order; the backward's q, k and v gradients each on its own
 * (accumulated onto zeros, < 1e-5 of that part's largest value, or of the largest of all three where a
 * part has none: T = 1), then accumulated onto random values
 * (< 1e-5 of the total: dqkv += ..., not =). */
#include "cuda_test.h"
#include "cuda_attention_fused.h"
#include "base/errors.h"
#include "cpu/clip_layers.h"

static lfm_cuda_context *ctx;
static uint64_t seed = 700;

/* B, T, C, NH, causal */
static const int shapes[][5] = {
	{2, 50, 128, 2, 0}, {2, 77, 128, 2, 1}, {2, 197, 128, 2, 0}, {2, 257, 128, 2, 0}, /* CLIP's, hd 64 */
	{1, 257, 64, 1, 1},						 /* causal over five tiles */
	{2, 1, 64, 1, 0},  {1, 5, 96, 3, 1},  {1, 33, 256, 2, 0},	 /* T = 1; hd 32; hd 128 */
};

/* part p (0 q, 1 k, 2 v) of every row of a [N, 3C] array */
static float *part_of(const float *x, size_t N, int C, int p)
{
	float *o = malloc(N * C * sizeof *o);
	for (size_t n = 0; n < N; n++)
		memcpy(o + n * C, x + n * 3 * C + (size_t)p * C, C * sizeof *o);
	return o;
}

/* max |got − want| over max |want| (INFINITY for a NaN or an infinity), or over max |all| where want is all
 * zeros (T = 1: q and k get no gradient, and ours is rounding noise around 0) */
static double err_against(const float *got, const float *want, size_t n, const float *all, size_t n_all)
{
	double worst = 0, scale = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(got[i]))
			return INFINITY;
		worst = fmax(worst, fabs((double)got[i] - want[i]));
		scale = fmax(scale, fabs((double)want[i]));
	}
	for (size_t i = 0; scale == 0 && i < n_all; i++)
		scale = fmax(scale, fabs((double)all[i]));
	return worst / (scale > 0 ? scale : 1e-30);
}

/* lse [B,NH,T] in double from qkv, as the forward defines it (scale = 1/sqrt(hd) in float) */
static void lse_reference(float *lse, const float *qkv, int B, int T, int C, int NH, int causal)
{
	int hd = C / NH;
	float scale = 1.0f / sqrtf((float)hd);
	double *s = malloc(T * sizeof *s);
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++)
			for (int i = 0; i < T; i++) {
				const float *q = qkv + ((size_t)b * T + i) * 3 * C + (size_t)h * hd;
				int n = causal ? i + 1 : T;
				double mx = -INFINITY, sum = 0;
				for (int j = 0; j < n; j++) {
					const float *k = qkv + ((size_t)b * T + j) * 3 * C + C + (size_t)h * hd;
					double d = 0;
					for (int c = 0; c < hd; c++)
						d += (double)q[c] * k[c];
					s[j] = scale * d;
					if (s[j] > mx)
						mx = s[j];
				}
				for (int j = 0; j < n; j++)
					sum += exp(s[j] - mx);
				lse[((size_t)b * NH + h) * T + i] = (float)(mx + log(sum));
			}
	free(s);
}

static void test_supported(void)
{
	/* ViT-B/32, B/16, L/14 and the text towers */
	T_ASSERT(cuda_attention_fused_supported(50, 768, 12) && cuda_attention_fused_supported(197, 768, 12));
	T_ASSERT(cuda_attention_fused_supported(257, 1024, 16) && cuda_attention_fused_supported(77, 512, 8));
	T_ASSERT(cuda_attention_fused_supported(77, 768, 12));
	/* the limits the header states: hd a multiple of 4 up to 128, T up to 360 (hd 64) and 188 (hd 128) */
	T_ASSERT(cuda_attention_fused_supported(360, 64, 1) && !cuda_attention_fused_supported(361, 64, 1));
	T_ASSERT(cuda_attention_fused_supported(188, 128, 1) && !cuda_attention_fused_supported(189, 128, 1));
	T_ASSERT(!cuda_attention_fused_supported(50, 132, 2) && !cuda_attention_fused_supported(50, 256, 1));
	T_ASSERT(!cuda_attention_fused_supported(0, 64, 1) && !cuda_attention_fused_supported(50, 100, 3));
	T_ASSERT(cuda_attention_fused_saved_floats(3, 50, 768, 12) == (size_t)3 * 12 * 50);
	T_ASSERT(cuda_attention_fused_backward_scratch_floats(3, 50, 768, 12) == (size_t)3 * 12 * 50);
}

static void test_attention_fused(void)
{
	for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
		int B = shapes[s][0], T = shapes[s][1], C = shapes[s][2], NH = shapes[s][3], causal = shapes[s][4];
		T_ASSERTF(cuda_attention_fused_supported(T, C, NH), "T=%d C=%d NH=%d", T, C, NH);
		size_t N = (size_t)B * T, nq = N * 3 * C, no = N * C, na = (size_t)B * NH * T * T;
		size_t nl = cuda_attention_fused_saved_floats(B, T, C, NH);
		float *first_out = NULL, *first_lse = NULL, *first_dq = NULL;
		double worst[6] = {0};
		/* the same inputs in every order */
		float *hq = cuda_test_random(nq, seed++, 1), *hdo = cuda_test_random(no, seed++, 1);
		float *hstart = cuda_test_random(nq, seed++, 1);
		for (int o = 0; o < CUDA_TEST_ORDERS; o++) {
			cuda_test_set_order(o);
			float *q = cuda_test_upload(ctx, hq, nq), *dout = cuda_test_upload(ctx, hdo, no);
			float *dacc = cuda_test_upload(ctx, hstart, nq);
			float *out = cuda_test_poisoned(ctx, no), *lse = cuda_test_poisoned(ctx, nl);
			float *scratch = cuda_test_poisoned(ctx, cuda_attention_fused_backward_scratch_floats(B, T, C, NH));
			float *wg = calloc(nq, sizeof *wg), *dg = cuda_test_upload(ctx, wg, nq); /* zeros, both */
			float *wo = malloc(no * sizeof *wo), *wa = malloc(na * sizeof *wa), *ws = malloc(na * sizeof *ws);
			float *wl = malloc(nl * sizeof *wl), *wacc = malloc(nq * sizeof *wacc);
			memcpy(wacc, hstart, nq * sizeof *wacc);
			attention_forward(wo, wa, hq, B, T, C, NH, causal);
			lse_reference(wl, hq, B, T, C, NH, causal);
			cuda_attention_fused_forward(ctx, out, lse, q, B, T, C, NH, causal);
			float *go = cuda_test_download(ctx, out, no), *gl = cuda_test_download(ctx, lse, nl);
			double e;
			const char *on = cuda_test_order_name(o);
			T_ASSERTF((e = cuda_test_rel_err(go, wo, no)) < 1e-5, "forward B=%d T=%d C=%d NH=%d causal=%d %s: %g", B,
				  T, C, NH, causal, on, e);
			worst[0] = fmax(worst[0], e);
			T_ASSERTF((e = cuda_test_rel_err(gl, wl, nl)) < 1e-5, "lse T=%d %s: %g", T, on, e);
			worst[1] = fmax(worst[1], e);
			/* the gradient alone: onto zeros, each of q, k, v against its own scale */
			attention_backward(wg, ws, hdo, hq, wa, B, T, C, NH, causal);
			cuda_attention_fused_backward(ctx, dg, dout, out, q, lse, B, T, C, NH, causal, scratch);
			float *gd = cuda_test_download(ctx, dg, nq);
			for (int p = 0; p < 3; p++) {
				float *g = part_of(gd, N, C, p), *w = part_of(wg, N, C, p);
				e = err_against(g, w, no, wg, nq);
				free(g), free(w);
				T_ASSERTF(e < 1e-5, "backward d%c T=%d C=%d NH=%d causal=%d %s: %g", "qkv"[p], T, C, NH, causal, on,
					  e);
				worst[2 + p] = fmax(worst[2 + p], e);
			}
			/* accumulation onto random values (once: the thread order was covered above) */
			if (o == 0) {
				attention_backward(wacc, ws, hdo, hq, wa, B, T, C, NH, causal);
				cuda_attention_fused_backward(ctx, dacc, dout, out, q, lse, B, T, C, NH, causal, scratch);
				T_ASSERTF((e = cuda_test_err_of(ctx, dacc, wacc, nq)) < 1e-5, "accumulated T=%d: %g", T, e);
				worst[5] = e;
			}
			cuda_attention_fused_backward(ctx, NULL, dout, out, q, lse, B, T, C, NH, causal, scratch); /* skipped */
			/* fixed summation orders: the same bits whatever order the threads run in */
			if (!first_out) {
				first_out = go, first_lse = gl, first_dq = gd;
			} else {
				T_ASSERTF(!memcmp(go, first_out, no * sizeof *go) && !memcmp(gl, first_lse, nl * sizeof *gl) &&
						  !memcmp(gd, first_dq, nq * sizeof *gd),
					  "T=%d: %s gives other bits than %s", T, on, cuda_test_order_name(0));
				free(go), free(gl), free(gd);
			}
			free(wg), free(wo), free(wa), free(ws), free(wl), free(wacc);
			lfm_dev_free(ctx, q, nq * sizeof(float)), lfm_dev_free(ctx, dout, no * sizeof(float));
			lfm_dev_free(ctx, dacc, nq * sizeof(float)), lfm_dev_free(ctx, dg, nq * sizeof(float));
			lfm_dev_free(ctx, out, no * sizeof(float)), lfm_dev_free(ctx, lse, nl * sizeof(float));
			lfm_dev_free(ctx, scratch, cuda_attention_fused_backward_scratch_floats(B, T, C, NH) * sizeof(float));
		}
		free(hq), free(hdo), free(hstart);
		printf("# B=%d T=%d hd=%d NH=%d causal=%d: out %.2g lse %.2g dq %.2g dk %.2g dv %.2g accumulated %.2g\n", B, T,
		       C / NH, NH, causal, worst[0], worst[1], worst[2], worst[3], worst[4], worst[5]);
		free(first_out), free(first_lse), free(first_dq);
	}
}

int main(int argc, char **argv)
{
	(void)argc;
	lfm_init(argv[0]);
	ctx = cuda_test_context("cuda_attention_fused");
	T_RUN(test_supported);
	T_RUN(test_attention_fused);
	return t_summary();
}
