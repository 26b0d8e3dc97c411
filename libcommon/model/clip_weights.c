/* clip_weights.c — see clip_weights.h. */
#include "model/clip_weights.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/errors.h"
#include "base/json.h"
#include "base/tensor_dtype.h"
#include "model/hf_config.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define CLIP_F16C 1
#endif

const char *clip_naming_name(clip_naming n) { return n == CLIP_NAMING_HF ? "hf-clipmodel" : "openai-clip"; }

/* ---- names ----------------------------------------------------------------------------------------- */

/* The resblock tensors in clip_blocks order. NULL in the HF column: split into q, k, v (see below). */
static const char *const block_openai[CLIP_BLOCK_TENSORS] = {
	"ln_1.weight",   "ln_1.bias",         "attn.in_proj_weight", "attn.in_proj_bias",
	"attn.out_proj.weight", "attn.out_proj.bias", "ln_2.weight", "ln_2.bias",
	"mlp.c_fc.weight", "mlp.c_fc.bias",   "mlp.c_proj.weight",   "mlp.c_proj.bias",
};
static const char *const block_hf[CLIP_BLOCK_TENSORS] = {
	"layer_norm1.weight", "layer_norm1.bias", "self_attn.%s_proj.weight", "self_attn.%s_proj.bias",
	"self_attn.out_proj.weight", "self_attn.out_proj.bias", "layer_norm2.weight", "layer_norm2.bias",
	"mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias",
};
#define BLOCK_QKV_W 2
#define BLOCK_QKV_B 3

/* Per tower: the names of the tensors before the blocks, the block prefix, the names after the blocks;
 * the last tensor (the projection) is transposed in HF files. */
typedef struct tower_names {
	const char *head[5];
	int n_head;
	const char *block_prefix;
	const char *tail[3];
} tower_names;

static const tower_names vision_names[2] = {
	{{"visual.conv1.weight", "visual.class_embedding", "visual.positional_embedding", "visual.ln_pre.weight",
	  "visual.ln_pre.bias"},
	 5,
	 "visual.transformer.resblocks.",
	 {"visual.ln_post.weight", "visual.ln_post.bias", "visual.proj"}},
	{{"vision_model.embeddings.patch_embedding.weight", "vision_model.embeddings.class_embedding",
	  "vision_model.embeddings.position_embedding.weight", "vision_model.pre_layrnorm.weight",
	  "vision_model.pre_layrnorm.bias"},
	 5,
	 "vision_model.encoder.layers.",
	 {"vision_model.post_layernorm.weight", "vision_model.post_layernorm.bias", "visual_projection.weight"}},
};
static const tower_names text_names[2] = {
	{{"token_embedding.weight", "positional_embedding"},
	 2,
	 "transformer.resblocks.",
	 {"ln_final.weight", "ln_final.bias", "text_projection"}},
	{{"text_model.embeddings.token_embedding.weight", "text_model.embeddings.position_embedding.weight"},
	 2,
	 "text_model.encoder.layers.",
	 {"text_model.final_layer_norm.weight", "text_model.final_layer_norm.bias", "text_projection.weight"}},
};

static void emit(clip_tensor_ref *out, size_t *n, const char *name, int ndim, const int64_t *shape,
		 size_t offset, size_t count, int transposed, int param, int layer)
{
	if (out) {
		clip_tensor_ref *r = &out[*n];
		memset(r, 0, sizeof *r);
		snprintf(r->name, sizeof r->name, "%s", name);
		r->ndim = ndim;
		for (int i = 0; i < ndim; i++)
			r->shape[i] = shape[i];
		r->count = count;
		r->offset = offset;
		r->transposed = transposed;
		r->param = param;
		r->layer = layer;
	}
	(*n)++;
}

