/* lt-subset — choose a long-tailed subset of a dataset as users have it (CIFAR binary tarballs, image
 * folders and archives, WebDataset tars, split lists) and write it as a samples stream
 * (formats/samples.md); optionally pack the chosen images into one tar. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/options.h"
#include "lt_subset.h"

static const char usage[] =
    "usage: lt-subset [options] SOURCE\n"
    "       lt-subset [options] --list FILE [--root DIR|ARCHIVE]\n"
    "\n"
    "Writes a samples stream (lfm.samples/1): a header with the classes, per-class counts and groups,\n"
    "the parameters and the source's identity, then one record {index, label, key} per chosen sample.\n"
    "SOURCE is a CIFAR-10/100 binary tarball or its unpacked folder, an image folder\n"
    "<split>/<class>/<file>.jpg (a directory or a tar, tar.gz, tar.zst or zip of one), or a WebDataset\n"
    "tar (key.jpg + key.cls). The train split gets the long-tailed profile: class k keeps\n"
    "int(n_max * (1/G)^(k/(C-1))) randomly chosen samples; other splits and split lists pass whole.\n"
    "\n"
    "  -i, --imbalance G      imbalance factor n_max/n_min of the subset (default 100; 1 keeps all)\n"
    "      --profile P        exp (default) or step (half the classes n_max, half n_max/G)\n"
    "      --split S          train (default), test or val\n"
    "  -s, --seed N           random seed of the choice (default 0)\n"
    "      --classes FILE     class names, one a line, in label order (default: from the source)\n"
    "      --list FILE        a split list ('relative/path label' a line) instead of SOURCE\n"
    "      --root PATH        the folder or archive the list's paths are relative to (ImageNet's tar of\n"
    "                         per-class tars and flat val tar, Places365's tars: read in place through\n"
    "                         an index kept in PATH.lfm-index)\n"
    "      --many-above N     many-shot classes have more than N samples (default 100)\n"
    "      --few-max N        few-shot classes have at most N samples (default 20)\n"
    "      --max-per-class N  keep at most N samples of each class (after the profile)\n"
    "      --holdout K        hold K samples of each class (or, for 0 < K < 1, that fraction) out of\n"
    "                         the training subset for validation; needs --holdout-out\n"
    "      --holdout-out FILE the samples stream of the held-out samples\n"
    "      --train-samples F  take the many/medium/few groups from the counts of the training\n"
    "                         samples stream F (for a test set)\n"
    "      --pack FILE.tar    also copy the chosen samples into FILE (.tar, .tar.gz, .tar.zst, .tar.xz);\n"
    "                         the stream then describes the pack\n"
    "      --pack-layout L    wds (key.jpg|key.rgb + key.cls; default) or folder (split/class/file.jpg)\n"
    "      --check            check that every sample of the split is readable and every JPEG sound\n"
    "                         (markers and header; no pixels decoded) before choosing\n"
    "      --skip-bad         leave unusable samples out (counted and reported) instead of failing\n"
    "      --cache-dir DIR    decompress compressed archives into a temporary file in DIR, not memory;\n"
    "                         keep the root archive's index there when its folder is not writable\n"
    "  -o, --output FILE      write the stream to FILE (atomically) instead of stdout\n"
    "  -v, --verbose          a summary of the subset on stderr\n"
    "  -h, --help             this help;  -V, --version  the version\n"
    "\n"
    "Exit status: 0 ok, 1 bad input data, 2 usage, 3 I/O error (missing or unreadable file).\n"
    "See lt-subset(1), lfm-samples(5).\n";

enum {
	OPT_PROFILE = 256, OPT_SPLIT, OPT_CLASSES, OPT_LIST, OPT_ROOT, OPT_MANY, OPT_FEW, OPT_MAXPC,
	OPT_HOLDOUT, OPT_HOLDOUT_OUT, OPT_TRAIN_SAMPLES, OPT_PACK, OPT_PACK_LAYOUT, OPT_CHECK, OPT_SKIP_BAD,
	OPT_CACHE_DIR,
};

static void parse_options(int argc, char **argv, lt_options *o)
{
	static const struct option longopts[] = {
		{"imbalance", required_argument, NULL, 'i'},
		{"profile", required_argument, NULL, OPT_PROFILE},
		{"split", required_argument, NULL, OPT_SPLIT},
		{"seed", required_argument, NULL, 's'},
		{"classes", required_argument, NULL, OPT_CLASSES},
		{"list", required_argument, NULL, OPT_LIST},
		{"root", required_argument, NULL, OPT_ROOT},
		{"many-above", required_argument, NULL, OPT_MANY},
		{"few-max", required_argument, NULL, OPT_FEW},
		{"max-per-class", required_argument, NULL, OPT_MAXPC},
		{"holdout", required_argument, NULL, OPT_HOLDOUT},
		{"holdout-out", required_argument, NULL, OPT_HOLDOUT_OUT},
		{"train-samples", required_argument, NULL, OPT_TRAIN_SAMPLES},
		{"pack", required_argument, NULL, OPT_PACK},
		{"pack-layout", required_argument, NULL, OPT_PACK_LAYOUT},
		{"check", no_argument, NULL, OPT_CHECK},
		{"skip-bad", no_argument, NULL, OPT_SKIP_BAD},
		{"cache-dir", required_argument, NULL, OPT_CACHE_DIR},
		{"output", required_argument, NULL, 'o'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	static const char *const profiles[] = {"exp", "step", NULL};
	static const char *const splits[] = {"train", "test", "val", NULL};
	static const char *const layouts[] = {"wds", "folder", NULL};
	memset(o, 0, sizeof *o);
	o->split = "train";
	o->imbalance = 100;
	o->many_above = 100;
	o->few_max = 20;
	o->argc = argc;
	o->argv = argv;
	int layout_given = 0, c;
	while ((c = getopt_long(argc, argv, ":i:s:o:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o->imbalance = opt_double("--imbalance", optarg, 1, 1e9);
			o->imbalance_given = 1;
			break;
		case OPT_PROFILE:
			o->profile = (lt_profile)opt_choice("--profile", optarg, profiles);
			o->profile_given = 1;
			break;
		case OPT_SPLIT:
			o->split = splits[opt_choice("--split", optarg, splits)];
			o->split_given = 1;
			break;
		case 's': o->seed = opt_u64("--seed", optarg, 0, UINT64_MAX); break;
		case OPT_CLASSES: o->classes = optarg; break;
		case OPT_LIST: o->list = optarg; break;
		case OPT_ROOT: o->root = optarg; break;
		case OPT_MANY: o->many_above = opt_u64("--many-above", optarg, 0, 1000000000); break;
		case OPT_FEW: o->few_max = opt_u64("--few-max", optarg, 0, 1000000000); break;
		case OPT_MAXPC: o->max_per_class = opt_u64("--max-per-class", optarg, 1, 1000000000); break;
		case OPT_HOLDOUT:
			o->holdout = opt_double_gt("--holdout", optarg, 0, 1e9);
			if (o->holdout >= 1 && o->holdout != floor(o->holdout))
				opt_usage_error("option --holdout: '%s' is neither a whole number of samples nor a "
						"fraction below 1",
						optarg);
			break;
		case OPT_HOLDOUT_OUT: o->holdout_out = optarg; break;
		case OPT_TRAIN_SAMPLES: o->train_samples = optarg; break;
		case OPT_PACK: o->pack = optarg; break;
		case OPT_PACK_LAYOUT:
			o->pack_layout = opt_choice("--pack-layout", optarg, layouts);
			layout_given = 1;
			break;
		case OPT_CHECK: o->check = 1; break;
		case OPT_SKIP_BAD: o->skip_bad = 1; break;
		case OPT_CACHE_DIR: o->cache_dir = optarg; break;
		case 'o': o->output = optarg; break;
		case 'v': o->verbose = 1; break;
		case 'h': opt_help(usage);
		case 'V': opt_version();
		default: opt_bad_option(c, argv);
		}
	}
	int operands = argc - optind;
	if (o->list) {
		if (operands)
			opt_usage_error("with --list the list is the source: give the images with --root, not '%s'",
					argv[optind]);
		o->source = o->list;
		if (o->imbalance_given || o->profile_given)
			opt_usage_error("split lists are fixed subsets: --imbalance and --profile do not apply");
	} else {
		if (operands == 0)
			opt_usage_error("no SOURCE given");
		if (operands > 1)
			opt_usage_error("one SOURCE expected, not %d", operands);
		o->source = argv[optind];
		if (o->root)
			opt_usage_error("--root goes with --list");
	}
	if (!o->holdout != !o->holdout_out)
		opt_usage_error("--holdout and --holdout-out go together");
	if (o->holdout && strcmp(o->split, "train") != 0)
		opt_usage_error("--holdout carves validation samples out of the train split, not %s", o->split);
	if (o->few_max >= o->many_above)
		opt_usage_error("--few-max (%llu) must be below --many-above (%llu)",
				(unsigned long long)o->few_max, (unsigned long long)o->many_above);
	if (o->list && (o->pack || o->check) && !o->root)
		opt_usage_error("--%s needs the images: give --root", o->pack ? "pack" : "check");
	if (o->pack && strcmp(o->pack, "-") == 0)
		opt_usage_error("--pack needs a file name (the pack is read back)");
	if (layout_given && !o->pack)
		opt_usage_error("--pack-layout goes with --pack");
	if (o->profile_given && strcmp(o->split, "train") != 0 && !o->imbalance_given)
		opt_usage_error("--profile with --split %s needs --imbalance (they name the training subset "
				"whose counts give the groups)",
				o->split);
}

static void report_skips(const dataset *ds, const selection *sel, size_t check_failed)
{
	if (sel->skipped == 0)
		return;
	size_t at_open = dataset_bad_count(ds);
	warn("skipped %zu bad sample%s (%zu when reading the index%s%s, %zu failing --check)", sel->skipped,
	     sel->skipped == 1 ? "" : "s", at_open, dataset_bad_messages(ds) ? "; first: " : "",
	     dataset_bad_messages(ds) ? dataset_bad_message(ds, 0) : "", check_failed);
}

static void summary(const dataset *ds, const lt_options *o, const selection *sel)
{
	size_t mx = 0, mn = (size_t)-1;
	int many = 0, medium = 0, few = 0;
	for (int k = 0; k < sel->num_classes; k++) {
		size_t c = sel->counts_main[k];
		mx = c > mx ? c : mx;
		mn = c < mn ? c : mn;
		const char *g = lt_group(sel->group_counts[k], (size_t)o->many_above, (size_t)o->few_max);
		many += g[0] == 'm' && g[1] == 'a';
		medium += g[0] == 'm' && g[1] == 'e';
		few += g[0] == 'f';
	}
	fprintf(stderr,
		"%s: %s (%s, %s split): %zu samples of %d classes (%zu .. %zu a class)%s; groups: %d many, "
		"%d medium, %d few",
		lfm_progname(), o->source, dataset_kind_name(dataset_get_kind(ds)), dataset_split(ds),
		sel->n_main, sel->num_classes, mx, mn, sel->profile_applied ? "" : ", passed through", many,
		medium, few);
	if (sel->n_hold)
		fprintf(stderr, "; %zu held out", sel->n_hold);
	fputc('\n', stderr);
}

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	lt_options o;
	parse_options(argc, argv, &o);
	lfm_input(o.list ? "--list" : "the dataset", o.source);
	lfm_input("--classes", o.classes);
	lfm_input("--train-samples", o.train_samples);
	lfm_output("-o", o.output ? o.output : "-");
	lfm_output("--holdout-out", o.holdout_out);
	lfm_output("--pack", o.pack);

	dataset_options dopt = {
		.split = o.split,
		.kind = o.list ? DATASET_SPLIT_LIST : DATASET_AUTO,
		.root = o.root,
		.classes_file = o.classes,
		.skip_bad = o.skip_bad,
		.index_only = !(o.check || o.pack),
		.cache_dir = o.cache_dir,
	};
	dataset *ds = dataset_open_or_die(o.source, &dopt);
	if (dataset_ignored_count(ds))
		warn("%s: ignored %zu file%s in the class folders that %s not JPEG images (e.g. %s)", o.source,
		     dataset_ignored_count(ds), dataset_ignored_count(ds) == 1 ? "" : "s",
		     dataset_ignored_count(ds) == 1 ? "is" : "are", dataset_ignored_example(ds));
	if (!o.list && dataset_get_kind(ds) == DATASET_SPLIT_LIST && (o.pack || o.check || o.imbalance_given))
		opt_usage_error("%s is a split list: give it with --list (and the images with --root)", o.source);

	size_t check_failed = 0;
	uint8_t *failed = o.check ? check_samples(ds, &o, &check_failed) : NULL;
	selection sel;
	select_samples(ds, &o, failed, &sel);
	free(failed);
	if (sel.n_main == 0)
		die(LFM_EXIT_DATA, "%s: no samples to write", o.source);

	pack_result pr = {0};
	stream_part main_part = {.role = o.holdout ? "train" : NULL, .described = ds,
				 .origin_idx = sel.main_idx, .n = sel.n_main, .counts = sel.counts_main};
	stream_part hold_part = {.role = "holdout", .described = ds, .origin_idx = sel.hold_idx,
				 .n = sel.n_hold, .counts = sel.counts_hold};
	if (o.pack) {
		pack_write(ds, &o, &sel, &pr);
		main_part.described = pr.main_ds;
		main_part.origin = ds;
		main_part.index = pr.main_index;
		main_part.key = pr.main_key;
		hold_part.described = pr.hold_ds;
		hold_part.origin = ds;
		hold_part.index = pr.hold_index;
		hold_part.key = pr.hold_key;
	}
	write_samples_stream(o.output, &o, &sel, ds, &main_part);
	if (o.holdout_out)
		write_samples_stream(o.holdout_out, &o, &sel, ds, &hold_part);
	if (o.verbose)
		summary(ds, &o, &sel);
	report_skips(ds, &sel, check_failed);
	if (o.pack)
		pack_result_free(&pr);
	selection_free(&sel);
	dataset_close(ds);
	return LFM_EXIT_OK;
}
