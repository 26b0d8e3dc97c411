// nccl_host.cc — NCCL on the host (include/nccl.h): a communicator is a duplicate of MPI_COMM_WORLD (one
// rank per process, under mpirun), and a collective is a stream operation (lfm_emu_stream_op, as the
// kernels and cuBLASLt products): it runs in stream order, is recorded by a graph capture with the
// arguments it was given and runs again at each cudaGraphLaunch, and when it runs it calls MPI_Allreduce
// (MPI_IN_PLACE when sendbuff == recvbuff) or MPI_Bcast on the buffers, which are host memory here.
// Without MPI (built without it, or a process not started by mpirun, so MPI_Init never ran) a world of
// one works: the collectives copy sendbuff to recvbuff. What a real NCCL checks and this one checks too:
// nranks and rank must be the launch's (else ncclInvalidArgument), every rank must pass rank 0's unique
// id, the data type, operation and root must be valid. A failure while a collective runs (MPI returned
// an error) is reported by ncclCommGetAsyncError, as NCCL reports a peer that died. A non-blocking
// communicator (config->blocking == 0) answers ncclInProgress from its init and from the first
// ncclCommGetAsyncError, then ncclSuccess, so the caller's polling is exercised.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cuda_host_runtime.h"
#include "nccl.h"

#ifdef LFM_HAVE_MPI
#define OMPI_SKIP_MPICXX 1 // the C API only (its C++ bindings warn)
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

static const char id_magic[16] = "lfm-emu-nccl-id";

struct ncclComm {
	int rank, nranks;
	int blocking;
	int polls_in_progress; // ncclInProgress answers left (a non-blocking init)
	ncclResult_t async_error;
#ifdef LFM_HAVE_MPI
	MPI_Comm mpi;
	bool has_mpi;
#endif
};

static ncclResult_t warn(ncclResult_t r, const char *fn, const char *why)
{
	fprintf(stderr, "cuda-host: %s: %s\n", fn, why);
	return r;
}

static size_t type_size(ncclDataType_t t)
{
	switch (t) {
	case ncclInt8: case ncclUint8: case ncclFloat8e4m3: case ncclFloat8e5m2: return 1;
	case ncclFloat16: case ncclBfloat16: return 2;
	case ncclInt32: case ncclUint32: case ncclFloat32: return 4;
	case ncclInt64: case ncclUint64: case ncclFloat64: return 8;
	default: return 0;
	}
}

#ifdef LFM_HAVE_MPI
static bool mpi_running()
{
	int init = 0, fin = 0;
	MPI_Initialized(&init);
	MPI_Finalized(&fin);
	return init && !fin;
}
// the MPI type of an NCCL one (the 16- and 8-bit floats have none: refused)
static bool mpi_type(ncclDataType_t t, MPI_Datatype *m)
{
	switch (t) {
	case ncclInt8: *m = MPI_SIGNED_CHAR; return true;
	case ncclUint8: *m = MPI_UNSIGNED_CHAR; return true;
	case ncclInt32: *m = MPI_INT32_T; return true;
	case ncclUint32: *m = MPI_UINT32_T; return true;
	case ncclInt64: *m = MPI_INT64_T; return true;
	case ncclUint64: *m = MPI_UINT64_T; return true;
	case ncclFloat32: *m = MPI_FLOAT; return true;
	case ncclFloat64: *m = MPI_DOUBLE; return true;
	default: return false;
	}
}
#endif

#ifdef LFM_HAVE_MPI
// a collective that failed while running: the communicator's asynchronous error from then on
static void fail_async(ncclComm_t comm, const char *fn, int mpi_rc)
{
	char msg[MPI_MAX_ERROR_STRING] = "";
	int len = 0;
	MPI_Error_string(mpi_rc, msg, &len);
	fprintf(stderr, "cuda-host: %s (rank %d of %d): MPI failed: %s\n", fn, comm->rank, comm->nranks, msg);
	if (comm->async_error == ncclSuccess)
		comm->async_error = ncclRemoteError;
}

