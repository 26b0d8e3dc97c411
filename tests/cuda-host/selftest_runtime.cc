// selftest_runtime.cc — the host emulation checks itself: a block reduction with its barriers equals the
// serial sum in every thread order, and the same reduction with one barrier removed gives a wrong answer
// in at least one order (so a missing barrier in a real kernel fails its test); warp shuffles; a 3-D grid
// covered exactly once; dynamic shared memory and cudaMalloc'd memory poisoned with NaN; a divergent
// __syncthreads reported and aborted; LFM_EMU_DEVICES and LFM_EMU_MEMORY; graph capture and replay.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "cuda_common.h"

static int failures;
static void report(const char *name, int ok, const std::string &why = "")
{
	printf("%s - %s%s%s\n", ok ? "ok" : "not ok", name, ok ? "" : ": ", ok ? "" : why.c_str());
	failures += !ok;
}

__global__ static void block_sum(const float *in, float *out, int n, int with_barrier)
{
	__shared__ float s[256];
	float v = 0;
	for (int i = threadIdx.x; i < n; i += blockDim.x)
		v += in[i];
	s[threadIdx.x] = v;
	__syncthreads();
	for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
		if (threadIdx.x < (unsigned)stride)
			s[threadIdx.x] += s[threadIdx.x + stride];
		if (with_barrier)
			__syncthreads();
	}
	if (threadIdx.x == 0)
		out[blockIdx.x] = s[0];
}

__global__ static void warp_sums(const float *in, float *xor_out, float *down_out)
{
	float v = in[threadIdx.x], w = v;
	for (int o = 16; o > 0; o /= 2) {
		v += __shfl_xor_sync(0xffffffffu, v, o);
		w += __shfl_down_sync(0xffffffffu, w, o);
	}
	xor_out[threadIdx.x] = v;
	if (threadIdx.x % 32 == 0)
		down_out[threadIdx.x / 32] = w;
}

__global__ static void mark_grid(int *hits, int nx, int ny)
{
	int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y, z = blockIdx.z;
	hits[(z * ny + y) * nx + x] += 1;
}

__global__ static void read_dynamic(float *out)
{
	LFM_DYNAMIC_SHARED(float, d);
	out[threadIdx.x] = d[threadIdx.x];
}

__global__ static void divergent(float *out)
{
	if (threadIdx.x == 3)
		return;
	__syncthreads();
	out[threadIdx.x] = 1;
}

