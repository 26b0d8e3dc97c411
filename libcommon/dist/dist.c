/* dist.c — see dist.h: the launcher's variables, the slices of a batch, the watchdog and the collectives'
 * wrappers. The MPI transport is dist_mpi.c. */
#include "dist/dist.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/errors.h"

/* dist_mpi.c */
int dist_mpi_start(dist_comm *c, const dist_ranks *r, char *err, size_t errsz);
void dist_mpi_finish(dist_comm *c);

const char *dist_launcher_name(dist_launcher l)
{
	switch (l) {
	case DIST_LAUNCHER_MPI: return "mpirun";
	case DIST_LAUNCHER_TORCHRUN: return "torchrun-style variables";
	case DIST_LAUNCHER_SLURM: return "srun";
	default: return "no launcher";
	}
}

static const char *env_get(const char *name) { return getenv(name); }

/* A non-negative integer variable: 1 found (in *out), 0 unset or empty, -1 not a number (message). */
static int env_int(const char *(*get)(const char *), const char *name, int *out, char *err, size_t errsz)
{
	const char *s = get(name);
	if (!s || !*s)
		return 0;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > 1000000) {
		snprintf(err, errsz, "%s='%s': expected a non-negative whole number", name, s);
		return -1;
	}
	*out = (int)v;
	return 1;
}

/* One launcher's three variables into r; 1 when its rank variable is set, 0 when not, -1 on a bad one. */
static int take(const char *(*get)(const char *), dist_ranks *r, dist_launcher l, const char *rank_var,
		const char *world_var, const char *world_var2, const char *local_var, char *err, size_t errsz)
{
	int rank = 0, world = 0, local = 0, k;
	if ((k = env_int(get, rank_var, &rank, err, errsz)) <= 0)
		return k;
	if ((k = env_int(get, world_var, &world, err, errsz)) < 0)
		return -1;
	if (k == 0 && world_var2 && env_int(get, world_var2, &world, err, errsz) < 0)
		return -1;
	if (local_var && env_int(get, local_var, &local, err, errsz) < 0)
		return -1;
	r->launcher = l;
	r->rank = rank;
	r->world = world;
	r->local_rank = local;
	return 1;
}

int dist_ranks_from_env(dist_ranks *r, const char *(*get)(const char *), char *err, size_t errsz)
{
	memset(r, 0, sizeof *r);
	r->world = 1;
	if (!get)
		get = env_get;
	int k;
	if ((k = take(get, r, DIST_LAUNCHER_MPI, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", NULL,
		      "OMPI_COMM_WORLD_LOCAL_RANK", err, errsz)) == 0 &&
	    (k = take(get, r, DIST_LAUNCHER_MPI, "PMI_RANK", "PMI_SIZE", NULL, "MPI_LOCALRANKID", err, errsz)) == 0 &&
	    (k = take(get, r, DIST_LAUNCHER_MPI, "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", NULL, "PMIX_LOCAL_RANK", err,
		      errsz)) == 0 &&
	    (k = take(get, r, DIST_LAUNCHER_TORCHRUN, "RANK", "WORLD_SIZE", NULL, "LOCAL_RANK", err, errsz)) == 0) {
		const char *step = get("SLURM_STEP_ID");
		if (!step || !*step)
			step = get("SLURM_STEPID");
		if (step && *step)
			k = take(get, r, DIST_LAUNCHER_SLURM, "SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_NTASKS",
				 "SLURM_LOCALID", err, errsz);
	}
	if (k < 0)
		return -1;
	if (k == 0) { /* no launcher: one process */
		r->launcher = DIST_LAUNCHER_NONE;
		r->world = 1;
		r->rank = r->local_rank = 0;
	}
	if (r->launcher == DIST_LAUNCHER_TORCHRUN && r->world == 0) {
		snprintf(err, errsz, "RANK=%d is set but WORLD_SIZE is not: set both (torchrun sets them)", r->rank);
		return -1;
	}
	if (r->launcher == DIST_LAUNCHER_SLURM && r->world == 0) {
		snprintf(err, errsz, "SLURM_PROCID=%d is set but neither SLURM_STEP_NUM_TASKS nor SLURM_NTASKS", r->rank);
		return -1;
	}
	if (r->world > 0 && r->rank >= r->world) {
		snprintf(err, errsz, "rank %d of a world of %d (%s): the rank must be below the world size", r->rank,
			 r->world, dist_launcher_name(r->launcher));
		return -1;
	}
	const char *addr = get("MASTER_ADDR");
	if (addr && *addr) {
		if (strlen(addr) >= sizeof r->master_addr) {
			snprintf(err, errsz, "MASTER_ADDR is %zu characters long", strlen(addr));
			return -1;
		}
		strcpy(r->master_addr, addr);
	}
	int port = 0;
	if ((k = env_int(get, "MASTER_PORT", &port, err, errsz)) < 0)
		return -1;
	if (k && (port < 1 || port > 65535)) {
		snprintf(err, errsz, "MASTER_PORT=%d: expected a port, 1 to 65535", port);
		return -1;
	}
	r->master_port = port;
	const char *agent = get("TORCHELASTIC_RUN_ID");
	r->torchrun_agent = agent && *agent;
	return 0;
}

