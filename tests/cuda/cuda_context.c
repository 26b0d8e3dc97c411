/* cuda_context.c — the CUDA context opens, describes its device and synchronises; skipped without a GPU.
 * Run by `make check-cuda` on a GPU machine. */
#include <stdio.h>
#include <string.h>

#include "base/errors.h"
#include "../test.h"
#include "cuda_context.h"

static void test_open_describe_sync(void)
{
	char err[512];
	lfm_cuda_context *ctx = lfm_cuda_open(0, err, sizeof err);
	T_ASSERTF(ctx != NULL, "%s", err);
	const char *d = lfm_cuda_describe(ctx);
	T_ASSERTF(strstr(d, "sm_") != NULL, "description '%s'", d);
	T_ASSERTF(lfm_cuda_sync(ctx, err, sizeof err) == 0, "%s", err);
	printf("# device: %s\n", d);
	lfm_cuda_close(ctx);
}

static void test_bad_device_is_an_error(void)
{
	char err[512] = "";
	lfm_cuda_context *ctx = lfm_cuda_open(1000, err, sizeof err);
	T_ASSERT(ctx == NULL);
	T_ASSERTF(strstr(err, "cudaSetDevice") != NULL, "err '%s'", err);
}

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	if (lfm_cuda_device_count() == 0) {
		t_skip("cuda_context", "no CUDA device");
		return 0;
	}
	T_RUN(test_open_describe_sync);
	T_RUN(test_bad_device_is_an_error);
	return t_summary();
}
