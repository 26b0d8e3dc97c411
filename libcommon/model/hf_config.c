/* hf_config.c — see hf_config.h. */
#include "model/hf_config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/json.h"

/* config.json is small (a few kB); anything past this is not a model configuration. */
#define HF_CONFIG_MAX (1u << 20)

/* An integer member, or -1 when absent; a member of another type is an error. */
static int get_int(const json_value *o, const char *key, int *out, const char *path, const char *where, char *err,
		   size_t errsz)
{
	const json_value *v = json_get(o, key);
	*out = -1;
	if (!v || v->type == JSON_NULL)
		return 0;
	if (v->type != JSON_NUMBER || !v->is_integer || v->integer < 0 || v->integer > 100000000)
		return err_set(err, errsz, "%s: %s%s is not a non-negative integer", path, where, key);
	*out = (int)v->integer;
	return 0;
}

/* One tower's object: its activation and epsilon checked, its sizes read. */
static int read_tower(const json_value *o, int tower, hf_clip_config *h, const char *path, const char *where,
		      char *err, size_t errsz)
{
	const json_value *act = json_get(o, "hidden_act");
	if (act && act->type != JSON_STRING)
		return err_set(err, errsz, "%s: %shidden_act is not a string", path, where);
	if (act && strcmp(act->string, "quick_gelu") != 0)
		return err_set(err, errsz, "%s: %shidden_act is '%s': these tools implement CLIP's QuickGELU only "
					"(OpenAI's models, open_clip's -quickgelu ones, hidden_act \"quick_gelu\"); a "
					"%s model such as LAION's ViT-B-32 is not supported",
			    path, where, act->string, act->string);
	const json_value *eps = json_get(o, "layer_norm_eps");
	if (eps && (eps->type != JSON_NUMBER || fabs(eps->number - 1e-5) > 1e-12))
		return err_set(err, errsz, "%s: %slayer_norm_eps is not 1e-05, the epsilon of CLIP's LayerNorms that "
					"these tools implement", path, where);
	int heads;
	if (tower == CLIP_VISION) {
		if (get_int(o, "num_attention_heads", &heads, path, where, err, errsz) ||
		    get_int(o, "hidden_size", &h->vision_width, path, where, err, errsz) ||
		    get_int(o, "num_hidden_layers", &h->vision_layers, path, where, err, errsz) ||
		    get_int(o, "intermediate_size", &h->vision_intermediate, path, where, err, errsz) ||
		    get_int(o, "image_size", &h->image_size, path, where, err, errsz) ||
		    get_int(o, "patch_size", &h->patch_size, path, where, err, errsz))
			return -1;
		h->vision_heads = heads > 0 ? heads : 12;
	} else {
		if (get_int(o, "num_attention_heads", &heads, path, where, err, errsz) ||
		    get_int(o, "hidden_size", &h->text_width, path, where, err, errsz) ||
		    get_int(o, "num_hidden_layers", &h->text_layers, path, where, err, errsz) ||
		    get_int(o, "intermediate_size", &h->text_intermediate, path, where, err, errsz) ||
		    get_int(o, "max_position_embeddings", &h->max_positions, path, where, err, errsz) ||
		    get_int(o, "vocab_size", &h->vocab_size, path, where, err, errsz))
			return -1;
		h->text_heads = heads > 0 ? heads : 8;
	}
	h->towers |= tower;
	return 0;
}

