/* clip-export — CLIP weights or an lfm-fit checkpoint in the layout another library loads: a Hugging Face
 * transformers directory (config.json, model.safetensors in CLIPModel names, W_I in fc.safetensors), an
 * OpenAI/open_clip-named safetensors file (fc.weight kept), and open_clip's model configuration for the
 * sizes. Reads any model the tools read: a file in either naming, or a Hugging Face directory. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/options.h"
#include "export.h"
#include "model/clip_weights.h"
#include "model/fc_weight.h"
#include "model/hf_config.h"

static const char usage[] =
    "usage: clip-export --to hf -o DIR [options] MODEL\n"
    "       clip-export --to openai [-o FILE] [options] MODEL\n"
    "       clip-export --to open-clip-config [-o FILE] MODEL\n"
    "\n"
    "Writes MODEL (CLIP weights or an lfm-fit checkpoint: safetensors in OpenAI or Hugging Face names, or a\n"
    "Hugging Face model directory) in the layout another library loads, atomically.\n"
    "\n"
    "  -t, --to hf                a transformers directory: config.json, model.safetensors (CLIPModel\n"
    "                             names; CLIPVisionModelWithProjection for a vision tower alone) and,\n"
    "                             when MODEL has W_I, fc.safetensors (tensor 'weight', [d, d])\n"
    "      --to openai            one safetensors file in OpenAI/open_clip names, fc.weight kept\n"
    "      --to open-clip-config  open_clip's model configuration JSON for MODEL's sizes\n"
    "  -o, --output PATH          the directory (hf; required) or file (default stdout, not a terminal)\n"
    "      --open-clip-config FILE  also write open_clip's model configuration to FILE\n"
    "  -d, --dtype T              the CLIP tensors as f32 (default), f16 or bf16 (W_I, logit_scale: f32)\n"
    "      --vision-heads N       attention heads of the vision tower (default: config.json's, else\n"
    "                             width / 64 as OpenAI)\n"
    "      --text-heads N         the same for the text tower\n"
    "  -h, --help                 this help;  -V, --version  the version\n"
    "\n"
    "Only QuickGELU models (OpenAI's, open_clip's -quickgelu) are read: a config.json whose hidden_act is\n"
    "another (gelu) is refused.\n"
    "\n"
    "Exit status: 0 ok, 1 bad data, 2 usage, 3 I/O error.  See clip-export(1).\n";

enum { TO_HF, TO_OPENAI, TO_OPEN_CLIP_CONFIG };

/* The files an export directory holds (what out_dir may replace). */
static const char *const export_files[] = {"config.json", "model.safetensors", HF_FC_FILE, NULL};

/* CLIP's initial temperature, ln(1 / 0.07), for a model without logit_scale (both libraries expect one). */
#define LOGIT_SCALE_INIT 2.6592600345611572f

typedef struct source {
	const char *path;
	st_file f;
	clip_model m;
	float *fc; /* [D, D] or NULL */
	float logit_scale;
	int has_logit_scale;
} source;

static int is_position_ids(const char *name)
{
	size_t n = strlen(name);
	return n >= 12 && strcmp(name + n - 12, "position_ids") == 0;
}

/* Tell about the tensors of the file that are not part of what is written (neither a CLIP tensor of its
 * towers, nor logit_scale, fc.weight or HF's position_ids buffers, which are no parameters). */
static void warn_left_out(const source *s)
{
	size_t n = 0;
	clip_tensor_ref *refs = NULL;
	for (int tower = CLIP_VISION; tower <= CLIP_TEXT; tower++) {
		if (!(s->m.towers & tower))
			continue;
		size_t k = clip_tensor_refs(&s->m.cfg, tower, s->m.naming, NULL);
		refs = xrealloc(refs, (n + k) * sizeof *refs);
		clip_tensor_refs(&s->m.cfg, tower, s->m.naming, refs + n);
		n += k;
	}
	for (size_t i = 0; i < s->f.n_tensors; i++) {
		const char *name = s->f.tensors[i].name;
		int known = !strcmp(name, "logit_scale") || !strcmp(name, "fc.weight") || is_position_ids(name);
		for (size_t k = 0; k < n && !known; k++)
			known = strcmp(refs[k].name, name) == 0;
		if (!known)
			warn("%s: tensor '%s' is not a CLIP tensor: left out", s->f.path, name);
	}
	free(refs);
}

