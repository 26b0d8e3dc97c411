/* lfm-pairs — local sampling: for every sample of every epoch, a partner drawn by the similarity of the
 * classes' text features (the paper's Alg. 1), written as a pairs stream (formats/pairs.md). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/options.h"
#include "io/npy.h"
#include "io/pairs.h"
#include "io/samples.h"
#include "io/stream.h"
#include "train/local_sampling.h"

static const char usage[] =
    "usage: lfm-pairs --text FEATURES.npy [options] [SAMPLES]\n"
    "       lfm-pairs --uniform [options] [SAMPLES]\n"
    "       lfm-pairs --text FEATURES.npy --stats [--stats-npy P.npy] [SAMPLES]\n"
    "\n"
    "Reads a samples stream (lt-subset's output; a file or '-' for stdin, the default) and writes a pairs\n"
    "stream: each epoch visits every sample once in a fresh random order, and pairs it with a partner whose\n"
    "class is drawn from p_ls(k|y) = softmax over k != y of f_T[y].f_T[k] / tau, and whose sample is the\n"
    "next one of that class in a reshuffled cycle.\n"
    "\n"
    "  -t, --text FILE     class text features [C, d] .npy (clip-embed-text; float64/16 converted); rows normalised\n"
    "      --tau T         temperature of the partner softmax (default 0.05; > 0)\n"
    "  -k, --top-k K       keep only the K most similar classes of each class (default: all)\n"
    "  -e, --epochs N      epochs to generate (default 1)\n"
    "  -s, --seed S        random seed (default 0)\n"
    "  -u, --uniform       partners uniform over all samples (for Mixup); no --text needed\n"
    "      --stats         print the partner distribution, gamma' and the class distribution before and\n"
    "                      after local sampling instead of pairs\n"
    "      --stats-npy F   with --stats, also write p_ls as float32 [C, C] .npy\n"
    "  -o, --output FILE   write the stream to FILE (atomically) instead of stdout\n"
    "  -h, --help          this help;  -V, --version  the version\n"
    "\n"
    "Exit status: 0 ok, 1 bad input data, 2 usage, 3 I/O error.  See lfm-pairs(1), lfm-pairs(5).\n";

typedef struct options {
	const char *text, *output, *input, *stats_npy;
	double tau;
	int top_k, stats, uniform;
	long long epochs;
	uint64_t seed;
} options;

static void parse_options(int argc, char **argv, options *o)
{
	static const struct option longopts[] = {
	    {"text", required_argument, 0, 't'},     {"tau", required_argument, 0, 'T'},
	    {"top-k", required_argument, 0, 'k'},    {"epochs", required_argument, 0, 'e'},
	    {"seed", required_argument, 0, 's'},     {"uniform", no_argument, 0, 'u'},
	    {"stats", no_argument, 0, 'S'},          {"stats-npy", required_argument, 0, 'P'},
	    {"output", required_argument, 0, 'o'},   {"help", no_argument, 0, 'h'},
	    {"version", no_argument, 0, 'V'},        {0, 0, 0, 0}};
	*o = (options){.tau = 0.05, .epochs = 1, .input = "-"};
	int c;
	while ((c = getopt_long(argc, argv, ":t:k:e:s:uo:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 't': o->text = optarg; break;
		case 'T': o->tau = opt_double_gt("--tau", optarg, 0, 1e6); break;
		case 'k': o->top_k = (int)opt_int("--top-k", optarg, 1, 1000000); break;
		case 'e': o->epochs = opt_int("--epochs", optarg, 1, 1000000); break;
		case 's': o->seed = opt_u64("--seed", optarg, 0, UINT64_MAX); break;
		case 'u': o->uniform = 1; break;
		case 'S': o->stats = 1; break;
		case 'P': o->stats_npy = optarg; break;
		case 'o': o->output = optarg; break;
		case 'h': opt_help(usage);
		case 'V': opt_version();
		default: opt_bad_option(c, argv);
		}
	}
	if (optind < argc)
		o->input = argv[optind++];
	if (optind < argc)
		opt_usage_error("more than one input: '%s'", argv[optind]);
	if (!o->uniform && !o->text)
		opt_usage_error("--text FEATURES.npy is required (or --uniform for uniform partners)");
	if (o->uniform && o->stats)
		opt_usage_error("--stats describes local sampling; it cannot be combined with --uniform");
	if (o->stats_npy && !o->stats)
		opt_usage_error("--stats-npy needs --stats");
}

/* Copy a header entry of the samples stream into ours when present. */
static int carry(msgpack_packer *pk, const msgpack_object *h, const char *key)
{
	const msgpack_object *v = mp_map_get(h, key);
	if (!v)
		return 0;
	mp_pack_cstr(pk, key);
	msgpack_pack_object(pk, *v);
	return 1;
}

