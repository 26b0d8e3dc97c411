/* dataset_rgb.c — a sample decoded to 8-bit RGB through the image pipeline (image.h). Kept apart from
 * dataset_core.c so that reading bytes does not depend on the decoder. */
#include "data/dataset_internal.h"

#include <string.h>

#include "base/errors.h"
#include "data/image.h"

int dataset_load_rgb(const dataset *ds, size_t i, rgb_image *out, char *err, size_t errsz)
{
	memset(out, 0, sizeof *out);
	dataset_sample s;
	int rc = dataset_read(ds, i, &s, err, errsz);
	if (rc)
		return rc;
	if (s.kind == DATASET_SAMPLE_CIFAR) {
		if (image_from_cifar_planes(s.data, out) != 0)
			rc = err_code(err, errsz, LFM_EXIT_IO, "out of memory decoding %s", dataset_key(ds, i));
	} else {
		char why[256];
		if (image_decode_jpeg(s.data, s.size, out, why, sizeof why) != 0)
			rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: %s: %s", ds->id_path, dataset_key(ds, i), why);
	}
	dataset_sample_free(&s);
	return rc;
}
