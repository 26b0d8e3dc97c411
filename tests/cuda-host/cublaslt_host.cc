// cublaslt_host.cc — cuBLASLt's matmul on the host (see include/cublasLt.h): D = alpha·op(A)·op(B) + beta·C,
// column-major as the real library, each of `batch` products at its strides, computed by OpenBLAS's sgemm
// on float copies of the operands (bf16 widened exactly; with FAST_TF32 each input rounded to TF32 first,
// as the tensor cores take it). The accumulation order differs from the GPU's, so emulated and device
// products agree within float rounding, not bit for bit.
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "cuda_bf16.h"
#include "cublasLt.h"
#include "cuda_host_runtime.h"

struct cublasLtContext {
	int unused;
};
struct cublasLtMatmulDescOpaque {
	cublasComputeType_t compute;
	cublasOperation_t transa = CUBLAS_OP_N, transb = CUBLAS_OP_N;
	cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
	const void *bias = nullptr;
	cudaDataType_t bias_type = CUDA_R_32F;
};
struct cublasLtMatrixLayoutOpaque {
	cudaDataType_t type;
	uint64_t rows, cols;
	int64_t ld;
	int32_t batch = 1;
	int64_t stride = 0;
};
struct cublasLtMatmulPreferenceOpaque {
	uint64_t max_workspace = 0;
};

static cublasStatus_t invalid(const char *why)
{
	fprintf(stderr, "cuda-host: cublasLtMatmul: %s\n", why);
	return CUBLAS_STATUS_INVALID_VALUE;
}

extern "C" const char *cublasLtGetStatusString(cublasStatus_t s)
{
	switch (s) {
	case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
	case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
	case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
	case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
	case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
	case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
	}
	return "CUBLAS_STATUS_UNKNOWN";
}

extern "C" cublasStatus_t cublasLtCreate(cublasLtHandle_t *h)
{
	*h = new cublasLtContext();
	return CUBLAS_STATUS_SUCCESS;
}
extern "C" cublasStatus_t cublasLtDestroy(cublasLtHandle_t h)
{
	delete h;
	return CUBLAS_STATUS_SUCCESS;
}
extern "C" cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *d, cublasComputeType_t compute, cudaDataType_t scale)
{
	if (scale != CUDA_R_32F)
		return invalid("scale type must be CUDA_R_32F");
	*d = new cublasLtMatmulDescOpaque();
	(*d)->compute = compute;
	return CUBLAS_STATUS_SUCCESS;
}
extern "C" cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d)
{
	delete d;
	return CUBLAS_STATUS_SUCCESS;
}
extern "C" cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t attr,
							 const void *buf, size_t size)
{
	switch (attr) {
	case CUBLASLT_MATMUL_DESC_TRANSA:
	case CUBLASLT_MATMUL_DESC_TRANSB: {
		if (size != sizeof(int32_t))
			return invalid("TRANSA/TRANSB takes an int32");
		int32_t v;
		memcpy(&v, buf, 4);
		(attr == CUBLASLT_MATMUL_DESC_TRANSA ? d->transa : d->transb) = (cublasOperation_t)v;
		return CUBLAS_STATUS_SUCCESS;
	}
	case CUBLASLT_MATMUL_DESC_EPILOGUE: {
		if (size != sizeof(uint32_t))
			return invalid("EPILOGUE takes a uint32");
		uint32_t v;
		memcpy(&v, buf, 4);
		if (v != CUBLASLT_EPILOGUE_DEFAULT && v != CUBLASLT_EPILOGUE_BIAS)
			return CUBLAS_STATUS_NOT_SUPPORTED;
		d->epilogue = (cublasLtEpilogue_t)v;
		return CUBLAS_STATUS_SUCCESS;
	}
	case CUBLASLT_MATMUL_DESC_BIAS_POINTER:
		if (size != sizeof(void *))
			return invalid("BIAS_POINTER takes a pointer");
		memcpy(&d->bias, buf, sizeof(void *));
		return CUBLAS_STATUS_SUCCESS;
	case CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE: {
		int32_t v;
		memcpy(&v, buf, 4);
		d->bias_type = (cudaDataType_t)v;
		return CUBLAS_STATUS_SUCCESS;
	}
	}
	return CUBLAS_STATUS_NOT_SUPPORTED;
}
extern "C" cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *l, cudaDataType type, uint64_t rows,
						     uint64_t cols, int64_t ld)
{
	if (type != CUDA_R_32F && type != CUDA_R_16BF)
		return CUBLAS_STATUS_NOT_SUPPORTED;
	if (ld < (int64_t)rows || rows == 0 || cols == 0)
		return invalid("layout: ld < rows or an empty matrix");
	*l = new cublasLtMatrixLayoutOpaque();
	(*l)->type = type;
	(*l)->rows = rows;
	(*l)->cols = cols;
	(*l)->ld = ld;
	return CUBLAS_STATUS_SUCCESS;
}
extern "C" cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t l)
{
	delete l;
	return CUBLAS_STATUS_SUCCESS;
}
extern "C" cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t attr,
							   const void *buf, size_t size)
{
	if (attr == CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT && size == sizeof(int32_t)) {
		memcpy(&l->batch, buf, 4);
		return l->batch >= 1 ? CUBLAS_STATUS_SUCCESS : invalid("batch count < 1");
	}
	if (attr == CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET && size == sizeof(int64_t)) {
		memcpy(&l->stride, buf, 8);
		return CUBLAS_STATUS_SUCCESS;
	}
	return invalid("layout attribute of the wrong size or not emulated");
}
extern "C" cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *p)
{
	*p = new cublasLtMatmulPreferenceOpaque();
	return CUBLAS_STATUS_SUCCESS;
}
extern "C" cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t p)
{
	delete p;
	return CUBLAS_STATUS_SUCCESS;
}
extern "C" cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t p,
							       cublasLtMatmulPreferenceAttributes_t attr, const void *buf,
							       size_t size)
{
	if (attr != CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES || size != sizeof(uint64_t))
		return invalid("preference attribute not emulated");
	memcpy(&p->max_workspace, buf, 8);
	return CUBLAS_STATUS_SUCCESS;
}
extern "C" cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t h, cublasLtMatmulDesc_t d,
							 cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
							 cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t dd,
							 cublasLtMatmulPreference_t pref, int requested,
							 cublasLtMatmulHeuristicResult_t *results, int *returned)
{
	if (!h || !d || !a || !b || !c || !dd || requested < 1)
		return invalid("heuristic: missing descriptor");
	memset(results, 0, sizeof *results);
	results[0].state = CUBLAS_STATUS_SUCCESS;
	results[0].wavesCount = 1;
	*returned = 1;
	return CUBLAS_STATUS_SUCCESS;
}