/* Read the whole (small) file without dying: the loader's entry points never die. */
static char *slurp(const char *path, size_t *len, char *err, size_t errsz)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		err_set(err, errsz, "%s: cannot open: %s (a Hugging Face model directory holds config.json beside "
				    "model.safetensors)", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(HF_CONFIG_MAX + 1);
	size_t n = buf ? fread(buf, 1, HF_CONFIG_MAX + 1, f) : 0;
	int bad = !buf || ferror(f);
	fclose(f);
	if (bad || n > HF_CONFIG_MAX) {
		free(buf);
		err_set(err, errsz, "%s: %s", path, bad ? "read error" : "larger than 1 MiB: not a model configuration");
		return NULL;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

int hf_config_read(const char *dir, int towers, hf_clip_config *h, char *err, size_t errsz)
{
	memset(h, 0, sizeof *h);
	h->projection_dim = -1;
	char *path = xasprintf("%s/config.json", dir);
	size_t len = 0;
	char *text = slurp(path, &len, err, errsz);
	json_value *root = NULL;
	int rc = -1;
	if (!text)
		goto out;
	char perr[256];
	root = json_parse(text, len, perr, sizeof perr);
	if (!root) {
		err_set(err, errsz, "%s: %s", path, perr);
		goto out;
	}
	if (root->type != JSON_OBJECT) {
		err_set(err, errsz, "%s: not a JSON object", path);
		goto out;
	}
	const json_value *mt = json_get(root, "model_type");
	const char *type = mt && mt->type == JSON_STRING ? mt->string : "clip";
	if (get_int(root, "projection_dim", &h->projection_dim, path, "", err, errsz))
		goto out;
	if (strcmp(type, "clip") == 0) {
		const json_value *v = json_get(root, "vision_config"), *t = json_get(root, "text_config");
		if ((v && v->type != JSON_OBJECT) || (t && t->type != JSON_OBJECT)) {
			err_set(err, errsz, "%s: vision_config and text_config must be objects", path);
			goto out;
		}
		/* transformers fills an absent sub-config with its defaults, so a tower is always described */
		static const json_value empty = {.type = JSON_OBJECT};
		if (((towers & CLIP_VISION) &&
		     read_tower(v ? v : &empty, CLIP_VISION, h, path, "vision_config.", err, errsz)) ||
		    ((towers & CLIP_TEXT) && read_tower(t ? t : &empty, CLIP_TEXT, h, path, "text_config.", err, errsz)))
			goto out;
	} else if (strcmp(type, "clip_vision_model") == 0 || strcmp(type, "clip_text_model") == 0) {
		int tower = type[5] == 'v' ? CLIP_VISION : CLIP_TEXT;
		if (towers & ~tower & CLIP_BOTH) {
			err_set(err, errsz, "%s: model_type '%s' describes only the %s tower, and the %s tower is needed", path,
				type, tower == CLIP_VISION ? "vision" : "text", tower == CLIP_VISION ? "text" : "vision");
			goto out;
		}
		if (read_tower(root, tower, h, path, "", err, errsz))
			goto out;
	} else {
		err_set(err, errsz, "%s: model_type '%s' is not CLIP ('clip', 'clip_vision_model' or 'clip_text_model')",
			path, type);
		goto out;
	}
	rc = 0;
out:
	json_free(root);
	free(text);
	free(path);
	return rc;
}

static int differs(int stated, int actual, const char *key, const char *path, char *err, size_t errsz)
{
	if (stated < 0 || stated == actual)
		return 0;
	return err_set(err, errsz, "%s: %s is %d, but the tensors of model.safetensors give %d", path, key, stated,
		       actual);
}

int hf_config_check(const hf_clip_config *h, const clip_config *c, int towers, const char *path, char *err,
		    size_t errsz)
{
	if (differs(h->projection_dim, c->embed_dim, "projection_dim", path, err, errsz))
		return -1;
	if ((towers & CLIP_VISION) &&
	    (differs(h->vision_width, c->vision_width, "vision hidden_size", path, err, errsz) ||
	     differs(h->vision_layers, c->vision_layers, "vision num_hidden_layers", path, err, errsz) ||
	     differs(h->vision_intermediate, 4 * c->vision_width, "vision intermediate_size", path, err, errsz) ||
	     differs(h->image_size, c->image_resolution, "image_size", path, err, errsz) ||
	     differs(h->patch_size, c->patch_size, "patch_size", path, err, errsz)))
		return -1;
	if ((towers & CLIP_TEXT) &&
	    (differs(h->text_width, c->text_width, "text hidden_size", path, err, errsz) ||
	     differs(h->text_layers, c->text_layers, "text num_hidden_layers", path, err, errsz) ||
	     differs(h->text_intermediate, 4 * c->text_width, "text intermediate_size", path, err, errsz) ||
	     differs(h->max_positions, c->context_length, "max_position_embeddings", path, err, errsz) ||
	     differs(h->vocab_size, c->vocab_size, "vocab_size", path, err, errsz)))
		return -1;
	return 0;
}

/* The members both tower configs share. */
static void tower_json(FILE *f, const char *model_type, int width, int heads, int layers, int D)
{
	fprintf(f,
		"\"model_type\": \"%s\",\n"
		"    \"hidden_size\": %d,\n"
		"    \"intermediate_size\": %d,\n"
		"    \"num_attention_heads\": %d,\n"
		"    \"num_hidden_layers\": %d,\n"
		"    \"projection_dim\": %d,\n"
		"    \"hidden_act\": \"quick_gelu\",\n"
		"    \"layer_norm_eps\": 1e-05,\n"
		"    \"attention_dropout\": 0.0,\n"
		"    \"initializer_range\": 0.02,\n"
		"    \"initializer_factor\": 1.0",
		model_type, width, 4 * width, heads, layers, D);
}

static void vision_json(FILE *f, const clip_config *c)
{
	tower_json(f, "clip_vision_model", c->vision_width, c->vision_heads, c->vision_layers, c->embed_dim);
	fprintf(f, ",\n    \"image_size\": %d,\n    \"patch_size\": %d,\n    \"num_channels\": 3", c->image_resolution,
		c->patch_size);
}

static void text_json(FILE *f, const clip_config *c)
{
	tower_json(f, "clip_text_model", c->text_width, c->text_heads, c->text_layers, c->embed_dim);
	/* eos_token_id 2 is transformers' "legacy" value (the one OpenAI's own converted configs carry): with
	 * it CLIPTextTransformer pools at input_ids.argmax(-1), exactly OpenAI's rule, for any token ids; the
	 * other ids are those configs' too (the tokenizer's own ids live in its files, not here). */
	fprintf(f, ",\n    \"max_position_embeddings\": %d,\n    \"vocab_size\": %d,\n"
		   "    \"bos_token_id\": 0,\n    \"eos_token_id\": 2,\n    \"pad_token_id\": 1",
		c->context_length, c->vocab_size);
}

char *hf_config_json(const clip_config *c, int towers, const char *torch_dtype)
{
	membuf m;
	FILE *f = membuf_open(&m);
	if (towers == CLIP_BOTH) {
		fprintf(f, "{\n  \"architectures\": [\"CLIPModel\"],\n  \"model_type\": \"clip\",\n"
			   "  \"projection_dim\": %d,\n  \"logit_scale_init_value\": 2.6592,\n"
			   "  \"initializer_factor\": 1.0,\n  \"dtype\": \"%s\",\n  \"text_config\": {\n    ",
			c->embed_dim, torch_dtype);
		text_json(f, c);
		fprintf(f, "\n  },\n  \"vision_config\": {\n    ");
		vision_json(f, c);
		fprintf(f, "\n  }\n}\n");
	} else {
		int v = towers == CLIP_VISION;
		fprintf(f, "{\n  \"architectures\": [\"%s\"],\n  \"dtype\": \"%s\",\n  ",
			v ? "CLIPVisionModelWithProjection" : "CLIPTextModelWithProjection", torch_dtype);
		/* the tower's members at the top, indented as the rest */
		if (v)
			vision_json(f, c);
		else
			text_json(f, c);
		fprintf(f, "\n}\n");
	}
	return membuf_close(&m);
}