size_t clip_tensor_refs(const clip_config *c, int tower, clip_naming naming, clip_tensor_ref *out)
{
	clip_param_info info[CLIP_VISION_TENSORS > CLIP_TEXT_TENSORS ? CLIP_VISION_TENSORS : CLIP_TEXT_TENSORS];
	int n_info, layers;
	const tower_names *tn;
	if (tower == CLIP_VISION) {
		clip_vision_param_info(c, info);
		n_info = CLIP_VISION_TENSORS;
		layers = c->vision_layers;
		tn = &vision_names[naming == CLIP_NAMING_HF];
	} else {
		clip_text_param_info(c, info);
		n_info = CLIP_TEXT_TENSORS;
		layers = c->text_layers;
		tn = &text_names[naming == CLIP_NAMING_HF];
	}
	int hf = naming == CLIP_NAMING_HF;
	size_t n = 0;
	char name[160];
	for (int i = 0; i < n_info; i++) {
		const clip_param_info *p = &info[i];
		if (i < tn->n_head) {
			emit(out, &n, tn->head[i], p->ndim, p->shape, p->offset, p->count, 0, i, -1);
			continue;
		}
		int j = i - tn->n_head;
		if (j >= CLIP_BLOCK_TENSORS) {
			int k = j - CLIP_BLOCK_TENSORS;
			if (k == 2 && hf) { /* HF's projections are nn.Linear weights: [out, in] = proj^T */
				int64_t t[2] = {p->shape[1], p->shape[0]};
				emit(out, &n, tn->tail[k], 2, t, p->offset, p->count, 1, i, -1);
			} else {
				emit(out, &n, tn->tail[k], p->ndim, p->shape, p->offset, p->count, 0, i, -1);
			}
			continue;
		}
		size_t per = p->count / (size_t)layers;
		for (int l = 0; l < layers; l++) {
			size_t off = p->offset + (size_t)l * per;
			if (hf && (j == BLOCK_QKV_W || j == BLOCK_QKV_B)) {
				/* in_proj rows [0, W) are q, [W, 2W) k, [2W, 3W) v: contiguous thirds */
				static const char *const part[3] = {"q", "k", "v"};
				int64_t s[2] = {p->shape[1] / 3, p->ndim == 3 ? p->shape[2] : 0};
				for (int q = 0; q < 3; q++) {
					char suffix[64];
					snprintf(suffix, sizeof suffix, block_hf[j], part[q]);
					snprintf(name, sizeof name, "%s%d.%s", tn->block_prefix, l, suffix);
					emit(out, &n, name, p->ndim - 1, s, off + (size_t)q * per / 3, per / 3, 0, i, l);
				}
			} else {
				snprintf(name, sizeof name, "%s%d.%s", tn->block_prefix, l,
					 hf ? block_hf[j] : block_openai[j]);
				emit(out, &n, name, p->ndim - 1, p->shape + 1, off, per, 0, i, l);
			}
		}
	}
	return n;
}

/* ---- configuration from shapes ---------------------------------------------------------------------- */

static const char *file_name(const st_file *f) { return f->path ? f->path : "safetensors"; }

/* The tensor `name`, which must have ndim dimensions; expected describes the wanted shape. */
static const st_tensor *need(const st_file *f, const char *name, int ndim, const char *expected, char *err,
			     size_t errsz)
{
	const st_tensor *t = st_find(f, name);
	if (!t) {
		err_set(err, errsz, "%s: tensor '%s' missing (expected shape %s)", file_name(f), name, expected);
		return NULL;
	}
	if (t->ndim != ndim) {
		char found[128];
		format_shape(found, sizeof found, t->ndim, t->shape);
		err_set(err, errsz, "%s: tensor '%s': shape %s found, %s expected", file_name(f), name, found, expected);
		return NULL;
	}
	return t;
}

static int shape_fail(const st_file *f, const st_tensor *t, const char *expected, char *err, size_t errsz)
{
	char found[128];
	format_shape(found, sizeof found, t->ndim, t->shape);
	return err_set(err, errsz, "%s: tensor '%s': shape %s found, %s expected", file_name(f), t->name, found,
		    expected);
}

/* Resblock count: 1 + the largest N of any tensor named PREFIX N.something. */
static int count_layers(const st_file *f, const char *prefix)
{
	size_t plen = strlen(prefix);
	long max = -1;
	for (size_t i = 0; i < f->n_tensors; i++) {
		const char *name = f->tensors[i].name;
		if (strncmp(name, prefix, plen) != 0 || !isdigit((unsigned char)name[plen]))
			continue;
		char *end;
		long v = strtol(name + plen, &end, 10);
		if (*end == '.' && v < 100000 && v > max)
			max = v;
	}
	return (int)(max + 1);
}

static int heads_for(int width, int given, const char *tower, char *err, size_t errsz)
{
	if (given > 0)
		return given;
	if (width % 64)
		return err_set(err, errsz, "%s tower: width %d is not a multiple of 64, so the head count cannot be derived "
					"as OpenAI does (width / 64): give it explicitly", tower, width);
	return width / 64;
}