// TF32: float with its mantissa rounded to 10 bits, nearest even (NaN and infinities kept).
static float round_tf32(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	if ((u & 0x7f800000u) != 0x7f800000u)
		u = (u + 0xfffu + ((u >> 13) & 1u)) & ~0x1fffu;
	memcpy(&f, &u, 4);
	return f;
}

// The ld x cols column-major storage of one operand as floats.
static void widen(std::vector<float> &out, const void *p, const cublasLtMatrixLayoutOpaque *l, int tf32)
{
	size_t n = (size_t)l->ld * (l->cols - 1) + l->rows;
	out.resize(n);
	if (l->type == CUDA_R_16BF) {
		const __nv_bfloat16 *b = (const __nv_bfloat16 *)p;
		for (size_t i = 0; i < n; i++)
			out[i] = __bfloat162float(b[i]);
	} else
		memcpy(out.data(), p, n * sizeof(float));
	if (tf32)
		for (float &v : out)
			v = round_tf32(v);
}

// The product itself, once its arguments are checked (see cublasLtMatmul).
static void matmul_now(const cublasLtMatmulDescOpaque *desc, float al, float be, const void *A,
		       const cublasLtMatrixLayoutOpaque *Ad, const void *B, const cublasLtMatrixLayoutOpaque *Bd,
		       const void *C, const cublasLtMatrixLayoutOpaque *Cd, void *D, const cublasLtMatrixLayoutOpaque *Dd,
		       int tf32, int batch, uint64_t m, uint64_t n, uint64_t k)
{
	int ta = desc->transa == CUBLAS_OP_T, tb = desc->transb == CUBLAS_OP_T;
	size_t esz_a = Ad->type == CUDA_R_16BF ? 2 : 4, esz_d = Dd->type == CUDA_R_16BF ? 2 : 4;
	std::vector<float> a, b, d(m * n);
	for (int i = 0; i < batch; i++) {
		widen(a, (const char *)A + (size_t)i * Ad->stride * esz_a, Ad, tf32);
		widen(b, (const char *)B + (size_t)i * Bd->stride * esz_a, Bd, tf32);
		// d (m x n, ld m) = beta * C
		for (uint64_t c = 0; c < n; c++)
			for (uint64_t r = 0; r < m; r++) {
				float cv = 0;
				if (be != 0 && C) {
					size_t at = (size_t)i * Cd->stride + c * Cd->ld + r;
					cv = Cd->type == CUDA_R_16BF ? __bfloat162float(((const __nv_bfloat16 *)C)[at])
								     : ((const float *)C)[at];
				}
				d[c * m + r] = be * cv;
			}
		cblas_sgemm(CblasColMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n,
			    (int)k, al, a.data(), (int)Ad->ld, b.data(), (int)Bd->ld, 1.0f, d.data(), (int)m);
		if (desc->epilogue == CUBLASLT_EPILOGUE_BIAS)
			for (uint64_t c = 0; c < n; c++)
				for (uint64_t r = 0; r < m; r++)
					d[c * m + r] += desc->bias_type == CUDA_R_16BF
								? __bfloat162float(((const __nv_bfloat16 *)desc->bias)[r])
								: ((const float *)desc->bias)[r];
		for (uint64_t c = 0; c < n; c++)
			for (uint64_t r = 0; r < m; r++) {
				size_t at = (size_t)i * Dd->stride + c * Dd->ld + r;
				if (esz_d == 2)
					((__nv_bfloat16 *)D)[at] = __float2bfloat16(d[c * m + r]);
				else
					((float *)D)[at] = d[c * m + r];
			}
	}
}