// ncclAvg of floating-point data: the sum divided by the ranks, as NCCL does
static void divide(void *buf, size_t count, ncclDataType_t t, int n)
{
	if (t == ncclFloat32)
		for (size_t i = 0; i < count; i++)
			((float *)buf)[i] /= (float)n;
	else if (t == ncclFloat64)
		for (size_t i = 0; i < count; i++)
			((double *)buf)[i] /= (double)n;
}
#endif

extern "C" {

const char *ncclGetErrorString(ncclResult_t r)
{
	switch (r) {
	case ncclSuccess: return "no error";
	case ncclUnhandledCudaError: return "unhandled cuda error";
	case ncclSystemError: return "unhandled system error";
	case ncclInternalError: return "internal error";
	case ncclInvalidArgument: return "invalid argument";
	case ncclInvalidUsage: return "invalid usage";
	case ncclRemoteError: return "remote process exited or there was a network error";
	case ncclInProgress: return "NCCL operation in progress";
	default: return "unknown result code";
	}
}

ncclResult_t ncclGetVersion(int *version)
{
	if (!version)
		return warn(ncclInvalidArgument, "ncclGetVersion", "version is NULL");
	*version = NCCL_VERSION_CODE;
	return ncclSuccess;
}

ncclResult_t ncclGetUniqueId(ncclUniqueId *id)
{
	if (!id)
		return warn(ncclInvalidArgument, "ncclGetUniqueId", "uniqueId is NULL");
	memset(id->internal, 0, sizeof id->internal);
	memcpy(id->internal, id_magic, sizeof id_magic);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t v[3] = {(uint64_t)ts.tv_sec, (uint64_t)ts.tv_nsec, (uint64_t)getpid()};
	memcpy(id->internal + sizeof id_magic, v, sizeof v);
	return ncclSuccess;
}

ncclResult_t ncclCommInitRankConfig(ncclComm_t *out, int nranks, ncclUniqueId id, int rank, ncclConfig_t *config)
{
	static const char *fn = "ncclCommInitRankConfig";
	if (!out)
		return warn(ncclInvalidArgument, fn, "comm is NULL");
	*out = nullptr;
	if (nranks < 1 || rank < 0 || rank >= nranks)
		return warn(ncclInvalidArgument, fn, "rank outside [0, nranks)");
	if (memcmp(id.internal, id_magic, sizeof id_magic) != 0)
		return warn(ncclInvalidArgument, fn, "the unique id was not made by ncclGetUniqueId");
	if (config && (config->size != sizeof(ncclConfig_t) || config->magic != 0xcafebeef))
		return warn(ncclInvalidArgument, fn, "config was not initialised with NCCL_CONFIG_INITIALIZER");
	int blocking = !config || config->blocking == NCCL_CONFIG_UNDEF_INT || config->blocking != 0;

	ncclComm *c = new ncclComm();
	c->rank = rank;
	c->nranks = nranks;
	c->blocking = blocking;
	c->async_error = ncclSuccess;
#ifdef LFM_HAVE_MPI
	c->has_mpi = false;
	if (mpi_running()) {
		int wrank = 0, wsize = 1;
		MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
		MPI_Comm_size(MPI_COMM_WORLD, &wsize);
		if (wsize != nranks || wrank != rank) {
			char why[160];
			snprintf(why, sizeof why, "rank %d of %d asked, but this process is rank %d of MPI's %d", rank, nranks,
				 wrank, wsize);
			delete c;
			return warn(ncclInvalidArgument, fn, why);
		}
		if (MPI_Comm_dup(MPI_COMM_WORLD, &c->mpi) != MPI_SUCCESS) {
			delete c;
			return warn(ncclSystemError, fn, "MPI_Comm_dup failed");
		}
		MPI_Comm_set_errhandler(c->mpi, MPI_ERRORS_RETURN);
		c->has_mpi = true;
		// every rank must have been given rank 0's id (a real NCCL would hang or fail to connect)
		char root_id[NCCL_UNIQUE_ID_BYTES];
		memcpy(root_id, id.internal, sizeof root_id);
		int differs = 0, any = 0;
		if (MPI_Bcast(root_id, (int)sizeof root_id, MPI_CHAR, 0, c->mpi) != MPI_SUCCESS)
			differs = 1;
		else
			differs = memcmp(root_id, id.internal, sizeof root_id) != 0;
		if (MPI_Allreduce(&differs, &any, 1, MPI_INT, MPI_MAX, c->mpi) != MPI_SUCCESS || any) {
			MPI_Comm_free(&c->mpi);
			delete c;
			return warn(ncclInvalidArgument, fn, "the ranks were given different unique ids (broadcast rank 0's)");
		}
	} else
#endif
	if (nranks != 1) {
		delete c;
		return warn(ncclInvalidArgument, fn,
#ifdef LFM_HAVE_MPI
			    "several ranks need MPI (start the processes with mpirun)"
#else
			    "several ranks need MPI, and this emulation was built without it"
#endif
		);
	}
	*out = c;
	if (!blocking) {
		c->polls_in_progress = 1;
		return ncclInProgress;
	}
	return ncclSuccess;
}

ncclResult_t ncclCommInitRank(ncclComm_t *comm, int nranks, ncclUniqueId id, int rank)
{
	return ncclCommInitRankConfig(comm, nranks, id, rank, nullptr);
}

ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t *err)
{
	if (!comm || !err)
		return warn(ncclInvalidArgument, "ncclCommGetAsyncError", "comm or asyncError is NULL");
	if (comm->polls_in_progress > 0) {
		comm->polls_in_progress--;
		*err = ncclInProgress;
	} else
		*err = comm->async_error;
	return ncclSuccess;
}

