/* golden_main.c — tests/golden-check DIR [CHECK...]: runs every registered check (or those named) against
 * the golden folder DIR, one line per file compared, and exits 1 if any comparison fails. */
#include "golden.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/json.h"
#include "io/npy.h"
#include "model/clip_weights.h"

/* Each check lives in its own file of tests/golden/ and is listed here. */
#define GOLDEN_CHECKS(X) /* X(name) for each check function golden_check_<name> */ \
	X(tokens) \
	X(pixels) \
	X(clip_text) \
	X(clip_image) \
	X(clip_hf) \
	X(stage1_grads) \
	X(stage1_step3) \
	X(mms) \
	X(stage2)

#define DECLARE(name) void golden_check_##name(golden_ctx *g);
GOLDEN_CHECKS(DECLARE)
#define ENTRY(name) {#name, golden_check_##name},
static const struct {
	const char *name;
	golden_check_fn fn;
} checks[] = {GOLDEN_CHECKS(ENTRY){NULL, NULL}};

char *golden_path(const golden_ctx *g, const char *file) { return xasprintf("%s/%s", g->dir, file); }

int golden_exists(const golden_ctx *g, const char *file)
{
	char *p = golden_path(g, file);
	int ok = access(p, R_OK) == 0;
	free(p);
	return ok;
}

void golden_report(golden_ctx *g, const char *name, double err, double tol)
{
	int ok = err <= tol; /* NaN fails */
	printf("%-44s %-12.3g %s\n", name, err, ok ? "ok" : "FAIL");
	fflush(stdout);
	g->compared++;
	if (!ok)
		g->failures++;
}

void golden_fail(golden_ctx *g, const char *name, const char *fmt, ...)
{
	va_list ap;
	printf("%-44s ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("  FAIL\n");
	fflush(stdout);
	g->compared++;
	g->failures++;
}

json_value *golden_load_reference(golden_ctx *g, const char *report)
{
	if (!golden_exists(g, "reference.json")) {
		golden_fail(g, report, "reference.json missing");
		return NULL;
	}
	char *path = golden_path(g, "reference.json");
	size_t len;
	char *text = xread_file(path, &len);
	char err[256];
	json_value *v = json_parse(text, len, err, sizeof err);
	if (!v)
		golden_fail(g, report, "reference.json: %s", err);
	free(text);
	free(path);
	return v;
}

double golden_ref_number(const json_value *root, const char *a, const char *b, double def)
{
	const json_value *v = json_get(root, a);
	if (v && b)
		v = json_get(v, b);
	return v && v->type == JSON_NUMBER ? v->number : def;
}

float *golden_load_f32(golden_ctx *g, const char *file, int ndim, int64_t *shape, const char *report)
{
	if (!golden_exists(g, file)) {
		golden_fail(g, report, "%s missing", file);
		return NULL;
	}
	char *path = golden_path(g, file);
	size_t count;
	float *a = npy_load_f32(path, ndim, shape, &count);
	free(path);
	return a;
}

int golden_load_model(golden_ctx *g, const char *file, int towers, clip_model *m, const char *report)
{
	if (!golden_exists(g, file)) {
		golden_fail(g, report, "%s missing", file);
		return -1;
	}
	char *path = golden_path(g, file);
	st_file f;
	char err[1024];
	int rc = st_open(path, &f, err, sizeof err);
	if (rc == 0) {
		clip_load_opts o = {.towers = towers};
		rc = clip_model_load(m, &f, &o, err, sizeof err);
		st_close(&f);
	}
	if (rc)
		golden_fail(g, report, "%s", err);
	free(path);
	return rc;
}

int golden_load_batch(golden_ctx *g, const clip_config *c, golden_batch *b, const char *report)
{
	memset(b, 0, sizeof *b);
	int D = c->embed_dim, R = c->image_resolution;
	int64_t xs[NPY_MAX_DIMS], ys[NPY_MAX_DIMS], ts[NPY_MAX_DIMS];
	b->x = golden_load_f32(g, "train_x.npy", 4, xs, report);
	b->y = b->x ? golden_load_f32(g, "train_y.npy", 2, ys, report) : NULL;
	b->text = b->y ? golden_load_f32(g, "train_text_features.npy", 2, ts, report) : NULL;
	if (!b->text) {
		golden_batch_free(b);
		return -1;
	}
	if (xs[1] != 3 || xs[2] != R || xs[3] != R || ys[0] != xs[0] || ys[1] != ts[0] || ts[1] != D) {
		golden_fail(g, report, "train_x [%lld, 3, %lld, %lld], train_y [%lld, %lld], train_text_features "
				       "[%lld, %lld] do not fit a model of resolution %d and width %d",
			    (long long)xs[0], (long long)xs[2], (long long)xs[3], (long long)ys[0], (long long)ys[1],
			    (long long)ts[0], (long long)ts[1], R, D);
		golden_batch_free(b);
		return -1;
	}
	b->B = (int)xs[0];
	b->C = (int)ts[0];
	return 0;
}

void golden_batch_free(golden_batch *b)
{
	free(b->x);
	free(b->y);
	free(b->text);
	memset(b, 0, sizeof *b);
}

double golden_rel_l2(const float *a, const float *b, size_t n)
{
	double num = 0, den = 0;
	for (size_t i = 0; i < n; i++) {
		double d = (double)a[i] - (double)b[i];
		num += d * d;
		den += (double)b[i] * b[i];
	}
	if (den == 0)
		return num == 0 ? 0 : INFINITY;
	return sqrt(num / den);
}

double golden_max_abs(const float *a, const float *b, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - (double)b[i]);
		if (!(d <= m))
			m = d; /* propagates NaN */
	}
	return m;
}

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		printf("usage: golden-check DIR [CHECK...]\nchecks:");
		for (int i = 0; checks[i].name; i++)
			printf(" %s", checks[i].name);
		printf("\n");
		return argc < 2 ? LFM_EXIT_USAGE : 0;
	}
	golden_ctx g = {.dir = argv[1]};
	if (access(g.dir, R_OK) != 0)
		die(LFM_EXIT_IO, "%s:", g.dir);
	for (int i = 0; checks[i].name; i++) {
		int wanted = argc == 2;
		for (int k = 2; k < argc; k++)
			wanted |= strcmp(argv[k], checks[i].name) == 0;
		if (wanted)
			checks[i].fn(&g);
	}
	printf("golden-check %s: %d compared, %d failed\n", g.dir, g.compared, g.failures);
	return g.failures ? LFM_EXIT_DATA : 0;
}
