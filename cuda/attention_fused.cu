// attention_fused.cu — multi-head self-attention fused into one kernel a direction (cuda_attention_fused.h),
// for CLIP's short sequences, in float32 on the CUDA cores.
//
// Why: attention.cu runs a head as two strided-batched cuBLASLt products per head (2·NH launches of
// 50×50×64 matrices that cannot fill the tensor cores) with the probabilities [B,NH,T,T] written, read
// and rewritten in global memory between them. Here a block holds a head's K and V (or Q and dO) in shared
// memory and does every product of that head there: global memory sees qkv read once and out written
// once, plus one float a row (the log-sum-exp) for the backward.
//
// The products are small matrix products out of shared memory, each thread a 4×4 tile of the result
// (64 multiply-adds for 8 16-byte shared loads), with two operand layouts (mm_scores, mm_rows):
//
//   forward, a block per (query tile of R rows, head, batch):
//     S = scale·Q Kᵀ (R×T), P = softmax(S) one warp a row, lse saved, O = P V (R×hd)
//   backward, two kinds of block per (head, batch), so that every gradient element has one writer:
//     query tiles:  P = exp(scale·Q Kᵀ − lse), dS = P∘(dO Vᵀ − Δ), dQ += scale·dS K
//     key tiles:    Pᵀ, dV += Pᵀ dO, dSᵀ, dK += scale·dSᵀ Q      (Δ_i = dO_i·O_i, a first small kernel)
//
// S and dP are computed twice (once per kind of block) rather than summed across blocks with atomics,
// which would make the bits depend on scheduling. When causal, a query tile reads only the keys its last
// row sees and a key tile only the queries at or after its first key.
#include "cuda_common.h"
#include "cuda_attention_fused.h"

#include <math.h>

// 16-byte vectors: shared and global memory read and written four floats at a time (one LDS.128 /
// LDG.128 instead of four). The emulation has no float4; its stand-in checks the alignment a device
// would fault on.
#ifdef LFM_CUDA_EMULATION
#include <stdio.h>
#include <stdlib.h>
struct alignas(16) f4 {
	float x, y, z, w;
};
static inline f4 ld4(const float *p)
{
	if ((uintptr_t)p & 15) {
		fprintf(stderr, "attention_fused.cu: misaligned 16-byte load at %p\n", (const void *)p);
		abort();
	}
	f4 v;
	memcpy(&v, p, sizeof v);
	return v;
}
static inline void st4(float *p, f4 v)
{
	if ((uintptr_t)p & 15) {
		fprintf(stderr, "attention_fused.cu: misaligned 16-byte store at %p\n", (void *)p);
		abort();
	}
	memcpy(p, &v, sizeof v);
}
#else
typedef float4 f4;
__device__ static __forceinline__ f4 ld4(const float *p) { return *reinterpret_cast<const f4 *>(p); }
__device__ static __forceinline__ void st4(float *p, f4 v) { *reinterpret_cast<f4 *>(p) = v; }
#endif

// The 4×4 tiles' loops fully unrolled (the accumulators stay in registers); g++ has no such pragma.
#ifdef LFM_CUDA_EMULATION
#define ATTN_UNROLL
#else
#define ATTN_UNROLL _Pragma("unroll")
#endif

#define ATTN_THREADS 256
#define ATTN_MAX_HD 128
// sm_90's opt-in maximum of dynamic shared memory a block (227 KB; 48 KB without the opt-in)
#define ATTN_MAX_SHARED 232448
#define ATTN_DEFAULT_SHARED (48 * 1024)

__host__ __device__ static inline int round4(int n) { return (n + 3) & ~3; }
// A row stride of n floats (or more) that is a multiple of 4 (16-byte rows) and an odd number of 16-byte
// quads: then the 8 lanes that share a 16-byte load phase, reading 8 consecutive rows at one column, hit 8
// different groups of banks (a stride of 64 floats would put them all in one: an 8-way conflict).
__host__ __device__ static inline int odd_quad_stride(int n)
{
	n = round4(n);
	return (n / 4) % 2 ? n : n + 4;
}

