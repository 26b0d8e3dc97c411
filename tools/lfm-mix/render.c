/* render.c — see render.h. */
#include "render.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>

#include "base/errors.h"
#include "data/dataset.h"
#include "data/image.h"
#include "data/pixel_mix.h"
#include "io/stream.h"

struct renderer {
	render_options o;
	dataset *ds;
	const char *stream_name;
	int num_classes;
	char **class_tag;   /* [num_classes] class names made safe for file names */
	clip_prep *prep;
	float *xi, *xj;     /* [3, size, size] preprocessed images */
	uint8_t *rgb;       /* [size, size, 3] the mix, de-normalised */
	tjhandle jpeg;
};

/* A class name as part of a file name: letters, digits, '.', '-' and '_' kept, anything else (spaces,
 * '/', non-ASCII bytes) as '_'; at most 40 bytes. */
static char *file_tag(const char *s, size_t n)
{
	if (n > 40)
		n = 40;
	char *t = xmalloc(n + 1);
	for (size_t k = 0; k < n; k++) {
		char c = s[k];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
			 c == '-' || c == '_';
		t[k] = ok ? c : '_';
	}
	t[n] = 0;
	return t;
}

static void make_dir(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			die(LFM_EXIT_IO, "--render %s: exists and is not a directory", dir);
		return;
	}
	if (mkdir(dir, 0777) != 0 && errno != EEXIST)
		die(LFM_EXIT_IO, "--render %s: cannot create the directory:", dir);
}

renderer *render_open(const render_options *o, const msgpack_object *header, const char *stream_name)
{
	renderer *rd = xcalloc(1, sizeof *rd);
	rd->o = *o;
	rd->stream_name = stream_name;

	const msgpack_object *cls = mp_map_get(header, "classes");
	if (!cls || cls->type != MSGPACK_OBJECT_ARRAY || cls->via.array.size == 0)
		die(LFM_EXIT_DATA, "%s: header has no \"classes\" array (--render names files by class)",
		    stream_name);
	rd->num_classes = (int)cls->via.array.size;
	rd->class_tag = xcalloc((size_t)rd->num_classes, sizeof *rd->class_tag);
	for (int k = 0; k < rd->num_classes; k++) {
		const msgpack_object *c = &cls->via.array.ptr[k];
		if (c->type == MSGPACK_OBJECT_STR)
			rd->class_tag[k] = file_tag(c->via.str.ptr, c->via.str.size);
		else
			rd->class_tag[k] = xasprintf("class%d", k);
	}

	/* The split the samples were drawn from travels in the header (lt-subset -> lfm-pairs -> here). */
	dataset_options dopts = {0};
	const msgpack_object *split = mp_map_get(header, "split");
	static const char *const splits[] = {"train", "test", "val"};
	for (size_t k = 0; k < sizeof splits / sizeof *splits; k++)
		if (split && mp_str_eq(split, splits[k]))
			dopts.split = splits[k];
	rd->ds = dataset_open_or_die(o->source, &dopts);

	const msgpack_object *src = mp_map_get(header, "source");
	const msgpack_object *hash = src ? mp_map_get(src, "hash") : NULL;
	const char *have = dataset_source(rd->ds)->hash;
	if (hash && hash->type == MSGPACK_OBJECT_STR && have && !mp_str_eq(hash, have))
		warn("--source %s: not the file the samples were drawn from (its %s differs from the stream's "
		     "%.*s); rendering anyway, checking each sample's label",
		     o->source, have, (int)hash->via.str.size, hash->via.str.ptr);

	make_dir(o->dir);
	size_t n = (size_t)o->size * (size_t)o->size;
	rd->prep = clip_prep_new(o->size);
	if (!rd->prep)
		die(LFM_EXIT_IO, "out of memory preparing the CLIP preprocessing");
	rd->xi = xmalloc_array(3 * n, sizeof *rd->xi);
	rd->xj = xmalloc_array(3 * n, sizeof *rd->xj);
	rd->rgb = xmalloc_array(3, n);
	rd->jpeg = tjInitCompress();
	if (!rd->jpeg)
		die(LFM_EXIT_IO, "cannot start the JPEG compressor: %s", tjGetErrorStr());
	return rd;
}

