/* clip_init.c — see clip_init.h. */
#include "model/clip_init.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/rng.h"

typedef enum { FILL_ZERO, FILL_ONE, FILL_NORMAL, FILL_UNIFORM } fill_kind;

typedef struct fill_rule {
	fill_kind kind;
	double scale; /* the standard deviation, or the uniform bound */
} fill_rule;

/* The rule for parameter-table entry `param` of a tower (clip_param_info order). */
static fill_rule rule_for(const clip_config *c, int tower, int param)
{
	int vision = tower == CLIP_VISION;
	double W = vision ? c->vision_width : c->text_width;
	double L = vision ? c->vision_layers : c->text_layers;
	int head = vision ? 5 : 2;
	if (param < head) {
		if (!vision) /* token_embedding, positional_embedding */
			return (fill_rule){FILL_NORMAL, param == 0 ? 0.02 : 0.01};
		switch (param) {
		case 0: /* conv1 */
			return (fill_rule){FILL_UNIFORM, 1.0 / sqrt(3.0 * c->patch_size * c->patch_size)};
		case 1: /* class_embedding */
		case 2: /* positional_embedding */
			return (fill_rule){FILL_NORMAL, 1.0 / sqrt(W)};
		case 3:
			return (fill_rule){FILL_ONE, 0};
		default:
			return (fill_rule){FILL_ZERO, 0};
		}
	}
	int j = param - head;
	if (j >= CLIP_BLOCK_TENSORS) { /* final LayerNorm weight, bias; projection */
		int k = j - CLIP_BLOCK_TENSORS;
		if (k == 2)
			return (fill_rule){FILL_NORMAL, 1.0 / sqrt(W)};
		return (fill_rule){k == 0 ? FILL_ONE : FILL_ZERO, 0};
	}
	double proj_std = 1.0 / sqrt(W) / sqrt(2.0 * L);
	switch (j) {
	case 0: /* ln_1.weight */
	case 6: /* ln_2.weight */
		return (fill_rule){FILL_ONE, 0};
	case 2: /* in_proj_weight */
		return vision ? (fill_rule){FILL_UNIFORM, sqrt(6.0 / (4.0 * W))} : (fill_rule){FILL_NORMAL, 1.0 / sqrt(W)};
	case 4: /* out_proj.weight */
		return vision ? (fill_rule){FILL_UNIFORM, 1.0 / sqrt(W)} : (fill_rule){FILL_NORMAL, proj_std};
	case 8: /* c_fc.weight */
		return vision ? (fill_rule){FILL_UNIFORM, 1.0 / sqrt(W)} : (fill_rule){FILL_NORMAL, 1.0 / sqrt(2.0 * W)};
	case 9: /* c_fc.bias */
		return (fill_rule){FILL_UNIFORM, 1.0 / sqrt(W)};
	case 10: /* c_proj.weight */
		return vision ? (fill_rule){FILL_UNIFORM, 1.0 / sqrt(4.0 * W)} : (fill_rule){FILL_NORMAL, proj_std};
	case 11: /* c_proj.bias */
		return (fill_rule){FILL_UNIFORM, 1.0 / sqrt(4.0 * W)};
	default: /* ln biases, in_proj_bias, out_proj.bias */
		return (fill_rule){FILL_ZERO, 0};
	}
}

static void init_tower(const clip_config *c, int tower, float *block, uint64_t seed)
{
	size_t n = clip_tensor_refs(c, tower, CLIP_NAMING_OPENAI, NULL);
	clip_tensor_ref *refs = xmalloc_array(n, sizeof *refs);
	clip_tensor_refs(c, tower, CLIP_NAMING_OPENAI, refs);
	for (size_t i = 0; i < n; i++) {
		fill_rule f = rule_for(c, tower, refs[i].param);
		float *dst = block + refs[i].offset;
		char tag[160];
		snprintf(tag, sizeof tag, "clip-init %s", refs[i].name);
		rng r;
		rng_init(&r, seed, rng_stream_id(tag, 0, 0));
		for (size_t k = 0; k < refs[i].count; k++) {
			switch (f.kind) {
			case FILL_ZERO:
				dst[k] = 0;
				break;
			case FILL_ONE:
				dst[k] = 1;
				break;
			case FILL_NORMAL:
				dst[k] = (float)(f.scale * rng_normal(&r));
				break;
			case FILL_UNIFORM:
				dst[k] = (float)(f.scale * (2.0 * rng_uniform(&r) - 1.0));
				break;
			}
		}
	}
	free(refs);
}

void clip_model_init_random(clip_model *m, const clip_config *c, int towers, uint64_t seed)
{
	memset(m, 0, sizeof *m);
	m->cfg = *c;
	m->naming = CLIP_NAMING_OPENAI;
	if (towers & CLIP_VISION) {
		clip_vision_weights_init(&m->vision, c);
		init_tower(c, CLIP_VISION, m->vision.param_memory, seed);
	}
	if (towers & CLIP_TEXT) {
		clip_text_weights_init(&m->text, c);
		init_tower(c, CLIP_TEXT, m->text.param_memory, seed);
	}
	m->towers = towers & CLIP_BOTH;
	m->has_logit_scale = 1;
	m->logit_scale = (float)log(1.0 / 0.07);
}