// The shape of a launch, the same for every block: R rows a tile (the last tile may have fewer), nt tiles,
// and the shared buffers' padded sizes. Passed to the kernels by value.
struct attn_layout {
	int D;	    // head dim
	int R, nt;  // rows a tile, tiles a (batch, head)
	int Tp, Rp; // T and R rounded up to 4 (the 4×4 tiles' reach)
	int ldh;    // row stride of the [rows][D] buffers
	int lds;    // row stride of the [R][T] score buffer
	size_t fwd_floats, bwd_floats;
};

static size_t fwd_floats_of(const attn_layout &L)
{
	return 2 * (size_t)L.Tp * L.ldh + (size_t)L.Rp * L.ldh + (size_t)L.Rp * L.lds;
}
static size_t bwd_floats_of(const attn_layout &L)
{
	return 2 * (size_t)L.Tp * L.ldh + 2 * (size_t)L.Rp * L.ldh + (size_t)L.Rp * L.lds + 2 * (size_t)L.Tp;
}

// The widest tile (fewest blocks, least reloading of K and V) that fits: tiles of at most 64 rows, split
// evenly (257 = 5 tiles of 52, not 4 of 64 and one of 1); 32 or 16 for the longest sequences.
static int attn_plan(attn_layout *L, int T, int C, int NH)
{
	if (T < 1 || NH < 1 || C < NH || C % NH)
		return 0;
	int D = C / NH;
	if (D % 4 || D > ATTN_MAX_HD)
		return 0;
	static const int widths[] = {64, 32, 16};
	for (int w : widths) {
		attn_layout l;
		l.D = D;
		l.nt = (T + w - 1) / w;
		l.R = (T + l.nt - 1) / l.nt;
		l.Tp = round4(T), l.Rp = round4(l.R);
		l.ldh = odd_quad_stride(D);
		l.lds = odd_quad_stride(T);
		l.fwd_floats = fwd_floats_of(l), l.bwd_floats = bwd_floats_of(l);
		if (l.bwd_floats * sizeof(float) <= ATTN_MAX_SHARED && l.nt <= 65535 / 2) {
			*L = l;
			return 1;
		}
	}
	return 0;
}

__device__ static inline float warp_sum(float v)
{
	// a butterfly: every lane ends with the same sum, added in the same order on every run
	for (int o = 16; o > 0; o >>= 1)
		v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}
__device__ static inline float warp_max(float v)
{
	for (int o = 16; o > 0; o >>= 1)
		v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
	return v;
}

// Rows [0, n) of a [*, D] slice of global memory (row stride `stride` floats) into shared rows of stride ld,
// rows [n, np) zero: the 4×4 tiles reach past the last row, and what they read there must add nothing.
__device__ static void load_rows(float *dst, int ld, const float *src, size_t stride, int n, int np, int D)
{
	const int q = D / 4;
	for (int e = threadIdx.x; e < np * q; e += blockDim.x) {
		int r = e / q, c = (e % q) * 4;
		f4 v = {0.0f, 0.0f, 0.0f, 0.0f};
		if (r < n)
			v = ld4(src + r * stride + c);
		st4(dst + r * ld + c, v);
	}
}

// C[r][c] = Σ_k A[r][k]·B[c][k] for r < 4⌈R/4⌉, c < 4⌈N/4⌉ (so padding rows and columns too), k < K
// (a multiple of 4), both operands with k contiguous: the scores q·k and dO·v. A thread's tile takes rows
// rg, rg + tr, rg + 2tr, rg + 3tr and columns cg, cg + tc, ... (interleaved, not 4 consecutive), so that
// neighbouring lanes read neighbouring rows of B — different banks with an odd-quad stride — and lanes
// of one row group read the same A row (a broadcast). epi(r, c, value) gets every element once.
template <class Epi>
__device__ static void mm_scores(int R, int N, int K, const float *A, int lda, const float *B, int ldb, Epi epi)
{
	const int tr = (R + 3) / 4, tc = (N + 3) / 4;
	for (int t = threadIdx.x; t < tr * tc; t += blockDim.x) {
		const int rg = t / tc, cg = t % tc;
		const float *a = A + rg * lda, *b = B + cg * ldb;
		float acc[4][4] = {};
		for (int k = 0; k < K; k += 4) {
			f4 av[4], bv[4];
ATTN_UNROLL
			for (int u = 0; u < 4; u++)
				av[u] = ld4(a + u * tr * lda + k);
ATTN_UNROLL
			for (int v = 0; v < 4; v++)
				bv[v] = ld4(b + v * tc * ldb + k);
ATTN_UNROLL
			for (int u = 0; u < 4; u++)
ATTN_UNROLL
				for (int v = 0; v < 4; v++) {
					acc[u][v] += av[u].x * bv[v].x;
					acc[u][v] += av[u].y * bv[v].y;
					acc[u][v] += av[u].z * bv[v].z;
					acc[u][v] += av[u].w * bv[v].w;
				}
		}
ATTN_UNROLL
		for (int u = 0; u < 4; u++)
ATTN_UNROLL
			for (int v = 0; v < 4; v++)
				epi(rg + u * tr, cg + v * tc, acc[u][v]);
	}
}

