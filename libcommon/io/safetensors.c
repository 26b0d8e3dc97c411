/* safetensors.c — see safetensors.h. The reader validates everything the reference implementation
 * (huggingface/safetensors, Rust) validates before any tensor is used; every refusal names the tensor
 * and the numbers involved. The writer produces files that reader (and ours) accepts. */
#include "io/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/json.h"
#include "base/tensor_dtype.h"

/* A name from the file made safe to print: control bytes become '?', long names are cut. */
static const char *printable(const char *s, char *buf, size_t bufsz)
{
	size_t n = 0, max = bufsz - 4;
	for (; s[n] && n < max; n++)
		buf[n] = ((unsigned char)s[n] < 0x20 || s[n] == 0x7f) ? '?' : s[n];
	if (s[n])
		memcpy(buf + n, "...", 3), n += 3;
	buf[n] = 0;
	return buf;
}

static const char *json_type_name(json_type t)
{
	static const char *const names[] = {"null", "a boolean", "a number", "a string", "an array", "an object"};
	return names[t];
}

/* A JSON value that must be a non-negative integer literal. */
static int get_uint(const json_value *v, int64_t *out)
{
	if (v->type != JSON_NUMBER || !v->is_integer || v->integer < 0)
		return -1;
	*out = v->integer;
	return 0;
}

static void free_file_fields(st_file *f)
{
	for (size_t i = 0; i < f->n_tensors; i++)
		free(f->tensors[i].name);
	free(f->tensors);
	for (size_t i = 0; i < f->n_meta; i++) {
		free(f->meta_keys[i]);
		free(f->meta_values[i]);
	}
	free(f->meta_keys);
	free(f->meta_values);
	f->tensors = NULL;
	f->meta_keys = f->meta_values = NULL;
	f->n_tensors = f->n_meta = 0;
}

static int parse_metadata(const json_value *m, st_file *f, char *err, size_t errsz)
{
	char nb[128];
	if (m->type != JSON_OBJECT)
		return err_set(err, errsz, "__metadata__ is %s, not an object", json_type_name(m->type));
	f->meta_keys = calloc(m->count + 1, sizeof *f->meta_keys);
	f->meta_values = calloc(m->count + 1, sizeof *f->meta_values);
	if (!f->meta_keys || !f->meta_values)
		return err_set(err, errsz, "out of memory");
	for (size_t i = 0; i < m->count; i++) {
		if (m->items[i]->type != JSON_STRING)
			return err_set(err, errsz, "__metadata__ value of '%s' is %s, not a string",
				       printable(m->keys[i], nb, sizeof nb), json_type_name(m->items[i]->type));
		f->meta_keys[f->n_meta] = strdup(m->keys[i]);
		f->meta_values[f->n_meta] = strdup(m->items[i]->string);
		if (!f->meta_keys[f->n_meta] || !f->meta_values[f->n_meta]) {
			free(f->meta_keys[f->n_meta]);
			free(f->meta_values[f->n_meta]);
			return err_set(err, errsz, "out of memory");
		}
		f->n_meta++;
	}
	return 0;
}

/* One tensor entry: exactly dtype, shape and data_offsets, consistent with each other and the data
 * section's length. */