/* The head counts a file's "config" metadata records (our checkpoints and clip-init's files:
 * "vision_heads", "transformer_heads"), as defaults where the tool was given none: a model trained from a
 * Hugging Face directory with heads other than width / 64 keeps them in its checkpoint, which has no
 * config.json. An explicit count still wins (clip-embed-text --heads is an override). Metadata that is
 * absent or not such JSON leaves the OpenAI rule (width / 64) in force. */
static void heads_from_metadata(const st_file *f, int *vision_heads, int *text_heads)
{
	const char *cfg = st_meta(f, "config");
	if (!cfg)
		return;
	char jerr[64];
	json_value *j = json_parse(cfg, strlen(cfg), jerr, sizeof jerr);
	if (!j)
		return;
	const json_value *v = json_get(j, "vision_heads"), *t = json_get(j, "transformer_heads");
	if (*vision_heads <= 0 && v && v->type == JSON_NUMBER && v->is_integer && v->integer > 0 && v->integer <= 65536)
		*vision_heads = (int)v->integer;
	if (*text_heads <= 0 && t && t->type == JSON_NUMBER && t->is_integer && t->integer > 0 && t->integer <= 65536)
		*text_heads = (int)t->integer;
	json_free(j);
}

int clip_config_from_file(const st_file *f, const clip_load_opts *o, clip_config *c, clip_naming *naming,
			  int *present, char *err, size_t errsz)
{
	memset(c, 0, sizeof *c);
	int openai = st_find(f, vision_names[0].head[0]) || st_find(f, text_names[0].head[0]);
	int hf = st_find(f, vision_names[1].head[0]) || st_find(f, text_names[1].head[0]);
	if (!openai && !hf)
		return err_set(err, errsz, "%s: no CLIP tensors (neither OpenAI names such as '%s' / '%s' nor Hugging "
					"Face names such as '%s' / '%s')", file_name(f), vision_names[0].head[0],
			    text_names[0].head[0], vision_names[1].head[0], text_names[1].head[0]);
	clip_naming nm = openai ? CLIP_NAMING_OPENAI : CLIP_NAMING_HF;
	const tower_names *vn = &vision_names[nm], *tn = &text_names[nm];
	int have = (st_find(f, vn->head[0]) ? CLIP_VISION : 0) | (st_find(f, tn->head[0]) ? CLIP_TEXT : 0);
	*naming = nm;
	*present = have;
	char exp[160];
	/* A Hugging Face model directory: its config.json says the activation (refused unless QuickGELU) and
	 * the head counts, which a tool's own --heads must then agree with. */
	hf_clip_config hfc;
	int vision_heads = o->vision_heads, text_heads = o->text_heads;
	if (f->dir) {
		if (hf_config_read(f->dir, o->towers & have, &hfc, err, errsz))
			return -1;
		if ((o->towers & CLIP_VISION) && (have & CLIP_VISION)) {
			if (vision_heads > 0 && vision_heads != hfc.vision_heads)
				return err_set(err, errsz, "%s/config.json: %d vision attention heads, but %d were asked for",
					       f->dir, hfc.vision_heads, vision_heads);
			vision_heads = hfc.vision_heads;
		}
		if ((o->towers & CLIP_TEXT) && (have & CLIP_TEXT)) {
			if (text_heads > 0 && text_heads != hfc.text_heads)
				return err_set(err, errsz, "%s/config.json: %d text attention heads, but %d were asked for",
					       f->dir, hfc.text_heads, text_heads);
			text_heads = hfc.text_heads;
		}
	}
	else
		heads_from_metadata(f, &vision_heads, &text_heads);
	if ((o->towers & CLIP_VISION) && !(have & CLIP_VISION))
		return err_set(err, errsz, "%s: no vision tower (no tensor '%s')", file_name(f), vn->head[0]);
	if ((o->towers & CLIP_TEXT) && !(have & CLIP_TEXT))
		return err_set(err, errsz, "%s: no text tower (no tensor '%s')", file_name(f), tn->head[0]);

	if (o->towers & CLIP_VISION) {
		const st_tensor *conv = need(f, vn->head[0], 4, "[width, 3, patch, patch]", err, errsz);
		if (!conv)
			return -1;
		if (conv->shape[1] != 3 || conv->shape[2] != conv->shape[3] || conv->shape[0] <= 0 ||
		    conv->shape[2] <= 0 || conv->shape[0] > 65536 || conv->shape[2] > 4096)
			return shape_fail(f, conv, "[width, 3, patch, patch]", err, errsz);
		int W = (int)conv->shape[0], P = (int)conv->shape[2];
		snprintf(exp, sizeof exp, "[grid * grid + 1, %d]", W);
		const st_tensor *pos = need(f, vn->head[2], 2, exp, err, errsz);
		if (!pos)
			return -1;
		int64_t T = pos->shape[0], G = 0;
		while ((G + 1) * (G + 1) <= T - 1 && G < 65536)
			G++;
		if (pos->shape[1] != W || T < 2 || G * G != T - 1)
			return shape_fail(f, pos, exp, err, errsz);
		snprintf(exp, sizeof exp, nm == CLIP_NAMING_HF ? "[embed, %d]" : "[%d, embed]", W);
		const st_tensor *proj = need(f, vn->tail[2], 2, exp, err, errsz);
		if (!proj)
			return -1;
		int64_t D = nm == CLIP_NAMING_HF ? proj->shape[0] : proj->shape[1];
		if (proj->shape[nm == CLIP_NAMING_HF ? 1 : 0] != W || D <= 0 || D > 65536)
			return shape_fail(f, proj, exp, err, errsz);
		c->embed_dim = (int)D;
		c->vision_width = W;
		c->patch_size = P;
		c->image_resolution = (int)(G * P);
		c->vision_layers = count_layers(f, vn->block_prefix);
		if (c->vision_layers == 0)
			return err_set(err, errsz, "%s: vision tower without resblocks (no tensor '%s0.%s')", file_name(f),
				    vn->block_prefix, nm == CLIP_NAMING_HF ? block_hf[0] : block_openai[0]);
		c->vision_heads = heads_for(W, vision_heads, "vision", err, errsz);
		if (c->vision_heads < 0)
			return -1;
	}
	if (o->towers & CLIP_TEXT) {
		const st_tensor *tok = need(f, tn->head[0], 2, "[vocabulary, width]", err, errsz);
		if (!tok)
			return -1;
		if (tok->shape[0] <= 0 || tok->shape[1] <= 0 || tok->shape[1] > 65536 || tok->shape[0] > 100000000)
			return shape_fail(f, tok, "[vocabulary, width]", err, errsz);
		int V = (int)tok->shape[0], W = (int)tok->shape[1];
		snprintf(exp, sizeof exp, "[context, %d]", W);
		const st_tensor *pos = need(f, tn->head[1], 2, exp, err, errsz);
		if (!pos)
			return -1;
		if (pos->shape[1] != W || pos->shape[0] < 2 || pos->shape[0] > 65536)
			return shape_fail(f, pos, exp, err, errsz);
		snprintf(exp, sizeof exp, nm == CLIP_NAMING_HF ? "[embed, %d]" : "[%d, embed]", W);
		const st_tensor *proj = need(f, tn->tail[2], 2, exp, err, errsz);
		if (!proj)
			return -1;
		int64_t D = nm == CLIP_NAMING_HF ? proj->shape[0] : proj->shape[1];
		if (proj->shape[nm == CLIP_NAMING_HF ? 1 : 0] != W || D <= 0 || D > 65536)
			return shape_fail(f, proj, exp, err, errsz);
		if (c->embed_dim && c->embed_dim != D)
			return err_set(err, errsz, "%s: the text projection '%s' maps to %lld dimensions, the vision "
						"projection '%s' to %d", file_name(f), tn->tail[2], (long long)D,
				    vn->tail[2], c->embed_dim);
		c->embed_dim = (int)D;
		c->vocab_size = V;
		c->text_width = W;
		c->context_length = (int)pos->shape[0];
		c->text_layers = count_layers(f, tn->block_prefix);
		if (c->text_layers == 0)
			return err_set(err, errsz, "%s: text tower without resblocks (no tensor '%s0.%s')", file_name(f),
				    tn->block_prefix, nm == CLIP_NAMING_HF ? block_hf[0] : block_openai[0]);
		c->text_heads = heads_for(W, text_heads, "text", err, errsz);
		if (c->text_heads < 0)
			return -1;
	}
	char why[256];
	if (clip_config_check(c, o->towers, why, sizeof why))
		return err_set(err, errsz, "%s: %s", file_name(f), why);
	if (f->dir) {
		char *path = xasprintf("%s/config.json", f->dir);
		int rc = hf_config_check(&hfc, c, o->towers, path, err, errsz);
		free(path);
		if (rc)
			return -1;
	}
	return 0;
}

