// dist_nccl.cu — see cuda_dist.h. NCCL is optional at build time (LFM_HAVE_NCCL, set by the Makefile
// when libnccl is found); without it a run on several GPUs is refused with a message.
#include "cuda_common.h"
#include "cuda_dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(LFM_HAVE_NCCL)
#include <nccl.h>

extern "C" [[noreturn]] void die(int code, const char *fmt, ...);

namespace {

double now_s()
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

ncclComm_t comm_of(lfm_cuda_context *ctx) { return (ncclComm_t)ctx->nccl_comm; }

// Wait for a non-blocking NCCL call to finish, at most timeout_s: 0, or -1 (the message in err).
int wait_nccl(ncclComm_t comm, double timeout_s, const char *what, int rank, char *err, size_t errsz)
{
	double start = now_s();
	for (;;) {
		ncclResult_t st = ncclSuccess;
		ncclResult_t rc = ncclCommGetAsyncError(comm, &st);
		if (rc != ncclSuccess || (st != ncclSuccess && st != ncclInProgress)) {
			snprintf(err, errsz, "rank %d: %s: %s", rank, what, ncclGetErrorString(rc != ncclSuccess ? rc : st));
			return -1;
		}
		if (st == ncclSuccess)
			return 0;
		if (now_s() - start > timeout_s) {
			snprintf(err, errsz, "rank %d: the other ranks did not arrive within %.0f s (%s; --dist-timeout)", rank,
				 timeout_s, what);
			return -1;
		}
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
}

void *scratch(lfm_cuda_context *ctx, size_t bytes)
{
	if (ctx->nccl_scratch_bytes < bytes) {
		if (ctx->nccl_scratch)
			CUDA_CHECK(cudaFree(ctx->nccl_scratch));
		ctx->nccl_scratch = NULL;
		CUDA_CHECK(cudaMalloc(&ctx->nccl_scratch, bytes));
		ctx->nccl_scratch_bytes = bytes;
	}
	return ctx->nccl_scratch;
}

// The host collectives lent to a dist_comm without MPI: through a device buffer, on the stream.
int host_collective(dist_comm *c, void *v, size_t n, size_t elem, ncclDataType_t type, ncclRedOp_t op, int root,
		    int bcast, char *err, size_t errsz)
{
	lfm_cuda_context *ctx = (lfm_cuda_context *)c->lender;
	void *d = scratch(ctx, n * elem > 0 ? n * elem : 1);
	CUDA_CHECK(cudaMemcpyAsync(d, v, n * elem, cudaMemcpyHostToDevice, ctx->stream));
	ncclResult_t rc = bcast ? ncclBroadcast(d, d, n, type, root, comm_of(ctx), ctx->stream)
				: ncclAllReduce(d, d, n, type, op, comm_of(ctx), ctx->stream);
	if (rc == ncclInProgress)
		rc = ncclSuccess; // non-blocking communicator: enqueued; the synchronisation below waits
	if (rc != ncclSuccess) {
		snprintf(err, errsz, "%s", ncclGetErrorString(rc));
		return -1;
	}
	CUDA_CHECK(cudaMemcpyAsync(v, d, n * elem, cudaMemcpyDeviceToHost, ctx->stream));
	CUDA_CHECK(cudaStreamSynchronize(ctx->stream));
	return 0;
}

int lent_sum_f32(dist_comm *c, float *v, size_t n, char *err, size_t errsz)
{
	return host_collective(c, v, n, sizeof *v, ncclFloat, ncclSum, 0, 0, err, errsz);
}

int lent_reduce_f64(dist_comm *c, double *v, size_t n, dist_op op, char *err, size_t errsz)
{
	return host_collective(c, v, n, sizeof *v, ncclDouble, op == DIST_MAX ? ncclMax : ncclSum, 0, 0, err, errsz);
}

int lent_broadcast(dist_comm *c, void *buf, size_t bytes, int root, char *err, size_t errsz)
{
	return host_collective(c, buf, bytes, 1, ncclChar, ncclSum, root, 1, err, errsz);
}

void lent_close(dist_comm *c)
{
	if (c->lender)
		lfm_cuda_dist_detach((lfm_cuda_context *)c->lender);
}

} // namespace

extern "C" int lfm_cuda_dist_attach(lfm_cuda_context *ctx, dist_comm *d, char *err, size_t errsz)
{
	if (!ctx || !d || d->world < 2) {
		snprintf(err, errsz, "internal error: an NCCL communicator for %d rank(s)", d ? d->world : 0);
		return -1;
	}
	ncclUniqueId id;
	memset(&id, 0, sizeof id);
	char where[320];
	const char *env = getenv("NCCL_COMM_ID");
	if (d->broadcast) {
		snprintf(where, sizeof where, "NCCL's bootstrap, its id sent through %s", d->transport);
		if (d->rank == 0 && ncclGetUniqueId(&id) != ncclSuccess) {
			snprintf(err, errsz, "rank 0: ncclGetUniqueId failed");
			return -1;
		}
		dist_broadcast(d, &id, sizeof id, 0, "NCCL's unique id");
	} else {
		if (!(env && *env)) {
			if (!d->master_addr[0] || !d->port) {
				snprintf(err, errsz, "rank %d: NCCL needs a meeting point: launch with mpirun, or set MASTER_ADDR "
						     "and MASTER_PORT (or --dist-port), or NCCL_COMM_ID",
					 d->rank);
				return -1;
			}
			char addr[300];
			snprintf(addr, sizeof addr, "%s:%d", d->master_addr, d->port);
			setenv("NCCL_COMM_ID", addr, 1); // every rank's id then names rank 0's bootstrap root there
			env = getenv("NCCL_COMM_ID");
		}
		snprintf(where, sizeof where, "NCCL's bootstrap at %s", env);
		if (ncclGetUniqueId(&id) != ncclSuccess) {
			snprintf(err, errsz, "rank %d: ncclGetUniqueId failed (NCCL_COMM_ID=%s)", d->rank, env);
			return -1;
		}
	}
	CUDA_CHECK(cudaSetDevice(ctx->device));
	ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
	config.blocking = 0; // so that a rank that never arrives is a timeout, not a hang
	ncclComm_t comm = NULL;
	ncclResult_t rc = ncclCommInitRankConfig(&comm, d->world, id, d->rank, &config);
	if (rc != ncclSuccess && rc != ncclInProgress) {
		snprintf(err, errsz, "rank %d: ncclCommInitRank: %s (%s)", d->rank, ncclGetErrorString(rc), where);
		return -1;
	}
	if (wait_nccl(comm, d->timeout_s, where, d->rank, err, errsz)) {
		ncclCommAbort(comm);
		return -1;
	}
	ctx->nccl_comm = comm;
	ctx->dist = d;
	if (!d->allreduce_f64) { // no MPI: NCCL carries the loop's few host sums too
		d->allreduce_f32 = lent_sum_f32;
		d->allreduce_f64 = lent_reduce_f64;
		d->broadcast = lent_broadcast;
		d->close_transport = lent_close;
		d->lender = ctx;
		d->transport = "nccl";
	}
	return 0;
}

extern "C" void lfm_cuda_allreduce_sum(lfm_cuda_context *ctx, float *dev, size_t n)
{
	if (!ctx->nccl_comm)
		return;
	ncclResult_t rc = ncclAllReduce(dev, dev, n, ncclFloat, ncclSum, comm_of(ctx), ctx->stream);
	if (rc != ncclSuccess && rc != ncclInProgress)
		die(3 /* LFM_EXIT_IO */, "rank %d: ncclAllReduce of the gradients: %s", ctx->dist ? ctx->dist->rank : -1,
		    ncclGetErrorString(rc));
}

extern "C" void lfm_cuda_dist_detach(lfm_cuda_context *ctx)
{
	if (!ctx || !ctx->nccl_comm)
		return;
	dist_comm *d = ctx->dist;
	if (d && d->lender == ctx) { // what was lent goes back: dist_close must not call into a freed context
		d->allreduce_f32 = NULL;
		d->allreduce_f64 = NULL;
		d->broadcast = NULL;
		d->close_transport = NULL;
		d->lender = NULL;
		d->transport = "none";
	}
	ncclCommDestroy(comm_of(ctx));
	ctx->nccl_comm = NULL;
	ctx->dist = NULL;
	if (ctx->nccl_scratch)
		cudaFree(ctx->nccl_scratch);
	ctx->nccl_scratch = NULL;
	ctx->nccl_scratch_bytes = 0;
}

#else // built without NCCL

extern "C" int lfm_cuda_dist_attach(lfm_cuda_context *ctx, dist_comm *d, char *err, size_t errsz)
{
	(void)ctx;
	snprintf(err, errsz, "rank %d: %d ranks on GPUs need NCCL, and this lfm-fit was built without it (libnccl "
			     "not found beside cuBLAS at build time)",
		 d ? d->rank : 0, d ? d->world : 0);
	return -1;
}

extern "C" void lfm_cuda_allreduce_sum(lfm_cuda_context *ctx, float *dev, size_t n)
{
	(void)ctx;
	(void)dev;
	(void)n;
}

extern "C" void lfm_cuda_dist_detach(lfm_cuda_context *ctx) { (void)ctx; }

#endif