// C[r][c0..c0+3] = Σ_k A[r][k]·B[k][c0..c0+3] for r < 4⌈R/4⌉, c0 < N (a multiple of 4: the head dim),
// k < K (a multiple of 4): A = P or dS with k contiguous (rows interleaved as in mm_scores), B = V, K, Q or
// dO row-major, four consecutive columns a thread (consecutive lanes, consecutive 16 bytes: no conflict).
// epi(r, c0, four values) gets every row's four columns once.
template <class Epi>
__device__ static void mm_rows(int R, int N, int K, const float *A, int lda, const float *B, int ldb, Epi epi)
{
	const int tr = (R + 3) / 4, tc = N / 4;
	for (int t = threadIdx.x; t < tr * tc; t += blockDim.x) {
		const int rg = t / tc, c0 = (t % tc) * 4;
		const float *a = A + rg * lda, *b = B + c0;
		float acc[4][4] = {};
		for (int k = 0; k < K; k += 4) {
			f4 av[4], bv[4];
ATTN_UNROLL
			for (int u = 0; u < 4; u++)
				av[u] = ld4(a + u * tr * lda + k);
ATTN_UNROLL
			for (int kk = 0; kk < 4; kk++)
				bv[kk] = ld4(b + (k + kk) * ldb);
ATTN_UNROLL
			for (int u = 0; u < 4; u++) {
				const float ak[4] = {av[u].x, av[u].y, av[u].z, av[u].w};
ATTN_UNROLL
				for (int kk = 0; kk < 4; kk++) {
					acc[u][0] += ak[kk] * bv[kk].x;
					acc[u][1] += ak[kk] * bv[kk].y;
					acc[u][2] += ak[kk] * bv[kk].z;
					acc[u][3] += ak[kk] * bv[kk].w;
				}
			}
		}
ATTN_UNROLL
		for (int u = 0; u < 4; u++) {
			f4 v = {acc[u][0], acc[u][1], acc[u][2], acc[u][3]};
			epi(rg + u * tr, c0, v);
		}
	}
}

