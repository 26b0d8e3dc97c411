/* device_select.c — --device: which device a tool runs on (see cuda_context.h). Plain C over the context's
 * functions, so the same code serves the GPU build, the host emulation and the build without CUDA. */
#include "cuda_context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

lfm_cuda_context *lfm_device_open(const char *spec)
{
	int want = -1; /* -1: choose */
	if (spec) {
		if (!strcmp(spec, "cpu")) {
			fprintf(stderr, "%s: device: cpu\n", lfm_progname());
			return NULL;
		}
		if (!strcmp(spec, "cuda"))
			want = 0;
		else if (!strncmp(spec, "cuda:", 5) && spec[5] >= '0' && spec[5] <= '9') {
			char *end;
			long d = strtol(spec + 5, &end, 10);
			if (*end || d > 1024)
				die(LFM_EXIT_USAGE, "--device '%s': expected cpu, cuda or cuda:N", spec);
			want = (int)d;
		} else
			die(LFM_EXIT_USAGE, "--device '%s': expected cpu, cuda or cuda:N", spec);
	}
	int n = lfm_cuda_device_count();
	if (want < 0) {
		if (n == 0) {
			fprintf(stderr, "%s: device: cpu (no CUDA device: %s)\n", lfm_progname(),
				lfm_cuda_unavailable_reason());
			return NULL;
		}
		want = 0;
	} else if (n == 0)
		die(LFM_EXIT_IO, "--device %s: no CUDA device: %s", spec, lfm_cuda_unavailable_reason());
	else if (want >= n)
		die(LFM_EXIT_IO, "--device %s: there %s only %d CUDA device%s (cuda:0%s)", spec, n == 1 ? "is" : "are",
		    n, n == 1 ? "" : "s", n == 1 ? "" : " and up");
	char err[1024];
	lfm_cuda_context *ctx = lfm_cuda_open(want, err, sizeof err);
	if (!ctx)
		die(LFM_EXIT_IO, "--device cuda:%d: %s", want, err);
	fprintf(stderr, "%s: device: cuda:%d (%s)\n", lfm_progname(), want, lfm_cuda_describe(ctx));
	return ctx;
}

lfm_cuda_context *lfm_device_open_rank(const char *spec, int local_rank, int world)
{
	if (world <= 1 || (spec && strcmp(spec, "cuda") != 0))
		return lfm_device_open(spec); /* one process, "cpu", or "cuda:N" as given */
	int n = lfm_cuda_device_count();
	if (n == 0) {
		if (spec)
			die(LFM_EXIT_IO, "--device cuda: no CUDA device: %s", lfm_cuda_unavailable_reason());
		return lfm_device_open(NULL); /* the CPU, named on stderr */
	}
	int want = n == 1 ? 0 : local_rank;
	if (want >= n)
		die(LFM_EXIT_IO, "--device cuda: local rank %d, but this process sees %d CUDA device%s: one rank a GPU "
				 "(fewer ranks a node, or --device cuda:N)",
		    local_rank, n, n == 1 ? "" : "s");
	char spec_n[32];
	snprintf(spec_n, sizeof spec_n, "cuda:%d", want);
	return lfm_device_open(spec_n);
}
