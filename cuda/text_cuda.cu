// text_cuda.cu — CLIP's text tower forward on the device (cuda_text.h): every sequence of a batch computed
// whole up to the batch's longest (positions after a sequence's EOT are padding, which the causal mask
// keeps out of its features), the EOT rows gathered, ln_final, the projection. The ids are checked on the
// host first by clip_encode_text's own check (clip_text_lengths).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "cuda_blocks.h"
#include "cuda_common.h"
#include "cuda_kernels.h"
#include "cuda_memory.h"
#include "cuda_text.h"
extern "C" {
#include "cpu/clip_text.h"
}

#define TEXT_BATCH 256

extern "C" int lfm_cuda_encode_text(lfm_cuda_context *ctx, lfm_precision prec, const clip_text_weights *t,
				    const int32_t *tokens, size_t n, int stride, float *out, char *err, size_t errsz)
{
	const clip_config *c = &t->cfg;
	int W = c->text_width, D = c->embed_dim, NH = c->text_heads;
	if (n == 0)
		return 0;
	if (stride <= 0) {
		snprintf(err, errsz, "token rows of length %d", stride);
		return -1;
	}
	std::vector<int> len(n);
	if (clip_text_lengths(c, tokens, n, stride, len.data(), err, errsz))
		return -1;
	int T = 1;
	for (size_t s = 0; s < n; s++)
		T = len[s] > T ? len[s] : T;
	int B = n < TEXT_BATCH ? (int)n : TEXT_BATCH;
	size_t N = (size_t)B * T;
	float *params = lfm_dev_alloc_floats(ctx, t->num_params, "the text tower's parameters");
	lfm_dev_upload(ctx, params, t->param_memory, t->num_params * sizeof(float));
	clip_text_params p;
	clip_text_params_point(&p, params, c);
	size_t att = (size_t)B * NH * T * T;
	// (each array 16-byte aligned: the fused attention moves four floats at a time; 4 floats of slack each)
	size_t floats = N * W * 6 + N * 4 + N * 3 * W + att + N * 8 * W + (size_t)B * W * 2 + (size_t)B * 2 + (size_t)B * D + N + B +
			4 * 24;
	float *mem = lfm_dev_alloc_floats(ctx, floats, "the text tower's activations");
	float *at = mem;
	auto take = [&](size_t k) {
		float *r = at;
		at += (k + 3) & ~(size_t)3;
		return r;
	};
	float *x = take(N * W);
	cuda_block_acts a;
	a.ln1 = take(N * W), a.ln1_mean = take(N), a.ln1_rstd = take(N), a.qkv = take(N * 3 * W), a.att = take(att);
	a.atty = take(N * W), a.res2 = take(N * W), a.ln2 = take(N * W), a.ln2_mean = take(N), a.ln2_rstd = take(N);
	a.fch = take(N * 4 * W), a.fch_gelu = take(N * 4 * W), a.res3 = take(N * W);
	float *eotx = take((size_t)B * W), *lnf = take((size_t)B * W), *mean = take(B), *rstd = take(B);
	float *feat = take((size_t)B * D);
	int32_t *dtokens = (int32_t *)take(N), *drows = (int32_t *)take(B);
	std::vector<int32_t> tok(N), rows(B);
	for (size_t first = 0; first < n; first += (size_t)B) {
		int nb = n - first < (size_t)B ? (int)(n - first) : B;
		for (int b = 0; b < nb; b++) {
			const int32_t *row = tokens + (first + b) * (size_t)stride;
			for (int i = 0; i < T; i++)
				tok[(size_t)b * T + i] = i < len[first + b] ? row[i] : 0;
			rows[b] = b * T + len[first + b] - 1;
		}
		lfm_dev_upload(ctx, dtokens, tok.data(), (size_t)nb * T * sizeof(int32_t));
		lfm_dev_upload(ctx, drows, rows.data(), (size_t)nb * sizeof(int32_t));
		cuda_token_embed_forward(ctx, x, dtokens, p.token_emb, p.pos_emb, nb, T, W);
		const float *in = x;
		for (int l = 0; l < c->text_layers; l++) {
			clip_blocks bp = clip_blocks_layer(&p.blocks, l, W);
			cuda_block_forward(ctx, prec, &bp, &a, in, nb, T, W, NH, 1); // in may be a.res3: see cuda_blocks.h
			in = a.res3;
		}
		cuda_gather_rows(ctx, eotx, in, drows, nb, W);
		cuda_layernorm_forward(ctx, lnf, mean, rstd, eotx, p.ln_final_w, p.ln_final_b, (size_t)nb, W);
		cuda_projection_forward(ctx, prec, feat, lnf, p.proj, (size_t)nb, W, D);
		lfm_dev_download(ctx, out + first * D, feat, (size_t)nb * D * sizeof(float));
	}
	lfm_dev_free(ctx, mem, floats * sizeof(float));
	lfm_dev_free(ctx, params, t->num_params * sizeof(float));
	return 0;
}
