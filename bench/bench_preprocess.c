/* bench_preprocess — JPEG decode + CLIP preprocessing throughput, the work a training step's data
 * loader does per image.
 *
 *   build/bench/bench_preprocess [ARCHIVE] [-n COUNT] [-s SIZE] [-t THREADS] [-b BATCH] [-m SECONDS] [-a]
 *
 * Reads the first COUNT (default 4000) .jpg members of ARCHIVE (default
 * ../shared/data/cifar10-jpeg.tar.gz) into memory with libarchive, then times decode + preprocessing at
 * SIZE (default 224) into batches of BATCH images (default 64), first in one thread, then with the
 * thread pool (THREADS participants, default one per online CPU). Prints one table row per mode:
 * images/s (wall clock) and images per CPU second of the process (the per-core rate, meaningful also on
 * a machine shared with other work). The one-thread mode uses the inner loops the library picks for
 * this CPU; -a times every set the CPU has (avx512, avx2, the portable ones) one after another.
 * Each mode runs for at least SECONDS (default 3). Compare with bench/bench_preprocess_pil.py on the same machine.
 * Not a test: it prints numbers, it passes or fails nothing. */
#include <archive.h>
#include <archive_entry.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/options.h"
#include "base/thread_pool.h"
#include "data/image.h"

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }
/* CPU time of the whole process (every thread): images per CPU second is the per-core rate even when
 * other processes share the machine. */
static double cpu_now(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

struct timing {
	long images;
	double wall, cpu;
};

struct corpus {
	int count;
	void **data;
	size_t *len;
	size_t bytes;
};

static void read_corpus(const char *path, int want, struct corpus *c)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK)
		die(LFM_EXIT_IO, "%s: %s", path, archive_error_string(a));
	c->data = xmalloc_array((size_t)want, sizeof *c->data);
	c->len = xmalloc_array((size_t)want, sizeof *c->len);
	struct archive_entry *e;
	int rc;
	while (c->count < want && (rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		size_t nl = name ? strlen(name) : 0;
		if (archive_entry_filetype(e) != AE_IFREG || nl < 4 || strcmp(name + nl - 4, ".jpg") != 0)
			continue;
		int64_t size = archive_entry_size(e);
		if (size <= 0 || size > (1 << 26))
			die(LFM_EXIT_DATA, "%s: %s: unexpected size %lld", path, name, (long long)size);
		void *buf = xmalloc((size_t)size);
		la_ssize_t got = archive_read_data(a, buf, (size_t)size);
		if (got != size)
			die(LFM_EXIT_DATA, "%s: %s: %s", path, name, got < 0 ? archive_error_string(a) : "truncated");
		c->data[c->count] = buf;
		c->len[c->count] = (size_t)size;
		c->bytes += (size_t)size;
		c->count++;
	}
	if (c->count < want && rc != ARCHIVE_EOF)
		die(LFM_EXIT_DATA, "%s: %s", path, archive_error_string(a));
	archive_read_free(a);
	if (c->count == 0)
		die(LFM_EXIT_DATA, "%s: no .jpg members", path);
}

/* One thread: a decoder and a preprocessor, images written one after another into the batch buffer. */
static struct timing run_single(const struct corpus *c, int n, int batch, float *out, double min_seconds,
			       const char *kernels)
{
	jpeg_decoder *d = jpeg_decoder_new();
	if (!d)
		die(LFM_EXIT_IO, "cannot create a JPEG decoder");
	clip_prep *p = clip_prep_new(n);
	if (kernels && clip_prep_set_kernels(p, kernels) != 0)
		die(LFM_EXIT_USAGE, "inner loops %s: not available on this CPU", kernels);
	size_t size = (size_t)3 * n * n;
	long images = 0;
	double t0 = now(), c0 = cpu_now(), t;
	do {
		for (int i = 0; i < c->count; i++) {
			rgb_image img;
			char err[256];
			if (jpeg_decoder_decode(d, c->data[i], c->len[i], &img, err, sizeof err) != 0)
				die(LFM_EXIT_DATA, "image %d: %s", i, err);
			clip_prep_run(p, &img, i & 1, out + (size_t)(i % batch) * size);
			image_free(&img);
		}
		images += c->count;
		t = now() - t0;
	} while (t < min_seconds);
	struct timing r = {images, t, cpu_now() - c0};
	clip_prep_free(p);
	jpeg_decoder_free(d);
	return r;
}

