/* host_device.h — LFM_HD marks a static inline function that both the CPU code and the CUDA kernels use
 * (the row arithmetic of cpu/row_ops.h and train/loss_rows.h): __host__ __device__ under nvcc, nothing
 * elsewhere (the host emulation of tests/cuda-host compiles kernels as plain functions). */
#ifndef LFM_HOST_DEVICE_H
#define LFM_HOST_DEVICE_H

#ifdef __CUDACC__
#define LFM_HD __host__ __device__
#else
#define LFM_HD
#endif

#endif
