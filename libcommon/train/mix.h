/* mix.h — label rules of the mixup methods: the soft target is ly*onehot(yi) + (1-ly)*onehot(yj) for an
 * image lx*x_i + (1-lx)*x_j. ni, nj are the training counts of yi and yj.
 *
 *   lfm    ly = clamp(lx - alpha (ni - nj) / (ni + nj), 0, 1)          (the paper's label shift, Alg. 2)
 *   mixup  ly = lx
 *   remix  ly = 0 if ni/nj >= kappa and lx < tau; 1 if ni/nj <= 1/kappa and 1 - lx < tau; else lx
 *          (Chou et al. 2020: the label goes to the minority class)
 *   remix-official: the official text-guided-mixup code's Remix, with the two cases swapped (the label
 *          goes to the majority class); kept only so its table can be reproduced.
 *   none   lx = ly = 1 (no mixing)
 */
#ifndef LFM_MIX_H
#define LFM_MIX_H

typedef enum { MIX_LFM, MIX_MIXUP, MIX_REMIX, MIX_REMIX_OFFICIAL, MIX_NONE } mix_method;

/* NULL-terminated names in enum order, for opt_choice and stream headers. */
extern const char *const mix_method_names[];

typedef struct mix_params {
	mix_method method;
	double alpha;     /* lfm label shift strength */
	double kappa;     /* remix ratio threshold */
	double remix_tau; /* remix lambda threshold */
} mix_params;

double mix_label_shift(double lx, double alpha, double ni, double nj);
/* The shift alone, alpha (ni - nj) / (ni + nj): mix_label_shift(lx, ...) is clamp(lx - mix_shift(...), 0, 1)
 * to the last bit, so a tool may tabulate it per class pair. */
double mix_shift(double alpha, double ni, double nj);
double mix_clamp01(double v);
double mix_label_remix(double lx, double ni, double nj, double kappa, double tau, int official);
/* ly for any method (for MIX_NONE returns 1). */
double mix_label(const mix_params *p, double lx, double ni, double nj);

#endif
