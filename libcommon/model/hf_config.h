/* hf_config.h — Hugging Face transformers' config.json for CLIP: read beside a model directory's
 * model.safetensors (a directory given as a model: io/safetensors.h), and written by clip-export --to hf
 * (formats/checkpoint.md, "Hugging Face export directory").
 *
 * Why read it: the tensor shapes give every size but the head counts, and nothing in the tensors says
 * which activation the MLPs use. Our towers implement QuickGELU only (OpenAI's x * sigmoid(1.702 x)), so a
 * tower whose hidden_act is anything else (LAION's GELU models: "gelu") is refused rather than computed
 * wrong; the head counts come from num_attention_heads; and the sizes it states are checked against the
 * tensors, so a config.json that describes another model is an error, not a silent surprise.
 *
 * Three layouts, as transformers has them: model_type "clip" (CLIPModel: text_config and vision_config
 * objects, projection_dim at the top), "clip_vision_model" (CLIPVisionModelWithProjection: the vision
 * keys at the top) and "clip_text_model" (CLIPTextModelWithProjection). A key left out means
 * transformers' default for it (CLIPTextConfig / CLIPVisionConfig: hidden_act "quick_gelu",
 * layer_norm_eps 1e-5, 8 text heads, 12 vision heads), as from_pretrained would read it.
 */
#ifndef LFM_HF_CONFIG_H
#define LFM_HF_CONFIG_H

#include <stddef.h>

#include "model/clip_config.h"

/* What a config.json says. A size is -1 where the file leaves it out (then it is not checked). */
typedef struct hf_clip_config {
	int towers;           /* CLIP_VISION | CLIP_TEXT: the towers the config describes */
	int projection_dim;
	int vision_heads, text_heads; /* transformers' defaults when absent: 12, 8 */
	int vision_width, vision_layers, vision_intermediate, image_size, patch_size;
	int text_width, text_layers, text_intermediate, max_positions, vocab_size;
} hf_clip_config;

/* Read DIR/config.json for the towers `towers` a tool needs: each must be described, with hidden_act
 * "quick_gelu" and layer_norm_eps 1e-5. 0, or -1 with "DIR/config.json: problem" in err. */
int hf_config_read(const char *dir, int towers, hf_clip_config *h, char *err, size_t errsz);

/* Check the sizes h states for the towers `towers` against c (derived from the tensors); path names the
 * config.json in messages. 0, or -1 with err. */
int hf_config_check(const hf_clip_config *h, const clip_config *c, int towers, const char *path, char *err,
		    size_t errsz);

/* config.json for c's towers `towers` (both: CLIPModel; one: CLIPVisionModelWithProjection or
 * CLIPTextModelWithProjection), with eos_token_id 2 so that transformers pools the text at the largest token
 * id, the EOT, exactly as OpenAI's argmax does; torch_dtype names the weights' element type ("float32",
 * "float16", "bfloat16": the "dtype" key, which from_pretrained(dtype="auto") follows). Freshly allocated. */
char *hf_config_json(const clip_config *c, int towers, const char *torch_dtype);

#endif