static int parse_tensor(const char *name, const json_value *v, size_t data_len, st_tensor *t, char *err,
			size_t errsz)
{
	char nb[128], sb[256];
	printable(name, nb, sizeof nb);
	if (v->type != JSON_OBJECT)
		return err_set(err, errsz, "tensor '%s': entry is %s, not an object", nb, json_type_name(v->type));
	for (size_t i = 0; i < v->count; i++)
		if (strcmp(v->keys[i], "dtype") && strcmp(v->keys[i], "shape") && strcmp(v->keys[i], "data_offsets")) {
			char kb[128];
			return err_set(err, errsz, "tensor '%s': unexpected key '%s' (only dtype, shape, data_offsets)",
				       nb, printable(v->keys[i], kb, sizeof kb));
		}
	const json_value *dt = json_get(v, "dtype"), *shape = json_get(v, "shape"),
			 *offs = json_get(v, "data_offsets");
	if (!dt || !shape || !offs)
		return err_set(err, errsz, "tensor '%s': no '%s'", nb, !dt ? "dtype" : !shape ? "shape" : "data_offsets");
	if (dt->type != JSON_STRING)
		return err_set(err, errsz, "tensor '%s': dtype is %s, not a string", nb, json_type_name(dt->type));
	if (dtype_from_name(dt->string, &t->dtype) != 0) {
		char db[64];
		return err_set(err, errsz, "tensor '%s': unknown dtype '%s'", nb, printable(dt->string, db, sizeof db));
	}
	if (shape->type != JSON_ARRAY)
		return err_set(err, errsz, "tensor '%s': shape is %s, not an array", nb, json_type_name(shape->type));
	if (shape->count > ST_MAX_DIMS)
		return err_set(err, errsz, "tensor '%s': shape has %zu dimensions (at most %d)", nb, shape->count,
			       ST_MAX_DIMS);
	t->ndim = (int)shape->count;
	for (size_t k = 0; k < shape->count; k++)
		if (get_uint(shape->items[k], &t->shape[k]) != 0)
			return err_set(err, errsz, "tensor '%s': shape entry %zu is not a non-negative integer", nb, k);
	format_shape(sb, sizeof sb, t->ndim, t->shape);
	if (offs->type != JSON_ARRAY || offs->count != 2)
		return err_set(err, errsz, "tensor '%s': data_offsets is not an array [begin, end]", nb);
	int64_t b, e;
	if (get_uint(offs->items[0], &b) != 0 || get_uint(offs->items[1], &e) != 0)
		return err_set(err, errsz, "tensor '%s': data_offsets entries are not non-negative integers", nb);
	if (e < b)
		return err_set(err, errsz, "tensor '%s': data_offsets [%lld, %lld] end before they begin", nb,
			       (long long)b, (long long)e);
	if ((uint64_t)e > data_len)
		return err_set(err, errsz, "tensor '%s': data_offsets [%lld, %lld] point past the end of the data "
			       "section (%zu bytes)", nb, (long long)b, (long long)e, data_len);
	size_t esize = dtype_size(t->dtype), count = 1;
	for (int k = 0; k < t->ndim; k++) {
		if (t->shape[k] && count > SIZE_MAX / esize / (uint64_t)t->shape[k])
			return err_set(err, errsz, "tensor '%s': shape %s overflows", nb, sb);
		count *= (size_t)t->shape[k];
	}
	size_t nbytes = (size_t)(e - b);
	if (nbytes != count * esize)
		return err_set(err, errsz, "tensor '%s': %zu bytes for %s %s needs %zu", nb, nbytes,
			       dtype_name(t->dtype), sb, count * esize);
	t->count = count;
	t->begin = (size_t)b;
	t->end = (size_t)e;
	return 0;
}

