/* checkpoint.c — see checkpoint.h. */
#include "model/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

/* The vision tower's tensor names under a naming. */
static clip_tensor_ref *vision_refs(const clip_config *c, clip_naming naming, size_t *n)
{
	*n = clip_tensor_refs(c, CLIP_VISION, naming, NULL);
	clip_tensor_ref *refs = xmalloc_array(*n, sizeof *refs);
	clip_tensor_refs(c, CLIP_VISION, naming, refs);
	return refs;
}

static int is_vision_name(const clip_tensor_ref *refs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(refs[i].name, name) == 0)
			return 1;
	return 0;
}

static float *add_block(st_writer *w, const clip_tensor_ref *refs, size_t n, const char *prefix,
			const float *block, uint64_t *h);

static int in_list(const char *const *kv, const char *key)
{
	for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2)
		if (strcmp(kv[i], key) == 0)
			return 1;
	return 0;
}

/* A 64-bit hash of n bytes: four lanes of multiply-xor over 8-byte words (a ViT-B/32 checkpoint's 0.6 GB
 * in a fraction of a second), the tail bytewise, the lanes folded. Not cryptographic: it tells a
 * checkpoint from another one, not from an adversary. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static uint64_t bytes_hash(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t lane[4] = {0x9e3779b97f4a7c15ull, 0xbf58476d1ce4e5b9ull, 0x94d049bb133111ebull, 0x2545f4914f6cdd1dull};
	size_t i = 0;
	for (; i + 32 <= n; i += 32)
		for (int k = 0; k < 4; k++) {
			uint64_t w;
			memcpy(&w, b + i + 8 * k, 8);
			lane[k] = (lane[k] ^ w) * 0x100000001b3ull;
			lane[k] ^= lane[k] >> 29;
		}
	uint64_t h = n;
	for (; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	for (int k = 0; k < 4; k++)
		h = mix64(h ^ mix64(lane[k] + (uint64_t)k));
	return h;
}

static uint64_t tensor_hash(const char *name, dtype t, const void *data, size_t nbytes)
{
	return mix64(bytes_hash(name, strlen(name)) ^ mix64((uint64_t)t + 1) ^ (bytes_hash(data, nbytes) * 3));
}

uint64_t checkpoint_hash(const st_file *f)
{
	uint64_t h = 0;
	for (size_t i = 0; i < f->n_tensors; i++) {
		const st_tensor *t = &f->tensors[i];
		h += tensor_hash(t->name, t->dtype, t->data, t->end - t->begin);
	}
	return h;
}

struct checkpoint_writer {
	st_writer *w;
	float *vision;
	clip_tensor_ref *refs;
};

/* st_writer_add, the tensor's hash added to *h. */
static void add_hashed(st_writer *w, uint64_t *h, const char *name, dtype t, int ndim, const int64_t *shape,
		       const void *data)
{
	size_t count = 1;
	for (int k = 0; k < ndim; k++)
		count *= (size_t)shape[k];
	*h += tensor_hash(name, t, data, count * dtype_size(t));
	st_writer_add(w, name, t, ndim, shape, data);
}

checkpoint_writer *checkpoint_prepare(const st_file *source, const clip_model *m, const float *fc,
				      const char *const *meta, uint64_t *hash)
{
	const clip_config *c = &m->cfg;
	size_t nv;
	checkpoint_writer *cw = xcalloc(1, sizeof *cw);
	cw->refs = vision_refs(c, m->naming, &nv);
	st_writer *w = cw->w = st_writer_new();
	uint64_t h = 0;
	cw->vision = add_block(w, cw->refs, nv, "", m->vision.param_memory, &h);
	for (size_t i = 0; i < source->n_tensors; i++) {
		const st_tensor *t = &source->tensors[i];
		if (is_vision_name(cw->refs, nv, t->name) || strcmp(t->name, "fc.weight") == 0)
			continue;
		add_hashed(w, &h, t->name, t->dtype, t->ndim, t->shape, t->data);
	}
	if (fc) {
		int64_t shape[2] = {c->embed_dim, c->embed_dim};
		add_hashed(w, &h, "fc.weight", DT_F32, 2, shape, fc);
	}
	/* The configuration of the towers the file holds: the source's (the text tower travels with it). */
	clip_config full = *c;
	clip_naming nm;
	int present = 0;
	char err[512];
	clip_load_opts all = {.towers = CLIP_VISION, .vision_heads = c->vision_heads};
	if (clip_config_from_file(source, &all, &full, &nm, &present, err, sizeof err) == 0 && (present & CLIP_TEXT)) {
		clip_load_opts both = {.towers = CLIP_BOTH, .vision_heads = c->vision_heads};
		if (clip_config_from_file(source, &both, &full, &nm, &present, err, sizeof err) != 0)
			full = *c;
	} else {
		full = *c;
	}
	full.vision_heads = c->vision_heads;
	static const char *const ours[] = {"format", "naming", "config"};
	for (size_t i = 0; i < source->n_meta; i++) {
		const char *k = source->meta_keys[i];
		int skip = in_list(meta, k);
		for (size_t j = 0; j < sizeof ours / sizeof *ours; j++)
			skip |= strcmp(k, ours[j]) == 0;
		if (!skip)
			st_writer_meta(w, k, source->meta_values[i]);
	}
	clip_writer_meta(w, &full, m->naming);
	for (size_t i = 0; meta && meta[i] && meta[i + 1]; i += 2)
		st_writer_meta(w, meta[i], meta[i + 1]);
	if (hash)
		*hash = h;
	return cw;
}

void checkpoint_write(checkpoint_writer *cw, const char *path)
{
	st_writer_save(cw->w, path);
	st_writer_free(cw->w);
	free(cw->vision);
	free(cw->refs);
	free(cw);
}

