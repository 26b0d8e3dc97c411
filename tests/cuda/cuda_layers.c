/* cuda_layers.c — the kernels of matmul.cu, layernorm.cu, activation.cu, elementwise.cu and reduce.cu
 * against the CPU reference (cpu/clip_layers.h) at several shapes, ragged ones included, in every thread
 * order (emulated) with NaN-poisoned outputs, gradients accumulated onto non-zero buffers, and two runs
 * compared bit for bit. Tolerances (max abs error over max |reference|): fp32 products 1e-5, LayerNorm
 * 1e-5 forward and 1e-4 backward, QuickGELU 1e-6; bf16 products 1e-2 (and unequal to fp32), tf32 3e-3. */
#include "cuda_test.h"
#include "cuda_kernels.h"
#include "cpu/clip_layers.h"
#include "base/errors.h"

static lfm_cuda_context *ctx;
static uint64_t seed = 1;

/* A fresh device array of random values, with its host copy in *host. */
static float *rnd(size_t n, float scale, float **host) { return cuda_test_random_pair(ctx, &seed, n, scale, host); }
static double err_of(const float *dev, const float *want, size_t n) { return cuda_test_err_of(ctx, dev, want, n); }

static const int shapes[][3] = {{1, 1, 1}, {7, 31, 5}, {33, 64, 65}, {130, 130, 3}, {17, 128, 384}};

static void test_matmul_fp32(void)
{
	for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
		for (int o = 0; o < CUDA_TEST_ORDERS; o++) {
			cuda_test_set_order(o);
			size_t N = (size_t)shapes[s][0];
			int C = shapes[s][1], OC = shapes[s][2];
			float *hx, *hw, *hb, *hdy, *hdx, *hdw, *hdb;
			float *x = rnd(N * C, 1, &hx), *w = rnd((size_t)OC * C, 0.5f, &hw), *b = rnd(OC, 0.5f, &hb);
			float *dy = rnd(N * OC, 1, &hdy), *dx = rnd(N * C, 1, &hdx), *dw = rnd((size_t)OC * C, 1, &hdw);
			float *db = rnd(OC, 1, &hdb), *out = cuda_test_poisoned(ctx, N * OC);
			float *want = malloc(N * OC * sizeof *want);
			float *scratch = lfm_dev_alloc_floats(ctx, cuda_matmul_backward_scratch_floats(N, OC) + 1, "scratch");
			matmul_forward(want, hx, hw, hb, N, C, OC);
			cuda_matmul_forward(ctx, LFM_PRECISION_FP32, out, x, w, b, N, C, OC);
			double e = err_of(out, want, N * OC);
			T_ASSERTF(e < 1e-5, "forward N=%zu C=%d OC=%d order %s: %g", N, C, OC, cuda_test_order_name(o), e);
			matmul_backward(hdx, hdw, hdb, hdy, hx, hw, N, C, OC);
			cuda_matmul_backward(ctx, LFM_PRECISION_FP32, dx, dw, db, dy, x, w, N, C, OC, scratch);
			T_ASSERTF((e = err_of(dx, hdx, N * C)) < 1e-5, "dinp N=%zu C=%d OC=%d: %g", N, C, OC, e);
			T_ASSERTF((e = err_of(dw, hdw, (size_t)OC * C)) < 1e-5, "dweight N=%zu C=%d OC=%d: %g", N, C, OC, e);
			T_ASSERTF((e = err_of(db, hdb, OC)) < 1e-5, "dbias N=%zu C=%d OC=%d: %g", N, C, OC, e);
			/* projection: out[N,OC] = x[N,C] · proj[C,OC], proj = w reinterpreted as [C, OC] */
			projection_forward(want, hx, hw, N, C, OC);
			cuda_projection_forward(ctx, LFM_PRECISION_FP32, out, x, w, N, C, OC);
			T_ASSERTF((e = err_of(out, want, N * OC)) < 1e-5, "projection N=%zu C=%d OC=%d: %g", N, C, OC, e);
			lfm_dev_upload(ctx, dx, hx, N * C * sizeof(float)); /* a non-zero start for the accumulation */
			memcpy(hdx, hx, N * C * sizeof(float));
			lfm_dev_upload(ctx, dw, hw, (size_t)OC * C * sizeof(float));
			memcpy(hdw, hw, (size_t)OC * C * sizeof(float));
			projection_backward(hdx, hdw, hdy, hx, hw, N, C, OC);
			cuda_projection_backward(ctx, LFM_PRECISION_FP32, dx, dw, dy, x, w, N, C, OC);
			T_ASSERTF((e = err_of(dx, hdx, N * C)) < 1e-5, "projection dinp N=%zu: %g", N, e);
			T_ASSERTF((e = err_of(dw, hdw, (size_t)OC * C)) < 1e-5, "projection dproj N=%zu: %g", N, e);
			free(hx), free(hw), free(hb), free(hdy), free(hdx), free(hdw), free(hdb), free(want);
		}
}