int main()
{
	const int n = 1000, T = 256;
	float *in, *out;
	cudaMalloc((void **)&in, n * sizeof(float));
	cudaMalloc((void **)&out, 64 * sizeof(float));
	report("cudaMalloc memory is NaN", isnan(in[0]) && isnan(in[n - 1]));
	double want = 0;
	for (int i = 0; i < n; i++)
		in[i] = (float)(i % 17) * 0.25f + 1, want += in[i];
	int missing_caught = 0;
	for (int order = 0; order < 3; order++) {
		lfm_emu_set_thread_order(order, 99);
		LFM_LAUNCH(block_sum, 1, T, 0, 0, in, out, n, 1);
		char name[96];
		snprintf(name, sizeof name, "block reduction with barriers, order %d", order);
		report(name, out[0] == (float)want, std::to_string(out[0]) + " != " + std::to_string(want));
		LFM_LAUNCH(block_sum, 1, T, 0, 0, in, out, n, 0);
		missing_caught += out[0] != (float)want;
	}
	report("a missing barrier changes the result in some order", missing_caught > 0);
	float *x, *d;
	cudaMalloc((void **)&x, 64 * sizeof(float));
	cudaMalloc((void **)&d, 2 * sizeof(float));
	for (int i = 0; i < 64; i++)
		in[i] = (float)i;
	for (int order = 0; order < 3; order++) {
		lfm_emu_set_thread_order(order, 7);
		LFM_LAUNCH(warp_sums, 1, 64, 0, 0, in, x, d);
		int ok = d[0] == 496 && d[1] == 1520;
		for (int i = 0; i < 64; i++)
			ok &= x[i] == (i < 32 ? 496 : 1520);
		report(order == 0 ? "warp shuffles xor/down, forward" : order == 1 ? "warp shuffles, reverse" : "warp shuffles, shuffled", ok);
	}
	int *hits;
	cudaMalloc((void **)&hits, 12 * 10 * 3 * sizeof(int));
	cudaMemset(hits, 0, 12 * 10 * 3 * sizeof(int));
	LFM_LAUNCH(mark_grid, dim3(3, 5, 3), dim3(4, 2), 0, 0, hits, 12, 10);
	int once = 1;
	for (int i = 0; i < 360; i++)
		once &= hits[i] == 1;
	report("a 3-D grid covers every thread once", once);
	LFM_LAUNCH(read_dynamic, 1, 32, 32 * sizeof(float), 0, out);
	report("dynamic shared memory starts as NaN", isnan(out[0]) && isnan(out[31]));
	cudaGetLastError();
	{
		int st = 0;
		fflush(stdout);
		pid_t p = fork();
		if (p == 0) {
			freopen("/dev/null", "w", stderr);
			LFM_LAUNCH(divergent, 1, 8, 0, 0, out);
			_exit(0);
		}
		waitpid(p, &st, 0);
		report("a divergent __syncthreads aborts", WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	}
	{
		// an impossible configuration is an error from cudaGetLastError, not a crash
		lfm_emu_run("x", __FILE__, __LINE__, dim3(1), dim3(2048), 0, [] {});
		report("a block of 2048 threads is an invalid configuration", cudaGetLastError() == cudaErrorInvalidConfiguration);
	}
	setenv("LFM_EMU_DEVICES", "0", 1);
	int count = 5;
	report("LFM_EMU_DEVICES=0: no device", cudaGetDeviceCount(&count) == cudaErrorNoDevice && count == 0);
	unsetenv("LFM_EMU_DEVICES");
	cudaGetLastError();
	setenv("LFM_EMU_MEMORY", "1000000", 1);
	void *big;
	report("LFM_EMU_MEMORY caps cudaMalloc", cudaMalloc(&big, 2000000) == cudaErrorMemoryAllocation);
	unsetenv("LFM_EMU_MEMORY");
	cudaGetLastError();
	cudaEvent_t a, b;
	report("events record and time",
	       cudaEventCreate(&a) == 0 && cudaEventCreate(&b) == 0 && cudaEventRecord(a, 0) == 0 &&
		       cudaEventRecord(b, 0) == 0);
	{
		// A graph: what is captured does not run at capture; each launch runs it again, with the
		// arguments as they were captured and the memory as it is at the launch.
		cudaStream_t st;
		cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking);
		float *dev, host_src[4] = {1, 2, 3, 4};
		cudaMalloc((void **)&dev, 4 * sizeof(float));
		for (int k = 0; k < 4; k++)
			dev[k] = 0;
		cudaGraph_t g;
		cudaGraphExec_t ge;
		int began = cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal) == cudaSuccess;
		cudaMemcpyAsync(dev, host_src, 4 * sizeof(float), cudaMemcpyHostToDevice, st);
		LFM_LAUNCH(block_sum, 1, 4, 0, st, dev, dev + 3, 3, 1); // dev[3] = dev[0] + dev[1] + dev[2]
		int nothing_ran = dev[0] == 0 && dev[3] == 0;
		int ended = cudaStreamEndCapture(st, &g) == cudaSuccess && cudaGraphInstantiate(&ge, g, 0) == cudaSuccess;
		host_src[0] = 10; // read at the launch, not at the capture
		int launched = cudaGraphLaunch(ge, st) == cudaSuccess;
		report("a captured graph runs at each launch, not at capture",
		       began && nothing_ran && ended && launched && dev[0] == 10 && dev[3] == 15,
		       "dev[0] " + std::to_string(dev[0]) + ", dev[3] " + std::to_string(dev[3]));
		host_src[1] = 20;
		cudaGraphLaunch(ge, st);
		report("a second launch runs it again", dev[1] == 20 && dev[3] == 33);
		cudaGraphExecDestroy(ge);
		cudaGraphDestroy(g);
		// what a capture forbids fails, and the capture is spoiled
		cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal);
		void *p = nullptr;
		int refused = cudaMalloc(&p, 16) == cudaErrorStreamCaptureUnsupported;
		int sync_refused = cudaMemcpy(dev, host_src, 4, cudaMemcpyHostToDevice) == cudaErrorStreamCaptureUnsupported;
		cudaGraph_t bad = nullptr;
		int spoiled = cudaStreamEndCapture(st, &bad) == cudaErrorStreamCaptureInvalidated && !bad;
		cudaGetLastError();
		report("cudaMalloc and synchronous copies during a capture fail and spoil it", refused && sync_refused && spoiled);
		cudaFree(dev);
		cudaStreamDestroy(st);
	}
	return failures ? 1 : 0;
}
