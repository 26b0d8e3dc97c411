/* fuzz_jpeg.c — the JPEG path of the image pipeline: header, decode, CLIP preprocessing to 32.
 *
 * Properties checked beyond "no crash": a failure always comes with a message and leaves no image; a
 * success gives the size the header announced and preprocessed values that are finite and within the
 * range the normalisation can produce, identical with every set of inner loops the CPU has (generic,
 * avx2, avx512: a differential check of the SIMD code). Inputs announcing more than 4 Mpixels are only
 * header-checked, to keep every input fast (the decoder's own limits are tested in
 * tests/unit/test_image.c). A decoder and preprocessors are reused across inputs, as a data loader reuses
 * them. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/image.h"

#define N 32
#define MAX_FUZZ_PIXELS (4L << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *sets[] = {"generic", "avx2", "avx512"};
	static jpeg_decoder *dec;
	static clip_prep *prep[3];
	static float out[3][3 * N * N];
	if (!dec && !(dec = jpeg_decoder_new()))
		return 0;
	if (!prep[0])
		for (int k = 0; k < 3; k++) {
			prep[k] = clip_prep_new(N);
			if (clip_prep_set_kernels(prep[k], sets[k]) != 0) {
				clip_prep_free(prep[k]);
				prep[k] = NULL;
			}
		}

	int w = 0, h = 0;
	char err[256] = "";
	if (image_jpeg_size(data, size, &w, &h, err, sizeof err) != 0) {
		if (!err[0] || w != 0 || h != 0)
			abort();
	} else if ((long)w * h > MAX_FUZZ_PIXELS) {
		return 0;
	}

	rgb_image img;
	err[0] = 0;
	if (jpeg_decoder_decode(dec, data, size, &img, err, sizeof err) != 0) {
		if (!err[0] || img.rgb || img.width || img.height)
			abort();
		return 0;
	}
	if (img.width != w || img.height != h || !img.rgb)
		abort();
	for (int k = 0; k < 3; k++)
		if (prep[k]) {
			clip_prep_run(prep[k], &img, (int)(size & 1), out[k]);
			if (k > 0 && memcmp(out[k], out[0], sizeof out[0]) != 0)
				abort();
		}
	image_free(&img);
	/* (v / 255 - mean) / std lies within [-1.80, 2.15] for every channel */
	for (int i = 0; i < 3 * N * N; i++)
		if (!(out[0][i] >= -1.8f && out[0][i] <= 2.2f))
			abort();
	return 0;
}
