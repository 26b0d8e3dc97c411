/* batches.c — see batches.h. The loader copies a batch's description when it starts, so one record slot
 * suffices; the targets of the batch in training must survive the reading of the next, so there are two
 * target buffers, alternating with the loader's two pixel buffers. */
#include "batches.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "data/batch_loader.h"
#include "dist/dist.h"

struct batches {
	batch_loader *bl;
	record_source *src;
	int B, C, Bl; /* Bl: the largest slice of a batch this rank loads */
	int rank, world;
	uint64_t per_epoch, seed;
	/* the records of the batch being read */
	uint64_t *i, *j;
	float *lx;
	uint8_t *flip_i, *flip_j;
	/* two batches: the one waited for (trained) and the one in flight */
	float *targets[2];
	int count[2], global_count[2], loading[2];
	uint64_t epoch[2], pos[2];
	int raw;       /* the loader makes raw batches */
	int in_flight; /* slot of the batch in flight, -1: none */
	int current;   /* slot of the batch waited for, -1: none */
};

batches *batches_new(const dataset *ds, int R, int raw_w, int raw_h, thread_pool *pool, int B, int C,
		     uint64_t per_epoch, uint64_t seed, record_source *src, int rank, int world)
{
	batches *b = xcalloc(1, sizeof *b);
	size_t lo, hi;
	dist_slice((size_t)B, 0, world, &lo, &hi); /* rank 0's slice is a largest one */
	int Bl = (int)(hi - lo) > 0 ? (int)(hi - lo) : 1;
	b->raw = raw_w > 0;
	b->bl = b->raw ? batch_loader_new_raw(ds, raw_w, raw_h, pool, Bl) : batch_loader_new(ds, R, pool, Bl);
	b->src = src;
	b->B = B;
	b->Bl = Bl;
	b->rank = rank;
	b->world = world;
	b->C = C;
	b->per_epoch = per_epoch;
	b->seed = seed;
	b->i = xmalloc_array((size_t)Bl, sizeof *b->i);
	b->j = xmalloc_array((size_t)Bl, sizeof *b->j);
	b->lx = xmalloc_array((size_t)Bl, sizeof *b->lx);
	b->flip_i = xmalloc_array((size_t)Bl, 1);
	b->flip_j = xmalloc_array((size_t)Bl, 1);
	for (int k = 0; k < 2; k++)
		b->targets[k] = xmalloc_array((size_t)Bl * C, sizeof *b->targets[k]);
	b->in_flight = b->current = -1;
	return b;
}

void batches_free(batches *b)
{
	if (!b)
		return;
	batch_loader_free(b->bl);
	free(b->i);
	free(b->j);
	free(b->lx);
	free(b->flip_i);
	free(b->flip_j);
	free(b->targets[0]);
	free(b->targets[1]);
	free(b);
}

/* Read the records at positions pos.. of epoch e into slot s and start loading this rank's slice of them
 * (every rank reads them all: the stream's position is the same on every rank). */
static int read_and_start(batches *b, int s, uint64_t e, uint64_t pos, char *err, size_t errsz)
{
	int count = (int)(b->per_epoch - pos < (uint64_t)b->B ? b->per_epoch - pos : (uint64_t)b->B);
	size_t lo, hi;
	dist_slice((size_t)count, b->rank, b->world, &lo, &hi);
	int mine = (int)(hi - lo);
	float *targets = b->targets[s];
	memset(targets, 0, (size_t)mine * b->C * sizeof *targets);
	for (int k = 0; k < count; k++) {
		fit_record r;
		if (record_source_try_next(b->src, &r, err, errsz))
			return -1;
		if ((size_t)k < lo || (size_t)k >= hi)
			continue;
		int m = k - (int)lo;
		b->i[m] = r.i;
		b->j[m] = r.j;
		b->lx[m] = r.lx;
		b->flip_i[m] = (uint8_t)batch_flip_coin(b->seed, e, pos + (uint64_t)k, 0);
		b->flip_j[m] = (uint8_t)batch_flip_coin(b->seed, e, pos + (uint64_t)k, 1);
		float *t = targets + (size_t)m * b->C;
		t[r.yi] += r.ly;
		t[r.yj] += 1.0f - r.ly;
	}
	b->count[s] = mine;
	b->global_count[s] = count;
	b->epoch[s] = e;
	b->pos[s] = pos;
	b->loading[s] = mine > 0;
	if (mine > 0)
		batch_loader_start(b->bl, &(batch_desc){mine, b->i, b->j, b->lx, b->flip_i, b->flip_j});
	b->in_flight = s;
	return 0;
}

int batches_begin(batches *b, uint64_t e, uint64_t pos, char *err, size_t errsz)
{
	if (b->in_flight >= 0)
		die(LFM_EXIT_IO, "internal error: an epoch begun with a batch in flight");
	b->current = -1;
	return read_and_start(b, 0, e, pos, err, errsz);
}

int batches_wait(batches *b, fit_batch *out, int *code, char *err, size_t errsz)
{
	if (b->in_flight < 0)
		die(LFM_EXIT_IO, "internal error: batches_wait without a batch in flight");
	int s = b->in_flight;
	b->in_flight = -1;
	const float *px = NULL;
	const batch_raw *raw = NULL;
	if (b->loading[s] && (b->raw ? !(raw = batch_loader_finish_raw(b->bl, code, err, errsz))
				     : !(px = batch_loader_finish(b->bl, code, err, errsz))))
		return -1;
	b->current = s;
	*out = (fit_batch){b->count[s], b->global_count[s], b->epoch[s], b->pos[s], px, b->targets[s], raw};
	return 0;
}

int batches_read_ahead(batches *b, char *err, size_t errsz)
{
	int s = b->current;
	if (s < 0 || b->in_flight >= 0)
		die(LFM_EXIT_IO, "internal error: a read-ahead without a batch waited for, or with one in flight");
	uint64_t next = b->pos[s] + (uint64_t)b->global_count[s];
	if (next >= b->per_epoch)
		return 0;
	return read_and_start(b, s ^ 1, b->epoch[s], next, err, errsz) ? -1 : 1;
}
