/* lfm-mix — mixing coefficients and label shift: turns a pairs stream into a mix plan (formats/plan.md),
 * one record per training example with lx (the image weight of sample i) and ly (the label weight of
 * class yi); with --render, also the first mixed images as JPEG files for a person to look at.
 *
 * Speed: this sits in the `lt-subset | lfm-pairs | lfm-mix` pipe at millions of records a second, so the
 * record loop avoids per-record generality: the lambdas are drawn ahead, a chunk of positions at a time
 * on a second thread (mix_lambdas.c; lx is a function of (seed, epoch, position) only, so computing ahead
 * changes nothing), the five fields are read straight from each record's bytes when they are laid out as
 * lfm-pairs writes them (sr_next_raw and pairs_fields_raw, io/pairs.h; anything else is decoded in full
 * and searched by name, with the same results and messages), and each record is encoded into one piece
 * for the writer (plan_encode_record, io/plan.h). */
#include <getopt.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/options.h"
#include "io/pairs.h"
#include "io/plan.h"
#include "io/stream.h"
#include "io/stream_header.h"
#include "train/mix.h"
#include "train/mix_lambdas.h"
#include "render.h"

static const char usage[] =
    "usage: lfm-mix [--method lfm|mixup|remix|remix-official|none] [options] [PAIRS]\n"
    "       lfm-mix --render DIR --source DATASET [--count N] [--size S] [options] [PAIRS]\n"
    "       lfm-mix --render DIR --source DATASET [--count N] [--size S] PLAN   (a plan as it is)\n"
    "\n"
    "Reads a pairs stream (lfm-pairs; a file or '-' for stdin, the default) and writes a mix plan:\n"
    "lx ~ Beta(B, B) and the label weight ly given by the method:\n"
    "  lfm             ly = clamp(lx - A (n_i - n_j) / (n_i + n_j), 0, 1)   (label shift; default)\n"
    "  mixup           ly = lx\n"
    "  remix           ly = 0 if n_i/n_j >= K and lx < T; 1 if n_i/n_j <= 1/K and 1 - lx < T; else lx\n"
    "  remix-official  the official code's Remix, the two cases swapped (label to the majority class)\n"
    "  none            lx = ly = 1 (no mixing; plain training on sample i)\n"
    "\n"
    "  -m, --method M       one of the above (default lfm)\n"
    "  -a, --alpha A        label shift strength for lfm (default 1; >= 0)\n"
    "  -b, --beta B         lx ~ Beta(B, B) (default 0.5, the paper's; the official code: 0.2 per batch)\n"
    "      --per-batch N    one lx for each N consecutive records of an epoch (default 1: per record)\n"
    "      --kappa K        Remix ratio threshold (default 3)\n"
    "      --remix-tau T    Remix lambda threshold (default 0.5)\n"
    "  -s, --seed S         random seed (default 0)\n"
    "  -o, --output FILE    write the plan to FILE (atomically) instead of stdout\n"
    "  -j, --threads N      1: all on one thread; 2 (default): the lambdas drawn ahead on a second\n"
    "                       thread (the plan is the same either way)\n"
    "      --render DIR     also write the first N mixed images into DIR as JPEG files named\n"
    "                       NNNNNN_<class i>-<lx>_<class j>-<1-lx>_ly<ly>.jpg (the plan is still written:\n"
    "                       > /dev/null to render only)\n"
    "      --source DATASET the dataset the samples stream was made from (as given to lt-subset)\n"
    "      --count N        images to render (default 16)\n"
    "      --size S         CLIP preprocessing size of the rendered images (default 224)\n"
    "      --quality Q      JPEG quality of the rendered images (default 95)\n"
    "  -h, --help           this help;  -V, --version  the version\n"
    "\n"
    "lx of record t of epoch e is a function of (seed, e, t) alone (of (seed, e, t / N) with --per-batch N).\n"
    "Exit status: 0 ok, 1 bad input data, 2 usage, 3 I/O error.  See lfm-mix(1), lfm-plan(5).\n";

typedef struct options {
	mix_params mix;
	double beta;
	long long per_batch;
	uint64_t seed;
	int threads;
	int mix_given; /* a mixing option given (method, alpha, beta, per-batch, kappa, remix-tau, seed) */
	const char *input, *output;
	render_options render;
} options;