static int cmp_by_offset(const void *a, const void *b)
{
	const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* The tensors, in offset order, must tile [0, data_len) exactly: no gap, no overlap, nothing after. */
static int check_layout(st_file *f, size_t data_len, char *err, size_t errsz)
{
	char n1[128], n2[128];
	st_tensor **order = malloc((f->n_tensors + 1) * sizeof *order);
	if (!order)
		return err_set(err, errsz, "out of memory");
	for (size_t i = 0; i < f->n_tensors; i++)
		order[i] = &f->tensors[i];
	qsort(order, f->n_tensors, sizeof *order, cmp_by_offset);
	size_t pos = 0;
	int rc = 0;
	for (size_t i = 0; i < f->n_tensors && rc == 0; i++) {
		const st_tensor *t = order[i];
		if (t->begin < pos)
			rc = err_set(err, errsz, "tensors '%s' and '%s' overlap (data_offsets [%zu, %zu] and [%zu, %zu])",
				     printable(order[i - 1]->name, n1, sizeof n1), printable(t->name, n2, sizeof n2),
				     order[i - 1]->begin, order[i - 1]->end, t->begin, t->end);
		else if (t->begin > pos && i == 0)
			rc = err_set(err, errsz, "gap: bytes [0, %zu) of the data section before tensor '%s' belong to "
				     "no tensor", t->begin, printable(t->name, n2, sizeof n2));
		else if (t->begin > pos)
			rc = err_set(err, errsz, "gap between tensors '%s' and '%s': bytes [%zu, %zu) of the data "
				     "section belong to no tensor", printable(order[i - 1]->name, n1, sizeof n1),
				     printable(t->name, n2, sizeof n2), pos, t->begin);
		pos = t->end;
	}
	if (rc == 0 && pos != data_len)
		rc = f->n_tensors
			? err_set(err, errsz, "%zu bytes after the last tensor '%s' belong to no tensor (the file is "
				  "longer than its header says)", data_len - pos,
				  printable(order[f->n_tensors - 1]->name, n1, sizeof n1))
			: err_set(err, errsz, "%zu bytes of data but no tensors", data_len);
	free(order);
	return rc;
}

int st_parse(const void *buf, size_t len, st_file *f, char *err, size_t errsz)
{
	const unsigned char *b = buf;
	memset(f, 0, sizeof *f);
	if (len < 8)
		return err_set(err, errsz, "truncated: %zu bytes, less than the 8-byte header length", len);
	uint64_t n = 0;
	for (int i = 7; i >= 0; i--)
		n = n << 8 | b[i];
	if (n > len - 8 && (len == 8 || b[8] != '{')) /* neither a length that fits nor the JSON after it */
		return err_set(err, errsz,
			       "not a safetensors file (one starts with an 8-byte header length, then '{'; this one with "
			       "the bytes %02x %02x %02x %02x %02x %02x %02x %02x%s)",
			       b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], len > 8 ? " ..." : "");
	if (n > len - 8)
		return err_set(err, errsz, "header length %llu points past the end of the file (size %zu)",
			       (unsigned long long)n, len);
	if (n > ST_MAX_HEADER)
		return err_set(err, errsz, "header length %llu exceeds the limit of %u bytes", (unsigned long long)n,
			       ST_MAX_HEADER);
	/* The reference reader wants the JSON to start right away with '{'. */
	if (n == 0 || b[8] != '{')
		return err_set(err, errsz, "header does not start with '{'");
	char jerr[256];
	json_value *root = json_parse((const char *)b + 8, (size_t)n, jerr, sizeof jerr);
	if (!root)
		return err_set(err, errsz, "header JSON %s", jerr);
	int rc = 0;
	if (root->type != JSON_OBJECT) {
		rc = err_set(err, errsz, "header is %s, not a JSON object", json_type_name(root->type));
		goto out;
	}
	size_t data_len = len - 8 - (size_t)n;
	f->tensors = calloc(root->count + 1, sizeof *f->tensors);
	if (!f->tensors) {
		rc = err_set(err, errsz, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < root->count && rc == 0; i++) {
		if (strcmp(root->keys[i], "__metadata__") == 0) {
			rc = parse_metadata(root->items[i], f, err, errsz);
			continue;
		}
		st_tensor *t = &f->tensors[f->n_tensors];
		rc = parse_tensor(root->keys[i], root->items[i], data_len, t, err, errsz);
		if (rc == 0) {
			t->name = strdup(root->keys[i]);
			if (!t->name)
				rc = err_set(err, errsz, "out of memory");
			else
				f->n_tensors++;
		}
	}
	if (rc == 0)
		rc = check_layout(f, data_len, err, errsz);
	if (rc == 0)
		for (size_t i = 0; i < f->n_tensors; i++)
			f->tensors[i].data = b + 8 + n + f->tensors[i].begin;
out:
	json_free(root);
	if (rc != 0)
		free_file_fields(f);
	return rc;
}

enum { OPEN_OK = 0, OPEN_BAD_DATA = 1, OPEN_IO = 2 };

static int open_impl(const char *path, st_file *f, char *err, size_t errsz)
{
	memset(f, 0, sizeof *f);
	int from_stdin = strcmp(path, "-") == 0;
	int fd = from_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errsz, "%s: cannot open: %s", path, strerror(errno)), OPEN_IO;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		if (!from_stdin)
			close(fd);
		return err_set(err, errsz, "%s: cannot stat: %s", path, strerror(e)), OPEN_IO;
	}
	if (S_ISDIR(st.st_mode)) {
		/* A Hugging Face model directory (save_pretrained's layout): its model.safetensors. The
		 * directory is remembered (st_file.dir) for the reader of its config.json (model/hf_config.h). */
		if (!from_stdin)
			close(fd);
		size_t n = strlen(path);
		char *inner = malloc(n + sizeof "/model.safetensors");
		if (!inner)
			return err_set(err, errsz, "%s: out of memory", path), OPEN_IO;
		memcpy(inner, path, n);
		strcpy(inner + n - (n > 1 && path[n - 1] == '/'), "/model.safetensors");
		struct stat ist;
		int found = stat(inner, &ist) == 0;
		if (!found || S_ISDIR(ist.st_mode)) {
			const char *msg = found ? "is a directory" : strerror(errno);
			free(inner);
			return err_set(err, errsz, "%s: is a directory, and not a Hugging Face model directory: "
						   "model.safetensors: %s (a sharded model, model.safetensors.index.json, "
						   "is not read)", path, msg), OPEN_IO;
		}
		int rc = open_impl(inner, f, err, errsz);
		free(inner);
		if (rc == OPEN_OK && !(f->dir = strdup(path))) {
			st_close(f);
			return err_set(err, errsz, "%s: out of memory", path), OPEN_IO;
		}
		return rc;
	}
	void *map = NULL;
	size_t map_len = 0, len = 0;
	if (S_ISREG(st.st_mode)) {
		if (st.st_size < 8) {
			if (!from_stdin)
				close(fd);
			return err_set(err, errsz, "%s: truncated: %lld bytes, less than the 8-byte header length", path,
				       (long long)st.st_size), OPEN_BAD_DATA;
		}
		len = map_len = (size_t)st.st_size;
		map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			int e = errno;
			if (!from_stdin)
				close(fd);
			return err_set(err, errsz, "%s: cannot map: %s", path, strerror(e)), OPEN_IO;
		}
	} else {
		/* A pipe (standard input) cannot be mapped: read it into an anonymous mapping that grows,
		 * so st_close always unmaps. */
		size_t cap = 1 << 20, n = 0;
		unsigned char *m = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			goto read_failed;
		for (;;) {
			if (n == cap) {
				void *bigger = mremap(m, cap, cap * 2, MREMAP_MAYMOVE);
				if (bigger == MAP_FAILED) {
					munmap(m, cap);
					goto read_failed;
				}
				m = bigger;
				cap *= 2;
			}
			ssize_t got = read(fd, m + n, cap - n);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0) {
				int e = errno;
				munmap(m, cap);
				errno = e;
				goto read_failed;
			}
			if (got == 0)
				break;
			n += (size_t)got;
		}
		map = m;
		map_len = cap;
		len = n;
	}
	if (!from_stdin)
		close(fd);
	char perr[512];
	if (st_parse(map, len, f, perr, sizeof perr) != 0) {
		munmap(map, map_len);
		return err_set(err, errsz, "%s: %s", path, perr), OPEN_BAD_DATA;
	}
	f->map = map;
	f->map_len = map_len;
	f->path = strdup(path);
	if (!f->path) {
		st_close(f);
		return err_set(err, errsz, "%s: out of memory", path), OPEN_IO;
	}
	return OPEN_OK;
