/* open_clip_config.c — open_clip's model configuration for custom sizes (export.h). open_clip builds the
 * same towers from it that OpenAI's build_model does from the tensors: head_width is width / heads,
 * mlp_ratio its default 4, QuickGELU on (what OpenAI's weights were trained with and our towers compute),
 * the text pooled at the largest id (open_clip's default pool_type "argmax"). */
#include <stdio.h>

#include "base/errors.h"
#include "export.h"

char *open_clip_config_json(const clip_config *c)
{
	return xasprintf("{\n"
			 "  \"embed_dim\": %d,\n"
			 "  \"quick_gelu\": true,\n"
			 "  \"vision_cfg\": {\n"
			 "    \"image_size\": %d,\n"
			 "    \"layers\": %d,\n"
			 "    \"width\": %d,\n"
			 "    \"patch_size\": %d,\n"
			 "    \"head_width\": %d\n"
			 "  },\n"
			 "  \"text_cfg\": {\n"
			 "    \"context_length\": %d,\n"
			 "    \"vocab_size\": %d,\n"
			 "    \"width\": %d,\n"
			 "    \"heads\": %d,\n"
			 "    \"layers\": %d\n"
			 "  }\n"
			 "}\n",
			 c->embed_dim, c->image_resolution, c->vision_layers, c->vision_width, c->patch_size,
			 c->vision_width / c->vision_heads, c->context_length, c->vocab_size, c->text_width,
			 c->text_heads, c->text_layers);
}
