/* golden.h — tests/golden-check: compares this project's numbers with the reference outputs of a golden
 * folder (../shared/golden/tiny-clip, or any folder made the same way for another model size).
 * Each check prints one line per file compared: "NAME  WORST_ERROR  ok|FAIL". */
#ifndef LFM_GOLDEN_H
#define LFM_GOLDEN_H

#include <stddef.h>
#include <stdint.h>

typedef struct golden_ctx {
	const char *dir;
	int failures;
	int compared;
} golden_ctx;

/* "DIR/file", freshly allocated. */
char *golden_path(const golden_ctx *g, const char *file);
int golden_exists(const golden_ctx *g, const char *file);
/* Print the line and count a failure when err > tol (or err is NaN). */
void golden_report(golden_ctx *g, const char *name, double err, double tol);
/* Print "NAME  -  FAIL" with a reason, for a comparison that could not be made. */
void golden_fail(golden_ctx *g, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* ||a - b|| / ||b|| in double precision (0 when both are zero). */
double golden_rel_l2(const float *a, const float *b, size_t n);
/* max |a - b|. */
double golden_max_abs(const float *a, const float *b, size_t n);

/* Shared loaders. Each reports a failure line under `report` and returns NULL when the file is missing
 * or unusable. */
struct json_value;
/* DIR/reference.json parsed (free with json_free). */
struct json_value *golden_load_reference(golden_ctx *g, const char *report);
/* reference.json's number at a.b (b NULL: at a), or def when absent or not a number. */
double golden_ref_number(const struct json_value *root, const char *a, const char *b, double def);
/* A float32 array DIR/file of rank ndim (shape out); the npy reader dies on a malformed file. */
float *golden_load_f32(golden_ctx *g, const char *file, int ndim, int64_t *shape, const char *report);

/* The towers `towers` (CLIP_TEXT, CLIP_VISION, CLIP_BOTH) of DIR/file into *m; 0, or -1 after reporting. */
struct clip_model;
int golden_load_model(golden_ctx *g, const char *file, int towers, struct clip_model *m, const char *report);

/* The golden training batch: train_x [B,3,R,R], train_y [B,C] (soft targets), train_text_features [C,D],
 * checked against the model's resolution R and embedding width D. */
typedef struct golden_batch {
	float *x, *y, *text;
	int B, C;
} golden_batch;
struct clip_config;
/* 0, or -1 after reporting under `report` (nothing left allocated). */
int golden_load_batch(golden_ctx *g, const struct clip_config *c, golden_batch *b, const char *report);
void golden_batch_free(golden_batch *b);

/* The checks; each one may report several lines. Registered in golden_main.c. */
typedef void (*golden_check_fn)(golden_ctx *g);

#endif
