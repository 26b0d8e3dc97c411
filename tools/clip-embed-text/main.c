/* clip-embed-text — class text features f_T for zero-shot classification and text-guided mixup: each class
 * name in each prompt template through CLIP's text tower, prompt-ensembled as in CLIP's zero-shot recipe,
 * as float32 [C, d] .npy. Also a tokenizer front end (--tokenize). */
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/options.h"
#include "base/progress.h"
#include "cpu/clip_text.h"
#include "data/class_names.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "io/stream.h"
#include "model/clip_weights.h"
#include "text/clip_tokenizer.h"
#include "cuda_context.h"
#include "cuda_text.h"

static const char usage[] =
    "usage: clip-embed-text --model FILE [--template T]... [options] [CLASSES]\n"
    "       clip-embed-text --tokenize [--vocab FILE] [--context N] < TEXTS\n"
    "\n"
    "Writes the text features of every class, float32 [C, d] .npy: for each class name and template, the\n"
    "prompt (the template with '{}' replaced by the name) through CLIP's text tower; each template's\n"
    "features L2-normalised, averaged over the templates and normalised again (CLIP's prompt ensembling).\n"
    "Class names come one per line from CLASSES (or --classes FILE; '-' or nothing: stdin), or from the\n"
    "\"classes\" header of a samples stream (lt-subset's output), recognised by its first byte or named\n"
    "with --samples.\n"
    "\n"
    "  -m, --model FILE          CLIP weights, safetensors (OpenAI or Hugging Face names; only the text\n"
    "                            tower is needed), or a Hugging Face model directory\n"
    "  -t, --template T          a prompt template with one '{}' (repeatable; default 'a photo of a {}')\n"
    "  -c, --classes FILE        the same as the CLASSES argument\n"
    "      --samples FILE        take the class names from this samples stream's header\n"
    "  -r, --raw                 skip the final normalisation: with one template, the raw encode_text output\n"
    "  -u, --underscores-to-spaces  'aquarium_fish' -> 'aquarium fish' before filling the templates\n"
    "      --heads N             attention heads of the text tower (default: width / 64, as OpenAI)\n"
    "      --device D            cpu, cuda or cuda:N (default: the first GPU when one is usable, else the CPU)\n"
    "      --precision P         the GPU's matrix products: bf16 (default on a GPU), tf32 or fp32\n"
    "      --vocab FILE          the BPE merges (bpe_simple_vocab_16e6.txt.gz; default: the installed copy)\n"
    "  -o, --output FILE         write the .npy to FILE (atomically) instead of stdout\n"
    "      --tokenize            print the token ids (SOT .. EOT, no padding) of each line of stdin\n"
    "      --context N           with --tokenize: the context length (default 77; EOT kept last)\n"
    "  -h, --help                this help;  -V, --version  the version\n"
    "\n"
    "Exit status: 0 ok, 1 bad input data, 2 usage, 3 I/O error.  See clip-embed-text(1).\n";

typedef struct options {
	const char *model, *classes, *samples, *vocab, *output;
	const char **templates;
	int n_templates;
	int raw, underscores, heads, tokenize, context;
	const char *device;
	int precision; /* -1: the device's default */
} options;

