/* lfm-eval — top-1 accuracy of a CLIP model on a samples stream, overall and for the many-, medium- and
 * few-shot classes: each image through the visual tower (CLIP preprocessing at the model's resolution, no
 * flip), W_I (fc.weight) when the checkpoint has it, cosine logits against the class text features, argmax.
 * The figures come from libcommon/train/evaluate.c; this file gathers the inputs and runs the model. */
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
#include "base/thread_pool.h"
#include "data/batch_loader.h"
#include "data/dataset.h"
#include "io/npy.h"
#include "io/predictions.h"
#include "io/safetensors.h"
#include "io/samples.h"
#include "io/stream.h"
#include "model/clip_weights.h"
#include "model/fc_weight.h"
#include "train/evaluate.h"
#include "train/fit_step.h"
#include "cuda_context.h"
#include "cuda_fit.h"

static const char usage[] =
    "usage: lfm-eval --model CKPT --text FEATURES.npy --data DATASET [options] [SAMPLES]\n"
    "\n"
    "Evaluates a CLIP model on the samples stream SAMPLES (lt-subset --split test output; '-' or nothing:\n"
    "stdin): each image through the visual tower (CLIP preprocessing, no flip), then W_I (the checkpoint's\n"
    "fc.weight; zero-shot without it), cosine logits against the L2-normalised class text features, and\n"
    "argmax. Prints top-1 accuracy for the many-shot (> 100 training images), medium and few-shot (<= 20)\n"
    "classes and overall; groups come from --groups-from, else from the samples stream's header.\n"
    "\n"
    "  -m, --model CKPT        CLIP weights or an lfm-fit checkpoint, safetensors (vision tower needed)\n"
    "  -t, --text FILE         class text features [C, d] .npy (clip-embed-text; float64/16 converted)\n"
    "  -d, --data DATASET      the dataset the samples stream indexes (as given to lt-subset)\n"
    "      --split S           the dataset's split: train, test or val (default: the stream's, else test)\n"
    "      --root PATH         DATASET is a split list whose paths are relative to PATH\n"
    "      --cache-dir DIR     decompress compressed archives into a temporary file in DIR, not memory;\n"
    "                          the root archive's index is kept there when it cannot be kept beside it\n"
    "  -g, --groups-from F     many/medium/few groups from the training samples stream F\n"
    "      --many-above N      many-shot classes have more than N training images (default 100)\n"
    "      --few-max N         few-shot classes have at most N training images (default 20)\n"
    "      --no-fc             ignore the checkpoint's fc.weight (evaluate the tower zero-shot)\n"
    "      --heads N           attention heads of the vision tower (default: width / 64, as OpenAI)\n"
    "  -b, --batch N           images per forward pass (default 64)\n"
    "  -j, --threads N         threads for decoding and the model (default or 0: the CPUs online)\n"
    "      --device D          cpu, cuda or cuda:N (default: the first GPU when one is usable, else the CPU)\n"
    "      --precision P       the GPU's matrix products: bf16 (default on a GPU), tf32 or fp32\n"
    "      --json              one JSON record instead of the table (all figures and per-class accuracies)\n"
    "  -p, --predictions FILE  per-sample predictions as an lfm.predictions/1 stream\n"
    "      --per-class FILE    class_id, name, train_count, test_count, accuracy: one TSV line a class\n"
    "      --confusion FILE    the confusion matrix, int64 [C, C] .npy (row: true class, column: predicted)\n"
    "      --features FILE     the L2-normalised image features the logits come from (after W_I), float32\n"
    "                          [N, d] .npy, row i for record i of SAMPLES (t-SNE and other pictures)\n"
    "  -o, --output FILE       write the table (or JSON) to FILE instead of stdout\n"
    "  -h, --help              this help;  -V, --version  the version\n"
    "\n"
    "Output files are written atomically; one of them may be '-' (stdout), and the table then goes to\n"
    "stderr. Exit status: 0 ok, 1 bad input data, 2 usage, 3 I/O error.  See lfm-eval(1).\n";

