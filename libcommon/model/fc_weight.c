/* fc_weight.c — see fc_weight.h. */
#include "model/fc_weight.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/errors.h"

static int from_tensor(const st_tensor *t, const char *path, int D, float **fc, char *err, size_t errsz)
{
	if (t->ndim != 2 || t->shape[0] != D || t->shape[1] != D)
		return err_set(err, errsz, "%s: tensor '%s' has %d dimensions [%lld, ...], expected [%d, %d]", path,
			       t->name, t->ndim, t->ndim ? (long long)t->shape[0] : 0LL, D, D);
	if (t->dtype != DT_F32 && t->dtype != DT_F16 && t->dtype != DT_BF16)
		return err_set(err, errsz, "%s: tensor '%s': dtype %s, expected F32, F16 or BF16", path, t->name,
			       dtype_name(t->dtype));
	float *w = st_to_f32(t, NULL);
	for (size_t i = 0; i < t->count; i++)
		if (!isfinite(w[i])) {
			free(w);
			return err_set(err, errsz, "%s: tensor '%s': element %zu is not finite", path, t->name, i);
		}
	*fc = w;
	return 0;
}

int fc_weight_load(const st_file *f, int D, float **fc, char *err, size_t errsz)
{
	*fc = NULL;
	const st_tensor *t = st_find(f, "fc.weight");
	if (t || !f->dir)
		return t ? from_tensor(t, f->path, D, fc, err, errsz) : 0;
	char *path = xasprintf("%s/%s", f->dir, HF_FC_FILE);
	struct stat sb;
	int rc = 0;
	if (stat(path, &sb) == 0) {
		st_file g;
		if (st_open(path, &g, err, errsz)) {
			rc = -1;
		} else {
			t = st_find(&g, "weight");
			rc = t ? from_tensor(t, path, D, fc, err, errsz)
			       : err_set(err, errsz, "%s: no tensor 'weight' (W_I, [%d, %d])", path, D, D);
			st_close(&g);
		}
	} else if (errno != ENOENT) {
		rc = err_set(err, errsz, "%s: cannot stat: %s", path, strerror(errno));
	}
	free(path);
	return rc;
}