void dist_slice(size_t n, int rank, int world, size_t *lo, size_t *hi)
{
	size_t w = world > 0 ? (size_t)world : 1, r = (size_t)rank, base = n / w, extra = n % w;
	*lo = r * base + (r < extra ? r : extra);
	*hi = *lo + base + (r < extra ? 1 : 0);
}

/* ---- the watchdog --------------------------------------------------------------------------------- */

typedef struct watchdog {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int depth, quit;
	struct timespec since;
	char what[160];
	int rank;
	double timeout_s;
} watchdog;

static double elapsed_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + 1e-9 * (double)(now.tv_nsec - t->tv_nsec);
}

static void *watch_main(void *arg)
{
	watchdog *w = arg;
	pthread_mutex_lock(&w->mu);
	while (!w->quit) {
		if (!w->depth) {
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		double left = w->timeout_s - elapsed_since(&w->since);
		if (left <= 0) {
			/* stderr only, then out: no locks of anyone else's taken, nothing flushed that could block */
			char msg[400];
			int n = snprintf(msg, sizeof msg,
					 "%s[rank %d]: waited %.0f s for the other ranks (%s): one of them has stopped, died "
					 "or never arrived; stopping (--dist-timeout)\n",
					 lfm_progname(), w->rank, w->timeout_s, w->what);
			if (n > 0 && write(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1) < 0)
				n = 0;
			_exit(LFM_EXIT_IO);
		}
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		double step = left < 0.5 ? left : 0.5;
		until.tv_sec += (time_t)step;
		until.tv_nsec += (long)((step - (double)(time_t)step) * 1e9);
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cv, &w->mu, &until);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

void dist_watch_begin(dist_comm *c, const char *what)
{
	watchdog *w = c ? c->watch : NULL;
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	if (w->depth++ == 0) {
		clock_gettime(CLOCK_MONOTONIC, &w->since);
		snprintf(w->what, sizeof w->what, "%s", what ? what : "a collective");
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
}

void dist_watch_end(dist_comm *c)
{
	watchdog *w = c ? c->watch : NULL;
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	if (w->depth > 0)
		w->depth--;
	pthread_mutex_unlock(&w->mu);
}

static void watch_start(dist_comm *c)
{
	watchdog *w = xcalloc(1, sizeof *w);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->rank = c->rank;
	w->timeout_s = c->timeout_s;
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0)
		die(LFM_EXIT_IO, "cannot start the ranks' watchdog thread");
	c->watch = w;
}

static void watch_stop(dist_comm *c)
{
	watchdog *w = c->watch;
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->quit = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
	c->watch = NULL;
}

/* ---- opening and the collectives ------------------------------------------------------------------- */

dist_comm *dist_open(const dist_options *o)
{
	dist_options def = {0, 0, NULL};
	if (!o)
		o = &def;
	dist_ranks r;
	char err[512];
	if (dist_ranks_from_env(&r, o->get, err, sizeof err))
		die(LFM_EXIT_USAGE, "the launcher's variables: %s", err);
	dist_comm *c = xcalloc(1, sizeof *c);
	c->rank = r.rank;
	c->world = r.world;
	c->local_rank = r.local_rank;
	c->launcher = r.launcher;
	c->transport = "none";
	c->timeout_s = o->timeout_s > 0 ? o->timeout_s : DIST_DEFAULT_TIMEOUT_S;
	snprintf(c->master_addr, sizeof c->master_addr, "%s", r.master_addr);
	c->port = o->port ? o->port : r.master_port && r.torchrun_agent ? r.master_port + 1 : r.master_port;
	if (c->port > 65535)
		die(LFM_EXIT_USAGE, "MASTER_PORT=%d: the bootstrap's port would be %d (MASTER_PORT + 1, as torchrun's "
				    "agent holds MASTER_PORT): give --dist-port",
		    r.master_port, c->port);
	if (r.launcher == DIST_LAUNCHER_MPI && dist_have_mpi()) {
		if (dist_mpi_start(c, &r, err, sizeof err))
			die(LFM_EXIT_IO, "MPI: %s", err);
	} else if (c->world == 0) {
		die(LFM_EXIT_USAGE, "PMIX_RANK=%d is set but not the world size, which only MPI can tell: this lfm-fit "
				    "was built without MPI",
		    c->rank);
	}
	if (c->world > 1) {
		char tag[32];
		snprintf(tag, sizeof tag, "rank %d", c->rank);
		lfm_set_message_tag(tag);
		watch_start(c);
	}
	return c;
}

void dist_close(dist_comm *c)
{
	if (!c)
		return;
	watch_stop(c);
	if (c->close_transport)
		c->close_transport(c);
	if (c->mpi_inited)
		dist_mpi_finish(c);
	free(c);
}

static void need_transport(const dist_comm *c, void *fn, const char *what)
{
	if (!fn)
		die(LFM_EXIT_IO, "internal error: %s across %d ranks without a transport", what, c->world);
}

void dist_sum_f32(dist_comm *c, float *v, size_t n, const char *what)
{
	if (!c || c->world == 1)
		return;
	need_transport(c, (void *)c->allreduce_f32, what);
	char err[512];
	dist_watch_begin(c, what);
	if (c->allreduce_f32(c, v, n, err, sizeof err))
		die(LFM_EXIT_IO, "summing %s across the ranks (%s): %s", what, c->transport, err);
	dist_watch_end(c);
}

static void reduce_f64(dist_comm *c, double *v, size_t n, dist_op op, const char *what)
{
	if (!c || c->world == 1)
		return;
	need_transport(c, (void *)c->allreduce_f64, what);
	char err[512];
	dist_watch_begin(c, what);
	if (c->allreduce_f64(c, v, n, op, err, sizeof err))
		die(LFM_EXIT_IO, "reducing %s across the ranks (%s): %s", what, c->transport, err);
	dist_watch_end(c);
}

void dist_sum_f64(dist_comm *c, double *v, size_t n, const char *what) { reduce_f64(c, v, n, DIST_SUM, what); }
void dist_max_f64(dist_comm *c, double *v, size_t n, const char *what) { reduce_f64(c, v, n, DIST_MAX, what); }

void dist_broadcast(dist_comm *c, void *buf, size_t bytes, int root, const char *what)
{
	if (!c || c->world == 1)
		return;
	need_transport(c, (void *)c->broadcast, what);
	char err[512];
	dist_watch_begin(c, what);
	if (c->broadcast(c, buf, bytes, root, err, sizeof err))
		die(LFM_EXIT_IO, "broadcasting %s from rank %d (%s): %s", what, root, c->transport, err);
	dist_watch_end(c);
}
