// matmul.cu — the one cuBLASLt wrapper of the backend (see cuda_kernels.h) and the nn.Linear / projection
// products built on it. Row-major thinking outside, column-major inside: a row-major D[M,N] is the
// column-major D^T[N,M] = op(B)^T·op(A)^T, so cuda_gemm hands cuBLASLt B before A with the transposes as
// given. bf16: the inputs are cast into the context's cast buffer first (float32 accumulation and output);
// tf32: CUBLAS_COMPUTE_32F_FAST_TF32; fp32: CUBLAS_COMPUTE_32F_PEDANTIC (no TF32 anywhere).
#include <string.h>

#include <vector>

#include "cuda_common.h"
#include "cuda_kernels.h"
#include "cuda_memory.h"

// The elements a strided batch of `batch` matrices of `rows` rows of stride ld spans (the last one ends at
// its last row's `cols`-th element).
static size_t span(int batch, long long stride, int rows, int ld, int cols)
{
	return (size_t)(batch - 1) * (size_t)stride + (size_t)(rows - 1) * (size_t)ld + (size_t)cols;
}

extern "C" void cuda_gemm_set_bf16_shadow(lfm_cuda_context *ctx, const float *params, const uint16_t *shadow, size_t n)
{
	ctx->bf16_shadow_of = shadow ? params : NULL;
	ctx->bf16_shadow = shadow;
	ctx->bf16_shadow_n = shadow ? n : 0;
}

// The operand's bf16 copy when it lies inside the registered parameter block, else NULL.
static const __nv_bfloat16 *shadowed(const lfm_cuda_context *ctx, const float *x, size_t n)
{
	const float *base = ctx->bf16_shadow_of;
	if (!base || x < base || x + n > base + ctx->bf16_shadow_n)
		return NULL;
	return (const __nv_bfloat16 *)(ctx->bf16_shadow + (x - base));
}

// bf16 copies of a and b: the parameter block's shadow for a weight, else the context's cast buffer, grown
// when too small (never during a graph capture: lfm-fit's first step sizes it).
static void cast_inputs(lfm_cuda_context *ctx, const float *a, size_t na, const float *b, size_t nb,
			const __nv_bfloat16 **ca_out, const __nv_bfloat16 **cb_out)
{
	const __nv_bfloat16 *sa = shadowed(ctx, a, na), *sb = shadowed(ctx, b, nb);
	if (sa)
		na = 0;
	if (sb)
		nb = 0;
	size_t na_al = (na + 7) & ~(size_t)7; // 16-byte alignment for the second operand
	size_t need = (na_al + nb) * sizeof(__nv_bfloat16);
	if (need > ctx->cast_buffer_bytes) {
		lfm_dev_free(ctx, ctx->cast_buffer, ctx->cast_buffer_bytes);
		ctx->cast_buffer = NULL;
		ctx->cast_buffer_bytes = 0;
		ctx->cast_buffer = lfm_dev_alloc(ctx, need, "the bf16 copies of a matrix product's inputs");
		ctx->cast_buffer_bytes = need;
		ctx->cast_buffer_generation++;
	}
	__nv_bfloat16 *ca = (__nv_bfloat16 *)ctx->cast_buffer, *cb = ca + na_al;
	if (na)
		cuda_round_bf16(ctx, (uint16_t *)ca, a, na); // elementwise.cu: round to nearest even
	if (nb)
		cuda_round_bf16(ctx, (uint16_t *)cb, b, nb);
	*ca_out = sa ? sa : ca;
	*cb_out = sb ? sb : cb;
}

static cublasLtMatrixLayout_t layout(cudaDataType_t type, int rows, int cols, int ld, int batch, long long stride)
{
	cublasLtMatrixLayout_t l;
	CUBLASLT_CHECK(cublasLtMatrixLayoutCreate(&l, type, (uint64_t)rows, (uint64_t)cols, ld));
	if (batch > 1) {
		int32_t b = batch;
		int64_t s = stride;
		CUBLASLT_CHECK(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &b, sizeof b));
		CUBLASLT_CHECK(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &s, sizeof s));
	}
	return l;
}