/* ---- loading ---------------------------------------------------------------------------------------- */

/* Check that every tensor of the tower is present with its shape and a float dtype, before anything is
 * allocated from the derived sizes (a file naming a resblock 999 must fail on the missing tensors, not on
 * memory). */
static int check_tower(const st_file *f, const clip_tensor_ref *refs, size_t n, char *err, size_t errsz)
{
	for (size_t i = 0; i < n; i++) {
		const clip_tensor_ref *r = &refs[i];
		char exp[128];
		format_shape(exp, sizeof exp, r->ndim, r->shape);
		const st_tensor *t = need(f, r->name, r->ndim, exp, err, errsz);
		if (!t)
			return -1;
		for (int k = 0; k < r->ndim; k++)
			if (t->shape[k] != r->shape[k])
				return shape_fail(f, t, exp, err, errsz);
		if (t->dtype != DT_F32 && t->dtype != DT_F16 && t->dtype != DT_BF16)
			return err_set(err, errsz, "%s: tensor '%s': dtype %s, expected F32, F16 or BF16", file_name(f),
				    r->name, dtype_name(t->dtype));
	}
	return 0;
}

/* ---- conversion to float32 ------------------------------------------------------------------------
 * Loading is mostly conversion (a ViT-B/32 text tower is 38M values): F16 goes through the CPU's F16C
 * instructions where it has them, 8 values at a time, and BF16 through a loop the compiler vectorises. The
 * values are exactly dtype_to_f32's: a block of 8 halves holding an inf or NaN (whose payload F16C would
 * alter by quieting it) is converted by dtype_to_f32. */

