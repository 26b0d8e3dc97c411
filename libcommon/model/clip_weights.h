/* clip_weights.h — CLIP checkpoints as users have them: safetensors files with OpenAI/open_clip tensor names
 * (visual.transformer.resblocks.0.attn.in_proj_weight, token_embedding.weight, ...) or Hugging Face
 * CLIPModel names (vision_model.encoder.layers.0.self_attn.q_proj.weight, ...; q/k/v split in thirds,
 * visual_projection.weight and text_projection.weight transposed, position_ids buffers ignored), in F32,
 * F16 or BF16. The architecture comes from the tensor shapes, as OpenAI's build_model derives it.
 *
 * A loaded model remembers its naming, so a checkpoint written from it (clip_writer_add_tower) carries the
 * names it was loaded with and loads back into open_clip or transformers.
 */
#ifndef LFM_CLIP_WEIGHTS_H
#define LFM_CLIP_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "io/safetensors.h"
#include "model/clip_config.h"
#include "model/clip_params.h"

typedef enum { CLIP_NAMING_OPENAI, CLIP_NAMING_HF } clip_naming;

/* "openai-clip" / "hf-clipmodel" (the golden folders' "naming" metadata). */
const char *clip_naming_name(clip_naming n);

/* One tensor of a checkpoint and where its values live in a tower's parameter block. */
typedef struct clip_tensor_ref {
	char name[128];   /* the name in the file */
	int ndim;
	int64_t shape[4]; /* the shape in the file */
	size_t count;
	size_t offset;    /* first float in the tower's block (clip_vision_weights.param_memory / clip_text_weights') */
	int transposed;   /* the file holds the transpose of the [shape[1], shape[0]] block at offset */
	int param;        /* index in the tower's clip_param_info table */
	int layer;        /* resblock index, -1 for the others */
} clip_tensor_ref;

/* Every tensor of one tower (CLIP_VISION or CLIP_TEXT) under a naming, in parameter-block order: the map
 * between parameters and names in either convention. Returns the count; out NULL only counts. */
size_t clip_tensor_refs(const clip_config *c, int tower, clip_naming naming, clip_tensor_ref *out);

typedef struct clip_model {
	clip_config cfg;
	int towers;         /* CLIP_VISION | CLIP_TEXT: what was loaded */
	clip_naming naming; /* the names the file used */
	clip_vision_weights vision; /* valid when towers & CLIP_VISION */
	clip_text_weights text;     /* valid when towers & CLIP_TEXT */
	int has_logit_scale;
	float logit_scale;
} clip_model;

typedef struct clip_load_opts {
	int towers;       /* the towers needed (CLIP_VISION, CLIP_TEXT or both); others are not loaded */
	int vision_heads; /* 0: vision width / 64 as OpenAI */
	int text_heads;   /* 0: text width / 64 */
	/* NULL: the whole token embedding is loaded. Otherwise only its rows for these ids (ids outside the
	 * vocabulary are ignored); the other rows stay 0, so the model then encodes only sequences of these
	 * ids correctly. For a tool that tokenizes before loading (clip-embed-text): it skips converting, and
	 * holding in memory, most of the [vocabulary, width] table. */
	const int32_t *token_ids;
	size_t n_token_ids;
} clip_load_opts;

/* Derive the configuration of the towers o->towers from a file's shapes; *naming and *present (the towers
 * the file holds) are set too. 0, or -1 with "PATH: problem" in err. */
int clip_config_from_file(const st_file *f, const clip_load_opts *o, clip_config *c, clip_naming *naming,
			  int *present, char *err, size_t errsz);
/* Load the towers o->towers from an open file (the non-dying entry point). On error returns -1 with a
 * message naming the file and the tensor ("tensor 'visual.proj': shape [128, 32] found, [128, 64]
 * expected", "tensor '...' missing (expected shape [..])") and leaves m empty. */
int clip_model_load(clip_model *m, const st_file *f, const clip_load_opts *o, char *err, size_t errsz);
/* Open and load; a file that cannot be read dies with LFM_EXIT_IO, bad contents with LFM_EXIT_DATA. */
void clip_model_load_or_die(clip_model *m, const char *path, const clip_load_opts *o);
void clip_model_free(clip_model *m);

/* Add one tower's tensors from its parameter block to w under naming's names, converted to dt (F32, F16
 * or BF16). st_writer keeps references: the returned allocation holds the converted data and must be
 * freed after st_writer_save. */
void *clip_writer_add_tower(st_writer *w, const clip_config *c, int tower, const float *params,
			    clip_naming naming, dtype dt);
/* The standard metadata: "format": "pt", "naming", "config" (clip_config_json). */
void clip_writer_meta(st_writer *w, const clip_config *c, clip_naming naming);

/* Save the towers `towers` of m (and logit_scale, as float32, when m has one) with the standard metadata
 * plus extra key/value pairs (a NULL-terminated list key, value, key, value, ..., or NULL), atomically. */
void clip_model_save(const clip_model *m, int towers, dtype dt, const char *path, const char *const *extra_meta);

/* Checkpoints (formats/checkpoint.md) are written by checkpoint_save (model/checkpoint.h), the one writer. */

#endif