static void parse_options(int argc, char **argv, options *o)
{
	static const struct option longopts[] = {
	    {"method", required_argument, 0, 'm'},   {"alpha", required_argument, 0, 'a'},
	    {"beta", required_argument, 0, 'b'},     {"per-batch", required_argument, 0, 'B'},
	    {"kappa", required_argument, 0, 'K'},    {"remix-tau", required_argument, 0, 'T'},
	    {"seed", required_argument, 0, 's'},     {"output", required_argument, 0, 'o'},
	    {"render", required_argument, 0, 'R'},   {"source", required_argument, 0, 'D'},
	    {"count", required_argument, 0, 'N'},    {"size", required_argument, 0, 'Z'},
	    {"quality", required_argument, 0, 'Q'},  {"threads", required_argument, 0, 'j'},
	    {"help", no_argument, 0, 'h'},           {"version", no_argument, 0, 'V'},
	    {0, 0, 0, 0}};
	*o = (options){.mix = {.method = MIX_LFM, .alpha = 1, .kappa = 3, .remix_tau = 0.5},
		       .beta = 0.5, .per_batch = 1, .threads = 2, .input = "-",
		       .render = {.count = 16, .size = 224, .quality = 95}};
	int count_set = 0, size_set = 0, quality_set = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":m:a:b:s:o:j:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			o->mix.method = (mix_method)opt_choice("--method", optarg, mix_method_names);
			o->mix_given = 1;
			break;
		case 'a': o->mix.alpha = opt_double("--alpha", optarg, 0, 1e6); o->mix_given = 1; break;
		case 'b': o->beta = opt_double_gt("--beta", optarg, 0, 1e6); o->mix_given = 1; break;
		case 'B': o->per_batch = opt_int("--per-batch", optarg, 1, 1LL << 40); o->mix_given = 1; break;
		case 'K': o->mix.kappa = opt_double_gt("--kappa", optarg, 0, 1e12); o->mix_given = 1; break;
		case 'T': o->mix.remix_tau = opt_double("--remix-tau", optarg, 0, 1); o->mix_given = 1; break;
		case 's': o->seed = opt_u64("--seed", optarg, 0, UINT64_MAX); o->mix_given = 1; break;
		case 'o': o->output = optarg; break;
		case 'j': o->threads = (int)opt_int("--threads", optarg, 1, 2); break;
		case 'R': o->render.dir = optarg; break;
		case 'D': o->render.source = optarg; break;
		case 'N': o->render.count = opt_int("--count", optarg, 1, 1000000), count_set = 1; break;
		case 'Z': o->render.size = (int)opt_int("--size", optarg, 8, 1024), size_set = 1; break;
		case 'Q': o->render.quality = (int)opt_int("--quality", optarg, 1, 100), quality_set = 1; break;
		case 'h': opt_help(usage);
		case 'V': opt_version();
		default: opt_bad_option(c, argv);
		}
	}
	if (optind < argc)
		o->input = argv[optind++];
	if (optind < argc)
		opt_usage_error("more than one input: '%s'", argv[optind]);
	if (o->render.dir && !o->render.source)
		opt_usage_error("--render needs --source DATASET (the images the pairs index)");
	if (!o->render.dir && (o->render.source || count_set || size_set || quality_set))
		opt_usage_error("--source, --count, --size and --quality go with --render DIR");
}

/* mix_clamp01 (mix.h) to the bit, inlined and without branches where SSE2 has them: ly is clamped often
 * and at random, and the branches were mispredicted. maxsd(a, b) is a > b ? a : b and minsd(a, b)
 * a < b ? a : b, exactly, so this is v < 0 ? 0 : v, then > 1 ? 1 : that (NaN and -0 pass through). */
static inline double clamp01(double v)
{
#ifdef __SSE2__
	__m128d r = _mm_max_sd(_mm_setzero_pd(), _mm_set_sd(v));
	return _mm_cvtsd_f64(_mm_min_sd(_mm_set_sd(1.0), r));
#else
	return mix_clamp01(v);
#endif
}

