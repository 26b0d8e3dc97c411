/* thread_pool.h — a small fixed pool of threads running a parallel for over [0, n).
 *
 *   thread_pool *pool = thread_pool_new(0);          // 0 = one thread per online CPU
 *   thread_pool_for(pool, n, fn, ctx);               // fn(ctx, i, worker) for every i, then returns
 *   thread_pool_start(pool, n, fn, ctx); ...; thread_pool_wait(pool);   // the same, overlapped
 *   thread_pool_free(pool);
 *
 * A pool of T threads has T participants: T - 1 worker threads and the caller, which joins in while it
 * waits (so a pool of 1 creates no thread and runs everything in thread_pool_wait). Items are handed out
 * one at a time in increasing order; `worker` (0 .. T-1) identifies the participant, so a caller can give
 * each its own scratch space. One job at a time per pool; the pool holds no global state.
 */
#ifndef LFM_THREAD_POOL_H
#define LFM_THREAD_POOL_H

#include <stddef.h>

typedef struct thread_pool thread_pool;
typedef void (*thread_pool_fn)(void *ctx, size_t index, int worker);

/* threads 0 = the number of online CPUs. Dies (LFM_EXIT_IO) when a thread cannot be created. */
thread_pool *thread_pool_new(int threads);
int thread_pool_size(const thread_pool *p); /* participants; 1 for a NULL pool */

/* Start a job (dies if one is running), then wait for it. A NULL pool runs fn in the caller. */
void thread_pool_start(thread_pool *p, size_t n, thread_pool_fn fn, void *ctx);
void thread_pool_wait(thread_pool *p);
void thread_pool_for(thread_pool *p, size_t n, thread_pool_fn fn, void *ctx);

void thread_pool_free(thread_pool *p);

#endif