#ifdef CLIP_F16C
/* F16C and AVX, and an OS that saves the YMM registers. Asked once per load (not cached in a global: no
 * mutable globals in libcommon); cpuid is slow under some hypervisors (28 us a call on the dev machine). */
static int have_f16c(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	const unsigned osxsave = 1u << 27, avx = 1u << 28, f16c = 1u << 29;
	if ((c & (osxsave | avx | f16c)) != (osxsave | avx | f16c))
		return 0;
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	(void)hi;
	return (lo & 6) == 6;
}

__attribute__((target("avx,f16c"))) static void f16_to_f32_f16c(const unsigned char *src, float *dst, size_t n)
{
	const __m128i exp_mask = _mm_set1_epi16(0x7c00);
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m128i h = _mm_loadu_si128((const __m128i *)(const void *)(src + 2 * i));
		if (_mm_movemask_epi8(_mm_cmpeq_epi16(_mm_and_si128(h, exp_mask), exp_mask)))
			dtype_to_f32(DT_F16, src + 2 * i, dst + i, 8);
		else
			_mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
	}
	if (i < n)
		dtype_to_f32(DT_F16, src + 2 * i, dst + i, n - i);
}
#endif

/* n values of dtype t (F32, F16 or BF16, little-endian as in the file) at src to float32; f16c: the CPU
 * has F16C (have_f16c). */
static void convert(dtype t, const void *src, float *dst, size_t n, int f16c)
{
	const unsigned char *s = src;
	if (t == DT_BF16) {
		for (size_t i = 0; i < n; i++) {
			uint32_t u = (uint32_t)(s[2 * i] | s[2 * i + 1] << 8) << 16;
			memcpy(dst + i, &u, sizeof u);
		}
		return;
	}
#ifdef CLIP_F16C
	if (t == DT_F16 && f16c) {
		f16_to_f32_f16c(s, dst, n);
		return;
	}
#else
	(void)f16c;
#endif
	dtype_to_f32(t, src, dst, n);
}

/* Convert the (checked) tensors into the tower's parameter block; with o->token_ids, only those rows of
 * the text tower's token embedding (parameter 0 of the text tower, [V, W] in the file as in the block). */