static void test_matmul_reduced_precision(void)
{
	size_t N = 33;
	int C = 130, OC = 65;
	float *hx, *hw;
	float *x = rnd(N * C, 1, &hx), *w = rnd((size_t)OC * C, 0.5f, &hw), *out = cuda_test_poisoned(ctx, N * OC);
	float *want = malloc(N * OC * sizeof *want);
	matmul_forward(want, hx, hw, NULL, N, C, OC);
	cuda_matmul_forward(ctx, LFM_PRECISION_BF16, out, x, w, NULL, N, C, OC);
	float *got = cuda_test_download(ctx, out, N * OC);
	double e = cuda_test_rel_err(got, want, N * OC);
	T_ASSERTF(e < 1e-2 && e > 1e-6, "bf16: %g (must be near, and not equal to, fp32)", e);
	/* the weight read from a registered bf16 shadow instead of cast: the same bits (a shadow with wrong
	 * contents, all zeros, must show: the registration is really used) */
	uint16_t *shadow = lfm_dev_alloc(ctx, (size_t)OC * C * 2, "shadow");
	cuda_round_bf16(ctx, shadow, w, (size_t)OC * C);
	float *out2 = cuda_test_poisoned(ctx, N * OC);
	cuda_gemm_set_bf16_shadow(ctx, w, shadow, (size_t)OC * C);
	cuda_matmul_forward(ctx, LFM_PRECISION_BF16, out2, x, w, NULL, N, C, OC);
	float *got2 = cuda_test_download(ctx, out2, N * OC);
	T_ASSERTF(!memcmp(got, got2, N * OC * sizeof *got), "bf16 with the weight's shadow: not the cast's bits");
	lfm_dev_zero(ctx, shadow, (size_t)OC * C * 2);
	cuda_matmul_forward(ctx, LFM_PRECISION_BF16, out2, x, w, NULL, N, C, OC);
	free(got2);
	got2 = cuda_test_download(ctx, out2, N * OC);
	T_ASSERTF(got2[0] == 0 && got2[N * OC - 1] == 0, "a zeroed shadow must give zero products: %g", got2[0]);
	cuda_gemm_set_bf16_shadow(ctx, NULL, NULL, 0);
	free(got2);
	lfm_dev_free(ctx, shadow, (size_t)OC * C * 2);
	cuda_matmul_forward(ctx, LFM_PRECISION_TF32, out, x, w, NULL, N, C, OC);
	free(got);
	got = cuda_test_download(ctx, out, N * OC);
	e = cuda_test_rel_err(got, want, N * OC);
	T_ASSERTF(e < 3e-3 && e > 1e-7, "tf32: %g (must be near, and not equal to, fp32)", e);
	free(got), free(want), free(hx), free(hw);
}

static void test_gemm_batched_transposed(void)
{
	/* D_i[M,N] = A_i^T · B_i^T over 3 strided products, beta 1 onto a non-zero D */
	int M = 5, N = 7, K = 33, batch = 3;
	long long sa = (long long)K * M + 3, sb = (long long)N * K + 1, sd = (long long)M * N + 2;
	float *ha, *hb, *hd;
	float *a = rnd((size_t)sa * batch, 1, &ha), *b = rnd((size_t)sb * batch, 1, &hb), *d = rnd((size_t)sd * batch, 1, &hd);
	float *want = malloc((size_t)sd * batch * sizeof *want);
	memcpy(want, hd, (size_t)sd * batch * sizeof *want);
	for (int i = 0; i < batch; i++)
		for (int r = 0; r < M; r++)
			for (int c = 0; c < N; c++) {
				double s = 0;
				for (int k = 0; k < K; k++)
					s += (double)ha[i * sa + (size_t)k * M + r] * hb[i * sb + (size_t)c * K + k];
				want[i * sd + (size_t)r * N + c] = (float)(0.5 * s + want[i * sd + (size_t)r * N + c]);
			}
	cuda_gemm(ctx, LFM_PRECISION_FP32, 1, 1, M, N, K, 0.5f, a, M, sa, b, K, sb, 1.0f, d, N, sd, batch, NULL);
	double e = err_of(d, want, (size_t)sd * batch);
	T_ASSERTF(e < 1e-5, "batched transposed gemm: %g", e);
	free(ha), free(hb), free(hd), free(want);
}

