/* mix.c — see mix.h. */
#include "train/mix.h"

const char *const mix_method_names[] = {"lfm", "mixup", "remix", "remix-official", "none", 0};

double mix_shift(double alpha, double ni, double nj) { return alpha * (ni - nj) / (ni + nj); }

double mix_clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

double mix_label_shift(double lx, double alpha, double ni, double nj)
{
	return mix_clamp01(lx - mix_shift(alpha, ni, nj));
}

double mix_label_remix(double lx, double ni, double nj, double kappa, double tau, int official)
{
	double ratio = ni / nj;
	if (ratio >= kappa && lx < tau)
		return official ? 1 : 0;
	if (ratio <= 1 / kappa && 1 - lx < tau)
		return official ? 0 : 1;
	return lx;
}

double mix_label(const mix_params *p, double lx, double ni, double nj)
{
	switch (p->method) {
	case MIX_LFM:
		return mix_label_shift(lx, p->alpha, ni, nj);
	case MIX_MIXUP:
		return lx;
	case MIX_REMIX:
		return mix_label_remix(lx, ni, nj, p->kappa, p->remix_tau, 0);
	case MIX_REMIX_OFFICIAL:
		return mix_label_remix(lx, ni, nj, p->kappa, p->remix_tau, 1);
	case MIX_NONE:
		break;
	}
	return 1;
}
