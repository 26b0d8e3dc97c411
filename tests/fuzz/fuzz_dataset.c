/* fuzz_dataset.c — opening a dataset from an archive or a directory (libcommon/dataset_*.c through
 * dataset_try_open): the libarchive pass, kind detection (CIFAR tarball, WebDataset, image folder),
 * splitting member names into split/class/file, .cls labels, the index, and reading samples back.
 *
 * Input: one control byte, then the file's bytes (a tar, tar.gz, zip, ... or anything else). The bytes
 * are written to a memory file (memfd) made once; the dataset is opened by its /proc/self/fd path.
 * Control byte:
 *   bits 0-1  split: train, test, val; 3: train, from a directory: the archive's regular files and folders
 *             (at most 256 entries, 1 MiB) are unpacked under /tmp and the directory is opened (the
 *             CIFAR and image-folder directory readers; modes 0 and 2 only)
 *   bit  2    skip_bad
 *   bit  3    index_only
 *   bits 4-5  class names: from the source, {cat, dog}, ten names c0..c9 (CIFAR-10), {cat} alone
 *   bits 6-7  0: the bytes are the source file;
 *             1: the same, with cache_dir /tmp (compressed members cached in an unlinked temporary file);
 *             2: the bytes gzip-compressed by this harness are the file (so a tar's contents, mutated
 *                freely, reach the compressed-archive path, which corrupt gzip data rarely passes);
 *             3: the bytes are the root archive of a fixed split list (the list+archive path)
 * Checked beyond "no crash, no leak, no exit": a failure has a message and an exit code 1 or 3 and
 * leaves no dataset; an opened dataset is consistent — classes named, class counts plus holes add up to
 * the samples, holes only with skip_bad, every key found again by dataset_find_key, image-folder keys
 * <split>/<class>/<file>.jpg with a visible class folder named as the label's class; reads fail (with a
 * message) for holes and index-only datasets, and otherwise return the sample's label and, for CIFAR, 3072
 * bytes; decoded images have the size their JPEG header announces. */
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "data/dataset_internal.h"
#include "data/image.h"