static void print_stats(const samples_set *s, const double *p, const options *o, double gamma_eff,
			const double *q)
{
	int C = s->num_classes;
	double N = (double)s->n, qsum = 0;
	for (int k = 0; k < C; k++)
		qsum += q[k];
	printf("local sampling: %d classes, %zu samples, tau %g%s\n", C, s->n, o->tau,
	       o->top_k ? " (top-k)" : "");
	printf("imbalance gamma = %.4g (max/min class count); effective gamma' = %.4g (paper App. A.1)\n",
	       samples_imbalance(s), gamma_eff);
	printf("\n%-5s %-24s %7s %9s %9s  nearest partner classes (p_ls)\n", "class", "name", "count",
	       "p(before)", "p(after)");
	int show = C - 1 < 5 ? C - 1 : 5;
	int *best = xmalloc_array((size_t)show, sizeof *best);
	for (int y = 0; y < C; y++) {
		const double *row = p + (size_t)y * C;
		for (int r = 0; r < show; r++) {
			best[r] = -1;
			for (int k = 0; k < C; k++) {
				int used = 0;
				for (int q2 = 0; q2 < r; q2++)
					used |= best[q2] == k;
				if (!used && k != y && (best[r] < 0 || row[k] > row[best[r]]))
					best[r] = k;
			}
		}
		printf("%-5d %-24.24s %7lld %9.5f %9.5f ", y, s->classes[y], (long long)s->counts[y],
		       s->counts[y] / N, q[y] / qsum);
		for (int r = 0; r < show; r++)
			if (best[r] >= 0)
				printf(" %s %.3f", s->classes[best[r]], row[best[r]]);
		printf("\n");
	}
	free(best);
	printf("\np(after) = q / sum(q), q(y) = p(y) + (1 - p(y)) sum_k p_ls(y|k) p(k)\n");
}

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	options o;
	parse_options(argc, argv, &o);
	lfm_input("the samples stream", o.input);
	lfm_input("--text", o.text);
	lfm_output("-o", o.output ? o.output : "-");
	lfm_output("--stats-npy", o.stats_npy);

	samples_set s;
	samples_read(o.input, 0, &s);
	int C = s.num_classes;

	double *p = NULL, gamma_eff = 0, *q = NULL;
	if (!o.uniform) {
		int64_t shape[NPY_MAX_DIMS];
		size_t count;
		float *feat = npy_load_f32(o.text, 2, shape, &count);
		if (shape[0] != C)
			die(LFM_EXIT_DATA, "%s: %lld rows of text features, but the samples stream has %d classes",
			    o.text, (long long)shape[0], C);
		p = xmalloc_array((size_t)C * (size_t)C, sizeof *p);
		char err[256];
		if (ls_partner_probs(feat, C, (int)shape[1], o.tau, o.top_k, s.counts, p, err, sizeof err) != 0)
			die(LFM_EXIT_DATA, "%s: %s", o.text, err);
		free(feat);
		q = xmalloc_array((size_t)C, sizeof *q);
		gamma_eff = ls_effective_imbalance(p, s.counts, C, q);
	}

	if (o.stats) {
		print_stats(&s, p, &o, gamma_eff, q);
		xfclose(stdout, "stdout");
		if (o.stats_npy) {
			float *pf = xmalloc_array((size_t)C * (size_t)C, sizeof *pf);
			for (size_t k = 0; k < (size_t)C * C; k++)
				pf[k] = (float)p[k];
			int64_t shape[2] = {C, C};
			npy_save(o.stats_npy, DT_F32, 2, shape, pf);
			free(pf);
		}
		free(p), free(q);
		samples_free(&s);
		return 0;
	}

	pair_generator g;
	char err[256];
	if (pairs_init(&g, o.seed, C, p, o.uniform, s.n, s.index, s.label, err, sizeof err) != 0)
		die(LFM_EXIT_DATA, "%s: %s", o.input, err);

	outfile out;
	outfile_open(&out, o.output, "wb");
	stream_writer *w = sw_open(out.f, o.output ? o.output : "stdout");
	msgpack_packer *pk = sw_packer(w);
	int nh = 9 + (o.uniform ? 0 : 2);
	const char *carried[] = {"groups", "thresholds", "source", "split", "imbalance"};
	for (size_t k = 0; k < sizeof carried / sizeof *carried; k++)
		nh += mp_map_get(&s.header, carried[k]) != NULL;
	msgpack_pack_map(pk, (size_t)nh);
	mp_pack_kv_str(pk, "format", "lfm.pairs/1");
	mp_pack_kv_str(pk, "partner", o.uniform ? "uniform" : "local");
	if (!o.uniform) {
		mp_pack_kv_f64(pk, "tau", o.tau);
		mp_pack_kv_f64(pk, "gamma_effective", gamma_eff);
	}
	mp_pack_kv_int(pk, "top_k", o.top_k);
	mp_pack_kv_uint(pk, "seed", o.seed);
	mp_pack_kv_int(pk, "epochs", o.epochs);
	mp_pack_kv_uint(pk, "samples", s.n);
	mp_pack_cstr(pk, "classes");
	msgpack_pack_array(pk, (size_t)C);
	for (int k = 0; k < C; k++)
		mp_pack_cstr(pk, s.classes[k]);
	mp_pack_cstr(pk, "counts");
	msgpack_pack_array(pk, (size_t)C);
	for (int k = 0; k < C; k++)
		msgpack_pack_int64(pk, s.counts[k]);
	for (size_t k = 0; k < sizeof carried / sizeof *carried; k++)
		carry(pk, &s.header, carried[k]);
	mp_pack_kv_command(pk, "command", argc, argv);

	/* The hot loop: records are encoded straight into the writer's buffer, BATCH bytes of room at a
	 * time. */
	enum { BATCH = 1 << 16 };
	unsigned char *batch = sw_reserve(w, BATCH);
	size_t used = 0;
	for (uint32_t e = 0; e < (uint32_t)o.epochs; e++) {
		for (size_t t = 0; t < s.n; t++) {
			pair_record r;
			pairs_next(&g, e, t, &r);
			if (BATCH - used < PAIR_RECORD_MAX) {
				sw_commit(w, used);
				batch = sw_reserve(w, BATCH);
				used = 0;
			}
			used += pairs_encode_record(batch + used, r.epoch, r.i, (uint64_t)r.yi, r.j, (uint64_t)r.yj);
		}
	}
	sw_commit(w, used);
	sw_close(w);
	outfile_commit(&out);
	pairs_free(&g);
	free(p), free(q);
	samples_free(&s);
	return 0;
}
