/* jpeg_decode.c — JPEG to RGB8 with libjpeg-turbo's TurboJPEG API, matching Pillow's decoder.
 *
 * Pillow decodes with libjpeg's defaults: accurate integer IDCT (JDCT_ISLOW) and fancy upsampling;
 * TurboJPEG uses the same defaults unless told otherwise (TJFLAG_FASTDCT / TJFLAG_FASTUPSAMPLE), so the
 * pixels are identical when both link the same libjpeg-turbo.
 *
 * libjpeg reports truncated or damaged data as warnings and goes on (filling the rest with grey);
 * Pillow refuses a truncated file ("image file is truncated"), and a training set should not learn from
 * damaged pixels, so every warning is an error here (TJFLAG_STOPONWARNING also stops the work early).
 * This is stricter than Pillow in one respect: Pillow ignores the other warnings (e.g. "N extraneous
 * bytes before marker", "Corrupt JPEG data: bad Huffman code") and returns whatever was decoded; such
 * files are refused here, with libjpeg's message. TJFLAG_LIMITSCANS refuses progressive files with more
 * than 500 scans, a denial of service otherwise. */
#include "data/image.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "base/errors.h"

struct jpeg_decoder {
	tjhandle tj;
};

jpeg_decoder *jpeg_decoder_new(void)
{
	jpeg_decoder *d = malloc(sizeof *d);
	if (!d)
		return NULL;
	d->tj = tjInitDecompress();
	if (!d->tj) {
		free(d);
		return NULL;
	}
	return d;
}

void jpeg_decoder_free(jpeg_decoder *d)
{
	if (!d)
		return;
	if (d->tj)
		tjDestroy(d->tj);
	free(d);
}

/* Pillow reads every four-component JPEG as Adobe CMYK, i.e. stored inverted (rawmode "CMYK;I"), and
 * converts CMYK to RGB with cmyk2rgb (Convert.c): nk = 255 - K, R = nk - C * nk / 255 (rounded as
 * MULDIV255). With C = 255 - c and K = 255 - k for the stored values c, k: nk = k. */
static inline uint8_t muldiv255(int a, int b)
{
	int t = a * b + 128;
	return (uint8_t)(((t >> 8) + t) >> 8);
}

static void cmyk_inverted_to_rgb(const uint8_t *cmyk, size_t pixels, uint8_t *rgb)
{
	for (size_t i = 0; i < pixels; i++, cmyk += 4, rgb += 3) {
		int nk = cmyk[3];
		for (int c = 0; c < 3; c++) {
			int v = nk - muldiv255(255 - cmyk[c], nk);
			rgb[c] = (uint8_t)(v < 0 ? 0 : v);
		}
	}
}

static int decode(tjhandle tj, const void *data, size_t len, rgb_image *out, char *err, size_t errsz);

/* TurboJPEG 2.1 leaves a handle in the middle of libjpeg's state machine when the header parser fails
 * (it longjmps out without aborting), and the next image decoded with it fails too: a handle that saw
 * an error is replaced. */
int jpeg_decoder_decode(jpeg_decoder *d, const void *data, size_t len, rgb_image *out, char *err,
			size_t errsz)
{
	out->width = out->height = 0;
	out->rgb = NULL;
	if (!d->tj && !(d->tj = tjInitDecompress()))
		return err_set(err, errsz, "cannot create a JPEG decoder: %s", tjGetErrorStr2(NULL));
	int rc = decode(d->tj, data, len, out, err, errsz);
	if (rc != 0) {
		tjDestroy(d->tj);
		d->tj = tjInitDecompress(); /* NULL is retried on the next call */
	}
	return rc;
}

int image_jpeg_limits(int w, int h, char *err, size_t errsz)
{
	if (w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE || (long)w * h > IMAGE_MAX_PIXELS)
		return err_set(err, errsz, "JPEG image too large: %dx%d (limit %d pixels a side, %ld in all)", w,
			       h, IMAGE_MAX_SIDE, IMAGE_MAX_PIXELS);
	return 0;
}

static int decode(tjhandle tj, const void *data, size_t len, rgb_image *out, char *err, size_t errsz)
{
	if (len < 4)
		return err_set(err, errsz, "not a JPEG file (%zu bytes)", len);
	if (len > ULONG_MAX)
		return err_set(err, errsz, "JPEG data too large (%zu bytes)", len);
	const unsigned char *buf = data;
	int w = 0, h = 0, subsamp = 0, colorspace = -1;
	if (tjDecompressHeader3(tj, buf, (unsigned long)len, &w, &h, &subsamp, &colorspace) != 0)
		return err_set(err, errsz, "bad JPEG header: %s", tjGetErrorStr2(tj));
	if (w <= 0 || h <= 0)
		return err_set(err, errsz, "JPEG has no image (tables only)");
	if (image_jpeg_limits(w, h, err, errsz) != 0)
		return -1;
	int cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
	size_t pixels = (size_t)w * (size_t)h;
	uint8_t *rgb = malloc(pixels * 3);
	uint8_t *dst = cmyk ? malloc(pixels * 4) : rgb;
	if (!rgb || !dst) {
		free(rgb);
		if (cmyk)
			free(dst);
		return err_set(err, errsz, "out of memory for a %dx%d image", w, h);
	}
	int flags = TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS;
	if (tjDecompress2(tj, buf, (unsigned long)len, dst, w, 0, h, cmyk ? TJPF_CMYK : TJPF_RGB, flags) != 0) {
		int warning = tjGetErrorCode(tj) == TJERR_WARNING;
		err_set(err, errsz, "%s JPEG data: %s", warning ? "damaged" : "bad", tjGetErrorStr2(tj));
		free(rgb);
		if (cmyk)
			free(dst);
		return -1;
	}
	if (cmyk) {
		cmyk_inverted_to_rgb(dst, pixels, rgb);
		free(dst);
	}
	out->width = w;
	out->height = h;
	out->rgb = rgb;
	return 0;
}

int image_jpeg_size(const void *data, size_t len, int *width, int *height, char *err, size_t errsz)
{
	*width = *height = 0;
	if (len < 4)
		return err_set(err, errsz, "not a JPEG file (%zu bytes)", len);
	if (len > ULONG_MAX)
		return err_set(err, errsz, "JPEG data too large (%zu bytes)", len);
	tjhandle tj = tjInitDecompress();
	if (!tj)
		return err_set(err, errsz, "cannot create a JPEG decoder: %s", tjGetErrorStr2(NULL));
	int w = 0, h = 0, subsamp = 0, colorspace = -1, rc = 0;
	if (tjDecompressHeader3(tj, data, (unsigned long)len, &w, &h, &subsamp, &colorspace) != 0)
		rc = err_set(err, errsz, "bad JPEG header: %s", tjGetErrorStr2(tj));
	else if (w <= 0 || h <= 0)
		rc = err_set(err, errsz, "JPEG has no image (tables only)");
	tjDestroy(tj);
	if (rc == 0) {
		*width = w;
		*height = h;
	}
	return rc;
}

int image_decode_jpeg(const void *data, size_t len, rgb_image *out, char *err, size_t errsz)
{
	jpeg_decoder *d = jpeg_decoder_new();
	if (!d) {
		out->width = out->height = 0;
		out->rgb = NULL;
		return err_set(err, errsz, "cannot create a JPEG decoder: %s", tjGetErrorStr2(NULL));
	}
	int rc = jpeg_decoder_decode(d, data, len, out, err, errsz);
	jpeg_decoder_free(d);
	return rc;
}