static void parse_options(int argc, char **argv, options *o)
{
	enum { OPT_SAMPLES = 256, OPT_HEADS, OPT_VOCAB, OPT_TOKENIZE, OPT_CONTEXT, OPT_DEVICE, OPT_PRECISION };
	static const struct option longopts[] = {
	    {"model", required_argument, 0, 'm'},     {"template", required_argument, 0, 't'},
	    {"classes", required_argument, 0, 'c'},   {"samples", required_argument, 0, OPT_SAMPLES},
	    {"raw", no_argument, 0, 'r'},             {"underscores-to-spaces", no_argument, 0, 'u'},
	    {"heads", required_argument, 0, OPT_HEADS}, {"vocab", required_argument, 0, OPT_VOCAB},
	    {"output", required_argument, 0, 'o'},    {"tokenize", no_argument, 0, OPT_TOKENIZE},
	    {"context", required_argument, 0, OPT_CONTEXT}, {"help", no_argument, 0, 'h'},
	    {"device", required_argument, 0, OPT_DEVICE}, {"precision", required_argument, 0, OPT_PRECISION},
	    {"version", no_argument, 0, 'V'},         {0, 0, 0, 0}};
	*o = (options){.context = CLIP_CONTEXT, .precision = -1};
	o->templates = xmalloc_array((size_t)argc + 1, sizeof *o->templates);
	int c;
	while ((c = getopt_long(argc, argv, ":m:t:c:ruo:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 't': o->templates[o->n_templates++] = optarg; break;
		case 'c': o->classes = optarg; break;
		case OPT_SAMPLES: o->samples = optarg; break;
		case 'r': o->raw = 1; break;
		case 'u': o->underscores = 1; break;
		case OPT_HEADS: o->heads = (int)opt_int("--heads", optarg, 1, 65536); break;
		case OPT_VOCAB: o->vocab = optarg; break;
		case 'o': o->output = optarg; break;
		case OPT_TOKENIZE: o->tokenize = 1; break;
		case OPT_DEVICE: o->device = optarg; break;
		case OPT_PRECISION: o->precision = opt_choice("--precision", optarg, lfm_precision_names); break;
		case OPT_CONTEXT: o->context = (int)opt_int("--context", optarg, 2, 65536); break;
		case 'h': opt_help(usage);
		case 'V': opt_version();
		default: opt_bad_option(c, argv);
		}
	}
	if (optind < argc) { /* clip-embed-text --model M CLASSES: the same as --classes CLASSES */
		if (o->classes)
			opt_usage_error("class names given twice: --classes '%s' and '%s'", o->classes, argv[optind]);
		o->classes = argv[optind++];
	}
	if (optind < argc)
		opt_usage_error("unexpected argument '%s' (one input of class names at most)", argv[optind]);
	if (o->tokenize) {
		if (o->model || o->n_templates || o->classes || o->samples || o->raw || o->underscores || o->output)
			opt_usage_error("--tokenize takes only --vocab and --context");
		return;
	}
	if (!o->model)
		opt_usage_error("--model FILE is required");
	if (o->classes && o->samples)
		opt_usage_error("--classes and --samples are two sources of class names: give one");
	if (o->context != CLIP_CONTEXT)
		opt_usage_error("--context is for --tokenize; the model sets the context length");
	if (!o->n_templates)
		o->templates[o->n_templates++] = "a photo of a {}";
	for (int i = 0; i < o->n_templates; i++) {
		const char *t = o->templates[i], *p = strstr(t, "{}");
		if (!p || strstr(p + 2, "{}"))
			opt_usage_error("--template '%s': needs exactly one '{}' where the class name goes", t);
	}
	if (!o->output)
		o->output = "-";
	if (strcmp(o->output, "-") == 0 && isatty(STDOUT_FILENO))
		opt_usage_error("refusing to write a binary .npy to a terminal: use -o FILE or a redirection");
}

static clip_tokenizer *load_tokenizer(const char *vocab)
{
	if (vocab && access(vocab, R_OK) != 0)
		die(LFM_EXIT_IO, "%s:", vocab);
	char err[1024];
	clip_tokenizer *t = clip_tokenizer_load(vocab, err, sizeof err);
	if (!t)
		die(vocab ? LFM_EXIT_DATA : LFM_EXIT_IO, "%s", err);
	return t;
}

/* ---- --tokenize --------------------------------------------------------------------------------------- */

static int tokenize_lines(const options *o)
{
	clip_tokenizer *tok = load_tokenizer(o->vocab);
	int32_t *ids = xmalloc_array((size_t)o->context, sizeof *ids);
	char *line = NULL, err[256];
	size_t cap = 0, lineno = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		lineno++;
		if (len && line[len - 1] == '\n')
			len--;
		int n = clip_tokenize(tok, line, (size_t)len, ids, o->context, err, sizeof err);
		if (n < 0)
			die(LFM_EXIT_DATA, "stdin: line %zu: %s", lineno, err);
		for (int i = 0; i < n; i++)
			printf(i ? " %d" : "%d", (int)ids[i]);
		putchar('\n');
	}
	if (ferror(stdin))
		die(LFM_EXIT_IO, "stdin: read error:");
	xfclose(stdout, "stdout");
	free(line);
	free(ids);
	clip_tokenizer_free(tok);
	return LFM_EXIT_OK;
}