static void fill_tower(const st_file *f, int tower, const clip_tensor_ref *refs, size_t n, float *block,
		       const clip_load_opts *o)
{
#ifdef CLIP_F16C
	int f16c = have_f16c();
#else
	int f16c = 0;
#endif
	for (size_t i = 0; i < n; i++) {
		const clip_tensor_ref *r = &refs[i];
		const st_tensor *t = st_find(f, r->name);
		if (tower == CLIP_TEXT && r->param == 0 && o->token_ids) {
			size_t V = (size_t)r->shape[0], W = (size_t)r->shape[1], es = dtype_size(t->dtype);
			unsigned char *done = xcalloc(V ? V : 1, 1); /* ids repeat (padding, shared words) */
			for (size_t k = 0; k < o->n_token_ids; k++) {
				int32_t id = o->token_ids[k];
				if (id < 0 || (size_t)id >= V || done[id])
					continue;
				done[id] = 1;
				convert(t->dtype, (const unsigned char *)t->data + (size_t)id * W * es,
					block + r->offset + (size_t)id * W, W, f16c);
			}
			free(done);
		} else if (r->transposed) {
			float *tmp = xmalloc_array(t->count ? t->count : 1, sizeof *tmp);
			convert(t->dtype, t->data, tmp, t->count, f16c);
			size_t rows = (size_t)r->shape[0], cols = (size_t)r->shape[1];
			float *dst = block + r->offset; /* [cols, rows] */
			for (size_t a = 0; a < rows; a++)
				for (size_t b = 0; b < cols; b++)
					dst[b * rows + a] = tmp[a * cols + b];
			free(tmp);
		} else {
			convert(t->dtype, t->data, block + r->offset, t->count, f16c);
		}
	}
}

/* The parameter block asks for transparent huge pages (clip_model.c); a region of it that will be written
 * only here and there is better in small pages, which stay unallocated (and out of the RSS) until
 * written. */
static void no_huge_pages(float *p, size_t count)
{
#ifdef MADV_NOHUGEPAGE
	uintptr_t page = 4096, a = ((uintptr_t)p + page - 1) & ~(page - 1);
	uintptr_t e = ((uintptr_t)(p + count)) & ~(page - 1);
	if (e > a)
		(void)madvise((void *)a, e - a, MADV_NOHUGEPAGE);
#else
	(void)p;
	(void)count;
#endif
}

static clip_tensor_ref *tower_refs(const clip_config *c, int tower, clip_naming naming, size_t *n)
{
	*n = clip_tensor_refs(c, tower, naming, NULL);
	clip_tensor_ref *refs = xmalloc_array(*n, sizeof *refs);
	clip_tensor_refs(c, tower, naming, refs);
	return refs;
}

void clip_model_free(clip_model *m)
{
	if (m->towers & CLIP_VISION)
		clip_vision_weights_free(&m->vision);
	if (m->towers & CLIP_TEXT)
		clip_text_weights_free(&m->text);
	memset(m, 0, sizeof *m);
}

int clip_model_load(clip_model *m, const st_file *f, const clip_load_opts *o, char *err, size_t errsz)
{
	memset(m, 0, sizeof *m);
	clip_config c;
	clip_naming naming;
	int present;
	if (!(o->towers & CLIP_BOTH))
		return err_set(err, errsz, "%s: no tower asked for", file_name(f));
	if (clip_config_from_file(f, o, &c, &naming, &present, err, errsz))
		return -1;
	size_t nv = 0, nt = 0;
	clip_tensor_ref *vrefs = NULL, *trefs = NULL;
	int rc = 0;
	if (o->towers & CLIP_VISION) {
		vrefs = tower_refs(&c, CLIP_VISION, naming, &nv);
		rc = check_tower(f, vrefs, nv, err, errsz);
	}
	if (rc == 0 && (o->towers & CLIP_TEXT)) {
		trefs = tower_refs(&c, CLIP_TEXT, naming, &nt);
		rc = check_tower(f, trefs, nt, err, errsz);
	}
	if (rc == 0) {
		m->cfg = c;
		m->naming = naming;
		m->towers = o->towers & CLIP_BOTH;
		if (o->towers & CLIP_VISION) {
			clip_vision_weights_init(&m->vision, &c);
			fill_tower(f, CLIP_VISION, vrefs, nv, m->vision.param_memory, o);
		}
		if (o->towers & CLIP_TEXT) {
			clip_text_weights_init(&m->text, &c);
			if (o->token_ids) /* rows left 0 must stay untouched: 4 kB pages, not huge ones */
				no_huge_pages(m->text.params.token_emb, (size_t)c.vocab_size * (size_t)c.text_width);
			fill_tower(f, CLIP_TEXT, trefs, nt, m->text.param_memory, o);
		}
	}
	free(vrefs);
	free(trefs);
	if (rc)
		return -1;
	const st_tensor *ls = st_find(f, "logit_scale");
	if (ls && ls->count == 1 && (ls->dtype == DT_F32 || ls->dtype == DT_F16 || ls->dtype == DT_BF16)) {
		st_to_f32(ls, &m->logit_scale);
		m->has_logit_scale = 1;
	}
	return 0;
}

