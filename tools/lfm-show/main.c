/* lfm-show — inspect anything the lfm tools read or write: a msgpack stream as JSON lines, a .npy array
 * as dtype, shape and statistics, a safetensors file as its tensor table and metadata. The kind is
 * decided from the content, never from the file name, so pipes work as well as files. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/errors.h"
#include "base/options.h"
#include "show.h"

static const char usage[] =
    "usage: lfm-show [--head N] [--values] [--stats] [--json] [FILE|-]...\n"
    "\n"
    "Shows each FILE (standard input when none is given or for '-'), whose kind is recognised from its\n"
    "first bytes:\n"
    "  msgpack stream  (lfm.samples, lfm.pairs, lfm.plan, ...)  the header, then one record per line,\n"
    "                  each as one JSON object; a stream written as JSON lines is shown the same way\n"
    "  .npy array      dtype, shape, count, min, max, mean, std, NaN and Inf counts\n"
    "  .safetensors    the tensor table (name, dtype, shape, byte range in the data section) and\n"
    "                  __metadata__, after validating the whole file\n"
    "\n"
    "  -n, --head N   at most N records of a stream (0: the header only), or N rows with --values\n"
    "  -v, --values   .npy: also print the values, one JSON array per row of the last axis\n"
    "  -s, --stats    .safetensors: also per-tensor min, max, mean, std, NaN and Inf counts\n"
    "  -j, --json     .npy and .safetensors: one JSON object per file instead of text\n"
    "  -h, --help     this help\n"
    "  -V, --version  the version\n"
    "\n"
    "With several files, each file's output is preceded by a line '==> FILE <==' (not with --json).\n"
    "Exit status: 0 ok, 1 bad input data, 2 usage, 3 I/O error (the highest over all files).\n"
    "See lfm-show(1), lfm-stream(5), lfm-npy(5), lfm-checkpoint(5).\n";

enum kind { KIND_UNKNOWN, KIND_EMPTY, KIND_NPY, KIND_SAFETENSORS, KIND_STREAM, KIND_JSONL };

static int is_map_marker(unsigned char b)
{
	return (b & 0xf0) == 0x80 || b == 0xde || b == 0xdf;
}

/* npy: the magic "\x93NUMPY" (or as much of it as a very short file holds, or just its first byte).
 * safetensors: an 8-byte little-endian header length and then '{'. A msgpack map or a JSON line could put
 * '{' at byte 8 too, but then bytes 4..7 would be text, whereas any loadable safetensors header is shorter
 * than 2^32 bytes; so when the first byte could start a stream, bytes 4..7 must be zero. */
static enum kind detect(const input *in)
{
	const unsigned char *p = in->prefix;
	size_t n = in->prefix_len;
	static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
	if (n == 0)
		return KIND_EMPTY;
	if (memcmp(p, magic, n < 6 ? n : 6) == 0)
		return KIND_NPY;
	int could_be_stream = is_map_marker(p[0]) || p[0] == '{';
	if (n >= 9 && p[8] == '{' && (!could_be_stream || (p[4] | p[5] | p[6] | p[7]) == 0))
		return KIND_SAFETENSORS;
	/* 0x93 cannot start a stream (it is a msgpack array): a damaged magic gets npy's own message. */
	if (p[0] == 0x93)
		return KIND_NPY;
	if (is_map_marker(p[0]))
		return KIND_STREAM;
	if (p[0] == '{')
		return KIND_JSONL;
	return KIND_UNKNOWN;
}

static int show_one(const char *path, const show_options *o, int banner)
{
	input in;
	char err[1024];
	int rc = input_open(&in, path, err, sizeof err);
	if (rc != 0) {
		warn("%s", err);
		input_close(&in);
		return rc;
	}
	if (banner)
		printf("==> %s <==\n", in.name);
	switch (detect(&in)) {
	case KIND_EMPTY:
		warn("%s: empty input: not a .npy file, a safetensors file or a msgpack stream", in.name);
		rc = LFM_EXIT_DATA;
		break;
	case KIND_NPY: rc = show_npy(&in, o, stdout); break;
	case KIND_SAFETENSORS: rc = show_safetensors(&in, o, stdout); break;
	case KIND_STREAM: rc = show_stream(&in, o, stdout); break;
	case KIND_JSONL: rc = show_jsonl(&in, o, stdout); break;
	default: {
		char hex[3 * 8 + 1] = "";
		size_t used = 0;
		for (size_t i = 0; i < in.prefix_len && i < 8; i++)
			used += (size_t)snprintf(hex + used, sizeof hex - used, "%s%02x", i ? " " : "", in.prefix[i]);
		warn("%s: not a .npy file (\\x93NUMPY), a safetensors file (8-byte length, then '{'), a msgpack "
		     "stream (a header map) or a JSON-lines stream ('{'); it starts with bytes %s",
		     in.name, hex);
		rc = LFM_EXIT_DATA;
	}
	}
	input_close(&in);
	if (ferror(stdout) || fflush(stdout) != 0)
		xfclose(stdout, "stdout"); /* dies with LFM_EXIT_IO: a closed pipe or a full disk */
	return rc;
}

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	static const struct option longopts[] = {
	    {"head", required_argument, 0, 'n'}, {"values", no_argument, 0, 'v'},
	    {"stats", no_argument, 0, 's'},      {"json", no_argument, 0, 'j'},
	    {"help", no_argument, 0, 'h'},       {"version", no_argument, 0, 'V'},
	    {0, 0, 0, 0}};
	show_options o = {.head = -1};
	int c;
	while ((c = getopt_long(argc, argv, ":n:vsjhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': o.head = opt_int("--head", optarg, 0, (long long)1 << 62); break;
		case 'v': o.values = 1; break;
		case 's': o.stats = 1; break;
		case 'j': o.json = 1; break;
		case 'h': opt_help(usage);
		case 'V': opt_version();
		default: opt_bad_option(c, argv);
		}
	}
	int nfiles = argc - optind, dashes = 0;
	for (int i = optind; i < argc; i++)
		dashes += strcmp(argv[i], "-") == 0;
	if (dashes > 1)
		opt_usage_error("'-' (standard input) given %d times; it can be read only once", dashes);
	int status = 0;
	for (int i = 0; i < (nfiles ? nfiles : 1); i++) {
		const char *path = nfiles ? argv[optind + i] : "-";
		int rc = show_one(path, &o, nfiles > 1 && !o.json);
		if (rc > status)
			status = rc;
	}
	xfclose(stdout, "stdout");
	return status;
}