static void write_header(msgpack_packer *pk, const options *o, const msgpack_object *h,
			 const int64_t *counts, int C, int argc, char **argv)
{
	const char *carried[] = {"classes", "groups", "thresholds", "partner", "tau", "gamma_effective",
				 "epochs", "samples", "source", "split", "imbalance"};
	int nh = 10;
	for (size_t k = 0; k < sizeof carried / sizeof *carried; k++)
		nh += mp_map_get(h, carried[k]) != NULL;
	msgpack_pack_map(pk, (size_t)nh);
	mp_pack_kv_str(pk, "format", "lfm.plan/1");
	mp_pack_kv_str(pk, "method", mix_method_names[o->mix.method]);
	mp_pack_kv_f64(pk, "alpha", o->mix.alpha);
	mp_pack_kv_f64(pk, "beta", o->beta);
	mp_pack_kv_int(pk, "per_batch", o->per_batch);
	mp_pack_kv_f64(pk, "kappa", o->mix.kappa);
	mp_pack_kv_f64(pk, "remix_tau", o->mix.remix_tau);
	mp_pack_kv_uint(pk, "seed", o->seed);
	mp_pack_cstr(pk, "counts");
	msgpack_pack_array(pk, (size_t)C);
	for (int k = 0; k < C; k++)
		msgpack_pack_int64(pk, counts[k]);
	for (size_t k = 0; k < sizeof carried / sizeof *carried; k++) {
		const msgpack_object *v = mp_map_get(h, carried[k]);
		if (v) {
			mp_pack_cstr(pk, carried[k]);
			msgpack_pack_object(pk, *v);
		}
	}
	mp_pack_kv_command(pk, "command", argc, argv);
}

/* --render on a mix plan (what lfm-fit trains on, lambdas and all): its first records rendered, nothing
 * else written. */
