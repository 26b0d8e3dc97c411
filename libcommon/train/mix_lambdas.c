/* mix_lambdas.c — see mix_lambdas.h.
 *
 * The helper thread walks the schedule the header promises — epochs 0 .. epochs-1, each per_epoch
 * indices — in chunks, into a ring of slots; the reader takes the slots in the same order. A slot is
 * the reader's from the moment it takes it until it takes the next, so neither side copies. When the
 * records stray from the schedule (an epoch shorter than promised, say), the helper is stopped and the
 * rest is drawn on the calling thread: only the speed differs, never a value. */
#include "train/mix_lambdas.h"

#include <pthread.h>
#include <stdlib.h>

#include "base/errors.h"
#include "base/rng.h"

enum { CHUNK = 2048, SLOTS = 8 };

typedef struct chunk {
	uint64_t epoch, first, len; /* lx of indices [first, first + len) of epoch */
	double lx[CHUNK];
} chunk;

struct mix_lambdas {
	uint64_t seed, purpose, per_epoch, epochs;
	double beta;
	chunk local;         /* drawn on the calling thread */
	const chunk *cur;    /* the chunk mix_lambdas_get reads: &local, a ring slot, or NULL */

	/* the helper */
	int helper;          /* running (and not yet joined) */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t not_full, not_empty;
	chunk *ring;         /* [SLOTS] */
	uint64_t produced, consumed; /* chunks written by the helper / released by the reader */
	int holding;         /* the reader holds ring[consumed % SLOTS] */
	int stop, finished;
};

static void draw_chunk(const mix_lambdas *s, chunk *c, uint64_t e, uint64_t first, uint64_t len)
{
	uint64_t streams[CHUNK];
	for (uint64_t k = 0; k < len; k++)
		streams[k] = rng_stream_id_hashed(s->purpose, e, first + k);
	rng_beta_streams(s->seed, streams, (size_t)len, s->beta, s->beta, c->lx);
	c->epoch = e;
	c->first = first;
	c->len = len;
}

/* Chunk length at index first of an epoch: CHUNK, less in an epoch's last chunk (nothing drawn past
 * it), CHUNK again beyond the promised end (a stream that strays). */
static uint64_t chunk_len(const mix_lambdas *s, uint64_t first)
{
	return s->per_epoch > first && s->per_epoch - first < CHUNK ? s->per_epoch - first : CHUNK;
}

static void *helper_main(void *arg)
{
	mix_lambdas *s = arg;
	for (uint64_t e = 0; e < s->epochs; e++)
		for (uint64_t first = 0; first < s->per_epoch; first += CHUNK) {
			pthread_mutex_lock(&s->mu);
			while (s->produced - s->consumed >= SLOTS && !s->stop)
				pthread_cond_wait(&s->not_full, &s->mu);
			int stop = s->stop;
			pthread_mutex_unlock(&s->mu);
			if (stop)
				return NULL;
			/* slot produced % SLOTS is not the reader's: it holds at most ring[consumed % SLOTS] */
			draw_chunk(s, &s->ring[s->produced % SLOTS], e, first, chunk_len(s, first));
			pthread_mutex_lock(&s->mu);
			s->produced++;
			pthread_cond_signal(&s->not_empty);
			pthread_mutex_unlock(&s->mu);
		}
	pthread_mutex_lock(&s->mu);
	s->finished = 1;
	pthread_cond_signal(&s->not_empty);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void stop_helper(mix_lambdas *s)
{
	if (!s->helper)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_broadcast(&s->not_full);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	s->helper = 0;
	s->cur = NULL; /* it may have pointed into the ring */
}

/* Release the slot held and take the next one in schedule order; NULL when the helper has finished. */
static const chunk *next_slot(mix_lambdas *s)
{
	pthread_mutex_lock(&s->mu);
	if (s->holding) {
		s->consumed++;
		s->holding = 0;
		pthread_cond_signal(&s->not_full);
	}
	while (s->produced == s->consumed && !s->finished)
		pthread_cond_wait(&s->not_empty, &s->mu);
	const chunk *c = NULL;
	if (s->produced != s->consumed) {
		c = &s->ring[s->consumed % SLOTS];
		s->holding = 1;
	}
	pthread_mutex_unlock(&s->mu);
	return c;
}

mix_lambdas *mix_lambdas_open(uint64_t seed, double beta, uint64_t per_epoch, uint64_t epochs,
			      int threads)
{
	mix_lambdas *s = xcalloc(1, sizeof *s);
	s->seed = seed;
	s->beta = beta;
	s->purpose = rng_purpose_hash("mix.lambda");
	s->per_epoch = per_epoch;
	s->epochs = epochs;
	if (threads < 2 || per_epoch == 0 || epochs == 0)
		return s;
	s->ring = xmalloc_array(SLOTS, sizeof *s->ring);
	if (pthread_mutex_init(&s->mu, NULL) != 0 || pthread_cond_init(&s->not_full, NULL) != 0 ||
	    pthread_cond_init(&s->not_empty, NULL) != 0)
		die(LFM_EXIT_IO, "cannot create a mutex or condition variable");
	/* No helper (resource limits) only costs speed. */
	s->helper = pthread_create(&s->thread, NULL, helper_main, s) == 0;
	return s;
}

double mix_lambdas_get(mix_lambdas *s, uint64_t e, uint64_t l)
{
	const chunk *c = s->cur;
	if (c && c->epoch == e && l >= c->first && l - c->first < c->len)
		return c->lx[l - c->first];
	if (s->helper) {
		c = next_slot(s);
		if (c && c->epoch == e && l >= c->first && l - c->first < c->len) {
			s->cur = c;
			return c->lx[l - c->first];
		}
		stop_helper(s); /* off the schedule (or past its end): draw here from now on */
	}
	draw_chunk(s, &s->local, e, l, chunk_len(s, l));
	s->cur = &s->local;
	return s->local.lx[0];
}

void mix_lambdas_close(mix_lambdas *s)
{
	if (!s)
		return;
	if (s->ring) {
		stop_helper(s);
		pthread_cond_destroy(&s->not_full);
		pthread_cond_destroy(&s->not_empty);
		pthread_mutex_destroy(&s->mu);
		free(s->ring);
	}
	free(s);
}
