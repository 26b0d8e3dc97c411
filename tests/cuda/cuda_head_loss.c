/* cuda_head_loss.c — head_loss.cu's fused cosine head, loss and gradient against the unfused kernels
 * (head.cu, loss.cu) and the CPU reference (train/cosine_head.h, train/losses.h): every loss, ragged
 * shapes, every thread order under the emulation, NaN-poisoned outputs. Under the emulation the fused
 * kernel must give the unfused kernels' bits and the CPU's (the same row functions, the same order); on a
 * GPU, where nvcc may contract the dot products into FMAs differently, within 1e-6. A NaN logit gives a
 * NaN loss and NaN dlogits, as unfused. */
#include "cuda_test.h"
#include "cuda_kernels.h"
#include "base/errors.h"
#include "train/cosine_head.h"
#include "train/losses.h"

static lfm_cuda_context *ctx;
static uint64_t seed = 500;

#ifdef LFM_CUDA_EMULATION
#define EXACT 1
#else
#define EXACT 0
#endif

/* max |a - b| / max |b| over n, or 0 when equal bit for bit (EXACT: anything else is 1) */
static double diff(const float *a, const float *b, size_t n)
{
	if (!memcmp(a, b, n * sizeof *a))
		return 0;
	if (EXACT)
		return 1;
	double m = 0, s = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - b[i]);
		m = d > m ? d : m;
		s = fabs(b[i]) > s ? fabs(b[i]) : s;
	}
	return s > 0 ? m / s : m;
}

