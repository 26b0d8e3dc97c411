/* clip_features — test support for tests/cli/interop_hf.sh (not a tool, not a unit test): our own
 * features of a model, for comparison with transformers' and open_clip's.
 *
 *   clip_features MODEL PIXELS.npy IMAGE_OUT.npy [FC_OUT.npy|- [TOKENS.npy TEXT_OUT.npy]]
 *
 * MODEL is anything the tools read (a safetensors file in either naming, a Hugging Face directory);
 * PIXELS float32 [N, 3, R, R], preprocessed; TOKENS int32 [M, context] (OpenAI's layout, 0-padded).
 * Writes encode_image's output [N, D] (projected, not normalised, without W_I); FC_OUT, when MODEL has
 * W_I (fc_weight_load: fc.weight, or an export directory's fc.safetensors), normalise(W_I f) as lfm-eval
 * classifies with it; TEXT_OUT encode_text's output [M, D]. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "cpu/clip_text.h"
#include "cpu/clip_vision.h"
#include "io/npy.h"
#include "model/clip_weights.h"
#include "model/fc_weight.h"

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	if (argc != 4 && argc != 5 && argc != 7)
		die(LFM_EXIT_USAGE, "usage: clip_features MODEL PIXELS.npy IMAGE_OUT.npy [FC_OUT.npy|- [TOKENS.npy TEXT_OUT.npy]]");
	int towers = argc == 7 ? CLIP_BOTH : CLIP_VISION;
	const char *fc_out = argc >= 5 && strcmp(argv[4], "-") ? argv[4] : NULL;
	st_file f;
	st_open_or_die(argv[1], &f);
	clip_load_opts lo = {.towers = towers};
	clip_model m;
	char err[1024];
	if (clip_model_load(&m, &f, &lo, err, sizeof err))
		die(LFM_EXIT_DATA, "%s", err);
	float *fc = NULL;
	if (fc_weight_load(&f, m.cfg.embed_dim, &fc, err, sizeof err))
		die(LFM_EXIT_DATA, "%s", err);
	if (fc_out && !fc)
		die(LFM_EXIT_DATA, "%s: no W_I (fc.weight)", argv[1]);
	st_close(&f);
	const clip_config *c = &m.cfg;
	int D = c->embed_dim, R = c->image_resolution;

	int64_t ps[NPY_MAX_DIMS];
	size_t pcount;
	float *pixels = npy_load_f32(argv[2], 4, ps, &pcount);
	if (ps[1] != 3 || ps[2] != R || ps[3] != R)
		die(LFM_EXIT_DATA, "%s: pixels [N, 3, %d, %d] expected", argv[2], R, R);
	size_t N = (size_t)ps[0];
	float *img = xmalloc_array(N * (size_t)D, sizeof *img);
	clip_encode_image_once(&m.vision, pixels, N, img);
	int64_t os[2] = {(int64_t)N, D};
	npy_save(argv[3], DT_F32, 2, os, img);
	if (fc_out) {
		/* nn.Linear layout [out, in]: g_i = sum_j W[i][j] f_j, in double, then normalised */
		float *g = xmalloc_array(N * (size_t)D, sizeof *g);
		for (size_t n = 0; n < N; n++) {
			double norm = 0;
			for (int i = 0; i < D; i++) {
				double s = 0;
				for (int j = 0; j < D; j++)
					s += (double)fc[(size_t)i * D + j] * img[n * D + j];
				g[n * D + i] = (float)s;
				norm += s * s;
			}
			for (int i = 0; i < D; i++)
				g[n * D + i] = (float)(g[n * D + i] / sqrt(norm));
		}
		npy_save(fc_out, DT_F32, 2, os, g);
		free(g);
	}

	if (argc == 7) {
		npy_array t;
		npy_load(argv[5], &t);
		if (t.dtype != DT_I32 || t.ndim != 2 || t.shape[1] > c->context_length)
			die(LFM_EXIT_DATA, "%s: int32 [M, <= %d] token ids expected", argv[5], c->context_length);
		size_t M = (size_t)t.shape[0];
		float *txt = xmalloc_array(M * (size_t)D, sizeof *txt);
		if (clip_encode_text(&m.text, t.data, M, (int)t.shape[1], txt, err, sizeof err))
			die(LFM_EXIT_DATA, "%s: %s", argv[5], err);
		int64_t ts[2] = {(int64_t)M, D};
		npy_save(argv[6], DT_F32, 2, ts, txt);
		free(txt);
		npy_free(&t);
	}
	free(fc);
	free(img);
	free(pixels);
	clip_model_free(&m);
	return 0;
}