// Forward, a block per (query tile, head, batch). Shared: K, V [Tp][ldh], Q [Rp][ldh], S [Rp][lds].
__global__ static void __launch_bounds__(ATTN_THREADS)
	attn_forward_kernel(float *out, float *lse, const float *qkv, attn_layout L, int T, int C, int NH, int causal,
			    float scale)
{
	LFM_DYNAMIC_SHARED(float, sm);
	const int D = L.D, h = blockIdx.y, b = blockIdx.z;
	const int i0 = blockIdx.x * L.R, rows = min(L.R, T - i0), rows_p = round4(rows);
	const int keys = causal ? i0 + rows : T, keys_p = round4(keys); // the last row sees keys 0 .. i0 + rows - 1
	const size_t C3 = 3 * (size_t)C;
	float *Ks = sm, *Vs = Ks + (size_t)L.Tp * L.ldh, *Qs = Vs + (size_t)L.Tp * L.ldh, *Ss = Qs + (size_t)L.Rp * L.ldh;
	const float *q = qkv + (size_t)b * T * C3 + (size_t)h * D;
	load_rows(Qs, L.ldh, q + (size_t)i0 * C3, C3, rows, rows_p, D);
	load_rows(Ks, L.ldh, q + C, C3, keys, keys_p, D);
	load_rows(Vs, L.ldh, q + 2 * (size_t)C, C3, keys, keys_p, D);
	__syncthreads();
	mm_scores(rows_p, keys_p, D, Qs, L.ldh, Ks, L.ldh, [&](int r, int c, float s) { Ss[r * L.lds + c] = scale * s; });
	__syncthreads();
	// The softmax of cpu/row_ops.h's softmax_row (maximum subtracted, p = e · (1/Σe)), a warp a row; the
	// masked entries and the padding become exact zeros, which the P V product then skips for free.
	const int lane = threadIdx.x & 31, warps = blockDim.x >> 5;
	for (int r = threadIdx.x >> 5; r < rows_p; r += warps) {
		float *row = Ss + r * L.lds;
		const int n = r >= rows ? 0 : causal ? i0 + r + 1 : keys;
		float mx = -INFINITY, sum = 0;
		for (int j = lane; j < n; j += 32)
			mx = fmaxf(mx, row[j]);
		mx = warp_max(mx);
		for (int j = lane; j < n; j += 32) { // each lane rewrites only its own entries: no barrier needed
			float e = expf(row[j] - mx);
			row[j] = e;
			sum += e;
		}
		sum = warp_sum(sum);
		const float inv = n ? 1.0f / sum : 0.0f;
		for (int j = lane; j < keys_p; j += 32)
			row[j] = j < n ? row[j] * inv : 0.0f;
		if (lane == 0 && r < rows)
			lse[((size_t)b * NH + h) * T + i0 + r] = mx + logf(sum);
	}
	__syncthreads();
	float *o = out + ((size_t)b * T + i0) * C + (size_t)h * D;
	mm_rows(rows_p, D, keys_p, Ss, L.lds, Vs, L.ldh, [&](int r, int c0, f4 v) {
		if (r < rows)
			st4(o + (size_t)r * C + c0, v);
	});
}

// Δ[b,h,i] = dO_i · O_i (= Σ_j p_ij dp_ij, the softmax backward's row sum), a warp a row in a fixed order.
__global__ static void __launch_bounds__(ATTN_THREADS)
	attn_delta_kernel(float *delta, const float *dout, const float *out, int B, int T, int C, int NH)
{
	const int D = C / NH, lane = threadIdx.x & 31;
	const size_t rows = (size_t)B * NH * T, stride = (size_t)gridDim.x * (blockDim.x >> 5);
	for (size_t row = (size_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); row < rows; row += stride) {
		const size_t i = row % T, h = row / T % NH, b = row / ((size_t)T * NH); // delta is [B,NH,T]
		const size_t at = (b * T + i) * C + h * D;
		float s = 0;
		for (int d = lane; d < D; d += 32)
			s += dout[at + d] * out[at + d];
		s = warp_sum(s);
		if (lane == 0)
			delta[row] = s;
	}
}