static struct timing run_pool(thread_pool *pool, const struct corpus *c, int n, int batch, float *out,
			      double min_seconds)
{
	uint8_t *flips = xmalloc((size_t)batch);
	for (int i = 0; i < batch; i++)
		flips[i] = (uint8_t)(i & 1);
	long images = 0;
	double t0 = now(), c0 = cpu_now(), t;
	do {
		for (int i = 0; i < c->count; i += batch) {
			int m = c->count - i < batch ? c->count - i : batch;
			char err[256];
			if (clip_preprocess_jpeg_batch(pool, (const void *const *)(c->data + i), c->len + i, m, n,
						       flips, out, NULL, err, sizeof err) != 0)
				die(LFM_EXIT_DATA, "batch at %d: %s", i, err);
			images += m;
		}
		t = now() - t0;
	} while (t < min_seconds);
	struct timing r = {images, t, cpu_now() - c0};
	free(flips);
	return r;
}

int main(int argc, char **argv)
{
	lfm_init(argv[0]);
	const char *archive = "../shared/data/cifar10-jpeg.tar.gz";
	int count = 4000, n = 224, threads = 0, batch = 64;
	double min_seconds = 3.0;
	int ch, all_kernels = 0;
	while ((ch = getopt(argc, argv, "n:s:t:b:m:ah")) != -1) {
		switch (ch) {
		case 'n': count = opt_int("-n", optarg, 1, 1000000); break;
		case 's': n = opt_int("-s", optarg, 1, CLIP_MAX_SIZE); break;
		case 't': threads = opt_int("-t", optarg, 0, 1024); break;
		case 'b': batch = opt_int("-b", optarg, 1, 4096); break;
		case 'm': min_seconds = opt_double("-m", optarg, 0, 3600); break;
		case 'a': all_kernels = 1; break;
		default:
			fprintf(stderr, "usage: %s [ARCHIVE] [-n COUNT] [-s SIZE] [-t THREADS] [-b BATCH] [-m SECONDS] [-a]\n",
				argv[0]);
			return ch == 'h' ? 0 : LFM_EXIT_USAGE;
		}
	}
	if (optind < argc)
		archive = argv[optind];
	if (access(archive, R_OK) != 0)
		die(LFM_EXIT_IO, "%s:", archive);

	struct corpus c = {0};
	double tr = now();
	read_corpus(archive, count, &c);
	tr = now() - tr;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	clip_prep *probe = clip_prep_new(n);
	char kernels[32];
	snprintf(kernels, sizeof kernels, "%s", clip_prep_kernels(probe));
	clip_prep_free(probe);
	thread_pool *pool = thread_pool_new(threads);
	int workers = thread_pool_size(pool);
	float *out = xmalloc_array((size_t)batch * 3 * n * n, sizeof(float));
	memset(out, 0, (size_t)batch * 3 * n * n * sizeof(float)); /* no first-touch page faults in the timing */

	printf("bench_preprocess: %d JPEGs (%.1f KB each on average) from %s read in %.2f s; size %d, batch %d, "
	       "%ld online CPUs\n",
	       c.count, c.bytes / 1024.0 / c.count, archive, tr, n, batch, cpus);
	printf("%-40s %8s %12s %14s\n", "mode", "threads", "images/s", "images/cpu-s");
	/* one thread with each set of inner loops this CPU has, the best first (what the pool uses) */
	static const char *sets[] = {"avx512", "avx2", "generic"};
	struct timing t;
	for (int k = 0; k < 3; k++) {
		clip_prep *q = clip_prep_new(n);
		int available = clip_prep_set_kernels(q, sets[k]) == 0;
		clip_prep_free(q);
		if (!available || (!all_kernels && strcmp(sets[k], kernels) != 0))
			continue;
		t = run_single(&c, n, batch, out, min_seconds, sets[k]);
		char mode[64];
		snprintf(mode, sizeof mode, "decode+preprocess, one thread, %s", sets[k]);
		printf("%-40s %8d %12.0f %14.0f\n", mode, 1, t.images / t.wall, t.images / t.cpu);
		fflush(stdout);
	}
	t = run_pool(pool, &c, n, batch, out, min_seconds);
	char mode[64];
	snprintf(mode, sizeof mode, "decode+preprocess, thread pool, %s", kernels);
	printf("%-40s %8d %12.0f %14.0f\n", mode, workers, t.images / t.wall, t.images / t.cpu);
	printf("(images/s: wall clock; images/cpu-s: per CPU second of this process, i.e. per core busy)\n");
	free(out);
	thread_pool_free(pool);
	for (int i = 0; i < c.count; i++)
		free(c.data[i]);
	free(c.data);
	free(c.len);
	return 0;
}
