/* test_dataset.c — the dataset readers (libcommon/dataset*.c) and the long-tailed subset arithmetic.
 *
 * Synthetic sources are made here with libarchive's writer, in the published layouts: CIFAR-10 and
 * CIFAR-100 binary tarballs at full size (50,000 training records, 5,000 / 500 per class: Table 7's sizes
 * depend on those counts) with mostly zero pixels so they compress to almost nothing, small image folders
 * of real JPEGs (encoded with libjpeg-turbo), WebDataset tars and split lists. With ../shared present the
 * real CIFAR-10 JPEG archive and the Places-LT list are checked too. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "base/errors.h"
#include "data/dataset.h"
#include "data/dataset_internal.h"
#include "data/dataset_lt.h"
#include "data/image.h"
#include "../test.h"

static const char *const CIFAR10_NAMES[10] = {"airplane", "automobile", "bird", "cat", "deer",
					      "dog", "frog", "horse", "ship", "truck"};

/* ---- writing archives ------------------------------------------------------------------------- */

typedef struct writer {
	struct archive *a;
} writer;

static void w_open(writer *w, const char *path, const char *filter)
{
	w->a = archive_write_new();
	if (strcmp(filter, "gz") == 0) {
		archive_write_add_filter_gzip(w->a);
		archive_write_set_filter_option(w->a, "gzip", "compression-level", "1");
	} else if (strcmp(filter, "zst") == 0) {
		archive_write_add_filter_zstd(w->a);
	}
	if (strcmp(filter, "zip") == 0)
		archive_write_set_format_zip(w->a);
	else
		archive_write_set_format_pax_restricted(w->a);
	if (archive_write_open_filename(w->a, path) != ARCHIVE_OK) {
		fprintf(stderr, "cannot write %s: %s\n", path, archive_error_string(w->a));
		exit(3);
	}
}

static void w_header(writer *w, const char *name, size_t size)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)size);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_write_header(w->a, e);
	archive_entry_free(e);
}

static void w_data(writer *w, const void *d, size_t n) { archive_write_data(w->a, d, n); }

static void w_file(writer *w, const char *name, const void *d, size_t n)
{
	w_header(w, name, n);
	w_data(w, d, n);
}

static void w_close(writer *w)
{
	archive_write_close(w->a);
	archive_write_free(w->a);
}

static void mkdirs(const char *path)
{
	char buf[1024];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			mkdir(buf, 0755);
			*p = '/';
		}
	mkdir(buf, 0755);
}

/* ---- CIFAR records ---------------------------------------------------------------------------------- */

/* Record j of a split: its label(s) and a pixel pattern that identifies it. */
/* not periodic across 10,000-record batches, so a batch read out of order shows */
static int label10(size_t j) { return (int)((j + j / 10000) % 10); }
static int fine100(size_t j) { return (int)(j % 100); }

static void cifar_record(uint8_t *rec, size_t j, int cifar100)
{
	int lb = cifar100 ? 2 : 1;
	memset(rec, 0, (size_t)lb + 3072);
	if (cifar100) {
		rec[0] = (uint8_t)(fine100(j) / 5);
		rec[1] = (uint8_t)fine100(j);
	} else {
		rec[0] = (uint8_t)label10(j);
	}
	rec[lb] = (uint8_t)(j & 255);
	rec[lb + 1] = (uint8_t)(j >> 8);
	rec[lb + 1024] = 0x5a; /* first green byte */
	rec[lb + 3071] = (uint8_t)(j * 13);
}

/* The published CIFAR-10 layout: cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin, meta. Batches
 * of per_batch records (10,000 as published); the batches are written out of order to check that the
 * index follows their names, not the archive order. */
static void make_cifar10_tarball(const char *path, const char *filter, size_t per_batch)
{
	writer w;
	w_open(&w, path, filter);
	const char *meta = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
	w_file(&w, "cifar-10-batches-bin/batches.meta.txt", meta, strlen(meta));
	w_file(&w, "cifar-10-batches-bin/readme.html", "<p>", 3);
	static const int order[6] = {3, 1, 5, 2, 4, 0}; /* 0 = test_batch */
	uint8_t *buf = malloc(per_batch * 3073);
	for (int t = 0; t < 6; t++) {
		int b = order[t];
		char name[64];
		if (b)
			snprintf(name, sizeof name, "cifar-10-batches-bin/data_batch_%d.bin", b);
		else
			snprintf(name, sizeof name, "cifar-10-batches-bin/test_batch.bin");
		for (size_t r = 0; r < per_batch; r++)
			cifar_record(buf + r * 3073, b ? (size_t)(b - 1) * per_batch + r : r, 0);
		w_file(&w, name, buf, per_batch * 3073);
	}
	free(buf);
	w_close(&w);
}

static void make_cifar100_tarball(const char *path, size_t train_n, size_t test_n)
{
	writer w;
	w_open(&w, path, "gz");
	char names[2000] = "";
	for (int k = 0; k < 100; k++) {
		char line[32];
		snprintf(line, sizeof line, "class_%02d\n", k);
		strcat(names, line);
	}
	w_file(&w, "cifar-100-binary/fine_label_names.txt", names, strlen(names));
	w_file(&w, "cifar-100-binary/coarse_label_names.txt", "a\n", 2);
	for (int t = 0; t < 2; t++) {
		size_t n = t ? train_n : test_n;
		uint8_t *buf = malloc(n * 3074);
		for (size_t r = 0; r < n; r++)
			cifar_record(buf + r * 3074, r, 1);
		w_file(&w, t ? "cifar-100-binary/train.bin" : "cifar-100-binary/test.bin", buf, n * 3074);
		free(buf);
	}
	w_close(&w);
}

static dataset *open_ds(const char *src, const char *split, int index_only, char *err, size_t errsz)
{
	dataset_options o = {.split = split, .index_only = index_only};
	return dataset_open(src, &o, err, errsz);
}

static size_t subset_size(const dataset *ds, double gamma, lt_profile p)
{
	int C = dataset_num_classes(ds);
	size_t n_max = 0, total = 0, target[100];
	for (int k = 0; k < C; k++)
		if (dataset_class_count(ds, k) > n_max)
			n_max = dataset_class_count(ds, k);
	lt_target_sizes(p, gamma, n_max, C, target);
	for (int k = 0; k < C; k++)
		total += target[k] < dataset_class_count(ds, k) ? target[k] : dataset_class_count(ds, k);
	return total;
}

/* ---- SHA-256, the parsers ----------------------------------------------------------------------- */

