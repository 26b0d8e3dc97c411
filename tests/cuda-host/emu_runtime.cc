// emu_runtime.cc — the CUDA runtime API of the host emulation (include/cuda_runtime.h): one device, "host
// emulation (tests/cuda-host)", whose memory is host memory; cudaMalloc fills what it grants with 0xff
// bytes (NaN as floats) so a read of an unwritten element shows; streams and events run synchronously
// (every call completes before it returns); graph capture records the stream's operations (kernels,
// cuBLASLt products, asynchronous copies and memsets: lfm_emu_stream_op) and a graph launch runs them
// again in order, while what a real capture forbids (allocation, synchronous copies, synchronising)
// fails with cudaErrorStreamCaptureUnsupported and spoils the capture, as on a GPU. Test knobs: LFM_EMU_DEVICES=0 (no device),
// LFM_EMU_MEMORY=BYTES (the device's memory, default 16 GiB).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <functional>
#include <map>
#include <vector>

#include "cuda_host_runtime.h"

#include "cuda_runtime.h"

namespace {
cudaError_t last_error = cudaSuccess;
std::map<void *, size_t> allocations;
size_t allocated = 0;

size_t memory_limit()
{
	const char *e = getenv("LFM_EMU_MEMORY");
	return e ? (size_t)strtoull(e, nullptr, 10) : (size_t)16 << 30;
}
int device_count() { const char *e = getenv("LFM_EMU_DEVICES"); return e ? atoi(e) : 1; }
cudaError_t fail(cudaError_t e)
{
	last_error = e;
	return e;
}
struct CUevent_st_impl {
	double t;
};
double now_ms()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}
int streams_made = 0;

// The capture in progress (one at a time: the backend captures on one stream).
struct capture_state {
	cudaStream_t stream = nullptr;
	std::vector<std::function<void()>> ops;
	bool spoiled = false;
} capture;

// An operation a capture forbids: fails and spoils the capture (cudaStreamEndCapture then fails too).
bool refused_in_capture(const char *what)
{
	if (!capture.stream)
		return false;
	fprintf(stderr, "cuda-host: %s during a stream capture\n", what);
	capture.spoiled = true;
	last_error = cudaErrorStreamCaptureUnsupported;
	return true;
}
} // namespace

void lfm_emu_stream_op(cudaStream_t s, std::function<void()> op)
{
	if (capture.stream && s == capture.stream)
		capture.ops.push_back(std::move(op));
	else
		op();
}
int lfm_emu_capturing() { return capture.stream != nullptr; }

struct CUstream_st {
	int id;
};
struct CUevent_st {
	double t;
};
struct CUgraph_st {
	std::vector<std::function<void()>> ops;
};
struct CUgraphExec_st {
	std::vector<std::function<void()>> ops;
};