ncclResult_t ncclCommCount(const ncclComm_t comm, int *count)
{
	if (!comm || !count)
		return warn(ncclInvalidArgument, "ncclCommCount", "comm or count is NULL");
	*count = comm->nranks;
	return ncclSuccess;
}

ncclResult_t ncclCommUserRank(const ncclComm_t comm, int *rank)
{
	if (!comm || !rank)
		return warn(ncclInvalidArgument, "ncclCommUserRank", "comm or rank is NULL");
	*rank = comm->rank;
	return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm)
{
	if (!comm)
		return ncclSuccess;
#ifdef LFM_HAVE_MPI
	if (comm->has_mpi && mpi_running())
		MPI_Comm_free(&comm->mpi);
#endif
	delete comm;
	return ncclSuccess;
}

// Abort: no MPI call (the other ranks may be gone or stuck); the duplicate communicator is left to
// MPI_Finalize or the process's end.
ncclResult_t ncclCommAbort(ncclComm_t comm)
{
	delete comm;
	return ncclSuccess;
}

ncclResult_t ncclAllReduce(const void *sendbuff, void *recvbuff, size_t count, ncclDataType_t datatype, ncclRedOp_t op,
			   ncclComm_t comm, cudaStream_t stream)
{
	static const char *fn = "ncclAllReduce";
	if (!comm)
		return warn(ncclInvalidArgument, fn, "comm is NULL");
	size_t ts = type_size(datatype);
	if (!ts)
		return warn(ncclInvalidArgument, fn, "unknown data type");
	if (op < ncclSum || op > ncclAvg)
		return warn(ncclInvalidArgument, fn, "unknown reduction");
	if (op == ncclAvg && datatype != ncclFloat32 && datatype != ncclFloat64)
		return warn(ncclInvalidArgument, fn, "ncclAvg is emulated for float and double only");
	if (count == 0)
		return ncclSuccess;
	if (!sendbuff || !recvbuff)
		return warn(ncclInvalidArgument, fn, "sendbuff or recvbuff is NULL");
	if (comm->nranks == 1) {
		lfm_emu_stream_op(stream, [=]() {
			if (sendbuff != recvbuff)
				memmove(recvbuff, sendbuff, count * ts);
		});
		return ncclSuccess;
	}
#ifdef LFM_HAVE_MPI
	MPI_Datatype mt;
	if (!mpi_type(datatype, &mt))
		return warn(ncclInvalidArgument, fn, "half, bfloat16 and fp8 data are not emulated over MPI");
	if (count > (size_t)INT32_MAX)
		return warn(ncclInvalidArgument, fn, "more than 2^31-1 elements (MPI's count)");
	MPI_Op mo = op == ncclProd ? MPI_PROD : op == ncclMax ? MPI_MAX : op == ncclMin ? MPI_MIN : MPI_SUM;
	lfm_emu_stream_op(stream, [=]() {
		if (comm->async_error != ncclSuccess)
			return; // a real communicator in error does no more collectives either
		int rc = MPI_Allreduce(sendbuff == recvbuff ? MPI_IN_PLACE : sendbuff, recvbuff, (int)count, mt, mo,
				       comm->mpi);
		if (rc != MPI_SUCCESS)
			fail_async(comm, fn, rc);
		else if (op == ncclAvg)
			divide(recvbuff, count, datatype, comm->nranks);
	});
	return ncclSuccess;
#else
	return warn(ncclInternalError, fn, "a communicator of several ranks without MPI");
#endif
}