/* ---- class names -------------------------------------------------------------------------------------- */

typedef struct class_list {
	size_t n;
	char **name; /* NUL-terminated copies, checked by class_names_check or read by class_names_parse */
	size_t *len;
	int from_stream;
	const char *source;
} class_list;

static void add_class(class_list *c, const char *s, size_t len)
{
	c->name = xrealloc(c->name, (c->n + 1) * sizeof *c->name);
	c->len = xrealloc(c->len, (c->n + 1) * sizeof *c->len);
	char *copy = xmalloc(len + 1);
	memcpy(copy, s, len);
	copy[len] = 0;
	c->name[c->n] = copy;
	c->len[c->n] = len;
	c->n++;
}

static void classes_from_stream(FILE *f, const char *name, class_list *c)
{
	stream_reader *r = sr_open_or_die(f, name, "lfm.samples", 1);
	const msgpack_object *cl = mp_map_get(sr_header(r), "classes");
	if (!cl || cl->type != MSGPACK_OBJECT_ARRAY)
		die(LFM_EXIT_DATA, "%s: the samples header has no \"classes\" array", name);
	for (uint32_t i = 0; i < cl->via.array.size; i++) {
		const msgpack_object *s = &cl->via.array.ptr[i];
		if (s->type != MSGPACK_OBJECT_STR)
			die(LFM_EXIT_DATA, "%s: header \"classes\"[%u] is not a string", name, i);
		add_class(c, s->via.str.ptr, s->via.str.size);
	}
	char err[512];
	if (class_names_check(c->name, c->len, c->n, name, err, sizeof err))
		die(LFM_EXIT_DATA, "%s (in the header's \"classes\")", err);
	sr_close(r);
	c->from_stream = 1;
}

/* A msgpack map's first bytes: fixmap 0x80-0x8f (never the first byte of UTF-8 text), or map16/map32
 * 0xde/0xdf followed by a count byte that is not a UTF-8 continuation byte (in text, 0xde/0xdf lead a
 * two-byte character whose second byte is 0x80-0xbf). */
static int looks_like_stream(const unsigned char *b, size_t n)
{
	if (n == 0)
		return 0;
	if (b[0] >= 0x80 && b[0] <= 0x8f)
		return 1;
	return (b[0] == 0xde || b[0] == 0xdf) && (n < 2 || (b[1] & 0xc0) != 0x80);
}

static void read_classes(const options *o, class_list *c)
{
	memset(c, 0, sizeof *c);
	if (o->samples) {
		c->source = strcmp(o->samples, "-") ? o->samples : "stdin";
		FILE *f = xfopen(o->samples, "rb");
		classes_from_stream(f, c->source, c);
		if (f != stdin)
			fclose(f);
	} else {
		const char *path = o->classes ? o->classes : "-";
		c->source = strcmp(path, "-") ? path : "stdin";
		size_t len;
		char *text = xread_file(path, &len);
		if (looks_like_stream((const unsigned char *)text, len)) {
			FILE *f = fmemopen(text, len, "rb");
			if (!f)
				die(LFM_EXIT_IO, "%s: cannot read from memory:", c->source);
			classes_from_stream(f, c->source, c);
			fclose(f);
		} else {
			if (len > CLASS_NAMES_FILE_MAX)
				die(LFM_EXIT_DATA, "%s: too large for a class list (%zu bytes; at most %u)", c->source,
				    len, CLASS_NAMES_FILE_MAX);
			char **names, err[512];
			int count;
			if (class_names_parse(text, len, c->source, &names, &count, err, sizeof err))
				die(LFM_EXIT_DATA, "%s", err);
			for (int k = 0; k < count; k++)
				add_class(c, names[k], strlen(names[k]));
			class_names_free(names, count);
		}
		free(text);
	}
	if (c->n == 0)
		die(LFM_EXIT_DATA, "%s: no class names", c->source);
	if (o->underscores)
		for (size_t i = 0; i < c->n; i++)
			for (size_t k = 0; k < c->len[i]; k++)
				if (c->name[i][k] == '_')
					c->name[i][k] = ' ';
}