extern "C" {

void lfm_emu_set_error(cudaError_t e) { last_error = e; }

const char *cudaGetErrorString(cudaError_t e)
{
	switch (e) {
	case cudaSuccess: return "no error";
	case cudaErrorInvalidValue: return "invalid argument";
	case cudaErrorMemoryAllocation: return "out of memory";
	case cudaErrorInvalidConfiguration: return "invalid configuration argument";
	case cudaErrorInvalidDevicePointer: return "invalid device pointer";
	case cudaErrorInvalidDevice: return "invalid device ordinal";
	case cudaErrorNoDevice: return "no CUDA-capable device is detected";
	case cudaErrorLaunchFailure: return "unspecified launch failure";
	case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
	case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
	case cudaErrorIllegalState: return "the operation cannot be performed in the present state";
	}
	return "unknown error";
}
cudaError_t cudaGetLastError(void)
{
	cudaError_t e = last_error;
	last_error = cudaSuccess;
	return e;
}
cudaError_t cudaPeekAtLastError(void) { return last_error; }
cudaError_t cudaGetDeviceCount(int *n)
{
	*n = device_count();
	if (*n <= 0) {
		*n = 0;
		return fail(cudaErrorNoDevice);
	}
	return cudaSuccess;
}
cudaError_t cudaSetDevice(int d) { return d >= 0 && d < device_count() ? cudaSuccess : fail(cudaErrorInvalidDevice); }
cudaError_t cudaGetDevice(int *d)
{
	*d = 0;
	return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d)
{
	if (d < 0 || d >= device_count())
		return fail(cudaErrorInvalidDevice);
	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "host emulation (tests/cuda-host)");
	p->totalGlobalMem = memory_limit();
	p->major = 9, p->minor = 0;
	p->multiProcessorCount = 1;
	p->warpSize = 32;
	p->maxThreadsPerBlock = 1024;
	p->sharedMemPerBlock = 48 * 1024;
	return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize(void)
{
	return refused_in_capture("cudaDeviceSynchronize") ? cudaErrorStreamCaptureUnsupported : cudaSuccess;
}
cudaError_t cudaMalloc(void **p, size_t bytes)
{
	*p = nullptr;
	if (refused_in_capture("cudaMalloc"))
		return cudaErrorStreamCaptureUnsupported;
	if (bytes > memory_limit() - allocated)
		return fail(cudaErrorMemoryAllocation);
	void *m = malloc(bytes ? bytes : 1);
	if (!m)
		return fail(cudaErrorMemoryAllocation);
	memset(m, 0xff, bytes);
	allocations[m] = bytes;
	allocated += bytes;
	*p = m;
	return cudaSuccess;
}
cudaError_t cudaFree(void *p)
{
	if (!p)
		return cudaSuccess;
	if (refused_in_capture("cudaFree"))
		return cudaErrorStreamCaptureUnsupported;
	auto it = allocations.find(p);
	if (it == allocations.end()) {
		fprintf(stderr, "cuda-host: cudaFree of %p, which cudaMalloc did not return\n", p);
		return fail(cudaErrorInvalidDevicePointer);
	}
	allocated -= it->second;
	allocations.erase(it);
	free(p);
	return cudaSuccess;
}
cudaError_t cudaMallocHost(void **p, size_t bytes)
{
	*p = malloc(bytes ? bytes : 1);
	return *p ? cudaSuccess : fail(cudaErrorMemoryAllocation);
}
cudaError_t cudaFreeHost(void *p)
{
	free(p);
	return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total)
{
	*total = memory_limit();
	*free_bytes = *total - allocated;
	return cudaSuccess;
}
static cudaError_t copy_now(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind)
{
	if (bytes && (!dst || !src || kind > cudaMemcpyDefault))
		return fail(cudaErrorInvalidValue);
	memmove(dst, src, bytes);
	return cudaSuccess;
}
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind)
{
	if (refused_in_capture("cudaMemcpy (synchronous)"))
		return cudaErrorStreamCaptureUnsupported;
	return copy_now(dst, src, bytes, kind);
}
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s)
{
	if (bytes && (!dst || !src || kind > cudaMemcpyDefault))
		return fail(cudaErrorInvalidValue);
	lfm_emu_stream_op(s, [=]() { memmove(dst, src, bytes); });
	return cudaSuccess;
}
cudaError_t cudaMemset(void *p, int value, size_t bytes)
{
	if (refused_in_capture("cudaMemset (synchronous)"))
		return cudaErrorStreamCaptureUnsupported;
	if (bytes && !p)
		return fail(cudaErrorInvalidValue);
	memset(p, value, bytes);
	return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t s)
{
	if (bytes && !p)
		return fail(cudaErrorInvalidValue);
	lfm_emu_stream_op(s, [=]() { memset(p, value, bytes); });
	return cudaSuccess;
}
cudaError_t cudaStreamCreate(cudaStream_t *s)
{
	*s = new CUstream_st{++streams_made};
	return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags)
{
	(void)flags;
	return cudaStreamCreate(s);
}
cudaError_t cudaStreamDestroy(cudaStream_t s)
{
	delete s;
	return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s)
{
	(void)s;
	return refused_in_capture("cudaStreamSynchronize") ? cudaErrorStreamCaptureUnsupported : cudaSuccess;
}
cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned flags)
{
	(void)s, (void)e, (void)flags;
	return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t *e)
{
	*e = new CUevent_st{0};
	return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s)
{
	lfm_emu_stream_op(s, [=]() { e->t = now_ms(); });
	return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t e)
{
	(void)e;
	return refused_in_capture("cudaEventSynchronize") ? cudaErrorStreamCaptureUnsupported : cudaSuccess;
}
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end)
{
	*ms = (float)(end->t - start->t);
	return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e)
{
	delete e;
	return cudaSuccess;
}
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode)
{
	(void)mode;
	if (!s)
		return fail(cudaErrorStreamCaptureUnsupported); // the legacy stream cannot be captured
	if (capture.stream)
		return fail(cudaErrorIllegalState);
	capture = capture_state();
	capture.stream = s;
	return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g)
{
	*g = nullptr;
	if (!capture.stream || s != capture.stream)
		return fail(cudaErrorIllegalState);
	bool spoiled = capture.spoiled;
	CUgraph_st *graph = new CUgraph_st{std::move(capture.ops)};
	capture = capture_state();
	if (spoiled) {
		delete graph;
		return fail(cudaErrorStreamCaptureInvalidated);
	}
	*g = graph;
	return cudaSuccess;
}
cudaError_t cudaStreamIsCapturing(cudaStream_t s, enum cudaStreamCaptureStatus *status)
{
	*status = capture.stream && capture.stream == s ? cudaStreamCaptureStatusActive : cudaStreamCaptureStatusNone;
	return cudaSuccess;
}
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t g, unsigned long long flags)
{
	(void)flags;
	if (!g)
		return fail(cudaErrorInvalidValue);
	*exec = new CUgraphExec_st{g->ops};
	return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s)
{
	if (!exec)
		return fail(cudaErrorInvalidValue);
	if (capture.stream)
		return fail(cudaErrorStreamCaptureUnsupported); // no graphs inside graphs here
	(void)s;
	for (auto &op : exec->ops)
		op();
	return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec)
{
	delete exec;
	return cudaSuccess;
}
cudaError_t cudaGraphDestroy(cudaGraph_t g)
{
	delete g;
	return cudaSuccess;
}
// sm_90 lets a kernel opt in to 227 KB (232448 bytes) of dynamic shared memory a block
cudaError_t cudaFuncSetAttribute(const void *func, cudaFuncAttribute attr, int value)
{
	if (!func || attr != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0 || value > 232448)
		return fail(cudaErrorInvalidValue);
	return cudaSuccess;
}

} // extern "C"
