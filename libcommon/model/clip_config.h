/* clip_config.h — the shape of a CLIP model (OpenAI's ViT variant): the constructor arguments of
 * OpenAI's clip/model.py CLIP class, plus the two head counts.
 *
 * OpenAI derives every number from the checkpoint's tensor shapes (clip/model.py build_model) and the
 * head counts as width / 64; clip_weights.c does the same, and a tool may override the head counts.
 * The text and the vision tower are independent: a tool that needs one tower leaves the other's fields 0.
 */
#ifndef LFM_CLIP_CONFIG_H
#define LFM_CLIP_CONFIG_H

#include <stddef.h>

/* Tower selection bits (which towers a file holds, which a tool needs). */
enum { CLIP_VISION = 1, CLIP_TEXT = 2, CLIP_BOTH = 3 };

typedef struct clip_config {
	int embed_dim; /* d: width of the joint embedding (the projections' output) */
	/* vision tower */
	int image_resolution; /* R: input images are 3 x R x R */
	int patch_size;       /* P: conv1 kernel = stride; R is a multiple of P */
	int vision_width;     /* W */
	int vision_layers;
	int vision_heads;
	/* text tower */
	int context_length; /* 77 */
	int vocab_size;     /* 49408 */
	int text_width;
	int text_layers;
	int text_heads;
} clip_config;

/* Derived sizes of the vision tower. */
static inline int clip_grid(const clip_config *c) { return c->image_resolution / c->patch_size; }
static inline int clip_vision_tokens(const clip_config *c) { return clip_grid(c) * clip_grid(c) + 1; }
static inline int clip_patch_dim(const clip_config *c) { return 3 * c->patch_size * c->patch_size; }

/* The architectures clip-init knows: "tiny" (the golden tiny-clip shape), "ViT-B/32", "ViT-B/16",
 * "ViT-L/14". Returns 0 and fills c, or -1 for an unknown name. */
int clip_config_preset(const char *arch, clip_config *c);
/* NULL-terminated list of the preset names, for option parsing and messages. */
extern const char *const clip_preset_names[];

/* Check the fields of the given towers (positive sizes, widths divisible by the head counts, resolution a
 * multiple of the patch size, sizes small enough that every buffer index fits). 0, or -1 with err. */
int clip_config_check(const clip_config *c, int towers, char *err, size_t errsz);

/* The configuration as compact JSON with OpenAI's constructor argument names (as the golden folders'
 * metadata and reference.json spell them) plus "vision_heads"; a tower's keys are left out when its width
 * is 0 (formats/checkpoint.md). Freshly allocated. */
char *clip_config_json(const clip_config *c);

#endif