typedef struct options {
	const char *model, *text, *data, *split, *root, *cache_dir, *groups_from, *samples;
	const char *predictions, *per_class, *confusion, *features, *output;
	eval_thresholds th;
	int many_given, few_given;
	int no_fc, heads, batch, threads, json;
	const char *device;
	int precision; /* -1: the device's default */
} options;

static int is_stdout(const char *path) { return path && strcmp(path, "-") == 0; }

static void parse_options(int argc, char **argv, options *o)
{
	enum { OPT_SPLIT = 256, OPT_ROOT, OPT_CACHE, OPT_MANY, OPT_FEW, OPT_NO_FC, OPT_HEADS, OPT_JSON, OPT_PERCLASS,
	       OPT_CONFUSION, OPT_FEATURES, OPT_DEVICE, OPT_PRECISION };
	static const struct option longopts[] = {
	    {"model", required_argument, 0, 'm'},        {"text", required_argument, 0, 't'},
	    {"data", required_argument, 0, 'd'},         {"split", required_argument, 0, OPT_SPLIT},
	    {"root", required_argument, 0, OPT_ROOT},    {"cache-dir", required_argument, 0, OPT_CACHE},
	    {"groups-from", required_argument, 0, 'g'},  {"many-above", required_argument, 0, OPT_MANY},
	    {"few-max", required_argument, 0, OPT_FEW},  {"no-fc", no_argument, 0, OPT_NO_FC},
	    {"heads", required_argument, 0, OPT_HEADS},  {"batch", required_argument, 0, 'b'},
	    {"threads", required_argument, 0, 'j'},      {"json", no_argument, 0, OPT_JSON},
	    {"predictions", required_argument, 0, 'p'},  {"per-class", required_argument, 0, OPT_PERCLASS},
	    {"confusion", required_argument, 0, OPT_CONFUSION}, {"output", required_argument, 0, 'o'},
	    {"features", required_argument, 0, OPT_FEATURES},
	    {"device", required_argument, 0, OPT_DEVICE}, {"precision", required_argument, 0, OPT_PRECISION},
	    {"help", no_argument, 0, 'h'},               {"version", no_argument, 0, 'V'},
	    {0, 0, 0, 0}};
	static const char *const splits[] = {"train", "test", "val", NULL};
	*o = (options){.th = EVAL_THRESHOLDS_DEFAULT, .batch = 64, .precision = -1};
	int c;
	while ((c = getopt_long(argc, argv, ":m:t:d:g:b:j:p:o:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 't': o->text = optarg; break;
		case 'd': o->data = optarg; break;
		case OPT_SPLIT: o->split = splits[opt_choice("--split", optarg, splits)]; break;
		case OPT_ROOT: o->root = optarg; break;
		case OPT_CACHE: o->cache_dir = optarg; break;
		case 'g': o->groups_from = optarg; break;
		case OPT_MANY:
			o->th.many_above = opt_int("--many-above", optarg, 0, INT64_MAX / 2);
			o->many_given = 1;
			break;
		case OPT_FEW:
			o->th.few_max = opt_int("--few-max", optarg, 0, INT64_MAX / 2);
			o->few_given = 1;
			break;
		case OPT_NO_FC: o->no_fc = 1; break;
		case OPT_HEADS: o->heads = (int)opt_int("--heads", optarg, 1, 65536); break;
		case 'b': o->batch = (int)opt_int("--batch", optarg, 1, 4096); break;
		case 'j': o->threads = (int)opt_int("--threads", optarg, 0, 1024); break;
		case OPT_JSON: o->json = 1; break;
		case OPT_DEVICE: o->device = optarg; break;
		case OPT_PRECISION: o->precision = opt_choice("--precision", optarg, lfm_precision_names); break;
		case 'p': o->predictions = optarg; break;
		case OPT_PERCLASS: o->per_class = optarg; break;
		case OPT_CONFUSION: o->confusion = optarg; break;
		case OPT_FEATURES: o->features = optarg; break;
		case 'o': o->output = optarg; break;
		case 'h': opt_help(usage);
		case 'V': opt_version();
		default: opt_bad_option(c, argv);
		}
	}
	if (optind < argc)
		o->samples = argv[optind++];
	if (optind < argc)
		opt_usage_error("unexpected argument '%s' (one samples stream at most)", argv[optind]);
	if (!o->model)
		opt_usage_error("--model CKPT is required");
	if (!o->text)
		opt_usage_error("--text FEATURES.npy is required");
	if (!o->data)
		opt_usage_error("--data DATASET is required");
	if (o->th.few_max > o->th.many_above)
		opt_usage_error("--few-max %lld is above --many-above %lld: few-shot classes would also be many-shot",
				(long long)o->th.few_max, (long long)o->th.many_above);
	if (!o->samples)
		o->samples = "-";
	if (is_stdout(o->samples) && isatty(STDIN_FILENO))
		opt_usage_error("no samples stream: give SAMPLES or pipe one in (lt-subset --split test ...)");
	if (o->groups_from && strcmp(o->groups_from, o->samples) == 0 && is_stdout(o->samples))
		opt_usage_error("--groups-from and SAMPLES cannot both be stdin");
	int to_stdout = is_stdout(o->predictions) + is_stdout(o->per_class) + is_stdout(o->confusion) +
			is_stdout(o->features);
	if (to_stdout > 1)
		opt_usage_error("only one of --predictions, --per-class, --confusion and --features can be '-' (stdout)");
	if (to_stdout && o->output && !is_stdout(o->output))
		opt_usage_error("--output goes to a file and another output to stdout: give one of them a file");
	if (to_stdout && is_stdout(o->output))
		opt_usage_error("--output - and another output on stdout: give one of them a file");
	if ((is_stdout(o->predictions) || is_stdout(o->confusion) || is_stdout(o->features)) && isatty(STDOUT_FILENO))
		opt_usage_error("refusing to write binary output to a terminal: give a file or a redirection");
}

/* ---- groups --------------------------------------------------------------------------------------- */

typedef struct group_info {
	int64_t *train_counts; /* [C], NULL when unknown */
	int *groups;           /* [C], NULL: computed from train_counts */
	eval_thresholds th;
	char *basis;           /* for the reports */
} group_info;

/* The header's "thresholds" map, when it has one, into th. */
static void header_thresholds(const msgpack_object *h, const char *name, eval_thresholds *th)
{
	const msgpack_object *t = mp_map_get(h, "thresholds");
	if (!t)
		return;
	int64_t many, few;
	if (t->type != MSGPACK_OBJECT_MAP || mp_get_int(t, "many_above", &many) || mp_get_int(t, "few_max", &few) ||
	    many < 0 || few < 0 || few > many)
		die(LFM_EXIT_DATA, "%s: header \"thresholds\" is not {many_above: N, few_max: M} with 0 <= M <= N",
		    name);
	th->many_above = many;
	th->few_max = few;
}

static int *header_groups(const samples_set *s, const char *name)
{
	if (!s->groups)
		return NULL;
	int *g = xmalloc_array((size_t)s->num_classes, sizeof *g);
	for (int k = 0; k < s->num_classes; k++) {
		g[k] = eval_group_parse(s->groups[k]);
		if (g[k] < 0)
			die(LFM_EXIT_DATA, "%s: header \"groups\"[%d] is '%s', not many, medium or few", name, k,
			    s->groups[k]);
	}
	return g;
}

/* The header's "group_counts" array, when it has one of C non-negative integers. */
static int64_t *header_group_counts(const samples_set *s, const char *name)
{
	const msgpack_object *a = mp_map_get(&s->header, "group_counts");
	if (!a)
		return NULL;
	if (a->type != MSGPACK_OBJECT_ARRAY || (int)a->via.array.size != s->num_classes)
		die(LFM_EXIT_DATA, "%s: header \"group_counts\" is not an array of %d counts", name, s->num_classes);
	int64_t *c = xmalloc_array((size_t)s->num_classes, sizeof *c);
	for (int k = 0; k < s->num_classes; k++) {
		const msgpack_object *v = &a->via.array.ptr[k];
		if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 > INT64_MAX)
			die(LFM_EXIT_DATA, "%s: header \"group_counts\"[%d] is not a non-negative integer", name, k);
		c[k] = (int64_t)v->via.u64;
	}
	return c;
}