static void load_source(source *s, const char *path, int vision_heads, int text_heads)
{
	s->path = path;
	st_open_or_die(path, &s->f);
	clip_load_opts lo = {.towers = CLIP_BOTH, .vision_heads = vision_heads, .text_heads = text_heads};
	clip_config c;
	clip_naming naming;
	int present = 0;
	char err[1024];
	/* Both towers when the file has both; else the one it has. */
	if (clip_config_from_file(&s->f, &lo, &c, &naming, &present, err, sizeof err)) {
		if (present == CLIP_BOTH || present == 0)
			die(LFM_EXIT_DATA, "%s", err);
		lo.towers = present;
	}
	if (clip_model_load(&s->m, &s->f, &lo, err, sizeof err))
		die(LFM_EXIT_DATA, "%s", err);
	if (fc_weight_load(&s->f, s->m.cfg.embed_dim, &s->fc, err, sizeof err))
		die(LFM_EXIT_DATA, "%s", err);
	s->has_logit_scale = s->m.has_logit_scale;
	s->logit_scale = s->m.logit_scale;
	if (s->m.towers == CLIP_BOTH && !s->has_logit_scale) {
		warn("%s: no logit_scale: writing CLIP's initial value ln(1/0.07)", path);
		s->logit_scale = LOGIT_SCALE_INIT;
		s->has_logit_scale = 1;
	}
	if (s->has_logit_scale && !isfinite(s->logit_scale))
		die(LFM_EXIT_DATA, "%s: logit_scale is not finite", path);
	warn_left_out(s);
}

/* The source's metadata, except the keys the writer sets from what it writes. */
static void copy_meta(st_writer *w, const source *s)
{
	static const char *const replaced[] = {"format", "naming", "config", "exported_from", "tool", NULL};
	for (size_t i = 0; i < s->f.n_meta; i++) {
		int skip = 0;
		for (size_t k = 0; replaced[k]; k++)
			skip |= strcmp(s->f.meta_keys[i], replaced[k]) == 0;
		if (!skip)
			st_writer_meta(w, s->f.meta_keys[i], s->f.meta_values[i]);
	}
	st_writer_meta(w, "exported_from", s->path);
	st_writer_meta(w, "tool", "clip-export " LFM_VERSION);
}

/* The CLIP tensors of s under naming (plus logit_scale when the output has both towers, and fc.weight
 * when with_fc), written to path. */
static void write_weights(const source *s, clip_naming naming, dtype dt, int with_fc, const char *path)
{
	st_writer *w = st_writer_new();
	void *owned[2] = {NULL, NULL};
	if (s->m.towers & CLIP_VISION)
		owned[0] = clip_writer_add_tower(w, &s->m.cfg, CLIP_VISION, s->m.vision.param_memory, naming, dt);
	if (s->m.towers & CLIP_TEXT)
		owned[1] = clip_writer_add_tower(w, &s->m.cfg, CLIP_TEXT, s->m.text.param_memory, naming, dt);
	/* transformers' one-tower models have no logit_scale: it would be an unexpected key */
	if (s->has_logit_scale && (s->m.towers == CLIP_BOTH || naming == CLIP_NAMING_OPENAI))
		st_writer_add(w, "logit_scale", DT_F32, 0, NULL, &s->logit_scale);
	int64_t dd[2] = {s->m.cfg.embed_dim, s->m.cfg.embed_dim};
	if (with_fc && s->fc)
		st_writer_add(w, "fc.weight", DT_F32, 2, dd, s->fc);
	copy_meta(w, s);
	clip_config c = s->m.cfg;
	if (!(s->m.towers & CLIP_VISION))
		c.vision_width = 0;
	if (!(s->m.towers & CLIP_TEXT))
		c.text_width = 0;
	clip_writer_meta(w, &c, naming);
	st_writer_save(w, path);
	st_writer_free(w);
	free(owned[0]);
	free(owned[1]);
}

static void write_text(const char *path, const char *text)
{
	outfile o;
	outfile_open(&o, path, "wb");
	xfwrite(text, strlen(text), o.f, path);
	outfile_commit(&o);
}