static void test_head_loss(void)
{
	static const int shapes[][3] = {{1, 2, 8}, {6, 10, 48}, {9, 100, 64}, {3, 1000, 32}};
	for (int kind = 0; kind < LOSS_KIND_COUNT; kind++)
		for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
			for (int o = 0; o < CUDA_TEST_ORDERS; o++) {
				cuda_test_set_order(o);
				int B = shapes[s][0], C = shapes[s][1], D = shapes[s][2];
				size_t nbc = (size_t)B * C, nbd = (size_t)B * D;
				float *hf = cuda_test_random(nbd, seed++, 1), *htext = cuda_test_random((size_t)C * D, seed++, 1);
				float *hn = malloc((size_t)C * sizeof *hn); /* the head's text rows are unit vectors */
				cosine_l2norm_forward(htext, hn, htext, (size_t)C, D);
				float *hc = cuda_test_random(C, seed++, 1);
				for (int k = 0; k < C; k++)
					hc[k] = 5 + 100 * fabsf(hc[k]);
				float *ht = calloc(nbc, sizeof *ht);
				for (int b = 0; b < B; b++) {
					int i = (b * 7) % C, j = (b * 3 + 1) % C;
					float lam = b % 3 == 0 ? 1.0f : b % 3 == 1 ? 0.5f : 0.3f;
					ht[(size_t)b * C + i] += lam;
					ht[(size_t)b * C + j] += 1 - lam;
				}
				loss_config lc;
				loss_config_defaults(&lc, (loss_kind)kind, C);
				lc.counts = hc;
				lc.text_features = htext;
				lc.text_dim = D;
				loss_fn L;
				char err[256];
				T_ASSERTF(loss_init(&L, &lc, err, sizeof err) == 0, "%s", err);
				/* the CPU */
				float *wfn = malloc(nbd * 4), *wnorm = malloc((size_t)B * 4), *wz = malloc(nbc * 4);
				float *wdz = malloc(nbc * 4), *wdfn = calloc(nbd, 4), *wdf = calloc(nbd, 4);
				cosine_l2norm_forward(wfn, wnorm, hf, (size_t)B, D);
				cosine_logits_forward(wz, wfn, htext, B, D, C);
				double want = loss_forward_backward(&L, wz, ht, B, wdz);
				cosine_logits_backward(wdfn, wdz, htext, B, D, C);
				cosine_l2norm_backward(wdf, wdfn, wfn, wnorm, (size_t)B, D);
				/* the device, unfused then fused */
				float *f = cuda_test_upload(ctx, hf, nbd), *text = cuda_test_upload(ctx, htext, (size_t)C * D);
				float *t = cuda_test_upload(ctx, ht, nbc);
				float *sh = L.class_shift ? cuda_test_upload(ctx, L.class_shift, C) : NULL;
				float *mg = L.margins ? cuda_test_upload(ctx, L.margins, C) : NULL;
				float *of = L.offsets ? cuda_test_upload(ctx, L.offsets, (size_t)C * C) : NULL;
				cuda_loss dl = {kind, C, sh, mg, of, L.gamma, L.scale, L.temperature};
				float *ufn = cuda_test_poisoned(ctx, nbd), *unorm = cuda_test_poisoned(ctx, B);
				float *uz = cuda_test_poisoned(ctx, nbc), *udz = cuda_test_poisoned(ctx, nbc);
				float *udfn = cuda_test_poisoned(ctx, nbd), *udf = cuda_test_poisoned(ctx, nbd);
				float *us = lfm_dev_alloc_floats(ctx, cuda_loss_scratch_floats(B, C), "s");
				double *uloss = lfm_dev_alloc(ctx, sizeof(double), "loss");
				cuda_l2norm_forward(ctx, ufn, unorm, f, (size_t)B, D);
				cuda_cosine_logits_forward(ctx, uz, ufn, text, B, D, C);
				cuda_loss_forward_backward(ctx, &dl, uloss, uz, t, B, udz, us);
				lfm_dev_zero(ctx, udfn, nbd * 4), lfm_dev_zero(ctx, udf, nbd * 4);
				cuda_cosine_logits_backward(ctx, udfn, udz, text, B, D, C);
				cuda_l2norm_backward(ctx, udf, udfn, ufn, unorm, (size_t)B, D);
				float *ffn = cuda_test_poisoned(ctx, nbd), *fnorm = cuda_test_poisoned(ctx, B);
				float *fz = cuda_test_poisoned(ctx, nbc), *fdz = cuda_test_poisoned(ctx, nbc);
				float *fdf = cuda_test_poisoned(ctx, nbd);
				float *fs = lfm_dev_alloc_floats(ctx, cuda_head_loss_scratch_floats(B, C, D), "s");
				double *floss = lfm_dev_alloc(ctx, sizeof(double), "loss"), gu, gf;
				cuda_head_loss_forward_backward(ctx, &dl, floss, fz, fdz, ffn, fnorm, fdf, f, text, t, B, D, fs);
				lfm_dev_download(ctx, &gu, uloss, sizeof gu);
				lfm_dev_download(ctx, &gf, floss, sizeof gf);
				const char *name = loss_kind_name(kind), *on = cuda_test_order_name(o);
				T_ASSERTF(EXACT ? gf == gu && gf == want : fabs(gf - want) <= 1e-6 * fabs(want),
					  "%s B=%d C=%d D=%d %s: loss %.17g, unfused %.17g, CPU %.17g", name, B, C, D, on, gf, gu,
					  want);
				struct {
					const char *what;
					float *fused, *unfused, *cpu;
					size_t n;
				} cmp[] = {{"fn", ffn, ufn, wfn, nbd},
					   {"norm", fnorm, unorm, wnorm, (size_t)B},
					   {"logits", fz, uz, wz, nbc},
					   {"dlogits", fdz, udz, wdz, nbc},
					   {"dfeat", fdf, udf, wdf, nbd}};
				for (size_t c = 0; c < sizeof cmp / sizeof *cmp; c++) {
					float *a = cuda_test_download(ctx, cmp[c].fused, cmp[c].n);
					float *u = cuda_test_download(ctx, cmp[c].unfused, cmp[c].n);
					double e1 = diff(a, u, cmp[c].n), e2 = diff(a, cmp[c].cpu, cmp[c].n);
					T_ASSERTF(e1 <= 1e-6 && e2 <= 1e-5, "%s B=%d C=%d D=%d %s: %s differs from unfused (%g) or CPU (%g)",
						  name, B, C, D, on, cmp[c].what, e1, e2);
					free(a), free(u);
				}
				/* a NaN logit (a NaN feature): NaN loss and every dlogit NaN, as unfused */
				hf[0] = NAN;
				lfm_dev_upload(ctx, f, hf, sizeof(float));
				cuda_head_loss_forward_backward(ctx, &dl, floss, fz, fdz, ffn, fnorm, fdf, f, text, t, B, D, fs);
				lfm_dev_download(ctx, &gf, floss, sizeof gf);
				float *g = cuda_test_download(ctx, fdz, nbc);
				int all_nan = 1;
				for (size_t i = 0; i < nbc; i++)
					all_nan &= isnan(g[i]);
				T_ASSERTF(isnan(gf) && all_nan, "%s: a NaN feature gives loss %g", name, gf);
				free(g);
				loss_free(&L);
				free(hf), free(htext), free(hn), free(hc), free(ht), free(wfn), free(wnorm), free(wz), free(wdz);
				free(wdfn), free(wdf);
				/* the device arrays are the test's until it exits (cuda_test.h's convention) */
			}
}

int main(int argc, char **argv)
{
	(void)argc;
	lfm_init(argv[0]);
	ctx = cuda_test_context("cuda_head_loss");
	T_RUN(test_head_loss);
	return t_summary();
}
