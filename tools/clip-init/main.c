/* clip-init — random CLIP weights with OpenAI's initialisation, as a safetensors file (for the demo, the
 * tests and the benchmarks; real weights are the user's download). */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/options.h"
#include "model/clip_config.h"
#include "model/clip_init.h"
#include "model/clip_weights.h"

static const char usage[] =
    "usage: clip-init --arch ARCH [--seed N] [--dtype f32|f16|bf16] [--naming openai|hf]\n"
    "                 [--towers both|vision|text] [-o FILE]\n"
    "\n"
    "Writes a CLIP model with random weights drawn as OpenAI's clip/model.py initialises a new model, as\n"
    "safetensors (atomically), with the configuration in its metadata.\n"
    "\n"
    "  -a, --arch ARCH     tiny (embed 64; vision 32 px, patch 8, width 128, 2 layers; text width 128,\n"
    "                      2 layers: the golden tiny-clip shape), ViT-B/32, ViT-B/16 or ViT-L/14\n"
    "  -s, --seed N        random seed (default 0); each tensor has its own stream\n"
    "  -d, --dtype T       f32 (default), f16 or bf16 (logit_scale stays f32)\n"
    "      --naming N      tensor names: openai (OpenAI/open_clip, default) or hf (Hugging Face CLIPModel)\n"
    "      --towers T      both (default), vision or text: write only that tower\n"
    "  -o, --output FILE   write to FILE instead of stdout ('-'); not to a terminal\n"
    "  -h, --help          this help;  -V, --version  the version\n"
    "\n"
    "Exit status: 0 ok, 1 bad data, 2 usage, 3 I/O error.  See clip-init(1).\n";

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	static const struct option longopts[] = {
	    {"arch", required_argument, 0, 'a'},   {"seed", required_argument, 0, 's'},
	    {"dtype", required_argument, 0, 'd'},  {"naming", required_argument, 0, 'n'},
	    {"towers", required_argument, 0, 't'}, {"output", required_argument, 0, 'o'},
	    {"help", no_argument, 0, 'h'},         {"version", no_argument, 0, 'V'},
	    {0, 0, 0, 0}};
	static const char *const dtypes[] = {"f32", "f16", "bf16", NULL};
	static const dtype dtype_of[] = {DT_F32, DT_F16, DT_BF16};
	static const char *const namings[] = {"openai", "hf", NULL};
	static const char *const tower_choices[] = {"both", "vision", "text", NULL};
	static const int tower_of[] = {CLIP_BOTH, CLIP_VISION, CLIP_TEXT};
	const char *arch = NULL, *output = "-";
	uint64_t seed = 0;
	dtype dt = DT_F32;
	clip_naming naming = CLIP_NAMING_OPENAI;
	int towers = CLIP_BOTH;
	int c;
	while ((c = getopt_long(argc, argv, ":a:s:d:o:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': arch = optarg; break;
		case 's': seed = opt_u64("--seed", optarg, 0, UINT64_MAX); break;
		case 'd': dt = dtype_of[opt_choice("--dtype", optarg, dtypes)]; break;
		case 'n': naming = opt_choice("--naming", optarg, namings) ? CLIP_NAMING_HF : CLIP_NAMING_OPENAI; break;
		case 't': towers = tower_of[opt_choice("--towers", optarg, tower_choices)]; break;
		case 'o': output = optarg; break;
		case 'h': opt_help(usage);
		case 'V': opt_version();
		default: opt_bad_option(c, argv);
		}
	}
	if (optind < argc)
		opt_usage_error("unexpected argument '%s'", argv[optind]);
	if (!arch)
		opt_usage_error("--arch is required (tiny, ViT-B/32, ViT-B/16 or ViT-L/14)");
	clip_config cfg;
	if (clip_config_preset(arch, &cfg))
		opt_choice("--arch", arch, clip_preset_names); /* dies with the list of choices */
	if (strcmp(output, "-") == 0 && isatty(STDOUT_FILENO))
		opt_usage_error("refusing to write binary weights to a terminal: use -o FILE or a redirection");

	clip_model m;
	clip_model_init_random(&m, &cfg, towers, seed);
	m.naming = naming;
	char seed_str[32];
	snprintf(seed_str, sizeof seed_str, "%llu", (unsigned long long)seed);
	const char *extra[] = {"arch", arch, "seed", seed_str, "tool", "clip-init " LFM_VERSION, NULL};
	clip_model_save(&m, towers, dt, output, extra);
	clip_model_free(&m);
	return LFM_EXIT_OK;
}