/* ---- prompts and features ----------------------------------------------------------------------------- */

/* Token ids [C * templates, context] (prompt p = class p / templates, template p % templates), zero padded. */
static int32_t *tokenize_prompts(const options *o, const class_list *c, const clip_tokenizer *tok, int context)
{
	size_t P = c->n * (size_t)o->n_templates;
	int32_t *ids = xcalloc(P, (size_t)context * sizeof *ids);
	char err[256];
	for (int t = 0; t < o->n_templates; t++) { /* the templates alone first, so their errors name them */
		const char *tp = o->templates[t], *hole = strstr(tp, "{}");
		char *bare = xasprintf("%.*s%s", (int)(hole - tp), tp, hole + 2);
		if (clip_tokenize(tok, bare, strlen(bare), ids, context, err, sizeof err) < 0)
			die(LFM_EXIT_USAGE, "--template '%s': %s", tp, err);
		free(bare);
	}
	for (size_t k = 0; k < c->n; k++)
		for (int t = 0; t < o->n_templates; t++) {
			const char *tp = o->templates[t], *hole = strstr(tp, "{}");
			size_t pre = (size_t)(hole - tp), post = strlen(hole + 2);
			size_t len = pre + c->len[k] + post;
			char *prompt = xmalloc(len + 1);
			memcpy(prompt, tp, pre);
			memcpy(prompt + pre, c->name[k], c->len[k]);
			memcpy(prompt + pre + c->len[k], hole + 2, post + 1);
			size_t p = k * (size_t)o->n_templates + (size_t)t;
			if (clip_tokenize(tok, prompt, len, ids + p * (size_t)context, context, err, sizeof err) < 0) {
				if (c->from_stream)
					die(LFM_EXIT_DATA, "%s: class %zu: %s", c->source, k, err);
				die(LFM_EXIT_DATA, "%s: line %zu: %s", c->source, k + 1, err);
			}
			free(prompt);
		}
	return ids;
}

/* Prompts per encode call: shows progress on big class lists and bounds memory. */
#define ENCODE_CHUNK 1024

/* The text tower on the device chosen by --device: NULL for the CPU. */
typedef struct text_device {
	lfm_cuda_context *cuda;
	lfm_precision precision;
} text_device;

static text_device open_device(const options *o)
{
	text_device d = {lfm_device_open(o->device), LFM_PRECISION_FP32};
	if (!d.cuda && o->precision > LFM_PRECISION_FP32)
		opt_usage_error("--precision %s: the CPU computes in fp32 only (--device cuda for %s)",
				lfm_precision_names[o->precision], lfm_precision_names[o->precision]);
	if (d.cuda) {
		d.precision = o->precision < 0 ? LFM_PRECISION_BF16 : (lfm_precision)o->precision;
		fprintf(stderr, "%s: precision: %s%s\n", lfm_progname(), lfm_precision_name(d.precision),
			o->precision < 0 ? " (the default on a GPU; --precision fp32 for the CPU's arithmetic)" : "");
	}
	return d;
}

static float *encode_prompts(const clip_model *m, const text_device *dev, const int32_t *ids, size_t P, int context)
{
	size_t D = (size_t)m->cfg.embed_dim;
	float *feat = xmalloc_array(P, D * sizeof *feat);
	progress pr;
	progress_start(&pr, "clip-embed-text", P, "prompts");
	char err[256];
	for (size_t first = 0; first < P; first += ENCODE_CHUNK) {
		size_t n = P - first < ENCODE_CHUNK ? P - first : ENCODE_CHUNK;
		if (dev->cuda ? lfm_cuda_encode_text(dev->cuda, dev->precision, &m->text, ids + first * (size_t)context, n,
						     context, feat + first * D, err, sizeof err)
			      : clip_encode_text(&m->text, ids + first * (size_t)context, n, context, feat + first * D, err,
						 sizeof err))
			die(LFM_EXIT_DATA, "prompt %zu: %s", first, err);
		progress_update(&pr, first + n);
	}
	progress_finish(&pr);
	return feat;
}

