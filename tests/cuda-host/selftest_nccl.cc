// selftest_nccl.cc — the emulated NCCL (nccl_host.cc) checks itself. As one process (no mpirun): a world
// of one, whose collectives copy sendbuff to recvbuff; an allreduce runs in stream order (after the copy
// enqueued before it); one captured in a graph does not run at capture and runs again at each launch with
// the captured pointers; what NCCL refuses is refused (a rank outside the world, several ranks without
// mpirun, an id not from ncclGetUniqueId, an uninitialised config, an unknown type or reduction); a
// non-blocking init answers ncclInProgress, then ncclSuccess. Under mpirun (built with Open MPI), every
// rank also checks the collectives across the ranks: sums, in place, max/min/avg, ints, a broadcast from
// the last rank, a graph-captured allreduce replayed, and a wrong rank or an unshared id refused.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>

#include "cuda_common.h"
#include "nccl.h"

#ifdef LFM_HAVE_MPI
#define OMPI_SKIP_MPICXX 1 // the C API only (its C++ bindings warn)
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

static int failures, my_rank, world = 1;
static void report(const char *name, int ok, const std::string &why = "")
{
	if (world > 1)
		printf("%s - %s (rank %d of %d)%s%s\n", ok ? "ok" : "not ok", name, my_rank, world, ok ? "" : ": ",
		       ok ? "" : why.c_str());
	else
		printf("%s - %s%s%s\n", ok ? "ok" : "not ok", name, ok ? "" : ": ", ok ? "" : why.c_str());
	fflush(stdout);
	failures += !ok;
}
static std::string res(ncclResult_t r) { return std::string(ncclGetErrorString(r)) + " (" + std::to_string(r) + ")"; }

