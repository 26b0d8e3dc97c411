/* losses.c — soft-target CE, BalCE, Focal, LDAM and MMS: forward and backward, row by row in double.
 * The definitions are in losses.h. No allocation happens per call: every row is computed in three passes
 * over its C logits (maximum, log-sum-exp, terms and gradient), the transformed logit recomputed each time
 * (it is a multiply-add), so the function can run inside any loop without a failure path. */
#include "train/losses.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "train/loss_rows.h"

const char *const loss_kind_names[] = {"ce", "balce", "focal", "ldam", "mms", NULL};

const char *loss_kind_name(loss_kind k)
{
	return (unsigned)k < LOSS_KIND_COUNT ? loss_kind_names[k] : "?";
}

int loss_kind_parse(const char *name, loss_kind *out)
{
	for (int k = 0; k < LOSS_KIND_COUNT; k++)
		if (strcmp(name, loss_kind_names[k]) == 0) {
			*out = (loss_kind)k;
			return 0;
		}
	return -1;
}

void loss_config_defaults(loss_config *c, loss_kind kind, int classes)
{
	memset(c, 0, sizeof *c);
	c->kind = kind;
	c->classes = classes;
	c->focal_gamma = 2.0;
	c->ldam_max_margin = 0.5;
	c->ldam_scale = 30.0;
	c->mms_margin = 0.3;
	c->mms_temperature = 0.01;
}

/* Counts must be finite and positive: log n_k and n_k^(-1/4) must exist. */
static int check_counts(const loss_config *c, char *err, size_t errsz)
{
	const char *name = loss_kind_name(c->kind);
	if (!c->counts)
		return err_set(err, errsz, "%s needs the class counts", name);
	for (int k = 0; k < c->classes; k++)
		if (!(c->counts[k] > 0) || !isfinite(c->counts[k]))
			return err_set(err, errsz, "counts: class %d has count %g; %s needs finite counts > 0", k,
				    (double)c->counts[k], name);
	return 0;
}

void loss_free(loss_fn *L)
{
	free(L->class_shift);
	free(L->margins);
	free(L->offsets);
	memset(L, 0, sizeof *L);
}

int loss_init(loss_fn *L, const loss_config *c, char *err, size_t errsz)
{
	memset(L, 0, sizeof *L);
	if ((unsigned)c->kind >= LOSS_KIND_COUNT)
		return err_set(err, errsz, "unknown loss kind %d", (int)c->kind);
	if (c->classes < 1)
		return err_set(err, errsz, "%s: %d classes; at least 1 needed", loss_kind_name(c->kind), c->classes);
	int C = c->classes;
	L->kind = c->kind;
	L->classes = C;
	L->gamma = 0;
	L->scale = 1;
	L->temperature = 1;
	switch (c->kind) {
	case LOSS_CE:
		break;
	case LOSS_BALCE:
		if (check_counts(c, err, errsz))
			return -1;
		L->class_shift = xmalloc_array((size_t)C, sizeof *L->class_shift);
		for (int k = 0; k < C; k++)
			L->class_shift[k] = (float)log((double)c->counts[k]);
		break;
	case LOSS_FOCAL:
		if (!(c->focal_gamma >= 0) || !isfinite(c->focal_gamma))
			return err_set(err, errsz, "focal: gamma %g; must be finite and >= 0", c->focal_gamma);
		L->gamma = c->focal_gamma;
		break;
	case LOSS_LDAM: {
		if (check_counts(c, err, errsz))
			return -1;
		if (!(c->ldam_max_margin > 0) || !isfinite(c->ldam_max_margin))
			return err_set(err, errsz, "ldam: max margin %g; must be finite and > 0", c->ldam_max_margin);
		if (!(c->ldam_scale > 0) || !isfinite(c->ldam_scale))
			return err_set(err, errsz, "ldam: scale %g; must be finite and > 0", c->ldam_scale);
		/* As LDAM-DRW: m = n^(-1/4), rescaled so the largest (rarest class) is max_margin. */
		double largest = 0;
		for (int k = 0; k < C; k++)
			largest = fmax(largest, 1.0 / sqrt(sqrt((double)c->counts[k])));
		L->margins = xmalloc_array((size_t)C, sizeof *L->margins);
		for (int k = 0; k < C; k++)
			L->margins[k] = (float)(1.0 / sqrt(sqrt((double)c->counts[k])) * (c->ldam_max_margin / largest));
		L->scale = c->ldam_scale;
		break;
	}
	case LOSS_MMS: {
		if (!c->text_features || c->text_dim < 1)
			return err_set(err, errsz, "mms needs the class text features");
		if (!isfinite(c->mms_margin))
			return err_set(err, errsz, "mms: margin %g; must be finite", c->mms_margin);
		if (!(c->mms_temperature > 0) || !isfinite(c->mms_temperature))
			return err_set(err, errsz, "mms: temperature %g; must be finite and > 0", c->mms_temperature);
		size_t D = (size_t)c->text_dim;
		double *t = xmalloc_array((size_t)C * D, sizeof *t);
		for (int a = 0; a < C; a++) {
			const float *row = c->text_features + (size_t)a * D;
			double ss = 0;
			for (size_t i = 0; i < D; i++)
				ss += (double)row[i] * row[i];
			if (!(ss > 0) || !isfinite(ss)) {
				free(t);
				return err_set(err, errsz, "text features: row %d is %s; mms needs finite non-zero rows", a,
					    ss == 0 ? "zero" : "not finite");
			}
			double inv = 1.0 / sqrt(ss);
			for (size_t i = 0; i < D; i++)
				t[(size_t)a * D + i] = row[i] * inv;
		}
		L->offsets = xmalloc_array((size_t)C * C, sizeof *L->offsets);
		for (int a = 0; a < C; a++)
			for (int k = 0; k < C; k++) {
				double dot = 0;
				for (size_t i = 0; i < D; i++)
					dot += t[(size_t)a * D + i] * t[(size_t)k * D + i];
				L->offsets[(size_t)a * C + k] = (float)(c->mms_margin * (1.0 - dot));
			}
		free(t);
		L->temperature = c->mms_temperature;
		break;
	}
	default:
		break;
	}
	return 0;
}

double loss_forward_backward(const loss_fn *L, const float *logits, const float *targets, int B,
			     float *dlogits)
{
	return loss_forward_backward_part(L, logits, targets, B, B, dlogits);
}

double loss_forward_backward_part(const loss_fn *L, const float *logits, const float *targets, int B, int divisor,
				  float *dlogits)
{
	if (B == 0 && divisor > 0)
		return 0;
	int C = L->classes;
	size_t n = (size_t)(B > 0 ? B : 0) * (size_t)C;
	int finite = B > 0;
	for (size_t i = 0; i < n && finite; i++)
		finite = isfinite(logits[i]) && isfinite(targets[i]);
	if (!finite) {
		if (dlogits)
			for (size_t i = 0; i < n; i++)
				dlogits[i] = NAN;
		return NAN;
	}
	double inv_B = 1.0 / divisor, total = 0;
	loss_row_params rp = {(int)L->kind, C, L->class_shift, L->margins, L->offsets, L->gamma, L->scale, L->temperature};
	for (int b = 0; b < B; b++) {
		const float *z = logits + (size_t)b * C, *y = targets + (size_t)b * C;
		total += loss_row(&rp, z, y, inv_B, dlogits ? dlogits + (size_t)b * C : NULL);
	}
	return total * inv_B;
}