void checkpoint_save(const char *path, const st_file *source, const clip_model *m, const float *fc,
		     const char *const *meta)
{
	checkpoint_write(checkpoint_prepare(source, m, fc, meta, NULL), path);
}

static char *beside(const char *ckpt_path, const char *suffix)
{
	static const char ext[] = ".safetensors";
	size_t n = strlen(ckpt_path), e = sizeof ext - 1;
	if (n > e && strcmp(ckpt_path + n - e, ext) == 0)
		return xasprintf("%.*s%s", (int)(n - e), ckpt_path, suffix);
	return xasprintf("%s%s", ckpt_path, suffix);
}

char *checkpoint_resume_path(const char *ckpt_path) { return beside(ckpt_path, ".resume.safetensors"); }
char *checkpoint_resume_next_path(const char *ckpt_path) { return beside(ckpt_path, ".resume.next.safetensors"); }

/* Add a float32 block (a tower's parameter layout) under prefix + the file names. Tensors stored as they
 * are in memory are referenced in place (no copy: a ViT-B/32 tower is 350 MB, and a resume file holds two
 * such blocks); transposed ones (HF's projections) are copied, in the file's layout, into the returned
 * allocation (NULL when none), to be freed after st_writer_save. */
static float *add_block(st_writer *w, const clip_tensor_ref *refs, size_t n, const char *prefix, const float *block,
			uint64_t *h)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		if (refs[i].transposed)
			total += refs[i].count;
	float *mem = total ? xmalloc_array(total, sizeof *mem) : NULL;
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		const clip_tensor_ref *r = &refs[i];
		const float *src = block + r->offset, *data = src;
		if (r->transposed) {
			float *dst = mem + off;
			size_t rows = (size_t)r->shape[0], cols = (size_t)r->shape[1];
			for (size_t a = 0; a < rows; a++)
				for (size_t b = 0; b < cols; b++)
					dst[a * cols + b] = src[b * rows + a];
			data = dst;
			off += r->count;
		}
		char *name = xasprintf("%s%s", prefix, r->name);
		add_hashed(w, h, name, DT_F32, r->ndim, r->shape, data);
		free(name);
	}
	return mem;
}

/* The tensors a stage trains, as refs over a flat array. */
static clip_tensor_ref *trained_refs(const clip_config *c, clip_naming naming, int stage, size_t *n)
{
	if (stage == 1)
		return vision_refs(c, naming, n);
	clip_tensor_ref *r = xcalloc(1, sizeof *r);
	snprintf(r->name, sizeof r->name, "fc.weight");
	r->ndim = 2;
	r->shape[0] = r->shape[1] = c->embed_dim;
	r->count = (size_t)c->embed_dim * c->embed_dim;
	r->layer = -1;
	*n = 1;
	return r;
}

void resume_save(const char *path, const clip_config *c, clip_naming naming, int stage, const float *m,
		 const float *v, const char *const *meta)
{
	size_t n;
	clip_tensor_ref *refs = trained_refs(c, naming, stage, &n);
	st_writer *w = st_writer_new();
	uint64_t h = 0;
	float *a = add_block(w, refs, n, "adam.m.", m, &h);
	float *b = add_block(w, refs, n, "adam.v.", v, &h);
	st_writer_meta(w, "lfm.format", RESUME_FORMAT);
	for (size_t i = 0; meta && meta[i] && meta[i + 1]; i += 2)
		st_writer_meta(w, meta[i], meta[i + 1]);
	st_writer_save(w, path);
	st_writer_free(w);
	free(a);
	free(b);
	free(refs);
}

static int load_block(const st_file *f, const clip_tensor_ref *refs, size_t n, const char *prefix, float *block,
		      char *err, size_t errsz)
{
	for (size_t i = 0; i < n; i++) {
		const clip_tensor_ref *r = &refs[i];
		char *name = xasprintf("%s%s", prefix, r->name);
		const st_tensor *t = st_find(f, name);
		int ok = t && t->dtype == DT_F32 && t->ndim == r->ndim;
		for (int k = 0; ok && k < r->ndim; k++)
			ok = t->shape[k] == r->shape[k];
		if (!ok) {
			snprintf(err, errsz, "%s: tensor '%s' %s", f->path ? f->path : "resume file", name,
				 t ? "has another dtype or shape than the model's (F32 expected)" : "missing");
			free(name);
			return -1;
		}
		free(name);
		const float *src = t->data; /* F32, 8-byte aligned data section */
		float *dst = block + r->offset;
		if (r->transposed) {
			size_t rows = (size_t)r->shape[0], cols = (size_t)r->shape[1];
			for (size_t a = 0; a < rows; a++)
				for (size_t b = 0; b < cols; b++)
					dst[b * rows + a] = src[a * cols + b];
		} else {
			memcpy(dst, src, r->count * sizeof *dst);
		}
	}
	return 0;
}

int resume_load(const st_file *f, const clip_config *c, clip_naming naming, int stage, float *m, float *v,
		char *err, size_t errsz)
{
	const char *fmt = st_meta(f, "lfm.format");
	if (!fmt || strcmp(fmt, RESUME_FORMAT) != 0) {
		snprintf(err, errsz, "%s: not a resume file (metadata lfm.format is %s%s%s, expected %s)",
			 f->path ? f->path : "resume file", fmt ? "'" : "", fmt ? fmt : "absent", fmt ? "'" : "",
			 RESUME_FORMAT);
		return -1;
	}
	size_t n;
	clip_tensor_ref *refs = trained_refs(c, naming, stage, &n);
	int rc = load_block(f, refs, n, "adam.m.", m, err, errsz);
	if (rc == 0)
		rc = load_block(f, refs, n, "adam.v.", v, err, errsz);
	free(refs);
	return rc;
}