ncclResult_t ncclBroadcast(const void *sendbuff, void *recvbuff, size_t count, ncclDataType_t datatype, int root,
			   ncclComm_t comm, cudaStream_t stream)
{
	static const char *fn = "ncclBroadcast";
	if (!comm)
		return warn(ncclInvalidArgument, fn, "comm is NULL");
	size_t ts = type_size(datatype);
	if (!ts)
		return warn(ncclInvalidArgument, fn, "unknown data type");
	if (root < 0 || root >= comm->nranks)
		return warn(ncclInvalidArgument, fn, "root outside [0, nranks)");
	if (count == 0)
		return ncclSuccess;
	if (!recvbuff || (comm->rank == root && !sendbuff))
		return warn(ncclInvalidArgument, fn, "recvbuff, or the root's sendbuff, is NULL");
	size_t bytes = count * ts;
	if (comm->nranks == 1) {
		lfm_emu_stream_op(stream, [=]() {
			if (sendbuff != recvbuff)
				memmove(recvbuff, sendbuff, bytes);
		});
		return ncclSuccess;
	}
#ifdef LFM_HAVE_MPI
	if (bytes > (size_t)INT32_MAX)
		return warn(ncclInvalidArgument, fn, "more than 2^31-1 bytes (MPI's count)");
	int is_root = comm->rank == root;
	lfm_emu_stream_op(stream, [=]() {
		if (comm->async_error != ncclSuccess)
			return;
		// the root sends from sendbuff and, as NCCL, leaves a copy in its recvbuff
		if (is_root && sendbuff != recvbuff)
			memmove(recvbuff, sendbuff, bytes);
		int rc = MPI_Bcast(recvbuff, (int)bytes, MPI_BYTE, root, comm->mpi);
		if (rc != MPI_SUCCESS)
			fail_async(comm, fn, rc);
	});
	return ncclSuccess;
#else
	return warn(ncclInternalError, fn, "a communicator of several ranks without MPI");
#endif
}

// Groups: every call above is enqueued as it is made, in the caller's order, which every rank shares, so
// there is nothing to fuse or reorder.
ncclResult_t ncclGroupStart(void) { return ncclSuccess; }
ncclResult_t ncclGroupEnd(void) { return ncclSuccess; }

} // extern "C"
