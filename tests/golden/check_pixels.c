/* check_pixels.c — CLIP preprocessing against OpenAI's (PIL + torchvision) on the golden JPEGs.
 *
 * pixels.npy: the 8 CIFAR JPEGs (images/[0-9]*.jpg in name order) at the model's resolution;
 * pixels_224.npy: images 0 and 1 at 224 (bicubic upscaling); pixels_rect_224.npy: rect_40x24.jpg at 224
 * (non-square: resize to 373x224, centre crop at offset 74). The error is the largest difference in
 * 8-bit levels, |a - b| * 255 * std of the channel; one level is the tolerance, 0 means bit-exact. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "data/image.h"
#include "io/npy.h"
#include "golden.h"

#define MAX_IMAGES 64

static double level_error(const float *a, const float *b, int count, int n)
{
	double worst = 0;
	size_t plane = (size_t)n * n;
	for (int i = 0; i < count; i++)
		for (int c = 0; c < 3; c++) {
			size_t off = ((size_t)i * 3 + c) * plane;
			double e = golden_max_abs(a + off, b + off, plane) * 255.0 * clip_std[c];
			if (!(e <= worst))
				worst = e;
		}
	return worst;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Decode DIR/images/NAME; 0, or -1 after reporting a failure under `report`. */
static int load_image(golden_ctx *g, const char *report, const char *name, rgb_image *img)
{
	char *rel = xasprintf("images/%s", name);
	char *path = golden_path(g, rel);
	size_t len;
	char *data = xread_file(path, &len);
	char err[256];
	int rc = image_decode_jpeg(data, len, img, err, sizeof err);
	if (rc != 0)
		golden_fail(g, report, "%s: %s", rel, err);
	free(data);
	free(path);
	free(rel);
	return rc;
}

/* Compare count images (names) preprocessed at n (0: the file's image size) with the golden file. */
static void compare(golden_ctx *g, const char *file, char **names, int count, int n)
{
	if (!golden_exists(g, file)) {
		golden_fail(g, file, "missing");
		return;
	}
	char *path = golden_path(g, file);
	int64_t shape[NPY_MAX_DIMS];
	size_t total;
	float *want = npy_load_f32(path, 4, shape, &total);
	free(path);
	if (n <= 0)
		n = (int)shape[2];
	if (shape[0] != count || shape[1] != 3 || shape[2] != n || shape[3] != n) {
		golden_fail(g, file, "shape [%lld, %lld, %lld, %lld], expected [%d, 3, %d, %d]",
			    (long long)shape[0], (long long)shape[1], (long long)shape[2], (long long)shape[3],
			    count, n, n);
		free(want);
		return;
	}
	float *got = xmalloc_array(total, sizeof *got);
	for (int i = 0; i < count; i++) {
		rgb_image img;
		if (load_image(g, file, names[i], &img) != 0) {
			free(got);
			free(want);
			return;
		}
		clip_preprocess(&img, n, 0, got + (size_t)i * 3 * n * n);
		image_free(&img);
	}
	golden_report(g, file, level_error(got, want, count, n), 1.0);
	free(got);
	free(want);
}

void golden_check_pixels(golden_ctx *g)
{
	char *dirpath = golden_path(g, "images");
	DIR *dir = opendir(dirpath);
	if (!dir) {
		golden_fail(g, "pixels.npy", "cannot open %s", dirpath);
		free(dirpath);
		return;
	}
	char *names[MAX_IMAGES];
	int count = 0;
	struct dirent *e;
	while ((e = readdir(dir)) && count < MAX_IMAGES) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && len > 4 && strcmp(e->d_name + len - 4, ".jpg") == 0)
			names[count++] = xstrdup(e->d_name);
	}
	closedir(dir);
	free(dirpath);
	qsort(names, (size_t)count, sizeof *names, name_cmp);

	/* pixels.npy is at the model's resolution (32 for tiny-clip): take it from the file. */
	compare(g, "pixels.npy", names, count, 0);
	compare(g, "pixels_224.npy", names, count < 2 ? count : 2, 224);
	char *rect[] = {"rect_40x24.jpg"};
	compare(g, "pixels_rect_224.npy", rect, 1, 224);
	for (int i = 0; i < count; i++)
		free(names[i]);
}
