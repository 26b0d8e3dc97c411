/* dist_mpi.c — the MPI transport of dist.h: MPI_COMM_WORLD, started when an MPI launcher started us.
 * Built with MPI when the Makefile finds Open MPI (LFM_HAVE_MPI); without it the launcher's variables
 * still give the ranks, and a CPU run on several of them is refused (fit_init). */
#include "dist/dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef LFM_HAVE_MPI
#include <mpi.h>

int dist_have_mpi(void) { return 1; }

static int mpi_fail(int rc, const char *what, char *err, size_t errsz)
{
	char s[MPI_MAX_ERROR_STRING];
	int len = 0;
	if (MPI_Error_string(rc, s, &len) != MPI_SUCCESS)
		snprintf(s, sizeof s, "error %d", rc);
	snprintf(err, errsz, "%s: %s", what, s);
	return -1;
}

/* MPI counts are ints: large arrays go in pieces of at most 2^30 elements. */
#define MPI_PIECE ((size_t)1 << 30)

static int mpi_sum_f32(dist_comm *c, float *v, size_t n, char *err, size_t errsz)
{
	(void)c;
	for (size_t off = 0; off < n; off += MPI_PIECE) {
		int k = (int)(n - off < MPI_PIECE ? n - off : MPI_PIECE);
		int rc = MPI_Allreduce(MPI_IN_PLACE, v + off, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
		if (rc != MPI_SUCCESS)
			return mpi_fail(rc, "MPI_Allreduce", err, errsz);
	}
	return 0;
}

static int mpi_reduce_f64(dist_comm *c, double *v, size_t n, dist_op op, char *err, size_t errsz)
{
	(void)c;
	for (size_t off = 0; off < n; off += MPI_PIECE) {
		int k = (int)(n - off < MPI_PIECE ? n - off : MPI_PIECE);
		int rc = MPI_Allreduce(MPI_IN_PLACE, v + off, k, MPI_DOUBLE, op == DIST_MAX ? MPI_MAX : MPI_SUM,
				       MPI_COMM_WORLD);
		if (rc != MPI_SUCCESS)
			return mpi_fail(rc, "MPI_Allreduce", err, errsz);
	}
	return 0;
}

static int mpi_broadcast(dist_comm *c, void *buf, size_t bytes, int root, char *err, size_t errsz)
{
	(void)c;
	for (size_t off = 0; off < bytes; off += MPI_PIECE) {
		int k = (int)(bytes - off < MPI_PIECE ? bytes - off : MPI_PIECE);
		int rc = MPI_Bcast((char *)buf + off, k, MPI_BYTE, root, MPI_COMM_WORLD);
		if (rc != MPI_SUCCESS)
			return mpi_fail(rc, "MPI_Bcast", err, errsz);
	}
	return 0;
}

int dist_mpi_start(dist_comm *c, const dist_ranks *r, char *err, size_t errsz)
{
	int inited = 0, provided = 0, rc;
	MPI_Initialized(&inited);
	if (!inited) {
		/* Only the main thread calls MPI; the watchdog thread never does. */
		if ((rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided)) != MPI_SUCCESS)
			return mpi_fail(rc, "MPI_Init_thread", err, errsz);
		c->mpi_inited = 1;
	}
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	int rank = 0, world = 1;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &world);
	if ((r->world && world != r->world) || rank != r->rank) {
		snprintf(err, errsz, "MPI says rank %d of %d, the launcher's variables rank %d of %d", rank, world, r->rank,
			 r->world);
		return -1;
	}
	c->rank = rank;
	c->world = world;
	/* the local rank: the launcher's, else the rank among the processes sharing this node's memory */
	const char *lv = getenv("OMPI_COMM_WORLD_LOCAL_RANK");
	if (!lv)
		lv = getenv("MPI_LOCALRANKID");
	if (!lv)
		lv = getenv("PMIX_LOCAL_RANK");
	if (!lv) {
		MPI_Comm node;
		if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
			MPI_Comm_rank(node, &c->local_rank);
			MPI_Comm_free(&node);
		}
	}
	c->transport = "mpi";
	c->allreduce_f32 = mpi_sum_f32;
	c->allreduce_f64 = mpi_reduce_f64;
	c->broadcast = mpi_broadcast;
	return 0;
}

void dist_mpi_finish(dist_comm *c)
{
	int finalized = 0;
	MPI_Finalized(&finalized);
	if (!finalized)
		MPI_Finalize();
	c->mpi_inited = 0;
}

#else /* built without MPI */

int dist_have_mpi(void) { return 0; }

int dist_mpi_start(dist_comm *c, const dist_ranks *r, char *err, size_t errsz)
{
	(void)c;
	(void)r;
	snprintf(err, errsz, "built without MPI");
	return -1;
}

void dist_mpi_finish(dist_comm *c) { c->mpi_inited = 0; }

#endif
