/* test_dist.c — dist.h without launching anything: who a process is, from tables of launcher
 * variables (which launcher wins, what is refused), and the slices of a batch over the ranks. */
#include "dist/dist.h"

#include <string.h>

#include "../test.h"

/* The environment of a case: "NAME=value" strings, NULL-terminated, read by env_lookup. */
static const char *const *g_env;

static const char *env_lookup(const char *name)
{
	size_t n = strlen(name);
	for (const char *const *e = g_env; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

typedef struct env_case {
	const char *name;
	const char *env[10];
	int ok; /* 0: refused */
	dist_launcher launcher;
	int rank, world, local_rank;
	const char *message; /* in the refusal's message */
} env_case;

static const env_case env_cases[] = {
    {"no launcher", {NULL}, 1, DIST_LAUNCHER_NONE, 0, 1, 0, NULL},
    {"Open MPI", {"OMPI_COMM_WORLD_RANK=1", "OMPI_COMM_WORLD_SIZE=4", "OMPI_COMM_WORLD_LOCAL_RANK=1"}, 1,
     DIST_LAUNCHER_MPI, 1, 4, 1, NULL},
    {"MPICH", {"PMI_RANK=2", "PMI_SIZE=3", "MPI_LOCALRANKID=0"}, 1, DIST_LAUNCHER_MPI, 2, 3, 0, NULL},
    {"torchrun", {"RANK=3", "WORLD_SIZE=8", "LOCAL_RANK=3", "MASTER_ADDR=n1", "MASTER_PORT=29500"}, 1,
     DIST_LAUNCHER_TORCHRUN, 3, 8, 3, NULL},
    {"torchrun without LOCAL_RANK", {"RANK=1", "WORLD_SIZE=2"}, 1, DIST_LAUNCHER_TORCHRUN, 1, 2, 0, NULL},
    {"srun", {"SLURM_STEP_ID=0", "SLURM_PROCID=5", "SLURM_STEP_NUM_TASKS=6", "SLURM_NTASKS=12", "SLURM_LOCALID=1"}, 1,
     DIST_LAUNCHER_SLURM, 5, 6, 1, NULL},
    {"srun, SLURM_NTASKS only", {"SLURM_STEPID=0", "SLURM_PROCID=1", "SLURM_NTASKS=2"}, 1, DIST_LAUNCHER_SLURM, 1, 2,
     0, NULL},
    {"a batch script's variables are no launch", {"SLURM_PROCID=0", "SLURM_NTASKS=4"}, 1, DIST_LAUNCHER_NONE, 0, 1, 0,
     NULL},
    {"mpirun inside an allocation: MPI wins over Slurm",
     {"SLURM_STEP_ID=0", "SLURM_PROCID=0", "SLURM_NTASKS=1", "OMPI_COMM_WORLD_RANK=1", "OMPI_COMM_WORLD_SIZE=2"}, 1,
     DIST_LAUNCHER_MPI, 1, 2, 0, NULL},
    {"torchrun inside an allocation: torchrun wins over Slurm",
     {"SLURM_STEP_ID=0", "SLURM_PROCID=0", "SLURM_NTASKS=1", "RANK=2", "WORLD_SIZE=4"}, 1, DIST_LAUNCHER_TORCHRUN, 2, 4,
     0, NULL},
    {"PMIx: the size is MPI's to tell", {"PMIX_RANK=1"}, 1, DIST_LAUNCHER_MPI, 1, 0, 0, NULL},
    {"RANK not a number", {"RANK=one", "WORLD_SIZE=2"}, 0, 0, 0, 0, 0, "RANK='one'"},
    {"negative WORLD_SIZE", {"RANK=0", "WORLD_SIZE=-2"}, 0, 0, 0, 0, 0, "WORLD_SIZE='-2'"},
    {"rank beyond the world", {"OMPI_COMM_WORLD_RANK=4", "OMPI_COMM_WORLD_SIZE=4"}, 0, 0, 0, 0, 0, "rank 4 of a world of 4"},
    {"RANK without WORLD_SIZE", {"RANK=0"}, 0, 0, 0, 0, 0, "WORLD_SIZE is not"},
    {"MASTER_PORT out of range", {"RANK=0", "WORLD_SIZE=2", "MASTER_PORT=0"}, 0, 0, 0, 0, 0, "MASTER_PORT=0"},
    {"MASTER_PORT not a number", {"MASTER_PORT=http"}, 0, 0, 0, 0, 0, "MASTER_PORT='http'"},
};

static void test_ranks_from_env(void)
{
	for (size_t k = 0; k < sizeof env_cases / sizeof *env_cases; k++) {
		const env_case *c = &env_cases[k];
		g_env = c->env;
		dist_ranks r;
		char err[256] = "";
		int rc = dist_ranks_from_env(&r, env_lookup, err, sizeof err);
		T_ASSERTF((rc == 0) == c->ok, "%s: rc %d (%s)", c->name, rc, err);
		if (!c->ok) {
			T_ASSERTF(strstr(err, c->message) != NULL, "%s: message '%s' lacks '%s'", c->name, err, c->message);
			continue;
		}
		T_ASSERTF(r.launcher == c->launcher && r.rank == c->rank && r.world == c->world &&
				  r.local_rank == c->local_rank,
			  "%s: %s rank %d of %d, local %d", c->name, dist_launcher_name(r.launcher), r.rank, r.world,
			  r.local_rank);
	}
}

static void test_master_address(void)
{
	static const char *const env[] = {"RANK=0", "WORLD_SIZE=2", "MASTER_ADDR=node7", "MASTER_PORT=29400",
					  "TORCHELASTIC_RUN_ID=x", NULL};
	g_env = env;
	dist_ranks r;
	char err[256];
	T_ASSERT(dist_ranks_from_env(&r, env_lookup, err, sizeof err) == 0);
	T_ASSERT(strcmp(r.master_addr, "node7") == 0 && r.master_port == 29400 && r.torchrun_agent == 1);
}

/* One process: dist_open gives a world of 1 whose collectives do nothing. */
static void test_open_alone(void)
{
	static const char *const env[] = {NULL};
	g_env = env;
	dist_comm *c = dist_open(&(dist_options){0, 0, env_lookup});
	T_ASSERT(c->world == 1 && c->rank == 0 && c->timeout_s == DIST_DEFAULT_TIMEOUT_S);
	double v[2] = {1.5, -2};
	dist_sum_f64(c, v, 2, "a test");
	float f = 3;
	dist_sum_f32(c, &f, 1, "a test");
	T_ASSERT(v[0] == 1.5 && v[1] == -2 && f == 3);
	dist_close(c);
}

/* Under torchrun's agent the bootstrap takes the port after MASTER_PORT; --dist-port wins. */
static void test_bootstrap_port(void)
{
	static const char *const env[] = {"MASTER_ADDR=h", "MASTER_PORT=29500", "TORCHELASTIC_RUN_ID=1", NULL};
	g_env = env;
	dist_comm *c = dist_open(&(dist_options){0, 0, env_lookup});
	T_ASSERT(c->port == 29501 && strcmp(c->master_addr, "h") == 0);
	dist_close(c);
	c = dist_open(&(dist_options){5, 4000, env_lookup});
	T_ASSERT(c->port == 4000 && c->timeout_s == 5);
	dist_close(c);
	static const char *const plain[] = {"MASTER_ADDR=h", "MASTER_PORT=29500", NULL};
	g_env = plain;
	c = dist_open(&(dist_options){0, 0, env_lookup});
	T_ASSERT(c->port == 29500);
	dist_close(c);
}

/* The slices cover the batch in rank order without overlap, sizes differing by at most one, the larger
 * ones first; rank 0's is a largest. */
static void test_slices(void)
{
	for (int world = 1; world <= 9; world++)
		for (size_t n = 0; n <= 40; n++) {
			size_t next = 0, first = 0;
			for (int r = 0; r < world; r++) {
				size_t lo, hi;
				dist_slice(n, r, world, &lo, &hi);
				T_ASSERTF(lo == next && hi >= lo, "n %zu world %d rank %d: [%zu, %zu) after %zu", n, world, r,
					  lo, hi, next);
				if (r == 0)
					first = hi - lo;
				T_ASSERTF(hi - lo <= first && first - (hi - lo) <= 1, "n %zu world %d rank %d: %zu vs %zu", n,
					  world, r, hi - lo, first);
				T_ASSERT(hi - lo == n / (size_t)world + ((size_t)r < n % (size_t)world));
				next = hi;
			}
			T_ASSERTF(next == n, "n %zu world %d: covered %zu", n, world, next);
		}
}

int main(void)
{
	T_RUN(test_ranks_from_env);
	T_RUN(test_master_address);
	T_RUN(test_open_alone);
	T_RUN(test_bootstrap_port);
	T_RUN(test_slices);
	return t_summary();
}
