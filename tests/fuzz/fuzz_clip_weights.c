/* fuzz_clip_weights.c — libFuzzer target for the CLIP weight loader: st_parse on arbitrary bytes, then
 * clip_model_load (the non-dying entry point) for each tower selection (both, text, vision) with the head
 * counts derived (width / 64, as OpenAI) and given (1, so that tiny widths load too). For a model that
 * loads:
 *   - its configuration passes clip_config_check and matches the file's shapes (every tensor the naming
 *     maps is in the file with that shape: clip_tensor_refs against st_find);
 *   - loading only some token embedding rows (clip_load_opts.token_ids) gives just those rows;
 *   - writing the towers back (clip_writer_add_tower, float32, the naming it was loaded with) gives every
 *     tensor's values bit for bit as the file holds them (NaN for NaN): the name/offset/transpose maps of
 *     the loader and the writer are inverse;
 *   - small models run a forward: the text tower on one token sequence (ids 0 .. vocab-1, EOT largest),
 *     the vision tower on one image, so the loaded sizes are ones the model code accepts.
 * Seeds: tests/fuzz/corpus/fuzz_clip_weights/ (made by tests/fuzz/make_clip_weights_seeds.py). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/clip_text.h"
#include "cpu/clip_vision.h"
#include "io/safetensors.h"
#include "model/clip_weights.h"

/* Forward passes only for models this small (bounds time and memory per input). */
#define SMALL_PARAMS 200000
#define SMALL_TOKENS 80

static int same_float(float a, float b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	return memcmp(&a, &b, sizeof a) == 0;
}

/* Every tensor of `tower` written back from the parameter block equals the file's, and exists there with
 * the shape the naming says. */
static void check_round_trip(const st_file *f, const clip_model *m, int tower)
{
	const float *params = tower == CLIP_VISION ? m->vision.param_memory : m->text.param_memory;
	size_t n = clip_tensor_refs(&m->cfg, tower, m->naming, NULL);
	clip_tensor_ref *refs = malloc(n * sizeof *refs);
	if (!refs)
		return;
	clip_tensor_refs(&m->cfg, tower, m->naming, refs);
	st_writer *w = st_writer_new();
	float *written = clip_writer_add_tower(w, &m->cfg, tower, params, m->naming, DT_F32);
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		const clip_tensor_ref *r = &refs[i];
		const st_tensor *t = st_find(f, r->name);
		if (!t || t->ndim != r->ndim || t->count != r->count)
			abort(); /* loaded, yet a tensor it needs is missing or mis-shaped */
		for (int k = 0; k < r->ndim; k++)
			if (t->shape[k] != r->shape[k])
				abort();
		float *file = st_to_f32(t, NULL);
		for (size_t k = 0; k < r->count; k++)
			if (!same_float(file[k], written[off + k]))
				abort(); /* the writer does not give back what the loader read */
		free(file);
		off += r->count;
	}
	st_writer_free(w);
	free(written);
	free(refs);
}

/* Loading only some token embedding rows (clip_load_opts.token_ids, ids out of range among them) gives
 * those rows as the full load does, zeros elsewhere, and every other parameter the same. */
static void check_token_rows(const st_file *f, const clip_model *full, const clip_load_opts *o)
{
	const clip_config *c = &full->cfg;
	int32_t ids[6] = {-1, 0, c->vocab_size - 1, c->vocab_size, c->vocab_size / 2, 0};
	clip_load_opts lo = *o;
	lo.towers = CLIP_TEXT;
	lo.token_ids = ids;
	lo.n_token_ids = 6;
	clip_model m;
	char err[1024];
	if (clip_model_load(&m, f, &lo, err, sizeof err) != 0)
		abort(); /* the same file loaded in full */
	size_t W = (size_t)c->text_width, table = (size_t)c->vocab_size * W;
	const float *a = m.text.param_memory, *b = full->text.param_memory;
	if (m.text.num_params != full->text.num_params)
		abort();
	for (size_t i = 0; i < m.text.num_params; i++) {
		size_t row = i / W;
		int wanted = i >= table || row == 0 || row == (size_t)c->vocab_size - 1 ||
			     row == (size_t)c->vocab_size / 2;
		if (wanted ? !same_float(a[i], b[i]) : a[i] != 0)
			abort();
	}
	clip_model_free(&m);
}

static void run_text(const clip_model *m)
{
	const clip_config *c = &m->cfg;
	if (m->text.num_params > SMALL_PARAMS || c->context_length > SMALL_TOKENS)
		return;
	int len = c->context_length < 5 ? c->context_length : 5;
	int32_t ids[SMALL_TOKENS] = {0};
	for (int i = 0; i < len; i++)
		ids[i] = i + 1 == len ? c->vocab_size - 1 : i % c->vocab_size;
	float *out = malloc((size_t)c->embed_dim * sizeof *out);
	char err[256];
	if (out && clip_encode_text(&m->text, ids, 1, c->context_length, out, err, sizeof err) != 0)
		abort(); /* valid ids must encode */
	free(out);
}

static void run_vision(clip_model *m)
{
	const clip_config *c = &m->cfg;
	if (m->vision.num_params > SMALL_PARAMS || clip_vision_tokens(c) > SMALL_TOKENS)
		return;
	size_t px = 3 * (size_t)c->image_resolution * c->image_resolution;
	float *image = malloc(px * sizeof *image), *out = malloc((size_t)c->embed_dim * sizeof *out);
	if (image && out) {
		for (size_t i = 0; i < px; i++)
			image[i] = (float)(i % 7) * 0.25f - 0.75f;
		clip_encode_image_once(&m->vision, image, 1, out);
	}
	free(image);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	st_file f;
	char err[1024];
	if (st_parse(data, size, &f, err, sizeof err) != 0)
		return 0;
	static const int towers[3] = {CLIP_BOTH, CLIP_TEXT, CLIP_VISION};
	for (int h = 0; h < 2; h++)
		for (int k = 0; k < 3; k++) {
			clip_load_opts o = {.towers = towers[k], .vision_heads = h, .text_heads = h};
			clip_model m;
			err[0] = 0;
			if (clip_model_load(&m, &f, &o, err, sizeof err) != 0) {
				if (!err[0])
					abort(); /* a failure must say why */
				if (m.towers || m.vision.param_memory || m.text.param_memory)
					abort(); /* and leave the model empty */
				continue;
			}
			if (m.towers != towers[k] || clip_config_check(&m.cfg, m.towers, err, sizeof err) != 0)
				abort();
			if (m.towers & CLIP_TEXT) {
				check_round_trip(&f, &m, CLIP_TEXT);
				check_token_rows(&f, &m, &o);
				run_text(&m);
			}
			if (m.towers & CLIP_VISION) {
				check_round_trip(&f, &m, CLIP_VISION);
				run_vision(&m);
			}
			clip_model_free(&m);
		}
	st_close(&f);
	return 0;
}
