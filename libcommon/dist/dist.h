/* dist.h — the ranks of a data-parallel run: who this process is (rank, world size, local rank) as the
 * launcher says it, and the few host-side collectives the training loop needs (the loss, the stop
 * decision, validation counts, and on the CPU the gradients themselves).
 *
 * Who launched us, first match wins (dist_ranks_from_env):
 *   mpirun        Open MPI (OMPI_COMM_WORLD_RANK/_SIZE/_LOCAL_RANK), MPICH/Hydra (PMI_RANK, PMI_SIZE,
 *                 MPI_LOCALRANKID), PMIx (PMIX_RANK; the size from MPI itself)
 *   torchrun      RANK, WORLD_SIZE, LOCAL_RANK (default 0), MASTER_ADDR, MASTER_PORT
 *   slurm         SLURM_PROCID, SLURM_STEP_NUM_TASKS or SLURM_NTASKS, SLURM_LOCALID — only inside a job
 *                 step (SLURM_STEP_ID set: srun), so a batch script's own variables do not count
 *   none          one process, as without any launcher
 * An MPI launcher's variables win over Slurm's (mpirun inside an allocation), torchrun's over Slurm's.
 *
 * The transport of the host collectives: MPI (MPI_COMM_WORLD; the tools are built with it when Open MPI
 * is found) when an MPI launcher started us; otherwise none of its own: a GPU run then lends it the NCCL
 * communicator (cuda/cuda_dist.h), and a CPU run on several ranks is refused with a message. NCCL's
 * bootstrap takes dist_comm.broadcast when it exists (MPI), else NCCL_COMM_ID, else
 * dist_comm.master_addr:dist_comm.port.
 *
 * Every collective is under a watchdog: a rank that waits longer than the timeout for the others (one of
 * them died, hangs, or never arrived) prints what it waited for and exits with LFM_EXIT_IO, so a launcher
 * that does not notice a dead rank cannot leave the others hanging.
 *
 * Reproducibility: the collectives reduce in an order fixed by the world size and the implementation
 * (MPI's and NCCL's algorithms for a given size and topology), so two runs with the same ranks and
 * threads are bit-identical; a different world size sums in another order (close, not bit for bit). */
#ifndef LFM_DIST_H
#define LFM_DIST_H

#include <stddef.h>

typedef enum dist_launcher {
	DIST_LAUNCHER_NONE,
	DIST_LAUNCHER_MPI,
	DIST_LAUNCHER_TORCHRUN,
	DIST_LAUNCHER_SLURM,
} dist_launcher;

typedef struct dist_ranks {
	dist_launcher launcher;
	int rank, world, local_rank; /* world 0: unknown yet (PMIx: MPI tells) */
	char master_addr[256];       /* torchrun-style MASTER_ADDR, "" when not given */
	int master_port;             /* MASTER_PORT, 0 when not given */
	int torchrun_agent;          /* TORCHELASTIC_RUN_ID is set: torchrun's agent holds MASTER_PORT */
} dist_ranks;

/* The ranks from the environment as `get` (getenv, or a table in the tests) reports it. 0, or -1 with a
 * message naming the variable (not a number, a rank outside the world, WORLD_SIZE without RANK). */
int dist_ranks_from_env(dist_ranks *out, const char *(*get)(const char *name), char *err, size_t errsz);
const char *dist_launcher_name(dist_launcher l);

typedef enum dist_op { DIST_SUM, DIST_MAX } dist_op;

typedef struct dist_comm dist_comm;
struct dist_comm {
	int rank, world, local_rank;
	dist_launcher launcher;
	const char *transport; /* "mpi", "nccl" (lent by a device), "none" (world 1, or not yet lent) */
	double timeout_s;      /* the watchdog's limit */
	char master_addr[256]; /* where NCCL's bootstrap meets without MPI ("" unknown) */
	int port;              /* ... its port (0 unknown) */
	/* Host collectives, NULL without a transport (world 1: the dist_* wrappers below do nothing). Each
	 * returns 0, or -1 with a message in err. */
	int (*allreduce_f32)(dist_comm *c, float *v, size_t n, char *err, size_t errsz);   /* sum, in place */
	int (*allreduce_f64)(dist_comm *c, double *v, size_t n, dist_op op, char *err, size_t errsz);
	int (*broadcast)(dist_comm *c, void *buf, size_t bytes, int root, char *err, size_t errsz);
	void (*close_transport)(dist_comm *c); /* the lender's teardown (NCCL), before MPI's */
	void *impl;     /* the transport's state */
	void *lender;   /* the device that lent the transport (its own state) */
	int mpi_inited; /* this module called MPI_Init */
	/* the watchdog */
	void *watch;
};

typedef struct dist_options {
	double timeout_s;  /* 0: the default (DIST_DEFAULT_TIMEOUT_S) */
	int port;          /* 0: MASTER_PORT (MASTER_PORT + 1 under torchrun's agent, which holds MASTER_PORT) */
	const char *(*get)(const char *name); /* NULL: getenv */
} dist_options;

#define DIST_DEFAULT_TIMEOUT_S 600.0

/* The ranks and, when an MPI launcher started us and MPI is built in, MPI itself (MPI_Init_thread).
 * Dies with a message (LFM_EXIT_USAGE for bad launcher variables, LFM_EXIT_IO when MPI fails). Never
 * returns NULL; world 1 gives a communicator whose collectives do nothing. */
dist_comm *dist_open(const dist_options *o);
/* Finalise (the lender's transport first, then MPI when this module started it) and free. */
void dist_close(dist_comm *c);
/* Whether the build has MPI (LFM_HAVE_MPI) */
int dist_have_mpi(void);

/* The collectives for the training loop: world 1 does nothing; without a transport they die (internal
 * error: a run on several ranks must have one before it trains). `what` names the wait for the watchdog
 * and the messages ("the gradients of step 12"). Any failure dies with the rank and what. */
void dist_sum_f32(dist_comm *c, float *v, size_t n, const char *what);
void dist_sum_f64(dist_comm *c, double *v, size_t n, const char *what);
void dist_max_f64(dist_comm *c, double *v, size_t n, const char *what);
void dist_broadcast(dist_comm *c, void *buf, size_t bytes, int root, const char *what);

/* The watchdog around any wait for the other ranks (the collectives above use it themselves; a device
 * runner's wait on its stream, where NCCL's collectives run, is bracketed by the caller): after
 * c->timeout_s without dist_watch_end, the process prints "rank R: waited T s for the other ranks (what);
 * one of them has stopped, died or never arrived" and _exits with LFM_EXIT_IO. Nesting: the outermost
 * counts. */
void dist_watch_begin(dist_comm *c, const char *what);
void dist_watch_end(dist_comm *c);

/* Rank r's slice of n items (the global batch): [*lo, *hi), contiguous, in rank order, sizes differing by
 * at most one (the first n mod world ranks take one more), so --batch need not divide by the world size;
 * a rank's slice may be empty when n < world. */
void dist_slice(size_t n, int rank, int world, size_t *lo, size_t *hi);

#endif
