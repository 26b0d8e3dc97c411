/* lr_schedule.h — the learning rate per epoch: cosine annealing as torch.optim.lr_scheduler.CosineAnnealingLR
 * (T_max = the number of epochs, eta_min = the minimum rate), stepped once per epoch, so epoch e (0-based)
 * trains at
 *     lr_e = eta_min + (lr0 − eta_min) · (1 + cos(π e / T_max)) / 2
 * — lr0 at epoch 0, eta_min at e = T_max; past T_max the cosine continues (rises again), as PyTorch's.
 *
 * We use this closed form (PyTorch's own _get_closed_form_lr). PyTorch's scheduler, stepped normally,
 * instead updates the rate recursively from the previous one,
 *     lr_e = eta_min + (lr_{e−1} − eta_min) · (1 + cos(π e / T)) / (1 + cos(π (e−1) / T)),
 * which is the same number in exact arithmetic but accumulates rounding, differing in the last bits
 * (relative ~1e-16 per epoch). The closed form is chosen because it is a pure function of the epoch: a
 * resumed run gets exactly the rate an uninterrupted one had without replaying the schedule, and the value
 * is the mathematically intended one. lr_cosine_recursive reproduces PyTorch's values for comparison.
 */
#ifndef LFM_LR_SCHEDULE_H
#define LFM_LR_SCHEDULE_H

/* The rate of epoch `epoch` (>= 0). t_max < 1 means no schedule: lr0 throughout. */
double lr_cosine(double lr0, double eta_min, int t_max, long epoch);
/* The same as PyTorch's CosineAnnealingLR.get_lr() computes it, stepping from epoch 0 (O(epoch)). */
double lr_cosine_recursive(double lr0, double eta_min, int t_max, long epoch);

#endif
