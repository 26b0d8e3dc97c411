/* losses.h — the classification losses of lfm-fit on SOFT targets: logits [B, C] and targets [B, C] (each
 * row a distribution, e.g. λy·e_i + (1−λy)·e_j from the mix plan) give the mean loss over the batch and
 * d(loss)/d(logits). All of them reduce to the usual hard-label loss when a target row is one-hot.
 *
 * Definitions (z = one row of logits, y = its target row, p = softmax, everything averaged over the B rows):
 *
 *   ce     soft-target cross-entropy, PyTorch's -(y * log_softmax(z)).sum(1).mean():
 *              L = −Σ_k y_k log softmax(z)_k
 *   balce  balanced softmax / logit adjustment (Ren et al. 2020; Menon et al. 2021): soft CE on
 *              z_k + log n_k                                 (n_k = training count of class k)
 *   focal  focal loss (Lin et al. 2017) extended to soft targets term by term:
 *              L = −Σ_k y_k (1 − p_k)^γ log p_k
 *          (for a one-hot target this is the usual −(1 − p_t)^γ log p_t). The official code's FocalLoss
 *          applies (1 − e^{−CE})^γ to the whole cross-entropy instead and defaults to γ = 0, which makes it
 *          plain CE; our default is Lin et al.'s γ = 2.
 *   ldam   LDAM (Cao et al. 2019): margins m_k = M · n_k^{−1/4} / max_j n_j^{−1/4} (the largest margin is
 *          M = 0.5, for the rarest class), then soft CE on
 *              s · (z_k − y_k m_k)                           (s = 30)
 *          i.e. each class's logit loses its margin in proportion to its target weight; for a one-hot
 *          target this subtracts m_t from the target logit only, as the official LDAMLoss.
 *   mms    the official MarginMetricSoftmax (the text-guided-mixup code's losses.py), exactly: with the
 *          text-distance offsets O[a][k] = l · (1 − t_a·t_k) (t = L2-normalised text features, l = 0.3)
 *          and temperature τ = 0.01, take the two largest entries of y, (w0, c0) and (w1, c1) (torch.topk
 *          order: larger weight first; ties go to the lower class index here), and
 *              L = w0 · CE((z + O[c0]) / τ, c0) + w1 · CE((z + O[c1]) / τ, c1)
 *          — a weighted sum of two hard-label losses, each with its own label's margin row. Weight outside
 *          the top two is ignored and the weights are not renormalised (as the official code). A term
 *          whose weight is 0 is skipped (PyTorch multiplies it by 0, which differs only if that term is not
 *          finite). Matches golden/tiny-clip's mms_dlogits.npy and reference.json's loss to < 1e-6.
 *
 * Computation: each row in double precision (log-sum-exp with the row maximum), results rounded to float.
 * Non-finite input: if any logit or target of the batch is NaN or infinite the loss is NaN and every
 * dlogits entry is NaN, so a caller tests isfinite(loss) once (and never crashes). B == 0 gives NaN
 * (the mean of nothing, as PyTorch).
 */
#ifndef LFM_LOSSES_H
#define LFM_LOSSES_H

#include <stddef.h>

typedef enum { LOSS_CE, LOSS_BALCE, LOSS_FOCAL, LOSS_LDAM, LOSS_MMS, LOSS_KIND_COUNT } loss_kind;

/* "ce", "balce", "focal", "ldam", "mms", NULL — index = loss_kind (for opt_choice). */
extern const char *const loss_kind_names[];
const char *loss_kind_name(loss_kind k); /* "?" when out of range */
/* 0 and *out set, or -1 for an unknown name. */
int loss_kind_parse(const char *name, loss_kind *out);

/* What a loss needs; fields a kind does not use are ignored. Inputs are copied by loss_init. */
typedef struct loss_config {
	loss_kind kind;
	int classes;                 /* C */
	const float *counts;         /* [C] training counts n_k > 0 (balce, ldam) */
	const float *text_features;  /* [C, text_dim] class text features, normalised again by loss_init (mms) */
	int text_dim;
	double focal_gamma;          /* γ >= 0, default 2 */
	double ldam_max_margin;      /* M > 0, default 0.5 */
	double ldam_scale;           /* s > 0, default 30 */
	double mms_margin;           /* l, default 0.3 */
	double mms_temperature;      /* τ > 0, default 0.01 */
} loss_config;

/* kind, C and the defaults above; counts and text features left NULL. */
void loss_config_defaults(loss_config *c, loss_kind kind, int classes);

/* A prepared loss: per-class constants computed once. */
typedef struct loss_fn {
	loss_kind kind;
	int classes;
	float *class_shift; /* [C] balce: log n_k */
	float *margins;     /* [C] ldam: m_k */
	float *offsets;     /* [C, C] mms: l · (1 − t_a·t_k), row a = the label's margin row */
	double gamma, scale, temperature;
} loss_fn;

/* Validate c (positive finite counts, text features present and non-zero, parameters in range) and
 * prepare L. 0, or -1 with a message in err ("counts: class 3 has count 0; balce needs counts > 0"). */
int loss_init(loss_fn *L, const loss_config *c, char *err, size_t errsz);
void loss_free(loss_fn *L);

/* Mean loss over the B rows of logits [B, C] against targets [B, C]; when dlogits [B, C] is not NULL it
 * receives d(loss)/d(logits) (overwritten, not accumulated). NaN for non-finite input (see above). */
double loss_forward_backward(const loss_fn *L, const float *logits, const float *targets, int B,
			     float *dlogits);
/* The same rows divided by `divisor` instead of B: (1/divisor)·Σ row losses and its gradient — one rank's
 * part of a data-parallel batch of divisor rows (divisor = B gives loss_forward_backward's bits). B = 0
 * returns 0 (and writes nothing). */
double loss_forward_backward_part(const loss_fn *L, const float *logits, const float *targets, int B, int divisor,
				  float *dlogits);

#endif