// A product's shape: what its descriptors and its algorithm depend on (not the pointers).
struct gemm_key {
	lfm_precision prec;
	int transA, transB, M, N, K, lda, ldb, ldd;
	long long strideA, strideB, strideD;
	int batch, with_bias;
	bool operator==(const gemm_key &o) const
	{
		return prec == o.prec && transA == o.transA && transB == o.transB && M == o.M && N == o.N && K == o.K &&
		       lda == o.lda && ldb == o.ldb && ldd == o.ldd && strideA == o.strideA && strideB == o.strideB &&
		       strideD == o.strideD && batch == o.batch && with_bias == o.with_bias;
	}
};
// The descriptors made and the heuristic asked once per shape: a training step repeats a few dozen shapes
// thousands of times, and cublasLtMatmulAlgoGetHeuristic costs tens of microseconds of host time — more
// than many of the products themselves at batch 32. Cached plans also make a graph capture issue nothing
// but the products.
struct gemm_plan {
	gemm_key key;
	cublasLtMatmulDesc_t desc;
	cublasLtMatrixLayout_t la, lb, ld;
	cublasLtMatmulAlgo_t algo;
};
struct lfm_gemm_plans {
	std::vector<gemm_plan> plans;
};

static const gemm_plan *plan_for(lfm_cuda_context *ctx, const gemm_key &k)
{
	if (!ctx->gemm_plans)
		ctx->gemm_plans = new lfm_gemm_plans();
	for (const gemm_plan &p : ctx->gemm_plans->plans)
		if (p.key == k)
			return &p;
	gemm_plan p = {};
	p.key = k;
	int a_rows = k.transA ? k.K : k.M, a_cols = k.transA ? k.M : k.K, b_rows = k.transB ? k.N : k.K,
	    b_cols = k.transB ? k.K : k.N;
	cudaDataType_t in_type = k.prec == LFM_PRECISION_BF16 ? CUDA_R_16BF : CUDA_R_32F;
	cublasComputeType_t compute = k.prec == LFM_PRECISION_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32
				      : k.prec == LFM_PRECISION_BF16 ? CUBLAS_COMPUTE_32F
								     : CUBLAS_COMPUTE_32F_PEDANTIC;
	CUBLASLT_CHECK(cublasLtMatmulDescCreate(&p.desc, compute, CUDA_R_32F));
	// column-major: D^T (N x M) = op(B)^T (N x K) · op(A)^T (K x M); B^T stored row-major is B column-major
	int32_t op_first = k.transB ? CUBLAS_OP_T : CUBLAS_OP_N, op_second = k.transA ? CUBLAS_OP_T : CUBLAS_OP_N;
	CUBLASLT_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &op_first, sizeof op_first));
	CUBLASLT_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &op_second, sizeof op_second));
	if (k.with_bias) {
		uint32_t epi = CUBLASLT_EPILOGUE_BIAS;
		CUBLASLT_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
	}
	// the column-major shapes as stored: B row-major b_rows x b_cols = column-major b_cols x b_rows
	p.lb = layout(in_type, b_cols, b_rows, k.ldb, k.batch, k.strideB);
	p.la = layout(in_type, a_cols, a_rows, k.lda, k.batch, k.strideA);
	p.ld = layout(CUDA_R_32F, k.N, k.M, k.ldd, k.batch, k.strideD);
	cublasLtMatmulPreference_t pref;
	CUBLASLT_CHECK(cublasLtMatmulPreferenceCreate(&pref));
	uint64_t ws = ctx->lt_workspace_bytes;
	CUBLASLT_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
	cublasLtMatmulHeuristicResult_t h;
	int found = 0;
	CUBLASLT_CHECK(cublasLtMatmulAlgoGetHeuristic(ctx->lt, p.desc, p.lb, p.la, p.ld, p.ld, pref, 1, &h, &found));
	cublasLtMatmulPreferenceDestroy(pref);
	if (!found)
		lfm_cuda_fail("cublasLtMatmulAlgoGetHeuristic", "no algorithm for this product", __FILE__, __LINE__);
	p.algo = h.algo;
	ctx->gemm_plans->plans.push_back(p);
	return &ctx->gemm_plans->plans.back();
}

extern "C" void lfm_gemm_plans_free(lfm_cuda_context *ctx)
{
	if (!ctx->gemm_plans)
		return;
	for (gemm_plan &p : ctx->gemm_plans->plans) {
		cublasLtMatrixLayoutDestroy(p.ld);
		cublasLtMatrixLayoutDestroy(p.la);
		cublasLtMatrixLayoutDestroy(p.lb);
		cublasLtMatmulDescDestroy(p.desc);
	}
	delete ctx->gemm_plans;
	ctx->gemm_plans = NULL;
}

