/* test_hf_config.c — transformers' config.json (model/hf_config.h) without Python: what clip-export
 * writes reads back with the same sizes and heads for both towers and for one; GELU, another epsilon,
 * another model type, a missing file and malformed members are refused with messages naming the file and
 * the key; stated sizes the model contradicts are errors; absent keys take transformers' defaults; a Hugging
 * Face directory opens as a model (io/safetensors.h) and its config.json heads reach the configuration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/errors.h"
#include "model/clip_init.h"
#include "model/clip_weights.h"
#include "model/hf_config.h"
#include "../test.h"

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

/* A directory NAME under the scratch folder holding config.json with text; returns its path. */
static const char *dir_with(const char *name, const char *text)
{
	const char *d = t_tmp_path(name);
	mkdir(d, 0777);
	char *p = xasprintf("%s/config.json", d);
	write_file(p, text);
	free(p);
	return d;
}

static clip_config tiny(void)
{
	clip_config c;
	clip_config_preset("tiny", &c);
	c.vision_heads = 4; /* not width / 64: the heads must come from the file */
	c.text_heads = 2;
	return c;
}

static void test_round_trip_both_towers(void)
{
	clip_config c = tiny();
	char *json = hf_config_json(&c, CLIP_BOTH, "float32");
	T_ASSERT(strstr(json, "\"architectures\": [\"CLIPModel\"]") && strstr(json, "\"eos_token_id\": 2"));
	const char *d = dir_with("both", json);
	hf_clip_config h;
	char err[512] = "";
	T_ASSERTF(hf_config_read(d, CLIP_BOTH, &h, err, sizeof err) == 0, "%s", err);
	T_ASSERT(h.towers == CLIP_BOTH && h.vision_heads == 4 && h.text_heads == 2 && h.projection_dim == 64);
	T_ASSERT(h.vision_width == 128 && h.image_size == 32 && h.patch_size == 8 && h.vision_intermediate == 512);
	T_ASSERT(h.text_width == 128 && h.max_positions == 77 && h.vocab_size == 49408 && h.text_layers == 2);
	T_ASSERTF(hf_config_check(&h, &c, CLIP_BOTH, "x/config.json", err, sizeof err) == 0, "%s", err);
	clip_config other = c;
	other.image_resolution = 64;
	T_ASSERT(hf_config_check(&h, &other, CLIP_BOTH, "x/config.json", err, sizeof err) != 0 &&
		 strstr(err, "x/config.json: image_size is 32, but the tensors of model.safetensors give 64"));
	free(json);
}

static void test_one_tower(void)
{
	clip_config c = tiny();
	char *json = hf_config_json(&c, CLIP_VISION, "bfloat16");
	T_ASSERT(strstr(json, "CLIPVisionModelWithProjection") && strstr(json, "\"model_type\": \"clip_vision_model\"") &&
		 strstr(json, "\"dtype\": \"bfloat16\""));
	const char *d = dir_with("vision", json);
	hf_clip_config h;
	char err[512] = "";
	T_ASSERTF(hf_config_read(d, CLIP_VISION, &h, err, sizeof err) == 0, "%s", err);
	T_ASSERT(h.towers == CLIP_VISION && h.vision_heads == 4 && h.projection_dim == 64);
	T_ASSERT(hf_config_read(d, CLIP_BOTH, &h, err, sizeof err) != 0 &&
		 strstr(err, "describes only the vision tower, and the text tower is needed"));
	free(json);
	json = hf_config_json(&c, CLIP_TEXT, "float32");
	T_ASSERT(strstr(json, "CLIPTextModelWithProjection"));
	d = dir_with("text", json);
	T_ASSERTF(hf_config_read(d, CLIP_TEXT, &h, err, sizeof err) == 0 && h.text_heads == 2, "%s", err);
	free(json);
}