/* Sample idx, checked against the stream's label, preprocessed into out. */
static void load(renderer *rd, uint64_t n, const char *which, int64_t idx, int64_t label, float *out)
{
	if ((uint64_t)idx >= dataset_count(rd->ds))
		die(LFM_EXIT_DATA, "%s: plan record %llu: sample %s = %lld is beyond the %zu samples of %s",
		    rd->stream_name, (unsigned long long)n, which, (long long)idx, dataset_count(rd->ds),
		    rd->o.source);
	int have = dataset_label(rd->ds, (size_t)idx);
	if (have != label)
		die(LFM_EXIT_DATA,
		    "%s: plan record %llu: sample %s = %lld has label %d in %s but %lld in the stream: is --source "
		    "the dataset the samples were drawn from?",
		    rd->stream_name, (unsigned long long)n, which, (long long)idx, have, rd->o.source,
		    (long long)label);
	rgb_image img;
	char err[512];
	if (dataset_load_rgb(rd->ds, (size_t)idx, &img, err, sizeof err) != 0)
		die(LFM_EXIT_DATA, "%s: sample %lld: %s", rd->o.source, (long long)idx, err);
	clip_prep_run(rd->prep, &img, 0, out);
	image_free(&img);
}

void render_record(renderer *rd, uint64_t n, int64_t i, int64_t yi, int64_t j, int64_t yj, float lx,
		   float ly)
{
	int S = rd->o.size;
	size_t plane = (size_t)S * (size_t)S;
	load(rd, n, "i", i, yi, rd->xi);
	load(rd, n, "j", j, yj, rd->xj);
	/* The trainer's mix (pixel_mix.h) on the normalised pixels, into xi; then back to 8 bits:
	 * v * std + mean. (The mix used to be written out here as lx * x_i + (1 - lx) * x_j: the same float
	 * products and sum, so the rendered files did not change.) */
	pixel_mix(rd->xi, rd->xi, rd->xj, lx, 3 * plane);
	for (int c = 0; c < 3; c++)
		for (size_t p = 0; p < plane; p++) {
			float m = rd->xi[c * plane + p];
			double v = ((double)m * clip_std[c] + clip_mean[c]) * 255.0;
			rd->rgb[3 * p + (size_t)c] = (uint8_t)(v <= 0 ? 0 : v >= 255 ? 255 : lrint(v));
		}
	unsigned char *jpeg = NULL;
	unsigned long size = 0;
	if (tjCompress2(rd->jpeg, rd->rgb, S, 0, S, TJPF_RGB, &jpeg, &size, TJSAMP_444, rd->o.quality,
			TJFLAG_ACCURATEDCT) != 0)
		die(LFM_EXIT_IO, "JPEG compression failed: %s", tjGetErrorStr2(rd->jpeg));
	char *path = xasprintf("%s/%06llu_%s-%.2f_%s-%.2f_ly%.2f.jpg", rd->o.dir, (unsigned long long)n,
			       yi < rd->num_classes ? rd->class_tag[yi] : "unknown", (double)lx,
			       yj < rd->num_classes ? rd->class_tag[yj] : "unknown", (double)(1 - lx), (double)ly);
	outfile f;
	outfile_open(&f, path, "wb");
	xfwrite(jpeg, (size_t)size, f.f, path);
	outfile_commit(&f);
	tjFree(jpeg);
	free(path);
}

void render_close(renderer *rd)
{
	if (!rd)
		return;
	tjDestroy(rd->jpeg);
	clip_prep_free(rd->prep);
	dataset_close(rd->ds);
	for (int k = 0; k < rd->num_classes; k++)
		free(rd->class_tag[k]);
	free(rd->class_tag);
	free(rd->xi);
	free(rd->xj);
	free(rd->rgb);
	free(rd);
}
