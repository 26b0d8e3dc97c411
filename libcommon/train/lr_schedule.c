/* lr_schedule.c — cosine annealing per epoch (see lr_schedule.h). */
#include "train/lr_schedule.h"

#include <math.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

double lr_cosine(double lr0, double eta_min, int t_max, long epoch)
{
	if (t_max < 1)
		return lr0;
	return eta_min + (lr0 - eta_min) * (1 + cos(M_PI * (double)epoch / t_max)) / 2;
}

/* PyTorch 1.13's CosineAnnealingLR.get_lr(), branch for branch (last_epoch = e, _step_count > 1). */
double lr_cosine_recursive(double lr0, double eta_min, int t_max, long epoch)
{
	if (t_max < 1)
		return lr0;
	double lr = lr0;
	for (long e = 1; e <= epoch; e++) {
		if ((e - 1 - t_max) % (2L * t_max) == 0)
			lr = lr + (lr0 - eta_min) * (1 - cos(M_PI / t_max)) / 2;
		else
			lr = (1 + cos(M_PI * (double)e / t_max)) / (1 + cos(M_PI * (double)(e - 1) / t_max)) *
				     (lr - eta_min) +
			     eta_min;
	}
	return lr;
}