static const char *display(const char *path) { return strcmp(path, "-") == 0 ? "stdin" : path; }

static void groups_from_training(const options *o, const samples_set *test, group_info *gi)
{
	const char *name = display(o->groups_from);
	samples_set tr;
	samples_read(o->groups_from, 0, &tr);
	if (tr.num_classes != test->num_classes)
		die(LFM_EXIT_DATA, "%s: %d classes, the evaluated stream %s has %d", name, tr.num_classes,
		    display(o->samples), test->num_classes);
	for (int k = 0; k < tr.num_classes; k++)
		if (strcmp(tr.classes[k], test->classes[k]) != 0)
			die(LFM_EXIT_DATA, "%s: class %d is '%s', in %s it is '%s'", name, k, tr.classes[k],
			    display(o->samples), test->classes[k]);
	gi->train_counts = xmalloc_array((size_t)tr.num_classes, sizeof *gi->train_counts);
	memcpy(gi->train_counts, tr.counts, (size_t)tr.num_classes * sizeof *gi->train_counts);
	if (!o->many_given && !o->few_given) {
		header_thresholds(&tr.header, name, &gi->th);
		gi->groups = header_groups(&tr, name);
	}
	gi->basis = gi->groups ? xasprintf("the groups in the header of %s", name)
			       : xasprintf("the class counts of %s", name);
	samples_free(&tr);
}

