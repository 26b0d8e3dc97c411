/* image.c — the rgb_image type's helpers: freeing, and CIFAR's planar records as images. */
#include "data/image.h"

#include <stdlib.h>

void image_free(rgb_image *img)
{
	if (!img)
		return;
	free(img->rgb);
	img->rgb = NULL;
	img->width = img->height = 0;
}

int image_from_cifar_planes(const uint8_t planes[3072], rgb_image *out)
{
	out->width = out->height = 32;
	out->rgb = malloc(3072);
	if (!out->rgb) {
		out->width = out->height = 0;
		return -1;
	}
	for (int i = 0; i < 1024; i++)
		for (int c = 0; c < 3; c++)
			out->rgb[i * 3 + c] = planes[c * 1024 + i];
	return 0;
}