read_failed:;
	int e = errno;
	if (!from_stdin)
		close(fd);
	return err_set(err, errsz, "%s: read error: %s", path, strerror(e)), OPEN_IO;
}

int st_open(const char *path, st_file *f, char *err, size_t errsz)
{
	return open_impl(path, f, err, errsz) == OPEN_OK ? 0 : -1;
}

void st_open_or_die(const char *path, st_file *f)
{
	char err[1024];
	int rc = open_impl(path, f, err, sizeof err);
	if (rc == OPEN_BAD_DATA)
		die(LFM_EXIT_DATA, "%s", err);
	if (rc == OPEN_IO)
		die(LFM_EXIT_IO, "%s", err);
}

void st_close(st_file *f)
{
	free_file_fields(f);
	if (f->map)
		munmap(f->map, f->map_len);
	free(f->path);
	free(f->dir);
	memset(f, 0, sizeof *f);
}

const st_tensor *st_find(const st_file *f, const char *name)
{
	for (size_t i = 0; i < f->n_tensors; i++)
		if (strcmp(f->tensors[i].name, name) == 0)
			return &f->tensors[i];
	return NULL;
}

const char *st_meta(const st_file *f, const char *key)
{
	for (size_t i = 0; i < f->n_meta; i++)
		if (strcmp(f->meta_keys[i], key) == 0)
			return f->meta_values[i];
	return NULL;
}

