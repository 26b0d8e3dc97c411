/* clip_text.c — see clip_text.h. */
#include "cpu/clip_text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "cpu/clip_layers.h"

/* Token rows to compute: the prefix tree of a chunk of sequences (one row per distinct prefix). */
typedef struct text_rows {
	size_t n, cap;
	int32_t *token, *parent, *depth;
	size_t *table; /* open addressing over (parent, token): row + 1, 0 = empty */
	size_t table_mask;
} text_rows;

static size_t row_hash(int32_t parent, int32_t token)
{
	uint64_t h = ((uint64_t)(uint32_t)parent << 32 | (uint32_t)token) * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 17);
}

/* The row of token following prefix row `parent` (-1: sequence start), created if new. */
static int32_t rows_child(text_rows *r, int32_t parent, int32_t token, int32_t depth)
{
	size_t i = row_hash(parent, token) & r->table_mask;
	for (;; i = (i + 1) & r->table_mask) {
		size_t e = r->table[i];
		if (!e)
			break;
		if (r->parent[e - 1] == parent && r->token[e - 1] == token)
			return (int32_t)(e - 1);
	}
	size_t row = r->n++;
	r->token[row] = token;
	r->parent[row] = parent;
	r->depth[row] = depth;
	r->table[i] = row + 1;
	return (int32_t)row;
}

typedef struct text_work {
	float *x, *ln, *qkv, *atty, *fch; /* [rows, W], [rows, W], [rows, 3W], [rows, W], [rows, 4W] */
} text_work;

/* Run the tower over the rows, then ln_final and the projection on each sequence's EOT row. */
static void text_rows_forward(const clip_text_weights *t, const text_rows *r, const int32_t *eot_rows, size_t n_seq,
			      const text_work *w, float *out)
{
	const clip_config *c = &t->cfg;
	const clip_text_params *p = &t->params;
	int W = c->text_width, NH = c->text_heads;
	size_t N = r->n, NW = N * W;
	for (size_t i = 0; i < N; i++) {
		const float *te = p->token_emb + (size_t)r->token[i] * W;
		const float *pe = p->pos_emb + (size_t)r->depth[i] * W;
		for (int k = 0; k < W; k++)
			w->x[i * W + k] = te[k] + pe[k];
	}
	for (int l = 0; l < c->text_layers; l++) {
		clip_blocks b = clip_blocks_layer(&p->blocks, l, W);
		layernorm_forward(w->ln, NULL, NULL, w->x, b.ln1_w, b.ln1_b, N, W);
		matmul_forward(w->qkv, w->ln, b.qkv_w, b.qkv_b, N, W, 3 * W);
		prefix_attention_forward(w->atty, w->qkv, r->parent, N, W, NH);
		matmul_forward(w->ln, w->atty, b.attn_out_w, b.attn_out_b, N, W, W);
		residual_forward(w->x, w->x, w->ln, NW);
		layernorm_forward(w->ln, NULL, NULL, w->x, b.ln2_w, b.ln2_b, N, W);
		matmul_forward(w->fch, w->ln, b.fc_w, b.fc_b, N, W, 4 * W);
		quick_gelu_forward(w->fch, w->fch, N * 4 * W);
		matmul_forward(w->ln, w->fch, b.fcproj_w, b.fcproj_b, N, 4 * W, W);
		residual_forward(w->x, w->x, w->ln, NW);
	}
	/* The final LayerNorm and projection once per distinct EOT row: sequences equal up to their EOT end at
	 * the same row, and computing them once gives them bit-identical features wherever they stand in the
	 * list (a product's rounding of a row can depend on how the rows are blocked: OpenBLAS's AVX2 kernels). */
	size_t D = (size_t)c->embed_dim, n_unique = 0;
	int32_t *unique_of_row = xmalloc_array(N, sizeof *unique_of_row);
	size_t *unique_of_seq = xmalloc_array(n_seq, sizeof *unique_of_seq);
	for (size_t i = 0; i < N; i++)
		unique_of_row[i] = -1;
	for (size_t s = 0; s < n_seq; s++) {
		int32_t row = eot_rows[s];
		if (unique_of_row[row] < 0) {
			unique_of_row[row] = (int32_t)n_unique;
			memcpy(w->atty + n_unique * W, w->x + (size_t)row * W, (size_t)W * sizeof(float));
			n_unique++;
		}
		unique_of_seq[s] = (size_t)unique_of_row[row];
	}
	float *features = xmalloc_array(n_unique * D, sizeof *features);
	layernorm_forward(w->ln, NULL, NULL, w->atty, p->ln_final_w, p->ln_final_b, n_unique, W);
	projection_forward(features, w->ln, p->proj, n_unique, W, c->embed_dim);
	for (size_t s = 0; s < n_seq; s++)
		memcpy(out + s * D, features + unique_of_seq[s] * D, D * sizeof *out);
	free(features);
	free(unique_of_seq);
	free(unique_of_row);
}

