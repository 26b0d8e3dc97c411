// cuda_host.h — the host emulation of CUDA's execution model, force-included (g++ -include) before every
// cuda/*.cu when it is compiled for make check (tests/cuda-host/README.md). A kernel becomes a plain
// function; a launch runs the grid's blocks one after another, and a block's threads as cooperative fibers
// (ucontext) that switch only at __syncthreads(), __syncwarp() and warp shuffles. `static` locals stand
// for __shared__ arrays: one OS thread runs one block at a time, so a static local is that block's.
#ifndef LFM_EMU_CUDA_HOST_H
#define LFM_EMU_CUDA_HOST_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <functional>
#include <memory>
#include <tuple>
#include <utility>

#include "cuda_bf16.h"
#include "cuda_host_runtime.h"
#include "cuda_runtime.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

// What one fiber (one CUDA thread) sees.
struct lfm_emu_thread {
	dim3 tid, bid, bdim, gdim;
	int linear; // threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)
};
lfm_emu_thread *lfm_emu_cur();
#define threadIdx (lfm_emu_cur()->tid)
#define blockIdx (lfm_emu_cur()->bid)
#define blockDim (lfm_emu_cur()->bdim)
#define gridDim (lfm_emu_cur()->gdim)
static const int warpSize = 32;

void __syncthreads();
void __syncwarp(unsigned mask = 0xffffffffu);
// A warp exchange: every lane of the warp deposits 8 bytes and reads lane src's (src < 0 or beyond the
// warp: its own), the lanes meeting before and after.
uint64_t lfm_emu_warp_exchange(uint64_t mine, int src);
int lfm_emu_lane();
void *lfm_emu_dynamic_shared();
void lfm_emu_run(const char *name, const char *file, int line, dim3 grid, dim3 block, size_t shared,
		 const std::function<void()> &body);

template <class T> static inline T lfm_emu_shfl(T v, int src)
{
	static_assert(sizeof(T) <= 8, "shuffles of 8 bytes at most");
	uint64_t u = 0;
	memcpy(&u, &v, sizeof v);
	u = lfm_emu_warp_exchange(u, src);
	T r;
	memcpy(&r, &u, sizeof r);
	return r;
}
template <class T> static inline T __shfl_sync(unsigned mask, T v, int src, int width = 32)
{
	(void)mask;
	int lane = lfm_emu_lane();
	return lfm_emu_shfl(v, (lane & ~(width - 1)) + (src & (width - 1)));
}
template <class T> static inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32)
{
	(void)mask;
	int lane = lfm_emu_lane(), src = lane ^ lane_mask;
	return lfm_emu_shfl(v, (src & ~(width - 1)) == (lane & ~(width - 1)) ? src : lane);
}
template <class T> static inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32)
{
	(void)mask;
	int lane = lfm_emu_lane(), src = lane + (int)delta;
	return lfm_emu_shfl(v, (src & ~(width - 1)) == (lane & ~(width - 1)) ? src : lane);
}
template <class T> static inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32)
{
	(void)mask;
	int lane = lfm_emu_lane(), src = lane - (int)delta;
	return lfm_emu_shfl(v, src >= (lane & ~(width - 1)) ? src : lane);
}

// One fiber runs at a time: an atomic is a plain read-modify-write.
template <class T> static inline T atomicAdd(T *p, T v)
{
	T old = *p;
	*p = old + v;
	return old;
}
template <class T> static inline T atomicMax(T *p, T v)
{
	T old = *p;
	*p = old > v ? old : v;
	return old;
}
template <class T> static inline T atomicExch(T *p, T v)
{
	T old = *p;
	*p = v;
	return old;
}

static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
// __expf and __logf: glibc declares them (its own exp and log), which serve.
static inline float __fdividef(float a, float b) { return a / b; }
static inline float __saturatef(float x) { return x < 0 ? 0 : x > 1 ? 1 : x; }
// The IEEE round-to-nearest operations nvcc never contracts into an FMA: what a kernel uses where its
// result must equal the CPU reference bit for bit (g++ does not contract either, so they are plain here).
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline double __dadd_rn(double a, double b) { return a + b; }
template <class T> static inline T min(T a, T b) { return a < b ? a : b; }
template <class T> static inline T max(T a, T b) { return a > b ? a : b; }

// LFM_LAUNCH's emulated half: the arguments converted to the kernel's parameter types once, as a launch
// copies them, then every block run — now, or at each replay of the graph being captured on the stream.
template <class... P, class... A>
static inline void lfm_emu_launch(const char *name, const char *file, int line, void (*kernel)(P...), dim3 grid,
				  dim3 block, size_t shared, cudaStream_t stream, A... args)
{
	auto params = std::make_shared<std::tuple<P...>>(static_cast<P>(args)...);
	lfm_emu_stream_op(stream, [=]() {
		lfm_emu_run(name, file, line, grid, block, shared, [&]() { std::apply(kernel, *params); });
	});
}

#endif
