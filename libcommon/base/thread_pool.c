/* thread_pool.c — fixed pthread pool with a parallel for; see thread_pool.h.
 *
 * Items are claimed with an atomic counter, so the lock is taken only to start, join and leave a job.
 * A worker copies the job's description while holding the lock and counts itself in `active`; start
 * and wait wait for `active` to drop to zero, so no worker can still be claiming items of a finished job
 * when the next one resets the counter. */
#include "base/thread_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"

struct thread_pool {
	int size;           /* participants: worker threads + the waiting caller */
	pthread_t *threads; /* size - 1 */
	pthread_mutex_t mu;
	pthread_cond_t work_cv; /* a job started, or shutdown */
	pthread_cond_t idle_cv; /* active dropped to 0 */
	unsigned long generation;
	int running, shutdown, active;
	thread_pool_fn fn;
	void *ctx;
	size_t n;
	atomic_size_t next;
};

struct worker_arg {
	thread_pool *pool;
	int id;
};

static void run_items(thread_pool *p, thread_pool_fn fn, void *ctx, size_t n, int worker)
{
	for (;;) {
		size_t i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
		if (i >= n)
			return;
		fn(ctx, i, worker);
	}
}

static void *worker_main(void *argp)
{
	struct worker_arg arg = *(struct worker_arg *)argp;
	free(argp);
	thread_pool *p = arg.pool;
	unsigned long seen = 0;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->shutdown && (!p->running || p->generation == seen))
			pthread_cond_wait(&p->work_cv, &p->mu);
		if (p->shutdown)
			break;
		seen = p->generation;
		thread_pool_fn fn = p->fn;
		void *ctx = p->ctx;
		size_t n = p->n;
		p->active++;
		pthread_mutex_unlock(&p->mu);
		run_items(p, fn, ctx, n, arg.id);
		pthread_mutex_lock(&p->mu);
		if (--p->active == 0)
			pthread_cond_broadcast(&p->idle_cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

thread_pool *thread_pool_new(int threads)
{
	if (threads <= 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		threads = cpus > 0 ? (int)(cpus < 1024 ? cpus : 1024) : 1;
	}
	thread_pool *p = xcalloc(1, sizeof *p);
	p->size = threads;
	atomic_init(&p->next, 0);
	if (pthread_mutex_init(&p->mu, NULL) != 0 || pthread_cond_init(&p->work_cv, NULL) != 0 ||
	    pthread_cond_init(&p->idle_cv, NULL) != 0)
		die(LFM_EXIT_IO, "thread pool: cannot initialise its lock");
	p->threads = xmalloc_array((size_t)threads, sizeof *p->threads);
	for (int i = 1; i < threads; i++) {
		struct worker_arg *a = xmalloc(sizeof *a);
		a->pool = p;
		a->id = i;
		int rc = pthread_create(&p->threads[i - 1], NULL, worker_main, a);
		if (rc != 0) {
			errno = rc;
			die(LFM_EXIT_IO, "thread pool: cannot create thread %d of %d:", i + 1, threads);
		}
	}
	return p;
}

int thread_pool_size(const thread_pool *p) { return p ? p->size : 1; }

/* Called with the lock held: returns once no worker is inside a job. */
static void wait_idle(thread_pool *p)
{
	while (p->active > 0)
		pthread_cond_wait(&p->idle_cv, &p->mu);
}

void thread_pool_start(thread_pool *p, size_t n, thread_pool_fn fn, void *ctx)
{
	if (!p) {
		for (size_t i = 0; i < n; i++)
			fn(ctx, i, 0);
		return;
	}
	pthread_mutex_lock(&p->mu);
	if (p->running)
		die(LFM_EXIT_IO, "thread pool: a job was started while another one runs (internal error)");
	wait_idle(p);
	p->fn = fn;
	p->ctx = ctx;
	p->n = n;
	atomic_store_explicit(&p->next, 0, memory_order_relaxed);
	p->running = 1;
	p->generation++;
	pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->mu);
}

void thread_pool_wait(thread_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	if (!p->running) {
		pthread_mutex_unlock(&p->mu);
		return;
	}
	thread_pool_fn fn = p->fn;
	void *ctx = p->ctx;
	size_t n = p->n;
	pthread_mutex_unlock(&p->mu);
	run_items(p, fn, ctx, n, 0);
	pthread_mutex_lock(&p->mu);
	/* Every item is claimed; those still running belong to active workers. */
	wait_idle(p);
	p->running = 0;
	pthread_mutex_unlock(&p->mu);
}

void thread_pool_for(thread_pool *p, size_t n, thread_pool_fn fn, void *ctx)
{
	thread_pool_start(p, n, fn, ctx);
	thread_pool_wait(p);
}

void thread_pool_free(thread_pool *p)
{
	if (!p)
		return;
	thread_pool_wait(p);
	pthread_mutex_lock(&p->mu);
	p->shutdown = 1;
	pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 1; i < p->size; i++)
		pthread_join(p->threads[i - 1], NULL);
	pthread_cond_destroy(&p->work_cv);
	pthread_cond_destroy(&p->idle_cv);
	pthread_mutex_destroy(&p->mu);
	free(p->threads);
	free(p);
}