/* Rows per chunk: bounds the work memory (about 10 x width floats per row). */
#define TEXT_CHUNK_ROWS 8192

int clip_text_lengths(const clip_config *c, const int32_t *tokens, size_t n, int stride, int *len, char *err,
		      size_t errsz)
{
	for (size_t s = 0; s < n; s++) {
		const int32_t *row = tokens + s * (size_t)stride;
		int eot = 0;
		for (int i = 1; i < stride; i++)
			if (row[i] > row[eot])
				eot = i;
		if (eot >= c->context_length) {
			snprintf(err, errsz, "sequence %zu: end of text at position %d, beyond the context length %d", s, eot,
				 c->context_length);
			return -1;
		}
		for (int i = 0; i <= eot; i++)
			if (row[i] < 0 || row[i] >= c->vocab_size) {
				snprintf(err, errsz, "sequence %zu: token id %d at position %d outside the vocabulary (0 .. %d)",
					 s, (int)row[i], i, c->vocab_size - 1);
				return -1;
			}
		len[s] = eot + 1;
	}
	return 0;
}

int clip_encode_text(const clip_text_weights *t, const int32_t *tokens, size_t n, int stride, float *out, char *err,
		     size_t errsz)
{
	const clip_config *c = &t->cfg;
	size_t W = (size_t)c->text_width, D = (size_t)c->embed_dim;
	if (n == 0)
		return 0;
	if (stride <= 0) {
		snprintf(err, errsz, "token rows of length %d", stride);
		return -1;
	}
	/* Sequence lengths (up to and including the EOT) and their validity, before any work. */
	int *len = xmalloc_array(n, sizeof *len);
	if (clip_text_lengths(c, tokens, n, stride, len, err, errsz)) {
		free(len);
		return -1;
	}
	/* Rows per chunk: TEXT_CHUNK_ROWS, or fewer when all the tokens take fewer (a short list of prompts
	 * needs no work memory for 8192 rows); at least one whole sequence. */
	size_t total = 0;
	for (size_t s = 0; s < n; s++)
		total += (size_t)len[s];
	size_t cap = total < TEXT_CHUNK_ROWS ? total : TEXT_CHUNK_ROWS;
	if (cap < (size_t)c->context_length)
		cap = (size_t)c->context_length;
	text_rows r = {.cap = cap};
	r.token = xmalloc_array(cap, sizeof *r.token);
	r.parent = xmalloc_array(cap, sizeof *r.parent);
	r.depth = xmalloc_array(cap, sizeof *r.depth);
	size_t tsize = 1;
	while (tsize < 2 * cap)
		tsize <<= 1;
	r.table = xmalloc_array(tsize, sizeof *r.table);
	r.table_mask = tsize - 1;
	int32_t *eot_rows = xmalloc_array(n, sizeof *eot_rows);
	text_work w;
	float *mem = clip_alloc_floats(cap * W * 10);
	w.x = mem;
	w.ln = w.x + cap * W;
	w.qkv = w.ln + cap * W;
	w.atty = w.qkv + 3 * cap * W;
	w.fch = w.atty + cap * W;

	size_t first = 0;
	while (first < n) {
		/* Take sequences while their tokens (an upper bound on new rows) fit. */
		size_t last = first, bound = 0;
		while (last < n && bound + (size_t)len[last] <= cap)
			bound += (size_t)len[last++];
		r.n = 0;
		memset(r.table, 0, tsize * sizeof *r.table);
		for (size_t s = first; s < last; s++) {
			const int32_t *row = tokens + s * (size_t)stride;
			int32_t cur = -1;
			for (int i = 0; i < len[s]; i++)
				cur = rows_child(&r, cur, row[i], i);
			eot_rows[s - first] = cur;
		}
		text_rows_forward(t, &r, eot_rows, last - first, &w, out + first * D);
		first = last;
	}
	free(mem);
	free(eot_rows);
	free(r.table);
	free(r.depth);
	free(r.parent);
	free(r.token);
	free(len);
	return 0;
}