float *st_to_f32(const st_tensor *t, float *dst)
{
	if (!dst)
		dst = xmalloc_array(t->count, sizeof *dst);
	dtype_to_f32(t->dtype, t->data, dst, t->count);
	return dst;
}

/* ---- writer ------------------------------------------------------------------------------------- */

typedef struct st_entry {
	char *name;
	dtype dtype;
	int ndim;
	int64_t shape[ST_MAX_DIMS];
	size_t nbytes;
	const void *data;
} st_entry;

struct st_writer {
	st_entry *entries;
	size_t n, cap;
	char **meta_keys, **meta_values;
	size_t n_meta, meta_cap;
};

st_writer *st_writer_new(void) { return xcalloc(1, sizeof(st_writer)); }

void st_writer_add(st_writer *w, const char *name, dtype t, int ndim, const int64_t *shape, const void *data)
{
	if (strcmp(name, "__metadata__") == 0)
		die(LFM_EXIT_DATA, "safetensors writer: '__metadata__' cannot name a tensor");
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->entries[i].name, name) == 0)
			die(LFM_EXIT_DATA, "safetensors writer: tensor '%s' added twice", name);
	if ((unsigned)t >= DT_COUNT)
		die(LFM_EXIT_DATA, "safetensors writer: tensor '%s': invalid dtype", name);
	if (ndim < 0 || ndim > ST_MAX_DIMS)
		die(LFM_EXIT_DATA, "safetensors writer: tensor '%s': %d dimensions (at most %d)", name, ndim,
		    ST_MAX_DIMS);
	size_t count = 1, esize = dtype_size(t);
	for (int k = 0; k < ndim; k++) {
		if (shape[k] < 0 || (shape[k] && count > SIZE_MAX / esize / (uint64_t)shape[k]))
			die(LFM_EXIT_DATA, "safetensors writer: tensor '%s': invalid shape", name);
		count *= (size_t)shape[k];
	}
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 16;
		w->entries = xrealloc(w->entries, w->cap * sizeof *w->entries);
	}
	st_entry *e = &w->entries[w->n++];
	memset(e, 0, sizeof *e);
	e->name = xstrdup(name);
	e->dtype = t;
	e->ndim = ndim;
	if (ndim)
		memcpy(e->shape, shape, (size_t)ndim * sizeof *shape);
	e->nbytes = count * esize;
	e->data = data;
}