/* Groups from the evaluated stream's own header: lt-subset writes the training counts there
 * ("group_counts", "group_basis") when it knows them. */
static void groups_from_header(const options *o, const samples_set *s, group_info *gi)
{
	const char *name = display(o->samples);
	char *basis = mp_get_str(&s->header, "group_basis"), *split = mp_get_str(&s->header, "split");
	/* "counts": the stream's own counts, training counts only when the stream is a training subset */
	int own = basis && strcmp(basis, "counts") == 0 && !(split && strcmp(split, "train") == 0);
	if (own) {
		warn("%s: its groups come from its own counts, not from training counts; give --groups-from "
		     "TRAIN_SAMPLES for the many/medium/few figures",
		     name);
		gi->basis = xasprintf("no training counts: %s has only its own; give --groups-from", name);
	} else {
		gi->train_counts = header_group_counts(s, name);
		int *hg = header_groups(s, name);
		if (!o->many_given && !o->few_given)
			header_thresholds(&s->header, name, &gi->th);
		if (hg && (!(o->many_given || o->few_given) || !gi->train_counts))
			gi->groups = hg;
		else
			free(hg);
		if ((o->many_given || o->few_given) && !gi->train_counts && gi->groups)
			warn("%s: no training counts in the header: --many-above and --few-max are not applied; the "
			     "header's groups are",
			     name);
		if (!gi->groups && !gi->train_counts) {
			warn("%s: no training counts or groups in the header; give --groups-from TRAIN_SAMPLES for the "
			     "many/medium/few figures",
			     name);
			gi->basis = xasprintf("no training counts known; give --groups-from");
		} else {
			gi->basis = xasprintf("%s in the header of %s", gi->groups ? "the groups" : "the training counts",
					      name);
		}
	}
	free(basis);
	free(split);
}

/* ---- model and text features ---------------------------------------------------------------------- */

typedef struct model {
	clip_model clip;
	float *fc; /* [D, D] or NULL */
	float *text; /* [C, D] */
} model;

