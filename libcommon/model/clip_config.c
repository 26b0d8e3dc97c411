/* clip_config.c — see clip_config.h. */
#include "model/clip_config.h"

#include <stdio.h>
#include <string.h>

#include "base/errors.h"

const char *const clip_preset_names[] = {"tiny", "ViT-B/32", "ViT-B/16", "ViT-L/14", NULL};

int clip_config_preset(const char *arch, clip_config *c)
{
	/* embed, resolution, patch, vision width, vision layers, text width, text layers (OpenAI's table) */
	static const struct {
		const char *name;
		int embed, res, patch, vw, vl, tw, tl;
	} presets[] = {
		{"tiny", 64, 32, 8, 128, 2, 128, 2},
		{"ViT-B/32", 512, 224, 32, 768, 12, 512, 12},
		{"ViT-B/16", 512, 224, 16, 768, 12, 512, 12},
		{"ViT-L/14", 768, 224, 14, 1024, 24, 768, 12},
	};
	for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
		if (strcmp(arch, presets[i].name) != 0)
			continue;
		*c = (clip_config){
			.embed_dim = presets[i].embed,
			.image_resolution = presets[i].res,
			.patch_size = presets[i].patch,
			.vision_width = presets[i].vw,
			.vision_layers = presets[i].vl,
			.vision_heads = presets[i].vw / 64,
			.context_length = 77,
			.vocab_size = 49408,
			.text_width = presets[i].tw,
			.text_layers = presets[i].tl,
			.text_heads = presets[i].tw / 64,
		};
		return 0;
	}
	return -1;
}

/* Limits that keep every activation index (tokens x 4 width, heads x tokens^2) far inside int and size_t
 * on any batch a tool allocates; real CLIPs are far below them. */
#define MAX_WIDTH 65536
#define MAX_LAYERS 1024
#define MAX_TOKENS 65536

int clip_config_check(const clip_config *c, int towers, char *err, size_t errsz)
{
	if (c->embed_dim <= 0 || c->embed_dim > MAX_WIDTH) {
		snprintf(err, errsz, "embedding width %d out of range (1 .. %d)", c->embed_dim, MAX_WIDTH);
		return -1;
	}
	if (towers & CLIP_VISION) {
		if (c->vision_width <= 0 || c->vision_width > MAX_WIDTH || c->vision_layers <= 0 ||
		    c->vision_layers > MAX_LAYERS || c->patch_size <= 0 || c->image_resolution <= 0) {
			snprintf(err, errsz,
				 "vision tower: width %d, layers %d, patch %d, resolution %d out of range",
				 c->vision_width, c->vision_layers, c->patch_size, c->image_resolution);
			return -1;
		}
		if (c->image_resolution % c->patch_size) {
			snprintf(err, errsz, "vision tower: resolution %d is not a multiple of the patch size %d",
				 c->image_resolution, c->patch_size);
			return -1;
		}
		long long grid = c->image_resolution / c->patch_size;
		if (grid * grid + 1 > MAX_TOKENS || 3LL * c->patch_size * c->patch_size > MAX_WIDTH * 4LL) {
			snprintf(err, errsz, "vision tower: %lld x %lld patches of %d pixels is too large", grid,
				 grid, c->patch_size);
			return -1;
		}
		if (c->vision_heads <= 0 || c->vision_width % c->vision_heads) {
			snprintf(err, errsz, "vision tower: width %d is not divisible into %d heads",
				 c->vision_width, c->vision_heads);
			return -1;
		}
	}
	if (towers & CLIP_TEXT) {
		if (c->text_width <= 0 || c->text_width > MAX_WIDTH || c->text_layers <= 0 ||
		    c->text_layers > MAX_LAYERS || c->context_length < 2 || c->context_length > MAX_TOKENS ||
		    c->vocab_size <= 0 || c->vocab_size > 100000000) {
			snprintf(err, errsz,
				 "text tower: width %d, layers %d, context %d, vocabulary %d out of range",
				 c->text_width, c->text_layers, c->context_length, c->vocab_size);
			return -1;
		}
		if (c->text_heads <= 0 || c->text_width % c->text_heads) {
			snprintf(err, errsz, "text tower: width %d is not divisible into %d heads", c->text_width,
				 c->text_heads);
			return -1;
		}
	}
	return 0;
}

char *clip_config_json(const clip_config *c)
{
	char vision[256] = "", text[256] = "";
	if (c->vision_width > 0)
		snprintf(vision, sizeof vision,
			 ",\"image_resolution\":%d,\"vision_layers\":%d,\"vision_width\":%d,\"vision_patch_size\":%d,"
			 "\"vision_heads\":%d",
			 c->image_resolution, c->vision_layers, c->vision_width, c->patch_size, c->vision_heads);
	if (c->text_width > 0)
		snprintf(text, sizeof text,
			 ",\"context_length\":%d,\"vocab_size\":%d,\"transformer_width\":%d,\"transformer_heads\":%d,"
			 "\"transformer_layers\":%d",
			 c->context_length, c->vocab_size, c->text_width, c->text_heads, c->text_layers);
	return xasprintf("{\"embed_dim\":%d%s%s}", c->embed_dim, vision, text);
}
