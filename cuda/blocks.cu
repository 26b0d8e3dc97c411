// blocks.cu — see cuda_blocks.h: the layer order of cpu/clip_vision.c's block_forward / block_backward,
// each CPU function replaced by its cuda_kernels.h entry.
#include <stdlib.h>
#include <string.h>

#include "cuda_attention_fused.h"
#include "cuda_blocks.h"
#include "cuda_common.h"
#include "cuda_kernels.h"
#include "cuda_memory.h"

// The fused attention (attention_fused.cu) for bf16 and tf32 runs where it takes the shapes; fp32 (the
// official arithmetic) keeps the products through cuBLASLt in IEEE float32 (attention.cu), whose golden
// step-3 parameters sit at 1.4e-6 against 9.7e-5 with the fused kernel (an element of small gradient that
// Adam amplifies; the step-1 gradients agree equally). LFM_CUDA_ATTENTION=gemm or =fused overrides, for
// the device's benchmark (bench/gpu) to say which is faster at which shape.
extern "C" int cuda_block_fused_attention(lfm_precision prec, int T, int W, int NH)
{
	const char *e = getenv("LFM_CUDA_ATTENTION");
	if (e && !strcmp(e, "gemm"))
		return 0;
	int want = (e && !strcmp(e, "fused")) || prec != LFM_PRECISION_FP32;
	return want && cuda_attention_fused_supported(T, W, NH);
}

extern "C" size_t cuda_block_att_floats(lfm_precision prec, int B, int T, int W, int NH)
{
	return cuda_block_fused_attention(prec, T, W, NH) ? cuda_attention_fused_saved_floats(B, T, W, NH)
						    : (size_t)B * NH * T * T;
}

extern "C" size_t cuda_block_datt_floats(lfm_precision prec, int B, int T, int W, int NH)
{
	return cuda_block_fused_attention(prec, T, W, NH) ? cuda_attention_fused_backward_scratch_floats(B, T, W, NH)
						    : cuda_attention_backward_scratch_floats(B, T, W, NH);
}

extern "C" size_t cuda_block_sums_floats(size_t N, int W)
{
	size_t a = cuda_matmul_backward_scratch_floats(N, 4 * W), b = cuda_layernorm_backward_scratch_floats(N, W);
	return a > b ? a : b;
}

extern "C" void cuda_block_forward(lfm_cuda_context *ctx, lfm_precision prec, const clip_blocks *p, const cuda_block_acts *a,
				   const float *inp, int B, int T, int W, int NH, int causal)
{
	size_t N = (size_t)B * T, NW = N * W;
	cuda_layernorm_forward(ctx, a->ln1, a->ln1_mean, a->ln1_rstd, inp, p->ln1_w, p->ln1_b, N, W);
	cuda_matmul_forward(ctx, prec, a->qkv, a->ln1, p->qkv_w, p->qkv_b, N, W, 3 * W);
	if (cuda_block_fused_attention(prec, T, W, NH))
		cuda_attention_fused_forward(ctx, a->atty, a->att, a->qkv, B, T, W, NH, causal);
	else
		cuda_attention_forward(ctx, prec, a->atty, a->att, a->qkv, B, T, W, NH, causal, NULL);
	cuda_matmul_forward(ctx, prec, a->res2, a->atty, p->attn_out_w, p->attn_out_b, N, W, W);
	cuda_residual_layernorm_forward(ctx, a->res2, a->ln2, a->ln2_mean, a->ln2_rstd, inp, a->res2, p->ln2_w, p->ln2_b, N,
					W);
	cuda_matmul_forward(ctx, prec, a->fch, a->ln2, p->fc_w, p->fc_b, N, W, 4 * W);
	cuda_quick_gelu_forward(ctx, a->fch_gelu, a->fch, N * 4 * W);
	cuda_matmul_forward(ctx, prec, a->res3, a->fch_gelu, p->fcproj_w, p->fcproj_b, N, 4 * W, W);
	cuda_residual_forward(ctx, a->res3, a->res2, a->res3, NW);
}

extern "C" void cuda_block_backward(lfm_cuda_context *ctx, lfm_precision prec, const clip_blocks *p, const clip_blocks *g,
				    const cuda_block_acts *a, const cuda_block_scratch *s, const float *inp, int B, int T,
				    int W, int NH)
{
	size_t N = (size_t)B * T, NW = N * W, N4W = NW * 4;
	// res3 = res2 + c_proj(gelu(c_fc(ln_2(res2)))): dres flows to res2 unchanged, plus the MLP branch
	lfm_dev_zero(ctx, s->dfch_gelu, N4W * sizeof(float));
	cuda_matmul_backward(ctx, prec, s->dfch_gelu, g->fcproj_w, g->fcproj_b, s->dres, a->fch_gelu, p->fcproj_w, N, 4 * W,
			     W, s->sums);
	lfm_dev_zero(ctx, s->dfch, N4W * sizeof(float));
	cuda_quick_gelu_backward(ctx, s->dfch, a->fch, s->dfch_gelu, N4W);
	lfm_dev_zero(ctx, s->dln, NW * sizeof(float));
	cuda_matmul_backward(ctx, prec, s->dln, g->fc_w, g->fc_b, s->dfch, a->ln2, p->fc_w, N, W, 4 * W, s->sums);
	cuda_layernorm_backward(ctx, s->dres, g->ln2_w, g->ln2_b, s->dln, a->res2, p->ln2_w, a->ln2_mean, a->ln2_rstd, N, W,
				s->sums);
	// res2 = inp + out_proj(attention(in_proj(ln_1(inp))))
	lfm_dev_zero(ctx, s->datty, NW * sizeof(float));
	cuda_matmul_backward(ctx, prec, s->datty, g->attn_out_w, g->attn_out_b, s->dres, a->atty, p->attn_out_w, N, W, W,
			     s->sums);
	lfm_dev_zero(ctx, s->dqkv, NW * 3 * sizeof(float));
	if (cuda_block_fused_attention(prec, T, W, NH))
		cuda_attention_fused_backward(ctx, s->dqkv, s->datty, a->atty, a->qkv, a->att, B, T, W, NH, 0, s->datt);
	else
		cuda_attention_backward(ctx, prec, s->dqkv, s->datty, a->qkv, a->att, B, T, W, NH, 0, s->datt);
	lfm_dev_zero(ctx, s->dln, NW * sizeof(float));
	cuda_matmul_backward(ctx, prec, s->dln, g->qkv_w, g->qkv_b, s->dqkv, a->ln1, p->qkv_w, N, W, 3 * W, s->sums);
	cuda_layernorm_backward(ctx, s->dres, g->ln1_w, g->ln1_b, s->dln, inp, p->ln1_w, a->ln1_mean, a->ln1_rstd, N, W,
				s->sums);
}