static int render_plan(const options *o, stream_reader *r, const char *name)
{
	char err[1024];
	plan_header ph;
	if (plan_header_read(sr_header(r), name, &ph, err, sizeof err))
		die(LFM_EXIT_DATA, "%s", err);
	renderer *rd = render_open(&o->render, sr_header(r), name);
	uint64_t total = (uint64_t)ph.epochs * ph.per_epoch;
	for (uint64_t n = 0; n < (uint64_t)o->render.count && n < total; n++) {
		plan_record p;
		if (plan_next(r, &ph, name, n, &p, err, sizeof err))
			die(LFM_EXIT_DATA, "%s", err);
		render_record(rd, n, (int64_t)p.i, p.yi, (int64_t)p.j, p.yj, p.lx, p.ly);
	}
	render_close(rd);
	plan_header_free(&ph);
	return LFM_EXIT_OK;
}

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	options o;
	parse_options(argc, argv, &o);
	lfm_input("the pairs stream", o.input);
	lfm_input("--source", o.render.source);
	lfm_output("-o", o.output ? o.output : "-");
	const char *name = strcmp(o.input, "-") == 0 ? "stdin" : o.input;
	FILE *in = xfopen(o.input, "rb");
	/* a pairs stream to mix; with --render, a plan too (rendered as it is, not mixed again) */
	stream_reader *r = sr_open_or_die(in, name, o.render.dir ? NULL : "lfm.pairs", 1);
	if (strcmp(sr_kind(r), "lfm.plan") == 0) {
		if (o.output || o.mix_given)
			opt_usage_error("%s is a mix plan: --render shows it as it is (no -o, no mixing options)", name);
		int rc = render_plan(&o, r, name);
		sr_close(r);
		if (in != stdin)
			fclose(in);
		return rc;
	}
	if (strcmp(sr_kind(r), "lfm.pairs") != 0)
		die(LFM_EXIT_DATA, "%s: stream is %s/%d, expected lfm.pairs (or, with --render, lfm.plan)", name,
		    sr_kind(r), sr_version(r));
	const msgpack_object *h = sr_header(r);
	int C;
	int64_t *counts;
	char err[1024];
	if (stream_header_counts(h, name, "class counts are needed for the label", &counts, &C, err, sizeof err))
		die(LFM_EXIT_DATA, "%s", err);

	renderer *rd = o.render.dir ? render_open(&o.render, h, name) : NULL;

	outfile out;
	outfile_open(&out, o.output, "wb");
	stream_writer *w = sw_open(out.f, o.output ? o.output : "stdout");
	msgpack_packer *pk = sw_packer(w);
	write_header(pk, &o, h, counts, C, argc, argv);

	/* The header promises epochs x samples records: the lambdas can be drawn ahead of need. */
	int64_t samples = 0, epochs = 0;
	uint64_t per_epoch = 0;
	if (mp_get_int(h, "samples", &samples) != 0 || mp_get_int(h, "epochs", &epochs) != 0 || samples < 0 ||
	    epochs < 0)
		samples = epochs = 0;
	else
		per_epoch = ((uint64_t)samples + (uint64_t)o.per_batch - 1) / (uint64_t)o.per_batch;
	mix_lambdas *lambdas = mix_lambdas_open(o.seed, o.beta, per_epoch, (uint64_t)epochs,
					      o.mix.method == MIX_NONE ? 1 : o.threads);

	/* lfm's label shift per class pair, tabulated when the table is small (mix.h: the same bits) */
	double *shift = NULL;
	if (o.mix.method == MIX_LFM && C <= 512) {
		shift = xmalloc_array((size_t)C * (size_t)C, sizeof *shift);
		for (int a = 0; a < C; a++)
			for (int b = 0; b < C; b++)
				shift[a * C + b] = mix_shift(o.mix.alpha, (double)counts[a], (double)counts[b]);
	}
	/* Records are encoded straight into the writer's buffer, BATCH bytes of room at a time. */
	enum { BATCH = 1 << 16 };
	unsigned char *batch = sw_reserve(w, BATCH);
	size_t used = 0;
	uint64_t l = 0, in_batch = 0; /* lambda index t / per_batch, and t % per_batch, of record t */
	const unsigned char *raw;
	size_t raw_len;
	int64_t cur_epoch = -1;
	uint64_t rn = 0;
	while (sr_next_raw_or_die(r, &raw, &raw_len)) {
		rn++;
		int64_t v[PAIR_NFIELDS];
		int layout = pairs_fields_raw(raw, raw_len, v);
		if (layout == PAIRS_RAW_NONE) {
			msgpack_object rec;
			if (sr_decode_raw(r, &rec) != 0)
				die(LFM_EXIT_IO, "%s", sr_error(r));
			if (pairs_fields(&rec, v, name, rn, err, sizeof err))
				die(LFM_EXIT_DATA, "%s", err);
		}
		int64_t e = v[PAIR_EPOCH], yi = v[PAIR_YI], yj = v[PAIR_YJ];
		if (yi >= C || yj >= C)
			die(LFM_EXIT_DATA, "%s: record %llu: class %lld is outside 0 .. %d", name,
			    (unsigned long long)rn, (long long)(yi >= C ? yi : yj), C - 1);
		if (counts[yi] <= 0 || counts[yj] <= 0)
			die(LFM_EXIT_DATA, "%s: record %llu: class %lld has a zero count in the header", name,
			    (unsigned long long)rn, (long long)(counts[yi] <= 0 ? yi : yj));
		if (e < cur_epoch)
			die(LFM_EXIT_DATA, "%s: record %llu: epoch %lld out of order", name, (unsigned long long)rn,
			    (long long)e);
		if (e != cur_epoch) {
			cur_epoch = e;
			l = in_batch = 0;
		}
		float lx = 1, ly = 1;
		if (o.mix.method != MIX_NONE) {
			lx = (float)mix_lambdas_get(lambdas, (uint64_t)e, l);
			/* ly from the stored float32 lx, so a reader recomputing it gets the stored value */
			if (shift)
				ly = (float)clamp01(lx - shift[yi * C + yj]);
			else
				ly = (float)mix_label(&o.mix, lx, (double)counts[yi], (double)counts[yj]);
		}
		if (++in_batch == (uint64_t)o.per_batch) {
			l++;
			in_batch = 0;
		}
		if (BATCH - used < PLAN_RECORD_MAX) {
			sw_commit(w, used);
			batch = sw_reserve(w, BATCH);
			used = 0;
		}
		if (layout == PAIRS_RAW_CANONICAL)
			used += plan_encode_record_from(batch + used, raw, raw_len, lx, ly);
		else
			used += plan_encode_record(batch + used, v, lx, ly);
		if (rd && rn <= (uint64_t)o.render.count)
			render_record(rd, rn - 1, v[PAIR_I], yi, v[PAIR_J], yj, lx, ly);
	}
	sw_commit(w, used);
	sw_close(w);
	outfile_commit(&out);
	if (rd)
		render_close(rd);
	sr_close(r);
	if (in != stdin)
		fclose(in);
	mix_lambdas_close(lambdas);
	free(shift);
	free(counts);
	return 0;
}