void clip_model_load_or_die(clip_model *m, const char *path, const clip_load_opts *o)
{
	st_file f;
	st_open_or_die(path, &f);
	char err[1024];
	if (clip_model_load(m, &f, o, err, sizeof err))
		die(LFM_EXIT_DATA, "%s", err);
	st_close(&f);
}

/* ---- writing ---------------------------------------------------------------------------------------- */

static void store(void *dst, dtype dt, size_t i, float v)
{
	if (dt == DT_F32)
		((float *)dst)[i] = v;
	else if (dt == DT_F16)
		((uint16_t *)dst)[i] = f32_to_f16(v);
	else
		((uint16_t *)dst)[i] = f32_to_bf16(v);
}

void *clip_writer_add_tower(st_writer *w, const clip_config *c, int tower, const float *params,
			    clip_naming naming, dtype dt)
{
	if (dt != DT_F32 && dt != DT_F16 && dt != DT_BF16)
		die(LFM_EXIT_USAGE, "CLIP weights can be written as F32, F16 or BF16, not %s", dtype_name(dt));
	size_t n = clip_tensor_refs(c, tower, naming, NULL);
	clip_tensor_ref *refs = xmalloc_array(n, sizeof *refs);
	clip_tensor_refs(c, tower, naming, refs);
	size_t es = dtype_size(dt), total = 0;
	for (size_t i = 0; i < n; i++)
		total += refs[i].count;
	char *mem = xmalloc_array(total ? total : 1, es);
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		const clip_tensor_ref *r = &refs[i];
		void *dst = mem + off * es;
		const float *src = params + r->offset;
		if (r->transposed) {
			size_t rows = (size_t)r->shape[0], cols = (size_t)r->shape[1];
			for (size_t a = 0; a < rows; a++)
				for (size_t b = 0; b < cols; b++)
					store(dst, dt, a * cols + b, src[b * rows + a]);
		} else {
			for (size_t k = 0; k < r->count; k++)
				store(dst, dt, k, src[k]);
		}
		st_writer_add(w, r->name, dt, r->ndim, r->shape, dst);
		off += r->count;
	}
	free(refs);
	return mem;
}

void clip_writer_meta(st_writer *w, const clip_config *c, clip_naming naming)
{
	char *cfg = clip_config_json(c);
	st_writer_meta(w, "format", "pt");
	st_writer_meta(w, "naming", clip_naming_name(naming));
	st_writer_meta(w, "config", cfg);
	free(cfg);
}

void clip_model_save(const clip_model *m, int towers, dtype dt, const char *path, const char *const *extra_meta)
{
	if ((towers & m->towers) != towers || !towers)
		die(LFM_EXIT_IO, "internal error: saving towers %d of a model holding %d", towers, m->towers);
	st_writer *w = st_writer_new();
	void *owned[2] = {NULL, NULL};
	if (towers & CLIP_VISION)
		owned[0] = clip_writer_add_tower(w, &m->cfg, CLIP_VISION, m->vision.param_memory, m->naming, dt);
	if (towers & CLIP_TEXT)
		owned[1] = clip_writer_add_tower(w, &m->cfg, CLIP_TEXT, m->text.param_memory, m->naming, dt);
	if (m->has_logit_scale)
		st_writer_add(w, "logit_scale", DT_F32, 0, NULL, &m->logit_scale);
	/* the configuration of what is written: a tower left out leaves its keys out */
	clip_config c = m->cfg;
	if (!(towers & CLIP_VISION))
		c.vision_width = 0;
	if (!(towers & CLIP_TEXT))
		c.text_width = 0;
	clip_writer_meta(w, &c, m->naming);
	for (size_t i = 0; extra_meta && extra_meta[i] && extra_meta[i + 1]; i += 2)
		st_writer_meta(w, extra_meta[i], extra_meta[i + 1]);
	st_writer_save(w, path);
	st_writer_free(w);
	free(owned[0]);
	free(owned[1]);
}