void st_writer_meta(st_writer *w, const char *key, const char *value)
{
	for (size_t i = 0; i < w->n_meta; i++)
		if (strcmp(w->meta_keys[i], key) == 0) {
			free(w->meta_values[i]);
			w->meta_values[i] = xstrdup(value);
			return;
		}
	if (w->n_meta == w->meta_cap) {
		w->meta_cap = w->meta_cap ? 2 * w->meta_cap : 8;
		w->meta_keys = xrealloc(w->meta_keys, w->meta_cap * sizeof *w->meta_keys);
		w->meta_values = xrealloc(w->meta_values, w->meta_cap * sizeof *w->meta_values);
	}
	w->meta_keys[w->n_meta] = xstrdup(key);
	w->meta_values[w->n_meta++] = xstrdup(value);
}

static int cmp_entry_name(const void *a, const void *b)
{
	return strcmp(((const st_entry *)a)->name, ((const st_entry *)b)->name);
}

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void st_writer_save(st_writer *w, const char *path)
{
	const char *name = path && strcmp(path, "-") ? path : "stdout";
	if (w->n > 1)
		qsort(w->entries, w->n, sizeof *w->entries, cmp_entry_name);
	char *hdr = NULL;
	size_t hlen = 0;
	FILE *h = open_memstream(&hdr, &hlen);
	if (!h)
		die(LFM_EXIT_IO, "%s: cannot build the header:", name);
	fputc('{', h);
	if (w->n_meta) {
		/* Metadata keys sorted too, so equal inputs give byte-identical files. */
		char **keys = xmalloc_array(w->n_meta, sizeof *keys);
		memcpy(keys, w->meta_keys, w->n_meta * sizeof *keys);
		qsort(keys, w->n_meta, sizeof *keys, cmp_str_ptr);
		fputs("\"__metadata__\":{", h);
		for (size_t i = 0; i < w->n_meta; i++) {
			const char *k = keys[i];
			const char *v = NULL;
			for (size_t j = 0; j < w->n_meta; j++)
				if (w->meta_keys[j] == k)
					v = w->meta_values[j];
			if (i)
				fputc(',', h);
			json_write_string(h, k, strlen(k));
			fputc(':', h);
			json_write_string(h, v, strlen(v));
		}
		fputc('}', h);
		free(keys);
	}
	size_t off = 0;
	for (size_t i = 0; i < w->n; i++) {
		const st_entry *e = &w->entries[i];
		if (i || w->n_meta)
			fputc(',', h);
		json_write_string(h, e->name, strlen(e->name));
		fprintf(h, ":{\"dtype\":\"%s\",\"shape\":[", dtype_name(e->dtype));
		for (int k = 0; k < e->ndim; k++)
			fprintf(h, "%s%lld", k ? "," : "", (long long)e->shape[k]);
		fprintf(h, "],\"data_offsets\":[%zu,%zu]}", off, off + e->nbytes);
		off += e->nbytes;
	}
	fputc('}', h);
	if (fflush(h) != 0 || ferror(h))
		die(LFM_EXIT_IO, "%s: cannot build the header:", name);
	/* Pad with spaces to a multiple of 8, so the data section is 8-byte aligned. */
	while (hlen % 8)
		fputc(' ', h), fflush(h);
	if (fclose(h) != 0)
		die(LFM_EXIT_IO, "%s: cannot build the header:", name);
	if (hlen > ST_MAX_HEADER)
		die(LFM_EXIT_DATA, "%s: header of %zu bytes exceeds the %u-byte limit", name, hlen, ST_MAX_HEADER);
	unsigned char lenbuf[8];
	for (int i = 0; i < 8; i++)
		lenbuf[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
	outfile o;
	outfile_open(&o, path, "wb");
	xfwrite(lenbuf, 8, o.f, name);
	xfwrite(hdr, hlen, o.f, name);
	for (size_t i = 0; i < w->n; i++)
		xfwrite(w->entries[i].data, w->entries[i].nbytes, o.f, name);
	outfile_commit(&o);
	free(hdr);
}

void st_writer_free(st_writer *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++)
		free(w->entries[i].name);
	free(w->entries);
	for (size_t i = 0; i < w->n_meta; i++) {
		free(w->meta_keys[i]);
		free(w->meta_values[i]);
	}
	free(w->meta_keys);
	free(w->meta_values);
	free(w);
}