// Backward. Blocks x < nt: query tile x; blocks x ≥ nt: key tile x − nt. Shared, a query tile: K, V
// [Tp][ldh], Q, dO [Rp][ldh], P then dS [Rp][lds], lse and Δ [Rp]; a key tile: Q, dO [Tp][ldh] (the
// queries that see the tile), K, V [Rp][ldh], Pᵀ then dSᵀ [Rp][lds], lse and Δ [Tp].
__global__ static void __launch_bounds__(ATTN_THREADS)
	attn_backward_kernel(float *dqkv, const float *dout, const float *qkv, const float *lse, const float *delta,
			     attn_layout L, int T, int C, int NH, int causal, float scale)
{
	LFM_DYNAMIC_SHARED(float, sm);
	const int D = L.D, h = blockIdx.y, b = blockIdx.z;
	const size_t C3 = 3 * (size_t)C;
	const float *q = qkv + (size_t)b * T * C3 + (size_t)h * D, *k = q + C, *v = q + 2 * (size_t)C;
	const float *dO = dout + (size_t)b * T * C + (size_t)h * D;
	const float *lb = lse + ((size_t)b * NH + h) * T, *db = delta + ((size_t)b * NH + h) * T;
	float *dq = dqkv + (size_t)b * T * C3 + (size_t)h * D, *dk = dq + C, *dv = dq + 2 * (size_t)C;
	float *big0 = sm, *big1 = big0 + (size_t)L.Tp * L.ldh, *small0 = big1 + (size_t)L.Tp * L.ldh;
	float *small1 = small0 + (size_t)L.Rp * L.ldh, *Ss = small1 + (size_t)L.Rp * L.ldh;
	float *ls = Ss + (size_t)L.Rp * L.lds, *ds = ls + L.Tp;
	if ((int)blockIdx.x < L.nt) {
		// queries i0 .. i0 + rows − 1 against the keys they see
		const int i0 = blockIdx.x * L.R, rows = min(L.R, T - i0), rows_p = round4(rows);
		const int keys = causal ? i0 + rows : T, keys_p = round4(keys);
		float *Ks = big0, *Vs = big1, *Qs = small0, *dOs = small1;
		load_rows(Qs, L.ldh, q + (size_t)i0 * C3, C3, rows, rows_p, D);
		load_rows(dOs, L.ldh, dO + (size_t)i0 * C, C, rows, rows_p, D);
		load_rows(Ks, L.ldh, k, C3, keys, keys_p, D);
		load_rows(Vs, L.ldh, v, C3, keys, keys_p, D);
		for (int r = threadIdx.x; r < rows_p; r += blockDim.x) {
			ls[r] = r < rows ? lb[i0 + r] : 0.0f;
			ds[r] = r < rows ? db[i0 + r] : 0.0f;
		}
		__syncthreads();
		mm_scores(rows_p, keys_p, D, Qs, L.ldh, Ks, L.ldh, [&](int r, int c, float s) {
			const bool seen = r < rows && c < (causal ? i0 + r + 1 : keys);
			Ss[r * L.lds + c] = seen ? expf(scale * s - ls[r]) : 0.0f;
		});
		// dS overwrites P in place: the same thread wrote P at exactly these elements (same tiling), so no
		// barrier is needed between the two products
		mm_scores(rows_p, keys_p, D, dOs, L.ldh, Vs, L.ldh, [&](int r, int c, float dp) {
			float *s = Ss + r * L.lds + c;
			*s = *s * (dp - ds[r]);
		});
		__syncthreads();
		mm_rows(rows_p, D, keys_p, Ss, L.lds, Ks, L.ldh, [&](int r, int c0, f4 g) {
			if (r < rows) {
				float *p = dq + (size_t)(i0 + r) * C3 + c0;
				f4 a = ld4(p);
				a.x += scale * g.x, a.y += scale * g.y, a.z += scale * g.z, a.w += scale * g.w;
				st4(p, a);
			}
		});
	} else {
		// keys j0 .. j0 + rows − 1 against the queries that see them (all, or those from j0 on when causal)
		const int j0 = (blockIdx.x - L.nt) * L.R, rows = min(L.R, T - j0), rows_p = round4(rows);
		const int qlo = causal ? j0 : 0, queries = T - qlo, queries_p = round4(queries);
		float *Qs = big0, *dOs = big1, *Kt = small0, *Vt = small1, *Xs = Ss;
		load_rows(Kt, L.ldh, k + (size_t)j0 * C3, C3, rows, rows_p, D);
		load_rows(Vt, L.ldh, v + (size_t)j0 * C3, C3, rows, rows_p, D);
		load_rows(Qs, L.ldh, q + (size_t)qlo * C3, C3, queries, queries_p, D);
		load_rows(dOs, L.ldh, dO + (size_t)qlo * C, C, queries, queries_p, D);
		for (int c = threadIdx.x; c < queries_p; c += blockDim.x) {
			ls[c] = c < queries ? lb[qlo + c] : 0.0f;
			ds[c] = c < queries ? db[qlo + c] : 0.0f;
		}
		__syncthreads();
		// Pᵀ[r][c] = p(query qlo + c, key j0 + r)
		mm_scores(rows_p, queries_p, D, Kt, L.ldh, Qs, L.ldh, [&](int r, int c, float s) {
			const bool seen = r < rows && c < queries && (!causal || qlo + c >= j0 + r);
			Xs[r * L.lds + c] = seen ? expf(scale * s - ls[c]) : 0.0f;
		});
		__syncthreads();
		mm_rows(rows_p, D, queries_p, Xs, L.lds, dOs, L.ldh, [&](int r, int c0, f4 g) {
			if (r < rows) {
				float *p = dv + (size_t)(j0 + r) * C3 + c0;
				f4 a = ld4(p);
				a.x += g.x, a.y += g.y, a.z += g.z, a.w += g.w;
				st4(p, a);
			}
		});
		__syncthreads(); // every thread has read Pᵀ for dV before dSᵀ overwrites it
		mm_scores(rows_p, queries_p, D, Vt, L.ldh, dOs, L.ldh, [&](int r, int c, float dp) {
			float *s = Xs + r * L.lds + c;
			*s = *s * (dp - ds[c]);
		});
		__syncthreads();
		mm_rows(rows_p, D, queries_p, Xs, L.lds, Qs, L.ldh, [&](int r, int c0, f4 g) {
			if (r < rows) {
				float *p = dk + (size_t)(j0 + r) * C3 + c0;
				f4 a = ld4(p);
				a.x += scale * g.x, a.y += scale * g.y, a.z += scale * g.z, a.w += scale * g.w;
				st4(p, a);
			}
		});
	}
}