static const int ln_shapes[][2] = {{1, 1}, {7, 31}, {33, 64}, {200, 130}, {5, 768}};

static void test_layernorm(void)
{
	for (size_t s = 0; s < sizeof ln_shapes / sizeof *ln_shapes; s++)
		for (int o = 0; o < CUDA_TEST_ORDERS; o++) {
			cuda_test_set_order(o);
			size_t N = (size_t)ln_shapes[s][0];
			int C = ln_shapes[s][1];
			float *hx, *hw, *hb, *hdy, *hdx, *hdw, *hdb;
			float *x = rnd(N * C, 3, &hx), *w = rnd(C, 1, &hw), *b = rnd(C, 1, &hb), *dy = rnd(N * C, 1, &hdy);
			float *dx = rnd(N * C, 1, &hdx), *dw = rnd(C, 1, &hdw), *db = rnd(C, 1, &hdb);
			for (size_t i = 0; i < N * C; i++) /* a mean that dwarfs the spread, as residual streams */
				hx[i] += 20;
			lfm_dev_upload(ctx, x, hx, N * C * sizeof(float));
			float *out = cuda_test_poisoned(ctx, N * C), *mean = cuda_test_poisoned(ctx, N), *rstd = cuda_test_poisoned(ctx, N);
			float *want = malloc(N * C * sizeof *want), *hm = malloc(N * sizeof *hm), *hr = malloc(N * sizeof *hr);
			float *scratch = lfm_dev_alloc_floats(ctx, cuda_layernorm_backward_scratch_floats(N, C), "scratch");
			layernorm_forward(want, hm, hr, hx, hw, hb, N, C);
			cuda_layernorm_forward(ctx, out, mean, rstd, x, w, b, N, C);
			double e;
			T_ASSERTF((e = err_of(out, want, N * C)) < 1e-5, "forward N=%zu C=%d order %s: %g", N, C, cuda_test_order_name(o), e);
			T_ASSERTF((e = err_of(mean, hm, N)) < 1e-6, "mean N=%zu C=%d: %g", N, C, e);
			T_ASSERTF((e = err_of(rstd, hr, N)) < 1e-5, "rstd N=%zu C=%d: %g", N, C, e);
			layernorm_backward(hdx, hdw, hdb, hdy, hx, hw, hm, hr, N, C);
			cuda_layernorm_backward(ctx, dx, dw, db, dy, x, w, mean, rstd, N, C, scratch);
			T_ASSERTF((e = err_of(dx, hdx, N * C)) < 1e-4, "dinp N=%zu C=%d order %s: %g", N, C, cuda_test_order_name(o), e);
			T_ASSERTF((e = err_of(dw, hdw, C)) < 1e-4, "dweight N=%zu C=%d: %g", N, C, e);
			T_ASSERTF((e = err_of(db, hdb, C)) < 1e-4, "dbias N=%zu C=%d: %g", N, C, e);
			free(hx), free(hw), free(hb), free(hdy), free(hdx), free(hdw), free(hdb), free(want), free(hm), free(hr);
		}
}

/* the fused residual + LayerNorm: the unfused pair's bits (residual_forward then layernorm_forward), in
 * place over b as the block uses it, and the CPU's within the LayerNorm tolerance */
