/* render.h — lfm-mix --render: the first mixed training images as JPEG files, so a person can look at
 * what training sees. Each image is lx * x_i + (1 - lx) * x_j on CLIP-preprocessed (normalised) pixels,
 * mixed by the trainer's own pixel_mix (data/pixel_mix.h), then de-normalised back to 8-bit RGB. */
#ifndef LFM_MIX_RENDER_H
#define LFM_MIX_RENDER_H

#include <msgpack.h>
#include <stdint.h>

typedef struct render_options {
	const char *dir;    /* output folder (created if missing) */
	const char *source; /* the dataset the samples stream was drawn from */
	long long count;    /* images to write */
	int size;           /* CLIP preprocessing size */
	int quality;        /* JPEG quality */
} render_options;

typedef struct renderer renderer;

/* Open the dataset (the split named in the stream header, when it names one), warn when its identity
 * differs from the header's "source", create the folder. Dies on failure. */
renderer *render_open(const render_options *o, const msgpack_object *header, const char *stream_name);
/* Render plan record n (0-based): dies when i or j is not a sample of the dataset with the stream's
 * label (the wrong --source), or on I/O errors. */
void render_record(renderer *rd, uint64_t n, int64_t i, int64_t yi, int64_t j, int64_t yj, float lx,
		   float ly);
void render_close(renderer *rd);

#endif