static void world_of_one()
{
	ncclUniqueId id;
	ncclComm_t comm = nullptr;
	ncclResult_t r = ncclGetUniqueId(&id);
	report("ncclGetUniqueId", r == ncclSuccess, res(r));
	ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
	r = ncclCommInitRankConfig(&comm, 1, id, 0, &config);
	report("a world of one: ncclCommInitRankConfig (blocking by default)", r == ncclSuccess && comm, res(r));
	if (!comm)
		return;
	ncclResult_t async = ncclInternalError;
	r = ncclCommGetAsyncError(comm, &async);
	report("ncclCommGetAsyncError: ncclSuccess", r == ncclSuccess && async == ncclSuccess, res(async));

	cudaStream_t st;
	cudaStreamCreate(&st);
	float *a, *b;
	cudaMalloc((void **)&a, 8 * sizeof(float));
	cudaMalloc((void **)&b, 8 * sizeof(float));
	float host[8];
	for (int i = 0; i < 8; i++)
		host[i] = (float)i + 0.5f;
	// stream order: the copy into a, then the allreduce reading it
	cudaMemcpyAsync(a, host, sizeof host, cudaMemcpyHostToDevice, st);
	r = ncclAllReduce(a, b, 8, ncclFloat, ncclSum, comm, st);
	cudaStreamSynchronize(st);
	report("a world of one: ncclAllReduce copies sendbuff to recvbuff, after the copy before it",
	       r == ncclSuccess && b[0] == 0.5f && b[7] == 7.5f, res(r) + ", b[7] " + std::to_string(b[7]));
	r = ncclAllReduce(b, b, 8, ncclFloat, ncclMax, comm, st);
	report("a world of one: in place", r == ncclSuccess && b[3] == 3.5f, res(r));
	int *ia, *ib;
	cudaMalloc((void **)&ia, 4 * sizeof(int));
	cudaMalloc((void **)&ib, 4 * sizeof(int));
	for (int i = 0; i < 4; i++)
		ia[i] = 7 * i;
	r = ncclBroadcast(ia, ib, 4, ncclInt, 0, comm, st);
	report("a world of one: ncclBroadcast copies", r == ncclSuccess && ib[3] == 21, res(r));

	// a capture records the allreduce: nothing runs until the graph is launched, then it runs at each one
	cudaMemset(b, 0, 8 * sizeof(float));
	cudaGraph_t g = nullptr;
	cudaGraphExec_t ge = nullptr;
	int began = cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal) == cudaSuccess;
	ncclGroupStart();
	r = ncclAllReduce(a, b, 8, ncclFloat, ncclSum, comm, st);
	ncclResult_t r2 = ncclGroupEnd();
	int deferred = b[0] == 0 && b[7] == 0;
	int ended = cudaStreamEndCapture(st, &g) == cudaSuccess && cudaGraphInstantiate(&ge, g, 0) == cudaSuccess;
	report("a captured ncclAllReduce does not run at capture", began && ended && r == ncclSuccess && r2 == ncclSuccess &&
	       deferred, res(r) + ", b[7] " + std::to_string(b[7]));
	a[7] = 70;
	cudaGraphLaunch(ge, st);
	cudaStreamSynchronize(st);
	report("the graph's launch runs it (reading sendbuff then)", b[0] == 0.5f && b[7] == 70, "b[7] " + std::to_string(b[7]));
	a[7] = 80;
	cudaGraphLaunch(ge, st);
	report("a second launch runs it again", b[7] == 80, "b[7] " + std::to_string(b[7]));
	cudaGraphExecDestroy(ge);
	cudaGraphDestroy(g);

	// what NCCL refuses
	r = ncclAllReduce(a, b, 8, (ncclDataType_t)42, ncclSum, comm, st);
	r2 = ncclAllReduce(a, b, 8, ncclFloat, (ncclRedOp_t)42, comm, st);
	report("an unknown data type or reduction: ncclInvalidArgument", r == ncclInvalidArgument && r2 == ncclInvalidArgument,
	       res(r) + ", " + res(r2));
	r = ncclBroadcast(a, b, 8, ncclFloat, 1, comm, st);
	report("a broadcast root outside the world: ncclInvalidArgument", r == ncclInvalidArgument, res(r));
	ncclComm_t bad = nullptr;
	r = ncclCommInitRankConfig(&bad, 1, id, 1, &config);
	report("rank 1 of a world of 1: ncclInvalidArgument", r == ncclInvalidArgument && !bad, res(r));
	if (world == 1) {
		r = ncclCommInitRankConfig(&bad, 2, id, 0, &config);
		report("2 ranks without mpirun: ncclInvalidArgument", r == ncclInvalidArgument && !bad, res(r));
	}
	ncclUniqueId junk;
	memset(&junk, 1, sizeof junk);
	r = ncclCommInitRankConfig(&bad, 1, junk, 0, &config);
	report("an id not from ncclGetUniqueId: ncclInvalidArgument", r == ncclInvalidArgument && !bad, res(r));
	ncclConfig_t raw;
	memset(&raw, 0, sizeof raw);
	r = ncclCommInitRankConfig(&bad, 1, id, 0, &raw);
	report("a config without NCCL_CONFIG_INITIALIZER: ncclInvalidArgument", r == ncclInvalidArgument && !bad, res(r));

	// non-blocking: in progress once, then done
	ncclConfig_t nb = NCCL_CONFIG_INITIALIZER;
	nb.blocking = 0;
	ncclComm_t c2 = nullptr;
	r = ncclCommInitRankConfig(&c2, 1, id, 0, &nb);
	ncclResult_t first = ncclInternalError, second = ncclInternalError;
	if (c2) {
		ncclCommGetAsyncError(c2, &first);
		ncclCommGetAsyncError(c2, &second);
	}
	report("non-blocking init: ncclInProgress, then ncclCommGetAsyncError ncclInProgress and ncclSuccess",
	       r == ncclInProgress && c2 && first == ncclInProgress && second == ncclSuccess,
	       res(r) + ", " + res(first) + ", " + res(second));
	report("ncclCommAbort and ncclCommDestroy", ncclCommAbort(c2) == ncclSuccess && ncclCommDestroy(comm) == ncclSuccess);
	report("ncclGetErrorString", strcmp(ncclGetErrorString(ncclSuccess), "no error") == 0 &&
	       strstr(ncclGetErrorString(ncclRemoteError), "remote") != nullptr);
	cudaFree(a);
	cudaFree(b);
	cudaFree(ia);
	cudaFree(ib);
	cudaStreamDestroy(st);
}

