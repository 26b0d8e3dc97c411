/* mix_lambdas.h — the mix plan's image weights (lfm-mix): lx of lambda index l of epoch e
 * (l = position / per_batch) is Beta(beta, beta) drawn from the Philox stream ("mix.lambda", e, l) of the
 * seed, a pure function of (seed, e, l). They are drawn a chunk of consecutive indices at a time and,
 * when the stream header says how many epochs of how many records follow, ahead of need on a helper
 * thread; either way every value is the same, so the plan does not depend on the thread count. */
#ifndef LFM_MIX_LAMBDAS_H
#define LFM_MIX_LAMBDAS_H

#include <stdint.h>

typedef struct mix_lambdas mix_lambdas;

/* per_epoch: lambda indices in an epoch and epochs: how many (0 when unknown: no helper thread);
 * threads: 1 draws on the calling thread only, >= 2 adds the helper. */
mix_lambdas *mix_lambdas_open(uint64_t seed, double beta, uint64_t per_epoch, uint64_t epochs,
			      int threads);
/* lx for (e, l). Cheapest in order (e, l) = (0, 0), (0, 1), ...; any order gives the same values. */
double mix_lambdas_get(mix_lambdas *s, uint64_t e, uint64_t l);
void mix_lambdas_close(mix_lambdas *s);

#endif