extern "C" void cuda_gemm(lfm_cuda_context *ctx, lfm_precision prec, int transA, int transB, int M, int N, int K,
			  float alpha, const float *A, int lda, long long strideA, const float *B, int ldb,
			  long long strideB, float beta, float *D, int ldd, long long strideD, int batch,
			  const float *bias)
{
	LFM_CUDA_REQUIRE(M > 0 && N > 0 && K > 0 && batch > 0);
	LFM_CUDA_REQUIRE(A && B && D);
	// row-major storage: A is M x K (or K x M transposed) with row stride lda, and so on
	int a_rows = transA ? K : M, a_cols = transA ? M : K, b_rows = transB ? N : K, b_cols = transB ? K : N;
	LFM_CUDA_REQUIRE(lda >= a_cols && ldb >= b_cols && ldd >= N);
	LFM_CUDA_REQUIRE(!bias || beta == 0.0f);
	const void *a = A, *b = B;
	if (prec == LFM_PRECISION_BF16) {
		const __nv_bfloat16 *ca, *cb;
		cast_inputs(ctx, A, span(batch, strideA, a_rows, lda, a_cols), B, span(batch, strideB, b_rows, ldb, b_cols),
			    &ca, &cb);
		a = ca, b = cb;
	}
	const gemm_plan *plan = plan_for(ctx, gemm_key{prec, transA, transB, M, N, K, lda, ldb, ldd, strideA, strideB,
						    strideD, batch, bias != NULL});
	if (bias)
		CUBLASLT_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
							      sizeof bias));
	CUBLASLT_CHECK(cublasLtMatmul(ctx->lt, plan->desc, &alpha, b, plan->lb, a, plan->la, &beta, D, plan->ld, D,
				      plan->ld, &plan->algo, ctx->lt_workspace, ctx->lt_workspace_bytes, ctx->stream));
}

extern "C" void cuda_matmul_forward(lfm_cuda_context *ctx, lfm_precision prec, float *out, const float *inp,
				    const float *weight, const float *bias, size_t N, int C, int OC)
{
	LFM_CUDA_REQUIRE(N > 0 && N <= 0x7fffffff);
	// out[N,OC] = inp[N,C] · weight[OC,C]^T
	cuda_gemm(ctx, prec, 0, 1, (int)N, OC, C, 1.0f, inp, C, 0, weight, C, 0, 0.0f, out, OC, 0, 1, bias);
}

extern "C" size_t cuda_matmul_backward_scratch_floats(size_t N, int OC) { return cuda_sum_rows_scratch_floats(N, OC); }

extern "C" void cuda_matmul_backward(lfm_cuda_context *ctx, lfm_precision prec, float *dinp, float *dweight, float *dbias,
				     const float *dout, const float *inp, const float *weight, size_t N, int C, int OC,
				     float *scratch)
{
	LFM_CUDA_REQUIRE(N > 0 && N <= 0x7fffffff);
	if (dinp) // dinp[N,C] += dout[N,OC] · weight[OC,C]
		cuda_gemm(ctx, prec, 0, 0, (int)N, C, OC, 1.0f, dout, OC, 0, weight, C, 0, 1.0f, dinp, C, 0, 1, NULL);
	if (dweight) // dweight[OC,C] += dout^T[OC,N] · inp[N,C]
		cuda_gemm(ctx, prec, 1, 0, OC, C, (int)N, 1.0f, dout, OC, 0, inp, C, 0, 1.0f, dweight, C, 0, 1, NULL);
	if (dbias)
		cuda_sum_rows(ctx, dbias, dout, N, OC, scratch);
}

extern "C" void cuda_projection_forward(lfm_cuda_context *ctx, lfm_precision prec, float *out, const float *inp,
					const float *proj, size_t N, int C, int OC)
{
	LFM_CUDA_REQUIRE(N > 0 && N <= 0x7fffffff);
	cuda_gemm(ctx, prec, 0, 0, (int)N, OC, C, 1.0f, inp, C, 0, proj, OC, 0, 0.0f, out, OC, 0, 1, NULL);
}

extern "C" void cuda_projection_backward(lfm_cuda_context *ctx, lfm_precision prec, float *dinp, float *dproj,
					 const float *dout, const float *inp, const float *proj, size_t N, int C, int OC)
{
	LFM_CUDA_REQUIRE(N > 0 && N <= 0x7fffffff);
	if (dinp) // dinp[N,C] += dout[N,OC] · proj[C,OC]^T
		cuda_gemm(ctx, prec, 0, 1, (int)N, C, OC, 1.0f, dout, OC, 0, proj, OC, 0, 1.0f, dinp, C, 0, 1, NULL);
	if (dproj) // dproj[C,OC] += inp^T[C,N] · dout[N,OC]
		cuda_gemm(ctx, prec, 1, 0, C, OC, (int)N, 1.0f, inp, C, 0, dout, OC, 0, 1.0f, dproj, OC, 0, 1, NULL);
}