static void test_residual_layernorm(void)
{
	for (size_t s = 0; s < sizeof ln_shapes / sizeof *ln_shapes; s++)
		for (int o = 0; o < CUDA_TEST_ORDERS; o++) {
			cuda_test_set_order(o);
			size_t N = (size_t)ln_shapes[s][0], n;
			int C = ln_shapes[s][1];
			n = N * C;
			float *ha, *hb, *hw, *hbias;
			float *a = rnd(n, 3, &ha), *b = rnd(n, 3, &hb), *w = rnd(C, 1, &hw), *bias = rnd(C, 1, &hbias);
			float *b2 = cuda_test_upload(ctx, hb, n);
			float *res_u = cuda_test_poisoned(ctx, n), *out_u = cuda_test_poisoned(ctx, n);
			float *m_u = cuda_test_poisoned(ctx, N), *r_u = cuda_test_poisoned(ctx, N);
			float *out_f = cuda_test_poisoned(ctx, n), *m_f = cuda_test_poisoned(ctx, N), *r_f = cuda_test_poisoned(ctx, N);
			cuda_residual_forward(ctx, res_u, a, b, n);
			cuda_layernorm_forward(ctx, out_u, m_u, r_u, res_u, w, bias, N, C);
			cuda_residual_layernorm_forward(ctx, b2, out_f, m_f, r_f, a, b2, w, bias, N, C); /* res over b */
			float *pairs[][2] = {{b2, res_u}, {out_f, out_u}, {m_f, m_u}, {r_f, r_u}};
			const char *names[] = {"res", "out", "mean", "rstd"};
			for (int k = 0; k < 4; k++) {
				size_t len = k < 2 ? n : N;
				float *x = cuda_test_download(ctx, pairs[k][0], len), *y = cuda_test_download(ctx, pairs[k][1], len);
				T_ASSERTF(!memcmp(x, y, len * sizeof *x), "residual+layernorm N=%zu C=%d %s: %s not the unfused bits", N,
					  C, cuda_test_order_name(o), names[k]);
				free(x), free(y);
			}
			float *hres = malloc(n * sizeof *hres), *want = malloc(n * sizeof *want);
			float *hm = malloc(N * sizeof *hm), *hr = malloc(N * sizeof *hr);
			for (size_t i = 0; i < n; i++)
				hres[i] = ha[i] + hb[i];
			layernorm_forward(want, hm, hr, hres, hw, hbias, N, C);
			double e;
			T_ASSERTF((e = err_of(out_f, want, n)) < 1e-5, "residual+layernorm N=%zu C=%d vs CPU: %g", N, C, e);
			free(ha), free(hb), free(hw), free(hbias), free(hres), free(want), free(hm), free(hr);
		}
}

static const size_t lengths[] = {1, 31, 33, 1025, 70001};

static void test_elementwise(void)
{
	for (size_t s = 0; s < sizeof lengths / sizeof *lengths; s++)
		for (int o = 0; o < CUDA_TEST_ORDERS; o++) {
			cuda_test_set_order(o);
			size_t n = lengths[s];
			float *ha, *hb, *hd;
			float *a = rnd(n, 4, &ha), *b = rnd(n, 4, &hb), *d = rnd(n, 1, &hd), *out = cuda_test_poisoned(ctx, n);
			float *want = malloc(n * sizeof *want);
			double e;
			quick_gelu_forward(want, ha, n);
			cuda_quick_gelu_forward(ctx, out, a, n);
			T_ASSERTF((e = err_of(out, want, n)) < 1e-6, "quick_gelu forward n=%zu: %g", n, e);
			quick_gelu_backward(hd, ha, hb, n);
			cuda_quick_gelu_backward(ctx, d, a, b, n);
			T_ASSERTF((e = err_of(d, hd, n)) < 1e-6, "quick_gelu backward n=%zu: %g", n, e);
			residual_forward(want, ha, hb, n);
			cuda_residual_forward(ctx, out, a, b, n);
			T_ASSERTF((e = err_of(out, want, n)) == 0, "residual n=%zu: %g", n, e);
			for (size_t i = 0; i < n; i++)
				want[i] += ha[i];
			cuda_accumulate(ctx, out, a, n);
			T_ASSERTF((e = err_of(out, want, n)) == 0, "accumulate n=%zu: %g", n, e);
			for (size_t i = 0; i < n; i++)
				want[i] = 0.25f;
			cuda_fill(ctx, out, 0.25f, n);
			T_ASSERTF((e = err_of(out, want, n)) == 0, "fill n=%zu: %g", n, e);
			free(ha), free(hb), free(hd), free(want);
		}
}