#define CHECK(c) \
	do { \
		if (!(c)) { \
			fprintf(stderr, "fuzz_dataset: check failed at line %d: %s\n", __LINE__, #c); \
			abort(); \
		} \
	} while (0)

#define MAX_DECODE 4        /* samples decoded to RGB per input */
#define MAX_CHECK 16        /* samples given dataset_check_sample per input */
#define MAX_PIXELS (1L << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A file descriptor for the input and a path that opens it: a memfd seen through /proc/self/fd, or,
 * where that is missing, a file under /tmp removed at exit. */
typedef struct mem_file {
	int fd;
	char path[64];
} mem_file;

static char tmp_paths[2][64];

static void remove_tmp_files(void)
{
	for (int k = 0; k < 2; k++)
		if (tmp_paths[k][0])
			unlink(tmp_paths[k]);
}

static int mem_file_open(mem_file *m, const char *name)
{
	m->fd = memfd_create(name, MFD_CLOEXEC);
	if (m->fd >= 0) {
		snprintf(m->path, sizeof m->path, "/proc/self/fd/%d", m->fd);
		if (access(m->path, R_OK) == 0)
			return 0;
		close(m->fd);
	}
	snprintf(m->path, sizeof m->path, "/tmp/%s.XXXXXX", name);
	m->fd = mkstemp(m->path);
	if (m->fd < 0)
		return -1;
	int k = tmp_paths[0][0] ? 1 : 0;
	if (!tmp_paths[0][0])
		atexit(remove_tmp_files);
	snprintf(tmp_paths[k], sizeof tmp_paths[k], "%s", m->path);
	return 0;
}

static int mem_file_set(mem_file *m, const void *data, size_t n)
{
	if (ftruncate(m->fd, 0) != 0)
		return -1;
	const uint8_t *p = data;
	size_t done = 0;
	while (done < n) {
		ssize_t w = pwrite(m->fd, p + done, n - done, (off_t)done);
		if (w <= 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

/* data gzip-compressed (libarchive's raw format and gzip filter) into a fresh buffer with room for
 * incompressible data; NULL on failure. */
static uint8_t *gzip_bytes(const uint8_t *data, size_t n, size_t *out_len)
{
	size_t cap = n + n / 8 + 1024;
	uint8_t *buf = malloc(cap);
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	int ok = buf && a && e && archive_write_add_filter_gzip(a) == ARCHIVE_OK &&
		 archive_write_set_format_raw(a) == ARCHIVE_OK &&
		 archive_write_set_bytes_in_last_block(a, 1) == ARCHIVE_OK &&
		 archive_write_open_memory(a, buf, cap, out_len) == ARCHIVE_OK;
	if (ok) {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_pathname(e, "data");
		archive_entry_set_size(e, (la_int64_t)n);
		ok = archive_write_header(a, e) == ARCHIVE_OK &&
		     (n == 0 || archive_write_data(a, data, n) == (la_ssize_t)n) &&
		     archive_write_close(a) == ARCHIVE_OK;
	}
	if (e)
		archive_entry_free(e);
	if (a)
		archive_write_free(a);
	if (!ok) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Whether an archive member name may be unpacked below a directory: relative, no ".." component. */
static int safe_name(const char *name)
{
	if (!*name || name[0] == '/')
		return 0;
	for (const char *p = name; *p;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 0;
		if (!e)
			break;
		p = e + 1;
	}
	return 1;
}

/* Unpack the regular files and folders of the archive in data into dir (made here); links, devices and
 * unsafe names are left out, and so is everything beyond 256 entries or 1 MiB of file data. 0, or -1
 * when data is not an archive libarchive reads (dir is made anyway). */
static int unpack(const uint8_t *data, size_t n, const char *dir)
{
	if (mkdir(dir, 0700) != 0)
		return -1;
	struct archive *a = archive_read_new();
	struct archive *w = archive_write_disk_new();
	if (!a || !w) {
		archive_read_free(a);
		archive_write_free(w);
		return -1;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_zip(a);
	archive_write_disk_set_options(w, ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT);
	int rc = archive_read_open_memory(a, data, n) == ARCHIVE_OK ? 0 : -1;
	struct archive_entry *e;
	size_t budget = (size_t)1 << 20;
	for (int k = 0; !rc && k < 256 && archive_read_next_header(a, &e) == ARCHIVE_OK; k++) {
		const char *name = archive_entry_pathname(e);
		int type = archive_entry_filetype(e);
		if (!name || !safe_name(name) || (type != AE_IFREG && type != AE_IFDIR) || archive_entry_hardlink(e))
			continue;
		char full[4200];
		if ((size_t)snprintf(full, sizeof full, "%s/%s", dir, name) >= sizeof full)
			continue;
		archive_entry_set_pathname(e, full);
		archive_entry_set_perm(e, type == AE_IFDIR ? 0700 : 0600);
		if (type == AE_IFREG && (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0 ||
					 (uint64_t)archive_entry_size(e) > budget))
			archive_entry_set_size(e, (la_int64_t)budget); /* the disk writer extends files to it */
		if (archive_write_header(w, e) != ARCHIVE_OK)
			continue;
		char buf[4096];
		la_ssize_t got;
		while (type == AE_IFREG && budget && (got = archive_read_data(a, buf, sizeof buf)) > 0) {
			size_t use = (size_t)got < budget ? (size_t)got : budget;
			if (archive_write_data(w, buf, use) < 0)
				break;
			budget -= use;
		}
		archive_write_finish_entry(w);
	}
	archive_read_free(a);
	archive_write_free(w);
	return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* The split list used with mode 3: its paths name members the seeds hold, directly or below a top folder. */
static const char LIST[] = "train/cat/0.jpg 0\n"
			   "train/dog/0.jpg 1\n"
			   "test/cat/0.jpg 0\n"
			   "s0.jpg 0\n"
			   "s1.jpg 1\n";

static const char *const TWO[] = {"cat", "dog"};
static const char *const TEN[] = {"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"};
static const char *const ONE[] = {"cat"};

static void check_read(const dataset *ds, size_t i, int index_only, int *decoded, int *checked)
{
	char err[1024] = "";
	dataset_sample s;
	int label = dataset_label(ds, i);
	int rc = dataset_read(ds, i, &s, err, sizeof err);
	if (rc) {
		CHECK(rc == 1 || rc == 3);
		CHECK(err[0]);
		CHECK(!s.data && !s.owned && s.size == 0);
		return;
	}
	CHECK(label >= 0 && !index_only);
	CHECK(s.label == label);
	CHECK(s.kind == DATASET_SAMPLE_JPEG || s.kind == DATASET_SAMPLE_CIFAR);
	CHECK(s.data || s.size == 0);
	if (s.kind == DATASET_SAMPLE_CIFAR)
		CHECK(s.size == 3072);
	/* Decode only images of a plausible size: the decoder's limits are fuzz_jpeg's business. */
	int w = 0, h = 0;
	int header_ok = s.kind == DATASET_SAMPLE_JPEG &&
			image_jpeg_size(s.data, s.size, &w, &h, err, sizeof err) == 0;
	int decode = *decoded < MAX_DECODE && (!header_ok || (long)w * h <= MAX_PIXELS);
	int cifar = s.kind == DATASET_SAMPLE_CIFAR;
	dataset_sample_free(&s);
	if (*checked < MAX_CHECK) {
		(*checked)++;
		err[0] = 0;
		rc = dataset_check_sample(ds, i, err, sizeof err);
		CHECK(rc == 0 || ((rc == 1 || rc == 3) && err[0]));
	}
	if (!decode)
		return;
	(*decoded)++;
	rgb_image img;
	err[0] = 0;
	rc = dataset_load_rgb(ds, i, &img, err, sizeof err);
	if (rc) {
		CHECK((rc == 1 || rc == 3) && err[0]);
		CHECK(!img.rgb);
		return;
	}
	CHECK(img.rgb);
	if (cifar)
		CHECK(img.width == 32 && img.height == 32);
	else
		CHECK(header_ok && img.width == w && img.height == h);
	image_free(&img);
}

/* An image folder's key is <split>/<class>/<file>.jpg, the class that of its label (holes aside). */
static void check_folder_key(const dataset *ds, const char *key, int y)
{
	const char *s1 = strchr(key, '/');
	CHECK(s1 && (size_t)(s1 - key) == strlen(dataset_split(ds)) &&
	      strncmp(key, dataset_split(ds), strlen(dataset_split(ds))) == 0);
	const char *cls = s1 + 1, *s2 = strchr(cls, '/');
	CHECK(s2 && s2 > cls && cls[0] != '.');
	const char *file = s2 + 1;
	CHECK(*file && *file != '.' && !strchr(file, '/'));
	CHECK(ds_has_ext(file, ".jpg") || ds_has_ext(file, ".jpeg"));
	if (y >= 0) {
		const char *name = dataset_class_name(ds, y);
		CHECK(strlen(name) == (size_t)(s2 - cls) && strncmp(name, cls, (size_t)(s2 - cls)) == 0);
	}
}

static void check_dataset(const dataset *ds, int skip_bad, int index_only)
{
	size_t n = dataset_count(ds);
	int C = dataset_num_classes(ds);
	CHECK(C >= 1);
	CHECK(strcmp(dataset_kind_name(dataset_get_kind(ds)), "auto") != 0);
	CHECK(dataset_split(ds) != NULL);
	const dataset_identity *id = dataset_source(ds);
	CHECK(id && id->path && id->hash && strncmp(id->hash, "sha256", 6) == 0);
	size_t sum = 0;
	for (int k = 0; k < C; k++) {
		CHECK(dataset_class_name(ds, k) != NULL);
		sum += dataset_class_count(ds, k);
	}
	CHECK(dataset_class_name(ds, C) == NULL && dataset_class_name(ds, -1) == NULL);
	size_t holes = 0;
	for (size_t i = 0; i < n; i++) {
		int y = dataset_label(ds, i);
		CHECK(y >= -1 && y < C);
		holes += y < 0;
		const char *key = dataset_key(ds, i);
		CHECK(key != NULL);
		int64_t at = dataset_find_key(ds, key);
		CHECK(at >= 0 && (size_t)at < n && strcmp(dataset_key(ds, (size_t)at), key) == 0);
		if (dataset_get_kind(ds) == DATASET_IMAGE_FOLDER)
			check_folder_key(ds, key, y);
		else if (dataset_get_kind(ds) == DATASET_WEBDATASET)
			CHECK(key[0] && strcmp(ds_basename(key), "") != 0);
	}
	CHECK(sum + holes == n);
	CHECK(skip_bad || (holes == 0 && dataset_bad_count(ds) == 0));
	CHECK(holes <= dataset_bad_count(ds));
	CHECK(dataset_bad_messages(ds) <= dataset_bad_count(ds));
	for (size_t j = 0; j < dataset_bad_messages(ds); j++)
		CHECK(dataset_bad_message(ds, j) != NULL);
	CHECK(dataset_label(ds, n) == -1 && dataset_key(ds, n) == NULL);
	int decoded = 0, checked = 0;
	for (size_t i = 0; i < n; i++)
		check_read(ds, i, index_only, &decoded, &checked);
	char err[256];
	dataset_sample s;
	CHECK(dataset_read(ds, n, &s, err, sizeof err) != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static mem_file input = {.fd = -1}, list = {.fd = -1};
	if (input.fd < 0) {
		/* No tar index cache (formats/tar-index.md; fuzz_tar_index covers its reader): every input is
		 * another archive under the same path, and an index written beside /proc/self/fd/N fails with a
		 * warning each time, or beside the /tmp fallback is left behind after the run. */
		setenv("LFM_INDEX_CACHE", "off", 1);
		if (mem_file_open(&input, "fuzz_dataset") != 0 ||
		    mem_file_open(&list, "fuzz_dataset_list") != 0 ||
		    mem_file_set(&list, LIST, sizeof LIST - 1) != 0) {
			perror("fuzz_dataset: cannot make the input files");
			abort();
		}
	}
	if (size < 1)
		return 0;
	uint8_t ctl = data[0];
	int mode = ctl >> 6;
	const uint8_t *bytes = data + 1;
	size_t nbytes = size - 1;
	uint8_t *gz = NULL;
	if (mode == 2) {
		if (!(gz = gzip_bytes(bytes, nbytes, &nbytes))) {
			fprintf(stderr, "fuzz_dataset: gzip failed\n");
			abort();
		}
		bytes = gz;
	}
	if (mem_file_set(&input, bytes, nbytes) != 0) {
		perror("fuzz_dataset: cannot write the input file");
		abort();
	}

	static const char *const splits[4] = {"train", "test", "val", "train"};
	dataset_options o = {0};
	o.split = splits[ctl & 3];
	o.skip_bad = (ctl >> 2) & 1;
	o.index_only = (ctl >> 3) & 1;
	switch ((ctl >> 4) & 3) {
	case 1: o.class_names = TWO; o.num_class_names = 2; break;
	case 2: o.class_names = TEN; o.num_class_names = 10; break;
	case 3: o.class_names = ONE; o.num_class_names = 1; break;
	default: break;
	}
	if (mode == 1)
		o.cache_dir = "/tmp";
	const char *source = input.path;
	if (mode == 3) {
		o.root = input.path;
		source = list.path;
	}

	char dir[64] = "";
	if ((ctl & 3) == 3 && (mode == 0 || mode == 2)) {
		snprintf(dir, sizeof dir, "/tmp/fuzz_dataset.%ld.d", (long)getpid());
		nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); /* left by an earlier run that crashed */
		if (unpack(bytes, nbytes, dir) != 0) {
			nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
			free(gz);
			return 0;
		}
		source = dir;
	}
	free(gz);

	dataset *ds = (dataset *)&ds; /* must be reset by the open */
	char err[1024] = "";
	int rc = dataset_try_open(&ds, source, &o, err, sizeof err);
	if (rc) {
		CHECK(rc == 1 || rc == 3);
		CHECK(err[0]);
		CHECK(ds == NULL);
	} else {
		CHECK(ds != NULL);
		check_dataset(ds, o.skip_bad, o.index_only);
		dataset_close(ds);
	}
	if (dir[0])
		nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