extern "C" cublasStatus_t cublasLtMatmul(cublasLtHandle_t h, cublasLtMatmulDesc_t desc, const void *alpha, const void *A,
					 cublasLtMatrixLayout_t Ad, const void *B, cublasLtMatrixLayout_t Bd,
					 const void *beta, const void *C, cublasLtMatrixLayout_t Cd, void *D,
					 cublasLtMatrixLayout_t Dd, const cublasLtMatmulAlgo_t *algo, void *workspace,
					 size_t workspaceSize, cudaStream_t stream)
{
	if (!h || !desc || !Ad || !Bd || !Cd || !Dd || !A || !B || !D)
		return invalid("a NULL handle, descriptor or pointer");
	int ta = desc->transa == CUBLAS_OP_T, tb = desc->transb == CUBLAS_OP_T;
	uint64_t m = ta ? Ad->cols : Ad->rows, k = ta ? Ad->rows : Ad->cols;
	uint64_t kb = tb ? Bd->cols : Bd->rows, n = tb ? Bd->rows : Bd->cols;
	if (k != kb)
		return invalid("inner dimensions of op(A) and op(B) differ");
	if (Dd->rows != m || Dd->cols != n || Cd->rows != m || Cd->cols != n)
		return invalid("C/D are not op(A)'s rows x op(B)'s columns");
	if (Dd->type != CUDA_R_32F && Dd->type != CUDA_R_16BF)
		return CUBLAS_STATUS_NOT_SUPPORTED;
	if (Ad->type != Bd->type)
		return invalid("A and B of different types");
	int batch = Dd->batch;
	if (Ad->batch != batch || Bd->batch != batch || Cd->batch != batch)
		return invalid("batch counts differ");
	float al, be;
	memcpy(&al, alpha, 4);
	memcpy(&be, beta, 4);
	if (desc->epilogue == CUBLASLT_EPILOGUE_BIAS && !desc->bias)
		return invalid("BIAS epilogue without a bias pointer");
	int tf32 = desc->compute == CUBLAS_COMPUTE_32F_FAST_TF32 && Ad->type == CUDA_R_32F;
	// The product runs in stream order: now, or at each replay of the graph being captured on `stream`.
	// It keeps copies of the descriptors (the caller may destroy them once the call returns, as a real
	// capture allows) and reads the operands only when it runs.
	cublasLtMatmulDescOpaque dv = *desc;
	cublasLtMatrixLayoutOpaque av = *Ad, bv = *Bd, cv_ = *Cd, dlv = *Dd;
	lfm_emu_stream_op(stream, [=]() { matmul_now(&dv, al, be, A, &av, B, &bv, C, &cv_, D, &dlv, tf32, batch, m, n, k); });
	return CUBLAS_STATUS_SUCCESS;
}
