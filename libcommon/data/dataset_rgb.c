/* dataset_rgb.c — a sample decoded to 8-bit RGB through the image pipeline (image.h): dataset_sample_rgb,
 * the one definition of "sample bytes -> RGB" (the batch loader calls it with its per-thread decoders),
 * and dataset_load_rgb on top of it. Kept apart from dataset_core.c so that reading bytes does not depend
 * on the decoder; it uses only the public dataset.h. */
#include "data/dataset.h"

#include <string.h>

#include "base/errors.h"
#include "data/image.h"

int dataset_sample_rgb(const dataset_sample *s, jpeg_decoder *dec, rgb_image *out, char *why, size_t whysz)
{
	memset(out, 0, sizeof *out);
	if (s->kind == DATASET_SAMPLE_CIFAR) {
		if (s->size != 3072)
			return DATASET_RGB_CIFAR_SIZE;
		return image_from_cifar_planes(s->data, out) != 0 ? DATASET_RGB_NOMEM : DATASET_RGB_OK;
	}
	int rc = dec ? jpeg_decoder_decode(dec, s->data, s->size, out, why, whysz)
		     : image_decode_jpeg(s->data, s->size, out, why, whysz);
	return rc != 0 ? DATASET_RGB_JPEG : DATASET_RGB_OK;
}

int dataset_load_rgb(const dataset *ds, size_t i, rgb_image *out, char *err, size_t errsz)
{
	memset(out, 0, sizeof *out);
	dataset_sample s;
	int rc = dataset_read(ds, i, &s, err, errsz);
	if (rc)
		return rc;
	char why[256];
	const char *path = dataset_source(ds)->path;
	switch (dataset_sample_rgb(&s, NULL, out, why, sizeof why)) {
	case DATASET_RGB_OK:
		break;
	case DATASET_RGB_CIFAR_SIZE: /* dataset_read refuses these already */
		rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: %s: %zu bytes of raw pixels, expected 3072", path,
			      dataset_key(ds, i), s.size);
		break;
	case DATASET_RGB_NOMEM:
		rc = err_code(err, errsz, LFM_EXIT_IO, "out of memory decoding %s", dataset_key(ds, i));
		break;
	default:
		rc = err_code(err, errsz, LFM_EXIT_DATA, "%s: %s: %s", path, dataset_key(ds, i), why);
		break;
	}
	dataset_sample_free(&s);
	return rc;
}