static void load_model(const options *o, int C, model *m)
{
	st_file f;
	st_open_or_die(o->model, &f);
	clip_load_opts lo = {.towers = CLIP_VISION, .vision_heads = o->heads};
	char err[1024];
	if (clip_model_load(&m->clip, &f, &lo, err, sizeof err))
		die(LFM_EXIT_DATA, "%s", err);
	int D = m->clip.cfg.embed_dim;
	m->fc = NULL;
	/* W_I: the checkpoint's fc.weight, or an export directory's fc.safetensors (fc_weight.h). */
	if (!o->no_fc && fc_weight_load(&f, D, &m->fc, err, sizeof err))
		die(LFM_EXIT_DATA, "%s", err);
	st_close(&f);

	int64_t shape[NPY_MAX_DIMS];
	size_t count;
	m->text = npy_load_f32(o->text, 2, shape, &count);
	if (shape[0] != C)
		die(LFM_EXIT_DATA, "%s: %lld rows of text features, the samples stream has %d classes", o->text,
		    (long long)shape[0], C);
	if (shape[1] != D)
		die(LFM_EXIT_DATA, "%s: text features of %lld dimensions, the model %s embeds in %d", o->text,
		    (long long)shape[1], o->model, D);
}

/* ---- the dataset ------------------------------------------------------------------------------------ */

/* Every record must name a usable sample of the dataset with the same label, so a stream made from
 * another dataset or split fails here, before any image is decoded. */
static dataset *open_dataset(const options *o, const samples_set *s)
{
	dataset_options dopt = {.split = o->split, .root = o->root, .cache_dir = o->cache_dir,
				.class_names = (const char *const *)s->classes, .num_class_names = s->num_classes};
	dataset *ds = dataset_open_or_die(o->data, &dopt);
	const char *name = display(o->samples);
	if (dataset_num_classes(ds) != s->num_classes)
		die(LFM_EXIT_DATA, "%s: %d classes, %s has %d", o->data, dataset_num_classes(ds), name, s->num_classes);
	size_t N = dataset_count(ds);
	for (size_t i = 0; i < s->n; i++) {
		uint64_t idx = s->index[i];
		if (idx >= N)
			die(LFM_EXIT_DATA, "%s: record %zu: index %llu is beyond the dataset %s (%zu samples in its %s split)",
			    name, i + 1, (unsigned long long)idx, o->data, N, dataset_split(ds));
		int lab = dataset_label(ds, (size_t)idx);
		if (lab < 0)
			die(LFM_EXIT_DATA, "%s: record %zu: sample %llu of %s is unusable (%s)", name, i + 1,
			    (unsigned long long)idx, o->data, dataset_key(ds, (size_t)idx));
		if (lab != s->label[i])
			die(LFM_EXIT_DATA, "%s: record %zu: sample %llu (%s) has label %d in %s, the stream says %d: "
			    "was the stream made from another dataset or split?",
			    name, i + 1, (unsigned long long)idx, dataset_key(ds, (size_t)idx), lab, o->data,
			    (int)s->label[i]);
	}
	const msgpack_object *src = mp_map_get(&s->header, "source");
	char *hash = src && src->type == MSGPACK_OBJECT_MAP ? mp_get_str(src, "hash") : NULL;
	const dataset_identity *id = dataset_source(ds);
	if (hash && id->hash && strcmp(hash, id->hash) != 0)
		warn("%s: the stream was made from a source with %s, %s has %s (labels agree; continuing)", name, hash,
		     o->data, id->hash);
	free(hash);
	return ds;
}

/* ---- outputs ------------------------------------------------------------------------------------------ */