static void export_hf(const source *s, const char *dir, dtype dt)
{
	const char *tmp = out_dir_begin(dir, export_files);
	char *p = xasprintf("%s/model.safetensors", tmp);
	write_weights(s, CLIP_NAMING_HF, dt, 0, p);
	free(p);
	char *cfg = hf_config_json(&s->m.cfg, s->m.towers,
				   dt == DT_F16 ? "float16" : dt == DT_BF16 ? "bfloat16" : "float32");
	p = xasprintf("%s/config.json", tmp);
	write_text(p, cfg);
	free(p);
	free(cfg);
	if (s->fc) {
		st_writer *w = st_writer_new();
		int64_t dd[2] = {s->m.cfg.embed_dim, s->m.cfg.embed_dim};
		st_writer_add(w, "weight", DT_F32, 2, dd, s->fc);
		st_writer_meta(w, "format", "pt");
		st_writer_meta(w, "content", "W_I: image features = W_I @ get_image_features(pixels), then normalised "
					     "(nn.Linear(d, d, bias=False) layout [out, in])");
		st_writer_meta(w, "exported_from", s->path);
		p = xasprintf("%s/%s", tmp, HF_FC_FILE);
		st_writer_save(w, p);
		st_writer_free(w);
		free(p);
	}
	out_dir_commit();
}

static void write_open_clip_config(const source *s, const char *path)
{
	char *cfg = open_clip_config_json(&s->m.cfg);
	write_text(path, cfg);
	free(cfg);
}

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	static const struct option longopts[] = {
	    {"to", required_argument, 0, 't'},          {"output", required_argument, 0, 'o'},
	    {"open-clip-config", required_argument, 0, 'c'}, {"dtype", required_argument, 0, 'd'},
	    {"vision-heads", required_argument, 0, 'v'}, {"text-heads", required_argument, 0, 'x'},
	    {"help", no_argument, 0, 'h'},              {"version", no_argument, 0, 'V'},
	    {0, 0, 0, 0}};
	static const char *const targets[] = {"hf", "openai", "open-clip-config", NULL};
	static const char *const dtypes[] = {"f32", "f16", "bf16", NULL};
	static const dtype dtype_of[] = {DT_F32, DT_F16, DT_BF16};
	int to = -1, vision_heads = 0, text_heads = 0;
	const char *output = NULL, *oc_config = NULL;
	dtype dt = DT_F32;
	int c;
	while ((c = getopt_long(argc, argv, ":t:o:d:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 't': to = opt_choice("--to", optarg, targets); break;
		case 'o': output = optarg; break;
		case 'c': oc_config = optarg; break;
		case 'd': dt = dtype_of[opt_choice("--dtype", optarg, dtypes)]; break;
		case 'v': vision_heads = (int)opt_int("--vision-heads", optarg, 1, 4096); break;
		case 'x': text_heads = (int)opt_int("--text-heads", optarg, 1, 4096); break;
		case 'h': opt_help(usage);
		case 'V': opt_version();
		default: opt_bad_option(c, argv);
		}
	}
	if (to < 0)
		opt_usage_error("--to is required (hf, openai or open-clip-config)");
	if (optind >= argc)
		opt_usage_error("MODEL is required (a safetensors file or a Hugging Face model directory)");
	if (optind + 1 < argc)
		opt_usage_error("unexpected argument '%s'", argv[optind + 1]);
	const char *model = argv[optind];
	if (to == TO_HF && !output)
		opt_usage_error("--to hf needs -o DIR (the directory to write)");
	if (to == TO_HF && strcmp(output, "-") == 0)
		opt_usage_error("--to hf writes a directory, not standard output: give -o DIR");
	if (!output)
		output = "-";
	if (to == TO_OPENAI && strcmp(output, "-") == 0 && isatty(STDOUT_FILENO))
		opt_usage_error("refusing to write binary weights to a terminal: use -o FILE or a redirection");
	if (oc_config && to == TO_OPEN_CLIP_CONFIG)
		opt_usage_error("--open-clip-config goes with --to hf or --to openai (--to open-clip-config writes "
				"it to -o)");
	lfm_input("the model", model);
	if (to != TO_HF)
		lfm_output("-o", output);
	lfm_output("--open-clip-config", oc_config);

	source s;
	memset(&s, 0, sizeof s);
	load_source(&s, model, vision_heads, text_heads);
	if ((oc_config || to == TO_OPEN_CLIP_CONFIG) && s.m.towers != CLIP_BOTH) /* before anything is written */
		die(LFM_EXIT_DATA, "%s: only the %s tower: open_clip's CLIP model needs both towers", model,
		    s.m.towers == CLIP_VISION ? "vision" : "text");
	if (to == TO_HF)
		export_hf(&s, output, dt);
	else if (to == TO_OPENAI)
		write_weights(&s, CLIP_NAMING_OPENAI, dt, 1, output);
	else
		write_open_clip_config(&s, output);
	if (oc_config)
		write_open_clip_config(&s, oc_config);
	clip_model_free(&s.m);
	free(s.fc);
	st_close(&s.f);
	return LFM_EXIT_OK;
}