static void test_refusals(void)
{
	hf_clip_config h;
	char err[512];
	static const struct {
		const char *json, *want;
	} rows[] = {
	    {"{\"model_type\":\"clip\",\"vision_config\":{\"hidden_act\":\"gelu\"}}",
	     "config.json: vision_config.hidden_act is 'gelu': these tools implement CLIP's QuickGELU only"},
	    {"{\"text_config\":{\"hidden_act\":\"gelu_new\"}}", "text_config.hidden_act is 'gelu_new'"},
	    {"{\"vision_config\":{\"layer_norm_eps\":1e-6}}", "vision_config.layer_norm_eps is not 1e-05"},
	    {"{\"model_type\":\"siglip\"}", "model_type 'siglip' is not CLIP"},
	    {"{\"vision_config\":{\"num_attention_heads\":\"12\"}}", "vision_config.num_attention_heads is not a non-negative integer"},
	    {"{\"vision_config\":[]}", "vision_config and text_config must be objects"},
	    {"[1]", "not a JSON object"},
	    {"{\"a\":", "config.json: at byte"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char name[32];
		snprintf(name, sizeof name, "bad%zu", i);
		const char *d = dir_with(name, rows[i].json);
		err[0] = 0;
		T_ASSERTF(hf_config_read(d, CLIP_BOTH, &h, err, sizeof err) != 0 && strstr(err, rows[i].want) &&
			      strstr(err, d),
			  "row %zu: %s", i, err);
	}
	const char *d = t_tmp_path("noconfig");
	mkdir(d, 0777);
	T_ASSERT(hf_config_read(d, CLIP_BOTH, &h, err, sizeof err) != 0 && strstr(err, "noconfig/config.json: cannot open"));
}

static void test_defaults(void)
{
	/* transformers' CLIPTextConfig / CLIPVisionConfig defaults: quick_gelu, 1e-5, 8 and 12 heads */
	const char *d = dir_with("defaults", "{\"model_type\":\"clip\"}");
	hf_clip_config h;
	char err[512] = "";
	T_ASSERTF(hf_config_read(d, CLIP_BOTH, &h, err, sizeof err) == 0, "%s", err);
	T_ASSERT(h.vision_heads == 12 && h.text_heads == 8 && h.vision_width == -1 && h.projection_dim == -1);
}

static void test_directory_as_model(void)
{
	clip_config c = tiny();
	clip_model m;
	clip_model_init_random(&m, &c, CLIP_BOTH, 7);
	m.naming = CLIP_NAMING_HF;
	const char *d = t_tmp_path("hfdir");
	mkdir(d, 0777);
	char *p = xasprintf("%s/model.safetensors", d);
	clip_model_save(&m, CLIP_BOTH, DT_F32, p, NULL);
	char *json = hf_config_json(&c, CLIP_BOTH, "float32");
	char *cp = xasprintf("%s/config.json", d);
	write_file(cp, json);
	st_file f;
	char err[1024] = "";
	T_ASSERTF(st_open(d, &f, err, sizeof err) == 0 && f.dir && strcmp(f.path, p) == 0, "%s", err);
	clip_load_opts lo = {.towers = CLIP_BOTH};
	clip_model back;
	T_ASSERTF(clip_model_load(&back, &f, &lo, err, sizeof err) == 0, "%s", err);
	T_ASSERT(back.cfg.vision_heads == 4 && back.cfg.text_heads == 2); /* width / 64 would give 2 and 2 */
	clip_model_free(&back);
	lo.vision_heads = 2;
	T_ASSERT(clip_model_load(&back, &f, &lo, err, sizeof err) != 0 &&
		 strstr(err, "4 vision attention heads, but 2 were asked for"));
	st_close(&f);
	/* the same file named directly: no config.json consulted; the heads are those its own "config"
	 * metadata records (4, not width / 64's 2), and an explicit count overrides them there */
	T_ASSERT(st_open(p, &f, err, sizeof err) == 0 && !f.dir);
	lo.vision_heads = 0;
	T_ASSERT(clip_model_load(&back, &f, &lo, err, sizeof err) == 0 && back.cfg.vision_heads == 4);
	clip_model_free(&back);
	lo.vision_heads = 2;
	T_ASSERT(clip_model_load(&back, &f, &lo, err, sizeof err) == 0 && back.cfg.vision_heads == 2);
	lo.vision_heads = 0;
	clip_model_free(&back);
	st_close(&f);
	const char *empty = t_tmp_path("emptydir");
	mkdir(empty, 0777);
	T_ASSERT(st_open(empty, &f, err, sizeof err) != 0 && strstr(err, "not a Hugging Face model directory"));
	clip_model_free(&m);
	free(json);
	free(cp);
	free(p);
}

int main(int argc, char **argv)
{
	(void)argc;
	lfm_init(argv[0]);
	T_RUN(test_round_trip_both_towers);
	T_RUN(test_one_tower);
	T_RUN(test_refusals);
	T_RUN(test_defaults);
	T_RUN(test_directory_as_model);
	t_tmpdir_remove();
	return t_summary();
}
