/* cuda_none.c — the CUDA library's functions in a build without nvcc: no device is ever found, so
 * --device cuda says why and the tools run on the CPU; nothing here computes. */
#include <stdio.h>

#include "base/errors.h"
#include "cuda_context.h"
#include "cuda_dist.h"
#include "cuda_fit.h"
#include "cuda_text.h"

int lfm_cuda_device_count(void) { return 0; }
const char *lfm_cuda_unavailable_reason(void)
{
	return "this lfm-tools was built without CUDA (nvcc was not found; rebuild where the CUDA toolkit is)";
}
lfm_cuda_context *lfm_cuda_open(int device, char *err, size_t errsz)
{
	snprintf(err, errsz, "cuda:%d: %s", device, lfm_cuda_unavailable_reason());
	return NULL;
}
void lfm_cuda_close(lfm_cuda_context *ctx) { (void)ctx; }
const char *lfm_cuda_describe(const lfm_cuda_context *ctx) { (void)ctx; return "none"; }
int lfm_cuda_sync(lfm_cuda_context *ctx, char *err, size_t errsz) { (void)ctx, (void)err, (void)errsz; return 0; }
size_t lfm_cuda_bytes_allocated(const lfm_cuda_context *ctx) { (void)ctx; return 0; }
size_t lfm_cuda_peak_bytes(const lfm_cuda_context *ctx) { (void)ctx; return 0; }

static void *no_create(fit_state *s, char *err, size_t errsz)
{
	(void)s;
	snprintf(err, errsz, "%s", lfm_cuda_unavailable_reason());
	return NULL;
}
const fit_device_ops lfm_cuda_fit_ops = {.name = "cuda (not built)", .create = no_create};

int lfm_cuda_encode_text(lfm_cuda_context *ctx, lfm_precision prec, const clip_text_weights *t,
			 const int32_t *tokens, size_t n, int stride, float *out, char *err, size_t errsz)
{
	(void)ctx, (void)prec, (void)t, (void)tokens, (void)n, (void)stride, (void)out;
	snprintf(err, errsz, "%s", lfm_cuda_unavailable_reason());
	return -1;
}

int lfm_cuda_dist_attach(lfm_cuda_context *ctx, dist_comm *d, char *err, size_t errsz)
{
	(void)ctx;
	snprintf(err, errsz, "rank %d: built without CUDA", d ? d->rank : 0);
	return -1;
}