static int aligned16(const void *p) { return ((uintptr_t)p & 15) == 0; }

// Above 48 KB a kernel must opt in to its dynamic shared memory (T = 257, hd = 64: 205 KB forward, 221 KB backward).
template <class K> static void allow_shared(K *kernel, size_t bytes)
{
	if (bytes > ATTN_DEFAULT_SHARED)
		CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
}

extern "C" int cuda_attention_fused_supported(int T, int C, int NH)
{
	attn_layout L;
	return attn_plan(&L, T, C, NH);
}

extern "C" size_t cuda_attention_fused_saved_floats(int B, int T, int C, int NH) { return (size_t)B * NH * T; }

extern "C" void cuda_attention_fused_forward(lfm_cuda_context *ctx, float *out, float *lse, const float *qkv, int B, int T,
					     int C, int NH, int causal)
{
	attn_layout L;
	LFM_CUDA_REQUIRE(ctx && out && lse && qkv && B > 0 && B <= 65535 && attn_plan(&L, T, C, NH));
	LFM_CUDA_REQUIRE(aligned16(out) && aligned16(qkv));
	const size_t bytes = L.fwd_floats * sizeof(float);
	allow_shared(attn_forward_kernel, bytes);
	LFM_LAUNCH(attn_forward_kernel, dim3(L.nt, NH, B), ATTN_THREADS, bytes, ctx->stream, out, lse, qkv, L, T, C, NH,
		   causal != 0, 1.0f / sqrtf((float)L.D));
}

extern "C" size_t cuda_attention_fused_backward_scratch_floats(int B, int T, int C, int NH) { return (size_t)B * NH * T; }

extern "C" void cuda_attention_fused_backward(lfm_cuda_context *ctx, float *dqkv, const float *dout, const float *out,
					      const float *qkv, const float *lse, int B, int T, int C, int NH, int causal,
					      float *scratch)
{
	if (!dqkv)
		return;
	attn_layout L;
	LFM_CUDA_REQUIRE(ctx && dout && out && qkv && lse && scratch && B > 0 && B <= 65535 && attn_plan(&L, T, C, NH));
	LFM_CUDA_REQUIRE(aligned16(dqkv) && aligned16(qkv) && aligned16(dout));
	const size_t rows = (size_t)B * NH * T;
	LFM_LAUNCH(attn_delta_kernel, lfm_grid_blocks(rows, ATTN_THREADS / 32), ATTN_THREADS, 0, ctx->stream, scratch, dout,
		   out, B, T, C, NH);
	const size_t bytes = L.bwd_floats * sizeof(float);
	allow_shared(attn_backward_kernel, bytes);
	LFM_LAUNCH(attn_backward_kernel, dim3(2 * L.nt, NH, B), ATTN_THREADS, bytes, ctx->stream, dqkv, dout, qkv, lse,
		   scratch, L, T, C, NH, causal != 0, 1.0f / sqrtf((float)L.D));
}