static uint16_t bf16_reference(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	if ((u & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((u >> 16) | 0x40);
	return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static void test_roundings(void)
{
	size_t n = 4099;
	float *h;
	float *x = rnd(n, 100, &h);
	h[0] = NAN, h[1] = INFINITY, h[2] = 1.00390625f; /* 1 + 2^-8: a tie for bf16, rounds to even (1.0) */
	lfm_dev_upload(ctx, x, h, n * sizeof *h);
	uint16_t *b = lfm_dev_alloc(ctx, n * 2, "bf16");
	cuda_round_bf16(ctx, b, x, n);
	uint16_t *hb = malloc(n * 2);
	lfm_dev_download(ctx, hb, b, n * 2);
	for (size_t i = 0; i < n; i++)
		T_ASSERTF(hb[i] == bf16_reference(h[i]), "bf16 of %a: %04x, want %04x", h[i], hb[i], bf16_reference(h[i]));
	T_ASSERT(hb[2] == 0x3f80);
	float *t = cuda_test_poisoned(ctx, n);
	cuda_round_tf32(ctx, t, x, n);
	float *ht = cuda_test_download(ctx, t, n);
	for (size_t i = 3; i < n; i++) {
		uint32_t u;
		memcpy(&u, &ht[i], 4);
		T_ASSERTF((u & 0x1fff) == 0 && fabs(ht[i] - h[i]) <= fabs(h[i]) * 0x1p-11, "tf32 of %a: %a", h[i], ht[i]);
	}
	free(h), free(hb), free(ht);
}

static void test_sum_rows(void)
{
	static const int rs[][2] = {{1, 1}, {63, 31}, {64, 257}, {1000, 3}};
	for (size_t s = 0; s < sizeof rs / sizeof *rs; s++) {
		size_t N = (size_t)rs[s][0];
		int C = rs[s][1];
		float *hx, *ho;
		float *x = rnd(N * C, 1, &hx), *out = rnd(C, 1, &ho);
		float *scratch = lfm_dev_alloc_floats(ctx, cuda_sum_rows_scratch_floats(N, C), "scratch");
		for (int c = 0; c < C; c++) {
			double acc = 0;
			for (size_t r = 0; r < N; r++)
				acc += hx[r * C + c];
			ho[c] += (float)acc;
		}
		cuda_sum_rows(ctx, out, x, N, C, scratch);
		double e = err_of(out, ho, C);
		T_ASSERTF(e < 1e-5, "sum_rows N=%zu C=%d: %g", N, C, e);
		free(hx), free(ho);
	}
}

static void test_deterministic(void)
{
	size_t N = 200;
	int C = 130;
	float *hx, *hdy, *hw;
	float *x = rnd(N * C, 1, &hx), *dy = rnd(N * C, 1, &hdy), *w = rnd(C, 1, &hw);
	float *mean = cuda_test_poisoned(ctx, N), *rstd = cuda_test_poisoned(ctx, N), *out = cuda_test_poisoned(ctx, N * C);
	float *scratch = lfm_dev_alloc_floats(ctx, cuda_layernorm_backward_scratch_floats(N, C), "scratch");
	cuda_layernorm_forward(ctx, out, mean, rstd, x, w, w, N, C);
	float *runs[2];
	for (int k = 0; k < 2; k++) {
		float *dw = cuda_test_upload(ctx, hw, C), *dx = cuda_test_upload(ctx, hx, N * C);
		cuda_test_set_order(k ? CUDA_TEST_ORDERS - 1 : 0);
		cuda_layernorm_backward(ctx, dx, dw, NULL, dy, x, w, mean, rstd, N, C, scratch);
		runs[k] = cuda_test_download(ctx, dw, C);
	}
	T_ASSERT(memcmp(runs[0], runs[1], C * sizeof(float)) == 0);
	free(runs[0]), free(runs[1]), free(hx), free(hdy), free(hw);
}

int main(int argc, char **argv)
{
	(void)argc;
	lfm_init(argv[0]);
	ctx = cuda_test_context("cuda_layers");
	T_RUN(test_matmul_fp32);
	T_RUN(test_matmul_reduced_precision);
	T_RUN(test_gemm_batched_transposed);
	T_RUN(test_layernorm);
	T_RUN(test_residual_layernorm);
	T_RUN(test_elementwise);
	T_RUN(test_roundings);
	T_RUN(test_sum_rows);
	T_RUN(test_deterministic);
	return t_summary();
}