static void write_predictions_header(msgpack_packer *pk, const options *o, const samples_set *s,
				     const group_info *gi, int zero_shot, int argc, char **argv)
{
	predictions_meta m = {.model = o->model,
			      .zero_shot = zero_shot,
			      .text = o->text,
			      .data = o->data,
			      .split = o->root ? "list" : o->split,
			      .samples_stream = display(o->samples),
			      .classes = s->num_classes,
			      .class_names = s->classes,
			      .counts = gi->train_counts,
			      .samples = s->n,
			      .source = mp_map_get(&s->header, "source"),
			      .argc = argc,
			      .argv = argv};
	predictions_write_header(pk, &m);
}

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	options o;
	parse_options(argc, argv, &o);
	lfm_input("--model", o.model);
	lfm_input("--text", o.text);
	lfm_input("--data", o.data);
	lfm_input("--groups-from", o.groups_from);
	lfm_input("the samples stream", o.samples);
	lfm_output("--predictions", o.predictions);
	lfm_output("--per-class", o.per_class);
	lfm_output("--confusion", o.confusion);
	lfm_output("--features", o.features);
	lfm_output("-o", o.output);

	samples_set s;
	samples_read(o.samples, 0, &s);
	char *stream_split = mp_get_str(&s.header, "split");
	if (!o.split) /* the split the stream was made from, as lfm-fit takes it; else test */
		o.split = stream_split && (!strcmp(stream_split, "train") || !strcmp(stream_split, "test") ||
					   !strcmp(stream_split, "val"))
				  ? stream_split
				  : "test";
	const char *sname = display(o.samples);
	int C = s.num_classes;
	group_info gi = {.th = o.th};
	if (o.groups_from)
		groups_from_training(&o, &s, &gi);
	else
		groups_from_header(&o, &s, &gi);

	model m;
	load_model(&o, C, &m);
	const clip_config *cfg = &m.clip.cfg;
	int R = cfg->image_resolution;
	char err[1024];
	dataset *ds = open_dataset(&o, &s);

	/* outputs opened before the work, so an unwritable path fails at once */
	int report_to_stderr = is_stdout(o.predictions) || is_stdout(o.per_class) || is_stdout(o.confusion) ||
			       is_stdout(o.features);
	outfile pred_out = {0};
	stream_writer *pw = NULL;
	if (o.predictions) {
		outfile_open(&pred_out, o.predictions, "wb");
		pw = sw_open(pred_out.f, pred_out.path ? pred_out.path : "stdout");
		write_predictions_header(sw_packer(pw), &o, &s, &gi, m.fc == NULL, argc, argv);
	}
	outfile report = {0}, per_class = {0};
	if (!report_to_stderr)
		outfile_open(&report, o.output, "w");
	if (o.per_class)
		outfile_open(&per_class, o.per_class, "w");
	/* the features go out a batch at a time: the header's shape is known now, and N x d floats (200 MB
	 * for ImageNet-LT's test set at d = 1024) never sit in memory at once */
	outfile feat_out = {0};
	const char *feat_name = NULL;
	int D = cfg->embed_dim;
	if (o.features) {
		outfile_open(&feat_out, o.features, "wb");
		feat_name = feat_out.path ? feat_out.path : "stdout";
		npy_write_header(feat_out.f, feat_name, DT_F32, 2, (int64_t[]){(int64_t)s.n, D});
	}

	/* decoding on one pool while the tower runs image-parallel on the other (faster than OpenBLAS's threads
	 * alone); the features and logits as training computes them, W applied when the checkpoint has one */
	thread_pool *pool = thread_pool_new(o.threads), *compute = thread_pool_new(o.threads);
	int B = o.batch;
	fit_state fs;
	fit_context ctx = {FIT_BACKEND_CPU, compute, NULL, NULL, LFM_PRECISION_FP32, 0, NULL};
	lfm_cuda_context *cuda = lfm_device_open(o.device);
	if (!cuda && o.precision > LFM_PRECISION_FP32)
		opt_usage_error("--precision %s: the CPU computes in fp32 only (--device cuda for %s)",
				lfm_precision_names[o.precision], lfm_precision_names[o.precision]);
	if (cuda) {
		lfm_precision prec = o.precision < 0 ? LFM_PRECISION_BF16 : (lfm_precision)o.precision;
		fprintf(stderr, "%s: precision: %s%s\n", lfm_progname(), lfm_precision_name(prec),
			o.precision < 0 ? " (the default on a GPU; --precision fp32 for the CPU's arithmetic)" : "");
		ctx = (fit_context){FIT_BACKEND_DEVICE, compute, &lfm_cuda_fit_ops, cuda, prec, 0, NULL};
	}
	if (fit_init_eval(&fs, &ctx, &m.clip.vision, m.text, C, m.fc, B, err, sizeof err))
		die(LFM_EXIT_DATA, "%s: %s", o.text, err);
	float *logits = xmalloc_array((size_t)B, (size_t)C * sizeof *logits);
	float *scores = xmalloc_array((size_t)B, sizeof *scores);
	int32_t *preds = xmalloc_array(s.n ? s.n : 1, sizeof *preds);
	float *feats = o.features ? xmalloc_array((size_t)B, (size_t)D * sizeof *feats) : NULL;
	/* the next batch is decoded and preprocessed on the pool while the model runs on this one */
	batch_loader *bl = batch_loader_new(ds, R, pool, B);

	progress pr;
	progress_start(&pr, "lfm-eval", s.n, "images");
	if (s.n)
		batch_loader_start(bl, &(batch_desc){.count = s.n < (size_t)B ? (int)s.n : B, .i = s.index});
	for (size_t first = 0; first < s.n; first += (size_t)B) {
		int b = s.n - first < (size_t)B ? (int)(s.n - first) : B, code;
		const float *pixels = batch_loader_finish(bl, &code, err, sizeof err);
		if (!pixels)
			die(code, "%s: %s: %s", sname, o.data, err);
		size_t next = first + (size_t)b;
		if (next < s.n)
			batch_loader_start(bl, &(batch_desc){.count = s.n - next < (size_t)B ? (int)(s.n - next) : B,
							     .i = s.index + next});
		fit_logits(&fs, pixels, b, logits);
		for (size_t i = 0; i < (size_t)b * (size_t)C; i++)
			if (!isfinite(logits[i])) {
				size_t rec = first + i / (size_t)C;
				die(LFM_EXIT_DATA, "%s: record %zu (sample %llu): the model gives non-finite logits (%s)",
				    sname, rec + 1, (unsigned long long)s.index[rec], o.model);
			}
		eval_argmax(logits, b, C, preds + first, scores);
		if (feats) {
			fit_features(&fs, b, feats);
			xfwrite(feats, (size_t)b * (size_t)D * sizeof *feats, feat_out.f, feat_name);
		}
		if (pw)
			for (int j = 0; j < b; j++)
				predictions_write_record(sw_packer(pw),
							 &(prediction){s.index[first + (size_t)j], s.label[first + (size_t)j],
								       preds[first + (size_t)j], scores[j]});
		progress_update(&pr, next);
	}
	progress_finish(&pr);
	batch_loader_free(bl);

	eval_result r;
	if (eval_compute(&r, s.label, preds, s.n, C, gi.train_counts, gi.groups, &gi.th, err, sizeof err))
		die(LFM_EXIT_DATA, "%s: %s", sname, err);
	eval_meta meta = {.class_names = (const char *const *)s.classes, .group_basis = gi.basis,
			  .model = o.model, .text = o.text, .samples = sname, .zero_shot = m.fc == NULL};
	if (pw) {
		sw_close(pw);
		outfile_commit(&pred_out);
	}
	if (o.per_class) {
		eval_write_per_class_tsv(per_class.f, &r, &meta);
		outfile_commit(&per_class);
	}
	if (o.confusion) {
		int64_t shape[2] = {C, C};
		npy_save(o.confusion, DT_I64, 2, shape, r.confusion);
	}
	if (o.features)
		outfile_commit(&feat_out);
	FILE *rf = report_to_stderr ? stderr : report.f;
	if (o.json)
		eval_write_json(rf, &r, &meta);
	else
		eval_print_table(rf, &r, &meta);
	if (!report_to_stderr)
		outfile_commit(&report);

	eval_result_free(&r);
	free(preds);
	free(feats);
	free(scores);
	free(logits);
	fit_free(&fs);
	lfm_cuda_close(cuda);
	thread_pool_free(compute);
	thread_pool_free(pool);
	dataset_close(ds);
	free(m.fc);
	free(m.text);
	clip_model_free(&m.clip);
	free(gi.train_counts);
	free(gi.groups);
	free(gi.basis);
	samples_free(&s);
	free(stream_split);
	return LFM_EXIT_OK;
}
