/* batch_loader.h — training and evaluation batches of pixels from a dataset: decode, CLIP-preprocess and
 * mix each item on a pool of threads, with the next batch prepared while the current one is used.
 *
 * Item b of a batch is
 *     out[b] = lx[b] · pre(x_i[b], flip_i[b]) + (1 − lx[b]) · pre(x_j[b], flip_j[b])        float32 [3, n, n]
 * where pre() is clip_prep_run (image.h: optional horizontal flip first, then Pillow's bicubic resize,
 * centre crop, normalisation) — mixing AFTER preprocessing, as the official text-guided-mixup code mixes
 * normalised tensors. The mix is pixel_mix (pixel_mix.h, the reference a device kernel is checked
 * against): single float32 products and sum, no fused multiply-add, so results are the same bit for bit on
 * every run, thread count and machine with IEEE float32. lx = 1 (the default when lx is NULL) reads
 * image i only, lx = 0 image j only: both give exactly pre(x) of that image, as the formula does.
 *
 * Flips are given per item; batch_flip_coin() is the training augmentation's coin (torch's
 * RandomHorizontalFlip, p = 0.5), a function of (seed, epoch, position in the epoch, which image), so a
 * batch's pixels never depend on thread count, batch boundaries, or where a run was resumed.
 *
 * Double buffer:
 *     batch_loader_start(bl, &batch0);
 *     for (k = 0; k < n; k++) {
 *             const float *px = batch_loader_finish(bl, err, sizeof err);   // waits for batch k
 *             if (!px) die(...);
 *             if (k + 1 < n) batch_loader_start(bl, &batch[k + 1]);    // decoded while k trains
 *             train(px);                                                    // px valid until the next finish
 *     }
 * start copies the description and returns at once: the pool's worker threads fill the other buffer while
 * the caller works (a pool of one thread has no workers, so the work then happens inside finish). The
 * pool must not run other jobs between a start and its finish. batch_loader_load does both at once into
 * a caller's buffer.
 *
 * Errors (an unreadable or corrupt sample) never die: finish/load return NULL/-1 with a message naming the
 * lowest failing item's sample ("sample 123 (train/cat/0001.jpg): ...") and the exit code that fits
 * (LFM_EXIT_DATA or LFM_EXIT_IO) in *code when code is not NULL.
 */
#ifndef LFM_BATCH_LOADER_H
#define LFM_BATCH_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "base/thread_pool.h"
#include "data/dataset.h"

typedef struct batch_desc {
	int count;                      /* B items, 1 .. the loader's max_batch */
	const uint64_t *i;              /* [B] sample index (dataset order) of the first image */
	const uint64_t *j;              /* [B] the partner; NULL: no partner (lx must then be NULL or 1) */
	const float *lx;                /* [B] weight of image i in [0, 1]; NULL: 1 for every item */
	const uint8_t *flip_i, *flip_j; /* [B] non-zero: mirror that image; NULL: no flips */
} batch_desc;

typedef struct batch_loader batch_loader;

/* A loader for batches of up to max_batch images of resolution n from ds, working on pool (borrowed; NULL
 * = the calling thread). Allocates two batch buffers of max_batch x 3 x n x n floats. */
batch_loader *batch_loader_new(const dataset *ds, int n, thread_pool *pool, int max_batch);
void batch_loader_free(batch_loader *bl); /* waits for a batch in flight */

/* Begin preparing a batch (the description is copied). Dies (internal error) if one is already in flight
 * or the description is invalid (count out of range, lx outside [0, 1] or not finite, an index beyond the
 * dataset). */
void batch_loader_start(batch_loader *bl, const batch_desc *d);
/* Wait for the batch begun by the last start: its pixels [count, 3, n, n], valid until the next finish,
 * or NULL with a message in err (and *code set). */
const float *batch_loader_finish(batch_loader *bl, int *code, char *err, size_t errsz);
/* Prepare one batch into out [count, 3, n, n] and wait for it: 0, or -1 with err/code (failed items'
 * slots are zero). Must not be called while a batch is in flight. */
int batch_loader_load(batch_loader *bl, const batch_desc *d, float *out, int *code, char *err, size_t errsz);

/* ---- raw batches, for a device that preprocesses and mixes (cuda/cuda_preprocess.h) ----------------
 * A raw loader decodes each item's two images (i, then j; j = i without a partner) into interleaved RGB8
 * of the one size w x h that every image must have (CIFAR's 32 x 32, or a folder of same-size images),
 * and leaves the flips, the resize, the normalisation and the mix to the device, which does them bit for
 * bit as clip_prep_run and pixel_mix. A 3 KB image crosses the bus instead of 602 KB of float32 pixels.
 * An image of another size fails its batch like a corrupt one: "sample 12 (key): 40 x 30, not the 32 x 32
 * of the others (--preprocess cpu takes mixed sizes)". */
typedef struct batch_raw {
	int count, width, height;
	const uint8_t *images_i, *images_j; /* [count][height][width][3] each */
	const uint8_t *flip_i, *flip_j;     /* [count], 0 or 1 */
	const float *lx;                    /* [count] */
} batch_raw;
batch_loader *batch_loader_new_raw(const dataset *ds, int width, int height, thread_pool *pool, int max_batch);
/* The raw counterparts of finish and load: the batch (valid until the next finish / load), or NULL. */
const batch_raw *batch_loader_finish_raw(batch_loader *bl, int *code, char *err, size_t errsz);
const batch_raw *batch_loader_load_raw(batch_loader *bl, const batch_desc *d, int *code, char *err, size_t errsz);
/* The decoded size of sample idx (what a raw loader is made for): 0, or -1 with a message naming it. */
int batch_loader_sample_size(const dataset *ds, uint64_t idx, int *width, int *height, char *err, size_t errsz);

/* The training flip coin for image `which` (0: i, 1: j) of the record at `position` of epoch `epoch`:
 * 1 with probability 1/2, from rng.h's stream rng_stream_id("fit.flip", epoch, 2 * position + which). */
int batch_flip_coin(uint64_t seed, uint64_t epoch, uint64_t position, int which);

#endif