/* CLIP's prompt ensembling: per class, the mean of the templates' normalised features, normalised again
 * (unless raw; raw with one template is the encode_text output itself). */
static float *ensemble(const float *feat, size_t C, int templates, int D, int raw)
{
	float *out = xcalloc(C * (size_t)D, sizeof *out);
	double *acc = xmalloc_array((size_t)D, sizeof *acc);
	for (size_t k = 0; k < C; k++) {
		float *o = out + k * D;
		if (raw && templates == 1) {
			memcpy(o, feat + k * D, (size_t)D * sizeof *o);
			continue;
		}
		for (int i = 0; i < D; i++)
			acc[i] = 0;
		for (int t = 0; t < templates; t++) {
			const float *f = feat + (k * templates + (size_t)t) * D;
			double s = 0;
			for (int i = 0; i < D; i++)
				s += (double)f[i] * f[i];
			double inv = s > 0 ? 1 / sqrt(s) : 0;
			for (int i = 0; i < D; i++)
				acc[i] += f[i] * inv;
		}
		double s = 0;
		for (int i = 0; i < D; i++) {
			acc[i] /= templates;
			s += acc[i] * acc[i];
		}
		double inv = raw ? 1 : (s > 0 ? 1 / sqrt(s) : 0);
		for (int i = 0; i < D; i++)
			o[i] = (float)(acc[i] * inv);
	}
	free(acc);
	return out;
}

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	options o;
	parse_options(argc, argv, &o);
	lfm_input("--model", o.model);
	lfm_input("--classes", o.classes);
	lfm_input("--samples", o.samples);
	lfm_input("--vocab", o.vocab);
	lfm_output("-o", o.output);
	if (o.tokenize)
		return tokenize_lines(&o);

	class_list classes;
	read_classes(&o, &classes);
	clip_tokenizer *tok = load_tokenizer(o.vocab);
	/* The prompts are tokenized between reading the model's shapes (the context length) and loading its
	 * values, so that only the token embedding rows they use are converted (see clip_load_opts). */
	st_file f;
	st_open_or_die(o.model, &f);
	clip_load_opts lo = {.towers = CLIP_TEXT, .text_heads = o.heads};
	clip_config cfg;
	clip_naming naming;
	int present;
	char err[1024];
	if (clip_config_from_file(&f, &lo, &cfg, &naming, &present, err, sizeof err))
		die(LFM_EXIT_DATA, "%s", err);
	int context = cfg.context_length, D = cfg.embed_dim;
	size_t P = classes.n * (size_t)o.n_templates;
	int32_t *ids = tokenize_prompts(&o, &classes, tok, context);
	lo.token_ids = ids;
	lo.n_token_ids = P * (size_t)context;
	clip_model m;
	if (clip_model_load(&m, &f, &lo, err, sizeof err))
		die(LFM_EXIT_DATA, "%s", err);
	st_close(&f);
	text_device dev = open_device(&o);
	float *feat = encode_prompts(&m, &dev, ids, P, context);
	lfm_cuda_close(dev.cuda);
	float *out = ensemble(feat, classes.n, o.n_templates, D, o.raw);
	int64_t shape[2] = {(int64_t)classes.n, D};
	npy_save(o.output, DT_F32, 2, shape, out);

	free(out);
	free(feat);
	free(ids);
	clip_model_free(&m);
	clip_tokenizer_free(tok);
	for (size_t i = 0; i < classes.n; i++)
		free(classes.name[i]);
	free(classes.name);
	free(classes.len);
	free(o.templates);
	return LFM_EXIT_OK;
}
