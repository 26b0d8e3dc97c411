/* cuda_test.h — what the kernel and runner tests of tests/cuda/ share. Each test source is built twice:
 *
 *   BUILD/emu/tests/cuda_X   against the host emulation (tests/cuda-host/), -DLFM_CUDA_EMULATION: make check
 *   BUILD/tests/cuda_X       against the real CUDA library, on a GPU: make check-cuda
 *
 * so the same comparisons with the CPU reference run on every commit and on the device. Under emulation
 * each kernel test runs once per thread order (forward, reverse, shuffled: a missing barrier shows as a
 * difference); on a GPU once. Inputs are random (never zeros) and outputs are poisoned with NaN before a
 * kernel writes them, so an element it forgets fails the comparison. */
#ifndef LFM_CUDA_TEST_H
#define LFM_CUDA_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "cuda_context.h"
#include "cuda_memory.h"

#ifdef LFM_CUDA_EMULATION
/* tests/cuda-host: the order in which a block's threads are first run and resumed after each barrier */
void lfm_emu_set_thread_order(int order, unsigned seed); /* 0 forward, 1 reverse, 2 shuffled */
#define CUDA_TEST_ORDERS 3
static inline void cuda_test_set_order(int o) { lfm_emu_set_thread_order(o, 0x5eedu + (unsigned)o * 7919u); }
#else
#define CUDA_TEST_ORDERS 1
static inline void cuda_test_set_order(int o) { (void)o; }
#endif
static inline const char *cuda_test_order_name(int o)
{
	return CUDA_TEST_ORDERS == 1 ? "device" : o == 0 ? "forward" : o == 1 ? "reverse" : "shuffled";
}

/* The context every test uses (device 0); exits 0 with a skip line when there is no device. */
static inline lfm_cuda_context *cuda_test_context(const char *program)
{
	static lfm_cuda_context *ctx;
	if (ctx)
		return ctx;
	if (lfm_cuda_device_count() == 0) {
		t_skip(program, "no CUDA device");
		exit(0);
	}
	char err[512];
	ctx = lfm_cuda_open(0, err, sizeof err);
	if (!ctx) {
		printf("not ok - %s: lfm_cuda_open: %s\n", program, err);
		exit(1);
	}
	return ctx;
}

/* n floats uniform in [-scale, scale), none exactly 0, from a seed (xorshift: the same on every machine). */
static inline float *cuda_test_random(size_t n, uint64_t seed, float scale)
{
	float *p = malloc((n ? n : 1) * sizeof *p);
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		double u = (double)(x >> 11) / 9007199254740992.0; /* [0, 1) */
		float v = (float)((2.0 * u - 1.0) * scale);
		p[i] = v == 0.0f ? scale * 0.5f : v;
	}
	return p;
}

/* A device copy of host[n]. */
static inline float *cuda_test_upload(lfm_cuda_context *ctx, const float *host, size_t n)
{
	float *d = lfm_dev_alloc_floats(ctx, n ? n : 1, "test input");
	if (n)
		lfm_dev_upload(ctx, d, host, n * sizeof *host);
	return d;
}

/* n device floats, every one NaN. */
static inline float *cuda_test_poisoned(lfm_cuda_context *ctx, size_t n)
{
	float *h = malloc((n ? n : 1) * sizeof *h);
	for (size_t i = 0; i < n; i++)
		h[i] = NAN;
	float *d = cuda_test_upload(ctx, h, n);
	free(h);
	return d;
}

/* A host copy (malloc'd) of device[n]. */
static inline float *cuda_test_download(lfm_cuda_context *ctx, const float *dev, size_t n)
{
	float *h = malloc((n ? n : 1) * sizeof *h);
	if (n)
		lfm_dev_download(ctx, h, dev, n * sizeof *h);
	return h;
}

/* max |got - want| / max(max |want|, tiny): INFINITY when got has a NaN or an infinity where want has not. */
static inline double cuda_test_rel_err(const float *got, const float *want, size_t n)
{
	double worst = 0, scale = 1e-30;
	for (size_t i = 0; i < n; i++)
		if (fabs((double)want[i]) > scale)
			scale = fabs((double)want[i]);
	for (size_t i = 0; i < n; i++) {
		if (isfinite(want[i]) && !isfinite(got[i]))
			return INFINITY;
		double d = fabs((double)got[i] - (double)want[i]);
		if (d > worst)
			worst = d;
	}
	return worst / scale;
}

/* The tests' shorthands over one context: a fresh random device array with its host copy in *host (seeds
 * counting up from *seed), and the relative error of a device array against a host reference. */
static inline float *cuda_test_random_pair(lfm_cuda_context *ctx, uint64_t *seed, size_t n, float scale, float **host)
{
	*host = cuda_test_random(n, (*seed)++, scale);
	return cuda_test_upload(ctx, *host, n);
}

static inline double cuda_test_err_of(lfm_cuda_context *ctx, const float *dev, const float *want, size_t n)
{
	float *got = cuda_test_download(ctx, dev, n);
	double e = cuda_test_rel_err(got, want, n);
	free(got);
	return e;
}

#endif