static void test_sha256_known_answers(void)
{
	static const struct {
		const char *in, *hex;
	} v[] = {
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		source_hash c;
		uint8_t d[32];
		char hex[80];
		source_hash_init(&c);
		/* byte by byte for the long one: the block boundary logic */
		if (i == 2)
			for (const char *p = v[i].in; *p; p++)
				source_hash_update(&c, p, 1);
		else
			source_hash_update(&c, v[i].in, strlen(v[i].in));
		source_hash_final(&c, d);
		source_hash_hex(d, "", hex);
		T_ASSERTF(strcmp(hex, v[i].hex) == 0, "'%s': %s", v[i].in, hex);
	}
	/* a million 'a' in uneven pieces */
	source_hash c;
	source_hash_init(&c);
	char a[997];
	memset(a, 'a', sizeof a);
	size_t left = 1000000;
	while (left) {
		size_t n = left < sizeof a ? left : sizeof a;
		source_hash_update(&c, a, n);
		left -= n;
	}
	uint8_t d[32];
	char hex[80];
	source_hash_final(&c, d);
	source_hash_hex(d, "sha256:", hex);
	T_ASSERTF(strcmp(hex, "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0,
		  "%s", hex);
}

/* The one class-name reader: what it takes (CRLF, trimmed blanks, blank lines at the end) and what it
 * refuses, each with the line. */
static void test_class_names_reader(void)
{
	char **names, err[256];
	int count;
	const char ok[] = "cat\r\n  dog \t\r\nsea\xc3\xa9\n\n \n";
	T_ASSERT(class_names_parse(ok, sizeof ok - 1, "ok.txt", &names, &count, err, sizeof err) == 0);
	T_ASSERT(count == 3 && strcmp(names[0], "cat") == 0 && strcmp(names[1], "dog") == 0 &&
		 strcmp(names[2], "sea\xc3\xa9") == 0);
	class_names_free(names, count);
	static const struct {
		const char *text;
		size_t len;
		const char *want;
	} bad[] = {
		{"cat\nd\377g\n", 8, "x.txt: line 2: invalid UTF-8 at byte 1 of the name"},
		{"cat\n\xc0\x80\n", 7, "line 2: invalid UTF-8"},       /* overlong NUL */
		{"cat\n\xed\xa0\x80\n", 8, "line 2: invalid UTF-8"}, /* a surrogate */
		{"cat\ndo\0g\n", 9, "x.txt: line 2: NUL byte in a class name"},
		{"cat\ndog\ncat\n", 12, "x.txt: line 3: class 'cat' repeats line 1"},
		{"cat\n\n\ndog\n", 10, "x.txt: line 2: empty class name"},
		{"\n\n", 2, "x.txt: no class names"},
		{"", 0, "x.txt: no class names"},
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		int rc = class_names_parse(bad[k].text, bad[k].len, "x.txt", &names, &count, err, sizeof err);
		T_ASSERTF(rc == LFM_EXIT_DATA && strstr(err, bad[k].want) && !names, "case %zu: %s", k, err);
	}
	/* the length cap */
	size_t n = CLASS_NAME_MAX + 1;
	char *longl = malloc(n + 1);
	memset(longl, 'x', n);
	longl[n] = '\n';
	T_ASSERT(class_names_parse(longl, n + 1, "x.txt", &names, &count, err, sizeof err) == LFM_EXIT_DATA);
	T_ASSERTF(strstr(err, "line 1: class name of 1025 bytes (at most 1024)"), "%s", err);
	T_ASSERT(class_names_parse(longl + 1, n, "x.txt", &names, &count, err, sizeof err) == 0 && count == 1);
	class_names_free(names, count);
	free(longl);
	/* names from elsewhere */
	char *dup[] = {"a", "b", "a"};
	T_ASSERT(class_names_check(dup, NULL, 3, "s.mp", err, sizeof err) == LFM_EXIT_DATA);
	T_ASSERTF(strstr(err, "s.mp: class 2 ('a') repeats class 0"), "%s", err);
	char *nul[] = {"a", "b\0c"};
	size_t lens[] = {1, 3};
	T_ASSERT(class_names_check(nul, lens, 2, "s.mp", err, sizeof err) == LFM_EXIT_DATA);
	T_ASSERTF(strstr(err, "s.mp: class 1: NUL byte"), "%s", err);
}

static void test_split_list_parser(void)
{
	const char *text = "train/a b/x.jpg 0\r\n\n  \ntrain/c/y.jpg\t2\nz.jpg 1";
	split_list l;
	char err[256];
	T_ASSERTF(split_list_parse(text, strlen(text), "l.txt", 0, 0, &l, err, sizeof err) == 0, "%s", err);
	T_ASSERT(l.n == 3 && l.max_label == 2);
	T_ASSERTF(strcmp(l.paths.buf + l.path_off[0], "train/a b/x.jpg") == 0, "'%s'", l.paths.buf + l.path_off[0]);
	T_ASSERT(l.label[0] == 0 && l.label[1] == 2 && l.label[2] == 1);
	T_ASSERT(strcmp(l.paths.buf + l.path_off[2], "z.jpg") == 0);
	split_list_free(&l);

	static const struct {
		const char *text, *msg;
		int classes;
	} bad[] = {
		{"a.jpg 0\nb.jpg 5\n", "line 2: label 5 is out of range 0..2", 3},
		{"a.jpg 0\nb.jpg\n", "line 2: no label", 0},
		{"a.jpg x1\n", "line 1: label 'x1' is not an integer", 0},
		{"a.jpg -1\n", "line 1: label '-1'", 0},
		{"/etc/passwd 0\n", "line 1: absolute path", 0},
		{"a/../../b.jpg 0\n", "line 1: path leaves the root", 0},
		{"a.jpg 99999999999\n", "line 1: label", 0},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = split_list_parse(bad[i].text, strlen(bad[i].text), "l.txt", bad[i].classes, 0, &l, err,
					  sizeof err);
		T_ASSERTF(rc == LFM_EXIT_DATA, "case %zu: rc %d", i, rc);
		T_ASSERTF(strstr(err, bad[i].msg) && strncmp(err, "l.txt: ", 7) == 0, "case %zu: '%s'", i, err);
	}
	/* skip_bad: a bad line keeps its index as a hole */
	const char *mixed = "a.jpg 0\nb.jpg 9\nc.jpg 1\n";
	T_ASSERT(split_list_parse(mixed, strlen(mixed), "l.txt", 2, 1, &l, err, sizeof err) == 0);
	T_ASSERT(l.n == 3 && l.label[1] == -1 && l.label[2] == 1 && l.bad == 1);
	T_ASSERTF(strstr(l.first_bad, "line 2: label 9 is out of range 0..1"), "%s", l.first_bad);
	split_list_free(&l);
}

static void test_cifar_parser_pieces_and_errors(void)
{
	size_t n = 7;
	uint8_t *buf = malloc(n * 3074);
	for (size_t r = 0; r < n; r++)
		cifar_record(buf + r * 3074, r, 1);
	char err[256];
	/* pieces of every size give the same records as one piece */
	size_t pieces[] = {1, 2, 3073, 3074, 3075, 5000, n * 3074};
	for (size_t t = 0; t < sizeof pieces / sizeof pieces[0]; t++) {
		cifar_parser p;
		cifar_parser_init(&p, "train.bin", 2, 100, 0, 1, 0);
		for (size_t off = 0; off < n * 3074; off += pieces[t]) {
			size_t k = n * 3074 - off < pieces[t] ? n * 3074 - off : pieces[t];
			T_ASSERT(cifar_parser_feed(&p, buf + off, k, err, sizeof err) == 0);
		}
		T_ASSERT(cifar_parser_finish(&p, err, sizeof err) == 0);
		T_ASSERTF(p.records == n, "piece %zu: %zu records", pieces[t], p.records);
		for (size_t r = 0; r < n; r++) {
			T_ASSERT(p.labels[r] == fine100(r));
			T_ASSERT(memcmp(p.pixels + r * 3072, buf + r * 3074 + 2, 3072) == 0);
		}
		cifar_parser_free(&p);
	}
	/* truncated: the message names the file and the record */
	cifar_parser p;
	cifar_parser_init(&p, "data_batch_2.bin", 1, 10, 0, 0, 0);
	uint8_t *b10 = calloc(3, 3073);
	T_ASSERT(cifar_parser_feed(&p, b10, 2 * 3073 + 100, err, sizeof err) == 0);
	T_ASSERT(cifar_parser_finish(&p, err, sizeof err) == LFM_EXIT_DATA);
	T_ASSERTF(strstr(err, "data_batch_2.bin: truncated") && strstr(err, "record 2"), "%s", err);
	cifar_parser_free(&p);
	/* label out of range */
	b10[3073] = 10;
	cifar_parser_init(&p, "data_batch_2.bin", 1, 10, 0, 0, 0);
	T_ASSERT(cifar_parser_feed(&p, b10, 2 * 3073, err, sizeof err) == LFM_EXIT_DATA);
	T_ASSERTF(strstr(err, "data_batch_2.bin: record 1: label 10 is out of range 0..9"), "%s", err);
	cifar_parser_free(&p);
	/* with skip_bad both become holes */
	cifar_parser_init(&p, "data_batch_2.bin", 1, 10, 1, 0, 0);
	T_ASSERT(cifar_parser_feed(&p, b10, 2 * 3073 + 5, err, sizeof err) == 0);
	T_ASSERT(cifar_parser_finish(&p, err, sizeof err) == 0);
	T_ASSERT(p.records == 3 && p.labels[0] == 0 && p.labels[1] == -1 && p.labels[2] == -1 && p.bad == 2);
	cifar_parser_free(&p);
	free(b10);
	free(buf);
}

static void test_lt_profile_sizes(void)
{
	/* Table 7 from the formula alone. */
	static const struct {
		int C;
		size_t n_max;
		double g;
		size_t total;
	} t7[] = {{10, 5000, 10, 20431},  {10, 5000, 50, 13996},  {10, 5000, 100, 12406},
		  {100, 500, 10, 19573}, {100, 500, 50, 12608}, {100, 500, 100, 10847}};
	for (size_t i = 0; i < 6; i++) {
		size_t out[100], total = 0;
		lt_target_sizes(LT_PROFILE_EXP, t7[i].g, t7[i].n_max, t7[i].C, out);
		for (int k = 0; k < t7[i].C; k++)
			total += out[k];
		T_ASSERTF(total == t7[i].total, "C=%d G=%g: %zu", t7[i].C, t7[i].g, total);
		T_ASSERT(out[0] == t7[i].n_max && out[t7[i].C - 1] == (size_t)((double)t7[i].n_max / t7[i].g));
	}
	size_t out[10];
	lt_target_sizes(LT_PROFILE_EXP, 100, 5000, 10, out);
	static const size_t expect[10] = {5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50};
	T_ASSERT(memcmp(out, expect, sizeof expect) == 0);
	lt_target_sizes(LT_PROFILE_STEP, 10, 5000, 10, out);
	for (int k = 0; k < 10; k++)
		T_ASSERTF(out[k] == (k < 5 ? 5000u : 500u), "step class %d: %zu", k, out[k]);
	size_t odd[4];
	lt_target_sizes(LT_PROFILE_STEP, 100, 500, 3, odd);
	T_ASSERT(odd[0] == 500 && odd[1] == 5 && odd[2] == 5);
	lt_target_sizes(LT_PROFILE_EXP, 1, 300, 4, odd); /* G = 1 keeps everything */
	T_ASSERT(odd[0] == 300 && odd[2] == 300 && odd[3] == 300);
	T_ASSERT(strcmp(lt_group(101, 100, 20), "many") == 0 && strcmp(lt_group(100, 100, 20), "medium") == 0 &&
		 strcmp(lt_group(21, 100, 20), "medium") == 0 && strcmp(lt_group(20, 100, 20), "few") == 0);
}

static void test_lt_choose_reproducible(void)
{
	size_t cand[1000], a[100], b[100], c[100];
	for (size_t i = 0; i < 1000; i++)
		cand[i] = 3 * i + 1;
	lt_choose(0, "lt-subset", 4, cand, 1000, 100, a);
	lt_choose(0, "lt-subset", 4, cand, 1000, 100, b);
	lt_choose(1, "lt-subset", 4, cand, 1000, 100, c);
	T_ASSERT(memcmp(a, b, sizeof a) == 0);
	T_ASSERT(memcmp(a, c, sizeof a) != 0);
	for (size_t j = 0; j < 100; j++) {
		T_ASSERT(a[j] % 3 == 1 && a[j] < 3000);
		T_ASSERT(j == 0 || a[j] > a[j - 1]); /* sorted, distinct */
	}
	lt_choose(0, "lt-subset", 5, cand, 1000, 100, c); /* another class: another stream */
	T_ASSERT(memcmp(a, c, sizeof a) != 0);
}

/* ---- CIFAR sources -------------------------------------------------------------------------------- */

static void test_cifar10_table7_from_tarball(void)
{
	const char *tgz = t_tmp_path("cifar-10-binary.tar.gz");
	make_cifar10_tarball(tgz, "gz", 10000);
	char err[512];
	dataset *ds = open_ds(tgz, "train", 1, err, sizeof err);
	T_ASSERTF(ds, "%s", err);
	T_ASSERT(dataset_get_kind(ds) == DATASET_CIFAR10 && dataset_count(ds) == 50000);
	T_ASSERT(dataset_num_classes(ds) == 10);
	for (int k = 0; k < 10; k++) {
		T_ASSERTF(strcmp(dataset_class_name(ds, k), CIFAR10_NAMES[k]) == 0, "%s", dataset_class_name(ds, k));
		T_ASSERTF(dataset_class_count(ds, k) == 5000, "class %d: %zu", k, dataset_class_count(ds, k));
	}
	/* index = position in data_batch_1..5 in order, whatever the archive order */
	for (size_t j = 0; j < 50000; j += 997)
		T_ASSERT(dataset_label(ds, j) == label10(j));
	T_ASSERTF(strcmp(dataset_key(ds, 10000), "data_batch_2/00000") == 0, "%s", dataset_key(ds, 10000));
	T_ASSERT(strcmp(dataset_key(ds, 49999), "data_batch_5/09999") == 0);
	T_ASSERT(dataset_find_key(ds, "data_batch_3/00017") == 20017);
	T_ASSERTF(subset_size(ds, 10, LT_PROFILE_EXP) == 20431, "%zu", subset_size(ds, 10, LT_PROFILE_EXP));
	T_ASSERT(subset_size(ds, 50, LT_PROFILE_EXP) == 13996);
	T_ASSERT(subset_size(ds, 100, LT_PROFILE_EXP) == 12406);
	/* identity: what sha256sum says, and the file size */
	struct stat st;
	stat(tgz, &st);
	T_ASSERT(dataset_source(ds)->size == (uint64_t)st.st_size);
	T_ASSERT(strncmp(dataset_source(ds)->hash, "sha256:", 7) == 0 && strlen(dataset_source(ds)->hash) == 71);
	dataset_sample s;
	T_ASSERT(dataset_read(ds, 5, &s, err, sizeof err) != 0 && strstr(err, "labels only"));
	dataset_close(ds);

	ds = open_ds(tgz, "test", 1, err, sizeof err);
	T_ASSERTF(ds && dataset_count(ds) == 10000, "%s", err);
	T_ASSERT(strcmp(dataset_key(ds, 3), "test_batch/00003") == 0);
	dataset_close(ds);
	ds = open_ds(tgz, "val", 1, err, sizeof err);
	T_ASSERTF(!ds && strstr(err, "no val"), "%s", err);
}

static void test_cifar100_table7_from_tarball(void)
{
	const char *tgz = t_tmp_path("cifar-100-binary.tar.gz");
	make_cifar100_tarball(tgz, 50000, 10000);
	char err[512];
	dataset *ds = open_ds(tgz, "train", 1, err, sizeof err);
	T_ASSERTF(ds, "%s", err);
	T_ASSERT(dataset_get_kind(ds) == DATASET_CIFAR100 && dataset_count(ds) == 50000);
	T_ASSERT(dataset_num_classes(ds) == 100 && strcmp(dataset_class_name(ds, 42), "class_42") == 0);
	for (int k = 0; k < 100; k++)
		T_ASSERT(dataset_class_count(ds, k) == 500);
	T_ASSERTF(subset_size(ds, 10, LT_PROFILE_EXP) == 19573, "%zu", subset_size(ds, 10, LT_PROFILE_EXP));
	T_ASSERT(subset_size(ds, 50, LT_PROFILE_EXP) == 12608);
	T_ASSERT(subset_size(ds, 100, LT_PROFILE_EXP) == 10847);
	T_ASSERT(strcmp(dataset_key(ds, 123), "train/00123") == 0);
	dataset_close(ds);
}

/* Small CIFAR-10 sets in every form give the same samples and pixels. */
static void test_cifar_forms_agree(void)
{
	const char *forms[3] = {t_tmp_path("small-c10.tar.gz"), t_tmp_path("small-c10.tar"), t_tmp_path("small-c10")};
	make_cifar10_tarball(forms[0], "gz", 30);
	make_cifar10_tarball(forms[1], "tar", 30);
	/* unpacked: dir/cifar-10-batches-bin/... */
	char dir[600];
	snprintf(dir, sizeof dir, "%s/cifar-10-batches-bin", forms[2]);
	mkdirs(dir);
	uint8_t rec[3073 * 30];
	for (int b = 0; b <= 5; b++) {
		for (size_t r = 0; r < 30; r++)
			cifar_record(rec + r * 3073, b ? (size_t)(b - 1) * 30 + r : r, 0);
		char p[700];
		if (b)
			snprintf(p, sizeof p, "%s/data_batch_%d.bin", dir, b);
		else
			snprintf(p, sizeof p, "%s/test_batch.bin", dir);
		t_write_file(p, rec, sizeof rec);
	}
	char p[700];
	snprintf(p, sizeof p, "%s/batches.meta.txt", dir);
	const char *meta = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n";
	t_write_file(p, meta, strlen(meta));
	char err[512];
	for (int f = 0; f < 3; f++) {
		dataset *ds = open_ds(forms[f], "train", 0, err, sizeof err);
		T_ASSERTF(ds, "%s: %s", forms[f], err);
		T_ASSERT(dataset_count(ds) == 150 && dataset_get_kind(ds) == DATASET_CIFAR10);
		if (f == 2)
			T_ASSERTF(strncmp(dataset_source(ds)->hash, "sha256-listing:", 15) == 0, "%s",
				  dataset_source(ds)->hash);
		for (size_t j = 0; j < 150; j++) {
			dataset_sample s;
			T_ASSERTF(dataset_read(ds, j, &s, err, sizeof err) == 0, "%s", err);
			uint8_t want[3073];
			cifar_record(want, j, 0);
			T_ASSERT(s.kind == DATASET_SAMPLE_CIFAR && s.size == 3072 && s.label == label10(j));
			T_ASSERTF(memcmp(s.data, want + 1, 3072) == 0, "form %d sample %zu", f, j);
			T_ASSERT(dataset_check_sample(ds, j, err, sizeof err) == 0);
			dataset_sample_free(&s);
		}
		rgb_image img;
		T_ASSERTF(dataset_load_rgb(ds, 31, &img, err, sizeof err) == 0, "%s", err);
		T_ASSERT(img.width == 32 && img.height == 32);
		T_ASSERT(img.rgb[0] == 31 && img.rgb[1] == 0x5a && img.rgb[3] == 0); /* R, G of pixel 0; R of 1 */
		image_free(&img);
		dataset_close(ds);
	}
}

static void test_cifar_bad_input(void)
{
	char err[512];
	/* a truncated batch file, in a directory */
	const char *dir = t_tmp_path("trunc-c10");
	mkdirs(dir);
	uint8_t rec[3073 * 3];
	for (size_t r = 0; r < 3; r++)
		cifar_record(rec + r * 3073, r, 0);
	char p[700];
	snprintf(p, sizeof p, "%s/data_batch_1.bin", dir);
	t_write_file(p, rec, sizeof rec - 10);
	snprintf(p, sizeof p, "%s/batches.meta.txt", dir);
	t_write_file(p, "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n", 20);
	dataset_options o = {0};
	int rc;
	dataset *ds;
	rc = dataset_try_open(&ds, dir, &o, err, sizeof err);
	T_ASSERTF(rc == LFM_EXIT_DATA && strstr(err, "data_batch_1.bin: truncated") && strstr(err, "record 2"),
		  "%d %s", rc, err);
	o.skip_bad = 1;
	rc = dataset_try_open(&ds, dir, &o, err, sizeof err);
	T_ASSERTF(rc == 0, "%s", err);
	T_ASSERT(dataset_count(ds) == 3 && dataset_label(ds, 2) == -1 && dataset_bad_count(ds) == 1);
	dataset_sample s;
	T_ASSERT(dataset_read(ds, 2, &s, err, sizeof err) == LFM_EXIT_DATA && strstr(err, "skipped"));
	dataset_close(ds);
	/* a gap in the batches */
	snprintf(p, sizeof p, "%s/data_batch_1.bin", dir);
	t_write_file(p, rec, 3073);
	snprintf(p, sizeof p, "%s/data_batch_3.bin", dir);
	t_write_file(p, rec, 3073);
	o.skip_bad = 0;
	rc = dataset_try_open(&ds, dir, &o, err, sizeof err);
	T_ASSERTF(rc == LFM_EXIT_DATA && strstr(err, "data_batch_2.bin is missing"), "%s", err);
	/* a wrong number of class names */
	unlink(t_tmp_path("trunc-c10/data_batch_3.bin"));
	snprintf(p, sizeof p, "%s/batches.meta.txt", dir);
	t_write_file(p, "a\nb\n", 4);
	rc = dataset_try_open(&ds, dir, &o, err, sizeof err);
	T_ASSERTF(rc == LFM_EXIT_DATA && strstr(err, "2 class names for CIFAR-10's 10 classes"), "%s", err);
	/* a truncated tarball */
	const char *tgz = t_tmp_path("small-c10.tar.gz");
	struct stat st;
	T_ASSERT(stat(tgz, &st) == 0);
	char *whole;
	size_t len;
	T_ASSERT(ds_read_whole_file(tgz, 1 << 30, &whole, &len, err, sizeof err) == 0);
	t_write_file(t_tmp_path("cut.tar.gz"), whole, len / 2);
	free(whole);
	rc = dataset_try_open(&ds, t_tmp_path("cut.tar.gz"), NULL, err, sizeof err);
	T_ASSERTF(rc == LFM_EXIT_DATA && strstr(err, "cut.tar.gz") && strstr(err, "truncated"), "%d %s", rc, err);
	/* missing source: I/O */
	rc = dataset_try_open(&ds, t_tmp_path("nonexistent.tar.gz"), NULL, err, sizeof err);
	T_ASSERTF(rc == LFM_EXIT_IO && strstr(err, "nonexistent.tar.gz: No such file"), "%s", err);
}

static void open_or_die_missing(void *arg) { dataset_open_or_die((const char *)arg, NULL); }

static void test_open_or_die_exit_code(void)
{
	char err[512];
	int st = t_expect_exit(open_or_die_missing, t_tmp_path("no-such-dir"), err, sizeof err);
	T_ASSERTF(st == LFM_EXIT_IO && strstr(err, "no-such-dir"), "status %d: %s", st, err);
}

/* ---- image folders, WebDataset, split lists ------------------------------------------------------ */

static uint8_t *jpeg_of(int seed, size_t *len)
{
	uint8_t rgb[8 * 8 * 3];
	for (int i = 0; i < 8 * 8 * 3; i++)
		rgb[i] = (uint8_t)(seed * 31 + i * 7);
	tjhandle tj = tjInitCompress();
	unsigned char *out = NULL;
	unsigned long n = 0;
	tjCompress2(tj, rgb, 8, 0, 8, TJPF_RGB, &out, &n, TJSAMP_444, 90, 0);
	tjDestroy(tj);
	uint8_t *copy = malloc(n);
	memcpy(copy, out, n);
	tjFree(out);
	*len = n;
	return copy;
}

/* Files of a small image folder: classes out of order, one top folder, a file to ignore. */
static const char *const FOLDER_FILES[] = {
	"top/train/zebra/b.jpg", "top/train/ant/2.jpg",  "top/train/ant/10.jpg", "top/train/zebra/a.JPG",
	"top/test/ant/t1.jpg",   "top/test/moth/t2.jpg", "top/train/ant/notes.txt", "top/train/ant/1.jpeg",
};
#define NFOLDER (sizeof FOLDER_FILES / sizeof FOLDER_FILES[0])

static void make_folder(const char *archive, const char *filter, const char *dir)
{
	writer w;
	if (archive)
		w_open(&w, archive, filter);
	for (size_t i = 0; i < NFOLDER; i++) {
		size_t n;
		uint8_t *j = jpeg_of((int)i, &n);
		if (archive) {
			w_file(&w, FOLDER_FILES[i], j, n);
		} else {
			char p[700];
			snprintf(p, sizeof p, "%s/%s", dir, FOLDER_FILES[i]);
			char d[700];
			snprintf(d, sizeof d, "%s", p);
			*strrchr(d, '/') = 0;
			mkdirs(d);
			t_write_file(p, j, n);
		}
		free(j);
	}
	if (archive)
		w_close(&w);
}

static void test_image_folder_forms(void)
{
	const char *srcs[5] = {t_tmp_path("folder.tar"), t_tmp_path("folder.tar.gz"), t_tmp_path("folder.zip"),
			       t_tmp_path("folder.tar.zst"), t_tmp_path("folder-dir")};
	make_folder(srcs[0], "tar", NULL);
	make_folder(srcs[1], "gz", NULL);
	make_folder(srcs[2], "zip", NULL);
	make_folder(srcs[3], "zst", NULL);
	mkdirs(srcs[4]);
	make_folder(NULL, NULL, srcs[4]);
	/* classes: union of all splits, sorted: ant moth zebra; train: ant/1.jpeg ant/10.jpg ant/2.jpg
	 * zebra/a.JPG zebra/b.jpg (strcmp order) */
	static const char *const keys[5] = {"train/ant/1.jpeg", "train/ant/10.jpg", "train/ant/2.jpg",
					    "train/zebra/a.JPG", "train/zebra/b.jpg"};
	static const int file_of[5] = {7, 2, 1, 3, 0};
	static const int labels[5] = {0, 0, 0, 2, 2};
	char err[512];
	for (int f = 0; f < 5; f++) {
		dataset_options o = {.split = "train"};
		dataset_options cache = {.split = "train", .cache_dir = t_tmpdir()};
		for (int pass = 0; pass < 2; pass++) {
			dataset *ds = dataset_open(srcs[f], pass ? &cache : &o, err, sizeof err);
			T_ASSERTF(ds, "%s: %s", srcs[f], err);
			T_ASSERT(dataset_get_kind(ds) == DATASET_IMAGE_FOLDER);
			T_ASSERTF(dataset_count(ds) == 5, "%s: %zu", srcs[f], dataset_count(ds));
			T_ASSERT(dataset_num_classes(ds) == 3 && strcmp(dataset_class_name(ds, 1), "moth") == 0);
			T_ASSERTF(dataset_ignored_count(ds) == 1 && strstr(dataset_ignored_example(ds), "notes.txt"),
				  "%zu", dataset_ignored_count(ds));
			for (int i = 0; i < 5; i++) {
				T_ASSERTF(strcmp(dataset_key(ds, (size_t)i), keys[i]) == 0, "%s: %d: %s", srcs[f], i,
					  dataset_key(ds, (size_t)i));
				T_ASSERT(dataset_label(ds, (size_t)i) == labels[i]);
				dataset_sample s;
				T_ASSERTF(dataset_read(ds, (size_t)i, &s, err, sizeof err) == 0, "%s", err);
				size_t n;
				uint8_t *want = jpeg_of(file_of[i], &n);
				T_ASSERT(s.kind == DATASET_SAMPLE_JPEG && s.size == n && memcmp(s.data, want, n) == 0);
				free(want);
				dataset_sample_free(&s);
				T_ASSERTF(dataset_check_sample(ds, (size_t)i, err, sizeof err) == 0, "%s", err);
			}
			rgb_image img;
			T_ASSERTF(dataset_load_rgb(ds, 0, &img, err, sizeof err) == 0, "%s", err);
			T_ASSERT(img.width == 8 && img.height == 8);
			image_free(&img);
			dataset_close(ds);
		}
	}
	/* the test split of the same archive; a class list restricting and reordering */
	dataset_options o = {.split = "test"};
	dataset *ds = dataset_open(srcs[1], &o, err, sizeof err);
	T_ASSERT(ds && dataset_count(ds) == 2 && dataset_label(ds, 1) == 1);
	dataset_close(ds);
	t_write_file(t_tmp_path("classes.txt"), "zebra\nant\n", 10);
	o = (dataset_options){.split = "train", .classes_file = t_tmp_path("classes.txt")};
	ds = dataset_open(srcs[0], &o, err, sizeof err);
	T_ASSERTF(ds && dataset_count(ds) == 5 && dataset_label(ds, 0) == 0 &&
			  strcmp(dataset_key(ds, 0), "train/zebra/a.JPG") == 0,
		  "%s", ds ? dataset_key(ds, 0) : err);
	dataset_close(ds);
	o.split = "test"; /* moth is not in the list */
	ds = dataset_open(srcs[4], &o, err, sizeof err);
	T_ASSERTF(!ds && strstr(err, "test/moth/t2.jpg: unknown class 'moth'"), "%s", err);
	o.skip_bad = 1;
	ds = dataset_open(srcs[4], &o, err, sizeof err);
	T_ASSERT(ds && dataset_count(ds) == 1 && dataset_bad_count(ds) == 1);
	dataset_close(ds);
}

static void test_jpeg_check_and_missing_files(void)
{
	const char *dir = t_tmp_path("checkdir");
	char p[700];
	snprintf(p, sizeof p, "%s/val/c", dir);
	mkdirs(p);
	size_t n;
	uint8_t *j = jpeg_of(3, &n);
	snprintf(p, sizeof p, "%s/val/c/good.jpg", dir);
	t_write_file(p, j, n);
	snprintf(p, sizeof p, "%s/val/c/cut.jpg", dir);
	t_write_file(p, j, n - 40);
	snprintf(p, sizeof p, "%s/val/c/garbage.jpg", dir);
	t_write_file(p, "not a jpeg at all", 17);
	uint8_t *bad_header = malloc(n);
	memcpy(bad_header, j, n);
	memset(bad_header + 2, 0xFF, 30); /* markers destroyed */
	snprintf(p, sizeof p, "%s/val/c/header.jpg", dir);
	t_write_file(p, bad_header, n);
	snprintf(p, sizeof p, "%s/val/c/gone.jpg", dir);
	t_write_file(p, j, n);
	free(bad_header);
	free(j);
	dataset_options o = {.split = "val"};
	char err[512];
	dataset *ds = dataset_open(dir, &o, err, sizeof err);
	T_ASSERTF(ds && dataset_count(ds) == 5, "%s", err);
	unlink(p); /* gone.jpg: removed after indexing */
	static const struct {
		const char *key;
		int rc;
		const char *msg;
	} want[] = {{"val/c/cut.jpg", LFM_EXIT_DATA, "truncated JPEG"},
		    {"val/c/garbage.jpg", LFM_EXIT_DATA, "not a JPEG file"},
		    {"val/c/gone.jpg", LFM_EXIT_IO, "No such file"},
		    {"val/c/good.jpg", 0, ""},
		    {"val/c/header.jpg", LFM_EXIT_DATA, "JPEG"}};
	for (size_t i = 0; i < 5; i++) {
		T_ASSERTF(strcmp(dataset_key(ds, i), want[i].key) == 0, "%s", dataset_key(ds, i));
		err[0] = 0;
		int rc = dataset_check_sample(ds, i, err, sizeof err);
		T_ASSERTF(rc == want[i].rc && strstr(err, want[i].msg) && (!rc || strstr(err, want[i].key)),
			  "%s: rc %d '%s'", want[i].key, rc, err);
	}
	rgb_image img;
	T_ASSERTF(dataset_load_rgb(ds, 1, &img, err, sizeof err) == LFM_EXIT_DATA && strstr(err, "garbage.jpg"),
		  "%s", err);
	dataset_close(ds);
}

static void test_webdataset(void)
{
	const char *tar = t_tmp_path("shard.tar");
	writer w;
	w_open(&w, tar, "tar");
	size_t n;
	uint8_t *j = jpeg_of(1, &n);
	uint8_t planes[3072];
	for (int i = 0; i < 3072; i++)
		planes[i] = (uint8_t)i;
	/* keys that look like folders of another split must not confuse the detection */
	w_file(&w, "test/x/s1.jpg", j, n);
	w_file(&w, "test/x/s1.cls", "3\n", 2);
	w_file(&w, "s0.rgb", planes, 3072);
	w_file(&w, "s0.cls", "1", 1);
	w_file(&w, "s0.json", "{}", 2);
	w_file(&w, "s2.cls", " 0 ", 3);
	w_file(&w, "s2.jpeg", j, n);
	w_close(&w);
	/* the same compressed: the test/ images must be found though the split is train */
	const char *tgz = t_tmp_path("shard.tar.gz");
	w_open(&w, tgz, "gz");
	w_file(&w, "test/x/s1.jpg", j, n);
	w_file(&w, "test/x/s1.cls", "3\n", 2);
	w_file(&w, "s0.rgb", planes, 3072);
	w_file(&w, "s0.cls", "1", 1);
	w_close(&w);
	char err[512];
	dataset *ds = open_ds(tar, "train", 0, err, sizeof err);
	T_ASSERTF(ds, "%s", err);
	T_ASSERT(dataset_get_kind(ds) == DATASET_WEBDATASET && dataset_count(ds) == 3);
	T_ASSERT(strcmp(dataset_key(ds, 0), "test/x/s1") == 0 && dataset_label(ds, 0) == 3);
	T_ASSERT(strcmp(dataset_key(ds, 1), "s0") == 0 && dataset_label(ds, 1) == 1);
	T_ASSERT(dataset_label(ds, 2) == 0 && dataset_num_classes(ds) == 4);
	T_ASSERT(strcmp(dataset_class_name(ds, 3), "3") == 0);
	dataset_sample s;
	T_ASSERT(dataset_read(ds, 1, &s, err, sizeof err) == 0 && s.kind == DATASET_SAMPLE_CIFAR &&
		 memcmp(s.data, planes, 3072) == 0);
	dataset_sample_free(&s);
	T_ASSERT(dataset_read(ds, 0, &s, err, sizeof err) == 0 && s.kind == DATASET_SAMPLE_JPEG && s.size == n);
	dataset_sample_free(&s);
	dataset_close(ds);
	ds = open_ds(tgz, "train", 0, err, sizeof err);
	T_ASSERTF(ds && dataset_count(ds) == 2, "%s", err);
	T_ASSERT(dataset_read(ds, 0, &s, err, sizeof err) == 0 && s.size == n && memcmp(s.data, j, n) == 0);
	dataset_sample_free(&s);
	dataset_close(ds);
	/* a sample without a label */
	const char *bad = t_tmp_path("bad-shard.tar");
	w_open(&w, bad, "tar");
	w_file(&w, "a.jpg", j, n);
	w_file(&w, "a.cls", "0", 1);
	w_file(&w, "b.jpg", j, n);
	w_file(&w, "c.cls", "x", 1);
	w_close(&w);
	ds = open_ds(bad, "train", 0, err, sizeof err);
	T_ASSERTF(!ds && strstr(err, "bad-shard.tar: sample b: no .cls file"), "%s", err);
	dataset_options o = {.skip_bad = 1};
	ds = dataset_open(bad, &o, err, sizeof err);
	T_ASSERT(ds && dataset_count(ds) == 3 && dataset_bad_count(ds) == 2 && dataset_label(ds, 2) == -1);
	dataset_close(ds);
	free(j);
}

static void test_split_list_roots(void)
{
	/* the folder made by test_image_folder_forms, as a directory and as archives */
	const char *list = t_tmp_path("list.txt");
	const char *text = "train/zebra/b.jpg 1\ntrain/ant/2.jpg 0\n\ntest/moth/t2.jpg 1\n";
	t_write_file(list, text, strlen(text));
	char root_dir[600];
	snprintf(root_dir, sizeof root_dir, "%s/top", t_tmp_path("folder-dir"));
	const char *roots[3] = {root_dir, t_tmp_path("folder.tar"), t_tmp_path("folder.tar.gz")};
	char err[512];
	for (int r = 0; r < 3; r++) {
		dataset_options o = {.root = roots[r]};
		dataset *ds = dataset_open(list, &o, err, sizeof err);
		T_ASSERTF(ds, "%s", err);
		T_ASSERT(dataset_get_kind(ds) == DATASET_SPLIT_LIST && dataset_count(ds) == 3);
		T_ASSERT(dataset_num_classes(ds) == 2);
		/* label 1 covers zebra and moth: named by number */
		T_ASSERTF(strcmp(dataset_class_name(ds, 1), "1") == 0, "%s", dataset_class_name(ds, 1));
		for (size_t i = 0; i < 3; i++)
			T_ASSERTF(dataset_check_sample(ds, i, err, sizeof err) == 0, "root %d: %s", r, err);
		dataset_sample s;
		T_ASSERT(dataset_read(ds, 1, &s, err, sizeof err) == 0);
		size_t n;
		uint8_t *want = jpeg_of(1, &n);
		T_ASSERT(s.size == n && memcmp(s.data, want, n) == 0);
		free(want);
		dataset_sample_free(&s);
		dataset_close(ds);
	}
	/* without a root: labels and keys only; class names from the folders when they agree */
	const char *l2 = t_tmp_path("list2.txt");
	t_write_file(l2, "a/x/1.jpg 0\na/y/2.jpg 1\nb/x/3.jpg 0\n", 36);
	dataset_options o = {.kind = DATASET_SPLIT_LIST};
	dataset *ds = dataset_open(l2, &o, err, sizeof err);
	T_ASSERT(ds && strcmp(dataset_class_name(ds, 0), "x") == 0 && strcmp(dataset_class_name(ds, 1), "y") == 0);
	dataset_close(ds);
	ds = dataset_open(l2, NULL, err, sizeof err); /* detected: a text file that is no archive */
	T_ASSERTF(ds && dataset_get_kind(ds) == DATASET_SPLIT_LIST, "%s", err);
	dataset_close(ds);
	/* a listed file missing from a root archive */
	const char *l3 = t_tmp_path("list3.txt");
	t_write_file(l3, "train/ant/2.jpg 0\ntrain/ant/99.jpg 0\n", 37);
	o = (dataset_options){.root = t_tmp_path("folder.tar.gz")};
	int rc = dataset_try_open(&ds, l3, &o, err, sizeof err);
	T_ASSERTF(rc == LFM_EXIT_IO && strstr(err, "train/ant/99.jpg") && strstr(err, "not in the archive"), "%s",
		  err);
	o.skip_bad = 1;
	ds = dataset_open(l3, &o, err, sizeof err);
	T_ASSERT(ds && dataset_count(ds) == 2 && dataset_label(ds, 1) == -1 && dataset_bad_count(ds) == 1);
	dataset_close(ds);
	/* a listed file missing from a root folder: found when read */
	o = (dataset_options){.root = root_dir};
	ds = dataset_open(l3, &o, err, sizeof err);
	T_ASSERT(ds);
	rc = dataset_check_sample(ds, 1, err, sizeof err);
	T_ASSERTF(rc == LFM_EXIT_IO && strstr(err, "99.jpg"), "%s", err);
	dataset_close(ds);
	/* a class list bounds the labels */
	t_write_file(t_tmp_path("two.txt"), "a\nb\n", 4);
	t_write_file(l3, "x/1.jpg 0\nx/2.jpg 2\n", 20);
	o = (dataset_options){.kind = DATASET_SPLIT_LIST, .classes_file = t_tmp_path("two.txt")};
	rc = dataset_try_open(&ds, l3, &o, err, sizeof err);
	T_ASSERTF(rc == LFM_EXIT_DATA && strstr(err, "line 2: label 2 is out of range 0..1"), "%s", err);
}

/* Readers on many threads get the same bytes as one reader. */
typedef struct reader_arg {
	const dataset *ds;
	int ok;
} reader_arg;

static void *reader(void *p)
{
	reader_arg *a = p;
	char err[256];
	a->ok = 1;
	for (int round = 0; round < 200; round++)
		for (size_t i = 0; i < dataset_count(a->ds); i++) {
			dataset_sample s;
			if (dataset_read(a->ds, i, &s, err, sizeof err) != 0) {
				a->ok = 0;
				continue;
			}
			uint8_t want[3073];
			cifar_record(want, i, 0);
			if (s.size != 3072 || memcmp(s.data, want + 1, 3072) != 0)
				a->ok = 0;
			dataset_sample_free(&s);
		}
	return NULL;
}

static void test_concurrent_reads(void)
{
	const char *srcs[2] = {t_tmp_path("small-c10.tar"), t_tmp_path("small-c10")};
	char err[256];
	for (int f = 0; f < 2; f++) {
		dataset *ds = open_ds(srcs[f], "train", 0, err, sizeof err);
		T_ASSERTF(ds, "%s", err);
		pthread_t th[4];
		reader_arg a[4];
		for (int t = 0; t < 4; t++) {
			a[t].ds = ds;
			pthread_create(&th[t], NULL, reader, &a[t]);
		}
		for (int t = 0; t < 4; t++)
			pthread_join(th[t], NULL);
		for (int t = 0; t < 4; t++)
			T_ASSERT(a[t].ok);
		dataset_close(ds);
	}
}

/* ---- the real data, when ../shared is there ------------------------------------------------------ */

static void test_shared_cifar10_jpeg_lt100(void)
{
	const char *src = "../shared/data/cifar10-jpeg.tar.gz";
	if (access(src, R_OK) != 0) {
		t_skip("test_shared_cifar10_jpeg_lt100", "no ../shared/data/cifar10-jpeg.tar.gz");
		return;
	}
	char err[512];
	dataset *ds = open_ds(src, "train", 1, err, sizeof err);
	T_ASSERTF(ds, "%s", err);
	T_ASSERT(dataset_count(ds) == 50000 && dataset_num_classes(ds) == 10);
	for (int k = 0; k < 10; k++)
		T_ASSERT(strcmp(dataset_class_name(ds, k), CIFAR10_NAMES[k]) == 0 && dataset_class_count(ds, k) == 5000);
	T_ASSERTF(subset_size(ds, 100, LT_PROFILE_EXP) == 12406, "%zu", subset_size(ds, 100, LT_PROFILE_EXP));
	T_ASSERTF(strcmp(dataset_source(ds)->hash,
			 "sha256:845b9c234f577a407297a12451876d6df0ed01f249a48496593fb086bfc3bd89") == 0,
		  "%s", dataset_source(ds)->hash);
	T_ASSERT(strcmp(dataset_key(ds, 5000), "train/automobile/0000.jpg") == 0);
	dataset_close(ds);
}

static void test_shared_places_lt_list(void)
{
	const char *list = "../shared/data/splits/places_lt_train.txt";
	if (access(list, R_OK) != 0) {
		t_skip("test_shared_places_lt_list", "no ../shared/data/splits");
		return;
	}
	char err[512];
	dataset_options o = {.kind = DATASET_SPLIT_LIST};
	dataset *ds = dataset_open(list, &o, err, sizeof err);
	T_ASSERTF(ds, "%s", err);
	T_ASSERT(dataset_count(ds) == 62500 && dataset_num_classes(ds) == 365);
	size_t mx = 0, mn = (size_t)-1;
	for (int k = 0; k < 365; k++) {
		mx = dataset_class_count(ds, k) > mx ? dataset_class_count(ds, k) : mx;
		mn = dataset_class_count(ds, k) < mn ? dataset_class_count(ds, k) : mn;
	}
	T_ASSERTF(mx == 4980 && mn == 5, "%zu .. %zu", mx, mn);
	T_ASSERT(strcmp(dataset_class_name(ds, 0), "airfield") == 0);
	dataset_close(ds);
}

int main(void)
{
	lfm_init("test_dataset");
	T_RUN(test_sha256_known_answers);
	T_RUN(test_split_list_parser);
	T_RUN(test_class_names_reader);
	T_RUN(test_cifar_parser_pieces_and_errors);
	T_RUN(test_lt_profile_sizes);
	T_RUN(test_lt_choose_reproducible);
	T_RUN(test_cifar10_table7_from_tarball);
	T_RUN(test_cifar100_table7_from_tarball);
	T_RUN(test_cifar_forms_agree);
	T_RUN(test_cifar_bad_input);
	T_RUN(test_open_or_die_exit_code);
	T_RUN(test_image_folder_forms);
	T_RUN(test_jpeg_check_and_missing_files);
	T_RUN(test_webdataset);
	T_RUN(test_split_list_roots);
	T_RUN(test_concurrent_reads);
	T_RUN(test_shared_cifar10_jpeg_lt100);
	T_RUN(test_shared_places_lt_list);
	t_tmpdir_remove();
	return t_summary();
}
