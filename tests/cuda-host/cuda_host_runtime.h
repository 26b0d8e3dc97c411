// cuda_host_runtime.h — what the emulated launches and cuBLASLt products share with the emulated runtime
// (emu_runtime.cc): work in stream order. Every stream operation goes through lfm_emu_stream_op, which runs
// it at once, or — while a graph is being captured on that stream — records it for each cudaGraphLaunch
// to run again. So a value a kernel takes by argument is frozen at capture, as on a GPU, and a graph that
// should read a per-step value from device memory but took it by argument replays a stale one here too.
#ifndef LFM_EMU_CUDA_HOST_RUNTIME_H
#define LFM_EMU_CUDA_HOST_RUNTIME_H

#include <functional>

#include "cuda_runtime.h"

void lfm_emu_stream_op(cudaStream_t s, std::function<void()> op);
// 1 while a capture is open on any stream (the operations that would break it fail then)
int lfm_emu_capturing();

#endif