#ifdef LFM_HAVE_MPI
static void several_ranks()
{
	ncclUniqueId id;
	if (my_rank == 0)
		ncclGetUniqueId(&id);
	MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD);
	ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
	config.blocking = 0;
	ncclComm_t comm = nullptr;
	ncclResult_t r = ncclCommInitRankConfig(&comm, world, id, my_rank, &config), async = ncclInProgress;
	while (comm && r == ncclInProgress)
		if (ncclCommGetAsyncError(comm, &async) != ncclSuccess || async != ncclInProgress)
			r = async;
	report("ncclCommInitRankConfig over MPI (non-blocking)", r == ncclSuccess && comm, res(r));
	if (!comm)
		return;
	cudaStream_t st;
	cudaStreamCreate(&st);
	const int n = 5;
	float *a, *b;
	double *d;
	int *ia;
	cudaMalloc((void **)&a, n * sizeof(float));
	cudaMalloc((void **)&b, n * sizeof(float));
	cudaMalloc((void **)&d, n * sizeof(double));
	cudaMalloc((void **)&ia, n * sizeof(int));
	float want_sum = 0;
	for (int k = 0; k < world; k++)
		want_sum += (float)(k + 1);
	for (int i = 0; i < n; i++)
		a[i] = (float)(my_rank + 1) * (float)(i + 1);
	r = ncclAllReduce(a, b, n, ncclFloat, ncclSum, comm, st);
	cudaStreamSynchronize(st);
	report("ncclAllReduce sum", r == ncclSuccess && b[0] == want_sum && b[4] == 5 * want_sum,
	       res(r) + ", b[4] " + std::to_string(b[4]));
	r = ncclAllReduce(a, a, n, ncclFloat, ncclMax, comm, st);
	report("in place (MPI_IN_PLACE), max", r == ncclSuccess && a[1] == 2.0f * (float)world, "a[1] " + std::to_string(a[1]));
	for (int i = 0; i < n; i++)
		d[i] = my_rank == 0 ? 1.0 : 3.0;
	r = ncclAllReduce(d, d, n, ncclDouble, ncclMin, comm, st);
	report("double, min", r == ncclSuccess && d[2] == 1.0, "d[2] " + std::to_string(d[2]));
	for (int i = 0; i < n; i++)
		b[i] = (float)(my_rank + 1);
	r = ncclAllReduce(b, b, n, ncclFloat, ncclAvg, comm, st);
	report("float, avg", r == ncclSuccess && fabsf(b[0] - want_sum / (float)world) < 1e-6f, "b[0] " + std::to_string(b[0]));
	for (int i = 0; i < n; i++)
		ia[i] = my_rank * 10 + i;
	r = ncclAllReduce(ia, ia, n, ncclInt, ncclSum, comm, st);
	report("int, sum", r == ncclSuccess && ia[1] == 10 * world * (world - 1) / 2 + world, "ia[1] " + std::to_string(ia[1]));
	for (int i = 0; i < n; i++)
		a[i] = my_rank == world - 1 ? 42.0f + (float)i : -1.0f, b[i] = -2.0f;
	r = ncclBroadcast(a, b, n, ncclFloat, world - 1, comm, st);
	report("ncclBroadcast from the last rank (its recvbuff too)", r == ncclSuccess && b[0] == 42 && b[4] == 46,
	       "b[4] " + std::to_string(b[4]));

	// a graph-captured allreduce: not run at capture, run across the ranks at each launch
	for (int i = 0; i < n; i++)
		a[i] = 0, b[i] = -1;
	cudaGraph_t g = nullptr;
	cudaGraphExec_t ge = nullptr;
	cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal);
	r = ncclAllReduce(a, b, n, ncclFloat, ncclSum, comm, st);
	int deferred = b[0] == -1;
	int ended = cudaStreamEndCapture(st, &g) == cudaSuccess && cudaGraphInstantiate(&ge, g, 0) == cudaSuccess;
	int replays_ok = 1;
	for (int launch = 1; launch <= 3; launch++) {
		a[0] = (float)(launch * (my_rank + 1));
		cudaGraphLaunch(ge, st);
		cudaStreamSynchronize(st);
		replays_ok &= b[0] == (float)launch * want_sum;
	}
	report("a graph-captured ncclAllReduce: not at capture, across the ranks at each of 3 launches",
	       r == ncclSuccess && deferred && ended && replays_ok, "b[0] " + std::to_string(b[0]));
	cudaGraphExecDestroy(ge);
	cudaGraphDestroy(g);
	ncclResult_t async_end = ncclInternalError;
	ncclCommGetAsyncError(comm, &async_end);
	report("no asynchronous error", async_end == ncclSuccess, res(async_end));

	// refused: a rank that is not this process's, and ranks given different ids (every rank refuses)
	ncclComm_t bad = nullptr;
	ncclConfig_t blocking = NCCL_CONFIG_INITIALIZER;
	r = ncclCommInitRankConfig(&bad, world, id, (my_rank + 1) % world, &blocking);
	report("another rank's number: ncclInvalidArgument", r == ncclInvalidArgument && !bad, res(r));
	ncclUniqueId mine;
	ncclGetUniqueId(&mine);
	mine.internal[100] = (char)(my_rank + 1);
	r = ncclCommInitRankConfig(&bad, world, mine, my_rank, &blocking);
	report("ranks given different unique ids: ncclInvalidArgument on every rank", r == ncclInvalidArgument && !bad, res(r));
	report("ncclCommDestroy", ncclCommDestroy(comm) == ncclSuccess);
	cudaFree(a);
	cudaFree(b);
	cudaFree(d);
	cudaFree(ia);
	cudaStreamDestroy(st);
}
#endif

int main()
{
#ifdef LFM_HAVE_MPI
	// launched by mpirun (Open MPI's variables): several ranks; otherwise no MPI at all (a world of one)
	int launched = getenv("OMPI_COMM_WORLD_SIZE") != nullptr || getenv("PMIX_RANK") != nullptr;
	if (launched) {
		MPI_Init(nullptr, nullptr);
		MPI_Comm_rank(MPI_COMM_WORLD, &my_rank);
		MPI_Comm_size(MPI_COMM_WORLD, &world);
	}
#endif
	if (world == 1)
		world_of_one();
#ifdef LFM_HAVE_MPI
	else
		several_ranks();
	if (launched) {
		int all = 0;
		MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
		MPI_Finalize();
		failures = all;
	}
#endif
	return failures ? 1 : 0;
}
